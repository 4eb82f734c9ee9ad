"""`clonus lint`: every finding about a KB, as text, JSON or GitHub annotations; exit code by worst level."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import fail


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def lint(
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the shipped KB).",
                                            show_default=False)] = None,
    format: Annotated[LintFormat, typer.Option("--format", "-f", help="text, json, or github (workflow "
                                               "annotations).")] = LintFormat.text,
) -> None:
    """Check a KB: load problems, unused facts, codes and sources, conditions that can never be true,
    rules that can never fire, overdue reviews, and a search of the fact space at its boundaries for
    excluded codes that appear together and for adults with inadequate relief left without a next step.

    Exit codes: 0 no error-level finding, 1 error-level findings, 2 lint cannot run.
    """
    from clonus.engine.errors import ClonusError
    from clonus.engine.lint import lint as run_lint

    try:
        report = run_lint(kb)
    except ClonusError as exc:
        fail(str(exc))
    render = {LintFormat.text: render_text, LintFormat.json: render_json, LintFormat.github: render_github}
    typer.echo(render[format](report), nl=False)
    raise typer.Exit(report.exit_code)


def witness_text(witness) -> str:
    import yaml

    return yaml.safe_dump(witness, default_flow_style=True, sort_keys=False, width=10_000).strip()


def _summary(report) -> list[str]:
    kb = report.kb
    who = f"{kb.name} {kb.version} ({kb.digest[:19]})" if kb else report.root
    counts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}"
                       for s in ("error", "warning", "info") for n in [report.count(s)])
    lines = [f"{who}: {counts}"]
    for label, s in report.searches:
        lines.append(f"space ({label}): {s.facts} facts, {s.full_size:,} cases at the boundaries; "
                     f"{s.evaluated:,} evaluated after pruning by independence ({s.questions} questions; "
                     f"{s.proved} rule pairs never together by their conditions), in {s.seconds:.1f} s")
    return lines


def render_text(report) -> str:
    lines = []
    for f in report.findings:
        rule = f"{f.rule}: " if f.rule else ""
        lines.append(f"{f.file}:{f.line}: {f.severity}: {f.code} {f.name}: {rule}{f.message}")
        if f.witness is not None:
            lines.append(f"    witness: {witness_text(f.witness)}")
    if lines:
        lines.append("")
    return "\n".join(lines + _summary(report)) + "\n"


def render_json(report) -> str:
    kb = report.kb
    doc = {
        "kb": {"root": report.root, "name": kb.name, "version": kb.version, "digest": kb.digest} if kb
        else {"root": report.root},
        "findings": [f.to_json() for f in report.findings],
        "summary": {s: report.count(s) for s in ("error", "warning", "info")},
        "space": [{"configuration": label, "facts": s.facts, "full_size": s.full_size, "evaluated": s.evaluated,
                   "questions": s.questions, "proved": s.proved, "seconds": round(s.seconds, 3)}
                  for label, s in report.searches],
        "exit_code": report.exit_code,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape(text: str, for_property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if for_property else text


def render_github(report) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then the summary as a notice."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in report.findings:
        message = (f"{f.rule}: " if f.rule else "") + f.message
        if f.witness is not None:
            message += f"\nwitness: {witness_text(f.witness)}"
        lines.append(f"::{level[f.severity]} file={_escape(f.file, True)},line={f.line},"
                     f"title={_escape(f'{f.code} {f.name}', True)}::{_escape(message)}")
    lines.append(f"::notice title=clonus lint::{_escape(chr(10).join(_summary(report)))}")
    return "\n".join(lines) + "\n"
