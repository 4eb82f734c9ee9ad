"""The conformance check runs with the suite's fixtures and helpers (tests/conftest.py), loaded by path
since this folder's own conftest takes the name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("suite_conftest", Path(__file__).resolve().parent.parent / "tests"
                                               / "conftest.py")
assert _spec is not None and _spec.loader is not None
_suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_suite)

REPO = _suite.REPO
reference_case = _suite.reference_case
shipped_kb = _suite.shipped_kb
