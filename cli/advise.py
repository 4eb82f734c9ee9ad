"""`clonus advise`: one case (file, stdin or flags) in, advice out as text, JSON or Markdown.

Every input fact of the facts dictionary with a case field gets a flag of the same name (underscores
become dashes): the flags are generated from the KB's facts.yaml, so a new fact gets its flag without
Python. They are those of the KB the command line names (--kb, else $CLONUS_KB, else the shipped KB):
cli/main.py builds the command for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .options import EngineName, IncludeDraft, KbDir, ProfileName, apply_flags, load_kb, read_case_data

if TYPE_CHECKING:
    from clonus.engine.knowledge.model import FactDef


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


CaseArg = Annotated[str | None, typer.Argument(
    metavar="[CASE_FILE]", show_default=False,
    help="Case file (YAML or JSON); '-' reads standard input. Flags below override its fields.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
FhirOpt = Annotated[str | None, typer.Option(
    "--fhir", metavar="BUNDLE", show_default=False,
    help="A FHIR R4 Bundle (JSON; '-' reads standard input). A case file and flags fill or override it.")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", metavar="YYYY-MM-DD", show_default=False,
    help="With --fhir: the date the bundle is read as of (ages, the latest eGFR); default today. "
    "The answer records it.")]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Show why: the facts behind each recommendation "
                                          "and every rule that fired, in order.")]
BriefOpt = Annotated[bool, typer.Option("--brief", help="One screen: the next step, what needs action now and "
                                        "the dose plan (text format).")]

# the command's own parameters, before the case-field flags
FIXED = (
    ("case_file", CaseArg, None), ("format", FormatOpt, Format.text), ("kb", KbDir, None),
    ("profile", ProfileName, None), ("engine", EngineName, None), ("explain", ExplainOpt, False),
    ("brief", BriefOpt, False), ("include_draft", IncludeDraft, False), ("fhir", FhirOpt, None),
    ("as_of", AsOfOpt, None),
)
PANELS = {"patient": "Patient", "medication": "Medication", "response": "Response"}
DOC = """Advise on one patient on oral baclofen: next step with a capped dose plan, precautions,
monitoring, alternatives and adjuncts, each with its rule and sources.

Exit codes: 0 advice given (including a request for missing data), 2 unusable input
(one line on stderr naming the field, the value and what is accepted), 1 an internal failure
(a safety check refused the answer: nothing is shown as advice).

With --fhir BUNDLE the case is read from a FHIR R4 Bundle (docs/fhir.md); a case file and flags
fill or override it, and the JSON says where each fact came from (provenance) and as of when.
"""


def _help(fact: FactDef) -> str:
    text = fact.description.rstrip(".")
    if fact.type == "enum":
        text += f": {' | '.join(fact.values)}"
    elif fact.type == "words":
        text += "; repeat, or separate with commas"
    elif fact.type == "number" and fact.unit and not fact.parse:
        text += f" ({fact.unit})"
    return text + "."


def fact_flags(facts: Mapping[str, FactDef]) -> list[tuple[str, Any]]:
    """(parameter name, annotation) for every input fact with a case field, in the dictionary's order."""
    reserved = {name for name, _, _ in FIXED}
    out = []
    for fact in facts.values():
        if fact.origin != "input" or not fact.case_field:
            continue
        section, leaf = fact.case_field.split(".", 1)
        if leaf in reserved or not leaf.isidentifier():
            continue  # still settable from a case file
        panel = PANELS.get(section, section.title())
        flag = "--" + leaf.replace("_", "-")
        if fact.type == "boolean":
            option = typer.Option(f"{flag}/--no-{flag[2:]}", help=_help(fact), show_default=False,
                                  rich_help_panel=panel)
            out.append((leaf, Annotated[bool | None, option]))
        elif fact.type == "words":
            option = typer.Option(flag, help=_help(fact), metavar="WORD", show_default=False, rich_help_panel=panel)
            out.append((leaf, Annotated[list[str] | None, option]))
        else:
            metavar = "|".join(fact.values) if fact.type == "enum" and len(fact.values) <= 4 else (
                "NUMBER" if fact.type == "number" and not fact.parse else "TEXT")
            option = typer.Option(flag, help=_help(fact), metavar=metavar.upper() if fact.type != "enum" else metavar,
                                  show_default=False, rich_help_panel=panel)
            out.append((leaf, Annotated[str | None, option]))
    return out


@cache
def flags_of(root: str | None) -> tuple[tuple[str, Any], ...]:
    """The case-field flags of the KB in `root` (None: $CLONUS_KB, else the shipped KB); none if unreadable."""
    import os

    from clonus.engine.errors import KbError
    from clonus.engine.knowledge.load import load_fact_defs

    try:
        return tuple(fact_flags(load_fact_defs(root or os.environ.get("CLONUS_KB") or None)))
    except KbError:
        return ()  # the command reports the KB's problems when it runs


class AdviseCommand:
    """The `advise` callback for one KB folder (None: $CLONUS_KB, else the shipped KB). Its signature, which
    typer reads, holds the fixed options and a flag per case field of that KB's facts dictionary."""

    __doc__ = DOC
    __name__ = "advise"

    def __init__(self, kb_dir: str | None = None):
        self.kb_dir = kb_dir

    @property
    def __signature__(self) -> inspect.Signature:
        params = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=ann)
                  for name, ann, default in FIXED]
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ann)
                   for name, ann in flags_of(self.kb_dir)]
        return inspect.Signature(params)

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]  # typer reads the hints here
        return {p.name: p.annotation for p in self.__signature__.parameters.values()}

    def __call__(self, **values: Any) -> None:
        advise(values)


def advise(values: dict[str, Any]) -> None:
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.errors import UsageError

    fixed = {name: values.pop(name) for name, _, _ in FIXED}
    knowledge = load_kb(fixed["kb"], fixed["profile"], fhir=fixed["fhir"] is not None)
    flags = {k: v for k, v in values.items() if v is not None}
    if fixed["case_file"] is None and not flags and fixed["fhir"] is None:
        raise UsageError("give a case file (or '-' for standard input), a FHIR bundle (--fhir) or case flags such "
                         "as --age and --dose; see 'clonus advise --help'")
    if fixed["as_of"] is not None and fixed["fhir"] is None:
        raise UsageError("--as-of applies to --fhir: a case file gives the age itself")
    if fixed["fhir"] == "-" and fixed["case_file"] == "-":
        raise UsageError("--fhir - and the case file - cannot both read standard input; name one as a file")
    if fixed["fhir"] is not None:
        from .advise_fhir import advise_fhir

        result = advise_fhir(knowledge, fixed, flags)
    else:
        data = read_case_data(fixed["case_file"]) if fixed["case_file"] is not None else {}
        apply_flags(data, flags, knowledge.case_fields)
        with Advisor(knowledge, include_draft=fixed["include_draft"], engine=fixed["engine"]) as advisor:
            result = advisor.advise(data)
    typer.echo(_render(result, knowledge, fixed["format"], fixed["explain"], fixed["brief"]), nl=False)


def _render(result, knowledge, format: Format, explain: bool, brief: bool) -> str:
    from clonus.engine.explain import intake, report

    if format is Format.json:
        return report.render_json(result)
    if format is Format.markdown:
        extra = intake.intake_markdown(result, knowledge, explain)
        return report.render_markdown(result, knowledge, explain) + ("\n".join(extra) + "\n" if extra else "")
    text = report.render_text(result, knowledge, explain, brief, width=_width())
    extra = intake.intake_lines(result, knowledge, explain)
    if extra:
        text += "\n" + "\n".join(extra) + "\n"
    if explain:
        text += "\n".join(report.render_trace_text(result)) + "\n"
    return text


def _width() -> int:
    """The terminal's width when standard output is one (at least 60), else 80."""
    import shutil
    import sys

    return max(60, shutil.get_terminal_size((80, 24)).columns) if sys.stdout.isatty() else 80
