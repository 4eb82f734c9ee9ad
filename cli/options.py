"""What commands share: the --kb, --engine and --include-draft options, reading a KB and a case argument,
setting case fields from flags, the --as-of date of FHIR input (advise --fhir, batch).

Commands raise; cli/main.py turns every ClonusError into its one-line message and exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date
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


def load_kb(kb_dir: Path | None, profile: str | None = None, fhir: bool = True, option: str = "--kb") -> Kb:
    """The KB in `kb_dir` (the shipped one when None) bound to `profile` (its default when None); KbError
    lists every problem. `fhir=False`: without its FHIR mapping (a case file does not need it; see
    engine/knowledge/load). A folder that is not there, or holds no kb.yaml, is one line naming the
    option (UsageError), not a load problem."""
    from clonus.engine.knowledge.load import load_kb as load

    if kb_dir is not None:
        check_kb_dir(kb_dir, option)
    return load(kb_dir, profile, fhir=fhir)


def check_kb_dir(kb_dir: Path, option: str = "--kb") -> None:
    """UsageError when `kb_dir` is not a folder with a kb.yaml."""
    from clonus.engine.errors import UsageError, shown
    from clonus.engine.knowledge.load.files import is_file

    try:
        folder, exists = kb_dir.is_dir(), kb_dir.exists()
    except OSError as exc:  # a name too long, say: nothing there can be a KB
        raise UsageError(f"{option}: {shown(str(kb_dir))} cannot be used ({exc.strerror})") from exc
    if not folder:
        what = "does not exist" if not exists else "is not a folder"
        raise UsageError(f"{option}: {shown(str(kb_dir))} {what}; give a KB folder (one with a kb.yaml)")
    if not is_file(kb_dir / "kb.yaml"):
        raise UsageError(f"{option}: {shown(str(kb_dir))} is not a clonus KB folder: it has no kb.yaml")


def read_case(arg: str) -> tuple[str, str]:
    """A case argument's text and the name errors give it: '-' is standard input, read as <stdin>.

    Only a regular file (symlinks resolved) is read, and only its first few MB: a FIFO, /dev/zero or a
    folder is refused at once; standard input is read up to the same limit, as UTF-8."""
    from clonus.engine.errors import CaseFileError
    from clonus.engine.knowledge.load.files import MAX_FILE_BYTES, decode, read_text

    try:
        if arg == "-":
            return _read_stdin(MAX_FILE_BYTES, decode), "<stdin>"
        return read_text(arg), arg
    except (OSError, UnicodeDecodeError) as exc:
        name = "<stdin>" if arg == "-" else arg
        raise CaseFileError(name, _why(exc), None if arg == "-" else "case file") from exc


def _read_stdin(limit: int, decode) -> str:
    """Standard input's bytes, at most limit + 1 of them, decoded as UTF-8 (a text stream as it is)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in place of standard input (tests, embedding)
        text = sys.stdin.read(limit + 1)
        return decode(text.encode("utf-8", "surrogateescape"), limit)
    return decode(stream.read(limit + 1), limit)


def _why(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}"
    return exc.strerror or str(exc)


def read_case_data(arg: str) -> dict:
    """A case argument parsed (YAML, or strict JSON for .json), errors located in the file by its name."""
    from clonus.engine.intake.case import read_case_text

    text, name = read_case(arg)
    return read_case_text(text, name)


def apply_flags(data: dict, flags: dict, fields: Mapping[str, Any]) -> list[str]:
    """Set each flag's case field in the case mapping (a words flag's commas separate words in intake, as
    they do in a case file). The fields set."""
    by_leaf = {path.rsplit(".", 1)[-1]: path for path in fields}
    done: list[str] = []
    for name, value in flags.items():
        section, leaf = by_leaf[name].split(".", 1)
        if data.get(section) is None:  # absent, or an empty `patient:` in the file
            data[section] = {}
        target = data[section]
        if not isinstance(target, dict):
            return done  # intake reports the malformed section with its own message
        target[leaf] = value
        done.append(by_leaf[name])
    return done


def as_of_date(text: str | None) -> date:
    """--as-of YYYY-MM-DD, today when absent; a CaseError names the option otherwise."""
    import re

    from clonus.engine.errors import CaseError

    if text is None:
        return date.today()
    accepted = "a date YYYY-MM-DD, e.g. 2025-06-01"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise CaseError("--as-of", text, accepted)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CaseError("--as-of", text, accepted) from exc
