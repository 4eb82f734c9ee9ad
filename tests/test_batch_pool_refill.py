"""Regression: the worker pool hung when every chunk it held was answered in one wait (a slow first chunk,
a fast second worker): it emitted them all, then waited for workers that had no job, with input left."""

from __future__ import annotations

import threading

import orjson

from clonus.engine.cohort.batch import run_batch
from clonus.engine.cohort.decider import Settings
from clonus.engine.cohort.formats import write_cohort

from cohorts import mixed

ROWS = mixed(12, seed=5)
LIMIT_S = 30  # far past the slow chunk's 2 s: only a hang gets there


def test_pool_refills_after_emitting_every_chunk_it_held_at_once(tmp_path):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(ROWS))
    outcome: dict = {}

    def run() -> None:
        outcome["summary"] = run_batch(cohort, tmp_path / "o.jsonl", Settings(), workers=2, chunk=1,
                                       decider="batch_slow:SlowFirstDecider")

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(LIMIT_S)
    assert not worker.is_alive(), "the pool waited with no job in flight and input left"
    rows = [orjson.loads(line) for line in (tmp_path / "o.jsonl").read_bytes().splitlines()]
    assert [r["id"] for r in rows] == [case_id for case_id, _ in ROWS]
    assert outcome["summary"].tally.rows == len(ROWS)
