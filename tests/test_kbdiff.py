"""engine/kbdiff.py: rule-level changes between two KBs, and the cases whose recommendations change."""

from __future__ import annotations

from pathlib import Path

import pytest

from clonus.engine.errors import CaseError
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.kbdiff import CaseFileError, case_changes, case_files, kb_cases, rule_changes

from lintkbs import build_kb, plant


@pytest.fixture
def mini_pair(tmp_path):
    old = build_kb(tmp_path / "old")
    new = build_kb(tmp_path / "new")
    return old, new


def test_identical_kbs_have_no_changes(mini_pair):
    old, new = (load_kb(p) for p in mini_pair)
    assert rule_changes(old, new) == []
    changed, ran = case_changes(old, new, kb_cases(new, old))
    assert changed == [] and ran == len(new.tests)


def test_a_changed_condition_is_shown_as_lines_removed_and_added(mini_pair):
    old_dir, new_dir = mini_pair
    plant(new_dir / "rules" / "dosing.yaml", "      - daily_dose_mg < 80\n", "      - daily_dose_mg <= 80\n")
    [change] = rule_changes(load_kb(old_dir), load_kb(new_dir))
    assert (change.rule, change.kind) == ("dose.escalate", "changed")
    assert change.conditions == ("- daily_dose_mg < 80", "+ daily_dose_mg <= 80")
    assert change.conclusions == () and change.version_not_bumped


def test_the_cases_a_change_affects_show_codes_gained_and_lost(mini_pair):
    old_dir, new_dir = mini_pair
    plant(new_dir / "rules" / "dosing.yaml", "      - daily_dose_mg < 80\n", "      - daily_dose_mg <= 80\n")
    old, new = load_kb(old_dir), load_kb(new_dir)
    changed, ran = case_changes(old, new, kb_cases(new, old))
    assert ran == 11
    [at_max] = changed
    assert at_max.name == "dosing::at 80 mg/day there is no escalation"
    assert at_max.gained == ("increase_baclofen",)
    assert at_max.old_error is None
    assert at_max.new_error.startswith("refused: no increase fits under the 80 mg/day ceiling")


def test_a_version_bump_and_new_conclusions_are_reported(mini_pair):
    old_dir, new_dir = mini_pair
    rules = new_dir / "rules" / "dosing.yaml"
    plant(rules,
          "  - id: dose.maintain\n    title: Maintain when relief is adequate\n    status: approved\n    version: 1",
          "  - id: dose.maintain\n    title: Maintain when relief is adequate\n    status: approved\n    version: 2")
    plant(rules, "      recommend: [maintain_current_dose]\n",
          "      recommend: [maintain_current_dose, out_of_scope_drug_route]\n")
    [change] = rule_changes(load_kb(old_dir), load_kb(new_dir))
    assert change.conclusions == ("+ recommend out_of_scope_drug_route",)
    assert change.metadata == ("version: 1 -> 2",)
    assert not change.version_not_bumped


def test_reordered_conditions_are_no_change(mini_pair):
    old_dir, new_dir = mini_pair
    plant(new_dir / "rules" / "scope.yaml", "      - age >= 18\n      - drug == baclofen\n    then:\n      assert",
          "      - drug == baclofen\n      - age >= 18\n    then:\n      assert")
    assert rule_changes(load_kb(old_dir), load_kb(new_dir)) == []


def test_added_and_removed_rules(tmp_path):
    mini, conflict, gap = (load_kb(build_kb(tmp_path, v)) for v in (None, "conflict", "gap"))
    [added] = rule_changes(mini, conflict)
    assert (added.rule, added.kind) == ("broken.maintain-anyway", "added")
    assert "+ recommend maintain_current_dose" in added.conclusions
    [removed] = rule_changes(mini, gap)
    assert (removed.rule, removed.kind) == ("dose.at-max", "removed")
    changed, _ = case_changes(mini, gap, kb_cases(gap, mini))
    assert [(c.name, c.lost) for c in changed] == [("dosing::at 80 mg/day there is no escalation",
                                                     ("no_escalation_at_max_dose",))]


def test_default_cases_are_the_rule_tests_and_the_examples_beside_the_kb():
    # the repository's kb/ (an installed KB has no examples/ beside it)
    kb = load_kb(Path(__file__).resolve().parent.parent / "kb")
    cases = kb_cases(kb)
    wheres = [c.where for c in cases]
    assert sum(1 for w in wheres if ".tests.yaml:" in w) == len(kb.tests)
    assert any(w.endswith("examples/01-reference.yaml") for w in wheres)


def test_case_files_read_folders_and_refuse_bad_files(tmp_path):
    (tmp_path / "a.yaml").write_text("patient: {age: 45}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a case\n", encoding="utf-8")
    assert [c.name for c in case_files([tmp_path])] == ["a.yaml"]
    with pytest.raises(CaseFileError, match="cannot be read"):
        case_files([tmp_path / "missing.yaml"])
    (tmp_path / "bad.yaml").write_text("patient: [unclosed\n", encoding="utf-8")
    with pytest.raises(CaseError):
        case_files([tmp_path / "bad.yaml"])


def test_case_changes_reads_any_iterable_of_named_cases_and_compares_dose_plans(kb_copy):
    """One comparison for rule tests, case files and cohorts alike: a generator is read once, and a case
    whose codes stay the same still changes when its dose plan or wording does."""
    from clonus.engine.knowledge.load import default_kb_dir
    from clonus.engine.workbench.kbdiff import NamedCase

    from conftest import reference_case

    old = load_kb(default_kb_dir())
    plant(kb_copy / "kb.yaml", "  step_max_mg: 15", "  step_max_mg: 10")
    new = load_kb(kb_copy)
    read = []

    def cohort():
        for index in range(3):
            read.append(index)
            yield NamedCase(f"case-{index}", "cohort", reference_case())

    changed, ran = case_changes(old, new, cohort())
    assert ran == 3 and read == [0, 1, 2]
    first = changed[0]
    assert first.gained == first.lost == () and not first.codes_changed
    assert "step_daily_mg: 5-15 -> 5-10" in first.dose_plan
    assert ("titration_step_5_15_mg_per_day" in {code for code, _, _ in first.wording})
