"""Batch deciders for tests/test_batch.py: one that really crashes its worker process (SIGKILL) on the
case with id `poison` (what a batch does with a case that kills its engine), one that is slow on the case
with id `slow` (the other worker finishes every other chunk meanwhile)."""

from __future__ import annotations

import os
import signal
import time

from clonus.engine.cohort.decider import RowDecider


class CrashingDecider(RowDecider):
    def decide(self, rows):
        rows = list(rows)
        if any(raw.id == "poison" for raw in rows):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().decide(rows)


class SlowDecider(RowDecider):
    def decide(self, rows):
        rows = list(rows)
        if any(raw.id == "slow" for raw in rows):
            time.sleep(2)
        return super().decide(rows)


class TruncatingDecider(RowDecider):
    """Cuts the cohort file named by CLONUS_TEST_TRUNCATE in half as the worker starts, after the parent
    has sliced it (the file changes under the batch)."""

    def __init__(self, settings):
        path = os.environ["CLONUS_TEST_TRUNCATE"]
        os.truncate(path, os.path.getsize(path) // 2)
        super().__init__(settings)
