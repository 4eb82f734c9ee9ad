"""Any value of any shape anywhere in a KB file gives a Kb or located problems (KbError), never another
exception: the loader checks each value's shape before it reads it. Hypothesis picks the file, the
place and the value; an exhaustive sweep of the same (12,000 loads) found nothing either.
"""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clonus.engine.errors import KbError
from clonus.engine.knowledge.load import default_kb_dir, load_kb

FILES = ("kb.yaml", "facts.yaml", "codes.yaml", "sources.yaml", "notations.yaml", "invariants.yaml",
         "medications.yaml", "conditions.yaml", "teaching.yaml", "profiles/us.yaml", "rules/dosing.yaml",
         "rules/next-steps.yaml", "rules/precautions.yaml", "rules/scope.tests.yaml")
DOCS = {name: yaml.safe_load((default_kb_dir() / name).read_text(encoding="utf-8")) for name in FILES}
VALUES = [None, 5, -1, 1.5, True, "x", "0130", "1:05", "", [], [["x"]], [{"a": 1}], {}, {"a": [1]},
          {"x": {"y": "z"}}, "x" * 5000]


def places(node, prefix=(), depth=0):
    """Every place in a document (as a path of keys and indexes), a few levels deep."""
    if prefix:
        yield prefix
    if depth >= 5:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, (*prefix, key), depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node[:6]):
            yield from places(value, (*prefix, index), depth + 1)


PLACES = [(name, path) for name in FILES for path in places(DOCS[name])]


@pytest.fixture(scope="module")
def kb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes") / "kb"
    shutil.copytree(default_kb_dir(), root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return root


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                                      HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(PLACES), value=st.sampled_from(VALUES))
def test_a_value_of_any_shape_anywhere_is_a_kb_or_located_problems(kb_root, where, value):
    name, path = where
    doc = copy.deepcopy(DOCS[name])
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    original = (default_kb_dir() / name).read_text(encoding="utf-8")
    (kb_root / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    try:
        load_kb(kb_root)
    except KbError as exc:
        assert exc.problems and all(p.file and p.line >= 0 for p in exc.problems)
    finally:
        (kb_root / name).write_text(original, encoding="utf-8")


@pytest.mark.parametrize("where, value", [
    (("kb.yaml", ("precedence", "suppresses", "urgent_evaluation_withdrawal")), [["x"]]),
    (("invariants.yaml", ("required", 0, "codes")), [["x"]]),
    (("invariants.yaml", ("required", 0, "when")), [{"a": 1}]),
    (("teaching.yaml", ("sections", 0, "codes")), [["x"]]),
    (("teaching.yaml", ("overview", "questions")), [["x"]]),
    (("kb.yaml", ("default_profile",)), []),
    (("medications.yaml", ("medications", "baclofen", "rxnorm")), [1]),
], ids=["precedence", "required-codes", "required-when", "teaching-codes", "overview-questions", "default-profile",
        "rxnorm-list"])
def test_regression_a_list_where_kb_0_2_0_names_something_is_a_located_problem(kb_root, where, value):
    """Bug (found by the sweep of KB 0.2.0's files): a list or a mapping where precedence, the safety
    section, teaching.yaml or default_profile names a code, a condition, a fact or a profile crashed
    the loader with TypeError (unhashable type), instead of a located problem."""
    name, path = where
    doc = copy.deepcopy(DOCS[name])
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    original = (default_kb_dir() / name).read_text(encoding="utf-8")
    (kb_root / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    try:
        with pytest.raises(KbError) as info:
            load_kb(kb_root)
    finally:
        (kb_root / name).write_text(original, encoding="utf-8")
    assert info.value.problems and all(p.file.endswith(name) and p.line > 0 for p in info.value.problems[:1])
