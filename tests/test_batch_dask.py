"""`clonus batch` on Dask distributed: a real LocalCluster of 2 worker processes (one thread each) on 20,000
generated cases gives the local run's output byte for byte, also when a worker is killed mid-job."""

from __future__ import annotations

import os
import signal

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


def test_a_local_cluster_gives_the_local_bytes_when_a_worker_is_killed_mid_job(tmp_path):
    cohort = tmp_path / "clinic.jsonl"
    write_cohort(cohort, generator.cases("clinic", CASES, 21))
    local = run_batch(cohort, tmp_path / "local.jsonl", Settings(), workers=0, chunk=2_000)
    killed: list[str] = []

    def kill_one(client, written: int) -> None:
        if written == 1 and not killed:
            victim = sorted(client.scheduler_info()["workers"])[0]
            client.run(_kill_self, workers=[victim], wait=False)
            killed.append(victim)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        summary = run_on_dask(cohort, tmp_path / "dask.jsonl", Settings(), scheduler=cluster.scheduler_address,
                              partition=1_000, on_partition=kill_one)
    assert killed
    assert summary.tally.rows == local.tally.rows == CASES
    assert (tmp_path / "dask.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
