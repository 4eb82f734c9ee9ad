"""Every command that reads a case file reads it the same way (cli/options.py read_case_data): `.json` is
strict JSON, and errors name the file the user gave. Regression: `clonus explain` and `clonus graph --case`
passed the literal name "case file", so a malformed .json case was refused by advise (exit 2) but accepted by
explain (exit 0), and errors read `case file:2:1`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clonus.cli.main import app

runner = CliRunner()
COMMANDS = {
    "advise": lambda path: ["advise", path],
    "explain": lambda path: ["explain", path],
    "graph --case": lambda path: ["graph", "--case", path],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_json_case_is_refused_naming_the_file(command, tmp_path):
    path = tmp_path / "case.json"
    path.write_text('{"patient": {"age": 45,}}', encoding="utf-8")  # a trailing comma: YAML, not JSON
    result = runner.invoke(app, COMMANDS[command](str(path)))
    assert result.exit_code == 2 and result.stdout == ""
    with pytest.raises(json.JSONDecodeError) as parsed:  # Python's own words (3.13 changed them)
        json.loads(path.read_text(encoding="utf-8"))
    where = f"{parsed.value.lineno}:{parsed.value.colno}"
    assert result.stderr.splitlines() == [
        f"clonus: error: {path}:{where}: malformed JSON ({parsed.value.msg}); expected valid JSON"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_case_file_is_one_line_naming_it(command, tmp_path):
    path = tmp_path / "nope.yaml"
    result = runner.invoke(app, COMMANDS[command](str(path)))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"clonus: error: case file: {str(path)!r} cannot be read (")


@pytest.mark.parametrize("suffix", [".docx", ".jpeg", ".txt", ""])
def test_graph_refuses_an_output_suffix_it_cannot_write(suffix, tmp_path):
    """Regression: `clonus graph -o x.pdf` wrote DOT text into x.pdf (PDF is written now; others are refused)."""
    path = tmp_path / f"graph{suffix}"
    result = runner.invoke(app, ["graph", "-o", str(path)])
    assert result.exit_code == 2 and not path.exists()
    [line] = result.stderr.splitlines()
    assert line.startswith(f"clonus: error: -o {str(path)!r}: the suffix ")
    assert "names no format; use one of .dot, " in line and ".svg" in line
