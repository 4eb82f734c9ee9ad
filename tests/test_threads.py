"""One Advisor shared between threads (the CDS Hooks service, the cohort runner): evaluations are
serialised, so no thread ever sees the engine's one-case-at-a-time EngineError, and every thread gets
the answer one thread alone gets."""

from __future__ import annotations

import json
import threading

from clonus.engine.decide.advisor import Advisor
from clonus.engine.intake.case import parse_case, read_case_text

from conftest import EXAMPLES

THREADS = 4
CALLS = 5_000


def _answer(result) -> str:
    return json.dumps(result.to_json(), sort_keys=True)


def test_regression_four_threads_sharing_one_advisor_get_no_engine_error_and_the_same_answers(shipped_kb):
    """Bug: four threads sharing one Advisor got EngineError ('an engine evaluates one case at a time')
    on 18,340 of 20,000 calls."""
    cases = [parse_case(shipped_kb, read_case_text(p.read_text(encoding="utf-8"), p.name))
             for p in sorted(EXAMPLES.glob("*.yaml"))]
    with Advisor(shipped_kb) as advisor:
        expected = [_answer(advisor.advise_case(case)) for case in cases]
        failures: list[str] = []
        counts = [0] * THREADS
        start = threading.Barrier(THREADS)

        def work(index: int) -> None:
            start.wait()
            for call in range(CALLS):
                which = (call * 7 + index) % len(cases)
                try:
                    got = _answer(advisor.advise_case(cases[which]))
                except Exception as exc:  # noqa: BLE001 - every failure is what this test counts
                    failures.append(f"thread {index} call {call}: {type(exc).__name__}: {exc}")
                    continue
                if got != expected[which]:
                    failures.append(f"thread {index} call {call}: another answer for case {which}")
                counts[index] += 1

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == [], failures[:5]
    assert counts == [CALLS] * THREADS
