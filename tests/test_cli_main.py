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


# ---- conventions every command keeps --------------------------------------------------------------------

COMMANDS = ("advise", "lint", "test", "explain", "kb", "diff", "graph")


def test_version_in_one_line():
    from importlib.metadata import version

    proc = run("--version")
    assert (proc.returncode, proc.stdout) == (0, f"clonus {version('clonus')}\n")


def test_python_dash_m_clonus_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "clonus", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("clonus ")


@pytest.mark.parametrize("command", COMMANDS)
def test_dash_h_is_help_too(command):
    proc = run(command, "-h")
    assert proc.returncode == 0 and proc.stdout.startswith(f"Usage: clonus {command}")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_says_what_it_does(command):
    import typer.main

    from clonus.cli.main import app

    click_command = typer.main.get_command(app).commands[command]
    for param in click_command.params:
        if param.param_type_name == "option" and param.name != "help":
            assert param.help, f"clonus {command} {param.opts[0]} has no help text"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "diff"])
def test_kb_option_reads_clonus_kb_from_the_environment(command, tmp_path):
    """One shared --kb option: $CLONUS_KB names the folder when --kb is not given."""
    args = {"advise": [EXAMPLE], "explain": [EXAMPLE], "graph": [], "lint": [], "test": [], "kb": []}[command]
    proc = subprocess.run([CLONUS, command, *args], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "CLONUS_KB": str(tmp_path)})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "not a clonus KB folder" in proc.stderr or "has no kb.yaml" in proc.stderr, proc.stderr


def test_an_unexpected_error_is_one_line_naming_the_bug_and_debug_shows_the_traceback(monkeypatch):
    """Regression: the crash handler caught click.Abort, which typer 0.28's bundled click lacks, so every
    unexpected error ended in a second traceback (AttributeError)."""
    from typer.testing import CliRunner

    from clonus.cli.main import app
    from clonus.engine.explain import report

    def broken(*args, **kwargs):
        raise RuntimeError("a planted bug")

    monkeypatch.setattr(report, "render_json", broken)
    result = CliRunner().invoke(app, ["advise", EXAMPLE, "--format", "json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "clonus: internal error (a bug in clonus, please report it): RuntimeError: a planted bug "
        "(rerun with --debug for the traceback)"]
    debug = CliRunner().invoke(app, ["--debug", "advise", EXAMPLE, "--format", "json"])
    assert isinstance(debug.exception, RuntimeError)


@pytest.mark.parametrize("target", ["/dev/full"])
def test_an_answer_that_cannot_be_written_is_one_line_exit_2(target):
    with open(target, "w") as sink:
        proc = subprocess.run([CLONUS, "advise", EXAMPLE], stdout=sink, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["clonus: error: the output could not be written (No space left on device)"]


def test_a_closed_standard_output_is_one_line():
    with subprocess.Popen([CLONUS, "advise", EXAMPLE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
    assert proc.returncode == 2, stderr
    assert stderr.count("\n") == 1 and "could not be written" in stderr and "Traceback" not in stderr


def test_regression_standard_output_closed_from_the_start_is_one_line():
    """Bug: with standard output closed (`clonus advise x >&-`) Python sets sys.stdout to None, and the
    first write was an AttributeError: an internal error, exit 1. Now it is the output failure it is."""
    import os

    proc = subprocess.run([CLONUS, "advise", EXAMPLE], stdout=None, stderr=subprocess.PIPE, text=True,
                          timeout=60, preexec_fn=lambda: os.close(1))
    assert proc.returncode == 2
    assert proc.stderr == "clonus: error: the output could not be written (standard output is closed)\n"


def test_every_command_that_evaluates_or_draws_takes_profile():
    """Issue 9 section 6: --profile on advise, explain, test, lint, diff, graph and check-engines."""
    import typer.main

    from clonus.cli.main import app as clonus_app

    commands = typer.main.get_command(clonus_app).commands
    for name in ("advise", "explain", "test", "lint", "diff", "graph", "check-engines"):
        options = {opt for param in commands[name].params for opt in param.opts}
        assert "--profile" in options, name
