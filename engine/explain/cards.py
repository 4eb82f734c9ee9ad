"""A recommendation in the words a decision-support card shows: a one-line summary under 140 characters
and a Markdown detail with the advice, the facts behind it, the rules' rationale and the sources.
Pure functions of the KB and a Result; the service builds its cards from them."""

from __future__ import annotations

import re

from clonus.engine.decide.result import Recommendation, Result
from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.wording import number_text

SUMMARY_LIMIT = 139  # CDS Hooks: a summary is under 140 characters


def summary(rec: Recommendation) -> str:
    """The advice's text if it fits; else without its asides in parentheses; else its longest first
    sentences or clauses that fit, never cut inside parentheses; else its title."""
    text = " ".join(rec.text.split())
    if len(text) <= SUMMARY_LIMIT:
        return text
    plain = re.sub(r"\s*\([^()]*\)", "", text)
    if len(plain) <= SUMMARY_LIMIT:
        return plain
    candidate = ""
    for end in re.finditer(r"[.;:](?=\s)", text):
        if end.start() + 1 > SUMMARY_LIMIT:
            break
        head = text[:end.start()]
        if head.count("(") == head.count(")"):
            candidate = head + "."
    if candidate and len(candidate) > len(rec.title):
        return candidate
    return rec.title if len(rec.title) <= SUMMARY_LIMIT else rec.title[:SUMMARY_LIMIT - 1] + "…"


def carries_dose_plan(result: Result, rec: Recommendation) -> bool:
    """Whether the dose plan goes with this recommendation: the first made by the rule that made the plan."""
    plan = result.dose_plan
    return plan is not None and next((r for r in result.recommendations if plan.rule in r.rules), None) is rec


def detail_markdown(kb: Kb, result: Result, rec: Recommendation) -> str:
    """GitHub-flavoured Markdown: the advice, the dose plan under it, why (facts), rationale, sources."""
    lines = [rec.text, ""]
    plan = result.dose_plan
    if plan is not None and carries_dose_plan(result, rec):
        lines += [f"**Dose plan:** {number_text(plan.current_daily_mg)} → {number_text(plan.next_min_mg)}–"
                  f"{number_text(plan.next_max_mg)} mg/day (ceiling {number_text(plan.ceiling_daily_mg)} mg/day); "
                  f"{plan.regimen}.", ""]
    if rec.because:
        lines += ["**Because**", ""] + [f"- {reason}" for reason in rec.because] + [""]
    rationale = [kb.rule(rule_id).rationale.strip() for rule_id in rec.rules]
    lines += ["**Rationale**", ""] + [f"- {' '.join(text.split())} (rule `{rule_id}`)"
                                      for text, rule_id in zip(rationale, rec.rules, strict=True)] + [""]
    lines += ["**Sources**", ""]
    for sid in rec.sources:
        src = kb.sources[sid]
        year = f", {src.year}" if src.year else ""
        lines.append(f"- [{src.title}]({src.url}). {src.publisher}{year}. Grade {src.grade}.")
    lines += ["", f"*{kb.name} {kb.version} ({kb.digest}), profile {result.profile or kb.profile.name}. "
              f"{kb.disclaimer}*"]
    return "\n".join(lines)
