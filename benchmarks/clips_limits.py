"""Measure where CLIPS (clipspy) stops working, for each KB shape clonus' limits check counts.

    python benchmarks/clips_limits.py [--sizes 500 1000 2000 4000 8000] [--timeout 60]
    python benchmarks/clips_limits.py --boundary [--timeout 4] [--up-to 10000]

Each trial builds, in a fresh interpreter with a time limit (a hang is a failure, not the end of the
script), a CLIPS program in the form clonus' compiler emits (engine/backends/clips/compiler.py): one
deftemplate per fact with a `known` slot and a value slot `v`; one defrule per rule alternative, with one
pattern per fact it reads and each test a predicate constraint on the bound value; a right-hand side
that appends the rule's number to a global trace; and the evaluate deffunction, which takes a known flag
and a value per input fact, asserts them and runs. The facts make every test pass. For each quantity it
prints the seconds each size takes (build and one case), so that how the time grows shows; with
--boundary, the largest size that answers within --timeout, the smallest that does not and how, or that
nothing failed up to --up-to (doubling, then bisecting, like benchmarks/durable_limits.py). The figures
are behind the limits the clips backend declares (engine/backends/clips/__init__.py);
tests/test_clips_limits.py pins them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

PRELUDE = textwrap.dedent("""
    import sys, time
    import clips

    SETTINGS = ("(set-fact-duplication FALSE)", "(set-reset-globals TRUE)", "(set-strategy depth)",
                "(set-salience-evaluation when-defined)", "(set-dynamic-constraint-checking FALSE)")

    def pattern(fact, var, *tests):
        constraint = var + "".join(f"&:{t}" for t in tests)
        return f"(fact-{fact} (known TRUE) (v {constraint}))"

    def rule(index, patterns):
        return (f"(defrule rule-{index} " + " ".join(patterns)
                + f" => (bind ?*trace* (create$ ?*trace* {index})))")

    def run(facts, rules, case):
        started = time.perf_counter()
        env = clips.Environment()
        messages = []

        class Capture(clips.Router):
            def query(self, name):
                return name in ("stdout", "stderr", "stdwrn")
            def write(self, name, message):
                messages.append(message)

        env.add_router(Capture("capture", 60))
        # as the runtime does: clipspy's error router never sees a message now, and would cost a Python
        # call per character CLIPS parses
        next(r for r in env.routers() if r.name == "python-error-router").deactivate()
        for setting in SETTINGS:
            env.eval(setting)
        env.build("(defglobal ?*trace* = (create$))")
        for fact in facts:
            env.build(f"(deftemplate fact-{fact} (slot known) (slot v))")
        for text in rules:
            env.build(text)
        params = " ".join(f"?k{i} ?i{i}" for i in range(len(facts)))
        body = " ".join(f"(if ?k{i} then (assert (fact-{f} (known TRUE) (v ?i{i}))) "
                        f"else (assert (fact-{f} (known FALSE))))" for i, f in enumerate(facts))
        env.build(f"(deffunction clonus-evaluate ({params}) {body} (run) (length$ ?*trace*))")
        arguments = []
        for fact in facts:
            arguments += [fact in case, case.get(fact)]
        env.reset()
        fired = env.find_function("clonus-evaluate")(*arguments)
        if messages:
            raise RuntimeError(" ".join("".join(messages).split())[:300])
        print("ok", fired, f"{time.perf_counter() - started:.2f}")
""")

# quantity -> (what n counts, the program and case for size n)
SHAPES = {
    "facts_read": ("distinct facts, each read by one rule", """
        facts = [f"x{i}" for i in range(n)]
        rules = [rule(i, [pattern(f"x{i}", "?v0", "(eq ?v0 TRUE)")]) for i in range(n)]
        case = {f"x{i}": True for i in range(n)}
    """),
    "facts_per_alternative": ("facts one rule joins", """
        facts = [f"x{i}" for i in range(n)]
        rules = [rule(0, [pattern(f"x{i}", f"?v{i}", f"(eq ?v{i} TRUE)") for i in range(n)])]
        case = {f"x{i}": True for i in range(n)}
    """),
    "tests_per_fact": ("values of one `in` list", """
        facts = ["x"]
        either = "(or " + " ".join(f"(= ?v0 {i})" for i in range(n)) + ")"
        rules = [rule(0, [pattern("x", "?v0", "(numberp ?v0)", either)])]
        case = {"x": n - 1}
    """),
    "patterns_per_fact": ("rules with a distinct threshold on one fact, all passing", """
        facts = ["x"]
        rules = [rule(i, [pattern("x", "?v0", "(numberp ?v0)", f"(>= ?v0 {i})")]) for i in range(n)]
        case = {"x": 10**6}
    """),
    "patterns_per_fact/in": ("rules with the same `in` list on one fact, matching", """
        facts = ["x"]
        rules = [rule(i, [pattern("x", "?v0", "(numberp ?v0)", "(or (= ?v0 1) (= ?v0 2))")]) for i in range(n)]
        case = {"x": 1}
    """),
    "alternatives_per_pattern": ("rules with the identical pattern", """
        facts = ["a"]
        rules = [rule(i, [pattern("a", "?v0", "(eq ?v0 TRUE)")]) for i in range(n)]
        case = {"a": True}
    """),
    "alternatives": ("rules over 50 facts", """
        facts = [f"x{i}" for i in range(50)]
        rules = [rule(i, [pattern(f"x{i % 50}", "?v0", "(numberp ?v0)", f"(= ?v0 {i // 50})")]) for i in range(n)]
        case = {"x0": 0}
    """),
}


def trial(shape: str, n: int, timeout: float) -> str:
    """'ok FIRED SECONDS', or how size n fails: 'hangs', 'crashes (signal N)', CLIPS's message."""
    body = f"n = {n}\n" + textwrap.dedent(SHAPES[shape][1]) + "run(facts, rules, case)\n"
    try:
        proc = subprocess.run([sys.executable, "-c", PRELUDE + body], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"hangs (no answer in {timeout:g} s)"
    if proc.returncode < 0:
        return f"crashes (signal {-proc.returncode})"
    if proc.returncode == 0 and proc.stdout.strip().startswith("ok"):
        return proc.stdout.strip()
    return (proc.stderr.strip().splitlines() or ["?"])[-1][:200]


def boundary(shape: str, timeout: float, up_to: int, start: int = 8) -> tuple[int, int, str, str]:
    """(largest size that works, smallest that fails or -1, how, the largest working trial's 'ok' line):
    doubling from `start` up to `up_to`, then bisecting."""
    low, high, how = 0, start, trial(shape, start, timeout)
    good = how
    while how.startswith("ok"):
        good = how
        low = high
        if high >= up_to:
            return low, -1, f"no failure up to {up_to:,}", good
        high = min(high * 2, up_to)
        how = trial(shape, high, timeout)
    failing = how
    while high - low > 1:
        middle = (low + high) // 2
        outcome = trial(shape, middle, timeout)
        if outcome.startswith("ok"):
            low, good = middle, outcome
        else:
            high, failing = middle, outcome
    return low, high, failing, good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a trial counts as a hang")
    parser.add_argument("--boundary", action="store_true", help="bisect for the size past which a trial hangs")
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000, 4000, 8000])
    parser.add_argument("--up-to", type=int, default=10_000, help="the largest size probed")
    parser.add_argument("--only", nargs="*", choices=sorted(SHAPES), help="measure these quantities only")
    args = parser.parse_args()
    import clips  # noqa: F401 - fail early, with clipspy's own message, where it does not import

    print(f"CLIPS limits (clipspy), Python {sys.version.split()[0]} (a hang: no answer in {args.timeout:g} s)")
    if not args.boundary:
        print(f"{'quantity':26} " + " ".join(f"{n:>9,}" for n in args.sizes) + "   seconds (build and one case)")
        for shape in args.only or SHAPES:
            times = []
            for n in args.sizes:
                outcome = trial(shape, n, args.timeout)
                times.append(outcome.split()[-1] if outcome.startswith("ok") else outcome.split()[0])
            print(f"{shape:26} " + " ".join(f"{t:>9}" for t in times) + f"   ({SHAPES[shape][0]})", flush=True)
        return
    print(f"{'quantity':26} {'works at':>9} {'fails at':>9}  how it fails   (n counts; seconds at the largest)")
    for shape in args.only or SHAPES:
        started = time.perf_counter()
        works, fails, how, good = boundary(shape, args.timeout, args.up_to)
        took = good.split()[-1] if good.startswith("ok") else "?"
        print(f"{shape:26} {works:>9,} {fails:>9,}  {how}   ({SHAPES[shape][0]}; {took} s at {works:,}; "
              f"{time.perf_counter() - started:.0f} s in all)", flush=True)


if __name__ == "__main__":
    main()
