"""durable_rules' limits, each pinned at its boundary through clonus: a KB exactly at the limit loads,
compiles and answers; one step past it is refused before durable sees it, as one located problem
(`file:line: rule-id: when: ...`); and the same KB handed to durable anyway (the check bypassed, in a
subprocess) hangs, crashes or fails, as benchmarks/durable_limits.py measured.

Regression: an `in` list of 520 values, 600 facts each read by one rule or one rule with 600 conditions
hung `advise` and `lint` for ever; 65 thresholds on one fact, 300 rules sharing one pattern and a rule
joining 300 facts failed inside durable (errors 303, 108, 304) with no file, line or rule.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from clonus.engine.backends.durable import LIMITS
from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import ENGINES, load_backend
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.decide.limits import QUANTITIES, Limits, plan_problems
from clonus.engine.errors import KbError
from clonus.engine.knowledge.load import load_kb

from test_runtime_guards import CLONUS_PRELUDE, MONITOR, run_python, write_rules

# what is durable_rules' own (compiling and running a KB) runs where it imports: 3.11 and 3.12; the check
# that refuses a KB past its limits is clonus' and runs everywhere
DURABLE_MISSING = load_backend("durable").available()
needs_durable = pytest.mark.skipif(DURABLE_MISSING is not None, reason=f"durable_rules: {DURABLE_MISSING}")

HANG_SECONDS = 5  # the KB at the limit compiles in well under a second; past it durable never returns


def _inputs(n: int) -> dict:
    return {f"x{i}": {"type": "boolean", "origin": "input", "case_field": f"patient.x{i}", "default": False}
            for i in range(n)}


def shape(quantity: str, n: int) -> tuple[list[dict], dict, dict, str]:
    """(rules, extra facts, a case's facts that make every condition hold, the rule that takes the KB to
    size n) for a KB whose `quantity` is n and which stays within every other limit."""
    if quantity == "facts_read":
        rules = [{"id": f"t.reads-x{i}", "when": [f"x{i}"], "then": MONITOR} for i in range(n)]
        return rules, _inputs(n), {f"x{i}": True for i in range(n)}, f"t.reads-x{n - 1}"
    if quantity == "facts_per_alternative":
        rules = [{"id": "t.joins", "when": [f"x{i}" for i in range(n)], "then": MONITOR}]
        return rules, _inputs(n), {f"x{i}": True for i in range(n)}, "t.joins"
    if quantity == "tests_per_fact":
        listed = ", ".join(f"d{i}" for i in range(n))
        rules = [{"id": "t.listed", "when": [f"drug in [{listed}]"], "then": MONITOR}]
        return rules, {}, {"drug": f"d{n - 1}"}, "t.listed"
    if quantity == "patterns_per_fact":
        rules = [{"id": f"t.age-{i}", "when": [f"age >= {i}"], "then": MONITOR} for i in range(n)]
        return rules, {}, {"age": 100}, f"t.age-{n - 1}"
    if quantity == "alternatives_per_pattern":
        rules = [{"id": f"t.same-{i}", "when": ["epilepsy"], "then": MONITOR} for i in range(n)]
        return rules, {}, {"epilepsy": True}, f"t.same-{n - 1}"
    if quantity == "alternatives":
        # 32 alternatives a rule (the most a condition may expand to), over 64 thresholds on age: within
        # every other limit; the last rule takes the count to n
        rules, made = [], 0
        while made < n:
            size = min(32, n - made)
            rules.append({"id": f"t.any-{len(rules)}",
                          "when": [{"any": [f"age >= {(made + k) % 64}" for k in range(size)]}], "then": MONITOR})
            made += size
        return rules, {}, {"age": 100}, rules[-1]["id"]
    raise AssertionError(quantity)


# how durable fails one step past each limit, with clonus' check bypassed: a full 512-slot table of
# children (facts_read, tests_per_fact) makes each lookup loop, for ever or until the loop overflows
# the matching stack (error 303), depending on the facts' order; one more child and compiling hangs
PAST = {
    "facts_read": ("hang", "error code: 303"),
    "facts_per_alternative": ("error code: 304",),
    "tests_per_fact": ("hang", "error code: 303"),
    "patterns_per_fact": ("error code: 303",),
    "alternatives_per_pattern": ("crash",),
    "alternatives": ("error code: 106",),
}

EVALUATE = """
    dirs, cases = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    for kb_dir, case in zip(dirs, cases):
        try:
            e = engine(kb_dir)
            print("fired", len(e.evaluate(case, set()).firings), flush=True)
            e.close()
        except Exception as exc:
            print("error", type(exc).__name__, exc, flush=True)
"""


def _kb(tmp_path, kb_copy_factory, quantity: str, n: int):
    rules, facts, case, crossing = shape(quantity, n)
    return write_rules(kb_copy_factory(tmp_path / f"{quantity}-{n}"), rules, facts), case, crossing


def test_every_quantity_has_a_measured_durable_limit_and_a_failure_past_it():
    assert set(QUANTITIES) == set(PAST) == {q for q in QUANTITIES if getattr(LIMITS, q) is not None}
    assert (LIMITS.facts_read, LIMITS.facts_per_alternative, LIMITS.tests_per_fact, LIMITS.patterns_per_fact,
            LIMITS.alternatives_per_pattern, LIMITS.alternatives) == (510, 16, 511, 64, 255, 4_095)


@pytest.mark.parametrize("quantity", sorted(PAST))
def test_kb_one_past_the_limit_is_one_located_problem(tmp_path, kb_copy_factory, quantity):
    limit = getattr(LIMITS, quantity)
    within, _, _ = _kb(tmp_path, kb_copy_factory, quantity, limit)
    assert plan_problems(make_evaluation_plan(load_kb(within)), LIMITS) == []
    past, _, crossing = _kb(tmp_path, kb_copy_factory, quantity, limit + 1)
    kb = load_kb(past)  # the KB itself is valid: it is this engine that cannot run it
    [problem] = plan_problems(make_evaluation_plan(kb), LIMITS)
    rule = kb.rule(crossing)
    assert (problem.file, problem.rule, problem.field) == (rule.file, crossing, "when")
    assert rule.line <= problem.line <= rule.line + 8  # the rule, or the condition that crossed the limit
    assert problem.message.endswith(f"; durable_rules takes at most {limit:,} (past that, {LIMITS.effect(quantity)})")
    assert f"{limit + 1:,}" in problem.message or quantity in ("patterns_per_fact", "alternatives_per_pattern")


@needs_durable
def test_the_advisor_refuses_a_kb_past_durables_limits_before_durable_sees_it(tmp_path, kb_copy_factory):
    for quantity in sorted(PAST):
        past, _, _ = _kb(tmp_path, kb_copy_factory, quantity, getattr(LIMITS, quantity) + 1)
        kb = load_kb(past)
        with pytest.raises(KbError) as info:
            Advisor(kb, engine="durable")
        assert list(info.value.problems) == plan_problems(make_evaluation_plan(kb), LIMITS), quantity


def test_a_backend_that_declares_no_limits_is_checked_against_none(tmp_path, kb_copy_factory):
    past, _, _ = _kb(tmp_path, kb_copy_factory, "patterns_per_fact", LIMITS.patterns_per_fact + 1)
    assert plan_problems(make_evaluation_plan(load_kb(past)), Limits()) == []


@needs_durable
def test_durable_answers_every_kb_at_its_limits(tmp_path, kb_copy_factory):
    """All six KBs at their limits, compiled and evaluated in one fresh interpreter (perturbed heap)."""
    built = [_kb(tmp_path, kb_copy_factory, q, getattr(LIMITS, q)) for q in sorted(PAST)]
    result = run_python(EVALUATE, json.dumps([str(d) for d, _, _ in built]), json.dumps([c for _, c, _ in built]),
                        prelude=CLONUS_PRELUDE, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {"facts_read": 510, "facts_per_alternative": 1, "tests_per_fact": 1, "patterns_per_fact": 64,
                "alternatives_per_pattern": 255, "alternatives": 4_095}
    assert result.stdout.split("\n")[:-1] == [f"fired {expected[q]}" for q in sorted(PAST)]


@needs_durable
@pytest.mark.parametrize("quantity", sorted(PAST))
def test_durable_fails_one_past_its_limit(tmp_path, kb_copy_factory, quantity):
    """What clonus' check prevents: the KB one past the limit, handed to durable anyway."""
    past, case, _ = _kb(tmp_path, kb_copy_factory, quantity, getattr(LIMITS, quantity) + 1)
    try:
        result = run_python(EVALUATE, json.dumps([str(past)]), json.dumps([case]), prelude=CLONUS_PRELUDE,
                            timeout=HANG_SECONDS if "hang" in PAST[quantity] else 120)
    except subprocess.TimeoutExpired:
        outcome = "hang"
    else:
        if result.returncode in (-signal.SIGSEGV, -signal.SIGABRT):
            outcome = "crash"
        else:
            outcome = result.stdout.strip()
    if outcome in ("hang", "crash"):
        assert outcome in PAST[quantity]
    else:
        assert outcome.startswith("error EngineError") and any(p in outcome for p in PAST[quantity]), outcome


def test_every_backend_declares_its_limits():
    """The Advisor checks every plan against its backend's limits(): a backend without them cannot run."""
    for name in ENGINES:
        assert isinstance(load_backend(name).limits(), Limits), name
