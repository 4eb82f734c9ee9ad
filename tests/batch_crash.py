"""A batch decider that really crashes its worker process (SIGKILL) on the case with id `poison`: how
tests/test_batch.py pins what a batch does with a case that kills its engine."""

from __future__ import annotations

import os
import signal

from clonus.engine.cohort.decider import RowDecider


class CrashingDecider(RowDecider):
    def decide(self, rows):
        rows = list(rows)
        if any(raw.id == "poison" for raw in rows):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().decide(rows)
