"""`clonus batch` on Dask distributed: a real LocalCluster of 2 worker processes (one thread each) on 20,000
generated cases gives the local run's output byte for byte, also when a worker is killed mid-job; every
distinct cell is evaluated once across the cluster; partition files have deterministic names and together
hold the local run's rows."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from clonus.engine.cohort.batch import run_batch
from clonus.engine.cohort.cluster import run_on_dask
from clonus.engine.cohort.decider import Settings
from clonus.engine.cohort.formats import write_cohort

from cohorts import generator

distributed = pytest.importorskip("distributed", reason="clonus[dask] is part of the test extra")
CASES = 20_000


async def _kill_self() -> None:  # client.run(wait=False) takes only coroutine functions
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as local:
        yield local


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """The cohort, and its local in-process answers as JSON Lines and CSV (one engine: each cell once)."""
    folder = tmp_path_factory.mktemp("dask")
    path = folder / "clinic.jsonl"
    write_cohort(path, generator.cases("clinic", CASES, 21))
    local = {kind: run_batch(path, folder / f"local.{kind}", Settings(), workers=0, chunk=2_000)
             for kind in ("jsonl", "csv")}
    return path, folder, local["jsonl"]


def _killer(killed: list[str]):
    """on_partition: kill one worker once the first partition is answered."""
    def kill_one(client, written: int) -> None:
        if written == 1 and not killed:
            victim = sorted(client.scheduler_info()["workers"])[0]
            client.run(_kill_self, workers=[victim], wait=False)
            killed.append(victim)
    return kill_one


def test_a_local_cluster_gives_the_local_bytes_when_a_worker_is_killed_mid_job(cluster, cohort, tmp_path):
    path, folder, local = cohort
    killed: list[str] = []
    summary = run_on_dask(path, tmp_path / "dask.jsonl", Settings(), scheduler=cluster.scheduler_address,
                          partition=1_000, on_partition=_killer(killed))
    assert killed
    assert summary.tally.rows == local.tally.rows == CASES
    assert (tmp_path / "dask.jsonl").read_bytes() == (folder / "local.jsonl").read_bytes()


def test_each_distinct_cell_is_evaluated_once_across_the_cluster(cluster, cohort, tmp_path):
    path, folder, local = cohort
    summary = run_on_dask(path, tmp_path / "dask.csv", Settings(), scheduler=cluster.scheduler_address,
                          partition=1_500)
    assert 0 < local.tally.misses < CASES // 2  # a clinic cohort: few cells, each evaluated once in one engine
    assert (summary.tally.misses, summary.tally.hits) == (local.tally.misses, local.tally.hits)
    assert (tmp_path / "dask.csv").read_bytes() == (folder / "local.csv").read_bytes()


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_partition_files_have_deterministic_names_and_hold_the_local_rows(cluster, cohort, tmp_path, kind):
    path, folder, _ = cohort
    out = tmp_path / "out"
    out.mkdir()
    (out / f"part-00099.{kind}").write_text("from an earlier, longer run\n")
    (out / f"part-notes.{kind}").write_text("not a partition: kept\n")
    killed: list[str] = []
    summary = run_on_dask(path, out / f"part-*.{kind}", Settings(), scheduler=cluster.scheduler_address,
                          partition=3_000, on_partition=_killer(killed) if kind == "jsonl" else None)
    assert summary.tally.rows == CASES
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"part-{n:05d}.{kind}" for n in range(7)] + [f"part-notes.{kind}"]
    parts = [(out / name).read_bytes() for name in names[:-1]]
    local = (folder / f"local.{kind}").read_bytes()
    if kind == "csv":  # each partition is a whole CSV file, header first
        header = local.split(b"\n", 1)[0] + b"\n"
        assert all(part.startswith(header) for part in parts)
        parts = [header] + [part[len(header):] for part in parts]
    assert b"".join(parts) == local
    assert [len(part.splitlines()) for part in parts[-7:-1]] == [3_000] * 6


def test_without_the_cache_the_cluster_answers_as_the_local_run(cluster, tmp_path):
    path = tmp_path / "even.jsonl"
    write_cohort(path, generator.cases("even", 1_000, 5))
    run_batch(path, tmp_path / "local.jsonl", Settings(cache=False), workers=0)
    summary = run_on_dask(path, tmp_path / "dask.jsonl", Settings(cache=False), scheduler=cluster.scheduler_address,
                          partition=300)
    assert (summary.tally.rows, summary.tally.hits, summary.tally.misses) == (1_000, 0, 0)
    assert (tmp_path / "dask.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


def test_an_empty_cohort_still_writes_one_partition(cluster, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    summary = run_on_dask(path, tmp_path / "p" / "part-*.csv", Settings(), scheduler=cluster.scheduler_address)
    assert summary.tally.rows == 0
    assert [p.name for p in Path(tmp_path / "p").iterdir()] == ["part-00000.csv"]
    assert (tmp_path / "p" / "part-00000.csv").read_text().startswith("id,row,status,error,")
