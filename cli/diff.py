"""`clonus diff OLD_KB NEW_KB [CASES...]`: parameter and rule changes, and the cases whose answer changes
(codes, dose plan, wording). `--profile` binds both KBs to a profile; given twice, the old KB to the first
and the new to the second, so `clonus diff kb kb --profile us --profile uk` compares two profiles."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, load_kb


class DiffFormat(str, Enum):
    text = "text"
    json = "json"


def diff(
    old_kb: Annotated[Path, typer.Argument(metavar="OLD_KB", help="The KB folder before the change.",
                                           show_default=False)],
    new_kb: Annotated[Path, typer.Argument(metavar="NEW_KB", help="The KB folder after the change.",
                                           show_default=False)],
    cases: Annotated[list[Path] | None, typer.Argument(
        metavar="[CASES]...", show_default=False,
        help="Case files or folders of them (default: both KBs' rule test cases and the examples/ folder "
             "beside each KB).")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.text,
    include_draft: IncludeDraft = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when anything changed (like git diff).")
                         ] = False,
    engine: EngineName = None,
    cohort: Annotated[Path | None, typer.Option(
        "--cases", metavar="COHORT", show_default=False,
        help="Run a cohort file through both KBs (.jsonl, .csv or .parquet, as `clonus batch` reads it) "
             "instead of case files.")] = None,
    profile: Annotated[list[str] | None, typer.Option(
        "--profile", metavar="NAME", show_default=False,
        help="Bind both KBs to this jurisdiction profile (default: each KB's own); given twice, OLD_KB to the "
             "first and NEW_KB to the second (`clonus diff kb kb --profile us --profile uk`).")] = None,
) -> None:
    """Show what a KB change does: parameters changed; rules added, removed, with changed conditions or
    conclusions; and every case whose answer changes: the codes gained and lost, the dose plan's fields
    (range, ceiling, regimen, step, interval, what limited it) and the wording of recommendations kept,
    with a count of the cases whose dose plan changes. Read it before approving.

    Exit codes: 0 (with --exit-code: 0 no change, 1 changes), 2 a KB or a case file cannot be used.
    """
    from clonus.engine.errors import UsageError
    from clonus.engine.explain.diff import render_json, render_text
    from clonus.engine.workbench.kbdiff import case_changes, case_files, kb_cases, parameter_changes, rule_changes

    profiles = profile or []
    if len(profiles) > 2:
        raise UsageError(f"--profile: given {len(profiles)} times; give it once (both KBs) or twice (old, new)")
    old_profile, new_profile = (profiles + profiles)[:2] if profiles else (None, None)
    old, new = load_kb(old_kb, old_profile, option="OLD_KB"), load_kb(new_kb, new_profile, option="NEW_KB")
    named = _cohort_cases(cohort, new) if cohort else case_files(cases) if cases else kb_cases(new, old)
    rules = rule_changes(old, new)
    parameters = parameter_changes(old, new)
    changed, ran = case_changes(old, new, named, include_draft, engine=engine)
    if format is DiffFormat.json:
        doc = render_json(old, new, rules, changed, ran, parameters)
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(old, new, rules, changed, ran, parameters), nl=False)
    raise typer.Exit(1 if exit_code and (rules or changed or parameters) else 0)


def _cohort_cases(path: Path, kb):
    """A cohort's rows as named cases, streamed (a row that cannot be read is the same under both KBs)."""
    from clonus.engine.cohort.formats import read_rows
    from clonus.engine.workbench.kbdiff import NamedCase

    for raw in read_rows(path, kb):
        if raw.data is not None:
            yield NamedCase(str(raw.id) if raw.id is not None else f"row {raw.index}", f"{path}:{raw.index}",
                            raw.data)
