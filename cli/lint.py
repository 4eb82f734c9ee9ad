"""`clonus lint`: every finding about a KB, as text, JSON or GitHub annotations; exit code by worst level."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .options import EngineName, KbDir


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def lint(
    kb: KbDir = None,
    format: Annotated[LintFormat, typer.Option("--format", "-f", help="text, json, or github (workflow "
                                               "annotations).")] = LintFormat.text,
    engine: EngineName = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Lint under this dosing profile only "
                                                "(default: under each profile of the KB).",
                                                show_default=False)] = None,
    accept_safety_changes: Annotated[bool, typer.Option(
        "--accept-safety-changes", help="Report a safety section that differs from the approved one as "
        "info, not as an error (once the change is reviewed).")] = False,
) -> None:
    """Check a KB: load problems, unused facts, codes and sources, conditions that can never be true,
    rules that can never fire, overdue reviews, a safety section that differs from the approved one, and
    a search of the fact space at its boundaries (under each dosing profile) for excluded codes that
    appear together and for adults with inadequate relief left without a next step.

    Exit codes: 0 no error-level finding, 1 error-level findings, 2 lint cannot run.
    """
    from clonus.engine.explain import lint as render
    from clonus.engine.workbench.lint import lint as run_lint

    report = run_lint(kb, engine=engine, profile=profile, accept_safety_changes=accept_safety_changes)
    renderer = {LintFormat.text: render.render_text, LintFormat.json: render.render_json,
                LintFormat.github: render.render_github}[format]
    typer.echo(renderer(report), nl=False)
    raise typer.Exit(report.exit_code)
