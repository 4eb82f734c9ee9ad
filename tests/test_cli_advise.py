"""cli/advise.py: `clonus advise` from a file, standard input or flags; exit codes and stderr per contract."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from clonus.cli.main import app

runner = CliRunner()


def advise(*args: str, input: str | None = None):
    return runner.invoke(app, ["advise", *args], input=input)


def test_regression_flag_fills_empty_section_of_case_file(tmp_path):
    """Bug: a case file with an empty `patient:` section (YAML null) made every flag be dropped, so
    `--age 45` was ignored and the answer asked for the age."""
    case = tmp_path / "case.yaml"
    case.write_text("patient:\nmedication: {drug: baclofen, dose: 15 mg, frequency: q8h}\n"
                    "response: {relief: inadequate}\n", encoding="utf-8")
    result = advise(str(case), "--age", "45", "--spasticity", "generalized", "--format", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["facts"]["age"] == 45
    assert out["missing"] == []
    assert "increase_baclofen" in [r["code"] for r in out["recommendations"]]
