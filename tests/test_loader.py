"""engine/loader.py: the shipped KB loads; a broken KB yields every problem as `file:line: rule: field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from clonus.engine.errors import KbError
from clonus.engine.knowledge.load import load_kb


@pytest.fixture
def kb_dir(kb_copy, monkeypatch) -> Path:
    """The writable KB copy, with the working directory set so problems name files as kb/<file>."""
    monkeypatch.chdir(kb_copy.parent)
    return kb_copy


def line_of(kb: Path, file: str, text: str) -> int:
    """1-based line of the only line of `file` that contains `text`."""
    hits = [i for i, line in enumerate((kb / file).read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(hits) == 1, f"{text!r} is on lines {hits} of {file}"
    return hits[0]


def plant(kb: Path, file: str, anchor: str, old: str, new: str) -> int:
    """Replace the first `old` after `anchor` in kb/`file` by `new`; return the 1-based line where `new` starts."""
    path = kb / file
    text = path.read_text(encoding="utf-8")
    start = text.index(anchor)
    at = text.index(old, start)
    path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
    return text[:at].count("\n") + 1


def problems(kb: Path) -> list[str]:
    with pytest.raises(KbError) as info:
        load_kb(kb)
    return [str(p) for p in info.value.problems]


def test_regression_unknown_key_in_kb_yaml_is_reported(kb_dir):
    """Bug: kb.yaml keys were never checked, so a misspelt `exclusions:` silently switched off every
    exclusive-pair check and a misspelt `disclaimer:` dropped the disclaimer from every report."""
    text = (kb_dir / "kb.yaml").read_text(encoding="utf-8")
    (kb_dir / "kb.yaml").write_text(text.replace("\nprecedence:", "\nprecedense:")
                                    .replace("\ndisclaimer:", "\ndisclamer:"), encoding="utf-8")
    allowed = ("allowed: name, version, description, disclaimer, default_profile, parameters, dose_plans, "
               "precedence, gap_check, vocabulary")
    assert problems(kb_dir) == [
        f"kb/kb.yaml:{line_of(kb_dir, 'kb.yaml', 'disclamer:')}: disclamer: unknown field "
        f"(did you mean 'disclaimer'?); {allowed}",
        f"kb/kb.yaml:{line_of(kb_dir, 'kb.yaml', 'precedense:')}: precedense: unknown field "
        f"(did you mean 'precedence'?); {allowed}",
    ]


@pytest.mark.parametrize("fact, typo, suggestion", [
    ("age", "numeric", "number"),          # an input fact read with >= by scope rules
    ("escalating", "bool", "boolean"),     # a derived fact asserted by the escalation rule
])
def test_regression_unknown_fact_type_is_one_problem_not_a_crash(kb_dir, fact, typo, suggestion):
    """Bug: a misspelt fact type crashed load_kb with KeyError (a traceback from `clonus advise --kb`)
    as soon as a rule compared that fact; asserting it added a misleading 'holds words' problem."""
    text = (kb_dir / "facts.yaml").read_text(encoding="utf-8")
    start = text.index(f"\n  {fact}:\n")
    at = text.index("    type: ", start)
    end = text.index("\n", at)
    original = text[at:end].split(": ", 1)[1]
    (kb_dir / "facts.yaml").write_text(text[:at] + f"    type: {typo}" + text[end:], encoding="utf-8")
    line = text[:at].count("\n") + 1
    assert original == suggestion
    assert problems(kb_dir) == [
        f"kb/facts.yaml:{line}: {fact}.type: {typo!r} is not a fact type (did you mean {suggestion!r}?); "
        "use one of number, boolean, enum, words, text"
    ]


SHAPES = [
    ("recommend-params-not-a-mapping", "rules/dosing.yaml", "id: baclofen.escalate.redistribute",
     "recommend: [redistribute_to_3_4_daily_doses]",
     "recommend: [{code: redistribute_to_3_4_daily_doses, params: 5}]",
     "baclofen.escalate.redistribute: then.recommend[0].params: is a whole number; expected a mapping"),
    ("assert-a-list", "rules/dosing.yaml", "id: baclofen.dose.at-max", "assert: {dose_band: at_max}",
     "assert: [dose_band]",
     "baclofen.dose.at-max: then.assert: is a list; expected a mapping (Derived facts to assert: {fact: value})"),
    ("limit-dose-plan-a-number", "rules/precautions.yaml", "id: caution.respiratory",
     "limit_dose_plan: {step_max_mg: $cautious_step_max_mg, min_interval_h: $cautious_min_interval_h}",
     "limit_dose_plan: 5",
     "caution.respiratory: then.limit_dose_plan: is a whole number; expected a mapping (limits a precaution sets "
     "on any dose plan made for the case; the tightest of all that apply wins)"),
    ("divided-doses-a-number", "kb.yaml", "dose_plans:", "divided_doses: [3, 4]", "divided_doses: 3",
     "dose_plans.oral_baclofen.divided_doses: is required and must be valid"),
    ("product-of-a-number", "facts.yaml", "\n  daily_dose_mg:", "product_of: [dose_mg, doses_per_day]",
     "product_of: 5", "daily_dose_mg.product_of: is a whole number; expected a list"),
    ("exclusion-pair-of-lists", "invariants.yaml", "exclusions:", "- [increase_baclofen, no_escalation_at_max_dose]",
     "- [[increase_baclofen], no_escalation_at_max_dose]", "exclusions: each exclusion is a pair [code, code]"),
    ("sources-a-list-of-lists", "rules/dosing.yaml", "id: baclofen.dose.at-max", "sources: [S01, S03, S09]",
     "sources: [[S00]]", "baclofen.dose.at-max: sources[0]: is a list; expected a text"),
    ("recommend-code-a-list", "rules/dosing.yaml", "id: baclofen.escalate.redistribute",
     "recommend: [redistribute_to_3_4_daily_doses]", "recommend: [{code: [a, b]}]",
     "baclofen.escalate.redistribute: then.recommend[0].code: is a list; expected a text"),
    ("when-a-number", "rules/dosing.yaml", "id: baclofen.dose.at-max", "- daily_dose_mg == $max_daily_mg", "- 80",
     "baclofen.dose.at-max: when[0]: is a whole number; expected a text or a list or a mapping"),
    ("rule-test-expect-a-word", "rules/scope.tests.yaml", "name: reference case is in scope",
     "expect: [increase_baclofen, warn_no_abrupt_discontinuation]", "expect: increase_baclofen",
     "reference case is in scope: expect: is a text; expected a list (Codes that must appear)"),
]


@pytest.mark.parametrize("file, anchor, old, new, message", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_regression_wrongly_shaped_value_is_a_problem_not_a_crash(kb_dir, file, anchor, old, new, message):
    """Bug: a scalar where the loader expected a list or mapping (and a list inside an exclusion pair)
    crashed load_kb with TypeError/AttributeError instead of a located problem."""
    line = plant(kb_dir, file, anchor, old, new)
    assert problems(kb_dir) == [f"kb/{file}:{line}: {message}"]


def test_regression_a_derived_words_fact_is_refused(kb_dir):
    """Bug: a derived fact of type words (a rule asserts one word) tested with has/lacks never fired on
    durable_rules (neither `has` nor `lacks`), and CLIPS refused the compiled KB; now the loader refuses it."""
    facts = kb_dir / "facts.yaml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(text + "  interactions:\n    type: words\n    origin: derived\n    label: interactions\n"
                     "    description: drug interactions found\n", encoding="utf-8")
    line = text.count("\n") + 2
    assert problems(kb_dir) == [f"kb/facts.yaml:{line}: interactions.type: a derived fact holds the one value a "
                                "rule asserts; words come from the case (use text or enum)"]


# ---- the shipped KB --------------------------------------------------------------------------------

def test_shipped_kb_loads_with_every_part(shipped_kb):
    assert shipped_kb.name == "clonus-adult-spasticity"
    assert shipped_kb.digest.startswith("sha256:") and len(shipped_kb.digest) == len("sha256:") + 64
    assert shipped_kb.disclaimer.strip()
    assert shipped_kb.invariants.max_daily_mg["baclofen"] == 80 and shipped_kb.profile.name == "us"
    assert shipped_kb.frequencies["q8h"] == 3 and shipped_kb.mass_units["mg"] == 1
    rule_ids = [r.id for r in shipped_kb.rules]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in shipped_kb.rules:
        assert rule.sources and all(s in shipped_kb.sources for s in rule.sources), rule.id
        assert all(rec.code in shipped_kb.codes for rec in rule.recommends), rule.id
        assert all(a.fact in shipped_kb.facts for alt in rule.alternatives for a in alt), rule.id
        assert rule.rationale and rule.title and rule.version >= 1, rule.id
    for a, b in shipped_kb.exclusions:
        assert a in shipped_kb.codes and b in shipped_kb.codes


def test_loading_twice_gives_equal_kbs(shipped_kb):
    again = load_kb()
    assert again.digest == shipped_kb.digest
    assert again.rules == shipped_kb.rules


def test_digest_changes_when_a_file_changes(kb_dir, shipped_kb):
    plant(kb_dir, "kb.yaml", "version:", "version: 0.2.0", "version: 0.2.1")
    assert load_kb(kb_dir).digest != shipped_kb.digest


# ---- each broken copy gives its exact problem ------------------------------------------------------

RULE_KEYS = "allowed: id, title, status, version, rationale, sources, when, then, last_reviewed, review_by"
BROKEN = [
    # (id, file, anchor, old, new, expected problem); {file} {line} {anchor_line} are filled in.
    ("unknown-fact", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "- relief == inadequate", "- releif == inadequate",
     "{file}:{line}: baclofen.escalate.below-max: when: unknown fact 'releif' (did you mean 'relief'?)"),
    ("unknown-fact-without-suggestion", "rules/safety.yaml", "id: safety.withdrawal-signs",
     "- withdrawal_signs", "- pump_alarm",
     "{file}:{line}: safety.withdrawal-signs: when: unknown fact 'pump_alarm'"),
    ("unknown-fact-asserted", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "assert: {escalating: true}", "assert: {escalatin: true}",
     "{file}:{line}: baclofen.escalate.below-max: then.assert: unknown fact 'escalatin' (did you mean 'escalating'?)"),
    ("input-fact-asserted", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "assert: {escalating: true}", "assert: {age: 30}",
     "{file}:{line}: baclofen.escalate.below-max: then.assert: 'age' is an input fact; "
     "rules assert derived facts only"),
    ("unknown-code", "rules/dosing.yaml", "id: baclofen.escalate.redistribute",
     "recommend: [redistribute_to_3_4_daily_doses]", "recommend: [redistribute_to_3_4_daily_dose]",
     "{file}:{line}: baclofen.escalate.redistribute: then.recommend: unknown code 'redistribute_to_3_4_daily_dose' "
     "(did you mean 'redistribute_to_3_4_daily_doses'?)"),
    ("unknown-source", "rules/dosing.yaml", "id: baclofen.escalate.redistribute",
     "sources: [S01, S39]", "sources: [S01, S39x]",
     "{file}:{line}: baclofen.escalate.redistribute: sources: unknown source 'S39x' (did you mean 'S39'?)"),
    ("operator-for-enum", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "- relief == inadequate", "- relief < inadequate",
     "{file}:{line}: baclofen.escalate.below-max: when: relief < inadequate: operator '<' does not apply to enum "
     "fact 'relief'; use ==, !=, in, not in"),
    ("operator-for-number", "rules/dosing.yaml", "id: baclofen.dose.below-max",
     "- daily_dose_mg < $max_daily_mg", "- daily_dose_mg has 80",
     "{file}:{line}: baclofen.dose.below-max: when: daily_dose_mg has 80: operator 'has' does not apply to number "
     "fact 'daily_dose_mg'; use ==, !=, <, <=, >, >="),
    ("operator-for-boolean", "rules/precautions.yaml", "id: caution.respiratory",
     "- respiratory_compromise", "- respiratory_compromise != true",
     "{file}:{line}: caution.respiratory: when: respiratory_compromise != true: operator '!=' does not apply to "
     "boolean fact 'respiratory_compromise'; use =="),
    ("operator-for-words", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "- relief == inadequate", "- side_effects == drowsiness",
     "{file}:{line}: baclofen.escalate.below-max: when: side_effects == drowsiness: operator '==' does not apply to "
     "words fact 'side_effects'; use has, lacks"),
    ("missing-on-a-fact-with-default", "rules/safety.yaml", "id: safety.withdrawal-signs",
     "- withdrawal_signs", "- missing withdrawal_signs",
     "{file}:{line}: safety.withdrawal-signs: when: missing withdrawal_signs: 'missing' applies to input facts "
     "without a default; 'withdrawal_signs' is always known"),
    ("enum-value", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "- relief == inadequate", "- relief == inadequat",
     "{file}:{line}: baclofen.escalate.below-max: when: relief == inadequat: 'inadequat' is not a value of relief "
     "(did you mean 'inadequate'?); values: adequate, inadequate"),
    ("enum-value-in-list", "rules/dosing.yaml", "id: baclofen.escalate.after-sleep-assessment",
     "sleep_apnea in [suspected, untreated]", "sleep_apnea in [suspected, untreatd]",
     "{file}:{line}: baclofen.escalate.after-sleep-assessment: when: sleep_apnea in [suspected, untreatd]: "
     "'untreatd' is not a value of sleep_apnea (did you mean 'untreated'?); values: none_known, suspected, "
     "untreated, treated"),
    ("enum-value-asserted", "rules/dosing.yaml", "id: baclofen.dose.at-max",
     "assert: {dose_band: at_max}", "assert: {dose_band: at_maximum}",
     "{file}:{line}: baclofen.dose.at-max: then.assert: 'at_maximum' is not a value of dose_band "
     "(did you mean 'at_max'?); values: implausibly_low, below_max, at_max, above_max, implausibly_high"),
    ("number-out-of-range", "rules/scope.yaml", "id: scope.adult-oral-baclofen",
     "- age >= $adult_age", "- age >= 180",
     "{file}:{line}: scope.adult-oral-baclofen: when: age >= 180: 180 is outside age's range 0..130"),
    ("number-compared-to-a-word", "rules/scope.yaml", "id: scope.adult-oral-baclofen",
     "- age >= $adult_age", "- age >= adult",
     "{file}:{line}: scope.adult-oral-baclofen: when: age >= adult: age is a number; 'adult' is not"),
    ("boolean-compared-to-a-word", "rules/precautions.yaml", "id: caution.respiratory",
     "- respiratory_compromise", "- respiratory_compromise == yes",
     "{file}:{line}: caution.respiratory: when: respiratory_compromise == yes: respiratory_compromise is true or "
     "false; 'yes' is not"),
    ("condition-syntax", "rules/precautions.yaml", "id: caution.respiratory",
     "- respiratory_compromise", "- respiratory_compromise in yes",
     # the line is where the `when:` list starts: the grammar error does not carry its own line
     "{file}:{when_line}: caution.respiratory: when: 'in' needs a list like [a, b], got 'yes'"),
    ("block-keyword", "rules/precautions.yaml", "id: caution.respiratory",
     "- respiratory_compromise", "- either: [respiratory_compromise]",
     "{file}:{when_line}: caution.respiratory: when: a block is exactly one of 'all:', 'any:' or 'not:'"),
    ("bad-status", "rules/dosing.yaml", "id: baclofen.dose.at-max", "status: approved", "status: aproved",
     "{file}:{line}: baclofen.dose.at-max: status: 'aproved' is not one of draft, reviewed, approved "
     "(did you mean 'approved'?)"),
    ("bad-version", "rules/dosing.yaml", "id: baclofen.dose.at-max", "version: 2", "version: 0",
     "{file}:{line}: baclofen.dose.at-max: version: must be a whole number >= 1"),
    ("bad-date", "rules/dosing.yaml", "id: baclofen.dose.at-max", "review_by: 2027-12-01", "review_by: next year",
     "{file}:{line}: baclofen.dose.at-max: review_by: 'next year' is not a date like 2026-11-25"),
    ("missing-rationale", "rules/dosing.yaml", "id: baclofen.dose.at-max",
     "    rationale: Exactly the profile's label maximum (FACTS 1.3, D3).\n", "",
     "{file}:{anchor_line}: baclofen.dose.at-max: rationale: is required (a non-empty text)"),
    ("empty-rationale", "rules/dosing.yaml", "id: baclofen.dose.at-max",
     "rationale: Exactly the profile's label maximum (FACTS 1.3, D3).", "rationale: '  '",
     "{file}:{line}: baclofen.dose.at-max: rationale: is required (a non-empty text)"),
    ("missing-sources", "rules/dosing.yaml", "id: baclofen.dose.at-max", "    sources: [S01, S03, S09]\n", "",
     "{file}:{anchor_line}: baclofen.dose.at-max: sources: cite at least one source id"),
    ("empty-sources", "rules/dosing.yaml", "id: baclofen.dose.at-max", "sources: [S01, S03, S09]", "sources: []",
     "{file}:{line}: baclofen.dose.at-max: sources: cite at least one source id"),
    ("missing-then", "rules/follow-up.yaml", "id: monitor.adverse-effects",
     "    then:\n      recommend: [monitor_adverse_effects]\n", "",
     "{file}:{anchor_line}: monitor.adverse-effects: then: needs 'assert:' and/or 'recommend:'"),
    ("unknown-rule-key", "rules/dosing.yaml", "id: baclofen.dose.at-max", "review_by:", "reveiw_by:",
     "{file}:{line}: baclofen.dose.at-max: reveiw_by: unknown field (did you mean 'review_by'?); " + RULE_KEYS),
    ("unknown-then-key", "rules/follow-up.yaml", "id: monitor.adverse-effects",
     "recommend: [monitor_adverse_effects]", "recommends: [monitor_adverse_effects]\n      recommend: []",
     "{file}:{line}: monitor.adverse-effects: then.recommends: unknown field (did you mean 'recommend'?); "
     "allowed: assert, recommend, dose_plan, limit_dose_plan"),
    ("unknown-fact-key", "facts.yaml", "\n  age:", "unit: years", "unti: years",
     "{file}:{line}: age.unti: unknown field (did you mean 'unit'?); allowed: type, origin, label, description, "
     "unit, minimum, maximum, exclusive_minimum, values, case_field, parse, product_of, default, needed_for_dosing, "
     "vocabulary, strict, classes_of"),
    ("unknown-code-key", "codes.yaml", "out_of_scope_pediatric:", "severity: critical",
     "severty: critical\n      severity: critical",
     "{file}:{line}: out_of_scope_pediatric.severty: unknown field (did you mean 'severity'?); "
     "allowed: severity, title, text"),
    ("unknown-source-key", "sources.yaml", "  S01:", "grade: A", "grade: A\n    grading: A",
     "{file}:{next_line}: S01.grading: unknown field (did you mean 'grade'?); "
     "allowed: title, publisher, year, url, grade"),
    ("vocabulary-scope-category", "kb.yaml", "vocabulary:", "scope_category: scope", "scope_category: scoop",
     "{file}:{line}: vocabulary.scope_category: 'scoop' is not a category of codes.yaml (did you mean 'scope'?); "
     "categories: scope, safety, escalation, non_escalation, caution, monitoring, next_step, contingency, "
     "adjunct, optional"),
    ("vocabulary-category-in-no-section", "kb.yaml", "vocabulary:", "    - {title: Alongside, categories: [adjunct]}\n",
     "", "{file}:{sections_line}: vocabulary.sections: category 'adjunct' is in no section: its "
     "recommendations would not be shown"),
    ("vocabulary-case-line-fact", "kb.yaml", "vocabulary:", '"{age} y"', '"{agee} y"',
     "{file}:{line}: vocabulary.case_line: unknown fact 'agee' (did you mean 'age'?)"),
    ("bad-code-severity", "codes.yaml", "out_of_scope_pediatric:", "severity: critical", "severity: urgent",
     "{file}:{line}: out_of_scope_pediatric.severity: 'urgent' is not one of info, warning, critical"),
    ("bad-source-grade", "sources.yaml", "  S01:", "grade: A", "grade: D",
     "{file}:{line}: S01.grade: must be one of A, A(copy), B, C, C/B"),
    ("dose-plan-value", "kb.yaml", "dose_plans:", "ceiling_daily_mg: $max_daily_mg", "ceiling_daily_mg: eighty",
     "{file}:{line}: dose_plans.oral_baclofen.ceiling_daily_mg: is required and must be valid"),
    ("dose-plan-zero-divided", "kb.yaml", "dose_plans:", "divided_doses: [3, 4]", "divided_doses: [3, 0]",
     "{file}:{line}: dose_plans.oral_baclofen.divided_doses: is required and must be valid"),
    ("dose-plan-steps-reversed", "kb.yaml", "dose_plans:", "step_min_mg: $step_min_mg", "step_min_mg: 20",
     "{file}:{anchor_next}: dose_plans.oral_baclofen: step_min_mg is above step_max_mg"),
    ("dose-plan-unknown-key", "kb.yaml", "dose_plans:",
     "ceiling_daily_mg: $max_daily_mg", "ceiling_daily_mg: $max_daily_mg\n    ceiling_mg: 100",
     "{file}:{next_line}: dose_plans.oral_baclofen.ceiling_mg: unknown field "
     "(did you mean 'ceiling_daily_mg'?); allowed: drug, daily_dose_fact, doses_per_day_fact, step_min_mg, "
     "step_max_mg, ceiling_daily_mg, max_single_dose_mg, divided_doses, dose_steps_mg, interval_min_h, "
     "interval_max_h"),
    ("dose-plan-unknown-parameter", "kb.yaml", "dose_plans:", "ceiling_daily_mg: $max_daily_mg",
     "ceiling_daily_mg: $max_dialy_mg",
     "{file}:{line}: dose_plans.oral_baclofen.ceiling_daily_mg: unknown parameter '$max_dialy_mg' "
     "(did you mean '$max_daily_mg'?)"),
    ("rule-dose-plan-unknown-name", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "dose_plan: oral_baclofen", "dose_plan: oral_baclofn",
     "{file}:{line}: baclofen.escalate.below-max: then.dose_plan: unknown dose plan 'oral_baclofn' "
     "(did you mean 'oral_baclofen'?); kb.yaml dose_plans names them"),
    ("condition-unknown-parameter", "rules/dosing.yaml", "id: baclofen.dose.below-max",
     "- daily_dose_mg < $max_daily_mg", "- daily_dose_mg < $max_daly_mg",
     "{file}:{when_line}: baclofen.dose.below-max: when: unknown parameter '$max_daly_mg' "
     "(did you mean '$max_daily_mg'?)"),
    ("limit-dose-plan-key", "rules/precautions.yaml", "id: caution.respiratory",
     "limit_dose_plan: {step_max_mg: $cautious_step_max_mg, min_interval_h: $cautious_min_interval_h}",
     "limit_dose_plan: {step_max: 5}",
     "{file}:{line}: caution.respiratory: then.limit_dose_plan.step_max: allowed: ceiling_daily_mg, step_max_mg, "
     "max_single_dose_mg, min_interval_h, each a positive number (or $parameter)"),
    ("code-slot-the-rule-cannot-fill", "rules/dosing.yaml", "id: baclofen.escalate.redistribute",
     "recommend: [redistribute_to_3_4_daily_doses]",
     "recommend: [redistribute_to_3_4_daily_doses, cap_at_80_mg_per_day]",
     "{file}:{line}: baclofen.escalate.redistribute: then.recommend: code 'cap_at_80_mg_per_day' text needs "
     "{{ceiling_daily_mg}}, which this rule does not provide"),
    ("exclusion-unknown-code", "invariants.yaml", "exclusions:", "[increase_baclofen, no_escalation_at_max_dose]",
     "[increase_baclofen, no_escalation_at_maximum]",
     "{file}:{line}: exclusions: unknown code 'no_escalation_at_maximum' (did you mean 'no_escalation_at_max_dose'?)"),
    ("safety-limit-not-a-number", "invariants.yaml", "max_daily_mg:", "baclofen: $max_daily_mg", "baclofen: eighty",
     "{file}:{line}: max_daily_mg.baclofen: is a positive number (or $parameter)"),
    ("profile-redefines-a-shared-parameter", "profiles/uk.yaml", "parameters:", "label: UK (BNF) label",
     "label: UK (BNF) label\n  adult_age: 16",
     "{file}:{next_line}: parameters.adult_age: is shared (kb.yaml parameters) and the safety section "
     "(invariants.yaml) reads it; a profile holds only what differs between jurisdictions"),
    ("frequency-not-whole", "notations.yaml", "frequencies:", "q8h: 3", "q8h: 3.5",
     "{file}:{line}: q8h: doses per day must be a whole number >= 1"),
]


def _lines_near(kb: Path, file: str, anchor_line: int, line: int) -> dict[str, int]:
    """Lines the loader may point at besides the planted one: the anchor, its `when:` list, its dose_plan."""
    after = (kb / file).read_text(encoding="utf-8").splitlines()[anchor_line - 1:]
    when = next((i for i, text in enumerate(after, anchor_line) if text.strip() == "when:"), 0)
    plan = next((i for i, text in enumerate(after, anchor_line) if text.strip() == "dose_plan:"), 0)
    sections = next((i for i, text in enumerate(after, anchor_line) if text.strip() == "sections:"), 0)
    return {"anchor_line": anchor_line, "anchor_next": anchor_line + 1, "when_line": when + 1, "dose_plan_line": plan,
            "sections_line": sections,
            "next_line": line + 1, "prev_line": line - 1}


@pytest.mark.parametrize("file, anchor, old, new, expected", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_copy_reports_its_exact_problem(kb_dir, file, anchor, old, new, expected):
    text = (kb_dir / file).read_text(encoding="utf-8")
    anchor_line = text[:text.index(anchor) + len(anchor) - len(anchor.lstrip("\n"))].count("\n") + 1
    line = plant(kb_dir, file, anchor, old, new)
    where = _lines_near(kb_dir, file, anchor_line, line)
    assert problems(kb_dir) == [expected.format(file=f"kb/{file}", line=line, **where)]


def _fires_problem(kb_dir, file: str, rule: str, suggestion: str = "") -> str:
    """The problem a rule test gives when the rule it says fires no longer exists (its id was changed)."""
    text = (kb_dir / file).read_text(encoding="utf-8")
    at = text.index(f"fires: [{rule}") if f"fires: [{rule}" in text else text.index(f" {rule},")
    line = text[:at].count("\n") + 1
    name = next(n for n in reversed(text[:at].splitlines()) if n.strip().startswith("- name: "))
    return f"kb/{file}:{line}: {name.split('- name: ', 1)[1]}: fires: unknown rule {rule!r}{suggestion}"


def test_bad_rule_id_is_located_and_the_tests_that_name_it_say_so(kb_dir):
    line = plant(kb_dir, "rules/dosing.yaml", "id: baclofen.dose.at-max", "id: baclofen.dose.at-max", "id: Dose At Max")
    assert problems(kb_dir) == [
        f"kb/rules/dosing.yaml:{line}: Dose At Max: id: 'Dose At Max' is not a dotted lower-case id like "
        "'baclofen.escalate.below-max'",
        _fires_problem(kb_dir, "rules/dosing.tests.yaml", "baclofen.dose.at-max",
                       " (did you mean 'baclofen.dose.above-max'?)"),
    ]


def test_duplicate_rule_id_names_the_first(kb_dir):
    first = line_of(kb_dir, "rules/dosing.yaml", "- id: baclofen.dose.below-max")
    line = plant(kb_dir, "rules/dosing.yaml", "- id: baclofen.dose.at-max", "baclofen.dose.at-max",
                 "baclofen.dose.below-max")
    assert problems(kb_dir) == [
        f"kb/rules/dosing.yaml:{line}: baclofen.dose.below-max: id: duplicate rule id "
        f"(first at kb/rules/dosing.yaml:{first})",
        _fires_problem(kb_dir, "rules/dosing.tests.yaml", "baclofen.dose.at-max",
                       " (did you mean 'baclofen.dose.above-max'?)"),
    ]


def test_duplicate_rule_id_across_files(kb_dir):
    first = line_of(kb_dir, "rules/dosing.yaml", "- id: baclofen.dose.below-max")
    line = plant(kb_dir, "rules/safety.yaml", "- id: safety.withdrawal-signs", "safety.withdrawal-signs",
                 "baclofen.dose.below-max")
    assert problems(kb_dir) == [
        f"kb/rules/safety.yaml:{line}: baclofen.dose.below-max: id: duplicate rule id "
        f"(first at kb/rules/dosing.yaml:{first})",
        _fires_problem(kb_dir, "rules/safety.tests.yaml", "safety.withdrawal-signs"),
    ]


CYCLE_RULE = """
  - id: test.cycle
    title: Escalating blocks escalation
    status: approved
    version: 1
    sources: [S01]
    rationale: A rule that makes escalation_blocked depend on escalating, which depends on it.
    when:
      - escalating
    then:
      assert: {escalation_blocked: true}
"""


def test_cycle_among_derived_facts_is_reported_once_with_its_path(kb_dir):
    """The new rule closes the cycle escalating -> escalation_blocked -> escalating; the loader names the
    path, located at the rule (first in load order) that asserts the fact where the walk met the cycle."""
    path = kb_dir / "rules" / "follow-up.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n" + CYCLE_RULE, encoding="utf-8")
    line = line_of(kb_dir, "rules/dosing.yaml", "- id: baclofen.escalate.below-max")
    assert problems(kb_dir) == [
        f"kb/rules/dosing.yaml:{line}: baclofen.escalate.below-max: then.assert: derived facts form a cycle: "
        "escalating -> escalation_blocked -> escalating"
    ]


def test_yaml_syntax_error_is_located(kb_dir):
    line = plant(kb_dir, "rules/dosing.yaml", "id: baclofen.dose.at-max", "sources: [S01, S03, S09]",
                 "sources: [S01, S03, S09")
    found = problems(kb_dir)
    assert len(found) == 1
    location, _, message = found[0].partition(": ")
    assert location.startswith("kb/rules/dosing.yaml:")
    assert line <= int(location.rsplit(":", 1)[1]) <= line + 1  # the parser notices at or just after the line
    assert message.startswith("invalid YAML: ") and len(message) > len("invalid YAML: ")


def test_duplicate_yaml_key_is_refused(kb_dir):
    line = plant(kb_dir, "rules/dosing.yaml", "id: baclofen.dose.at-max", "version: 2", "version: 2\n    version: 3")
    assert problems(kb_dir) == [f"kb/rules/dosing.yaml:{line + 1}: invalid YAML: duplicate key 'version'"]


@pytest.mark.parametrize("file, anchor", [("kb.yaml", "version:"), ("rules/dosing.yaml", "id: baclofen.dose.at-max")])
@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system"])
def test_python_tag_is_refused_and_nothing_runs(kb_dir, tmp_path, file, anchor, tag):
    marker = tmp_path / "executed"
    old = "version: 0.2.0" if file == "kb.yaml" else "version: 2"
    line = plant(kb_dir, file, anchor, old, f"{old}\n{'    ' if file != 'kb.yaml' else ''}"
                 f"evil: {tag} [\"touch {marker}\"]")
    found = problems(kb_dir)
    assert found == [f"kb/{file}:{line + 1}: invalid YAML: could not determine a constructor for the tag "
                     f"'tag:yaml.org,2002:{tag[2:].split(':', 1)[0]}:os.system'"]
    assert not marker.exists()


def test_every_problem_is_reported_not_only_the_first(kb_dir):
    """Plant three problems in three files: three problems come back, in file order."""
    a = plant(kb_dir, "rules/dosing.yaml", "id: baclofen.escalate.below-max", "- relief == inadequate",
              "- releif == inadequate")
    b = plant(kb_dir, "rules/safety.yaml", "id: safety.withdrawal-signs", "status: approved", "status: done")
    c = plant(kb_dir, "rules/scope.yaml", "id: scope.pediatric", "sources: [S43, S01]", "sources: [S43, S404]")
    assert problems(kb_dir) == [
        f"kb/rules/dosing.yaml:{a}: baclofen.escalate.below-max: when: unknown fact 'releif' (did you mean 'relief'?)",
        f"kb/rules/safety.yaml:{b}: safety.withdrawal-signs: status: 'done' is not one of draft, reviewed, approved",
        f"kb/rules/scope.yaml:{c}: scope.pediatric: sources: unknown source 'S404' (did you mean 'S44'?)",
    ]


def test_every_problem_in_one_rule_is_reported(kb_dir):
    anchor = "id: baclofen.dose.at-max"
    a = plant(kb_dir, "rules/dosing.yaml", anchor, "status: approved", "status: live")
    b = plant(kb_dir, "rules/dosing.yaml", anchor, "sources: [S01, S03, S09]", "sources: [S01, S3, S09]")
    c = plant(kb_dir, "rules/dosing.yaml", anchor, "- daily_dose_mg == $max_daily_mg", "- daily_dose == $max_daily_mg")
    found = problems(kb_dir)
    assert len(found) == 3
    assert found[0] == (f"kb/rules/dosing.yaml:{a}: baclofen.dose.at-max: status: 'live' is not one of "
                        "draft, reviewed, approved")
    assert found[1].startswith(f"kb/rules/dosing.yaml:{b}: baclofen.dose.at-max: sources: unknown source 'S3'")
    assert found[2] == (f"kb/rules/dosing.yaml:{c}: baclofen.dose.at-max: when: unknown fact 'daily_dose' "
                        "(did you mean 'daily_dose_mg'?)")


def test_missing_kb_yaml_is_one_problem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert problems(tmp_path / "empty") == ["empty/kb.yaml:0: not a clonus KB folder: kb.yaml is missing"]


def test_missing_required_file_is_reported(kb_dir):
    (kb_dir / "sources.yaml").unlink()
    found = problems(kb_dir)
    assert found == ["kb/sources.yaml:0: is missing: a KB folder holds kb.yaml, facts.yaml, codes.yaml, "
                     "sources.yaml, notations.yaml, invariants.yaml, medications.yaml, conditions.yaml, profiles/ "
                     "and rules/ (kb/README.md)"]


# ---- loaded objects are immutable ------------------------------------------------------------------

def test_kb_and_its_parts_are_frozen(shipped_kb):
    import dataclasses

    rule = shipped_kb.rule("baclofen.escalate.below-max")
    frozen = [(shipped_kb, "name"), (rule, "id"), (rule.recommends[0], "code"),
              (shipped_kb.facts["age"], "maximum"), (shipped_kb.codes["increase_baclofen"], "text"),
              (shipped_kb.sources["S01"], "url"), (rule.alternatives[0][0], "value")]
    for obj, attr in frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)


@pytest.mark.parametrize("mapping", [
    "facts", "codes", "sources", "frequencies", "mass_units", "medications",
    "rule.dose_plan", "rule.dose_limits", "rule.condition_lines", "recommend.params",
])
def test_mappings_are_read_only(shipped_kb, mapping):
    rule = shipped_kb.rule("baclofen.escalate.below-max")
    parts = {"rule.dose_plan": rule.dose_plan, "rule.dose_limits": rule.dose_limits,
             "rule.condition_lines": rule.condition_lines, "recommend.params": rule.recommends[0].params}
    target = parts[mapping] if mapping in parts else getattr(shipped_kb, mapping)
    with pytest.raises(TypeError):
        target["new"] = 1


def test_collections_are_tuples(shipped_kb):
    rule = shipped_kb.rule("baclofen.escalate.below-max")
    for value in (shipped_kb.rules, shipped_kb.tests, shipped_kb.exclusions, shipped_kb.categories,
                  rule.sources, rule.alternatives, rule.alternatives[0], rule.asserts, rule.recommends,
                  rule.dose_plan["divided_doses"], rule.dose_plan["dose_steps_mg"],
                  shipped_kb.facts["spasticity"].values, shipped_kb.facts["daily_dose_mg"].product_of):
        assert isinstance(value, tuple), value


EXTRA_BAND_RULE = """
  - id: baclofen.dose.high
    title: High daily dose
    status: draft
    version: 1
    sources: [S01]
    rationale: A second band rule whose range overlaps the others.
    when:
      - daily_dose_mg {op} {value}
    then:
      assert: {{dose_band: at_max}}
"""


def test_regression_conflicting_derived_values_are_a_load_problem(kb_dir):
    """Bug: two rules asserting different values of one derived fact for the same case passed every load
    check and failed at run time ('derived facts hold one value', exit 1, no file, line or rule)."""
    path = kb_dir / "rules" / "dosing.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + EXTRA_BAND_RULE.format(op=">=", value=70), encoding="utf-8")
    line = text.count("\n") + 2
    found = problems(kb_dir)
    overlapping = (("below-max", "below_max"), ("above-max", "above_max"), ("implausibly-high", "implausibly_high"))
    where = {band: line_of(kb_dir, "rules/dosing.yaml", f"id: baclofen.dose.{band}") for band, _ in overlapping}
    assert found == [
        f"kb/rules/dosing.yaml:{line}: baclofen.dose.high: then.assert: asserts dose_band = at_max, but "
        f"baclofen.dose.{band} (kb/rules/dosing.yaml:{where[band]}) asserts dose_band = {value} and both can fire "
        "for one case; a derived fact holds one value: make their conditions exclude each other"
        for band, value in overlapping]


def test_rules_asserting_different_values_on_exclusive_conditions_load(kb_dir):
    path = kb_dir / "rules" / "dosing.yaml"
    path.write_text(path.read_text(encoding="utf-8") + EXTRA_BAND_RULE.format(op="==", value=80), encoding="utf-8")
    assert "baclofen.dose.high" in {r.id for r in load_kb(kb_dir).rules}  # the same value as at-max: no conflict


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_regression_a_kb_with_no_rule_files_is_refused(kb_dir, how):
    """Issue 8 §4: deleting the rules took the abrupt-stop warning out of every answer. A KB without rule
    files is refused at load (it could answer nothing); with rules that never give a warning the safety
    section requires, every answer is refused instead (test_an_answer_without_a_required_warning_...)."""
    import shutil

    if how == "empty":
        for path in (kb_dir / "rules").glob("*.yaml"):
            path.unlink()
    else:
        shutil.rmtree(kb_dir / "rules")
    assert problems(kb_dir) == ["kb/rules:0: holds no rule file: the rules live in rules/*.yaml"]


def test_an_answer_without_a_required_warning_is_refused_never_shown(kb_copy):
    """The safety section requires the abrupt-stop warning for everyone on baclofen, whatever the rules:
    a KB whose rules never give it answers no case (SafetyError, exit 1 in one line), rather than
    answering without it."""
    from typer.testing import CliRunner

    from clonus.cli.main import app
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.errors import SafetyError

    from conftest import EXAMPLES, reference_case
    from test_runtime_guards import MONITOR, write_rules

    kb = load_kb(write_rules(kb_copy, [{"id": "t.adult", "when": ["age >= 18"], "then": MONITOR}]))
    with Advisor(kb) as advisor, pytest.raises(SafetyError, match="lacks warn_no_abrupt_discontinuation"):
        advisor.advise(reference_case())
    result = CliRunner().invoke(app, ["advise", str(EXAMPLES / "01-reference.yaml"), "--kb", str(kb_copy)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == ("clonus: error: the answer lacks warn_no_abrupt_discontinuation, which the safety "
                             "section requires when drug == baclofen\n")
