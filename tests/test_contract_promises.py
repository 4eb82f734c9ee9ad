"""The promises of the contract that the project's own files must keep, whatever ../shared holds (the
conformance check in conformance/ compares with the contract itself): every case field has a flag, the
JSON's types, and a dose plan exactly with increase advice, never above its ceiling."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

from clonus.cli.main import app

from conftest import reference_case

runner = CliRunner()


@pytest.fixture(scope="module")
def reference_json() -> dict:
    result = runner.invoke(app, ["advise", "-", "--format", "json"], input=json.dumps(reference_case()))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_every_case_field_has_a_flag_of_the_same_name(shipped_kb):
    """Contract section 2: every case-file field has a flag (underscores become dashes), with help text."""
    command = typer.main.get_command(app).commands["advise"]
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    fields = set(shipped_kb.case_fields)
    missing = sorted(f for f in fields if "--" + f.split(".", 1)[1].replace("_", "-") not in options)
    assert not missing, f"case fields without a flag: {missing}"
    assert all(param.help for param in command.params if param.opts[0].startswith("--")), "an option without help"


def test_json_output_types(reference_json):
    out = reference_json
    assert isinstance(out["recommendations"], list) and out["recommendations"]
    for rec in out["recommendations"]:
        assert all(isinstance(rec[k], str) and rec[k] for k in ("code", "category", "text", "rule"))
        assert rec["sources"] and all(isinstance(s, str) for s in rec["sources"])
        assert rec["because"] and all(isinstance(b, str) for b in rec["because"])
    for entry in out["trace"]:
        assert isinstance(entry["rule"], str) and isinstance(entry["matched"], dict)
        assert all(isinstance(a, str) for a in entry["asserted"])
    assert isinstance(out["missing"], list) and isinstance(out["facts"], dict)
    # added keys (issue 8 section 4): whether the KB's safety section is the approved one, and what differs
    assert out["kb"]["safety_modified"] is False and out["kb"]["safety_changes"] == []
    assert isinstance(out["kb"]["profile"], str) and out["kb"]["profile"]


CASES = {
    "reference": [],
    "at-maximum": ["--dose", "20 mg", "--frequency", "QID"],
    "above-maximum": ["--dose", "25 mg", "--frequency", "QID"],
    "older-adult": ["--age", "80"],
    "twice-daily": ["--dose", "10 mg", "--frequency", "BID"],
    "near-ceiling": ["--dose", "25 mg", "--frequency", "TID"],
    "adequate-relief": ["--relief", "adequate"],
    "intolerable": ["--side-effects-intolerable"],
    "child": ["--age", "12"],
    "severe-renal": ["--egfr", "20"],
}
BASE = ["--age", "45", "--drug", "baclofen", "--dose", "15 mg", "--frequency", "q8h", "--relief", "inadequate",
        "--spasticity", "generalized"]


@pytest.mark.parametrize("flags", list(CASES.values()), ids=list(CASES))
def test_dose_plan_is_present_exactly_with_increase_advice_and_within_the_ceiling(flags):
    result = runner.invoke(app, ["advise", *BASE, *flags, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    codes = [r["code"] for r in out["recommendations"]]
    assert ("increase_baclofen" in codes) == (out["dose_plan"] is not None)
    plan = out["dose_plan"]
    if plan is not None:
        assert plan["next_daily_mg"]["max"] <= plan["ceiling_daily_mg"] <= 80
        assert plan["next_daily_mg"]["min"] > plan["current_daily_mg"]
    assert len(codes) == len(set(codes))
