"""Shared fixtures: the shipped KB, a writable copy of it, and one Advisor for the whole session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clonus.engine.decide.advisor import Advisor
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
