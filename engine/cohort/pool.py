"""Worker processes for a batch, one engine each, that survive their workers' crashes.

durable_rules can segfault, so each engine lives in its own process. The parent hands each chunk of rows
to an idle worker and writes the results in input order. A chunk of a JSON Lines file is a slice, a byte
range the worker reads itself, and a worker writing JSON Lines or CSV sends its rows back encoded, so
that a row crosses a pipe as neither an object nor a pickle and the parent, sharing the cores with the
workers, only finds line ends and copies bytes. A worker that dies (any exit,
a signal) is replaced, and its chunk is given again, once, row by row: each row's result comes back as
soon as it is done, so a second crash pins the row it happened on, which becomes an error row while the
rows after it are retried. No row is lost or written twice. At most a few chunks per worker are held at
once, so memory stays flat however long the input.

The cells a worker evaluated (which rules fired for one cell of the KB's thresholds, never a patient's
values: decide/cache.py) come back with its rows and go to every other worker with its next job, so a
cell is evaluated by the engine once across the workers, not once in each; only two workers meeting a
new cell in the same moment both evaluate it.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from clonus.engine.cohort.decider import Settings, Tally, error_row
from clonus.engine.cohort.formats import RawRow, Slice, encode_rows, read_slice
from clonus.engine.decide.cache import MAX_CELLS
from clonus.engine.errors import ClonusError, EngineError

DECIDER = "clonus.engine.cohort.decider:RowDecider"
MAX_START_FAILURES = 3  # workers that die before they are ready, in a row, before the batch gives up

GC_YOUNG = 50_000  # allocations between collections of the youngest generation, in a worker

Piece = list[RawRow] | Slice  # a chunk of rows, or the slice of a JSON Lines file that holds them


def collect_less_often() -> None:
    """For a process that decides batches: a chunk makes thousands of short-lived objects (rows, answers),
    none in a cycle, and collecting the youngest generation every 700 allocations, as by default, costs a
    tenth of a cache hit's time."""
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


def _build(spec: str, settings: Settings) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)(settings)


def worker_main(conn: Connection, spec: str, settings: Settings, sections: frozenset[str],
                encode: str | None) -> None:
    """A worker process: build one decider, then answer jobs until told to stop. A chunk's rows go back
    encoded as `encode` output (jsonl, csv) when given, as row mappings otherwise or when row by row."""
    try:
        decider = _build(spec, settings)
    except Exception as exc:  # noqa: BLE001 - said to the parent, which raises it as its own error
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    collect_less_often()
    conn.send(("ready",))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            decider.close()
            return
        _, job, piece, careful, cells = message
        if cells:
            decider.teach(cells)
        try:
            rows = read_slice(piece, sections) if isinstance(piece, Slice) else piece
        except ClonusError:  # the file changed under the batch: the parent reads the slice and says so
            conn.send(("unreadable", job))
            continue
        if careful:
            for raw in rows:
                out, tally = decider.decide([raw])
                conn.send(("row", job, out[0], tally))
            conn.send(("done", job))
        else:
            out, tally = decider.decide(rows)
            conn.send(("rows", job, encode_rows(encode, settings.full, out) if encode else out, tally,
                       decider.learned()))


@dataclass
class _Chunk:
    first: int          # the place of its first row (rows of a chunk are consecutive)
    out: list[dict | None]
    missing: int
    encoded: bytes | None = None  # all its rows, as a worker encoded them


@dataclass
class _Job:
    id: int
    chunk: int
    piece: Piece  # the rows still to do, in order (a slice only while none is done)
    careful: bool


@dataclass
class _Worker:
    process: Any
    conn: Connection
    ready: bool = False
    job: _Job | None = None
    taught: int = 0  # the shared cells this worker has (learned or been sent)


@dataclass
class PoolRun:
    """How a pooled batch went: its tally and how many workers were replaced after a crash."""

    tally: Tally = field(default_factory=Tally)
    crashes: int = 0    # workers that died after they were ready
    replaced: int = 0   # every worker replaced, also one that died as it started
    worker_pids: list[int] = field(default_factory=list)


class WorkerPool:
    """`workers` processes deciding chunks of rows (decider: "module:callable" taking the Settings)."""

    def __init__(self, settings: Settings, workers: int, digest: str, sections: Collection[str],
                 decider: str = DECIDER, encode: str | None = None):
        self.digest, self.sections, self.encode = digest, frozenset(sections), encode
        self.settings, self.count, self.spec = settings, max(1, workers), decider
        self._context = multiprocessing.get_context("spawn")  # never fork a process that holds engines
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self._start_failures = 0
        self.run_info = PoolRun()
        self._cells: list[tuple] = []  # cells the workers evaluated, in the order they came back

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, daemon=True,
                                        args=(child, self.spec, self.settings, self.sections, self.encode))
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        if process.pid is not None:
            self.run_info.worker_pids.append(process.pid)
        return worker

    def run(self, pieces: Iterable[Piece], emit: Callable[[list[dict] | bytes, int], None]) -> PoolRun:
        """Decide every row of every piece; emit(rows, count) is called with each chunk's output rows (or
        their encoded bytes) and their count, in input order."""
        source = iter(pieces)
        chunks: dict[int, _Chunk] = {}
        jobs: deque[_Job] = deque()
        next_chunk, next_emit, exhausted = 0, 0, False
        for _ in range(self.count):
            self._start()
        try:
            while True:
                # emit first: finished chunks free their places before more are read, so that whenever
                # this loop waits below, some worker has a job or is starting (waiting with every chunk
                # done and none read yet hung a batch for ever once all six finished in one wait)
                while next_emit in chunks and chunks[next_emit].missing == 0:
                    done = chunks.pop(next_emit)
                    emit(done.encoded if done.encoded is not None else [r for r in done.out if r is not None],
                         len(done.out))
                    next_emit += 1
                if exhausted and not chunks:
                    return self.run_info
                while not exhausted and len(chunks) < 3 * self.count and len(jobs) < self.count:
                    piece = next(source, None)
                    if piece is None:
                        exhausted = True
                        break
                    size, first = (piece.rows, piece.first_index) if isinstance(piece, Slice) else \
                        (len(piece), piece[0].index)
                    chunks[next_chunk] = _Chunk(first, [None] * size, size)
                    jobs.append(_Job(next(self._ids), next_chunk, piece, careful=False))
                    next_chunk += 1
                for worker in self._workers:
                    if worker.ready and worker.job is None and jobs:
                        worker.job = jobs.popleft()
                        cells, worker.taught = self._cells[worker.taught:], len(self._cells)
                        worker.conn.send(("job", worker.job.id, worker.job.piece, worker.job.careful, cells))
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
                    self._receive(worker, worker.conn.recv(), chunks, jobs)
            except (EOFError, OSError):
                dead = True
            if dead:
                worker.process.join(timeout=5)
                self._crashed(worker, chunks, jobs)

    def _receive(self, worker: _Worker, message: tuple, chunks: dict[int, _Chunk], jobs: deque[_Job]) -> None:
        kind = message[0]
        if kind == "failed":
            raise EngineError(f"a batch worker could not start: {message[1]}")
        if kind == "ready":
            worker.ready, self._start_failures = True, 0
            return
        job = worker.job
        assert job is not None and job.id == message[1]
        if kind == "rows":
            chunk = chunks[job.chunk]
            if isinstance(message[2], bytes):
                chunk.encoded, chunk.missing = message[2], 0
                self.run_info.tally.add(message[3])
            else:
                self._place(chunk, message[2], message[3])
            self._share(worker, message[4])
            worker.job = None
        elif kind == "row":
            self._place(chunks[job.chunk], [message[2]], message[3])
            assert isinstance(job.piece, list)  # a row-by-row job holds its rows, never a slice
            job.piece = job.piece[1:]
        elif kind == "unreadable":
            rows = self._rows(job.piece)  # raises the file's own error here; if it reads now, row by row
            worker.job = None
            jobs.appendleft(_Job(next(self._ids), job.chunk, rows, careful=True))
        else:  # done: its chunk may be written already (its last row completed it)
            worker.job = None

    def _share(self, worker: _Worker, cells: list[tuple]) -> None:
        """Keep the cells a worker evaluated, for the others' next jobs (the cells it was sent before
        are in its cache already, so its own come after them in the list it is up to)."""
        if not cells or len(self._cells) >= MAX_CELLS:
            return
        caught_up = worker.taught == len(self._cells)
        self._cells.extend(cells)
        if caught_up:
            worker.taught = len(self._cells)

    def _rows(self, piece: Piece) -> list[RawRow]:
        return read_slice(piece, self.sections) if isinstance(piece, Slice) else piece

    def _place(self, chunk: _Chunk, out: list[dict], tally: Tally) -> None:
        for row in out:
            i = row["row"] - chunk.first
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
        rows = self._rows(job.piece) if job is not None else []
        if job is not None and rows:
            if not job.careful:
                jobs.appendleft(_Job(next(self._ids), job.chunk, rows, careful=True))
            else:
                chunk = chunks[job.chunk]
                first = rows[0]
                self._place(chunk, [error_row(first, f"the batch worker crashed on this case (exit code {code}) "
                                                     "and again when it was retried", self.digest, self.settings.full)],
                            Tally(rows=1, errors=1))
                if len(rows) > 1:
                    jobs.appendleft(_Job(next(self._ids), job.chunk, rows[1:], careful=True))
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


def row_chunks(rows: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    """Rows in chunks of `size` (the pieces of a file that is not sliced)."""
    rows = iter(rows)
    while batch := list(itertools.islice(rows, max(1, size))):
        yield batch
