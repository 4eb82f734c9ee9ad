"""100,000 valid cases at and around every threshold of the KB, each held to the README's safety promises
and to an exact reference evaluation of the rules; prints the counts.

    python benchmarks/boundary_run.py [--cases 100000] [--workers 2] [--seed 8] [--kb DIR]
                                      [--engine durable|clips] [--profile NAME]

The cases and the judge are tests/boundary_cases.py (the suite runs 2,000 of them and hypothesis over
the same values). Violations counted: an answer refused for valid input (CaseError, SafetyError), a dose
plan above its ceiling or the profile's label maximum (80 mg/day US, 100 mg/day UK) or not increasing
the dose, a dose plan without the increase (or the reverse), dosing advice under 18 or with age, drug,
dose, frequency or relief missing, exclusive codes together, baclofen without the abrupt-stop warning or
without any other code the safety section requires, and any rule fired (or not) otherwise than its
conditions on the exact values say. The KB is bound to --profile (its default when not given) and run on
--engine (the default engine when not given).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def run(seed: int, count: int, kb_dir: str | None, engine: str | None = None, profile: str | None = None
        ) -> tuple[int, Counter, list[str], int, int, float]:
    """Judge `count` cases drawn with `seed`: (cases, violations, examples, dose plans, under 18, seconds)."""
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.knowledge.load import load_kb

    from boundary_cases import BoundaryCases, Judge

    kb = load_kb(kb_dir, profile)
    cases = BoundaryCases(kb)
    rng = random.Random(seed)
    started = time.perf_counter()
    with Advisor(kb, engine=engine) as advisor:
        judge = Judge(advisor)
        for _ in range(count):
            judge.judge(cases.draw(rng))
    tally = judge.tally
    return tally.cases, tally.violations, tally.examples, tally.dose_plans, tally.under_age, \
        time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--kb", default=None, help="KB folder (default: the shipped KB)")
    parser.add_argument("--engine", default=None, help="rule engine (default: the first that runs here)")
    parser.add_argument("--profile", default=None, help="the KB's profile (default: its default profile)")
    args = parser.parse_args()
    from clonus.engine.decide.backend import default_engine
    from clonus.engine.knowledge.load import load_kb

    from boundary_cases import BoundaryCases

    space = BoundaryCases(load_kb(args.kb, args.profile))
    print(f"profile {space.kb.profile.name}, engine {args.engine or default_engine()}")
    print(f"boundary values: {sum(len(o) for o in space.options):,} over {len(space.dims)} dimensions "
          f"({space.size():,} combinations); {len(space.bases)} rule-test cases as contexts")
    shares = [args.cases // args.workers + (i < args.cases % args.workers) for i in range(args.workers)]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run, [args.seed + i for i in range(args.workers)], shares,
                                [args.kb] * args.workers, [args.engine] * args.workers,
                                [args.profile] * args.workers))
    violations: Counter = Counter()
    for _, found, _, _, _, _ in results:
        violations.update(found)
    cases = sum(r[0] for r in results)
    print(f"cases judged: {cases:,} in {time.perf_counter() - started:.0f} s ({args.workers} workers)")
    print(f"  with a dose plan: {sum(r[3] for r in results):,}; under 18: {sum(r[4] for r in results):,}")
    print(f"invariant violations: {sum(violations.values()):,}")
    for kind, count in sorted(violations.items()):
        print(f"  {kind}: {count:,}")
    for example in [e for r in results for e in r[2]][:5]:
        print(f"  e.g. {example}")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
