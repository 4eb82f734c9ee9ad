"""engine/intake.py: reading a case, normalising notations, refusing what cannot be used."""

from __future__ import annotations

import pytest

from clonus.engine.errors import CaseError
from clonus.engine.intake import parse_case, read_case_text

from conftest import reference_case


def case_with(section: str, field: str, value) -> dict:
    data = reference_case()
    data.setdefault(section, {})[field] = value
    return data


@pytest.mark.parametrize("text, field", [
    ("patient: {age: .nan}", "patient.age"),
    ("patient: {age: .inf}", "patient.age"),
    ("patient: {egfr: -.inf}", "patient.egfr"),
    ("patient: {egfr: .NaN}", "patient.egfr"),
], ids=["age-nan", "age-inf", "egfr-minus-inf", "egfr-NaN"])
def test_regression_non_finite_number_is_a_case_error(shipped_kb, text, field):
    """Bug: YAML .nan was accepted as an age (silently no dosing advice, NaN in the JSON output) and
    .inf crashed intake with decimal.InvalidOperation (a traceback instead of exit 2)."""
    with pytest.raises(CaseError) as info:
        parse_case(shipped_kb, read_case_text(text))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert "expected a number from 0 to" in str(info.value)


@pytest.mark.parametrize("text, key, line", [
    ("medication:\n  drug: baclofen\n  dose: 15 mg\n  dose: 150 mg\n", "dose", 4),
    ('{"patient": {"age": 45, "age": 12}}', "age", 1),
], ids=["yaml-dose-twice", "json-age-twice"])
def test_regression_duplicate_key_in_case_is_refused(text, key, line):
    """Bug: yaml.safe_load kept the last of two equal keys, so `dose: 15 mg` then `dose: 150 mg`
    silently became 150 mg (450 mg/day). A case that says two things must be refused."""
    with pytest.raises(CaseError) as info:
        read_case_text(text, "case file")
    message = str(info.value)
    assert info.value.field == "case file"
    assert f"malformed YAML/JSON at line {line}," in message
    assert f"duplicate key {key!r}" in message
