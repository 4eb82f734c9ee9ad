"""engine/lint.py and engine/search.py: each finding pinned by a small broken KB (tests/lint_kbs/), and
the conflict and gap search finding defects planted in copies of the shipped KB."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.errors import SafetyError
from clonus.engine.intake.case import parse_case
from clonus.engine.knowledge.conditions import parse_atom
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.lint import CHECKS, LintError, contradiction, lint
from clonus.engine.workbench.search import next_step_codes

from lintkbs import VARIANTS, build_kb, plant

TODAY = date(2026, 11, 25)

# variant -> every finding it must give, exactly: (code, severity, file, line, rule)
EXPECTED = {
    "load-error": {("CL001", "error", "rules/broken.yaml", 11, "broken.misspelt")},
    "no-sources": {("CL101", "error", "rules/broken.yaml", 8, "broken.unsourced")},
    "no-rationale": {("CL102", "error", "rules/broken.yaml", 2, "broken.unexplained")},
    "unused": {
        ("CL201", "info", "facts.yaml", 70, None),
        ("CL201", "warning", "facts.yaml", 79, None),
        ("CL204", "warning", "facts.yaml", 84, None),
        ("CL202", "warning", "codes.yaml", 15, None),
        ("CL203", "warning", "sources.yaml", 4, None),
    },
    "never-true": {
        ("CL301", "error", "rules/broken.yaml", 13, "broken.low-and-high"),
        ("CL305", "warning", "rules/broken.yaml", 31, "broken.dead-branch"),
    },
    "underived": {
        ("CL301", "error", "rules/broken.yaml", 12, "broken.producer"),
        ("CL302", "error", "rules/broken.yaml", 25, "broken.reader"),
    },
    "unreachable": {("CL303", "error", "rules/broken.yaml", 2, "broken.adult-child")},
    "draft-dependency": {
        ("CL304", "warning", "rules/dosing.yaml", 2, "dose.blocked"),
        ("CL304", "warning", "rules/dosing.yaml", 17, "dose.escalate"),
        ("CL304", "warning", "rules/dosing.yaml", 43, "dose.at-max"),
        ("CL304", "warning", "rules/dosing.yaml", 59, "dose.maintain"),
        ("CL502", "error", "kb.yaml", 1, None),
    },
    "review": {
        ("CL401", "warning", "rules/broken.yaml", 2, "broken.overdue"),
        ("CL402", "warning", "rules/broken.yaml", 16, "broken.undated"),
        ("CL402", "warning", "rules/broken.yaml", 28, "broken.reviewed-in-future"),
    },
    "conflict": {("CL501", "error", "rules/broken.yaml", 2, "broken.maintain-anyway")},
    "gap": {
        ("CL502", "error", "kb.yaml", 1, None),
        ("CL202", "warning", "codes.yaml", 13, None),  # no_escalation_at_max_dose left unused
    },
    "unsafe": {("CL503", "error", "rules/dosing.yaml", 17, "dose.escalate")},
}


def _located(report, root: Path) -> set[tuple]:
    return {(f.code, f.severity, Path(f.file).resolve().relative_to(root.resolve()).as_posix(), f.line, f.rule)
            for f in report.findings}


def test_every_variant_is_pinned():
    assert sorted(EXPECTED) == VARIANTS


def test_mini_kb_lints_clean(tmp_path):
    report = lint(build_kb(tmp_path), TODAY)
    assert report.findings == ()
    assert report.exit_code == 0
    [(label, stats)] = report.searches
    assert label == "approved rules"
    assert 0 < stats.evaluated < stats.full_size


@pytest.mark.parametrize("variant", VARIANTS)
def test_broken_kb_gives_its_finding(tmp_path, variant):
    root = build_kb(tmp_path, variant)
    report = lint(root, TODAY)
    assert _located(report, root) == EXPECTED[variant]
    errors = any(severity == "error" for _, severity, *_ in EXPECTED[variant])
    assert report.exit_code == (1 if errors else 0)
    for f in report.findings:
        assert f.code in CHECKS and f.name == CHECKS[f.code].name
        assert f.message


def test_load_error_names_the_field_and_suggests(tmp_path):
    [finding] = lint(build_kb(tmp_path, "load-error"), TODAY).findings
    assert finding.message == "when: unknown fact 'relif' (did you mean 'relief'?)"


def test_never_true_names_the_contradicting_conditions(tmp_path):
    report = lint(build_kb(tmp_path, "never-true"), TODAY)
    messages = {f.code: f.message for f in report.findings}
    assert "daily_dose_mg < 30 and daily_dose_mg > 80" in messages["CL301"]
    assert "relief == adequate and relief == inadequate" in messages["CL305"]
    assert "(all: relief == adequate, relief == inadequate)" in messages["CL305"]  # the branch as written
    # broken.crossed-branches: `drug == baclofen` with `missing drug` is impossible, but each branch can hold


def test_underived_follows_back_to_the_producer(tmp_path):
    report = lint(build_kb(tmp_path, "underived"), TODAY)
    [reader] = [f for f in report.findings if f.code == "CL302"]
    assert reader.message == "needs `needs_review`, but only broken.producer asserts it, and it can never fire"


def test_conflict_witness_reproduces_in_the_engine(tmp_path):
    root = build_kb(tmp_path, "conflict")
    [finding] = lint(root, TODAY).findings
    assert "increase_baclofen and maintain_current_dose" in finding.message
    with (Advisor(load_kb(root)) as advisor,
          pytest.raises(SafetyError, match="increase_baclofen and maintain_current_dose")):
        advisor.advise(finding.witness)


def test_gap_witness_gets_no_next_step(tmp_path):
    root = build_kb(tmp_path, "gap")
    kb = load_kb(root)
    [gap] = [f for f in lint(root, TODAY).findings if f.code == "CL502"]
    assert gap.witness["response"]["relief"] == "inadequate"
    with Advisor(kb) as advisor:
        result = advisor.advise(gap.witness)
    assert result.facts["daily_dose_mg"] >= 80
    assert not set(result.codes()) & next_step_codes(kb)


def test_unsafe_answer_is_what_advise_refuses(tmp_path):
    root = build_kb(tmp_path, "unsafe")
    [finding] = lint(root, TODAY).findings
    assert "no regimen" in finding.message
    with Advisor(load_kb(root)) as advisor, pytest.raises(SafetyError, match="no regimen"):
        advisor.advise(finding.witness)


def test_draft_dependency_is_searched_both_ways(tmp_path):
    report = lint(build_kb(tmp_path, "draft-dependency"), TODAY)
    assert [label for label, _ in report.searches] == ["approved rules", "all rules (--include-draft)"]
    [gap] = [f for f in report.findings if f.code == "CL502"]
    assert "with --include-draft" not in gap.message  # the gap is in what advise does by default


def test_a_finding_of_approved_rules_is_not_repeated_for_drafts(tmp_path):
    root = build_kb(tmp_path, "conflict")
    plant(root / "rules" / "scope.yaml", "  - id: scope.other-drug\n    title: Other drugs\n    status: approved",
          "  - id: scope.other-drug\n    title: Other drugs\n    status: draft")
    report = lint(root, TODAY)
    assert len(report.searches) == 2
    [conflict] = [f for f in report.findings if f.code == "CL501"]
    assert "--include-draft" not in conflict.message


def test_not_a_kb_folder_cannot_be_linted(tmp_path):
    with pytest.raises(LintError, match="not a clonus KB folder"):
        lint(tmp_path)


def test_finding_json_has_stable_keys(tmp_path):
    [finding] = lint(build_kb(tmp_path, "conflict"), TODAY).findings
    doc = finding.to_json()
    assert set(doc) == {"code", "name", "severity", "file", "line", "rule", "message", "witness"}
    assert doc["name"] == "conflict" and doc["witness"]["response"] == {"relief": "inadequate"}


# -- contradictions: facts are independent, except a product and its parts --------------------------

@pytest.mark.parametrize("conditions", [
    ["daily_dose_mg < 30", "daily_dose_mg > 80"],
    ["relief == adequate", "relief == inadequate"],
    ["missing dose_mg", "daily_dose_mg < 80"],         # a known product needs every part
    ["missing age", "age >= 18"],
    ["other_medications has ciprofloxacin", "other_medications lacks ciprofloxacin"],
    ["dose_band == at_max", "dose_band in [below_max, above_max]"],
])
def test_contradictions_are_found(shipped_kb, conditions):
    assert contradiction(shipped_kb, [parse_atom(c) for c in conditions]) is not None


@pytest.mark.parametrize("conditions", [
    ["daily_dose_mg == 80"],  # regression: 80 mg/day was unreachable as 26.667 mg x 3 = 80.001
    ["daily_dose_mg >= 30", "daily_dose_mg < 80", "doses_per_day < 3"],
    ["age >= 65", "missing egfr", "not dialysis"],
    ["drug != baclofen", "known drug"],
])
def test_satisfiable_conditions_are_not_contradictions(shipped_kb, conditions):
    assert contradiction(shipped_kb, [parse_atom(c) for c in conditions]) is None


# -- the shipped KB, and defects planted in copies of it ---------------------------------------------

@pytest.fixture(scope="module")
def shipped_report():
    return lint(None, TODAY)


def test_shipped_kb_has_no_conflict_gap_or_dead_rule(shipped_report):
    codes = {f.code for f in shipped_report.findings}
    # CL503 (an answer the runtime refuses) included: odd doses under a 5 mg/day step limit now get a regimen
    assert not codes & {"CL001", "CL101", "CL102", "CL301", "CL302", "CL303", "CL501", "CL502", "CL503"}


def test_shipped_kb_space_is_pruned_not_sampled(shipped_report):
    [(label, stats)] = shipped_report.searches
    assert stats.full_size > 10**8  # every fact's boundary values crossed
    assert 0 < stats.evaluated < stats.full_size / 10**4
    assert stats.questions > len(load_kb(None).exclusions)


def test_conflict_planted_in_the_shipped_kb_is_found(kb_copy):
    plant(kb_copy / "rules" / "dosing.yaml", "      - dose_band == below_max\n",
          "      - dose_band in [below_max, at_max]\n")
    report = lint(kb_copy, TODAY)
    [conflict] = [f for f in report.findings if f.code == "CL501" and "no_escalation_at_max_dose" in f.message]
    assert conflict.rule == "baclofen.hold.at-or-above-max"
    kb = load_kb(kb_copy)
    assert parse_case(kb, conflict.witness).facts["daily_dose_mg"] == 80
    with Advisor(kb) as advisor, pytest.raises(SafetyError):
        advisor.advise(conflict.witness)


def test_gap_planted_in_the_shipped_kb_is_found(kb_copy):
    plant(kb_copy / "rules" / "dosing.yaml", "      - dose_band in [at_max, above_max]\n",
          "      - dose_band == above_max\n")
    report = lint(kb_copy, TODAY)
    [gap] = [f for f in report.findings if f.code == "CL502"]
    assert "dose_band = at_max" in gap.message
    kb = load_kb(kb_copy)
    with Advisor(kb) as advisor:
        result = advisor.advise(gap.witness)
    assert result.facts["age"] >= 18 and result.facts["relief"] == "inadequate"
    assert not set(result.codes()) & next_step_codes(kb)
