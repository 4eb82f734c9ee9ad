"""Render a Result for people: text a clinician takes in at a glance, and Markdown. Pure functions."""

from __future__ import annotations

import json

from clonus.engine.decide.doseplan import DosePlan
from clonus.engine.decide.result import Recommendation, Result
from clonus.engine.explain.trace import trace_lines
from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.wording import SLOT_RE
from clonus.engine.knowledge.wording import number_text as _num

_MARK = {"critical": "!!", "warning": "! ", "info": "- "}


def _sections(result: Result, kb: Kb):
    """The KB's sections (kb.yaml vocabulary), in reading order, each with its recommendations."""
    for title, categories in kb.vocabulary.sections:
        recs = sorted((r for r in result.recommendations if r.category in categories),
                      key=lambda r: categories.index(r.category))  # stable: KB order within a category
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
        return ", ".join(value) or "none"
    return _num(value)


def render_text(result: Result, kb: Kb, explain: bool = False) -> str:
    lines = [f"clonus advice  (KB {result.kb_name} {result.kb_version}, {result.kb_digest[:19]})"]
    if result.draft_rules_fired or result.include_draft:
        lines.append("!! DRAFT KNOWLEDGE INCLUDED: rules not yet approved may have produced this advice "
                     f"({', '.join(result.draft_rules_fired) or 'none fired'}).")
    lines.append(f"Case: {case_line(result, kb)}")
    if result.missing:
        lines.append(f"!! Missing: {', '.join(result.missing)}: no dosing advice until it is given.")
    for title, recs in _sections(result, kb):
        lines.append("")
        lines.append(title.upper())
        for rec in recs:
            lines.extend(_text_item(rec, result, explain))
    lines.append("")
    lines.extend(_sources_text(result, kb))
    lines.append("")
    lines.append(kb.disclaimer)
    return "\n".join(lines) + "\n"


def _text_item(rec: Recommendation, result: Result, explain: bool) -> list[str]:
    out = [f"{_MARK[rec.severity]} {rec.text}"]
    p = _plan_under(rec, result)
    if p is not None:
        limited = (f"; steps limited to {_num(p.step_max_mg)} mg/day by {', '.join(p.limited_by)}"
                   if p.limited_by else "")
        out.append(f"   Dose plan: {_num(p.current_daily_mg)} -> {_num(p.next_min_mg)}-{_num(p.next_max_mg)} mg/day, "
                   f"ceiling {_num(p.ceiling_daily_mg)} mg/day; regimen {p.regimen}{limited}")
    out.append(f"   [{rec.code}; rule {rec.rule}; sources {', '.join(rec.sources)}]")
    if explain:
        for reason in rec.because:
            out.append(f"     because {reason}")
    return out


def _plan_under(rec: Recommendation, result: Result) -> DosePlan | None:
    """The dose plan if it is shown under this recommendation: the first one of the rule that made it."""
    plan = result.dose_plan
    if plan and next((r for r in result.recommendations if plan.rule in r.rules), None) is rec:
        return plan
    return None


def _sources_text(result: Result, kb: Kb) -> list[str]:
    cited = dict.fromkeys(s for r in result.recommendations for s in r.sources)
    lines = ["Sources:"]
    for sid in sorted(cited):
        src = kb.sources[sid]
        lines.append(f"  {sid} [{src.grade}] {src.title}. {src.publisher}{f', {src.year}' if src.year else ''}.")
    lines.append("  (links: --format markdown or json)")
    return lines


def render_trace_text(result: Result) -> list[str]:
    lines = ["", "RULES THAT FIRED (in order)"]
    lines.extend(f"  {i:2}. {line}" for i, line in enumerate(trace_lines(result.trace), 1))
    return lines


def render_json(result: Result) -> str:
    """The contract's JSON (../shared/contract, section 3), indented, one answer per document."""
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"


def render_markdown(result: Result, kb: Kb, explain: bool = False) -> str:
    lines = ["# clonus advice", "", f"*KB {result.kb_name} {result.kb_version} ({result.kb_digest})*", ""]
    if result.draft_rules_fired or result.include_draft:
        lines += ["> **Draft knowledge included**: rules not yet approved may have produced this advice.", ""]
    lines += [f"**Case:** {case_line(result, kb)}", ""]
    if result.missing:
        lines += [f"> **Missing:** {', '.join(result.missing)}. No dosing advice until it is given.", ""]
    for title, recs in _sections(result, kb):
        lines += [f"## {title}", ""]
        for rec in recs:
            badge = {"critical": "**[critical]** ", "warning": "**[warning]** ", "info": ""}[rec.severity]
            lines.append(f"- {badge}{rec.text} `{rec.code}` (rule `{rec.rule}`; {', '.join(rec.sources)})")
            p = _plan_under(rec, result)
            if p is not None:
                lines.append(f"  - Dose plan: {_num(p.current_daily_mg)} → {_num(p.next_min_mg)}–{_num(p.next_max_mg)} "
                             f"mg/day (ceiling {_num(p.ceiling_daily_mg)} mg/day); {p.regimen}")
            if explain:
                lines.extend(f"  - because {reason}" for reason in rec.because)
        lines.append("")
    lines += ["## Sources", ""]
    for sid in sorted(dict.fromkeys(s for r in result.recommendations for s in r.sources)):
        src = kb.sources[sid]
        lines.append(f"- **{sid}** ({src.grade}) [{src.title}]({src.url}). {src.publisher}"
                     f"{f', {src.year}' if src.year else ''}.")
    lines += ["", f"*{kb.disclaimer}*", ""]
    return "\n".join(lines)
