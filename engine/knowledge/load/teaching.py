"""teaching.yaml (optional): how the teaching pictures present the KB, its sections and the overview's
questions. Presentation only: no rule reads it, so it is not part of the KB's digest.

    sections:                       # the deck's pages after the overview, in order
      - title: Precautions
        categories: [caution]       # every category of codes.yaml in exactly one section
        overview: grouped           # the overview draws it as one node; omitted: only its own page;
                                    # shown (the default): a box per place
      - title: Cautions with the alternatives
        codes: [avoid_tizanidine]   # these codes' rules, whatever their category (at most one section
        overview: omitted           # lists a code)
    overview:
      questions: [relief]           # the facts the overview asks about (default: every decision)

A rule is in the section listing its first recommendation's code, else in the one listing its category.
A KB without the file gets one section per category, each shown, and an overview that asks every
question the flow asks.
"""

from __future__ import annotations

from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge.model import CodeDef, FactDef, Section, Teaching
from clonus.engine.suggest import did_you_mean

from .common import Collector, mapping, unknown_keys
from .yamlsource import LineDict, LineList

FILE = "teaching.yaml"
OVERVIEW_MODES = ("shown", "grouped", "omitted")


def default_teaching(categories: list[str]) -> Teaching:
    return Teaching(tuple(Section(c.replace("_", " ").capitalize(), (c,), "shown") for c in categories))


def load_teaching(doc: Any, file: str, facts: dict[str, FactDef], codes: dict[str, CodeDef],
                  categories: list[str], out: Collector) -> Teaching:
    """The teaching sections and overview questions; every problem is collected, none is silent."""
    top = mapping(doc, file, out)
    unknown_keys(top, ("sections", "overview"), file, None, out)
    sections = _sections(top, file, codes, categories, out)
    overview = top.get("overview")
    if overview is None:
        return Teaching(sections)
    if not isinstance(overview, LineDict):
        out.add(file, top.line_of("overview"), None, "overview", "maps questions to a list of facts")
        return Teaching(sections)
    unknown_keys(overview, ("questions",), file, None, out, "overview.")
    return Teaching(sections, _questions(overview, file, facts, out))


def _sections(top: LineDict, file: str, codes: dict[str, CodeDef], categories: list[str],
              out: Collector) -> tuple[Section, ...]:
    items = top.get("sections")
    if not isinstance(items, LineList) or not items:
        out.add(file, top.line_of("sections"), None, "sections", "a list of {title, categories} is required")
        return default_teaching(categories).sections
    sections: list[Section] = []
    placed: dict[str, str] = {}  # "category:<name>" or "code:<name>" -> the section listing it
    for i, item in enumerate(items):
        line = items.line_of(i)
        if not isinstance(item, LineDict) or not isinstance(item.get("title"), str):
            out.add(file, line, None, "sections", "each section is a mapping with a title and categories")
            continue
        unknown_keys(item, ("title", "categories", "codes", "overview"), file, None, out, "sections.")
        mode = item.get("overview", "shown")
        if mode not in OVERVIEW_MODES:
            out.add(file, item.line_of("overview"), None, "sections.overview",
                    f"{shown(mode)} is not one of {', '.join(OVERVIEW_MODES)}")
        wanted = _names(item, "categories", categories, "category", placed, file, out)
        listed = _names(item, "codes", codes, "code", placed, file, out)
        if wanted is None or listed is None:
            continue
        if not wanted and not listed:
            out.add(file, line, None, "sections.categories", "a list of code categories (or of codes) is required")
            continue
        sections.append(Section(item["title"], wanted, str(mode), listed))
    for category in categories:
        if f"category:{category}" not in placed:
            out.add(file, items.line, None, "sections",
                    f"category {shown(category)} is in no section: its recommendations would be on no page")
    return tuple(sections)


def _names(item: LineDict, key: str, known, kind: str, placed: dict[str, str], file: str,
           out: Collector) -> tuple[str, ...] | None:
    """A section's list of categories or codes, each known and in no other section (None: not a list)."""
    names = item.get(key)
    if names is None:
        return ()
    if not isinstance(names, LineList) or not names:
        out.add(file, item.line_of(key), None, f"sections.{key}", f"a list of {kind} names")
        return None
    for j, name in enumerate(names):
        if not isinstance(name, str) or name not in known:  # a list or a mapping names nothing
            out.add(file, names.line_of(j), None, f"sections.{key}",
                    f"unknown {kind} {shown(name)}{did_you_mean(name, known)}")
            continue
        if f"{kind}:{name}" in placed:
            out.add(file, names.line_of(j), None, f"sections.{key}",
                    f"{shown(name)} is already in section {shown(placed[f'{kind}:{name}'])}")
        placed.setdefault(f"{kind}:{name}", item["title"])
    return tuple(str(n) for n in names)


def _questions(overview: LineDict, file: str, facts: dict[str, FactDef], out: Collector) -> tuple[str, ...]:
    questions = overview.get("questions")
    if not isinstance(questions, LineList) or not questions:
        out.add(file, overview.line_of("questions"), None, "overview.questions", "a list of fact names")
        return ()
    for i, name in enumerate(questions):
        if not isinstance(name, str) or name not in facts:
            out.add(file, questions.line_of(i), None, "overview.questions",
                    f"unknown fact {shown(name)}{did_you_mean(name, facts)}")
    return tuple(str(q) for q in questions)
