"""`clonus graph`: the KB drawn as a decision graph, for knowledge engineers (rules) or teaching (flow)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import fail, load_kb_or_exit, read_text_arg


class View(str, Enum):
    rules = "rules"
    flow = "flow"


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
    kb: Annotated[Path | None, typer.Option(
        "--kb", metavar="DIR", show_default=False, help="Knowledge-base folder (default: the shipped KB).")] = None,
    include_draft: Annotated[bool, typer.Option("--include-draft", help="With --case: also run draft and "
                                                "reviewed rules.")] = False,
) -> None:
    """Draw the knowledge base as a graph: DOT, Mermaid, GraphML, JSON, SVG, PNG or a self-contained HTML page
    (pan, zoom, click a node for its rule, rationale and sources). Same KB, same bytes.

    Exit codes: 0 written, 2 unusable request (unknown focus or category, bad case), 1 drawing failed.
    """
    from clonus.engine.errors import CaseError, ClonusError
    from clonus.engine.graph import GraphError, build_view, filter_categories, overlay_case
    from clonus.engine.graph import focus as focus_on
    from clonus.engine.graph_export import SUFFIXES, RenderError, export

    fmt = format.value if format else SUFFIXES.get(output.suffix.lower(), "dot") if output else "dot"
    if fmt == "png" and output is None and sys.stdout.isatty():
        fail("PNG is binary: give -o FILE (or redirect standard output)")
    knowledge = load_kb_or_exit(kb)
    try:
        g = build_view(knowledge, view.value)
        if case is not None:
            g = overlay_case(g, _trace(knowledge, case, include_draft))
        if focus:
            g = focus_on(g, focus)
        if category:
            g = filter_categories(g, category)
        data = export(g, fmt)
    except RenderError as exc:
        fail(str(exc), code=1)
    except (GraphError, CaseError) as exc:
        fail(str(exc))
    except ClonusError as exc:
        fail(f"{type(exc).__name__}: {exc}", code=1)
    _write(data, output, fmt, g)


def _trace(knowledge, case: str, include_draft: bool):
    from clonus.engine.advice import Advisor
    from clonus.engine.intake import read_case_text

    data = read_case_text(read_text_arg(case), "case file")
    with Advisor(knowledge, include_draft=include_draft) as advisor:
        return advisor.advise(data).trace


def _write(data: bytes, output: Path | None, fmt: str, g) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", code=1)
    typer.echo(f"clonus: wrote {output} ({fmt}, {g.number_of_nodes()} nodes, {g.number_of_edges()} edges)",
               err=True)
