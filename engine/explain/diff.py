"""What a KB change does, for a reviewer (text) and for machines (JSON)."""

from __future__ import annotations

from typing import Any

from clonus.engine.knowledge.model import Kb
from clonus.engine.workbench.kbdiff import CaseChange, RuleChange

EXAMPLES = 3  # dose plan changes quoted in the summary; every changed case is listed below it


def identity(kb: Kb) -> dict:
    return {"root": kb.root, "name": kb.name, "version": kb.version, "digest": kb.digest,
            "profile": kb.profile.name}


def render_text(old: Kb, new: Kb, rules: list[RuleChange], changed: list[CaseChange], ran: int,
                parameters: tuple[str, ...] = ()) -> str:
    lines = [f"clonus diff {old.root} ({old.version}, {old.digest[:19]}, profile {old.profile.name}) -> "
             f"{new.root} ({new.version}, {new.digest[:19]}, profile {new.profile.name})", ""]
    if parameters:
        lines.append(f"PARAMETERS: {len(parameters)} changed")
        lines.extend(f"  {p}" for p in parameters)
        lines.append("")
    lines.extend(_rules(rules))
    lines.append("")
    lines.extend(_cases(changed, ran))
    return "\n".join(lines) + "\n"


def _rules(rules: list[RuleChange]) -> list[str]:
    kinds = {k: sum(1 for r in rules if r.kind == k) for k in ("changed", "added", "removed")}
    lines = [f"RULES: {kinds['changed']} changed, {kinds['added']} added, {kinds['removed']} removed"]
    for r in rules:
        mark = {"changed": "~", "added": "+", "removed": "-"}[r.kind]
        lines.append(f"  {mark} {r.rule}  ({r.file}:{r.line})")
        if r.version_not_bumped:
            lines.append("      !! conditions or conclusions changed but the version was not raised")
        for title, items in (("conditions", r.conditions), ("conclusions", r.conclusions), ("metadata", r.metadata)):
            if items:
                lines.append(f"      {title}:")
                lines.extend(f"        {item}" for item in items)
    return lines


def _cases(changed: list[CaseChange], ran: int) -> list[str]:
    codes = sum(1 for c in changed if c.codes_changed)
    plans = [c for c in changed if c.dose_plan]
    wording = sum(1 for c in changed if c.wording)
    lines = [f"CASES: {len(changed)} of {ran} change their answer: {codes} their recommendations, "
             f"{len(plans)} their dose plan, {wording} the wording of a recommendation they keep"]
    if plans:
        lines.append(f"DOSE PLANS: {len(plans)} of {ran} cases change their dose plan, for example:")
        lines.extend(f"  {c.name}: {'; '.join(c.dose_plan)}" for c in plans[:EXAMPLES])
    if changed:
        lines.append("")
    for c in changed:
        lines.append(f"  {c.name}  ({c.where})")
        if c.old_error != c.new_error:
            lines.append(f"      before: {c.old_error or 'answered'}")
            lines.append(f"      after:  {c.new_error or 'answered'}")
        if c.gained:
            lines.append(f"      gained: {', '.join(c.gained)}")
        if c.lost:
            lines.append(f"      lost:   {', '.join(c.lost)}")
        if c.dose_plan:
            lines.append("      dose plan:")
            lines.extend(f"        {item}" for item in c.dose_plan)
        for code, before, after in c.wording:
            lines.append(f"      wording of {code}:")
            lines.append(f"        - {before}")
            lines.append(f"        + {after}")
    return lines


def render_json(old: Kb, new: Kb, rules: list[RuleChange], changed: list[CaseChange], ran: int,
                parameters: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"old": identity(old), "new": identity(new), "parameters": list(parameters),
            "rules": [r.to_json() for r in rules], "cases_run": ran,
            "cases_changed": [c.to_json() for c in changed],
            "counts": {"cases_changed": len(changed), "codes": sum(1 for c in changed if c.codes_changed),
                       "dose_plans": sum(1 for c in changed if c.dose_plan),
                       "wording": sum(1 for c in changed if c.wording)}}
