"""Every example case answers exactly as its golden JSON on every rule engine installed (the same bytes
but for `kb.engine`), and keeps the contract's promises.

Goldens are regenerated only on purpose, by `python tools/regenerate.py`; this test only compares.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.decide.backend import load_backend

from conftest import engine_params

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = sorted(EXAMPLES.glob("*.yaml"))
GOLDEN = EXAMPLES / "golden"
runner = CliRunner()


def advise_json(path, engine: str | None = None) -> str:
    result = runner.invoke(app, ["advise", str(path), "--format", "json", *(["--engine", engine] if engine else [])])
    assert result.exit_code == 0, result.output
    return result.stdout


def on_engine(golden: str, engine: str) -> str:
    """A golden answer as `engine` gives it: only the `kb.engine` block names another engine."""
    backend = load_backend(engine)
    block = json.dumps({"engine": {"name": backend.name, "version": backend.version()}}, indent=2)
    inner = "\n".join("  " + line for line in block.splitlines()[1:-1])
    replaced, count = re.subn(r'    "engine": \{\n[^}]*\n    \}', inner.replace("\\", "\\\\"), golden)
    assert count == 1, "the golden has no kb.engine block"
    return replaced


def test_there_is_an_example_per_clinical_situation():
    names = {p.stem for p in CASES}
    for situation in ("reference", "at-max-focal", "at-max-generalized", "older-adult", "respiratory",
                      "sleep-apnea", "renal", "dialysis", "child", "missing-frequency", "withdrawal"):
        assert any(situation in name for name in names), situation
    assert CASES[0].stem == "01-reference"


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_example_matches_golden(case, engine):
    out = advise_json(case, engine)
    golden = GOLDEN / f"{case.stem}.json"
    assert golden.is_file(), f"no golden output for {case.name}; generate it with tools/regenerate.py"
    assert out == on_engine(golden.read_text(encoding="utf-8"), engine)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_example_keeps_the_contract(case, shipped_kb):
    out = json.loads(advise_json(case))
    codes = [r["code"] for r in out["recommendations"]]
    assert set(codes) <= set(shipped_kb.codes)
    assert len(codes) == len(set(codes))
    for rec in out["recommendations"]:
        assert rec["rule"] and rec["sources"] and rec["because"] and rec["text"]
        assert "{" not in rec["text"], rec["text"]
    plan = out["dose_plan"]
    assert (plan is not None) == ("increase_baclofen" in codes)
    if plan:
        assert plan["next_daily_mg"]["max"] <= plan["ceiling_daily_mg"] <= 80
        assert plan["next_daily_mg"]["min"] > plan["current_daily_mg"]
        assert plan["current_daily_mg"] == out["facts"]["daily_dose_mg"]
    assert out["kb"]["digest"] == shipped_kb.digest
    assert out["trace"] and all(entry["rule"] for entry in out["trace"])


def test_reference_case_answer():
    out = json.loads(advise_json(EXAMPLES / "01-reference.yaml"))
    codes = [r["code"] for r in out["recommendations"]]
    assert {"increase_baclofen", "warn_no_abrupt_discontinuation", "titration_step_5_15_mg_per_day",
            "cap_at_80_mg_per_day", "reassess_within_24h", "nonpharmacological_adjuncts"} <= set(codes)
    plan = out["dose_plan"]
    assert plan["current_daily_mg"] == 45 and plan["doses_per_day"] == 3
    assert plan["next_daily_mg"] == {"min": 50, "max": 60}
    assert plan["ceiling_daily_mg"] == 80
    assert plan["regimen"] == "20 mg every 8 hours (60 mg/day)"
    assert out["missing"] == []


def test_missing_frequency_example_asks_for_it():
    out = json.loads(advise_json(EXAMPLES / "10-missing-frequency.yaml"))
    assert out["missing"] == ["frequency"]
    assert "request_missing_data" in [r["code"] for r in out["recommendations"]]
    assert out["dose_plan"] is None
