"""Lint and type-check as part of the suite (STYLE.md 13): ruff and mypy, configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINTED = ("engine", "cli", "service", "tests", "benchmarks", "conformance", "tools")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def _assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(proc.args[1:])}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}", pytrace=False)


def test_ruff_finds_nothing():
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise", *LINTED)
    _assert_clean(proc)


def test_mypy_finds_nothing(tmp_path):
    # The packages to check, and how clonus.* resolves to this clone's sources, are in [tool.mypy]. A cache
    # of this run's own: engineers running the suite side by side in one tree do not share a cache.
    proc = _run("mypy", "--config-file", "pyproject.toml", "--cache-dir", str(tmp_path / "mypy-cache"))
    _assert_clean(proc)
