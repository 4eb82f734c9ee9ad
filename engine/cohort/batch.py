"""A batch: a cohort file in, one output row per input row out, in input order, written atomically.

`workers` 0 decides in this process (tests, Dask partitions); N >= 1 runs N worker processes
(cohort/pool.py) that survive crashes. `progress(done)` is called after each chunk written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clonus.engine.cohort.decider import RowDecider, Settings, Tally
from clonus.engine.cohort.formats import RowWriter, format_of, read_rows
from clonus.engine.cohort.pool import DECIDER, WorkerPool
from clonus.engine.knowledge.load import load_kb


@dataclass
class BatchSummary:
    """What a batch came to, for its summary line."""

    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0
    crashes: int = 0
    replaced: int = 0
    cache: bool = True

    @property
    def rate(self) -> float:
        return self.tally.rows / self.seconds if self.seconds > 0 else 0.0


def run_batch(source: Path | str, target: Path | str, settings: Settings, workers: int = 0,
              progress: Callable[[int], None] | None = None, chunk: int = 500,
              decider: str = DECIDER) -> BatchSummary:
    """Decide every row of `source` into `target` (renamed into place only when every row is written)."""
    started = time.perf_counter()
    kb = load_kb(settings.kb_dir, settings.profile)  # a KB that cannot load fails here, before any worker
    format_of(target, "--output")
    rows = read_rows(source, kb)
    summary = BatchSummary(cache=settings.cache)
    done = 0
    with RowWriter(target, settings.full) as writer:
        def emit(out: list[dict]) -> None:
            nonlocal done
            writer.write(out)
            done += len(out)
            if progress is not None:
                progress(done)

        if workers <= 0:
            summary.tally = _in_process(rows, settings, emit, chunk)
        else:
            run = WorkerPool(settings, workers, kb.digest, decider, chunk).run(rows, emit)
            summary.tally, summary.crashes, summary.replaced = run.tally, run.crashes, run.replaced
        writer.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _in_process(rows, settings: Settings, emit: Callable[[list[dict]], None], chunk: int) -> Tally:
    import itertools

    decider = RowDecider(settings)
    total = Tally()
    try:
        while batch := list(itertools.islice(rows, chunk)):
            out, tally = decider.decide(batch)
            total.add(tally)
            emit(out)
    finally:
        decider.close()
    return total
