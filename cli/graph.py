"""`clonus graph`: the KB drawn as a decision graph, for knowledge engineers (rules) or teaching (flow)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, KbDir, load_kb, read_case_data


class View(str, Enum):
    rules = "rules"
    flow = "flow"


BINARY = ("png",)


class Format(str, Enum):
    dot = "dot"
    mermaid = "mermaid"
    graphml = "graphml"
    json = "json"
    svg = "svg"
    png = "png"
    html = "html"


def graph(
    view: Annotated[View, typer.Option("--view", help="rules: every fact, rule and recommendation; flow: the "
                                       "teaching flowchart derived from the rules.")] = View.rules,
    format: Annotated[Format | None, typer.Option(
        "--format", "-f", help="Output format (default: from the -o file's suffix, else dot).",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False, help="Write to FILE instead of standard output.")] = None,
    case: Annotated[str | None, typer.Option(
        "--case", metavar="CASE", show_default=False,
        help="Highlight the path this case takes (a case file, '-' for standard input); the rest is dimmed.")] = None,
    focus: Annotated[str | None, typer.Option(
        "--focus", metavar="CODE_OR_RULE", show_default=False,
        help="Keep one rule, code or fact and everything before and after it.")] = None,
    category: Annotated[list[str] | None, typer.Option(
        "--category", metavar="CAT", show_default=False,
        help="Keep the recommendations of this category (repeat for more) and what leads to them.")] = None,
    kb: KbDir = None,
    include_draft: IncludeDraft = False,
    engine: EngineName = None,
) -> None:
    """Draw the knowledge base as a graph: DOT, Mermaid, GraphML, JSON, SVG, PNG or a self-contained HTML page
    (pan, zoom, click a node for its rule, rationale and sources). Same KB, same bytes.

    Exit codes: 0 written, 2 unusable request (unknown focus or category, bad case), 1 drawing failed.
    """
    from clonus.engine.errors import GraphError, shown
    from clonus.engine.graph import build_view
    from clonus.engine.graph.export.formats import FORMATS, SUFFIXES, export
    from clonus.engine.graph.filters import filter_categories, overlay_case
    from clonus.engine.graph.filters import focus as focus_on

    fmt = format.value if format is not None else "dot"
    if format is None and output is not None:
        if output.suffix.lower() not in SUFFIXES:
            raise GraphError(f"-o {shown(str(output))}: the suffix {output.suffix or '(none)'!r} names no format; "
                             f"use one of {', '.join(sorted(SUFFIXES))}, or give --format ({', '.join(FORMATS)})")
        fmt = SUFFIXES[output.suffix.lower()]
    if fmt in BINARY and output is None and sys.stdout.isatty():
        raise GraphError(f"{fmt.upper()} is binary: give -o FILE (or redirect standard output)")
    knowledge = load_kb(kb)
    g = build_view(knowledge, view.value)
    if case is not None:
        g = overlay_case(g, _trace(knowledge, case, include_draft, engine))
    if focus:
        g = focus_on(g, focus)
    if category:
        g = filter_categories(g, category)
    _write(export(g, fmt), output, fmt, g)


def _trace(knowledge, case: str, include_draft: bool, engine: str | None):
    from clonus.engine.decide.advisor import Advisor

    data = read_case_data(case)
    with Advisor(knowledge, include_draft=include_draft, engine=engine) as advisor:
        return advisor.advise(data).trace


def _write(data: bytes, output: Path | None, fmt: str, g) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        from clonus.engine.errors import OutputError, shown

        raise OutputError(f"cannot write {shown(str(output))}: {exc.strerror or exc}") from exc
    typer.echo(f"clonus: wrote {output} ({fmt}, {g.number_of_nodes()} nodes, {g.number_of_edges()} edges)",
               err=True)
