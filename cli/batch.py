"""`clonus batch`: a cohort file of patients in, one output row per patient out (engine/cohort/).

Progress goes to standard error (a bar on a terminal, a line every few seconds otherwise), never to
standard output; the summary line ends the run. Exit 1 when any row is an error row (or the cache check
found a mismatch), 0 otherwise.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, KbDir, ProfileName, as_of_date

LOG_EVERY_S = 5.0


def batch(
    source: Annotated[Path, typer.Argument(metavar="INPUT", show_default=False,
                                           help="Cohort file: .jsonl, .csv or .parquet (columns patient.age, "
                                                "medication.dose, ... and an optional id). A JSON Lines row may "
                                                "be a FHIR R4 Bundle, or case fields with one under \"fhir\".")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="OUTPUT", show_default=False,
                                         help="Where the answers go: .jsonl, .csv or .parquet; on Dask, "
                                              "'dir/part-*.jsonl' has each worker write its partitions' files.")],
    kb: KbDir = None,
    profile: ProfileName = None,
    engine: EngineName = None,
    include_draft: IncludeDraft = False,
    full: Annotated[bool, typer.Option("--full", help="Write the whole contract JSON of each answer.")] = False,
    workers: Annotated[int | None, typer.Option("--workers", metavar="N", show_default=False,
                                                help="Worker processes, one engine each (default: the cores).")
                       ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Evaluate every case in the engine.")] = False,
    verify_cache: Annotated[float, typer.Option(
        "--verify-cache", metavar="FRACTION", help="Evaluate this share of cache hits in the engine too and "
        "report every difference (there must be none).")] = 0.0,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS", show_default=False,
        help="Run on a Dask cluster (tcp://HOST:PORT; needs clonus[dask]).")] = None,
    dask_local: Annotated[int | None, typer.Option(
        "--dask-local", metavar="N", show_default=False,
        help="Run on a local Dask cluster of N workers (needs clonus[dask]).")] = None,
    partition_rows: Annotated[int | None, typer.Option(
        "--partition-rows", metavar="N", show_default=False,
        help="Rows in each Dask partition (default 2,000); with -o 'dir/part-*.jsonl' each partition is "
        "one file.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="YYYY-MM-DD", show_default=False,
        help="The date every FHIR row is read as of (ages, the latest eGFR), as advise --as-of; default today. "
        "Their answers record it.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary line.")] = False,
) -> None:
    """Advise on every patient of a cohort file: one output row per input row, in input order, with the
    codes, the dose plan and the KB digest (or the whole answer with --full). A bad row becomes an error
    row with the message `clonus advise` would give; the batch goes on.

    Exit codes: 0 every row answered, 1 some row is an error row, 2 unusable options or files.
    """
    from clonus.engine.cohort.decider import Settings
    from clonus.engine.errors import UsageError

    if not 0.0 <= verify_cache <= 1.0:
        raise UsageError(f"--verify-cache: {verify_cache:g} is not a share of the cache hits; expected 0 to 1")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers: {workers} is not a number of processes; expected 1 or more")
    if scheduler and dask_local:
        raise UsageError("--scheduler and --dask-local: give one of them, not both")
    if dask_local is not None and dask_local < 1:
        raise UsageError(f"--dask-local: {dask_local} is not a number of workers; expected 1 or more")
    if partition_rows is not None and partition_rows < 1:
        raise UsageError(f"--partition-rows: {partition_rows} is not a number of rows; expected 1 or more")
    if partition_rows is not None and not (scheduler or dask_local):
        raise UsageError("--partition-rows: partitions are a Dask batch's; add --scheduler or --dask-local")
    day = as_of_date(as_of).isoformat()  # one date for every row and worker, even across midnight
    settings = Settings(kb_dir=str(kb) if kb else None, profile=profile, engine=engine, include_draft=include_draft,
                        cache=not no_cache, verify_cache=verify_cache, full=full, as_of=day)
    progress = None if quiet else _Progress()
    try:
        if scheduler or dask_local:
            from clonus.engine.cohort.cluster import PARTITION, run_on_dask

            summary = run_on_dask(source, output, settings, scheduler=scheduler, local_workers=dask_local,
                                  progress=progress, partition=partition_rows or PARTITION)
        else:
            from clonus.engine.cohort.batch import run_batch

            summary = run_batch(source, output, settings, workers or os.cpu_count() or 1, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    mismatches = summary.tally.mismatches or []
    for line in mismatches:
        print(f"clonus batch: {line}", file=sys.stderr)
    if not quiet:
        print(_summary_line(summary, day, as_of is not None), file=sys.stderr)
    if summary.tally.errors or mismatches:
        raise typer.Exit(1)


def _summary_line(summary, as_of: str, as_of_given: bool) -> str:
    t = summary.tally
    parts = [_count(t.rows, "case"), _count(t.errors, "error")]
    if t.fhir:
        parts.append(f"{_count(t.fhir, 'FHIR row')} read as of {as_of}")
    elif as_of_given:
        parts.append(f"--as-of {as_of} unused: no row is FHIR")
    if summary.cache:
        share = 100 * t.hits / (t.hits + t.misses) if t.hits + t.misses else 0.0
        parts.append(f"{_count(t.hits, 'cache hit')} ({share:.1f} %, {_count(t.misses, 'cell')} evaluated)")
        if t.verified:
            parts.append(f"{_count(t.verified, 'hit')} verified, {_count(len(t.mismatches or []), 'mismatch')}")
    else:
        parts.append("cache off")
    if summary.crashes:
        parts.append(_count(summary.crashes, "worker crash"))
    parts.append(f"{summary.rate:,.0f} cases/s")
    return "clonus batch: " + ", ".join(parts)


def _count(n: int, noun: str) -> str:
    """'1 case', '2 cases', '1 mismatch', '0 mismatches'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}{'es' if noun.endswith(('ch', 'sh', 's')) else 's'}"


class _Progress:
    """A rich progress bar on a terminal; otherwise a log line every few seconds (both on stderr)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.completed:,} cases"), TimeElapsedColumn(),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("batch", total=None)

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
            return
        now = time.perf_counter()
        if now - self.last >= LOG_EVERY_S:
            self.last = now
            print(f"clonus batch: {done:,} cases, {done / (now - self.started):,.0f} cases/s", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
