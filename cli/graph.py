"""`clonus graph`: the KB drawn as a decision graph, for knowledge engineers (rules) or teaching (flow)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, KbDir, ProfileName, load_kb, read_case_data


class View(str, Enum):
    rules = "rules"
    flow = "flow"
    overview = "overview"


BINARY = ("png", "pdf")


class Format(str, Enum):
    dot = "dot"
    mermaid = "mermaid"
    graphml = "graphml"
    json = "json"
    svg = "svg"
    png = "png"
    pdf = "pdf"
    html = "html"


def graph(
    view: Annotated[View, typer.Option("--view", help="rules: every fact, rule and recommendation; flow: the "
                                       "teaching flowchart derived from the rules; overview: the flowchart "
                                       "at the level of a lecture, for one slide.")] = View.rules,
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
    cases: Annotated[list[Path] | None, typer.Option(
        "--cases", metavar="PATH", show_default=False,
        help="A case explorer (HTML): embed the answers for these case files (a folder stands for its *.yaml, "
             "*.yml and *.json; repeat for more); pick one to see its path, decisions and advice.")] = None,
    deck: Annotated[Path | None, typer.Option(
        "--deck", metavar="DIR", show_default=False, file_okay=False,
        help="Write slides to DIR: the overview and a page per section of the flow, each as SVG and PNG "
             "(1920 x 1080), index.html to step through them and handout.pdf (--view does not apply; "
             "--case lights a case's path on every page).")] = None,
    kb: KbDir = None,
    profile: ProfileName = None,
    include_draft: IncludeDraft = False,
    engine: EngineName = None,
) -> None:
    """Draw the knowledge base as a graph: DOT, Mermaid, GraphML, JSON, SVG, PNG, PDF or a self-contained HTML
    page (pan, zoom, click a node for its rule, rationale and sources; with --cases, a case explorer); or
    with --deck, a deck of slides and a handout. The KB is drawn bound to --profile (its numbers, and the
    title names it). Same KB, same bytes.

    Exit codes: 0 written, 2 unusable request (unknown focus, category or suffix, bad case), 1 drawing failed.
    """
    from clonus.engine.errors import GraphError

    if deck is not None:
        if output is not None or format is not None or cases or focus or category:
            raise GraphError("--deck DIR writes its own files, of the whole KB: give it without -o, --format, "
                             "--cases, --focus or --category")
        _write_deck(deck, load_kb(kb, profile), case, include_draft, engine)
        return
    fmt = _format(format, output)
    if cases and fmt != "html":
        raise GraphError(f"--cases makes an HTML page, not {fmt}: give -o FILE.html (or --format html)")
    if cases and case is not None:
        raise GraphError("give --case (one path, any format) or --cases (an explorer page), not both")
    if fmt in BINARY and output is None and sys.stdout.isatty():
        raise GraphError(f"{fmt.upper()} is binary: give -o FILE (or redirect standard output)")
    knowledge = load_kb(kb, profile)
    g = _view(knowledge, view.value, case, focus, category, include_draft, engine)
    if cases:
        data = _explorer(knowledge, g, cases, include_draft, engine)
    else:
        from clonus.engine.graph.export.formats import export

        data = export(g, fmt)
    _write(data, output, fmt, g)


def _format(format: Format | None, output: Path | None) -> str:
    """The format asked for, or named by the output's suffix; an unknown suffix is refused, naming them all."""
    from clonus.engine.errors import GraphError, shown
    from clonus.engine.graph.export.formats import FORMATS, SUFFIXES

    if format is not None:
        return format.value
    if output is None:
        return "dot"
    if output.suffix.lower() not in SUFFIXES:
        raise GraphError(f"-o {shown(str(output))}: the suffix {shown(output.suffix or '(none)')} names no format; "
                         f"use one of {', '.join(sorted(SUFFIXES))}, or give --format ({', '.join(FORMATS)})")
    return SUFFIXES[output.suffix.lower()]


def _view(knowledge, view: str, case: str | None, focus: str | None, category: list[str] | None,
          include_draft: bool, engine: str | None):
    from clonus.engine.graph import build_view
    from clonus.engine.graph.filters import filter_categories, overlay_case
    from clonus.engine.graph.filters import focus as focus_on

    g = build_view(knowledge, view)
    if case is not None:
        g = overlay_case(g, _trace(knowledge, case, include_draft, engine))
    if focus:
        g = focus_on(g, focus)
    if category:
        g = filter_categories(g, category)
    return g


def _trace(knowledge, case: str, include_draft: bool, engine: str | None):
    from clonus.engine.decide.advisor import Advisor

    data = read_case_data(case)
    with Advisor(knowledge, include_draft=include_draft, engine=engine) as advisor:
        return advisor.advise(data).trace


def _explorer(knowledge, g, paths: list[Path], include_draft: bool, engine: str | None) -> bytes:
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.explain.explorer import explorer_html
    from clonus.engine.workbench.kbdiff import case_files

    named = case_files(paths)
    with Advisor(knowledge, include_draft=include_draft, engine=engine) as advisor:
        return explorer_html(knowledge, g, [(c.name, c.data) for c in named], advisor)


def _write_deck(folder: Path, knowledge, case: str | None, include_draft: bool, engine: str | None) -> None:
    from clonus.engine.graph.deck import build_deck, deck_files
    from clonus.engine.graph.style import title

    pages = build_deck(knowledge, _trace(knowledge, case, include_draft, engine) if case is not None else None)
    files = deck_files(pages, title(pages[0].graph).split(",")[0] + ": the decision, slide by slide")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    except OSError as exc:
        from clonus.engine.errors import OutputError, shown

        raise OutputError(f"cannot write the deck to {shown(str(folder))}: {exc.strerror or exc}") from exc
    for page in pages:
        under = "" if page.fit.fits else " - UNDER THE 14 px FLOOR: a branch too big to split (see kb/teaching.yaml)"
        typer.echo(f"clonus: page {page.stem}: {page.title} ({page.fit.width:.0f} x {page.fit.height:.0f} pt, "
                   f"smallest text {page.fit.smallest_px:.1f} px at 1920 x 1080){under}", err=True)
    typer.echo(f"clonus: wrote {folder}/ ({len(pages)} pages as SVG and PNG, index.html, handout.pdf)", err=True)


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
