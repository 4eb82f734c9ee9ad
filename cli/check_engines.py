"""`clonus check-engines`: answer the KB's cases on both rule engines and report every case that differs."""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .options import IncludeDraft, KbDir, ProfileName, load_kb


class CheckFormat(str, Enum):
    text = "text"
    json = "json"


def check_engines(
    cases: Annotated[int, typer.Option("--cases", min=0, metavar="N",
                                       help="Generated cases to compare, beside the KB's own.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed of the generated cases.")] = 0,
    kb: KbDir = None,
    include_draft: IncludeDraft = False,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", file_okay=False,
                                      help="Folder for the case files of the cases that differ.")
                   ] = Path("engine-differences"),
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.text,
    profile: ProfileName = None,
) -> None:
    """Answer the example cases (examples/ beside the --kb folder), every rule test case, the lint search's
    boundary cases and N generated cases with durable_rules and with CLIPS, and report every case whose
    answers differ (recommendations, their order, reasons, dose plan, facts or trace: all but the engine's
    name). Each differing case is written to --out as a case file, to rerun with `clonus advise FILE
    --engine NAME`.

    Exit codes: 0 no case differs, 1 some case differs, 2 the KB cannot be loaded or an engine cannot run
    here.
    """
    from clonus.engine.decide.backend import ENGINES, load_backend
    from clonus.engine.errors import OutputError, UsageError, shown
    from clonus.engine.explain.enginecheck import render_json, render_text
    from clonus.engine.workbench.enginecheck import compare_engines

    first, second = ENGINES[:2]
    for name in (first, second):
        reason = load_backend(name).available()
        if reason is not None:
            raise UsageError(f"check-engines compares {first} and {second}: {name} cannot run here ({reason})")
    knowledge = load_kb(kb, profile)
    comparison = compare_engines(knowledge, first, second, generated=cases, seed=seed, include_draft=include_draft)
    written = {}
    if comparison.differences:
        try:
            written = _write(out, comparison)
        except OSError as exc:
            error = OutputError(f"--out: cannot write the differing cases to {shown(str(out))} ({exc.strerror or exc})")
            error.exit_code = 2
            raise error from exc
    if format is CheckFormat.json:
        typer.echo(json.dumps(render_json(knowledge, comparison, written), indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(knowledge, comparison, written), nl=False)
    raise typer.Exit(1 if comparison.differences else 0)


def _write(out: Path, comparison) -> dict[str, str]:
    """Each differing case as a case file in `out`; case name -> the file's path."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    first, second = (e["name"] for e in comparison.engines)
    written = {}
    for diff in comparison.differences:
        path = out / (re.sub(r"[^A-Za-z0-9_.-]+", "-", diff.case.name).strip("-") + ".yaml")
        header = (f"# clonus check-engines: {first} and {second} answer this case differently, first at "
                  f"{diff.path}\n# from {diff.source}: {diff.case.where}\n")
        path.write_text(header + yaml.safe_dump(dict(diff.case.data), sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
        written[diff.case.name] = str(path)
    return written
