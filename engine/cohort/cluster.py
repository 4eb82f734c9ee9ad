"""A batch on Dask distributed (`clonus[dask]`): the same rows, the same bytes, beyond one machine.

The client reads the cohort in partitions and submits each as a task; every worker holds one decider
(one engine and its decision cache), built once by a worker plugin when the worker joins, also a worker
that replaces one that died. Engines hold the GIL, so a local cluster runs one thread per worker process.
Results are gathered in input order and written by the client with the same writer as a local batch, so
the output is byte for byte the local run's. A worker lost mid-job costs nothing but time: the scheduler
runs its partitions again on the others (a partition is a pure function of its rows). At most a few
partitions per worker are in flight, so the client's memory stays flat.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clonus.engine.cohort.batch import BatchSummary
from clonus.engine.cohort.decider import RowDecider, Settings, Tally
from clonus.engine.cohort.formats import RawRow, RowWriter, format_of, read_rows
from clonus.engine.errors import UsageError
from clonus.engine.knowledge.load import load_kb

PLUGIN = "clonus-decider"
PARTITION = 2_000
IN_FLIGHT_PER_WORKER = 3


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise UsageError("--scheduler / --dask-local: Dask is not installed; install clonus[dask] "
                         "(pip install 'clonus[dask]')") from exc
    return distributed


def decider_plugin(settings: Settings) -> Any:
    """A worker plugin that builds one RowDecider per worker (setup) and closes it (teardown)."""
    base: Any = _distributed().WorkerPlugin

    class DeciderPlugin(base):
        name = PLUGIN

        def __init__(self, settings: Settings):
            self.settings = settings
            self.decider: RowDecider | None = None

        def setup(self, worker: Any) -> None:
            self.decider = RowDecider(self.settings)

        def teardown(self, worker: Any) -> None:
            if self.decider is not None:
                self.decider.close()

    return DeciderPlugin(settings)


def decide_partition(rows: list[RawRow]) -> tuple[list[dict], Tally]:
    """A task: one partition's output rows, by the worker's own decider."""
    from distributed import get_worker

    plugin: Any = get_worker().plugins[PLUGIN]
    return plugin.decider.decide(rows)


def run_on_dask(source: Path | str, target: Path | str, settings: Settings, scheduler: str | None = None,
                local_workers: int | None = None, progress: Callable[[int], None] | None = None,
                partition: int = PARTITION, on_partition: Callable[[Any, int], None] | None = None) -> BatchSummary:
    """The batch of run_batch on a Dask cluster: `scheduler` (tcp://HOST:PORT) or a local cluster of
    `local_workers` processes. on_partition(client, n) is called after partition n is written (tests)."""
    distributed = _distributed()
    started = time.perf_counter()
    kb = load_kb(settings.kb_dir, settings.profile)
    format_of(target, "--output")
    rows = read_rows(source, kb)
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(n_workers=local_workers or 1, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1")
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    summary = BatchSummary(cache=settings.cache)
    try:
        client.register_plugin(decider_plugin(settings))
        workers = max(1, len(client.scheduler_info()["workers"]))
        with RowWriter(target, settings.full) as writer:
            pending: deque[Any] = deque()
            done = written = 0
            parts = (list(p) for p in iter(lambda: list(itertools.islice(rows, partition)), []))
            for part in parts:
                pending.append(client.submit(decide_partition, part, pure=False))
                while len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                    done, written = _write_next(pending, writer, summary, done, written, progress, on_partition,
                                                client)
            while pending:
                done, written = _write_next(pending, writer, summary, done, written, progress, on_partition, client)
            writer.commit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _write_next(pending, writer, summary, done, written, progress, on_partition, client) -> tuple[int, int]:
    out, tally = pending.popleft().result()
    writer.write(out)
    summary.tally.add(tally)
    done += len(out)
    written += 1
    if progress is not None:
        progress(done)
    if on_partition is not None:
        on_partition(client, written)
    return done, written
