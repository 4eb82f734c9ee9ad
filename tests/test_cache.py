"""The exact decision cache (engine/decide/cache.py): proven cacheable by a static check, keyed by the
truth of every atom, and giving answers identical to the engine's, which --verify-cache checks."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from clonus.engine.cohort.batch import run_batch
from clonus.engine.cohort.decider import Settings
from clonus.engine.cohort.formats import write_cohort
from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.cache import CachedEngine, CellKeys, cacheability, with_cache
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.errors import ClonusError
from clonus.engine.intake.case import parse_case, read_case_text

from cohorts import generator, mixed
from conftest import EXAMPLES, INSTALLED_ENGINES, reference_case


def test_the_shipped_kb_is_proven_cacheable(shipped_kb):
    verdict = cacheability(make_evaluation_plan(shipped_kb))
    assert verdict.cacheable and verdict.atoms > 50 and verdict.facts > 15
    assert any(note.startswith("daily_dose_mg is computed at intake (dose_mg x doses_per_day)")
               for note in verdict.notes)


def test_a_rule_asserting_no_constant_is_not_cached_and_says_why(shipped_kb, advisor):
    rule = next(r for r in shipped_kb.rules if r.asserts)
    broken = replace(rule, asserts=((rule.asserts[0][0], object()),))
    plan = replace(make_evaluation_plan(shipped_kb), rules=tuple(broken if r is rule else r
                                                                  for r in make_evaluation_plan(shipped_kb).rules))
    verdict = cacheability(plan)
    assert not verdict.cacheable
    assert verdict.reasons[0].startswith(f"rule {rule.id} asserts {rule.asserts[0][0]} = <object")
    assert verdict.summary().startswith("decision cache: off: rule ")
    assert with_cache(advisor.engine, plan, "durable") is advisor.engine


def test_the_key_keeps_thresholds_and_missing_apart(shipped_kb):
    keys = CellKeys(make_evaluation_plan(shipped_kb), "durable")
    case = reference_case()
    seen = set()
    for dose in ("39 mg", "40 mg", "41 mg", None):  # the rules test both daily_dose_mg >= 40 and > 40
        medication = {**case["medication"], "frequency": "qd", "dose": dose}
        parsed = parse_case(shipped_kb, {**case, "medication": {k: v for k, v in medication.items() if v}})
        seen.add(keys.key(parsed.facts, parsed.absent))
    assert {str(a) for a in keys.atoms["daily_dose_mg"]} >= {"daily_dose_mg >= 40", "daily_dose_mg > 40"}
    assert len(seen) == 4  # below, exactly at (>= holds, > does not), above, and missing
    assert keys.prefix == (shipped_kb.digest, shipped_kb.profile.name, "durable", False)


def _cases(count: int):
    even = (case for _, case in generator.cases("even", count, 11))
    clinic = (case for _, case in generator.cases("clinic", count, 12))
    return [c for pair in zip(even, clinic, strict=True) for c in pair]


@pytest.mark.parametrize("engine", INSTALLED_ENGINES)
def test_cached_answers_are_the_engines_to_the_byte(shipped_kb, engine):
    examples = [read_case_text(p.read_text(), p.name) for p in sorted(EXAMPLES.glob("*.yaml"))]
    cases = _cases(400) + examples * 2
    compared = 0
    with Advisor(shipped_kb, engine=engine) as cached, Advisor(shipped_kb, engine=engine, cache=False) as plain:
        for case in cases:
            try:
                want = plain.advise(case).to_json()
            except ClonusError as exc:
                with pytest.raises(type(exc)) as raised:
                    cached.advise(case)
                assert str(raised.value) == str(exc)
                continue
            assert cached.advise(case).to_json() == want, case
            compared += 1
        assert isinstance(cached.decisions, CachedEngine)
        assert cached.decisions.stats.hits > 100 and compared > 700


def test_verify_cache_reports_a_wrong_cell_and_answers_from_the_engine(shipped_kb):
    with Advisor(shipped_kb, verify_cache=1.0) as adv:
        cache = adv.decisions
        assert isinstance(cache, CachedEngine)
        case = parse_case(shipped_kb, reference_case())
        truth = cache.evaluate(case.facts, case.absent)
        [key] = cache.cells
        firings, derived = cache.cells[key]
        cache.cells[key] = (firings[:-1], derived)  # a cell that forgot a firing
        assert cache.evaluate(case.facts, case.absent) == truth
        assert cache.stats.verified == 1 and len(cache.stats.mismatches) == 1
        assert cache.stats.mismatches[0].startswith("cache mismatch: engine fired ")


def test_verify_cache_on_every_hit_of_a_batch_finds_no_mismatch(tmp_path):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(mixed(600)))
    summary = run_batch(cohort, tmp_path / "o.jsonl", Settings(verify_cache=1.0), workers=0)
    plain = run_batch(cohort, tmp_path / "plain.jsonl", Settings(cache=False), workers=0)
    assert summary.tally.mismatches is None
    assert summary.tally.verified == summary.tally.hits > 100
    assert (tmp_path / "o.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    assert plain.tally.hits == 0


def test_a_batch_evaluates_each_cell_once(tmp_path):
    rows = list(itertools.islice(generator.cases("clinic", 300, 5), 300))
    write_cohort(tmp_path / "half.jsonl", iter(rows))
    write_cohort(tmp_path / "twice.jsonl", iter(rows + rows))  # every cell of the second half seen in the first
    once = run_batch(tmp_path / "half.jsonl", tmp_path / "h.jsonl", Settings(), workers=0)
    twice = run_batch(tmp_path / "twice.jsonl", tmp_path / "t.jsonl", Settings(), workers=0)
    assert twice.tally.misses == once.tally.misses
    assert twice.tally.hits == once.tally.hits + len(rows)


def test_cells_one_worker_evaluated_answer_anothers_cases_without_the_engine(tmp_path):
    """Batch workers share the cells they evaluate (cohort/pool.py): a cell taught is a hit, the same
    answer, and checked by --verify-cache like any other hit."""
    import pickle

    from clonus.engine.cohort.decider import RowDecider
    from clonus.engine.cohort.formats import RawRow

    rows = [RawRow(i, case_id, case) for i, (case_id, case) in enumerate(mixed(200), 1)]
    first = RowDecider(Settings())
    answered, tally = first.decide(rows)
    cells = first.learned()
    assert len(cells) == tally.misses > 20 and first.learned() == []  # each cell handed over once
    second = RowDecider(Settings(verify_cache=1.0))
    second.teach(pickle.loads(pickle.dumps(cells)))  # as the pool sends them, through a pipe
    again, taught = second.decide(rows)
    assert again == answered
    assert (taught.misses, taught.hits, taught.verified, taught.mismatches) == (0, tally.hits + tally.misses,
                                                                                 tally.hits + tally.misses, None)
    assert second.learned() == []  # what it was taught is not handed back
    first.close()
    second.close()


def test_cells_a_worker_evaluated_row_by_row_are_still_shared_after_it_is_taught(tmp_path):
    """Regression: after a crash the pool gives a chunk row by row, without collecting the cells; the
    next job taught the worker other cells and marked its own as shared, so they never were."""
    from clonus.engine.cohort.decider import RowDecider
    from clonus.engine.cohort.formats import RawRow

    rows = [RawRow(i, case_id, case) for i, (case_id, case) in enumerate(mixed(120), 1)]
    other, careful = RowDecider(Settings()), RowDecider(Settings())
    other.decide(rows[60:])
    taught = other.learned()
    _, tally = careful.decide(rows[:60])  # row by row, nothing collected
    careful.teach(taught)
    own = careful.learned()
    assert tally.misses > 5 and len(own) >= tally.misses  # its own cells, and any taught ones new to it
    other.close()
    careful.close()


def test_a_pooled_batch_with_every_hit_verified_finds_no_mismatch(tmp_path):
    write_cohort(tmp_path / "c.jsonl", generator.cases("clinic", 600, 7))
    alone = run_batch(tmp_path / "c.jsonl", tmp_path / "alone.jsonl", Settings(), workers=0)
    pooled = run_batch(tmp_path / "c.jsonl", tmp_path / "pooled.jsonl", Settings(verify_cache=1.0), workers=2,
                       chunk=25)
    assert (tmp_path / "pooled.jsonl").read_bytes() == (tmp_path / "alone.jsonl").read_bytes()
    assert pooled.tally.mismatches is None and pooled.tally.verified == pooled.tally.hits > 100
    assert alone.tally.misses <= pooled.tally.misses < 2 * alone.tally.misses  # shared, bar the races


def test_past_its_bounds_the_cache_stops_learning_and_answers_stay_the_same(tmp_path, monkeypatch):
    import clonus.engine.cohort.answers as answers
    import clonus.engine.decide.cache as cache

    write_cohort(tmp_path / "c.jsonl", iter(mixed(300)))
    run_batch(tmp_path / "c.jsonl", tmp_path / "free.jsonl", Settings(), workers=0)
    monkeypatch.setattr(answers, "MAX_TEMPLATES", 3)
    monkeypatch.setattr(cache, "MAX_CELLS", 5)
    bounded = run_batch(tmp_path / "c.jsonl", tmp_path / "bounded.jsonl", Settings(), workers=0)
    assert (tmp_path / "bounded.jsonl").read_bytes() == (tmp_path / "free.jsonl").read_bytes()
    assert bounded.tally.hits > 0  # the cells it kept still answer
