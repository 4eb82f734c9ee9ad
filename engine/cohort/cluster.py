"""A batch on Dask distributed (`clonus[dask]`): the same rows, the same bytes, beyond one machine.

Every worker holds one decider (one engine and its decision cache), built by a worker plugin when the
worker joins, also a worker that replaces one that died; engines hold the GIL, so a local cluster runs one
thread per worker process. The client cuts the input into partitions (a JSON Lines partition travels as
its bytes, so the client parses no row and the workers need no access to the file) and runs three phases:

1. keys: each partition's workers compute every row's cell and send back the first row of each cell;
2. cells: the client keeps the first row of each distinct cell across the whole input and the workers
   evaluate each of those once in the engine; the cells (which rules fired, never a patient's values)
   are broadcast to every worker;
3. answers: each partition is answered from the cells, so no cell is evaluated twice across the cluster.
   Its rows are sent back to the client, which writes them in input order with the local writer (the
   output is a local run's byte for byte), or, for an output named `dir/part-*.jsonl`, the worker writes
   its partition's file itself (`part-00000.jsonl`, ...: deterministic names, each written under a
   temporary name and renamed, so a partition run again after a lost worker replaces its file whole).

Without the cache (`--no-cache`, or a KB that is not cacheable) only the third phase runs. A worker lost
mid-job costs nothing but time: the scheduler runs its tasks again on the others (every task is a pure
function of its arguments). At most a few partitions per worker are in flight in each phase, so the
client's memory stays flat; it holds the first row of each distinct cell.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from clonus.engine.cohort.batch import BatchSummary
from clonus.engine.cohort.decider import RowDecider, Settings, Tally
from clonus.engine.cohort.formats import (
    ENCODED,
    RawRow,
    RowWriter,
    Slice,
    encode_rows,
    format_of,
    jsonl_slices,
    partition_path,
    partitioned,
    read_rows,
    read_slice,
)
from clonus.engine.cohort.pool import collect_less_often, row_chunks
from clonus.engine.decide.cache import MAX_CELLS
from clonus.engine.errors import UsageError
from clonus.engine.knowledge.load import load_kb

PLUGIN = "clonus-decider"
PARTITION = 2_000
IN_FLIGHT_PER_WORKER = 3
CELL_TASKS_PER_WORKER = 4  # the distinct cells are evaluated in this many tasks per worker (or fewer)

Piece = list[RawRow] | Slice


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise UsageError("--scheduler / --dask-local: Dask is not installed; install clonus[dask] "
                         "(pip install 'clonus[dask]')") from exc
    return distributed


def decider_plugin(settings: Settings, name: str = PLUGIN) -> Any:
    """A worker plugin that builds one RowDecider per worker (setup) and closes it (teardown); `name` is
    the batch's own, so that two batches on one cluster keep apart."""
    base: Any = _distributed().WorkerPlugin

    class DeciderPlugin(base):
        def __init__(self, settings: Settings, name: str):
            self.settings, self.name = settings, name
            self.decider: RowDecider | None = None
            self.taught: Any = None  # the broadcast cells this worker's decider has learned

        def setup(self, worker: Any) -> None:
            collect_less_often()  # a young generation collected less often: harmless to other tasks
            self.decider = RowDecider(self.settings)

        def teardown(self, worker: Any) -> None:
            if self.decider is not None:
                self.decider.close()

    return DeciderPlugin(settings, name)


def _plugin(name: str) -> Any:
    from distributed import get_worker

    return get_worker().plugins[name]


def _rows(piece: Piece, decider: RowDecider) -> list[RawRow]:
    return read_slice(piece, decider.kb.case_sections) if isinstance(piece, Slice) else piece


def first_of_cells(name: str, piece: Piece) -> list[tuple]:
    """Phase 1, a task: the first row of each cell of one partition."""
    decider = _plugin(name).decider
    return decider.first_of_cells(_rows(piece, decider))


def evaluate_cells(name: str, firsts: list[tuple]) -> tuple[list[tuple], Tally]:
    """Phase 2, a task: these cells evaluated by the engine, through their first rows."""
    return _plugin(name).decider.evaluate_cells(firsts)


def answer_partition(name: str, piece: Piece, cells: list[tuple] | None, target: str | None,
                     encode: str | None) -> tuple[list[dict] | bytes | None, Tally]:
    """Phase 3, a task: one partition's output rows (encoded as `encode` output when given), or, with a
    `target`, None once the worker has written them to that file itself."""
    plugin = _plugin(name)
    decider: RowDecider = plugin.decider
    if cells is not None and plugin.taught is not cells:
        decider.teach(cells)
        plugin.taught = cells
    out, tally = decider.decide(_rows(piece, decider))
    if target is not None:
        with RowWriter(target, decider.settings.full) as writer:
            writer.write(out)
            writer.commit()
        return None, tally
    return (encode_rows(encode, decider.settings.full, out) if encode else out), tally


def run_on_dask(source: Path | str, target: Path | str, settings: Settings, scheduler: str | None = None,
                local_workers: int | None = None, progress: Callable[[int], None] | None = None,
                partition: int = PARTITION, on_partition: Callable[[Any, int], None] | None = None) -> BatchSummary:
    """The batch of run_batch on a Dask cluster: `scheduler` (tcp://HOST:PORT) or a local cluster of
    `local_workers` processes. on_partition(client, n) is called after partition n is answered (tests)."""
    distributed = _distributed()
    started = time.perf_counter()
    kb = load_kb(settings.kb_dir, settings.profile)
    parts = partitioned(target)
    kind = format_of(target, "--output")
    read_rows(source, kb)  # the local batch's checks of the input (format, existence), before any cluster
    jsonl = format_of(source, "INPUT") == "jsonl"

    def pieces() -> Iterator[Piece]:
        return jsonl_slices(source, partition, carry=True) if jsonl else row_chunks(read_rows(source, kb), partition)

    if parts:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(n_workers=local_workers or 1, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1")
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    name = f"{PLUGIN}-{uuid.uuid4().hex}"
    summary = BatchSummary(cache=settings.cache)
    try:
        client.register_plugin(decider_plugin(settings, name), name=name)
        workers = max(1, len(client.scheduler_info()["workers"]))
        limit = IN_FLIGHT_PER_WORKER * workers
        cells = _cells(client, name, pieces(), summary.tally, workers) \
            if settings.cache else None  # a KB the cache cannot serve has no cells: phase 1 finds none
        calls = ((answer_partition, name, piece, cells, str(partition_path(target, n)) if parts else None,
                  kind if kind in ENCODED else None) for n, piece in enumerate(pieces()))
        if parts:
            written = _answer_into_parts(client, calls, limit, summary, progress, on_partition, target, settings)
            _remove_stale_parts(target, written)
        else:
            with RowWriter(target, settings.full) as writer:
                for n, (out, tally) in enumerate(_stream(client, calls, limit), 1):
                    if isinstance(out, bytes):
                        writer.write_encoded(out)
                    else:
                        writer.write(out or [])
                    _answered(summary, tally, progress, on_partition, client, n)
                writer.commit()
    finally:
        try:
            client.unregister_worker_plugin(name)
        except Exception:  # noqa: BLE001 - a cluster going away takes its plugins with it
            pass
        client.close()
        if cluster is not None:
            cluster.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _cells(client: Any, name: str, pieces: Iterable[Piece], tally: Tally, workers: int) -> Any:
    """Phases 1 and 2: every distinct cell of the input evaluated once; the cells, broadcast to every
    worker (a future). Their evaluations are the batch's cache misses."""
    limit = IN_FLIGHT_PER_WORKER * workers
    firsts: dict[Any, RawRow] = {}
    for found in _stream(client, ((first_of_cells, name, piece) for piece in pieces), limit):
        for key, raw in found:
            if key not in firsts and len(firsts) < MAX_CELLS:
                firsts[key] = raw
    chosen = list(firsts.items())
    size = max(1, -(-len(chosen) // (CELL_TASKS_PER_WORKER * workers)))
    cells: list[tuple] = []
    chunks = (chosen[i:i + size] for i in range(0, len(chosen), size))
    for found, evaluated in _stream(client, ((evaluate_cells, name, chunk) for chunk in chunks), limit):
        cells.extend(found)
        # each cell's first row counts as its miss, as in a local batch (phase 3 answers it from the cell)
        tally.misses += evaluated.misses
        tally.hits -= evaluated.misses
    [broadcast] = client.scatter([cells], broadcast=True, hash=False)
    return broadcast


def _answer_into_parts(client, calls, limit, summary, progress, on_partition, target, settings) -> set[Path]:
    """Phase 3 with partition files: the workers write them; at least one (empty) is written."""
    written: set[Path] = set()
    for n, (_, tally) in enumerate(_stream(client, calls, limit), 1):
        written.add(partition_path(target, n - 1))
        _answered(summary, tally, progress, on_partition, client, n)
    if not written:
        with RowWriter(partition_path(target, 0), settings.full) as writer:
            writer.commit()
        written.add(partition_path(target, 0))
    return written


def _remove_stale_parts(target: Path | str, written: set[Path]) -> None:
    """Partition files of the same name left by an earlier, longer run would read as part of this one."""
    path = Path(target)
    prefix, suffix = path.name.split("*")
    for old in path.parent.glob(path.name):
        number = old.name[len(prefix):len(old.name) - len(suffix)]
        if number.isdigit() and old not in written:
            old.unlink()


def _answered(summary: BatchSummary, tally: Tally, progress, on_partition, client, n: int) -> None:
    summary.tally.add(tally)
    if progress is not None:
        progress(summary.tally.rows)
    if on_partition is not None:
        on_partition(client, n)


def _stream(client: Any, calls: Iterable[tuple], limit: int) -> Iterator[Any]:
    """The results of calls (function, *arguments), each a task, in order, at most `limit` in flight."""
    pending: deque[Any] = deque()
    for function, *arguments in calls:
        pending.append(client.submit(function, *arguments, pure=False))
        if len(pending) >= limit:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()

