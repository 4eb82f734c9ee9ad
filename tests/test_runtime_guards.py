"""Every durable_rules 2.0.28 sharp edge clonus guards against (../shared/reference/durable_rules.md),
pinned twice where it helps: the raw hazard in durable itself, and the clonus guard that removes it.

Raw hazards that can crash the interpreter run in a subprocess and are judged by its return code.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

from clonus.engine.backends.durable import BACKEND
from clonus.engine.backends.durable.compiler import compile_plan
from clonus.engine.backends.durable.runtime import DurableEngine as Engine
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.errors import EngineError, KbError
from clonus.engine.intake.case import parse_case
from clonus.engine.knowledge.load import load_kb

from conftest import reference_case

REPO = Path(__file__).resolve().parent.parent

# durable_rules is installed on Python 3.11 and 3.12 only (it does not import on 3.13): there, every test
# here is skipped with this reason, shown in the summary (pytest -ra).
pytestmark = pytest.mark.skipif(BACKEND.available() is not None, reason=f"durable_rules: {BACKEND.available()}")

# A Host without its two timer threads, for the raw experiments (each runs in its own interpreter).
RAW_PRELUDE = textwrap.dedent("""
    import json, sys, threading
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
""")

# The same for clonus: helpers to build an Engine on a tiny KB written by the test.
CLONUS_PRELUDE = textwrap.dedent("""
    import gc, json, os, sys
    from clonus.engine.backends.durable.compiler import compile_plan
    from clonus.engine.errors import EngineError, KbError
    from clonus.engine.knowledge.load import load_kb
    from clonus.engine.decide.evaluation import make_evaluation_plan
    from clonus.engine.backends.durable.runtime import DurableEngine as Engine

    def engine(kb_dir):
        return Engine(compile_plan(make_evaluation_plan(load_kb(kb_dir))))

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
""")


# glibc fills every allocated and freed block with this byte: reads of uninitialised or freed memory in
# the C core then crash every time, instead of depending on what the heap happened to hold (a delete of
# an idle state crashed in one build of durable_rules and ran on in another without it).
PERTURBED_HEAP = {"MALLOC_PERTURB_": "165"}


def run_python(body: str, *args: str, prelude: str = RAW_PRELUDE, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a script in a fresh interpreter, on a perturbed heap; a segfault shows as a negative returncode
    instead of killing pytest."""
    env = {**os.environ, **PERTURBED_HEAP}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(body), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


def write_rules(kb_dir: Path, rules: list[dict], extra_facts: dict | None = None) -> Path:
    """Replace the KB copy's rules by `rules` (id, when, then; the rest filled in); add derived facts."""
    for path in (kb_dir / "rules").glob("*.yaml"):
        path.unlink()
    if extra_facts:
        facts_file = kb_dir / "facts.yaml"
        doc = yaml.safe_load(facts_file.read_text(encoding="utf-8"))
        for name, spec in extra_facts.items():
            doc["facts"][name] = {"label": name.replace("_", " "), "description": "test fact", **spec}
        facts_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    full = [{"title": rule["id"], "status": "approved", "version": 1, "sources": ["S00"],
             "rationale": "test rule", **rule} for rule in rules]
    (kb_dir / "rules" / "x.yaml").write_text(yaml.safe_dump({"rules": full}, sort_keys=False), encoding="utf-8")
    return kb_dir


def engine_for(kb_dir: Path) -> Engine:
    return Engine(compile_plan(make_evaluation_plan(load_kb(kb_dir))))


def derived_bool(name: str) -> dict:
    return {name: {"type": "boolean", "origin": "derived"}}


MONITOR = {"recommend": ["monitor_adverse_effects"]}


# -- state ids are found by a 32-bit hash: keep one live state per ruleset --------------------------------

RAW_JOIN = """
    fired = []
    host = QuietHost({"join": lambda c: fired.append(1)})
    host.register_rulesets({"rs": {"join": {"all": [{"a": {"k": "x"}}, {"b": {"k": "y"}}], "run": "join"}}})
    host.assert_fact("rs", {"sid": sys.argv[1], "k": "x"})
    host.assert_fact("rs", {"sid": sys.argv[2], "k": "y"})
    print(len(fired))
"""


def test_raw_durable_joins_facts_of_two_patients_whose_sids_collide():
    colliding = run_python(RAW_JOIN, "patient-332789", "patient-529192")
    distinct = run_python(RAW_JOIN, "patient-1", "patient-2")
    assert colliding.returncode == 0 and distinct.returncode == 0, colliding.stderr + distinct.stderr
    assert colliding.stdout.split() == ["1"]  # one patient's x joined the other patient's y
    assert distinct.stdout.split() == ["0"]


class _Spy:
    """Records which durable state ids are live: asserted and not yet deleted."""

    def __init__(self, monkeypatch):
        import durable_rules_engine as dre

        self.live: set[str] = set()
        self.max_live = 0
        self.deleted: list[str] = []
        self.codes: list[int] = []
        real_batch, real_one, real_delete = dre.assert_facts, dre.assert_fact, dre.delete_state

        def note(payload: str) -> None:
            docs = json.loads(payload)
            for doc in docs if isinstance(docs, list) else [docs]:
                self.live.add(doc["sid"])
            self.max_live = max(self.max_live, len(self.live))

        def assert_facts(handle, payload):
            note(payload)
            result = real_batch(handle, payload)
            self.codes.append(result[0])
            return result

        def assert_fact(handle, payload):
            note(payload)
            return real_one(handle, payload)

        def delete_state(handle, sid):
            self.live.discard(sid)
            self.deleted.append(sid)
            return real_delete(handle, sid)

        monkeypatch.setattr(dre, "assert_facts", assert_facts)
        monkeypatch.setattr(dre, "assert_fact", assert_fact)
        monkeypatch.setattr(dre, "delete_state", delete_state)


def test_engine_keeps_one_live_state_and_deletes_it_after_each_case(monkeypatch, advisor):
    spy = _Spy(monkeypatch)
    engine = Engine(compile_plan(advisor.plan))
    try:
        for age in range(10, 90, 4):
            case = reference_case()
            case["patient"]["age"] = age
            parsed = parse_case(advisor.kb, case)
            engine.evaluate(parsed.facts, parsed.absent)
            assert spy.live == set()
    finally:
        engine.close()
    assert spy.max_live == 1
    assert len(spy.deleted) == len(set(spy.deleted)) == 20


def test_colliding_state_ids_in_turn_do_not_mix_two_cases(shipped_kb):
    """Case 1 knows the age only, case 2 the rest: joined, they would escalate; kept apart, neither does."""
    first = parse_case(shipped_kb, {"patient": {"age": 45}})
    second = parse_case(shipped_kb, {"medication": {"drug": "baclofen", "dose": "15 mg", "frequency": "q8h"},
                                     "response": {"relief": "inadequate"}})
    compiled = compile_plan(make_evaluation_plan(shipped_kb))
    with Engine(compiled) as fresh:
        alone = fresh.evaluate(second.facts, second.absent)
    with Engine(compiled) as engine:
        engine._sids = iter(["patient-332789", "patient-529192"])  # the colliding pair, one after the other
        engine.evaluate(first.facts, first.absent)
        after = engine.evaluate(second.facts, second.absent)
    assert after == alone
    assert after.derived.get("escalating") is not True


def test_reentrant_evaluate_raises_engine_error(monkeypatch, shipped_kb):
    original = Engine._action
    holder: dict[str, Engine] = {}

    def action(self, name):
        inner = original(self, name)
        if name.startswith("scope.adult-oral-baclofen"):
            def reenter(c):
                holder["engine"].evaluate({"age": 30}, set())
            return reenter
        return inner

    monkeypatch.setattr(Engine, "_action", action)
    case = parse_case(shipped_kb, reference_case())
    with Engine(compile_plan(make_evaluation_plan(shipped_kb))) as engine:
        holder["engine"] = engine
        with pytest.raises(EngineError, match="one case at a time"):
            engine.evaluate(case.facts, case.absent)


def test_concurrent_evaluate_raises_engine_error_and_first_case_completes(monkeypatch, shipped_kb):
    original = Engine._action
    inside, release = threading.Event(), threading.Event()

    def action(self, name):
        inner = original(self, name)
        if name.startswith("scope.adult-oral-baclofen"):
            def blocking(c):
                inside.set()
                release.wait(30)
                inner(c)
            return blocking
        return inner

    monkeypatch.setattr(Engine, "_action", action)
    case = parse_case(shipped_kb, reference_case())
    outcome: dict[str, object] = {}
    with Engine(compile_plan(make_evaluation_plan(shipped_kb))) as engine:
        worker = threading.Thread(target=lambda: outcome.setdefault("first", engine.evaluate(case.facts, case.absent)))
        worker.start()
        assert inside.wait(30)
        try:
            with pytest.raises(EngineError, match="one case at a time"):
                engine.evaluate(case.facts, case.absent)
        finally:
            release.set()
            worker.join(30)
        assert "escalating" in outcome["first"].derived
        again = engine.evaluate(case.facts, case.absent)  # the engine is still usable
    assert again == outcome["first"]


# -- exceptions raised inside actions are swallowed by durable -------------------------------------------

def test_raw_durable_swallows_an_exception_raised_in_an_action():
    result = run_python("""
        def boom(c):
            raise ValueError("boom")
        host = QuietHost({"boom": boom})
        host.register_rulesets({"rs": {"r": {"all": [{"m": {"k": "x"}}], "run": "boom"}}})
        state = host.assert_fact("rs", {"sid": "1", "k": "x"})   # returns normally
        print(json.dumps(state))
    """)
    assert result.returncode == 0, result.stderr
    assert "boom" in json.loads(result.stdout)["exception"]


def test_two_rules_asserting_different_values_of_one_fact_raise_engine_error(kb_copy, tmp_path):
    """The loader refuses such a KB (knowledge/load/derived.py); should two such rules meet anyway (a Kb
    assembled past the loader), the runtime still refuses to let a derived fact hold two values."""
    low = {"id": "t.band-low", "when": ["age >= 18"], "then": {"assert": {"dose_band": "below_max"}}}
    high = {"id": "t.band-max", "when": ["age >= 40"], "then": {"assert": {"dose_band": "at_max"}}}
    with pytest.raises(KbError, match="both can fire for one case"):
        load_kb(write_rules(kb_copy, [low, high]))
    first = load_kb(write_rules(kb_copy, [low]))
    second = load_kb(write_rules(kb_copy, [high]))
    both = dataclasses.replace(first, rules=first.rules + second.rules)
    with Engine(compile_plan(make_evaluation_plan(both))) as engine:
        with pytest.raises(EngineError, match="derived facts hold one value"):
            engine.evaluate({"age": 45}, set())
        assert engine.evaluate({"age": 20}, set()).derived == {"dose_band": "below_max"}  # still usable


def test_exception_in_an_action_raises_engine_error(monkeypatch, kb_copy):
    write_rules(kb_copy, [
        {"id": "t.adult", "when": ["age >= 18"], "then": MONITOR},
        {"id": "t.any-age", "when": ["known age"], "then": MONITOR},
    ])
    original = Engine._action

    def action(self, name):
        inner = original(self, name)
        if name.startswith("t.adult"):
            def failing(c):
                raise RuntimeError("injected failure")
            return failing
        return inner

    monkeypatch.setattr(Engine, "_action", action)
    with engine_for(kb_copy) as engine:
        with pytest.raises(EngineError, match="injected failure"):
            engine.evaluate({"age": 45}, set())
        assert [f.rule for f in engine.evaluate({"age": 10}, set()).firings] == ["t.any-age"]


def test_derived_value_that_no_rule_tests_is_not_an_error(kb_copy):
    """durable raises MessageNotHandledException for a fact that passes no pattern (issue 350)."""
    write_rules(kb_copy, [
        {"id": "t.band", "when": ["age >= 18"], "then": {"assert": {"dose_band": "above_max"}}},
        {"id": "t.below", "when": ["dose_band == below_max"], "then": MONITOR},
    ])
    with engine_for(kb_copy) as engine:
        evaluation = engine.evaluate({"age": 45}, set())
    assert evaluation.derived == {"dose_band": "above_max"}
    assert [f.rule for f in evaluation.firings] == ["t.band"]


# -- negation: never durable's, stratified completion instead ---------------------------------------------

def test_raw_durable_negation_depends_on_assertion_order():
    result = run_python("""
        import itertools
        answers = {}
        for order in itertools.permutations(["x", "z"]):
            for batch in (False, True):
                fired = []
                def derive(c):
                    c.assert_fact({"k": "y"})   # y follows from z: the blocker arrives late
                host = QuietHost({"fire": lambda c: fired.append(1), "derive": derive})
                host.register_rulesets({"rs": {
                    "r": {"all": [{"first": {"k": "x"}}, {"m$not": {"k": "y"}}], "run": "fire"},
                    "d": {"all": [{"m": {"k": "z"}}], "run": "derive"},
                }})
                facts = [{"sid": "1", "k": k} for k in order]
                if batch:
                    host.assert_facts("rs", facts)
                else:
                    for fact in facts:
                        host.assert_fact("rs", fact)
                answers["".join(order) + ("-batch" if batch else "")] = len(fired)
        print(json.dumps(answers))
    """)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    # With x and z, y holds, so "x and not y" is false: the right answer is 0 firings in every order.
    assert answers["zx"] == 0
    assert sorted(set(answers.values())) == [0, 1]  # ...but durable's answer depends on the order


NEGATION_FACTS = {**derived_bool("link_a"), **derived_bool("link_b"), **derived_bool("blocked"),
                  **derived_bool("outcome"), **derived_bool("second")}
NEGATION_RULES = [
    {"id": "t.link-a", "when": ["epilepsy"], "then": {"assert": {"link_a": True}}},
    {"id": "t.link-b", "when": ["link_a", "pregnant"], "then": {"assert": {"link_b": True}}},
    {"id": "t.blocked", "when": {"any": ["link_b", "stroke"]}, "then": {"assert": {"blocked": True}}},
    {"id": "t.outcome", "when": ["dialysis", "not blocked"], "then": {"assert": {"outcome": True}}},
    {"id": "t.second", "when": ["not outcome", "epilepsy"], "then": {"assert": {"second": True}}},
]
INPUTS = ("epilepsy", "pregnant", "stroke", "dialysis")


def brute_force(case: dict[str, bool]) -> dict[str, bool]:
    link_a = case["epilepsy"]
    link_b = link_a and case["pregnant"]
    blocked = link_b or case["stroke"]
    outcome = case["dialysis"] and not blocked
    second = not outcome and case["epilepsy"]
    return {"link_a": link_a, "link_b": link_b, "blocked": blocked, "outcome": outcome, "second": second}


class _OrderedEngine(Engine):
    """Asserts the case's documents in a given order instead of the sorted one."""

    order: tuple[int, ...] = ()

    def _input_documents(self, sid, facts, absent):
        docs = super()._input_documents(sid, facts, absent)
        return [docs[i] for i in self.order]


def test_compiled_rulesets_never_use_engine_negation_or_item_quantifiers(kb_copy, shipped_kb):
    tiny = load_kb(write_rules(kb_copy, NEGATION_RULES + [
        {"id": "t.lacks", "when": ["other_medications lacks ciprofloxacin"], "then": MONITOR},
    ], NEGATION_FACTS))
    for kb in (shipped_kb, tiny):
        for include_draft in (False, True):
            text = json.dumps(dict(compile_plan(make_evaluation_plan(kb, include_draft)).definition))
            for marker in ("$not", "$nex", "$ex", "$iall", "$iany"):
                assert marker not in text


def test_stratified_negation_matches_brute_force_in_every_order(kb_copy):
    kb = load_kb(write_rules(kb_copy, NEGATION_RULES, NEGATION_FACTS))
    plan = make_evaluation_plan(kb)
    assert plan.rule_strata["t.outcome"] == 1 and plan.rule_strata["t.second"] == 2
    compiled = compile_plan(plan)
    cases = [dict(zip(INPUTS, bits, strict=True)) for bits in itertools.product((False, True), repeat=len(INPUTS))]
    with Engine(compiled) as plain:
        size = len(plain._input_documents("0", cases[0], set()))
    assert size == 1 + len(INPUTS)  # the sentinel and the four facts the rules read
    checked = 0
    for order in itertools.permutations(range(size)):  # every order of the case's documents in its batch
        engine = _OrderedEngine(compiled)
        engine.order = order
        with engine:
            for case in cases:
                got = engine.evaluate(case, set())
                expected = brute_force(case)
                assert {k: bool(got.derived.get(k, False)) for k in expected} == expected, (order, case)
                assert ("t.outcome" in [f.rule for f in got.firings]) == expected["outcome"]
                checked += 1
    assert checked == 120 * 16


def test_stratified_negation_matches_brute_force_for_every_rule_order(kb_copy):
    kb = load_kb(write_rules(kb_copy, NEGATION_RULES, NEGATION_FACTS))
    cases = [dict(zip(INPUTS, bits, strict=True)) for bits in itertools.product((False, True), repeat=len(INPUTS))]
    for rules in itertools.permutations(kb.rules):  # rule order is durable's registration (agenda) order
        with Engine(compile_plan(make_evaluation_plan(dataclasses.replace(kb, rules=rules)))) as engine:
            for case in cases:
                got = engine.evaluate(case, set())
                assert {k: bool(got.derived.get(k, False)) for k in brute_force(case)} == brute_force(case)


# -- the agenda order is durable's own: the Advisor puts firings in the canonical order ------------------

def test_raw_durable_fires_out_of_wave_order(advisor):
    """Example 02: durable fires baclofen.failed.at-limit (which needs dose_band, a derived fact) before
    monitor.adverse-effects, a rule of an earlier wave; the canonical order puts the earlier wave first."""
    from clonus.engine.decide.order import canonical
    from clonus.engine.intake.case import read_case_text

    path = REPO / "examples" / "02-at-max-focal.yaml"
    case = parse_case(advisor.kb, read_case_text(path.read_text(encoding="utf-8"), path.name))
    with Engine(compile_plan(advisor.plan)) as engine:
        raw = engine.evaluate(case.facts, case.absent)
    fired = [f.rule for f in raw.firings]
    ordered = [f.rule for f in canonical(advisor.plan, raw).firings]
    assert fired != ordered and sorted(fired) == sorted(ordered)
    late, early = "baclofen.failed.at-limit", "monitor.adverse-effects"
    assert fired.index(late) < fired.index(early) and ordered.index(early) < ordered.index(late)


# -- deleting a state on which no action ran segfaults ---------------------------------------------------

def test_raw_durable_segfaults_deleting_an_idle_state():
    result = run_python("""
        host = QuietHost({"join": lambda c: None})
        host.register_rulesets({"rs": {"join": {"all": [{"a": {"k": "x"}}, {"b": {"k": "y"}}], "run": "join"}}})
        ruleset = host.get_ruleset("rs")
        ruleset.assert_fact({"sid": "1", "k": "x"})   # half a join: no action runs
        ruleset.delete_state("1")
        print("survived")
    """)
    assert result.returncode in (-signal.SIGSEGV, -signal.SIGABRT)
    assert "survived" not in result.stdout


IDLE_RULES = [{"id": "t.join", "when": ["epilepsy", "pregnant"], "then": MONITOR}]


def test_engine_deletes_states_where_no_rule_fired_without_crashing(kb_copy):
    """Half-joined cases where only the sentinel action runs, many times over, in a fresh interpreter."""
    write_rules(kb_copy, IDLE_RULES)
    result = run_python("""
        fired = 0
        with engine(sys.argv[1]) as e:
            for i in range(500):
                fired += len(e.evaluate({"epilepsy": True, "pregnant": False}, set()).firings)
            fired_last = len(e.evaluate({"epilepsy": True, "pregnant": True}, set()).firings)
        print(fired, fired_last)
    """, str(kb_copy), prelude=CLONUS_PRELUDE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "1"]


FAIL_AFTER_ASSERT = """
    import durable_rules_engine as dre
    deleted = []
    e = engine(sys.argv[1])
    real_assert, real_delete = dre.assert_facts, dre.delete_state
    def assert_then_fail(handle, payload):
        real_assert(handle, payload)          # the state now exists; no action has run on it
        raise RuntimeError("injected")
    def delete_state(handle, sid):
        deleted.append(sid)
        return real_delete(handle, sid)
    dre.assert_facts, dre.delete_state = assert_then_fail, delete_state
    if sys.argv[2] == "unguarded":            # what a naive clean-up would do
        e._abandon = lambda run: e._ruleset.delete_state(run.sid)
    try:
        e.evaluate({"epilepsy": True, "pregnant": False}, set())
    except EngineError as exc:
        print("EngineError:", exc)
    dre.assert_facts = real_assert
    print("then:", len(e.evaluate({"epilepsy": True, "pregnant": True}, set()).firings), "firing(s)")
    print("closed" if e._closed else "open", "deleted", deleted)
"""


def test_regression_engine_failure_before_any_action_keeps_the_engine_open(kb_copy):
    """Bug: a failure in durable's assert, before any action ran, closed the engine for good (deleting
    an idle state segfaults, so the whole ruleset was freed): every later case failed. Now the state gets
    a rescue sentinel, whose action runs, and is deleted; the next case is answered as usual."""
    write_rules(kb_copy, IDLE_RULES)
    guarded = run_python(FAIL_AFTER_ASSERT, str(kb_copy), "guarded", prelude=CLONUS_PRELUDE)
    assert guarded.returncode == 0, guarded.stderr
    assert "EngineError: durable_rules rejected the case's facts: injected" in guarded.stdout
    assert "then: 1 firing(s)" in guarded.stdout
    assert "open deleted ['1', '2']" in guarded.stdout  # the failed case's state, rescued, then deleted
    unguarded = run_python(FAIL_AFTER_ASSERT, str(kb_copy), "unguarded", prelude=CLONUS_PRELUDE)
    assert unguarded.returncode in (-signal.SIGSEGV, -signal.SIGABRT)  # what a naive clean-up would do


SURROGATE = """
    import durable_rules_engine as dre
    e = engine(sys.argv[1])
    try:
        dre.assert_facts(e._ruleset._handle, json.dumps({"sid": "x", "fact": "drug", "v": "\\ud800"},
                                                        ensure_ascii=False))
    except Exception as exc:
        print("raw:", exc)
    try:
        e.evaluate({"drug": "\\ud800"}, set())
    except EngineError as exc:
        print("EngineError:", exc)
    print("then:", [f.rule for f in e.evaluate({"drug": "baclofen"}, set()).firings])
    print("closed" if e._closed else "open")
"""


def test_regression_lone_surrogate_never_reaches_durable_nor_closes_the_engine(kb_copy):
    """Bug: a lone surrogate in a text fact (JSON "\\ud800", non-UTF-8 argv) made durable's argument parsing
    fail ('pyAssertFacts Invalid argument') and the engine closed itself for good. Intake refuses such
    text; below it, the runtime refuses the payload before durable sees it, and stays open."""
    write_rules(kb_copy, [{"id": "t.baclofen", "when": ["drug == baclofen"], "then": MONITOR}])
    result = run_python(SURROGATE, str(kb_copy), prelude=CLONUS_PRELUDE)
    assert result.returncode == 0, result.stderr
    assert "raw: pyAssertFacts Invalid argument" in result.stdout
    assert "EngineError: a fact's text is not valid Unicode (" in result.stdout
    assert "surrogates not allowed" in result.stdout
    assert "then: ['t.baclofen']" in result.stdout
    assert result.stdout.rstrip().endswith("open")


def test_compiled_rules_use_only_all_and_survive_registration_unchanged(shipped_kb):
    """durable accepts only all/any/pri/count/cap/dist/run (105 otherwise), fires `any` more than once for
    one match, wraps negative `pri`, and deletes `run` from the dict it registers."""
    compiled = compile_plan(make_evaluation_plan(shipped_kb, include_draft=True))
    snapshot = json.dumps(dict(compiled.definition), sort_keys=True)
    assert {key for rule in compiled.definition.values() for key in rule} == {"all"}
    first, second = Engine(compiled), Engine(compiled)
    try:
        assert first._name != second._name  # one ruleset name per engine (issue 262)
        assert json.dumps(dict(compiled.definition), sort_keys=True) == snapshot
        registered = first._ruleset.get_definition()  # what durable kept (and mutated): a deep copy
        assert all(registered[name] is not rule for name, rule in compiled.definition.items())
    finally:
        first.close()
        second.close()


# -- timer threads and ruleset memory --------------------------------------------------------------------

def test_raw_host_starts_two_timer_threads():
    result = run_python("""
        import time
        from durable.engine import Host
        before = threading.active_count()
        host = Host()
        started = threading.active_count()
        time.sleep(0.6)   # they re-arm themselves for ever
        print(started - before, threading.active_count() - before)
    """)
    assert result.returncode == 0, result.stderr
    started, later = map(int, result.stdout.split())
    assert started == 2 and later >= 2


def test_building_engines_starts_no_threads(shipped_kb):
    compiled = compile_plan(make_evaluation_plan(shipped_kb))
    before = threading.active_count()
    engines = [Engine(compiled) for _ in range(20)]
    for engine in engines:
        engine.evaluate({"age": 45, "drug": "baclofen"}, set())
    assert threading.active_count() == before
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    for engine in engines:
        engine.close()


MANY_ENGINES = """
    compiled = compile_plan(make_evaluation_plan(load_kb(None)))
    with Engine(compiled) as warm:
        warm.evaluate({"age": 45}, set())
    gc.collect()
    start = rss_mb()
    for i in range(300):
        e = Engine(compiled)
        e.evaluate({"age": 45, "drug": "baclofen"}, set())
        if sys.argv[1] == "close":
            e.close()
        del e
    gc.collect()
    print(round(rss_mb() - start, 1))
"""


def test_closing_engines_frees_their_rulesets():
    """300 engines built, used and closed cost a few MB; left to the garbage collector, over 100 MB."""
    closed = run_python(MANY_ENGINES, "close", prelude=CLONUS_PRELUDE)
    leaked = run_python(MANY_ENGINES, "drop", prelude=CLONUS_PRELUDE)
    assert closed.returncode == 0 and leaked.returncode == 0, closed.stderr + leaked.stderr
    assert float(closed.stdout) < 30
    assert float(leaked.stdout) > 100


def test_closed_engine_refuses_cases_and_closes_twice_quietly(shipped_kb):
    engine = Engine(compile_plan(make_evaluation_plan(shipped_kb)))
    engine.close()
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.evaluate({"age": 45}, set())


# -- hard limits of the C core (each pinned at its boundary through clonus in tests/test_durable_limits.py) ---

def threshold_rules(count: int) -> list[dict]:
    return [{"id": f"t.age-at-least-{i}", "when": [f"age >= {i}"], "then": MONITOR} for i in range(count)]


def test_raw_durable_fails_above_64_passing_tests_on_one_fact():
    body = """
        n = int(sys.argv[1])
        fired = []
        host = QuietHost({f"a{i}": (lambda c: fired.append(1)) for i in range(n)})
        host.register_rulesets({"rs": {f"r{i}": {"all": [{"m": {"$and": [{"fact": "x"}, {"$gte": {"v": i}}]}}],
                                                 "run": f"a{i}"} for i in range(n)}})
        try:
            host.assert_facts("rs", [{"sid": "1", "id": "x", "fact": "x", "v": 1000}])
            print("fired", len(fired))
        except Exception as exc:
            print("error", exc)
    """
    assert run_python(body, "64").stdout.split() == ["fired", "64"]
    assert "error code: 303" in run_python(body, "65").stdout


# -- a batch where some fact passes no pattern ------------------------------------------------------------

def test_raw_durable_skips_the_agenda_when_a_batch_fact_passes_no_pattern():
    result = run_python("""
        fired = []
        host = QuietHost({"a": lambda c: fired.append(1)})
        host.register_rulesets({"rs": {"r": {"all": [{"m": {"k": "x"}}], "run": "a"}}})
        try:
            host.assert_facts("rs", [{"sid": "1", "k": "x"}, {"sid": "1", "k": "nothing tests this"}])
        except Exception as exc:
            print(type(exc).__name__)
        print(len(fired))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["MessageNotHandledException", "0"]


def test_batch_where_some_fact_passes_no_pattern_still_runs_the_agenda(monkeypatch, kb_copy):
    write_rules(kb_copy, [
        {"id": "t.renal", "when": ["egfr < 60"], "then": MONITOR},
        {"id": "t.adult", "when": ["age >= 18"], "then": MONITOR},
    ])
    spy = _Spy(monkeypatch)
    with engine_for(kb_copy) as engine:
        evaluation = engine.evaluate({"age": 45}, {"egfr"})  # egfr absent: its document passes no pattern
    assert spy.codes[0] == 1
    assert [f.rule for f in evaluation.firings] == ["t.adult"]


# -- $iall never matches an empty list: words facts carry one boolean per tested word ----------------------

def test_raw_durable_iall_never_matches_an_empty_list():
    result = run_python("""
        fired = []
        host = QuietHost({"a": lambda c: fired.append(c.m.name)})
        host.register_rulesets({"rs": {"r": {"all": [{"m": {"$and": [
            {"kind": "meds"}, {"$iall": {"items": {"$neq": {"$i": "ciprofloxacin"}}}}]}}], "run": "a"}}})
        for i, items in enumerate([["omeprazole"], [], ["ciprofloxacin"]]):
            try:
                host.assert_fact("rs", {"sid": str(i), "kind": "meds", "name": json.dumps(items), "items": items})
            except Exception:
                pass
        print(json.dumps(fired))
    """)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ['["omeprazole"]']  # [] is vacuously "all not cipro", yet no match


def test_lacks_and_has_hold_for_empty_and_missing_word_lists(kb_copy):
    write_rules(kb_copy, [
        {"id": "t.lacks", "when": ["other_medications lacks ciprofloxacin"], "then": MONITOR},
        {"id": "t.has", "when": ["other_medications has ciprofloxacin"], "then": MONITOR},
    ])
    with engine_for(kb_copy) as engine:
        def fired(medications):
            return [f.rule for f in engine.evaluate({"other_medications": medications}, set()).firings]

        assert fired(()) == ["t.lacks"]
        assert fired(("omeprazole",)) == ["t.lacks"]
        assert fired(("omeprazole", "ciprofloxacin")) == ["t.has"]


# -- a long run: 100,000 cases, garbage collected along the way, memory flat ------------------------------

LONG_RUN = """
    from clonus.engine.intake.case import parse_case
    from clonus.engine.decide.advisor import Advisor
    total = int(sys.argv[1])
    advisor = Advisor(load_kb(None))
    doses = ["5 mg", "10 mg", "15 mg", "20 mg", "0.02 g"]
    templates = []
    for age in (10, 45, 70, None):
        for dose in doses:
            for relief in ("adequate", "inadequate", None):
                for egfr in (95, 45, 20):
                    patient = {"age": age, "egfr": egfr, "spasticity": "focal" if egfr == 45 else "generalized"}
                    templates.append(parse_case(advisor.kb, {
                        "patient": {k: v for k, v in patient.items() if v is not None},
                        "medication": {"drug": "baclofen", "dose": dose, "frequency": "tid"},
                        "response": {"relief": relief} if relief else {}}))
    marks, firings = [], 0
    for i in range(total):
        t = templates[i % len(templates)]
        facts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in t.facts.items()}  # fresh objects, freed after
        firings += len(advisor.engine.evaluate(facts, set(t.absent)).firings)
        del facts
        if i % 1000 == 999:
            gc.collect()
        if i + 1 in (total // 10, total):
            marks.append(rss_mb())
    advisor.close()
    print(json.dumps({"firings": firings, "rss_start": marks[0], "rss_end": marks[1]}))
"""

LONG_RUN_CASES = 100_000


def test_long_run_of_cases_through_one_engine_keeps_memory_flat():
    """About 50 s for 100,000 cases (perturbed heap) on the 2-core dev machine; RSS grew by under 0.1 MB."""
    result = run_python(LONG_RUN, str(LONG_RUN_CASES), prelude=CLONUS_PRELUDE, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["firings"] > LONG_RUN_CASES * 3
    assert out["rss_end"] - out["rss_start"] < 16, out


def test_regression_a_bad_case_never_closes_the_advisor(shipped_kb):
    """Bug: through the Python API, a lone surrogate in `drug` closed the Advisor for good: every later
    valid case failed with 'this engine is closed'. Intake refuses it (CaseError); a Case built by hand
    past intake is refused by the runtime before durable sees it (EngineError); the Advisor answers on."""
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.errors import CaseError
    from clonus.engine.intake.case import Case

    bad = reference_case()
    bad["medication"]["drug"] = "\ud800"
    with Advisor(shipped_kb) as advisor:
        with pytest.raises(CaseError, match="medication.drug"):
            advisor.advise(bad)
        good = parse_case(shipped_kb, reference_case())
        forged = Case({**good.facts, "drug": "\ud800"}, good.absent)
        with pytest.raises(EngineError, match="not valid Unicode"):
            advisor.advise_case(forged)
        assert "increase_baclofen" in advisor.advise(reference_case()).codes()
