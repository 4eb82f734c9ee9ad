"""engine/explain/report.py: text a clinician reads top-down (next step first, disclaimer last) and Markdown,
in the sections and with the case line the KB declares (kb.yaml vocabulary)."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from clonus.engine.decide.result import Recommendation
from clonus.engine.explain import report

from conftest import reference_case

# The reading order the brief asks for; the KB's sections may add sections between these.
ORDER = ["Next step", "Safety and precautions", "Monitoring", "Next line of treatment", "Alongside"]


@pytest.fixture(scope="module")
def reference(advisor):
    return advisor.advise(reference_case())


def _rec(kb, code: str, sources=("S01",)) -> Recommendation:
    d = kb.codes[code]
    return Recommendation(code, d.category, d.severity, d.title, d.text.replace("{", "<").replace("}", ">"),
                          f"rule.for.{code}", (f"rule.for.{code}",), tuple(sources), (f"reason for {code}",))


@pytest.fixture(scope="module")
def every_category(shipped_kb, reference):
    """The reference result with one recommendation per KB category, in reverse category order."""
    first_of = {}
    for code, definition in shipped_kb.codes.items():
        first_of.setdefault(definition.category, code)
    recs = [_rec(shipped_kb, code) for code in reversed(list(first_of.values()))]
    return dataclasses.replace(reference, recommendations=tuple(recs), dose_plan=None)


@pytest.fixture(scope="module")
def sections(shipped_kb):
    return shipped_kb.vocabulary.sections


def _headings(text: str, sections) -> list[str]:
    titles = {title.upper(): title for title, _ in sections}
    return [titles[line] for line in text.splitlines() if line in titles]


def test_sections_are_declared_in_reading_order(sections):
    titles = [title for title, _ in sections]
    assert [t for t in titles if t in ORDER] == ORDER
    assert titles[0] == "Next step"
    categories = [c for _, cats in sections for c in cats]
    assert len(categories) == len(set(categories))


def test_every_kb_category_has_a_section(shipped_kb, sections):
    placed = {c for _, cats in sections for c in cats}
    assert set(shipped_kb.categories) <= placed


def test_text_sections_follow_the_reading_order_whatever_the_result_order(every_category, shipped_kb, sections):
    text = report.render_text(every_category, shipped_kb)
    headings = _headings(text, sections)
    assert headings == [title for title, _ in sections if title in headings]
    assert headings[0] == "Next step"
    assert [h for h in headings if h in ORDER] == ORDER


def _codes_under(text: str, heading: str) -> list[str]:
    block = text.split(f"\n{heading}\n", 1)[1].split("\n\n", 1)[0]
    return [line.split(";")[0].strip(" [") for line in block.splitlines() if line.strip().startswith("[")]


def test_text_next_step_holds_scope_then_non_escalation_then_escalation(every_category, shipped_kb, sections):
    """Critical items go to ACT NOW; the rest of the Next step categories stay in the KB's order."""
    text = report.render_text(every_category, shipped_kb, width=1000)
    categories = [shipped_kb.codes[c].category for c in _codes_under(text, "NEXT STEP")]
    declared = dict(sections)["Next step"]
    assert categories == sorted(categories, key=declared.index)
    urgent = {shipped_kb.codes[c].category for c in _codes_under(text, "ACT NOW")}
    assert set(categories) | (urgent & set(declared)) == set(declared)


def test_text_act_now_holds_every_critical_item_and_only_those(every_category, shipped_kb):
    text = report.render_text(every_category, shipped_kb, width=1000)
    critical = [r.code for r in every_category.recommendations if r.severity == "critical"]
    assert critical and _codes_under(text, "ACT NOW") == critical
    assert text.index("\nACT NOW\n") < text.index("\nNEXT STEP\n")


def test_text_ends_with_sources_then_the_disclaimer(every_category, shipped_kb):
    text = report.render_text(every_category, shipped_kb)
    assert text.endswith("\n" + "\n".join(textwrap.wrap(shipped_kb.disclaimer, 80)) + "\n")
    identity = text.split("\n\n")[-1]
    assert identity.startswith(f"clonus advice: KB {shipped_kb.name} {shipped_kb.version} (sha256:")
    assert text.index("Sources:") > text.index(_headings(text, shipped_kb.vocabulary.sections)[-1].upper())
    assert "S01 [A] " in text


def test_text_starts_with_the_decisive_action_then_the_case(reference, shipped_kb):
    lines = report.render_text(reference, shipped_kb, width=1000).splitlines()
    assert lines[0] == ("-  NEXT STEP: Increase oral baclofen from 45 mg/day to 50-60 mg/day, "
                        "e.g. 20 mg every 8 hours (60 mg/day).")
    assert lines[1] == ("Case: 45 y | generalized spasticity | baclofen oral 15 mg x3/day = 45 mg/day | "
                        "relief inadequate")


def test_case_line_reads_kb_values_as_words(advisor, shipped_kb):
    data = reference_case()
    data["patient"]["condition"] = "multiple_sclerosis"
    line = report.render_text(advisor.advise(data), shipped_kb, width=1000).splitlines()[1]
    assert line.startswith("Case: 45 y | generalized spasticity | multiple sclerosis | baclofen oral")


def test_text_an_urgent_first_item_leads_with_act_now(advisor, shipped_kb):
    data = reference_case()
    data["response"]["withdrawal_signs"] = True
    first = report.render_text(advisor.advise(data), shipped_kb, width=1000).splitlines()[0]
    assert first.startswith("!! ACT NOW: Signs of baclofen withdrawal")


def test_text_wraps_at_the_width_it_is_given(reference, shipped_kb):
    for width in (60, 80, 100):
        lines = report.render_text(reference, shipped_kb, width=width).splitlines()
        assert max(len(line) for line in lines) <= width
    assert max(len(line) for line in report.render_text(reference, shipped_kb, width=1000).splitlines()) > 100


def test_text_brief_is_the_action_the_urgent_items_and_the_plan(advisor, reference, shipped_kb):
    brief = report.render_text(reference, shipped_kb, brief=True, width=1000)
    assert brief.splitlines()[0] == report.render_text(reference, shipped_kb, width=1000).splitlines()[0]
    assert "Dose plan: 45 -> 50-60 mg/day" in brief
    assert "MONITORING" not in brief and "Sources:" not in brief
    assert len(brief.splitlines()) <= 24  # one screen


def test_text_reference_case_puts_the_dose_plan_under_the_increase(reference, shipped_kb):
    text = report.render_text(reference, shipped_kb, width=1000)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("-  Increase oral baclofen from 45 mg/day"))
    assert lines[at + 1] == ("   Dose plan: 45 -> 50-60 mg/day, ceiling 80 mg/day, steps 5-15 mg/day every 24-72 h "
                             "at the soonest; regimen 20 mg every 8 hours (60 mg/day)")
    assert lines[at + 2].startswith("   [increase_baclofen; rule baclofen.escalate.below-max; sources ")
    assert _headings(text, shipped_kb.vocabulary.sections)[0] == "Next step"
    assert text.index("NEXT STEP") < text.index("SAFETY AND PRECAUTIONS") < text.index("MONITORING")
    assert lines[-1] == shipped_kb.disclaimer


def test_text_names_the_step_limit(advisor, shipped_kb):
    data = reference_case()
    data["patient"].update(age=70, egfr=80)
    data["medication"]["dose"] = "5 mg"
    text = report.render_text(advisor.advise(data), shipped_kb, width=1000)
    assert ("Dose plan: 15 -> 20 mg/day, ceiling 40 mg/day, steps 5 mg/day every 72 h at the soonest; "
            "regimen 5 mg, 5 mg and 10 mg, every 8 hours (20 mg/day); limited by caution.older-adult") in text


@pytest.mark.parametrize("severity, mark", [("critical", "!! "), ("warning", "!  "), ("info", "-  ")])
def test_text_marks_severity(every_category, shipped_kb, severity, mark):
    text = report.render_text(every_category, shipped_kb, width=1000)
    rec = next((r for r in every_category.recommendations if r.severity == severity), None)
    assert rec is not None, f"no {severity} recommendation to show"
    assert f"{mark}{rec.text}" in text.splitlines()


def test_text_missing_data_is_said_first(advisor, shipped_kb):
    data = reference_case()
    del data["medication"]["frequency"]
    lines = report.render_text(advisor.advise(data), shipped_kb).splitlines()
    assert lines[2] == "!! Missing: frequency: no dosing advice until it is given."
    assert "Dose plan:" not in "\n".join(lines)


def test_text_draft_banner(reference, shipped_kb):
    drafted = dataclasses.replace(reference, include_draft=True, draft_rules_fired=("some.draft-rule",))
    lines = report.render_text(drafted, shipped_kb, width=1000).splitlines()
    assert lines[1].startswith("!! DRAFT KNOWLEDGE INCLUDED") and "some.draft-rule" in lines[1]
    assert "DRAFT" not in report.render_text(reference, shipped_kb)


def test_text_explain_gives_reasons_and_the_trace(reference, shipped_kb):
    text = report.render_text(reference, shipped_kb, explain=True)
    assert "     because relief is inadequate" in text.splitlines()
    trace = report.render_trace_text(reference)
    assert trace[1] == "RULES THAT FIRED (in order)"
    assert len(trace) == 2 + len(reference.trace)
    for i, entry in enumerate(reference.trace, 1):
        assert trace[1 + i].startswith(f"  {i:2}. {entry.rule} [")


def test_case_line_shows_what_is_known_and_marks_what_a_decision_needs(advisor, shipped_kb):
    data = reference_case()
    del data["medication"]["frequency"], data["patient"]["spasticity"]
    line = report.render_text(advisor.advise(data), shipped_kb, width=1000).splitlines()[2]
    assert line == "Case: 45 y | baclofen oral 15 mg x?/day = ? mg/day | relief inadequate"


# ---- Markdown --------------------------------------------------------------------------------------

def test_markdown_shape(every_category, shipped_kb):
    md = report.render_markdown(every_category, shipped_kb)
    lines = md.splitlines()
    assert lines[0] == "# clonus advice"
    first = every_category.recommendations[0]
    assert lines[2] == f"**{'Act now' if first.severity == 'critical' else 'Next step'}: {first.text}**"
    assert f"*clonus advice: KB {shipped_kb.name} {shipped_kb.version} ({shipped_kb.digest[:19]})" in md
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings[0] == "Act now" and headings[-1] == "Sources"
    assert headings[1:-1] == [title for title, _ in shipped_kb.vocabulary.sections if title in headings]
    assert [h for h in headings if h in ORDER] == ORDER
    assert lines[-1] == f"*{shipped_kb.disclaimer}*"
    for rec in every_category.recommendations:
        assert any(line.startswith("- ") and f"`{rec.code}` (rule `{rec.rule}`; S01)" in line for line in lines)
    assert f"[{shipped_kb.sources['S01'].title}]({shipped_kb.sources['S01'].url})" in md


def test_markdown_reference_case(reference, shipped_kb):
    md = report.render_markdown(reference, shipped_kb, explain=True)
    assert ("  - Dose plan: 45 → 50-60 mg/day, ceiling 80 mg/day, steps 5-15 mg/day every 24-72 h at the soonest; "
            "regimen 20 mg every 8 hours (60 mg/day)") in md
    assert "  - because relief is inadequate" in md
    assert "**[warning]** Counsel the patient never to stop baclofen abruptly" in md
    first_heading = next(line for line in md.splitlines() if line.startswith("## "))
    assert first_heading == "## Next step"
    assert md.rstrip("\n").splitlines()[-1] == f"*{shipped_kb.disclaimer}*"


def test_markdown_missing_data(advisor, shipped_kb):
    data = reference_case()
    del data["medication"]["frequency"]
    md = report.render_markdown(advisor.advise(data), shipped_kb)
    assert "> **Missing: frequency: no dosing advice until it is given.**" in md


def test_rendering_is_pure(reference, shipped_kb):
    assert report.render_text(reference, shipped_kb) == report.render_text(reference, shipped_kb)
    assert report.render_markdown(reference, shipped_kb) == report.render_markdown(reference, shipped_kb)
