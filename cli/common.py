"""Helpers shared by commands: one-line errors on stderr with exit code 2, KB loading."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer

USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print one clear line (or a KB's problem list) on stderr and exit; never a traceback."""
    typer.echo(f"clonus: error: {message}", err=True)
    raise typer.Exit(code)


def load_kb_or_exit(kb_dir: Path | None):
    from clonus.engine.errors import KbError
    from clonus.engine.loader import load_kb

    try:
        return load_kb(kb_dir)
    except KbError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        fail(f"the knowledge base cannot be loaded ({len(exc.problems)} problem(s))")


def read_text_arg(path: str) -> str:
    """Read a file argument, '-' meaning standard input."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"case file: {path!r} cannot be read ({getattr(exc, 'strerror', None) or exc})")
