"""What `clonus kb` reports: the KB's identity, its size by kind and status, and the rules due for review."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from clonus.engine.decide.backend import ENGINES, load_backend
from clonus.engine.knowledge.load import load_kb
from clonus.engine.knowledge.model import STATUSES, Kb


def software() -> dict[str, Any]:
    """The version of clonus and of each rule engine it ships (or why it cannot run here)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        clonus = version("clonus")
    except PackageNotFoundError:
        clonus = "not installed"
    engines = {}
    for name in ENGINES:
        backend = load_backend(name)
        reason = backend.available()
        engines[name] = {"version": backend.version(), "available": reason is None, "reason": reason}
    return {"clonus": clonus, "engines": engines}


def profiles(knowledge: Kb) -> list[dict[str, Any]]:
    """Each profile of the KB: its name, title, file, whether it is the one bound, and its ceilings (the
    safety section's maximum daily dose per drug, bound to that profile)."""
    out = []
    for name in knowledge.profiles:
        bound = knowledge if name == knowledge.profile.name else load_kb(knowledge.root, name)
        out.append({"name": name, "title": bound.profile.title, "file": bound.profile.file,
                    "bound": name == knowledge.profile.name,
                    "max_daily_mg": dict(bound.invariants.max_daily_mg)})
    return out


def summary(knowledge: Kb, today: date, within: int) -> dict[str, Any]:
    facts = list(knowledge.facts.values())
    horizon = today + timedelta(days=within)
    due, undated = [], []
    for rule in knowledge.rules:
        if rule.review_by is None:
            undated.append(rule.id)
        elif date.fromisoformat(rule.review_by) <= horizon:
            by = date.fromisoformat(rule.review_by)
            due.append({"rule": rule.id, "review_by": rule.review_by, "overdue": by < today,
                        "file": rule.file, "line": rule.line})
    return {
        "name": knowledge.name, "version": knowledge.version, "description": knowledge.description,
        "root": knowledge.root, "digest": knowledge.digest, "software": software(),
        "profile": knowledge.profile.name, "profiles": profiles(knowledge),
        "counts": {
            "facts": {"input": sum(1 for f in facts if f.origin == "input"),
                      "derived": sum(1 for f in facts if f.origin == "derived")},
            "codes": len(knowledge.codes), "categories": len(knowledge.categories),
            "sources": len(knowledge.sources),
            "rules": {status: sum(1 for r in knowledge.rules if r.status == status) for status in STATUSES},
            "rule_tests": len(knowledge.tests), "exclusions": len(knowledge.exclusions),
        },
        "review": {"today": today.isoformat(), "within_days": within,
                   "due": sorted(due, key=lambda d: d["review_by"]), "without_review_by": undated},
    }
