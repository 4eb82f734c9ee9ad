"""`clonus advise`: one case (file, stdin or flags) in, advice out as text, JSON or Markdown."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import fail, load_kb_or_exit, read_text_arg


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


_P = "Patient"
_M = "Medication"
_R = "Response"


def advise(
    case_file: Annotated[str | None, typer.Argument(
        help="Case file (YAML or JSON); '-' reads standard input. Flags below override its fields.",
        show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the shipped KB).",
                                            show_default=False)] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show why: the facts behind each recommendation "
                                          "and every rule that fired, in order.")] = False,
    include_draft: Annotated[bool, typer.Option("--include-draft", help="Also run draft and reviewed rules "
                                                "(the output says so).")] = False,
    age: Annotated[str | None, typer.Option(help="Age in years.", rich_help_panel=_P)] = None,
    condition: Annotated[str | None, typer.Option(help="Underlying condition (free text).", rich_help_panel=_P)] = None,
    spasticity: Annotated[str | None, typer.Option(help="focal | generalized", rich_help_panel=_P)] = None,
    respiratory_compromise: Annotated[bool | None, typer.Option(
        "--respiratory-compromise/--no-respiratory-compromise", show_default=False, rich_help_panel=_P)] = None,
    sleep_apnea: Annotated[str | None, typer.Option(help="none_known | suspected | untreated | treated",
                                                    rich_help_panel=_P)] = None,
    stroke: Annotated[bool | None, typer.Option("--stroke/--no-stroke", help="Spasticity after a stroke.",
                                                show_default=False, rich_help_panel=_P)] = None,
    egfr: Annotated[str | None, typer.Option(help="eGFR, mL/min/1.73 m2.", rich_help_panel=_P)] = None,
    dialysis: Annotated[bool | None, typer.Option("--dialysis/--no-dialysis", show_default=False,
                                                  rich_help_panel=_P)] = None,
    hepatic_disease: Annotated[bool | None, typer.Option("--hepatic-disease/--no-hepatic-disease",
                                                         show_default=False, rich_help_panel=_P)] = None,
    epilepsy: Annotated[bool | None, typer.Option("--epilepsy/--no-epilepsy", show_default=False,
                                                  rich_help_panel=_P)] = None,
    pregnant: Annotated[bool | None, typer.Option("--pregnant/--no-pregnant", show_default=False,
                                                  rich_help_panel=_P)] = None,
    other_medications: Annotated[list[str] | None, typer.Option(
        help="Another current medication; repeat, or separate with commas.", rich_help_panel=_P)] = None,
    drug: Annotated[str | None, typer.Option(help="Current drug, e.g. baclofen.", rich_help_panel=_M)] = None,
    route: Annotated[str | None, typer.Option(help="oral (default) | intrathecal", rich_help_panel=_M)] = None,
    dose: Annotated[str | None, typer.Option(help="One administration with its unit, e.g. '15 mg'.",
                                             rich_help_panel=_M)] = None,
    frequency: Annotated[str | None, typer.Option(help="e.g. q8h, TID, 'every 8 hours', 'twice daily'.",
                                                  rich_help_panel=_M)] = None,
    relief: Annotated[str | None, typer.Option(help="adequate | inadequate", rich_help_panel=_R)] = None,
    side_effects: Annotated[list[str] | None, typer.Option(
        help="An adverse effect; repeat, or separate with commas.", rich_help_panel=_R)] = None,
    side_effects_intolerable: Annotated[bool | None, typer.Option(
        "--side-effects-intolerable/--no-side-effects-intolerable", show_default=False, rich_help_panel=_R)] = None,
    withdrawal_signs: Annotated[bool | None, typer.Option(
        "--withdrawal-signs/--no-withdrawal-signs", show_default=False, rich_help_panel=_R)] = None,
) -> None:
    """Advise on one patient on oral baclofen: next step with a capped dose plan, precautions,
    monitoring, alternatives and adjuncts, each with its rule and sources.

    Exit codes: 0 advice given (including a request for missing data), 2 unusable input
    (one line on stderr naming the field, the value and what is accepted), 1 an internal failure
    (a safety check refused the answer: nothing is shown as advice).
    """
    flags = {k: v for k, v in locals().items() if k not in
             ("case_file", "format", "kb", "explain", "include_draft") and v is not None}
    from clonus.engine.errors import CaseError, ClonusError
    from clonus.engine.intake import read_case_text

    if case_file is None and not flags:
        fail("give a case file (or '-' for standard input) or case flags such as --age and --dose; "
             "see 'clonus advise --help'")
    knowledge = load_kb_or_exit(kb)
    try:
        data = (read_case_text(read_text_arg(case_file), "<stdin>" if case_file == "-" else case_file)
                if case_file is not None else {})
        _apply_flags(data, flags, knowledge.case_fields)
        result = _advise(knowledge, data, include_draft)
    except CaseError as exc:
        fail(str(exc))
    except ClonusError as exc:
        fail(f"{type(exc).__name__}: {exc}", code=1)
    typer.echo(_render(result, knowledge, format, explain), nl=False)


def _apply_flags(data: dict, flags: dict, fields: dict) -> None:
    by_leaf = {path.rsplit(".", 1)[-1]: path for path in fields}
    for name, value in flags.items():
        if isinstance(value, list):
            value = [item.strip() for v in value for item in v.split(",") if item.strip()]
        section, leaf = by_leaf[name].split(".", 1)
        if data.get(section) is None:  # absent, or an empty `patient:` in the file
            data[section] = {}
        target = data[section]
        if not isinstance(target, dict):
            return  # intake reports the malformed section with its own message
        target[leaf] = value


def _advise(knowledge, data, include_draft):
    from clonus.engine.advice import Advisor

    with Advisor(knowledge, include_draft=include_draft) as advisor:
        return advisor.advise(data)


def _render(result, knowledge, format: Format, explain: bool) -> str:
    from clonus.engine import report

    if format is Format.json:
        return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
    if format is Format.markdown:
        return report.render_markdown(result, knowledge, explain)
    text = report.render_text(result, knowledge, explain)
    if explain:
        text += "\n".join(report.render_trace_text(result)) + "\n"
    return text
