"""The console script itself: click/typer usage errors are one line on stderr with exit 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "01-reference.yaml")
CLONUS = shutil.which("clonus") or str(Path(sys.executable).parent / "clonus")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLONUS, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, start", [
    (["advise", EXAMPLE, "--format", "yaml"], "clonus: error: Invalid value for '--format'"),
    (["advise", "--bogus"], "clonus: error: No such option: --bogus"),
    (["frobnicate"], "clonus: error: No such command 'frobnicate'"),
], ids=["bad-choice", "unknown-option", "unknown-command"])
def test_usage_errors_are_one_line_exit_2(args, start):
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(start)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_bare_clonus_prints_help_and_succeeds():
    proc = run()
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: clonus") and "advise" in proc.stdout


def test_help_of_every_command():
    for command in ("advise", "lint", "test", "explain", "kb", "diff", "graph"):
        proc = run(command, "--help")
        assert proc.returncode == 0, command
        assert proc.stdout.startswith(f"Usage: clonus {command}"), command
