"""cli/kbinfo.py: `clonus kb`: identity, digest (the one every advice carries), counts and reviews due."""

from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.kbinfo import summary

from conftest import EXAMPLES
from lintkbs import build_kb

runner = CliRunner()


def test_the_shipped_kb_identity_matches_the_advice(shipped_kb):
    result = runner.invoke(app, ["kb"])
    assert result.exit_code == 0 and result.stderr == ""
    advised = json.loads(runner.invoke(app, ["advise", str(EXAMPLES / "01-reference.yaml"), "--format", "json"]).stdout)
    assert f"  digest:  {advised['kb']['digest']}\n" in result.stdout
    assert result.stdout.startswith(f"{shipped_kb.name} {shipped_kb.version}\n")
    assert f"rules:       {len(shipped_kb.rules)} (" in result.stdout
    assert f"rule tests:  {len(shipped_kb.tests)}\n" in result.stdout


def test_counts_by_kind_and_status(tmp_path):
    result = runner.invoke(app, ["kb", "--kb", str(build_kb(tmp_path, "draft-dependency")), "--format", "json"])
    assert result.exit_code == 0
    counts = json.loads(result.stdout)["counts"]
    assert counts["facts"] == {"input": 7, "derived": 2}
    assert counts["rules"] == {"draft": 1, "reviewed": 0, "approved": 7}
    assert (counts["codes"], counts["sources"], counts["rule_tests"], counts["exclusions"]) == (7, 2, 11, 5)


def test_rules_due_for_review(tmp_path):
    kb = load_kb(build_kb(tmp_path, "review"))
    info = summary(kb, date(2026, 11, 25), within=30)
    assert [(d["rule"], d["overdue"]) for d in info["review"]["due"]] == [("broken.overdue", True)]
    assert info["review"]["without_review_by"] == ["broken.undated"]
    later = summary(kb, date(2099, 1, 1), within=30)
    assert {d["rule"] for d in later["review"]["due"]} >= {"broken.overdue", "scope.adult"}
    result = runner.invoke(app, ["kb", "--kb", str(tmp_path / "review")])
    assert "broken.overdue: OVERDUE 2020-01-10" in result.stdout
    assert "broken.undated: no review_by date" in result.stdout


def test_a_kb_that_cannot_load_exits_2(tmp_path):
    result = runner.invoke(app, ["kb", "--kb", str(build_kb(tmp_path, "no-sources"))])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "cite at least one source id" in result.stderr


def test_kb_names_the_version_of_clonus_and_of_each_rule_engine():
    """Each engine by its distribution's version where installed; where not (durable_rules on 3.13+),
    'not installed' and why it cannot run."""
    from importlib.metadata import PackageNotFoundError, version

    out = runner.invoke(app, ["kb", "--format", "json"])
    software = json.loads(out.stdout)["software"]
    assert software["clonus"] == version("clonus")
    text = runner.invoke(app, ["kb"]).stdout
    for engine, distribution in (("durable", "durable_rules"), ("clips", "clipspy")):
        try:
            expected = {"version": version(distribution), "available": True, "reason": None}
        except PackageNotFoundError:
            reason = software["engines"][engine]["reason"]
            assert reason and distribution in reason, reason
            expected = {"version": "not installed", "available": False, "reason": reason}
        assert software["engines"][engine] == expected
        assert f"{engine} {expected['version']}" in text
    assert f"clonus {version('clonus')}; rule engines: durable " in text


def test_kb_lists_every_profile_with_its_title_and_ceiling(shipped_kb):
    from clonus.engine.knowledge.load import load_kb as load

    result = runner.invoke(app, ["kb"])
    doc = json.loads(runner.invoke(app, ["kb", "--format", "json"]).stdout)
    assert [p["name"] for p in doc["profiles"]] == list(shipped_kb.profiles) and len(shipped_kb.profiles) >= 2
    for name in shipped_kb.profiles:
        bound = load(None, name)
        [entry] = [p for p in doc["profiles"] if p["name"] == name]
        assert entry["title"] == bound.profile.title and entry["bound"] == (name == shipped_kb.profile.name)
        assert entry["max_daily_mg"] == dict(bound.invariants.max_daily_mg)
        mark = "*" if entry["bound"] else " "
        ceilings = ", ".join(f"{drug} {mg:g} mg/day" for drug, mg in bound.invariants.max_daily_mg.items())
        line = f"  {mark} {name:<6} {bound.profile.title}; ceiling {ceilings}  ({bound.profile.file})\n"
        assert line in result.stdout
