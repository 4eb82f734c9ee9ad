"""Every CLIPS (clipspy 1.0) sharp edge clonus guards against (docs/engines.md), pinned twice where it helps:
the raw hazard in CLIPS or clipspy itself, and the clonus guard that removes it.

Raw hazards that print to the terminal or can crash the interpreter run in a subprocess.
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
from decimal import Decimal
from pathlib import Path

import pytest

from clonus.engine.backends.clips import BACKEND
from clonus.engine.backends.clips.compiler import compile_plan
from clonus.engine.backends.clips.runtime import ClipsEngine as Engine
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.decide.order import canonical
from clonus.engine.errors import EngineError, KbError
from clonus.engine.intake.case import parse_case
from clonus.engine.knowledge.load import load_kb

from conftest import reference_case
from test_runtime_guards import INPUTS, MONITOR, NEGATION_FACTS, NEGATION_RULES, brute_force, derived_bool, write_rules

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(BACKEND.available() is not None, reason=f"CLIPS: {BACKEND.available()}")

RAW_PRELUDE = textwrap.dedent("""
    import json, sys
    import clips
    env = clips.Environment()
""")

CLONUS_PRELUDE = textwrap.dedent("""
    import gc, json, os, sys
    from clonus.engine.backends.clips.compiler import compile_plan
    from clonus.engine.backends.clips.runtime import ClipsEngine as Engine
    from clonus.engine.decide.evaluation import make_evaluation_plan
    from clonus.engine.errors import EngineError
    from clonus.engine.knowledge.load import load_kb

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
""")


def run_python(body: str, *args: str, prelude: str = RAW_PRELUDE, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(body), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=dict(os.environ))


def engine_for(kb_dir: Path) -> Engine:
    return Engine(compile_plan(make_evaluation_plan(load_kb(kb_dir))))


def with_construct(plan, construct: str) -> Engine:
    """An engine on `plan` with one more CLIPS construct, to make CLIPS fail on purpose."""
    program = compile_plan(plan)
    return Engine(dataclasses.replace(program, constructs=(*program.constructs[:-1], construct,
                                                              program.constructs[-1])))


# -- CLIPS writes its errors and warnings to the terminal, and goes on ----------------------------------

def test_raw_clips_prints_rule_errors_and_run_returns_normally():
    result = run_python("""
        env.build("(deftemplate f (slot v))")
        env.build("(defrule boom (f (v ?v)) => (bind ?x (/ 1 0)))")
        env.reset()
        env.find_template("f").assert_fact(v=1)
        print("ran", env.run(), "error state", env.error_state)
    """)
    assert result.returncode == 0, result.stderr
    assert "ran 1 error state None" in result.stdout  # no exception, no error state
    assert "[PRNTUTIL7] Attempt to divide by zero" in result.stdout + result.stderr  # on the terminal


def test_raw_clips_error_text_leaks_into_the_next_clips_error():
    """clipspy's error router keeps every message until the next CLIPSError reads them all."""
    result = run_python("""
        env.build("(deftemplate f (slot v))")
        env.build("(defrule boom (f (v ?v)) => (bind ?x (/ 1 0)))")
        env.reset()
        env.find_template("f").assert_fact(v=1)
        env.run()
        try:
            env.build("(defrule bad (f) => (no-such-function))")
        except clips.CLIPSError as exc:
            print(exc)
    """)
    assert "divide by zero" in result.stdout and "no-such-function" in result.stdout


def test_error_in_a_rule_is_an_engine_error_and_nothing_is_printed(capfd, shipped_kb):
    plan = make_evaluation_plan(shipped_kb)
    boom = "(defrule boom (fact-age (known TRUE) (v ?v&:(> ?v 100))) => (bind ?x (/ 1 0)))"
    with with_construct(plan, boom) as engine:
        case = parse_case(shipped_kb, {**reference_case(), "patient": {"age": 120}})
        with pytest.raises(EngineError, match=r"CLIPS failed on this case: \[PRNTUTIL7\] Attempt to divide by zero"):
            engine.evaluate(case.facts, case.absent)
        case = parse_case(shipped_kb, reference_case())
        assert "escalating" in engine.evaluate(case.facts, case.absent).derived  # the engine is still usable
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_construct_clips_refuses_is_an_engine_error_with_its_message(capfd, shipped_kb):
    with pytest.raises(EngineError, match=r"CLIPS refused the compiled KB: \[EXPRNPSR3\] Missing function"):
        with_construct(make_evaluation_plan(shipped_kb), "(defrule bad (fact-age) => (no-such-function))")
    assert capfd.readouterr() == ("", "")


def test_raw_a_router_that_claims_every_name_breaks_eval():
    """CLIPS asks routers about the names it reads from too: a router taking them all swallows the text."""
    result = run_python("""
        class All(clips.Router):
            def query(self, name):
                return True
        env.add_router(All("all", 60))
        try:
            print(env.eval("(+ 1 2)"))
        except clips.CLIPSError:
            print("refused")
    """)
    assert result.stdout.split() == ["refused"]


# -- values: types, texts, numbers ---------------------------------------------------------------------

def test_raw_clipspy_hands_a_value_of_another_type_as_an_address_and_reading_it_twice_aborts():
    """The first read hands the Decimal back and drops clipspy's one reference to it; the second aborts."""
    result = run_python("""
        from decimal import Decimal
        env.build("(deftemplate f (slot v))")
        fact = env.find_template("f").assert_fact(v=Decimal("45"))
        print(type(fact["v"]).__name__, flush=True)
        print(fact["v"])
    """)
    assert result.stdout.split() == ["Decimal"]
    assert result.returncode == -signal.SIGABRT
    assert "from_handle" in result.stderr


@pytest.mark.parametrize("fact, value, message", [
    ("age", Decimal("45"), "not a number value"),
    ("age", "45", "not a number value"),
    ("age", True, "not a number value"),
    ("age", 2**63, "beyond CLIPS's 64-bit integers"),
    ("epilepsy", 1, "not a boolean value"),
    ("drug", "baclofen\0x", "holds a NUL character"),
    ("other_medications", ("cipro\0floxacin",), "not a list of words"),
    ("other_medications", "ciprofloxacin", "not a list of words"),
])
def test_values_clips_would_mangle_are_refused(shipped_kb, fact, value, message):
    with Engine(compile_plan(make_evaluation_plan(shipped_kb))) as engine:
        with pytest.raises(EngineError, match=message):
            engine.evaluate({fact: value}, set())


def test_raw_clipspy_cuts_a_string_at_its_first_nul():
    result = run_python("""
        env.build("(deftemplate f (slot v))")
        print(json.dumps(env.find_template("f").assert_fact(v="baclofen\\0x")["v"]))
    """)
    assert result.stdout.strip() == '"baclofen"'


def test_regression_a_drug_with_a_nul_is_not_read_as_baclofen(shipped_kb):
    """Bug: on CLIPS, drug 'baclofen\\0x' matched `drug == baclofen` (the text was cut at the NUL); intake
    now refuses control characters, and the engine refuses a NUL from any other caller."""
    from clonus.engine.errors import CaseError

    with pytest.raises(CaseError, match="the control character U[+]0000"):
        parse_case(shipped_kb, {"medication": {"drug": "baclofen\0x"}})
    with Engine(compile_plan(make_evaluation_plan(shipped_kb))) as engine:
        with pytest.raises(EngineError, match="NUL"):
            engine.evaluate({"drug": "baclofen\0x", "age": 45}, set())


def test_raw_clips_clamps_an_integer_literal_beyond_64_bits_with_a_warning():
    result = run_python("""
        print(env.eval("12345678901234567890"))
    """)
    assert result.stdout.split()[-1] == str(2**63 - 1)
    assert "Over or underflow" in result.stdout + result.stderr


def test_a_threshold_beyond_64_bit_integers_is_refused_at_compile(kb_copy):
    kb = load_kb(write_rules(kb_copy, [
        {"id": "t.huge", "when": ["daily_dose_mg < 99999999999999999999"], "then": MONITOR}]))
    with pytest.raises(KbError, match="beyond CLIPS's 64-bit integers"):
        compile_plan(make_evaluation_plan(kb))


def test_raw_clips_literal_numbers_and_eq_are_exact_in_type():
    result = run_python("""
        env.build("(deftemplate f (slot v))")
        env.build("(defrule literal (f (v 80)) => (printout t literal crlf))")
        env.build("(defrule equal (f (v ?v&:(= ?v 80))) => (printout t equal crlf))")
        env.reset()
        env.find_template("f").assert_fact(v=80.0)
        env.run()
        print(env.eval("(eq 80 80.0)"))
    """)
    assert result.stdout.split() == ["equal", "FALSE"]  # the literal 80 did not match 80.0


def test_a_whole_float_matches_an_integer_threshold(kb_copy):
    write_rules(kb_copy, [{"id": "t.at-80", "when": ["daily_dose_mg == 80"], "then": MONITOR},
                          {"id": "t.not-80", "when": ["daily_dose_mg != 80"], "then": MONITOR}])
    with engine_for(kb_copy) as engine:
        assert [f.rule for f in engine.evaluate({"daily_dose_mg": 80.0}, set()).firings] == ["t.at-80"]
        assert [f.rule for f in engine.evaluate({"daily_dose_mg": 80.5}, set()).firings] == ["t.not-80"]


def test_raw_clipspy_returns_false_as_a_true_string():
    result = run_python("""
        value = env.eval("(eq 1 2)")
        print(type(value).__name__, repr(value), bool(value))
    """)
    assert result.stdout.split() == ["Symbol", "'FALSE'", "True"]


def test_booleans_come_back_as_booleans(shipped_kb):
    case = parse_case(shipped_kb, reference_case())
    with Engine(compile_plan(make_evaluation_plan(shipped_kb))) as engine:
        evaluation = engine.evaluate(case.facts, case.absent)
    matched = {fact: value for f in evaluation.firings for fact, value in f.matched}
    assert matched["escalation_blocked"] is False and matched["adult_on_oral_baclofen"] is True
    assert evaluation.derived["escalation_blocked"] is False


def test_raw_clips_prints_floats_with_15_digits():
    assert run_python("print(env.eval('(str-cat 0.30000000000000004)'))").stdout.strip() == "0.3"


def test_values_come_back_exactly(kb_copy):
    write_rules(kb_copy, [{"id": "t.adult", "when": ["age >= 18"], "then": MONITOR}])
    with engine_for(kb_copy) as engine:
        for age in (18.000000000000004, 45, 45.0, 123.45678901234567):
            (firing,) = engine.evaluate({"age": age}, set()).firings
            value = dict(firing.matched)["age"]
            assert value == age and type(value) is type(age)
        assert engine.evaluate({"age": 17.999999999999996}, set()).firings == ()


# -- chaining, duplicates, resets, negation ------------------------------------------------------------

def test_raw_clips_fires_twice_on_a_duplicate_fact_when_duplication_is_on():
    result = run_python("""
        env.eval("(set-fact-duplication TRUE)")
        env.build("(deftemplate f (slot v))")
        env.build("(defrule r (f (v 1)) => (printout t fired crlf))")
        env.reset()
        env.eval("(assert (f (v 1)))")
        env.eval("(assert (f (v 1)))")
        env.run()
    """)
    assert result.stdout.split() == ["fired", "fired"]


def test_two_rules_asserting_one_derived_fact_fire_what_follows_once(kb_copy):
    write_rules(kb_copy, [
        {"id": "t.one", "when": ["epilepsy"], "then": {"assert": {"link_a": True}}},
        {"id": "t.two", "when": ["pregnant"], "then": {"assert": {"link_a": True}}},
        {"id": "t.after", "when": ["link_a"], "then": MONITOR},
    ], derived_bool("link_a"))
    with engine_for(kb_copy) as engine:
        evaluation = engine.evaluate({"epilepsy": True, "pregnant": True}, set())
    assert sorted(f.rule for f in evaluation.firings) == ["t.after", "t.one", "t.two"]
    assert sum(bool(f.asserted) for f in evaluation.firings) == 1  # one of the two is credited


def test_two_rules_asserting_different_values_of_one_fact_raise_engine_error(kb_copy):
    """The loader refuses such a KB (knowledge/load/derived.py); should two such rules meet anyway (a Kb
    assembled past the loader), CLIPS's runtime still refuses to let a derived fact hold two values."""
    low = {"id": "t.band-low", "when": ["age >= 18"], "then": {"assert": {"dose_band": "below_max"}}}
    high = {"id": "t.band-max", "when": ["age >= 40"], "then": {"assert": {"dose_band": "at_max"}}}
    with pytest.raises(KbError, match="both can fire for one case"):
        load_kb(write_rules(kb_copy, [low, high]))
    first, second = load_kb(write_rules(kb_copy, [low])), load_kb(write_rules(kb_copy, [high]))
    both = dataclasses.replace(first, rules=first.rules + second.rules)
    with Engine(compile_plan(make_evaluation_plan(both))) as engine:
        with pytest.raises(EngineError, match="derived facts hold one value"):
            engine.evaluate({"age": 45}, set())
        assert engine.evaluate({"age": 20}, set()).derived == {"dose_band": "below_max"}  # still usable


def test_reset_between_cases_leaves_nothing_of_the_last_case(shipped_kb):
    """Case 1 knows the age only, case 2 the rest: joined, they would escalate; kept apart, neither does."""
    first = parse_case(shipped_kb, {"patient": {"age": 45}})
    second = parse_case(shipped_kb, {"medication": {"drug": "baclofen", "dose": "15 mg", "frequency": "q8h"},
                                     "response": {"relief": "inadequate"}})
    compiled = compile_plan(make_evaluation_plan(shipped_kb))
    with Engine(compiled) as fresh:
        alone = fresh.evaluate(second.facts, second.absent)
    with Engine(compiled) as engine:
        engine.evaluate(first.facts, first.absent)
        after = engine.evaluate(second.facts, second.absent)
    assert after == alone
    assert after.derived.get("escalating") is not True  # KB 0.2.0 also asserts it false


def test_two_engines_in_one_process_share_nothing(shipped_kb):
    compiled = compile_plan(make_evaluation_plan(shipped_kb))
    reference = parse_case(shipped_kb, reference_case())
    child = parse_case(shipped_kb, {**reference_case(), "patient": {"age": 9}})
    with Engine(compiled) as one, Engine(compiled) as other:
        expected = one.evaluate(reference.facts, reference.absent)
        for _ in range(3):
            other.evaluate(child.facts, child.absent)
            assert one.evaluate(reference.facts, reference.absent) == expected
        assert other.evaluate(child.facts, child.absent).derived.get("escalating") is not True


def test_missing_beside_another_test_of_the_same_fact_never_fires(kb_copy):
    write_rules(kb_copy, [{"id": "t.never", "when": ["missing age", "age >= 18"], "then": MONITOR},
                          {"id": "t.missing", "when": ["missing age"], "then": MONITOR}])
    with engine_for(kb_copy) as engine:
        assert [f.rule for f in engine.evaluate({}, {"age"}).firings] == ["t.missing"]
        assert engine.evaluate({"age": 45}, set()).firings == ()


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


def test_stratified_negation_matches_brute_force_for_every_rule_order(kb_copy):
    kb = load_kb(write_rules(kb_copy, NEGATION_RULES, NEGATION_FACTS))
    cases = [dict(zip(INPUTS, bits, strict=True)) for bits in itertools.product((False, True), repeat=len(INPUTS))]
    for rules in itertools.permutations(kb.rules):  # rule order is CLIPS's definition order
        plan = make_evaluation_plan(dataclasses.replace(kb, rules=rules))
        with Engine(compile_plan(plan)) as engine:
            for case in cases:
                got = canonical(plan, engine.evaluate(case, set()))
                assert {k: bool(got.derived.get(k, False)) for k in brute_force(case)} == brute_force(case)


def test_raw_a_python_function_that_raises_prints_its_traceback_and_halts_the_rules():
    result = run_python("""
        def boom():
            raise ValueError("injected")
        env.define_function(boom)
        env.build("(deftemplate f (slot v))")
        env.build("(defrule first (f (v ?v)) => (boom))")
        env.build("(defrule second (f (v ?v)) => (printout t second crlf))")
        env.reset()
        env.find_template("f").assert_fact(v=1)
        print("ran", env.run())
    """)
    assert result.returncode == 0
    out = result.stdout + result.stderr
    assert "ran 1" in out and "second" not in out  # the other activation never ran, and run() said nothing
    assert "ValueError('injected')" in out and "Traceback" in out


def test_the_compiled_program_calls_no_python_and_uses_no_engine_negation(shipped_kb):
    program = compile_plan(make_evaluation_plan(shipped_kb, include_draft=True))
    text = "\n".join(program.constructs)
    assert "python-function" not in text and "(not (fact-" not in text and "(exists" not in text


# -- one case at a time; closing ------------------------------------------------------------------------

def test_an_engine_in_use_refuses_a_second_case(shipped_kb):
    case = parse_case(shipped_kb, reference_case())
    with Engine(compile_plan(make_evaluation_plan(shipped_kb))) as engine:
        engine._lock.acquire()  # as while another thread's case runs
        try:
            with pytest.raises(EngineError, match="one case at a time"):
                engine.evaluate(case.facts, case.absent)
        finally:
            engine._lock.release()
        assert "escalating" in engine.evaluate(case.facts, case.absent).derived


def test_engines_in_two_threads_at_once_answer_as_one_after_the_other(shipped_kb):
    """cffi releases the GIL around CLIPS's calls, so two environments really run at once."""
    import threading

    from clonus.engine.workbench.generate import generated_cases

    compiled = compile_plan(make_evaluation_plan(shipped_kb))
    cases = [parse_case(shipped_kb, c.data) for c in generated_cases(shipped_kb, 300, 9)]
    with Engine(compiled) as alone:
        expected = [alone.evaluate(c.facts, c.absent) for c in cases]
    got: dict[int, list] = {}

    def work(slot: int) -> None:
        with Engine(compiled) as engine:
            got[slot] = [engine.evaluate(c.facts, c.absent) for c in cases]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert got[0] == expected and got[1] == expected


def test_closed_engine_refuses_cases_and_closes_twice_quietly(shipped_kb):
    engine = Engine(compile_plan(make_evaluation_plan(shipped_kb)))
    engine.close()
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.evaluate({"age": 45}, set())


MANY_ENGINES = """
    compiled = compile_plan(make_evaluation_plan(load_kb(None)))
    with Engine(compiled) as warm:
        warm.evaluate({"age": 45}, set())
    gc.collect()
    start = rss_mb()
    kept = []
    for i in range(100):
        e = Engine(compiled)
        e.evaluate({"age": 45, "drug": "baclofen"}, set())
        if sys.argv[1] == "close":
            e.close()
        kept.append(e)  # still referenced: only close() can free its environment
    gc.collect()
    print(round(rss_mb() - start, 1))
"""


def test_closing_engines_frees_their_environments():
    """100 engines built, used, closed and kept cost a few MB; kept open, about 2 MB each."""
    closed = run_python(MANY_ENGINES, "close", prelude=CLONUS_PRELUDE)
    kept_open = run_python(MANY_ENGINES, "open", prelude=CLONUS_PRELUDE)
    assert closed.returncode == 0 and kept_open.returncode == 0, closed.stderr + kept_open.stderr
    assert float(closed.stdout) < 30
    assert float(kept_open.stdout) > 100


LONG_RUN = """
    from clonus.engine.intake.case import parse_case
    total = int(sys.argv[1])
    kb = load_kb(None)
    engine = Engine(compile_plan(make_evaluation_plan(kb)))
    marks, firings = [], 0
    for i in range(total):
        case = parse_case(kb, {"patient": {"age": 18 + i % 80, "condition": f"condition-{i}",
                                           "other_medications": [f"medicine-{i}"]},
                               "medication": {"drug": "baclofen" if i % 3 else "tizanidine", "dose": "15 mg",
                                              "frequency": "tid"},
                               "response": {"relief": "inadequate", "side_effects": [f"effect-{i}"]}})
        firings += len(engine.evaluate(case.facts, case.absent).firings)
        if i % 1000 == 999:
            gc.collect()
        if i + 1 in (total // 10, total):
            marks.append(rss_mb())
    engine.close()
    print(json.dumps({"firings": firings, "rss_start": marks[0], "rss_end": marks[1]}))
"""


def test_long_run_of_distinct_cases_through_one_engine_keeps_memory_flat():
    """50,000 cases, each with texts never seen before (CLIPS keeps every string in a symbol table)."""
    result = run_python(LONG_RUN, "50000", prelude=CLONUS_PRELUDE, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["firings"] > 50_000 * 3
    assert out["rss_end"] - out["rss_start"] < 16, out
