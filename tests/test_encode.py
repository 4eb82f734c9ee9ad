"""The contract JSON through orjson is byte for byte what json.dumps(indent=2, ensure_ascii=False) wrote."""

from __future__ import annotations

import json

import pytest

from clonus.engine.errors import ClonusError
from clonus.engine.explain.encode import contract_json

from cohorts import generator


def _old(doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("doc", [
    {"small": 1e-05, "tiny": 1.2345e-09, "text": "re-evaluate 5e-3"}, {"big": 2**70}, {"x": 0.0001, "y": -0.0},
    {"unicode": "é – \u2028 \x01 \x7f", "empty": [], "nested": {"a": {}}}, [1.5e300, 5e-324, 1e16, 123456.789],
], ids=["small-floats", "big-int", "edges", "text", "large"])
def test_edge_documents_encode_as_json_dumps_did(doc):
    assert contract_json(doc) == _old(doc)


def test_every_generated_answer_encodes_as_json_dumps_did(advisor):
    compared = 0
    for _, case in generator.cases("even", 300, 17):
        try:
            doc = advisor.advise(case).to_json()
        except ClonusError:
            continue
        assert contract_json(doc) == _old(doc)
        compared += 1
    assert compared > 250
