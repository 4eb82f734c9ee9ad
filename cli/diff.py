"""`clonus diff OLD_KB NEW_KB [CASES...]`: rule changes, and the cases whose recommendations change."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import fail, load_kb_or_exit


class DiffFormat(str, Enum):
    text = "text"
    json = "json"


def diff(
    old_kb: Annotated[Path, typer.Argument(help="The KB folder before the change.", show_default=False)],
    new_kb: Annotated[Path, typer.Argument(help="The KB folder after the change.", show_default=False)],
    cases: Annotated[list[Path] | None, typer.Argument(
        help="Case files or folders of them (default: both KBs' rule test cases and the examples/ folder "
             "beside each KB).", show_default=False)] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.text,
    include_draft: Annotated[bool, typer.Option("--include-draft", help="Run draft and reviewed rules too.")] = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when anything changed (like git diff).")
                         ] = False,
) -> None:
    """Show what a KB change does: rules added, removed, with changed conditions or conclusions; and
    every case whose recommendations change, with the codes gained and lost. Read it before approving.

    Exit codes: 0 (with --exit-code: 0 no change, 1 changes), 2 a KB or a case file cannot be used.
    """
    from clonus.engine.errors import ClonusError
    from clonus.engine.kbdiff import case_changes, case_files, kb_cases, rule_changes

    old, new = load_kb_or_exit(old_kb), load_kb_or_exit(new_kb)
    try:
        named = case_files(cases) if cases else kb_cases(new, old)
        rules = rule_changes(old, new)
        changed, ran = case_changes(old, new, named, include_draft)
    except ClonusError as exc:
        fail(str(exc))
    if format is DiffFormat.json:
        doc = {"old": _identity(old), "new": _identity(new), "rules": [r.to_json() for r in rules],
               "cases_run": ran, "cases_changed": [c.to_json() for c in changed]}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(old, new, rules, changed, ran), nl=False)
    raise typer.Exit(1 if exit_code and (rules or changed) else 0)


def _identity(kb) -> dict:
    return {"root": kb.root, "name": kb.name, "version": kb.version, "digest": kb.digest}


def render_text(old, new, rules, changed, ran) -> str:
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
