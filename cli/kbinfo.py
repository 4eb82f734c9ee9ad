"""`clonus kb`: the KB's identity (name, version, digest), its size by kind and status, reviews due."""

from __future__ import annotations

import json
from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import load_kb_or_exit


class KbFormat(str, Enum):
    text = "text"
    json = "json"


def kb_info(
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the shipped KB).",
                                            show_default=False)] = None,
    within: Annotated[int, typer.Option("--within", min=0, help="Also list rules due for review within DAYS.")] = 30,
    format: Annotated[KbFormat, typer.Option("--format", "-f", help="Output format.")] = KbFormat.text,
) -> None:
    """Print the KB's name, version and content digest (the digest every advice carries), counts of
    facts, codes, sources, rules (by status), rule tests and exclusions, and the rules due for review.

    Exit codes: 0, 2 the KB cannot be loaded.
    """
    knowledge = load_kb_or_exit(kb)
    info = summary(knowledge, date.today(), within)
    if format is KbFormat.json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(info), nl=False)


def summary(knowledge, today: date, within: int) -> dict:
    from clonus.engine.model import STATUSES

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
        "root": knowledge.root, "digest": knowledge.digest,
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


def render_text(info: dict) -> str:
    c = info["counts"]
    rules = c["rules"]
    lines = [
        f"{info['name']} {info['version']}",
        f"  {info['description']}" if info["description"] else "",
        f"  folder:  {info['root']}",
        f"  digest:  {info['digest']}",
        "",
        f"facts:       {c['facts']['input'] + c['facts']['derived']} ({c['facts']['input']} input, "
        f"{c['facts']['derived']} derived)",
        f"codes:       {c['codes']} in {c['categories']} categories",
        f"sources:     {c['sources']}",
        f"rules:       {sum(rules.values())} (" + ", ".join(f"{n} {s}" for s, n in rules.items()) + ")",
        f"rule tests:  {c['rule_tests']}",
        f"exclusions:  {c['exclusions']}",
        "",
    ]
    review = info["review"]
    overdue = [d for d in review["due"] if d["overdue"]]
    lines.append(f"review (today {review['today']}): {len(overdue)} overdue, "
                 f"{len(review['due']) - len(overdue)} due within {review['within_days']} days, "
                 f"{len(review['without_review_by'])} without a review_by date")
    for d in review["due"]:
        state = "OVERDUE" if d["overdue"] else "due"
        lines.append(f"  {d['file']}:{d['line']}: {d['rule']}: {state} {d['review_by']}")
    for rid in review["without_review_by"]:
        lines.append(f"  {rid}: no review_by date")
    return "\n".join(line for line in lines if line is not None) + "\n"
