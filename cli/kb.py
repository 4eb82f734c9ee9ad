"""`clonus kb`: the KB's identity (name, version, digest), its size by kind and status, reviews due."""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from typing import Annotated

import typer

from .options import KbDir, load_kb


class KbFormat(str, Enum):
    text = "text"
    json = "json"


def kb_info(
    kb: KbDir = None,
    within: Annotated[int, typer.Option("--within", min=0, metavar="DAYS",
                                        help="Also list rules due for review within DAYS.")] = 30,
    format: Annotated[KbFormat, typer.Option("--format", "-f", help="Output format.")] = KbFormat.text,
) -> None:
    """Print the KB's name, version and content digest (the digest every advice carries), counts of
    facts, codes, sources, rules (by status), rule tests and exclusions, the rules due for review, and
    the version of clonus and of the rule engines it can run on.

    Exit codes: 0, 2 the KB cannot be loaded.
    """
    from clonus.engine.explain.kb import render_text
    from clonus.engine.workbench.kbinfo import summary

    info = summary(load_kb(kb), date.today(), within)
    if format is KbFormat.json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(info), nl=False)
