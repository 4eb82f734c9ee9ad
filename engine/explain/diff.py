"""What a KB change does, for a reviewer (text) and for machines (JSON)."""

from __future__ import annotations

from typing import Any

from clonus.engine.knowledge.model import Kb
from clonus.engine.workbench.kbdiff import CaseChange, RuleChange


def identity(kb: Kb) -> dict:
    return {"root": kb.root, "name": kb.name, "version": kb.version, "digest": kb.digest}


def render_text(old: Kb, new: Kb, rules: list[RuleChange], changed: list[CaseChange], ran: int) -> str:
    lines = [f"clonus diff {old.root} ({old.version}, {old.digest[:19]}) -> "
             f"{new.root} ({new.version}, {new.digest[:19]})", ""]
    kinds = {k: sum(1 for r in rules if r.kind == k) for k in ("changed", "added", "removed")}
    lines.append(f"RULES: {kinds['changed']} changed, {kinds['added']} added, {kinds['removed']} removed")
    for r in rules:
        mark = {"changed": "~", "added": "+", "removed": "-"}[r.kind]
        lines.append(f"  {mark} {r.rule}  ({r.file}:{r.line})")
        if r.version_not_bumped:
            lines.append("      !! conditions or conclusions changed but the version was not raised")
        for title, items in (("conditions", r.conditions), ("conclusions", r.conclusions), ("metadata", r.metadata)):
            if items:
                lines.append(f"      {title}:")
                lines.extend(f"        {item}" for item in items)
    lines.append("")
    lines.append(f"CASES: {len(changed)} of {ran} change their recommendations")
    for c in changed:
        lines.append(f"  {c.name}  ({c.where})")
        if c.old_error != c.new_error:
            lines.append(f"      before: {c.old_error or 'answered'}")
            lines.append(f"      after:  {c.new_error or 'answered'}")
        if c.gained:
            lines.append(f"      gained: {', '.join(c.gained)}")
        if c.lost:
            lines.append(f"      lost:   {', '.join(c.lost)}")
    return "\n".join(lines) + "\n"


def render_json(old: Kb, new: Kb, rules: list[RuleChange], changed: list[CaseChange], ran: int) -> dict[str, Any]:
    return {"old": identity(old), "new": identity(new), "rules": [r.to_json() for r in rules],
            "cases_run": ran, "cases_changed": [c.to_json() for c in changed]}
