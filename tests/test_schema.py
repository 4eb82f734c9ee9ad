"""The published JSON Schemas accept every shipped rule and test file, and reject malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

KB = Path(__file__).resolve().parent.parent / "kb"
RULE_FILES = sorted(p for p in (KB / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
TEST_FILES = sorted((KB / "rules").glob("*.tests.yaml"))


def schema(name: str) -> dict:
    return json.loads((KB / "schema" / name).read_text(encoding="utf-8"))


def as_json(path: Path) -> dict:
    # YAML reads 2026-11-25 as a date; an editor's JSON view sees the string
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_shipped_rule_file_matches_schema(path):
    jsonschema.validate(as_json(path), schema("rules.schema.json"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_shipped_test_file_matches_schema(path):
    jsonschema.validate(as_json(path), schema("rule-tests.schema.json"))


@pytest.mark.parametrize("mutate, where", [
    (lambda r: r.pop("rationale"), "rationale"),
    (lambda r: r.update(status="final"), "final"),
    (lambda r: r.update(id="Bad Id"), "Bad Id"),
    (lambda r: r.update(colour="red"), "colour"),
    (lambda r: r["then"].clear(), "then"),
    (lambda r: r.update(when={"either": ["age >= 18"]}), "either"),
], ids=["no-rationale", "bad-status", "bad-id", "unknown-key", "empty-then", "unknown-block"])
def test_schema_rejects_malformed_rule(mutate, where):
    doc = as_json(KB / "rules" / "scope.yaml")
    mutate(doc["rules"][0])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema("rules.schema.json"))
