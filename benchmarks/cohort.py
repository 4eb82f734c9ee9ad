"""Generated cohorts (a fixed seed, never real patients) and the batch benchmark.

    python benchmarks/cohort.py write -o cohort.jsonl [--kind even|clinic] [--cases 10000] [--seed 1]
    python benchmarks/cohort.py bench [--cases 1000000] [--workers 2] [--kinds even,clinic] [--no-cache-cases N]

`even` spreads cases over every dimension (bench.py's generator); `clinic` is a clinic-like panel where
most patients share a handful of doses, frequencies and conditions. `bench` writes each cohort as JSON
Lines, runs `clonus batch` on it end to end (a subprocess, as a user would), and prints cases/s with the
cohort's cell count and cache hit rate beside every cached figure, then the --no-cache rate, and the peak
memory (RSS) of the run. Figures vary with load; tests never assert timings.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FREQUENCIES_EVEN = ["qd", "bid", "tid", "qid", "q6h", "q8h", "q12h", "twice daily", "three times a day"]


@functools.cache
def _bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def even_case(rng: random.Random) -> dict:
    """A case spread evenly over every dimension (bench.py's generator)."""
    return _bench().generated_case(rng, FREQUENCIES_EVEN)


def _weighted(rng: random.Random, table: list[tuple[object, float]]) -> object:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def clinic_case(rng: random.Random) -> dict:
    """A clinic-like patient: a handful of common doses, frequencies and conditions, most fields usual."""
    patient: dict = {"age": rng.randint(25, 85), "spasticity": _weighted(rng, [("generalized", 7), ("focal", 3)])}
    if rng.random() < 0.3:
        patient["stroke"] = True
    if rng.random() < 0.5:
        patient["egfr"] = _weighted(rng, [(90, 6), (75, 3), (55, 2), (45, 1), (25, 0.3)])
    if rng.random() < 0.15:
        patient["other_medications"] = [_weighted(rng, [("gabapentin", 3), ("omeprazole", 3), ("oxycodone", 1)])]
    medication = {"drug": "baclofen", "dose": _weighted(rng, [("5 mg", 2), ("10 mg", 5), ("15 mg", 3), ("20 mg", 2)]),
                  "frequency": _weighted(rng, [("tid", 6), ("bid", 2), ("qid", 2)])}
    response: dict = {"relief": _weighted(rng, [("inadequate", 6), ("adequate", 4)])}
    if rng.random() < 0.2:
        response["side_effects"] = [_weighted(rng, [("drowsiness", 4), ("weakness", 2), ("dizziness", 1)])]
    return {"patient": patient, "medication": medication, "response": response}


def cases(kind: str, count: int, seed: int = 1) -> Iterator[tuple[str, dict]]:
    """(id, case) pairs of a generated cohort, streamed (a million never sit in memory)."""
    rng = random.Random(seed)
    make = clinic_case if kind == "clinic" else even_case
    width = len(str(count))
    for i in range(1, count + 1):
        yield f"{kind}-{i:0{width}d}", make(rng)


def write(path: Path, kind: str, count: int, seed: int) -> int:
    sys.path.insert(0, str(REPO))
    from clonus.engine.cohort.formats import write_cohort

    return write_cohort(path, cases(kind, count, seed))


def run_batch(source: Path, target: Path, *extra: str) -> tuple[float, str, float]:
    """`clonus batch` end to end: wall seconds, its summary line, and the peak RSS (MB) of its processes."""
    command = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "clonus", "batch", str(source), "-o", str(target),
               *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    summary = next((line for line in reversed(lines) if line.startswith("clonus batch:")), done.stderr.strip())
    peak = float(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
    return seconds, summary, peak


def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            source = Path(tmp) / f"{kind}.jsonl"
            write(source, kind, args.cases, args.seed)
            seconds, summary, peak = run_batch(source, Path(tmp) / "out.jsonl", "--workers", str(args.workers))
            cells = re.search(r"([\d,]+) cells? evaluated", summary)
            hits = re.search(r"cache hits? \(([\d.]+) %", summary)
            print(f"{kind:6} cached   {args.cases:>9,} cases  {args.cases / seconds:>9,.0f} cases/s end to end "
                  f"({seconds:.1f} s, {args.workers} workers)  cells {cells[1] if cells else '?'}  "
                  f"hit rate {hits[1] if hits else '?'} %  peak RSS {peak:,.0f} MB")
            print(f"         {summary}")
            n = min(args.cases, args.no_cache_cases)
            small = Path(tmp) / f"{kind}-small.jsonl"
            write(small, kind, n, args.seed)
            seconds, summary, peak = run_batch(small, Path(tmp) / "out.jsonl", "--workers", str(args.workers),
                                               "--no-cache")
            print(f"{kind:6} no cache {n:>9,} cases  {n / seconds:>9,.0f} cases/s end to end "
                  f"({seconds:.1f} s, {args.workers} workers)  peak RSS {peak:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write a generated cohort file (.jsonl, .csv or .parquet)")
    w.add_argument("-o", "--output", type=Path, required=True)
    w.add_argument("--kind", choices=("even", "clinic"), default="even")
    w.add_argument("--cases", type=int, default=10_000)
    w.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("bench", help="time `clonus batch` on generated cohorts")
    b.add_argument("--cases", type=int, default=1_000_000)
    b.add_argument("--no-cache-cases", type=int, default=50_000)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--kinds", default="even,clinic")
    b.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.command == "write":
        print(f"{write(args.output, args.kind, args.cases, args.seed):,} cases written to {args.output}")
    else:
        bench(args)


if __name__ == "__main__":
    main()
