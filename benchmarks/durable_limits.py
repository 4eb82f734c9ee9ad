"""Measure where durable_rules 2.0.28 stops working, for each KB shape clonus' limits check counts.

    python benchmarks/durable_limits.py [--timeout 4]

Each trial builds a raw durable ruleset in the form clonus' compiler emits (one document per fact,
{"fact": name, "known": true, "v": value}; one pattern per fact an alternative reads; the `$case`
sentinel rule), asserts facts that make every test pass, and runs the agenda, in a fresh interpreter
with a time limit (a hang is a failure, not the end of the script). For each quantity it prints the
largest size that works, the smallest that fails, and how it fails. The figures are the limits the
durable backend declares (engine/backends/durable/__init__.py); tests/test_durable_limits.py pins each
at its boundary through clonus itself.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

PRELUDE = textwrap.dedent("""
    import json, sys
    import durable_rules_engine as dre
    from durable.engine import Host

    class QuietHost(Host):
        def __init__(self, actions):
            self._a = actions
            super().__init__()
        def _run(self):
            return None
        def get_action(self, name):
            return self._a[name]

    def pat(fact, *tests):
        return {"$and": [{"fact": fact}, {"known": True}, *tests]}

    def doc(fact, value):
        return {"sid": "1", "id": fact, "fact": fact, "known": True, "v": value}

    def run(rules, docs):
        rules = {"$sentinel": {"all": [{"p_0": {"fact": "$case"}}]}, **rules}
        fired, actions = [], {}
        for name in rules:
            actions[name] = (lambda n: (lambda c: fired.append(n)))(name)
            rules[name]["run"] = name
        host = QuietHost(actions)
        host.register_rulesets({"rs": rules})
        ruleset = host.get_ruleset("rs")
        docs = [{"sid": "1", "id": "$case", "fact": "$case"}] + docs
        code, state = dre.assert_facts(ruleset._handle, json.dumps(docs))
        result = dre.start_action_for_state(ruleset._handle, state)
        while result:
            result = dre.complete_and_start_action(ruleset._handle, state)
        ruleset.delete_state("1")
        print("ok")
""")

# quantity -> (what n counts, the ruleset and documents for size n)
SHAPES = {
    "facts_read": ("distinct facts read (plus the sentinel's)", """
        rules = {f"r{i}": {"all": [{"p_0": pat(f"x{i}", {"v": True})}]} for i in range(n)}
        docs = [doc(f"x{i}", True) for i in range(n)]
    """),
    "facts_per_alternative": ("facts one rule joins", """
        rules = {"r": {"all": [{f"p_{i}": pat(f"x{i}", {"v": True})} for i in range(n)]}}
        docs = [doc(f"x{i}", True) for i in range(n)]
    """),
    "tests_per_fact": ("values of one `in` list", """
        rules = {"r": {"all": [{"p_0": pat("x", {"$or": [{"v": i} for i in range(n)]})}]}}
        docs = [doc("x", n - 1)]
    """),
    "patterns_per_fact": ("rules with a distinct threshold on one fact, all passing", """
        rules = {f"r{i}": {"all": [{"p_0": pat("x", {"$gte": {"v": i}})}]} for i in range(n)}
        docs = [doc("x", 10**6)]
    """),
    "patterns_per_fact/in": ("rules with the same `in` list on one fact, matching", """
        rules = {f"r{i}": {"all": [{"p_0": pat("x", {"$or": [{"v": 1}, {"v": 2}]})}]} for i in range(n)}
        docs = [doc("x", 1)]
    """),
    "alternatives_per_pattern": ("rules with the identical pattern", """
        rules = {f"r{i}": {"all": [{"p_0": pat("a", {"v": True})}]} for i in range(n)}
        docs = [doc("a", True)]
    """),
    "alternatives": ("rules (plus the sentinel)", """
        rules = {f"r{i}": {"all": [{"p_0": pat(f"x{i % 50}", {"v": i // 50})}]} for i in range(n)}
        docs = [doc("x0", 0)]
    """),
}


def trial(shape: str, n: int, timeout: float) -> str:
    """'ok', or how size n fails: 'hangs', 'crashes (signal N)', 'error code: N'."""
    body = f"n = {n}\n" + textwrap.dedent(SHAPES[shape][1]) + "run(rules, docs)\n"
    try:
        proc = subprocess.run([sys.executable, "-c", PRELUDE + body], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"hangs (no answer in {timeout:g} s)"
    if proc.returncode < 0:
        return f"crashes (signal {-proc.returncode})"
    if proc.returncode == 0 and proc.stdout.strip().endswith("ok"):
        return "ok"
    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return last.split("error: ", 1)[-1] if "error" in last else last


def boundary(shape: str, timeout: float, start: int = 8) -> tuple[int, int, str]:
    """(largest size that works, smallest that fails, how): doubling from `start`, then bisecting."""
    low, high, how = 0, start, trial(shape, start, timeout)
    while how == "ok":
        low, high = high, high * 2
        if high > 10_000:
            return low, -1, "no failure up to 10,000"
        how = trial(shape, high, timeout)
    failing = how
    while high - low > 1:
        middle = (low + high) // 2
        outcome = trial(shape, middle, timeout)
        if outcome == "ok":
            low = middle
        else:
            high, failing = middle, outcome
    return low, high, failing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds before a trial counts as a hang")
    parser.add_argument("--only", nargs="*", choices=sorted(SHAPES), help="measure these quantities only")
    args = parser.parse_args()
    import durable_rules_engine  # noqa: F401 - fail early, with durable's own message, where it does not import

    print(f"durable_rules limits, Python {sys.version.split()[0]} (a hang: no answer in {args.timeout:g} s)")
    print(f"{'quantity':26} {'works at':>9} {'fails at':>9}  how it fails   (n counts)")
    for shape in args.only or SHAPES:
        started = time.perf_counter()
        works, fails, how = boundary(shape, args.timeout)
        print(f"{shape:26} {works:>9,} {fails:>9,}  {how}   ({SHAPES[shape][0]}; "
              f"{time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
