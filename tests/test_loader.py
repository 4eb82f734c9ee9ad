"""engine/loader.py: the shipped KB loads; a broken KB yields every problem as `file:line: rule: field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from clonus.engine.errors import KbError
from clonus.engine.loader import load_kb


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
    (kb_dir / "kb.yaml").write_text(text.replace("\nexclusions:", "\nexclusion:")
                                    .replace("\ndisclaimer:", "\ndisclamer:"), encoding="utf-8")
    allowed = "allowed: name, version, description, disclaimer, exclusions, safety_limits"
    assert problems(kb_dir) == [
        f"kb/kb.yaml:{line_of(kb_dir, 'kb.yaml', 'disclamer:')}: disclamer: unknown field "
        f"(did you mean 'disclaimer'?); {allowed}",
        f"kb/kb.yaml:{line_of(kb_dir, 'kb.yaml', 'exclusion:')}: exclusion: unknown field "
        f"(did you mean 'exclusions'?); {allowed}",
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
     "baclofen.escalate.redistribute: then.recommend: params of 'redistribute_to_3_4_daily_doses' must be a mapping"),
    ("assert-a-list", "rules/dosing.yaml", "id: baclofen.dose.at-max", "assert: {dose_band: at_max}",
     "assert: [dose_band]",
     "baclofen.dose.at-max: then.assert: maps derived facts to values, like {escalating: true}"),
    ("limit-dose-plan-a-number", "rules/precautions.yaml", "id: caution.respiratory",
     "limit_dose_plan: {step_max_mg: 5}", "limit_dose_plan: 5",
     "caution.respiratory: then.limit_dose_plan: is a mapping, like {step_max_mg: 5}"),
    ("divided-doses-a-number", "rules/dosing.yaml", "id: baclofen.escalate.below-max",
     "divided_doses: [3, 4]", "divided_doses: 3",
     "baclofen.escalate.below-max: then.dose_plan.divided_doses: is required and must be valid"),
    ("product-of-a-number", "facts.yaml", "\n  daily_dose_mg:", "product_of: [dose_mg, doses_per_day]",
     "product_of: 5", "daily_dose_mg.product_of: is a list of facts"),
    ("exclusion-pair-of-lists", "kb.yaml", "exclusions:", "- [increase_baclofen, no_escalation_at_max_dose]",
     "- [[increase_baclofen], no_escalation_at_max_dose]", "exclusions: each exclusion is a pair [code, code]"),
    ("rule-test-expect-a-word", "rules/scope.tests.yaml", "name: reference case is in scope",
     "expect: [increase_baclofen, warn_no_abrupt_discontinuation]", "expect: increase_baclofen",
     "reference case is in scope: expect: is a list of codes"),
]


@pytest.mark.parametrize("file, anchor, old, new, message", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_regression_wrongly_shaped_value_is_a_problem_not_a_crash(kb_dir, file, anchor, old, new, message):
    """Bug: a scalar where the loader expected a list or mapping (and a list inside an exclusion pair)
    crashed load_kb with TypeError/AttributeError instead of a located problem."""
    line = plant(kb_dir, file, anchor, old, new)
    assert problems(kb_dir) == [f"kb/{file}:{line}: {message}"]
