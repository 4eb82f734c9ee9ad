"""What commands share: the --kb, --engine and --include-draft options, reading a KB and a case argument,
setting case fields from flags.

Commands raise; cli/main.py turns every ClonusError into its one-line message and exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from clonus.engine.knowledge.model import Kb

KbDir = Annotated[Path | None, typer.Option(
    "--kb", envvar="CLONUS_KB", metavar="DIR", show_default=False,
    help="Knowledge-base folder (default: the shipped KB; also $CLONUS_KB).")]
EngineName = Annotated[str | None, typer.Option(
    "--engine", metavar="NAME", show_default=False,
    help="Rule engine to run the KB on: durable (durable_rules, the default where it imports: Python 3.11 and "
         "3.12) or clips (CLIPS through clipspy, the default elsewhere). Both give the same answer.")]
ProfileName = Annotated[str | None, typer.Option(
    "--profile", metavar="NAME", envvar="CLONUS_PROFILE", show_default=False,
    help="Jurisdiction profile the KB is bound to: us (FDA labels, the default) or uk (BNF); `clonus kb` "
         "lists a KB's profiles (also $CLONUS_PROFILE).")]
IncludeDraft = Annotated[bool, typer.Option(
    "--include-draft", help="Also run draft and reviewed rules (the answer says so).")]


def load_kb(kb_dir: Path | None, profile: str | None = None, fhir: bool = True) -> Kb:
    """The KB in `kb_dir` (the shipped one when None) bound to `profile` (its default when None); KbError
    lists every problem. `fhir=False`: without its FHIR mapping (a case file does not need it; see
    engine/knowledge/load)."""
    from clonus.engine.knowledge.load import load_kb as load

    return load(kb_dir, profile, fhir=fhir)


def read_case(arg: str) -> tuple[str, str]:
    """A case argument's text and the name errors give it: '-' is standard input, read as <stdin>."""
    from clonus.engine.errors import CaseFileError

    if arg == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(arg).read_text(encoding="utf-8"), arg
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(arg, getattr(exc, "strerror", None) or str(exc), "case file") from exc


def read_case_data(arg: str) -> dict:
    """A case argument parsed (YAML, or strict JSON for .json), errors located in the file by its name."""
    from clonus.engine.intake.case import read_case_text

    text, name = read_case(arg)
    return read_case_text(text, name)


def apply_flags(data: dict, flags: dict, fields: Mapping[str, Any]) -> list[str]:
    """Set each flag's case field in the case mapping; words flags split on commas. The fields set."""
    by_leaf = {path.rsplit(".", 1)[-1]: path for path in fields}
    done: list[str] = []
    for name, value in flags.items():
        if isinstance(value, list):
            value = [item.strip() for v in value for item in v.split(",") if item.strip()]
        section, leaf = by_leaf[name].split(".", 1)
        if data.get(section) is None:  # absent, or an empty `patient:` in the file
            data[section] = {}
        target = data[section]
        if not isinstance(target, dict):
            return done  # intake reports the malformed section with its own message
        target[leaf] = value
        done.append(by_leaf[name])
    return done
