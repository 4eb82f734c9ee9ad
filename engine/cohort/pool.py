"""Worker processes for a batch, one engine each, that survive their workers' crashes.

durable_rules can segfault, so each engine lives in its own process. The parent reads rows in chunks,
hands each chunk to an idle worker and writes the results in input order. A worker that dies (any exit,
a signal) is replaced, and its chunk is given again, once, row by row: each row's result comes back as
soon as it is done, so a second crash pins the row it happened on, which becomes an error row while the
rows after it are retried. No row is lost or written twice. At most a few chunks per worker are held at
once, so memory stays flat however long the input.
"""

from __future__ import annotations

import importlib
import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from clonus.engine.cohort.decider import Settings, Tally, error_row
from clonus.engine.cohort.formats import RawRow
from clonus.engine.errors import EngineError

DECIDER = "clonus.engine.cohort.decider:RowDecider"
MAX_START_FAILURES = 3  # workers that die before they are ready, in a row, before the batch gives up


def _build(spec: str, settings: Settings) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)(settings)


def worker_main(conn: Connection, spec: str, settings: Settings) -> None:
    """A worker process: build one decider, then answer jobs until told to stop."""
    try:
        decider = _build(spec, settings)
    except Exception as exc:  # noqa: BLE001 - said to the parent, which raises it as its own error
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready",))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            decider.close()
            return
        _, job, rows, careful = message
        if careful:
            for raw in rows:
                out, tally = decider.decide([raw])
                conn.send(("row", job, out[0], tally))
            conn.send(("done", job))
        else:
            out, tally = decider.decide(rows)
            conn.send(("rows", job, out, tally))


@dataclass
class _Chunk:
    rows: list[RawRow]
    out: list[dict | None]
    missing: int


@dataclass
class _Job:
    id: int
    chunk: int
    rows: list[RawRow]  # the rows still to do, in order
    careful: bool


@dataclass
class _Worker:
    process: Any
    conn: Connection
    ready: bool = False
    job: _Job | None = None


@dataclass
class PoolRun:
    """How a pooled batch went: its tally and how many workers were replaced after a crash."""

    tally: Tally = field(default_factory=Tally)
    crashes: int = 0    # workers that died after they were ready
    replaced: int = 0   # every worker replaced, also one that died as it started
    worker_pids: list[int] = field(default_factory=list)


class WorkerPool:
    """`workers` processes deciding chunks of rows (decider: "module:callable" taking the Settings)."""

    def __init__(self, settings: Settings, workers: int, digest: str, decider: str = DECIDER, chunk: int = 500):
        self.digest = digest
        self.settings, self.count, self.spec, self.chunk = settings, max(1, workers), decider, max(1, chunk)
        self._context = multiprocessing.get_context("spawn")  # never fork a process that holds engines
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self._start_failures = 0
        self.run_info = PoolRun()

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(child, self.spec, self.settings), daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        if process.pid is not None:
            self.run_info.worker_pids.append(process.pid)
        return worker

    def run(self, rows: Iterable[RawRow], emit: Callable[[list[dict]], None]) -> PoolRun:
        """Decide every row; emit(rows) is called with each chunk's output rows, in input order."""
        source = _chunks(iter(rows), self.chunk)
        chunks: dict[int, _Chunk] = {}
        jobs: deque[_Job] = deque()
        next_chunk, next_emit, exhausted = 0, 0, False
        for _ in range(self.count):
            self._start()
        try:
            while True:
                # emit first: the chunks it frees make room for the next ones before anything waits
                while next_emit in chunks and chunks[next_emit].missing == 0:
                    done = chunks.pop(next_emit)
                    emit([r for r in done.out if r is not None])
                    next_emit += 1
                while not exhausted and len(chunks) < 3 * self.count and len(jobs) < self.count:
                    batch = next(source, None)
                    if batch is None:
                        exhausted = True
                        break
                    chunks[next_chunk] = _Chunk(batch, [None] * len(batch), len(batch))
                    jobs.append(_Job(next(self._ids), next_chunk, batch, careful=False))
                    next_chunk += 1
                for worker in self._workers:
                    if worker.ready and worker.job is None and jobs:
                        worker.job = jobs.popleft()
                        worker.conn.send(("job", worker.job.id, worker.job.rows, worker.job.careful))
                if exhausted and not chunks:
                    return self.run_info
                self._wait(chunks, jobs)
        finally:
            self._stop()

    def _wait(self, chunks: dict[int, _Chunk], jobs: deque[_Job]) -> None:
        by_handle: dict[Any, _Worker] = {}
        for worker in self._workers:
            by_handle[worker.conn] = worker
            by_handle[worker.process.sentinel] = worker
        for handle in wait(list(by_handle)):
            worker = by_handle[handle]
            if worker not in self._workers:
                continue  # already replaced through its other handle
            dead = handle is worker.process.sentinel
            try:
                while worker.conn.poll():
                    self._receive(worker, worker.conn.recv(), chunks)
            except (EOFError, OSError):
                dead = True
            if dead:
                worker.process.join(timeout=5)
                self._crashed(worker, chunks, jobs)

    def _receive(self, worker: _Worker, message: tuple, chunks: dict[int, _Chunk]) -> None:
        kind = message[0]
        if kind == "failed":
            raise EngineError(f"a batch worker could not start: {message[1]}")
        if kind == "ready":
            worker.ready, self._start_failures = True, 0
            return
        job = worker.job
        assert job is not None and job.id == message[1]
        if kind == "rows":
            self._place(chunks[job.chunk], message[2], message[3])
            worker.job = None
        elif kind == "row":
            self._place(chunks[job.chunk], [message[2]], message[3])
            job.rows = job.rows[1:]
        else:  # done: its chunk may be written already (its last row completed it)
            worker.job = None

    def _place(self, chunk: _Chunk, out: list[dict], tally: Tally) -> None:
        start = {raw.index: i for i, raw in enumerate(chunk.rows)}
        for row in out:
            i = start[row["row"]]
            if chunk.out[i] is None:
                chunk.missing -= 1
            chunk.out[i] = row
        self.run_info.tally.add(tally)

    def _crashed(self, worker: _Worker, chunks: dict[int, _Chunk], jobs: deque[_Job]) -> None:
        """Replace a dead worker; its job is given again once, row by row; a row it dies on twice is an
        error row."""
        self._workers.remove(worker)
        worker.conn.close()
        code = worker.process.exitcode
        self.run_info.replaced += 1
        if not worker.ready:
            self._start_failures += 1
            if self._start_failures >= MAX_START_FAILURES:
                raise EngineError(f"batch workers die as they start (exit code {code})")
        else:
            self.run_info.crashes += 1
        job = worker.job
        if job is not None and job.rows:
            if not job.careful:
                jobs.appendleft(_Job(next(self._ids), job.chunk, job.rows, careful=True))
            else:
                chunk = chunks[job.chunk]
                first = job.rows[0]
                self._place(chunk, [error_row(first, f"the batch worker crashed on this case (exit code {code}) "
                                                     "and again when it was retried", self.digest, self.settings.full)],
                            Tally(rows=1, errors=1))
                if len(job.rows) > 1:
                    jobs.appendleft(_Job(next(self._ids), job.chunk, job.rows[1:], careful=True))
        self._start()

    def _stop(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(("stop",))
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []


def _chunks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while True:
        batch = list(itertools.islice(rows, size))
        if not batch:
            return
        yield batch
