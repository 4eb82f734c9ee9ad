"""A batch decider that is slow on the chunk holding the first row: the other worker finishes every chunk
after it meanwhile (how tests/test_batch_pool_refill.py pins the pool's refilling)."""

from __future__ import annotations

import time

from clonus.engine.cohort.decider import RowDecider

SLOW_S = 2.0


class SlowFirstDecider(RowDecider):
    def decide(self, rows):
        rows = list(rows)
        if any(raw.index == 1 for raw in rows):
            time.sleep(SLOW_S)
        return super().decide(rows)
