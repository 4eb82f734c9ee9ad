"""cli/check_engines.py: `clonus check-engines [--cases N] [--seed S]`: both engines, one answer."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.decide import backend
from clonus.engine.workbench import enginecheck
from clonus.engine.workbench.enginecheck import Difference, EngineComparison
from clonus.engine.workbench.kbdiff import NamedCase

from conftest import INSTALLED_ENGINES, REPO

runner = CliRunner()
both = pytest.mark.skipif(len(INSTALLED_ENGINES) < 2, reason=f"needs two engines; here only {INSTALLED_ENGINES}")


@both
def test_no_difference_exits_0_with_the_counts(tmp_path):
    """On the repository's kb/ (an installed KB has no examples/ beside it; CI installs non-editable)."""
    result = runner.invoke(app, ["check-engines", "--cases", "300", "--seed", "4", "--out", str(tmp_path / "d"),
                                 "--kb", str(REPO / "kb")])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("clonus check-engines: durable 2.0.28 and clips ")
    assert "  examples           15 cases\n" in out
    assert "  generated         300 cases (seed 4)\n" in out
    assert " 0 differ\n" in out
    assert not (tmp_path / "d").exists()  # nothing to write


@both
def test_json_report(tmp_path):
    result = runner.invoke(app, ["check-engines", "--cases", "20", "--format", "json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [e["name"] for e in report["engines"]] == ["durable", "clips"]
    assert report["cases"]["generated"] == 20 and report["differences"] == []
    assert report["compared"] == sum(report["cases"].values())


def _one_difference(kb, first, second, generated=0, seed=0, include_draft=False, examples=None):
    case = NamedCase("generated-0-7", "generated case 7 (seed 0)",
                     {"patient": {"age": 45}, "medication": {"drug": "baclofen"}})
    return EngineComparison(({"name": "durable", "version": "2.0.28"}, {"name": "clips", "version": "1.0.6"}),
                            {"example": 15, "rule test": 68, "boundary": 1489, "generated": 1}, 0, 0,
                            (Difference("generated", case, "trace[2].rule", '"a.rule"', '"b.rule"'),), 1.5, 0)


def test_a_difference_exits_1_and_writes_the_case_to_rerun(monkeypatch, tmp_path):
    monkeypatch.setattr(enginecheck, "compare_engines", _one_difference)
    monkeypatch.setattr(backend, "load_backend", lambda name: type("B", (), {"available": lambda self: None})())
    out_dir = tmp_path / "differences"
    result = runner.invoke(app, ["check-engines", "--out", str(out_dir)])
    assert result.exit_code == 1, result.stderr
    written = out_dir / "generated-0-7.yaml"
    assert "DIFFERENT generated-0-7 (generated, generated case 7 (seed 0)) at trace[2].rule" in result.stdout
    assert '    durable: "a.rule"\n    clips: "b.rule"\n' in result.stdout
    assert f"rerun: clonus advise {written} --format json --engine durable (then --engine clips)" in result.stdout
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# clonus check-engines: durable and clips answer this case differently, first at "
                           "trace[2].rule\n")
    assert yaml.safe_load(text) == {"patient": {"age": 45}, "medication": {"drug": "baclofen"}}
    monkeypatch.undo()
    rerun = runner.invoke(app, ["advise", str(written), "--format", "json"])
    assert rerun.exit_code == 0, rerun.stderr


def test_an_engine_that_cannot_run_here_exits_2_naming_it(monkeypatch):
    class Missing:
        def available(self):
            return "durable_rules does not import on this Python (test)"

    real = backend.load_backend
    monkeypatch.setattr(backend, "load_backend", lambda name: Missing() if name == "durable" else real(name))
    result = runner.invoke(app, ["check-engines", "--cases", "1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("clonus: error: check-engines compares durable and clips: durable cannot run here "
                             "(durable_rules does not import on this Python (test))\n")


def test_help_names_the_sources_and_exit_codes():
    result = runner.invoke(app, ["check-engines", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "rule test case" in text and "boundary cases" in text and "generated cases" in text
    assert "Exit codes: 0 no case differs, 1 some case differs, 2" in text


def test_every_evaluating_command_names_both_engines_in_its_help():
    for command in ("advise", "explain", "test", "lint", "diff", "graph"):
        result = runner.invoke(app, [command, "--help"])
        text = " ".join(result.stdout.split())
        assert "--engine" in text and "durable" in text and "clips" in text, command
