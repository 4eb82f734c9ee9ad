"""`clonus explain CASE [--why CODE] [--why-not CODE]`: the chain of firings behind a code, or why it is absent."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, KbDir, ProfileName, load_kb, read_case_data


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


def explain(
    case_file: Annotated[str, typer.Argument(metavar="CASE_FILE",
                                             help="Case file (YAML or JSON); '-' reads standard input.")],
    why: Annotated[list[str] | None, typer.Option("--why", metavar="CODE", show_default=False,
                                                  help="Explain why this code was recommended (repeatable).")] = None,
    why_not: Annotated[list[str] | None, typer.Option(
        "--why-not", metavar="CODE", show_default=False,
        help="Explain why this code was not recommended (repeatable).")] = None,
    format: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format.")] = ExplainFormat.text,
    kb: KbDir = None,
    include_draft: IncludeDraft = False,
    engine: EngineName = None,
    profile: ProfileName = None,
) -> None:
    """Explain one case. --why CODE: the firings, facts and sources that led to the code. --why-not CODE:
    for each rule that could have made it, the first condition that failed and the value it saw,
    following derived facts back to their own failing condition. Without either, explains every
    recommendation.

    Exit codes: 0 explained; 1 a --why code was not recommended or a --why-not code was (the other
    explanation is shown instead); 2 unusable case or unknown code.
    """
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.errors import UsageError, shown
    from clonus.engine.explain.whynot import explain_codes, render_text
    from clonus.engine.intake.case import parse_case
    from clonus.engine.suggest import did_you_mean

    knowledge = load_kb(kb, profile)
    for code in (why or []) + (why_not or []):
        if code not in knowledge.codes:
            raise UsageError(f"unknown code {shown(code)}{did_you_mean(code, knowledge.codes)}; see kb/codes.yaml")
    case = parse_case(knowledge, read_case_data(case_file))
    with Advisor(knowledge, include_draft=include_draft, engine=engine) as advisor:
        got = advisor.answer(case)
        asked = [(c, True) for c in why or []] + [(c, False) for c in why_not or []]
        if not asked:
            asked = [(c, True) for c in got.codes]
        sections, premise_ok = explain_codes(knowledge, advisor.plan, case, got, asked)
        safety = advisor.safety_changes
    if format is ExplainFormat.json:
        doc = {"case": case_file, "kb": {"name": knowledge.name, "version": knowledge.version,
                                         "digest": knowledge.digest,
                                         "profile": knowledge.profile.name, "safety_modified": bool(safety),
                                         "safety_changes": list(safety)},
               "codes": list(got.codes), "refused": got.refused, "explanations": sections}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(knowledge, case_file, got, sections, safety), nl=False)
    raise typer.Exit(0 if premise_ok else 1)
