"""Shared fixtures: the shipped KB, a writable copy of it, one Advisor for the whole session, and one per
rule engine installed here (durable_rules where it imports, CLIPS everywhere)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import ENGINES, load_backend, usable_engines
from clonus.engine.knowledge.load import default_kb_dir, load_kb

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def shipped_kb():
    return load_kb(default_kb_dir())


@pytest.fixture(scope="session")
def advisor(shipped_kb):
    with Advisor(shipped_kb) as adv:
        yield adv


# The engines that run on this Python: tests parametrised over them run on each (both on 3.11 and 3.12,
# CLIPS alone on 3.13 and later, where durable_rules does not import).
INSTALLED_ENGINES = usable_engines()


def engine_params() -> list:
    """One pytest param per engine clonus ships; an engine that cannot run here is skipped, with why."""
    return [pytest.param(name, id=name, marks=[] if name in INSTALLED_ENGINES else
                         [pytest.mark.skip(reason=f"{name} cannot run here: {load_backend(name).available()}")])
            for name in ENGINES]


@pytest.fixture(scope="session", params=engine_params())
def engine_advisor(request, shipped_kb):
    """An Advisor on each rule engine in turn (tests using it run once per engine)."""
    with Advisor(shipped_kb, engine=request.param) as adv:
        yield adv


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A writable copy of the shipped KB folder, to break or change in one test."""
    target = tmp_path / "kb"
    shutil.copytree(default_kb_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


def reference_case() -> dict:
    return {
        "patient": {"age": 45, "spasticity": "generalized"},
        "medication": {"drug": "baclofen", "dose": "15 mg", "frequency": "q8h"},
        "response": {"relief": "inadequate"},
    }


@pytest.fixture
def kb_copy_factory():
    """Copies of the shipped KB made on demand: make(target) -> target."""
    import shutil

    from clonus.engine.knowledge.load import default_kb_dir

    def make(target):
        shutil.copytree(default_kb_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        return target

    return make


def engine_blind(text: str) -> str:
    """An answer's text with the engine that produced it left out, and white space runs (also JSON's \\n)
    as one space: the engines answer alike (clonus check-engines), but each names itself in the footer,
    and a shorter name may wrap the last line elsewhere."""
    text = re.sub(r"engine(\s|\\n)+(durable|clips)(\s|\\n)+[\w.]+", "engine E", text)
    return re.sub(r"(\s|\\n)+", " ", text)
