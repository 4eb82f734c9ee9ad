"""Conformance to the shared contract (../shared/contract): codes, case fields, notations and JSON shape.

Not part of the test suite (which tests the project's own files and passes on a plain clone): .ci/run
runs it after the suite with `python -m pytest conformance`, with shared/ checked out beside the clone.
If the contract is absent these checks fail, never skip: a build that cannot see the contract has not
shown that it keeps it.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.errors import CaseError
from clonus.engine.intake.case import parse_case

from conftest import REPO, reference_case

CONTRACT_DIR = REPO.parent / "shared" / "contract"
CODES_FILE = CONTRACT_DIR / "recommendation-codes.yaml"
CONTRACT_FILE = CONTRACT_DIR / "CONTRACT.md"
runner = CliRunner()


def require(path):
    if not path.is_file():
        pytest.fail(f"the shared contract file {path} is missing: check out the shared/ folder beside the clone "
                    f"(expected at {CONTRACT_DIR}); these tests must not pass without it", pytrace=False)
    return path


def contract_text() -> str:
    return require(CONTRACT_FILE).read_text(encoding="utf-8")


def section(number: int) -> str:
    """The text of `## <number>.` up to the next `## ` heading."""
    text = contract_text()
    match = re.search(rf"^## {number}\..*?(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"CONTRACT.md has no section {number}"
    return match.group(0)


def fenced(block: str, lang: str) -> str:
    match = re.search(rf"^```{lang}\n(.*?)^```", block, flags=re.S | re.M)
    assert match, f"no ```{lang} block"
    return match.group(1)


def test_an_absent_contract_fails_never_skips(tmp_path):
    with pytest.raises(pytest.fail.Exception) as info:
        require(tmp_path / "shared" / "contract" / "recommendation-codes.yaml")
    assert "is missing" in str(info.value)


def _contract_codes() -> list:
    """(category, code) pairs from the shared file, as pytest params; one failing param if it is absent."""
    if not CODES_FILE.is_file():
        return [pytest.param(None, None, id="shared-contract-missing")]
    data = yaml.safe_load(CODES_FILE.read_text(encoding="utf-8"))
    return [pytest.param(category, code, id=code) for category, codes in data.items() for code in codes]


# ---- recommendation codes --------------------------------------------------------------------------

@pytest.mark.parametrize("category, code", _contract_codes())
def test_contract_code_exists_in_the_kb_with_its_category(shipped_kb, category, code):
    require(CODES_FILE)
    assert code in shipped_kb.codes, f"{code} ({category}) is in the contract but not in kb/codes.yaml"
    assert shipped_kb.codes[code].category == category
    assert shipped_kb.codes[code].text.strip()


def test_the_kb_holds_every_code_of_the_contract_with_its_category(shipped_kb):
    data = yaml.safe_load(require(CODES_FILE).read_text(encoding="utf-8"))
    contract = {(category, code) for category, codes in data.items() for code in codes}
    kb = {(c.category, c.code) for c in shipped_kb.codes.values()}
    assert contract and contract <= kb, f"in the contract, not in the KB: {sorted(contract - kb)}"


def test_every_contract_category_is_a_kb_category(shipped_kb):
    data = yaml.safe_load(require(CODES_FILE).read_text(encoding="utf-8"))
    assert set(data) <= set(shipped_kb.categories)


# ---- section 1: the case file ----------------------------------------------------------------------

def test_the_contracts_example_case_is_accepted(shipped_kb):
    example = yaml.safe_load(fenced(section(1), "yaml"))
    case = parse_case(shipped_kb, example)
    assert case.facts["daily_dose_mg"] == 45 and case.facts["doses_per_day"] == 3
    result = runner.invoke(app, ["advise", "-", "--format", "json"], input=fenced(section(1), "yaml"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["dose_plan"]["next_daily_mg"] == {"min": 50, "max": 60}


def _contract_fields() -> list[str]:
    example = yaml.safe_load(fenced(section(1), "yaml"))
    return [f"{sec}.{field}" for sec, fields in example.items() for field in fields]


def test_every_contract_field_is_a_case_field(shipped_kb):
    fields = shipped_kb.case_fields
    missing = [f for f in _contract_fields() if f not in fields]
    assert not missing, f"case fields of the contract the KB does not read: {missing}"


def _backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


EXPECTED_PER_DAY = {
    "q8h": 3, "q8hrs": 3, "q 8 h": 3, "every 8 hours": 3, "q6h": 4, "every 6 hours": 4, "q12h": 2,
    "every 12 hours": 2, "q24h": 1, "TID": 3, "t.i.d.": 3, "three times daily": 3, "three times a day": 3,
    "3 times daily": 3, "BID": 2, "b.i.d.": 2, "twice daily": 2, "twice a day": 2, "QID": 4, "q.i.d.": 4,
    "four times daily": 4, "four times a day": 4, "daily": 1, "once daily": 1, "qd": 1, "od": 1, "qhs": 1,
    "at bedtime": 1, "nightly": 1,
}


def _contract_frequencies() -> list[str]:
    paragraph = next(p for p in section(1).split("\n\n") if p.startswith("Frequency notations"))
    return _backticked(paragraph.split(". Doses:")[0])


def test_every_frequency_notation_of_the_contract_is_understood(shipped_kb):
    notations = _contract_frequencies()
    assert len(notations) >= 29
    unknown = [n for n in notations if n not in EXPECTED_PER_DAY]
    assert not unknown, f"the contract names notations this test has no expected value for: {unknown}"
    for notation in notations:
        for spelling in (notation, notation.upper(), notation.lower(), notation.replace(".", "")):
            data = reference_case()
            data["medication"]["frequency"] = spelling
            assert parse_case(shipped_kb, data).facts["doses_per_day"] == EXPECTED_PER_DAY[notation], spelling


def test_dose_notations_of_the_contract(shipped_kb):
    paragraph = next(p for p in section(1).split("\n\n") if p.startswith("Frequency notations"))
    doses = paragraph.split("Doses:", 1)[1]
    accepted, refused = doses.split(";", 1)
    assert _backticked(accepted) == ["15 mg", "15mg", "15 milligrams", "0.015 g", "15000 mcg"]
    for dose in _backticked(accepted):
        data = reference_case()
        data["medication"]["dose"] = dose
        assert parse_case(shipped_kb, data).facts["dose_mg"] == 15
    for dose in _backticked(refused) + ["15"]:
        data = reference_case()
        data["medication"]["dose"] = dose
        with pytest.raises(CaseError):
            parse_case(shipped_kb, data)


# ---- section 3: JSON output ------------------------------------------------------------------------

def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _same_shape(example, actual, where: str) -> list[str]:
    """Every key of the example is in the output with the same JSON type ("..." keys are placeholders)."""
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {_kind(actual)}, expected an object"]
        problems = []
        for key, value in example.items():
            if key == "...":
                continue
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += _same_shape(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{where}: {_kind(actual)}, expected an array"]
        if example:
            return [p for i, item in enumerate(actual) for p in _same_shape(example[0], item, f"{where}[{i}]")]
        return []
    if _kind(example) != _kind(actual):
        return [f"{where}: {_kind(actual)}, expected {_kind(example)}"]
    return []


@pytest.fixture(scope="module")
def reference_json() -> dict:
    result = runner.invoke(app, ["advise", "-", "--format", "json"], input=json.dumps(reference_case()))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_output_has_every_key_of_the_contract_example(reference_json):
    example = json.loads(fenced(section(3), "json"))
    assert _same_shape(example, reference_json, "$") == []


def test_json_output_values_of_the_contract_example(reference_json):
    example = json.loads(fenced(section(3), "json"))
    expected_plan = {k: v for k, v in example["dose_plan"].items()}
    assert {k: reference_json["dose_plan"][k] for k in expected_plan} == expected_plan
    first = example["recommendations"][0]
    rec = next(r for r in reference_json["recommendations"] if r["code"] == first["code"])
    assert (rec["category"], rec["rule"]) == (first["category"], first["rule"])  # wording is free
    assert reference_json["missing"] == example["missing"] == []
    for key in ("daily_dose_mg", "doses_per_day"):
        assert reference_json["facts"][key] == example["facts"][key]
    assert reference_json["kb"]["digest"].startswith("sha256:")
