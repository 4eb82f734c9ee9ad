"""`clonus explain CASE [--why CODE] [--why-not CODE]`: the chain of firings behind a code, or why it is absent."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import fail, load_kb_or_exit, read_text_arg


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


def explain(
    case_file: Annotated[str, typer.Argument(help="Case file (YAML or JSON); '-' reads standard input.")],
    why: Annotated[list[str] | None, typer.Option("--why", help="Explain why this code was recommended "
                                                  "(repeatable).", show_default=False)] = None,
    why_not: Annotated[list[str] | None, typer.Option("--why-not", help="Explain why this code was not "
                                                      "recommended (repeatable).", show_default=False)] = None,
    format: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format.")] = ExplainFormat.text,
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the shipped KB).",
                                            show_default=False)] = None,
    include_draft: Annotated[bool, typer.Option("--include-draft", help="Also run draft and reviewed rules.")] = False,
) -> None:
    """Explain one case. --why CODE: the firings, facts and sources that led to the code. --why-not CODE:
    for each rule that could have made it, the first condition that failed and the value it saw,
    following derived facts back to their own failing condition. Without either, explains every
    recommendation.

    Exit codes: 0 explained; 1 a --why code was not recommended or a --why-not code was (the other
    explanation is shown instead); 2 unusable case or unknown code.
    """
    from clonus.engine.advice import Advisor
    from clonus.engine.errors import CaseError, ClonusError
    from clonus.engine.intake import parse_case, read_case_text
    from clonus.engine.loader import suggest
    from clonus.engine.whynot import answer

    knowledge = load_kb_or_exit(kb)
    for code in (why or []) + (why_not or []):
        if code not in knowledge.codes:
            fail(f"unknown code {code!r}{suggest(code, knowledge.codes)}; see kb/codes.yaml")
    try:
        case = parse_case(knowledge, read_case_text(read_text_arg(case_file), "case file"))
        with Advisor(knowledge, include_draft=include_draft) as advisor:
            got = answer(advisor, case)
            asked = [(c, True) for c in why or []] + [(c, False) for c in why_not or []]
            if not asked:
                asked = [(c, True) for c in got.codes]
            sections, premise_ok = _sections(knowledge, advisor.plan, case, got, asked)
    except CaseError as exc:
        fail(str(exc))
    except ClonusError as exc:
        fail(f"{type(exc).__name__}: {exc}", code=1)
    if format is ExplainFormat.json:
        doc = {"case": case_file, "kb": {"name": knowledge.name, "version": knowledge.version,
                                         "digest": knowledge.digest},
               "codes": list(got.codes), "refused": got.refused, "explanations": sections}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(knowledge, case_file, got, sections), nl=False)
    raise typer.Exit(0 if premise_ok else 1)


def _sections(knowledge, plan, case, got, asked):
    from clonus.engine.whynot import why as why_chains
    from clonus.engine.whynot import why_not as why_not_chains

    sections, premise_ok = [], True
    for code, want_why in asked:
        made = code in got.codes
        premise_ok = premise_ok and made == want_why
        explain_code = why_chains if made else why_not_chains
        chains = explain_code(knowledge, plan, case, got, code)
        sections.append({"code": code, "title": knowledge.codes[code].title, "asked": "why" if want_why else "why-not",
                         "recommended": made, "chains": [c.to_json() for c in chains]})
    return sections, premise_ok


def render_text(knowledge, case_file: str, got, sections) -> str:
    lines = [f"clonus explain {case_file}  (KB {knowledge.name} {knowledge.version}, {knowledge.digest[:19]})"]
    if got.refused:
        lines.append(f"!! the runtime refuses this answer: {got.refused}")
    for section in sections:
        lines.append("")
        verdict = "recommended" if section["recommended"] else "not recommended"
        if section["asked"] == "why" and not section["recommended"]:
            verdict += " (you asked why; here is why not)"
        if section["asked"] == "why-not" and section["recommended"]:
            verdict += " (you asked why not; here is why)"
        lines.append(f"{section['code']} ({section['title']}): {verdict}")
        if not section["chains"]:
            lines.append("  no rule recommends this code")
        for chain in section["chains"]:
            lines.extend(_chain_lines(chain, "  "))
        cited = sorted({s for chain in section["chains"] for s in _sources(chain)})
        if section["recommended"] and cited:
            lines.append("  sources:")
            lines.extend(f"    {sid} [{knowledge.sources[sid].grade}] {knowledge.sources[sid].title}" for sid in cited)
    return "\n".join(lines) + "\n"


def _sources(chain) -> set[str]:
    found = set(chain["sources"]) if chain["fired"] else set()
    for seen in chain["conditions"]:
        for sub in seen["behind"]:
            found |= _sources(sub)
    return found


def _chain_lines(chain, indent: str) -> list[str]:
    state = "fired" if chain["fired"] else "did not fire"
    lines = [f"{indent}{chain['rule']} {state}: {chain['title']}  ({chain['file']}:{chain['line']}; "
             f"sources {', '.join(chain['sources'])})"]
    if chain["note"]:
        lines.append(f"{indent}  {chain['note']}")
    for seen in chain["conditions"]:
        mark = {True: "yes", False: "no", None: "unknown"}[seen["holds"]]
        lines.append(f"{indent}  {mark:>7}  {seen['condition']}  [{_fact(seen)}: {seen['value']}]  line {seen['line']}")
        for sub in seen["behind"]:
            lines.extend(_chain_lines(sub, indent + "           "))
    return lines


def _fact(seen) -> str:
    words = seen["condition"].split()
    return words[1] if words[0] in ("not", "missing", "known") and len(words) == 2 else words[0]
