"""Jurisdiction profiles: kb.yaml `parameters` (shared by every profile) and kb/profiles/<name>.yaml (what
differs between jurisdictions), merged into the one set of named values a KB is bound to at load.

A parameter is written once: a profile may not redefine a shared one, and every profile defines the same
names, so that a rule reading `$max_daily_mg` means something under each of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge.model import Profile
from clonus.engine.suggest import did_you_mean

from .common import Collector, display, is_number, unknown_keys
from .yamlsource import LineDict

PARAM_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
PROFILE_KEYS = ("name", "title", "parameters")


def parameters_of(node: Any, file: str, where: str, out: Collector) -> dict[str, Any]:
    """A `parameters:` mapping: lower-case names to numbers, booleans or short texts."""
    values: dict[str, Any] = {}
    if node is None:
        return values
    if not isinstance(node, LineDict):
        out.add(file, getattr(node, "line", 1), None, where, "maps parameter names to values")
        return values
    for name, value in node.items():
        if not isinstance(name, str) or not PARAM_RE.match(name):
            out.add(file, node.line_of(name), None, where, f"{shown(name)} is not a parameter name like max_daily_mg")
        elif not (is_number(value) or isinstance(value, (bool, str))):
            out.add(file, node.line_of(name), None, f"{where}.{name}", "is a number, true/false or a short text")
        else:
            values[name] = value
    return values


def load_profile(docs: dict[str, Any], files: list[Path], chosen: str | None, default: Any, shared: dict[str, Any],
                 kb_file: str, kb_line: int, out: Collector, safety: frozenset[str] = frozenset(),
                 ) -> tuple[Profile, tuple[str, ...]]:
    """The chosen profile (else the KB's default) merged with the shared parameters, and every profile's name.
    `safety` names the parameters the safety section reads: a profile that sets a shared one of them is
    told so, since it would bend a safety check."""
    profiles: dict[str, tuple[str, str, int, dict[str, Any]]] = {}
    declared: dict[str, tuple[set[str], int]] = {}  # the names each profile writes, and its parameters: line
    for path in files:
        file = display(path)
        doc = docs[file]
        if not isinstance(doc, LineDict):
            out.add(file, 1, None, None, "a profile is a mapping with name, title and parameters")
            continue
        unknown_keys(doc, PROFILE_KEYS, file, None, out)
        if doc.get("name") != path.stem:
            out.add(file, doc.line_of("name"), None, "name", f"{shown(doc.get('name'))} must be the file's name, "
                    f"{shown(path.stem)}")
        params = parameters_of(doc.get("parameters"), file, "parameters", out)
        for name in params:
            if name in shared:
                read = " and the safety section (invariants.yaml) reads it" if name in safety else ""
                out.add(file, doc["parameters"].line_of(name), None, f"parameters.{name}",
                        f"is shared (kb.yaml parameters){read}; a profile holds only what differs between "
                        "jurisdictions")
        written = doc.get("parameters") if isinstance(doc.get("parameters"), LineDict) else {}
        given = {str(n) for n in written} if written else set()  # a bad value is its own problem, not a lack
        profiles[path.stem] = (str(doc.get("title", path.stem)), file, doc.line, params)
        declared[path.stem] = (given, doc.line_of("parameters"))
    names = tuple(sorted(profiles))
    if not names:
        out.add(kb_file, kb_line, None, "profiles", "the KB has no profile (kb/profiles/<name>.yaml)")
        return Profile("", "", MappingProxyType(dict(shared))), names
    _same_names(profiles, declared, shared, out)
    name = chosen if chosen is not None else default
    if not isinstance(name, str) or name not in profiles:  # default_profile: [] is no profile's name
        from clonus.engine.errors import UsageError

        if chosen is not None:
            raise UsageError(f"--profile: {shown(chosen)} is not a profile of this KB{did_you_mean(chosen, names)}; "
                             f"use one of {', '.join(names)}")
        out.add(kb_file, kb_line, None, "default_profile",
                f"{shown(default)} is not a profile{did_you_mean(default, names)}; profiles: {', '.join(names)}")
        name = names[0]
    title, file, line, params = profiles[name]
    return Profile(name, title, MappingProxyType({**shared, **params}), file, line), names


def _same_names(profiles: dict[str, tuple[str, str, int, dict[str, Any]]], declared: dict[str, tuple[set[str], int]],
                shared: dict[str, Any], out: Collector) -> None:
    """Every profile gives every jurisdictional parameter (a name another profile defines); reported at
    the profile's `parameters:` line."""
    every = sorted({n for _, _, _, params in profiles.values() for n in params} - set(shared))
    for name, (_, file, _, _) in sorted(profiles.items()):
        given, line = declared[name]
        missing = [n for n in every if n not in given]
        if missing:
            out.add(file, line, None, "parameters", f"lacks {', '.join(missing)}, which another profile defines: "
                    "every profile gives every jurisdictional parameter")
