"""Read a KB folder (YAML only, safe loader) into a validated, immutable Kb, reporting every problem.

The only code that reads KB files. One module per file kind: settings (kb.yaml), facts, codes (and
sources), notations, rules, tests; yamlsource keeps the line of every node for file:line messages.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clonus.engine.errors import KbError, Problem
from clonus.engine.knowledge.model import FactDef, Kb, Rule, RuleTest

from .codes import load_codes, load_sources
from .common import Collector, display, mapping, unknown_keys
from .derived import conflicting_values
from .facts import load_facts
from .files import is_file, read_bytes
from .notations import load_notations, load_synonyms
from .rules import check_cycles, check_rule_ids, load_rules
from .settings import KB_KEYS, load_exclusions, load_gap_check, load_safety_limits, load_vocabulary
from .tests import load_tests
from .yamlsource import parse_yaml, read_problem, read_yaml

CORE_FILES = ("kb.yaml", "facts.yaml", "codes.yaml", "sources.yaml", "notations.yaml")
_ENGINE = Path(__file__).resolve().parents[2]  # engine/, or clonus/engine/ once installed


def default_kb_dir() -> Path:
    """The shipped KB: kb/ beside engine/, in a clone (the package clonus.kb) and once installed alike."""
    return _ENGINE.parent / "kb"


def load_kb(root: Path | str | None = None) -> Kb:
    """Load and validate the KB in `root` (the shipped KB when None). Raises KbError with every problem."""
    root = Path(root) if root is not None else default_kb_dir()
    if not is_file(root / "kb.yaml"):
        raise KbError([Problem(display(root / "kb.yaml"), 0, None, None,
                               "not a clonus KB folder: kb.yaml is missing")])
    out = Collector()
    if (root / "rules").exists() and not (root / "rules").is_dir():
        raise KbError([Problem(display(root / "rules"), 0, None, None,
                               "not a folder: the rule files live in rules/*.yaml")])
    rule_files = sorted(p for p in (root / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
    test_files = sorted((root / "rules").glob("*.tests.yaml"))
    core = [root / n for n in CORE_FILES]
    docs, digest = _read_all(root, core + rule_files + test_files, out)
    name = {path.name: display(path) for path in core}

    def doc(file: str) -> Any:
        return docs[name[file]]

    meta = mapping(doc("kb.yaml"), name["kb.yaml"], out)
    unknown_keys(meta, KB_KEYS, name["kb.yaml"], None, out)  # a misspelt exclusions: is not silent
    facts = load_facts(doc("facts.yaml"), name["facts.yaml"], out)
    codes, categories = load_codes(doc("codes.yaml"), name["codes.yaml"], out)
    sources = load_sources(doc("sources.yaml"), name["sources.yaml"], out)
    frequencies, mass_units = load_notations(doc("notations.yaml"), name["notations.yaml"], out)
    rules: list[Rule] = []
    for path in rule_files:
        rules.extend(load_rules(docs[display(path)], display(path), facts, codes, sources, out))
    check_rule_ids(rules, out)
    check_cycles(rules, facts, out)
    tests: list[RuleTest] = []
    for path in test_files:
        tests.extend(load_tests(docs[display(path)], display(path), codes, out))
    exclusions = load_exclusions(meta, name["kb.yaml"], codes, out)
    limits = load_safety_limits(meta, name["kb.yaml"], out)
    gap_population, gap_categories = load_gap_check(meta, name["kb.yaml"], facts, categories, out)
    synonyms = load_synonyms(doc("notations.yaml"), name["notations.yaml"], facts, out)
    vocabulary = load_vocabulary(meta, name["kb.yaml"], facts, categories, out)
    if out.problems:
        raise KbError(out.problems)
    kb = Kb(
        name=str(meta.get("name", root.name)), version=str(meta.get("version", "0")),
        description=str(meta.get("description", "")), root=str(root),
        facts=MappingProxyType(facts), codes=MappingProxyType(codes), categories=tuple(categories),
        sources=MappingProxyType(sources), rules=tuple(rules), tests=tuple(tests),
        exclusions=tuple(exclusions), frequencies=MappingProxyType(frequencies),
        mass_units=MappingProxyType(mass_units), disclaimer=str(meta.get("disclaimer", "")),
        digest=digest, vocabulary=vocabulary, safety_limits=MappingProxyType(limits),
        synonyms=MappingProxyType({k: MappingProxyType(v) for k, v in synonyms.items()}),
        gap_population=gap_population, gap_categories=gap_categories,
    )
    conflicts = conflicting_values(kb)  # needs the whole KB: conditions are compared over its facts
    if conflicts:
        raise KbError(conflicts)
    return kb


def _read_all(root: Path, paths: list[Path], out: Collector) -> tuple[dict[str, Any], str]:
    """Parse every file (each problem collected) and digest their bytes, in a fixed order: the bytes
    digested are the bytes parsed, read once (a regular file only, of a few MB at most)."""
    digest = hashlib.sha256()
    docs: dict[str, Any] = {}
    for path in paths:
        shown = display(path)
        try:
            data = read_bytes(path)
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
            docs[shown] = parse_yaml(data.decode("utf-8"), shown)
        except (OSError, UnicodeDecodeError) as exc:
            out.add(shown, 0, None, None, f"cannot read file: {read_problem(exc)}")
        except KbError as exc:
            out.problems.extend(exc.problems)
    if out.problems:
        raise KbError(out.problems)
    return docs, "sha256:" + digest.hexdigest()


def load_fact_defs(root: Path | str | None = None) -> dict[str, FactDef]:
    """Only the facts dictionary of a KB (for the command line's case-field flags); KbError if unusable."""
    root = Path(root) if root is not None else default_kb_dir()
    out = Collector()
    path = root / "facts.yaml"
    facts = load_facts(read_yaml(path, display(path)), display(path), out)
    if out.problems:
        raise KbError(out.problems)
    return facts
