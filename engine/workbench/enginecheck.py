"""Two rule engines, one answer: every case of a KB answered by both engines and compared, for
`clonus check-engines`. A pure function of the KB and the cases: findings are data.

The cases: the example case files beside the KB, every rule test case (run, as `clonus test` runs them,
with every rule whatever its status), the boundary cases the lint search evaluates (each written back as
a case file; search.py and space.py), and N generated cases (generate.py). Each answer is the contract's
JSON without `kb.engine` (recommendations, their order, reasons and sources, the dose plan, the facts, the
trace), or the error the case ended in; a case differs when the two are not the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import Backend, Engine, Evaluation, load_backend
from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.decide.limits import Limits
from clonus.engine.errors import CaseError, ClonusError
from clonus.engine.intake.case import Case, parse_case
from clonus.engine.knowledge.model import Kb
from clonus.engine.workbench.generate import generated_cases
from clonus.engine.workbench.kbdiff import NamedCase, case_files
from clonus.engine.workbench.ruletests import case_id
from clonus.engine.workbench.search import case_document, search

SOURCES = ("example", "rule test", "boundary", "generated")


@dataclass(frozen=True)
class Difference:
    """A case the two engines answer differently: where the answers first part, and each side there."""

    source: str
    case: NamedCase
    path: str                  # e.g. trace[3].rule, recommendations[0].because, error
    first: str                 # the first engine's answer at `path` (JSON text), or its error
    second: str


@dataclass(frozen=True)
class EngineComparison:
    engines: tuple[Mapping[str, str], Mapping[str, str]]  # name and version of each
    counts: Mapping[str, int]                              # source -> cases compared
    refused: int                                           # cases intake refused (the same on both engines)
    unwritable: int                                        # boundary cases no case file can express
    differences: tuple[Difference, ...]
    seconds: float
    seed: int = 0

    @property
    def compared(self) -> int:
        return sum(self.counts.values())


def compare_engines(kb: Kb, first: str | Backend, second: str | Backend, generated: int = 0, seed: int = 0,
                    include_draft: bool = False, examples: Path | None = None) -> EngineComparison:
    """Answer every case of the KB with both engines (names or backends); every case whose answers differ
    (see module doc). `examples` is the folder of example case files (default: examples/ beside the KB)."""
    started = time.perf_counter()
    folder = examples if examples is not None else Path(kb.root).resolve().parent / "examples"
    boundary, unwritable = boundary_cases(kb, first, include_draft)
    sources: list[tuple[str, bool, Iterable[NamedCase]]] = [
        ("example", include_draft, case_files([folder]) if folder.is_dir() else []),
        ("rule test", True, [NamedCase(case_id(t), f"{t.file}:{t.line}", t.case) for t in kb.tests]),
        ("boundary", include_draft, boundary),
        ("generated", include_draft, generated_cases(kb, generated, seed)),
    ]
    counts = dict.fromkeys(SOURCES, 0)
    refused = 0
    differences: list[Difference] = []
    pairs: dict[bool, tuple[Advisor, Advisor]] = {}
    try:
        for source, drafts, cases in sources:
            if drafts not in pairs:
                # no decision cache: every case through each engine itself
                pairs[drafts] = (Advisor(kb, drafts, first, cache=False), Advisor(kb, drafts, second, cache=False))
            one, other = pairs[drafts]
            for case in cases:
                a, b = answer(one, case.data), answer(other, case.data)
                if "refused" in a and a == b:
                    refused += 1
                    continue
                counts[source] += 1
                if a != b:
                    path, left, right = first_difference(a, b)
                    differences.append(Difference(source, case, path, left, right))
        engines = (pairs[include_draft][0].engine_name, pairs[include_draft][1].engine_name)
    finally:
        for one, other in pairs.values():
            one.close()
            other.close()
    return EngineComparison(engines, counts, refused, unwritable, tuple(differences), time.perf_counter() - started,
                            seed)


def answer(advisor: Advisor, data: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's JSON for a case without `kb.engine`, or the error it ended in."""
    try:
        case = parse_case(advisor.kb, data)
    except CaseError as exc:
        return {"refused": str(exc)}
    try:
        out = advisor.advise_case(case).to_json()
    except ClonusError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    out["kb"] = {k: v for k, v in out["kb"].items() if k != "engine"}
    return out


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, str, str]:
    """The first place two JSON answers part, and each value there (JSON text, shortened)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(dict.fromkeys([*a, *b])):
            if key not in a or key not in b or a[key] != b[key]:
                if key in a and key in b:
                    return first_difference(a[key], b[key], f"{path}.{key}" if path else key)
                return (f"{path}.{key}" if path else key, _text(a.get(key, "(absent)")),
                        _text(b.get(key, "(absent)")))
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path} (length)", str(len(a)), str(len(b))
    return path or "(answer)", _text(a), _text(b)


def _text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."


# -- the lint search's boundary cases --------------------------------------------------------------

class _Recorded:
    """An engine that notes each case it evaluates, in the order first seen."""

    def __init__(self, engine: Engine, seen: dict[tuple, Case]):
        self._engine, self._seen = engine, seen

    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation:
        key = (tuple(sorted(facts.items(), key=lambda kv: kv[0])), frozenset(absent))
        self._seen.setdefault(key, Case(dict(facts), frozenset(absent)))
        return self._engine.evaluate(facts, absent)

    def close(self) -> None:
        self._engine.close()


class _Recording:
    """A backend whose engines record every case the lint search evaluates through them."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self.name = backend.name
        self.seen: dict[tuple, Case] = {}

    def version(self) -> str:
        return self._backend.version()

    def available(self) -> str | None:
        return self._backend.available()

    def limits(self) -> Limits:
        return self._backend.limits()

    def compile(self, plan: EvaluationPlan) -> Engine:
        return _Recorded(self._backend.compile(plan), self.seen)


def boundary_cases(kb: Kb, engine: str | Backend, include_draft: bool = False) -> tuple[list[NamedCase], int]:
    """Every case the lint search evaluates (on `engine`), as a case file, and how many no case file can
    express (it would read back as other facts: a value no notation writes), which are left out."""
    recording = _Recording(load_backend(engine) if isinstance(engine, str) else engine)
    search(kb, include_draft, recording)
    cases, unwritable = [], 0
    for index, case in enumerate(recording.seen.values(), start=1):
        doc = case_document(kb, case.facts)
        try:
            back = parse_case(kb, doc)
        except CaseError:
            back = None
        if back is None or dict(back.facts) != dict(case.facts) or back.absent != case.absent:
            unwritable += 1
            continue
        cases.append(NamedCase(f"boundary-{index}", f"lint search case {index}", doc))
    return cases, unwritable
