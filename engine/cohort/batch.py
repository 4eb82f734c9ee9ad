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
from clonus.engine.cohort.formats import ENCODED, RowWriter, format_of, jsonl_slices, partitioned, read_rows
from clonus.engine.cohort.pool import DECIDER, WorkerPool, row_chunks
from clonus.engine.errors import UsageError
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
    if partitioned(target):
        raise UsageError(f"--output: {str(target)!r}: partition files are written by the workers of a Dask batch; "
                         "add --scheduler or --dask-local, or name one file")
    rows = read_rows(source, kb)  # checks the file; a JSON Lines file's workers read their own slices of it
    summary = BatchSummary(cache=settings.cache)
    done = 0
    with RowWriter(target, settings.full) as writer:
        def emit(out: list[dict] | bytes, count: int) -> None:
            nonlocal done
            if isinstance(out, bytes):
                writer.write_encoded(out)
            else:
                writer.write(out)
            done += count
            if progress is not None:
                progress(done)

        if workers <= 0:
            summary.tally = _in_process(rows, settings, emit, chunk)
        else:
            pieces = jsonl_slices(source, chunk) if format_of(source, "INPUT") == "jsonl" else row_chunks(rows, chunk)
            encode = writer.kind if writer.kind in ENCODED else None
            run = WorkerPool(settings, workers, kb.digest, kb.case_sections, decider, encode).run(pieces, emit)
            summary.tally, summary.crashes, summary.replaced = run.tally, run.crashes, run.replaced
        writer.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _in_process(rows, settings: Settings, emit: Callable[[list[dict], int], None], chunk: int) -> Tally:
    decider = RowDecider(settings)
    total = Tally()
    try:
        for batch in row_chunks(rows, chunk):
            out, tally = decider.decide(batch)
            total.add(tally)
            emit(out, len(out))
    finally:
        decider.close()
    return total
