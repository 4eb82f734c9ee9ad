"""The adversarial inputs of issue 8, kept as data (tests/adversarial/cases.yaml, flags.yaml, kbs.yaml):
every case file, command line and KB there gets its expected exit code and one clear message, or a
located load problem, never a hang, a traceback or a blow-up. Each input runs inside a worker process
under a time limit (tests/adversarial/run.py): a hang fails that input, not the suite. `python
tests/adversarial/run.py` runs the same and prints the counts and the slowest inputs."""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest

from conftest import REPO

_spec = importlib.util.spec_from_file_location("adversarial_run", REPO / "tests" / "adversarial" / "run.py")
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
sys.modules["adversarial_run"] = run  # its dataclasses look their module up
_spec.loader.exec_module(run)

INPUTS = [(kind, index, entry) for kind in run.CLASSES for index, entry in enumerate(run.entries(kind))]


@cache
def results() -> dict[str, list[dict]]:
    """Every class run once (side by side, each through its own workers), the first time a test asks."""
    with ThreadPoolExecutor(len(run.CLASSES)) as pool:
        return dict(zip(run.CLASSES, pool.map(run.run_class, run.CLASSES), strict=True))


def test_every_class_has_its_inputs_named_once():
    for kind in run.CLASSES:
        names = [entry["name"] for entry in run.entries(kind)]
        assert len(names) == len(set(names)), kind
        assert all(entry["exit"] in (0, 1, 2) for entry in run.entries(kind))
    counts = {kind: len(run.entries(kind)) for kind in run.CLASSES}
    assert counts["cases"] >= 100 and counts["flags"] >= 60 and counts["kbs"] >= 50, counts


@pytest.mark.parametrize("kind, index, entry", INPUTS, ids=[f"{k}/{e['name']}" for k, _, e in INPUTS])
def test_adversarial_input_gets_its_clear_answer(kind, index, entry):
    result = results()[kind][index]
    if run.skipped(result):
        pytest.skip(run.skipped(result))
    assert run.problems(entry, result) == [], result["stderr"][:500]


RUNNER_CHECK = """
- {name: answers, args: [--version], exit: 0, output: clonus}
- {name: hangs, python: "import time; time.sleep(600)", exit: 0}
- {name: answers-after-a-hang, args: [advise, --age, "1:05"], exit: 2, message: "patient.age: '1:05'"}
- {name: dies, python: "import os; os._exit(9)", exit: 0}
- {name: fills-memory, python: "x = bytearray(8 * 2**30)", exit: 0}
- {name: answers-at-the-end, args: [advise, --age, "055"], exit: 2, message: "patient.age: '055'"}
"""


def test_a_hang_a_crash_or_a_blow_up_fails_its_own_input_and_the_run_goes_on(tmp_path):
    source = tmp_path / "runner.yaml"
    source.write_text(RUNNER_CHECK, encoding="utf-8")
    got = run.run_class(str(source), limit=3)
    found = [run.problems(entry, result) for entry, result in zip(run.entries(str(source)), got, strict=True)]
    assert found[0] == [] and found[2] == [] and found[5] == []
    assert found[1] == ["no answer within 3 s"]
    assert found[3] == ["the worker died (exit 9)"]
    assert got[4]["exit"] == -1 and "MemoryError" in got[4]["stderr"]
