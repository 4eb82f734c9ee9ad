"""Which rule engine answers: durable_rules where it imports, CLIPS elsewhere; `--engine` chooses, the
answer names the engine, and an engine that cannot run here is refused with the one that can."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.backends.clips import BACKEND as CLIPS
from clonus.engine.backends.durable import BACKEND as DURABLE
from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import ENGINES, default_engine
from clonus.engine.errors import EngineUnavailable

from conftest import EXAMPLES, INSTALLED_ENGINES, REPO, engine_blind, engine_params

runner = CliRunner()


def test_durable_is_preferred_and_clips_runs_everywhere():
    assert ENGINES == ("durable", "clips")
    assert CLIPS.available() is None  # clipspy has wheels for every Python clonus supports
    assert default_engine() == ("durable" if DURABLE.available() is None else "clips")


@pytest.mark.parametrize("engine", engine_params())
def test_the_answer_names_the_engine_that_produced_it(engine):
    result = runner.invoke(app, ["advise", str(EXAMPLES / "01-reference.yaml"), "--format", "json",
                                 "--engine", engine])
    assert result.exit_code == 0, result.stderr
    named = json.loads(result.stdout)["kb"]["engine"]
    assert named == {"name": engine, "version": (DURABLE if engine == "durable" else CLIPS).version()}


def test_an_engine_that_cannot_run_here_is_refused_naming_the_one_that_can(monkeypatch, shipped_kb):
    monkeypatch.setattr(DURABLE, "available", lambda: "durable_rules does not import on this Python (test)")
    with pytest.raises(EngineUnavailable) as info:
        Advisor(shipped_kb, engine="durable")
    assert str(info.value) == ("--engine: 'durable' cannot run here (durable_rules does not import on this "
                               "Python (test)); use clips")
    result = runner.invoke(app, ["advise", str(EXAMPLES / "01-reference.yaml"), "--engine", "durable"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("clonus: error: --engine: 'durable' cannot run here")
    assert default_engine() == "clips"


def test_an_unknown_engine_is_a_usage_error_listing_both():
    result = runner.invoke(app, ["advise", str(EXAMPLES / "01-reference.yaml"), "--engine", "drools"])
    assert result.exit_code == 2
    assert result.stderr == ("clonus: error: --engine: 'drools' is not a rule engine of clonus; "
                             "use one of durable, clips\n")



SAME_ON_BOTH = [
    ["explain", "examples/01-reference.yaml", "--why", "increase_baclofen"],
    ["explain", "examples/12-adequate-relief.yaml", "--why-not", "increase_baclofen"],
    ["explain", "examples/02-at-max-focal.yaml"],
    ["advise", "examples/08-dialysis.yaml", "--explain"],
    ["advise", "examples/13-intolerable-side-effects.yaml", "--format", "markdown"],
    ["test", "--coverage", "--verbose"],
    ["graph", "--view", "flow", "--case", "examples/02-at-max-focal.yaml"],
    ["diff", "kb", "kb"],
]


@pytest.mark.skipif(len(INSTALLED_ENGINES) < 2, reason=f"needs two engines; here only {INSTALLED_ENGINES}")
@pytest.mark.parametrize("command", SAME_ON_BOTH, ids=lambda c: " ".join(c[:2]))
def test_explanations_graphs_rule_tests_and_diffs_are_the_same_on_both_engines(command, monkeypatch):
    """Examples 02, 08 and 13 are the ones whose trace order durable_rules' agenda alone would change."""
    monkeypatch.chdir(REPO)
    out = {engine: runner.invoke(app, [*command, "--engine", engine]) for engine in ("durable", "clips")}
    assert out["durable"].exit_code == out["clips"].exit_code
    # the answer's footer names the engine that produced it; everything else is the same
    assert engine_blind(out["durable"].stdout) == engine_blind(out["clips"].stdout)
    assert out["durable"].stdout
