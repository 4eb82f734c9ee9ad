"""Generated cohorts for the batch tests: benchmarks/cohort.py's generators (a fixed seed, never real
patients), with rows that must become error rows mixed in."""

from __future__ import annotations

import importlib.util
import itertools

from conftest import REPO

_spec = importlib.util.spec_from_file_location("cohort_bench", REPO / "benchmarks" / "cohort.py")
assert _spec is not None and _spec.loader is not None
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)

# (id, case) rows that are no usable case, each with the start of the message `clonus advise` gives
BAD_ROWS = [
    ("bad-field", {"patient": {"age": 45, "agee": 3}}, "patient.agee: 3 is not accepted"),
    ("bad-dose", {"patient": {"age": 45}, "medication": {"drug": "baclofen", "dose": "lots"}},
     "medication.dose: 'lots' is not accepted"),
    ("bad-section", {"patients": {"age": 45}}, "patients: "),
]


def mixed(count: int, seed: int = 3) -> list[tuple[str, dict]]:
    """`count` rows: clinic and evenly spread cases in turn, a bad row every 50."""
    even, clinic = generator.cases("even", count, seed), generator.cases("clinic", count, seed + 1)
    rows = []
    for i, (a, b) in enumerate(zip(even, clinic, strict=True)):
        rows.append(a if i % 2 else b)
        if i % 50 == 49:
            bad_id, case, _ = BAD_ROWS[(i // 50) % len(BAD_ROWS)]
            rows.append((f"{bad_id}-{i}", case))
    return list(itertools.islice(rows, count))
