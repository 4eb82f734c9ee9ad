"""benchmarks/bench.py's plain-Python floor is a hand-written copy of every rule, kept only to show what the
engine costs. Held here to the engine's codes on the examples and on generated cases, or it would drift
unnoticed and the benchmark would compare the engine with some other decision."""

from __future__ import annotations

import importlib.util
import random

import pytest

from clonus.engine.intake.case import parse_case, read_case_text

from conftest import EXAMPLES, REPO

_spec = importlib.util.spec_from_file_location("bench", REPO / "benchmarks" / "bench.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _disagreement(kb, advisor, data) -> str | None:
    case = parse_case(kb, data)
    floor, engine = bench.floor_decide(dict(case.facts)), set(advisor.advise_case(case).codes())
    if floor == engine:
        return None
    return f"floor only: {sorted(floor - engine)}; engine only: {sorted(engine - floor)}; case: {data}"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_floor_decides_every_example_as_the_engine_does(path, shipped_kb, advisor):
    data = read_case_text(path.read_text(encoding="utf-8"), path.name)
    assert _disagreement(shipped_kb, advisor, data) is None


def test_the_floor_decides_generated_cases_as_the_engine_does(shipped_kb, advisor):
    rng = random.Random(7)
    frequencies = sorted(shipped_kb.frequencies)
    found = [d for _ in range(2000)
             if (d := _disagreement(shipped_kb, advisor, bench.generated_case(rng, frequencies)))]
    assert not found, f"{len(found)} of 2000 cases differ; the first: {found[0]}"
