"""Render a Result for people: text a clinician takes in at a glance, and Markdown. Pure functions.

The text reads top-down: its first line is always the decisive action (the answer's first
recommendation: what precedence and urgency put first), then any banner (draft rules, a modified safety
section), the case line, what needs action now, the KB's sections in reading order, the sources, and the
KB's identity with the disclaimer last. `brief` stops after the action, the urgent items and the dose
plan: one screen. Lines wrap at `width` (the terminal's, 80 otherwise: cli/advise.py chooses).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from clonus.engine.decide.doseplan import DosePlan
from clonus.engine.decide.result import Recommendation, Result
from clonus.engine.explain.encode import contract_json
from clonus.engine.explain.trace import trace_lines
from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.wording import SLOT_RE
from clonus.engine.knowledge.wording import number_text as _num

_MARK = {"critical": "!!", "warning": "! ", "info": "- "}
ACT_NOW = "Act now"
WIDTH = 80


def _one_line(text: str) -> str:
    """Free text from a case never adds lines to a report."""
    return " ".join(str(text).split())


def decisive(result: Result) -> Recommendation | None:
    """The first recommendation: the decisive action."""
    return result.recommendations[0] if result.recommendations else None


def _sections(result: Result, kb: Kb) -> Iterator[tuple[str, list[Recommendation]]]:
    """What needs action now (every critical recommendation), then the KB's sections in reading order
    (kb.yaml vocabulary), each in the answer's own order."""
    urgent = [r for r in result.recommendations if r.severity == "critical"]
    if urgent:
        yield ACT_NOW, urgent
    for title, categories in kb.vocabulary.sections:
        recs = [r for r in result.recommendations if r.category in categories and r.severity != "critical"]
        if recs:
            yield title, recs


def case_line(result: Result, kb: Kb) -> str:
    """The case at a glance, from the KB's case-line templates: an item whose facts are all absent or at
    their default is left out; a missing fact a dosing decision needs reads `?`."""
    parts = []
    for template in kb.vocabulary.case_line:
        names = SLOT_RE.findall(template)
        shown = [n for n in names if n in result.facts and result.facts[n] != kb.facts[n].default]
        if not shown and not any(kb.facts[n].needed_for_dosing for n in names):
            continue
        parts.append(SLOT_RE.sub(lambda m: _fact_text(kb, result, m[1]), template))
    return " | ".join(parts)


def _fact_text(kb: Kb, result: Result, name: str) -> str:
    if name not in result.facts:
        return "?"
    value = result.facts[name]
    if isinstance(value, bool):
        return kb.facts[name].label if value else f"no {kb.facts[name].label}"
    if isinstance(value, tuple):
        return _one_line(", ".join(str(v).replace("_", " ") for v in value) or "none")
    return _one_line(_num(value).replace("_", " "))  # multiple_sclerosis reads multiple sclerosis


def _banners(result: Result, kb: Kb) -> list[str]:
    lines = []
    if result.safety_changes:
        lines.append("!! SAFETY SECTION MODIFIED: this KB's safety checks differ from the approved ones "
                     f"({'; '.join(result.safety_changes)}).")
    if result.draft_rules_fired or result.include_draft:
        lines.append("!! DRAFT KNOWLEDGE INCLUDED: rules not yet approved may have produced this advice "
                     f"({', '.join(result.draft_rules_fired) or 'none fired'}).")
    if result.missing:
        lines.append(f"!! Missing: {', '.join(result.missing)}: no dosing advice until it is given.")
    return lines


def _headline(result: Result) -> str:
    first = decisive(result)
    if first is None:
        return "- No recommendation."
    lead = "ACT NOW" if first.severity == "critical" else "NEXT STEP"
    return f"{_MARK[first.severity]} {lead}: {first.text}"


def _wrap(text: str, width: int, indent: str = "   ") -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [text]


def render_text(result: Result, kb: Kb, explain: bool = False, brief: bool = False, width: int = WIDTH) -> str:
    lines = _wrap(_headline(result), width)
    for banner in _banners(result, kb):
        lines.extend(_wrap(banner, width))
    lines.extend(_wrap(f"Case: {case_line(result, kb)}", width, "      "))
    for title, recs in _sections(result, kb):
        if brief and title != ACT_NOW:
            continue
        lines += ["", title.upper()]
        for rec in recs:
            lines.extend(_text_item(rec, result, explain, width))
    if brief:
        plan = result.dose_plan
        if plan is not None:
            lines += [""] + _wrap(f"Dose plan: {_plan_text(plan)}", width)
        lines += ["", "(brief: precautions, monitoring, alternatives and sources without --brief)"]
        return "\n".join(lines) + "\n"
    lines.append("")
    lines.extend(_sources_text(result, kb, width))
    lines += ["", *_wrap(_identity(result), width), *_wrap(kb.disclaimer, width, "")]
    return "\n".join(lines) + "\n"


def _identity(result: Result) -> str:
    engine = " ".join(result.engine.values()) if result.engine else "?"
    return (f"clonus advice: KB {result.kb_name} {result.kb_version} ({result.kb_digest[:19]}), profile "
            f"{result.profile or '?'}, engine {engine}")


def _plan_text(p: DosePlan) -> str:
    limited = f"; limited by {', '.join(p.limited_by)}" if p.limited_by else ""
    return (f"{_num(p.current_daily_mg)} -> {p.next_range} mg/day, ceiling {_num(p.ceiling_daily_mg)} mg/day, "
            f"steps {p.step_range} mg/day every {p.interval_range} h at the soonest; regimen {p.regimen}{limited}")


def _text_item(rec: Recommendation, result: Result, explain: bool, width: int) -> list[str]:
    out = _wrap(f"{_MARK[rec.severity]} {rec.text}", width)
    p = _plan_under(rec, result)
    if p is not None:
        out.extend(_wrap(f"   Dose plan: {_plan_text(p)}", width, "      "))
    out.extend(_wrap(f"   [{rec.code}; rule {rec.rule}; sources {', '.join(rec.sources)}]", width, "    "))
    if explain:
        for reason in rec.because:
            out.extend(_wrap(f"     because {_one_line(reason)}", width, "       "))
    return out


def _plan_under(rec: Recommendation, result: Result) -> DosePlan | None:
    """The dose plan if it is shown under this recommendation: the first one of the rule that made it."""
    plan = result.dose_plan
    if plan and next((r for r in result.recommendations if plan.rule in r.rules), None) is rec:
        return plan
    return None


def _sources_text(result: Result, kb: Kb, width: int) -> list[str]:
    cited = dict.fromkeys(s for r in result.recommendations for s in r.sources)
    lines = ["Sources:"]
    for sid in sorted(cited):
        src = kb.sources[sid]
        lines.extend(_wrap(f"  {sid} [{src.grade}] {src.title}. {src.publisher}{f', {src.year}' if src.year else ''}.",
                           width, "      "))
    lines.append("  (links: --format markdown or json)")
    return lines


def render_trace_text(result: Result) -> list[str]:
    lines = ["", "RULES THAT FIRED (in order)"]
    lines.extend(f"  {i:2}. {line}" for i, line in enumerate(trace_lines(result.trace), 1))
    if result.suppressed:
        lines += ["", "SUPPRESSED (kb.yaml precedence)"]
        lines.extend(f"  {code}, by {by}" for code, by in result.suppressed)
    return lines


def render_json(result: Result) -> str:
    """The contract's JSON (../shared/contract, section 3), indented, one answer per document."""
    return contract_json(result.to_json())


def render_markdown(result: Result, kb: Kb, explain: bool = False) -> str:
    first = decisive(result)
    lines = ["# clonus advice", ""]
    if first is not None:
        lead = "Act now" if first.severity == "critical" else "Next step"
        lines += [f"**{lead}: {first.text}**", ""]
    lines += [f"> **{b.lstrip('! ')}**" for b in _banners(result, kb)]
    lines += (["", f"**Case:** {case_line(result, kb)}", ""] if _banners(result, kb)
              else [f"**Case:** {case_line(result, kb)}", ""])
    for title, recs in _sections(result, kb):
        lines += [f"## {title}", ""]
        for rec in recs:
            badge = {"critical": "**[critical]** ", "warning": "**[warning]** ", "info": ""}[rec.severity]
            lines.append(f"- {badge}{rec.text} `{rec.code}` (rule `{rec.rule}`; {', '.join(rec.sources)})")
            p = _plan_under(rec, result)
            if p is not None:
                lines.append(f"  - Dose plan: {_plan_text(p).replace(' -> ', ' → ')}")
            if explain:
                lines.extend(f"  - because {_one_line(reason)}" for reason in rec.because)
        lines.append("")
    lines += ["## Sources", ""]
    for sid in sorted(dict.fromkeys(s for r in result.recommendations for s in r.sources)):
        src = kb.sources[sid]
        lines.append(f"- **{sid}** ({src.grade}) [{src.title}]({src.url}). {src.publisher}"
                     f"{f', {src.year}' if src.year else ''}.")
    lines += ["", f"*{_identity(result)}*", "", f"*{kb.disclaimer}*", ""]
    return "\n".join(lines)
