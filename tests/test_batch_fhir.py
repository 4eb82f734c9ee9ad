"""`clonus batch` on FHIR rows: a JSON Lines file mixing case rows, Bundle rows and Bundle-plus-fields rows
gives, row by row, what `clonus advise [CASE] --fhir BUNDLE --as-of D` gives (byte for byte with --full);
a refused bundle is an error row with advise's message; worker processes and Dask give the in-process
bytes; the as-of date is the batch's one date, recorded in every FHIR answer."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.cohort.batch import run_batch
from clonus.engine.cohort.decider import Settings
from clonus.engine.cohort.formats import read_rows
from clonus.engine.decide.advisor import Advisor
from clonus.engine.errors import ClonusError
from clonus.engine.explain.encode import contract_json

from cohorts import mixed
from conftest import EXAMPLES

FHIR = EXAMPLES / "fhir"
AS_OF = "2025-06-01"
INADEQUATE = {"response": {"relief": "inadequate"}}

# (row id, example bundle, case fields over it): fields None is the Bundle itself as the row
FHIR_ROWS = [
    ("ref-inadequate", "01-reference", INADEQUATE),
    (None, "01-reference", None),                                          # id: the Bundle's, "reference"
    (None, "02-synthea-style", {"medication": {"dose": "10 mg"}, **INADEQUATE}),  # no id anywhere
    ("partial-month", "03-partial-birthdate", INADEQUATE),
    (None, "04-partial-birth-year", INADEQUATE),
    (None, "05-two-baclofen-orders", None),
    ("ckd-egfr-given", "06-ckd-without-egfr", {"patient": {"egfr": 45}, **INADEQUATE}),
    (None, "07-renal-stroke-apnoea", INADEQUATE),
    (None, "08-invalid-doseandrate", None),                                # refused by advise --fhir
    ("unit-given", "09-dose-without-unit", {"medication": {"dose": "15 mg"}, **INADEQUATE}),
    ("unit-missing", "09-dose-without-unit", INADEQUATE),                  # refused: a dose without a unit
    ("age-over-bundle", "01-reference", {"patient": {"age": 70}, **INADEQUATE}),
    ("bad-field-over-bundle", "01-reference", {"patient": {"agee": 70}}),  # refused by the case rules
]
CASE_ROWS = mixed(60, seed=11)  # generated (a fixed seed), a bad row among them


def bundle(name: str) -> dict:
    return json.loads((FHIR / f"{name}.json").read_text(encoding="utf-8"))


def fhir_line(row_id, name: str, fields) -> dict:
    if fields is None:
        return bundle(name)
    return {**({"id": row_id} if row_id is not None else {}), "fhir": bundle(name), **fields}


def mixed_lines() -> list[dict]:
    """Case rows and FHIR rows in turn, then the case rows left."""
    lines: list[dict] = []
    cases = iter(CASE_ROWS)
    for spec in FHIR_ROWS:
        case_id, case = next(cases)
        lines += [{"id": case_id, **case}, fhir_line(*spec)]
    lines += [{"id": case_id, **case} for case_id, case in cases]
    return lines


def write_lines(path: Path, lines: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def advise_fhir(tmp_path: Path, name: str, fields, as_of: str = AS_OF) -> tuple[int, str]:
    """`clonus advise [CASE.json] --fhir BUNDLE --as-of D --format json`: (exit code, stdout or the
    message on stderr without its prefix)."""
    args = ["advise", "--fhir", str(FHIR / f"{name}.json"), "--as-of", as_of, "--format", "json"]
    if fields is not None:
        case = tmp_path / f"fields-{len(list(tmp_path.iterdir()))}.json"
        case.write_text(json.dumps(fields), encoding="utf-8")
        args.insert(1, str(case))
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
        return result.exit_code, result.stderr.removeprefix("clonus: error: ").rstrip("\n")
    return 0, result.stdout


@pytest.fixture(scope="module")
def uncached(shipped_kb):
    """An Advisor with no cache: each case answered as `clonus advise` answers it on its own."""
    with Advisor(shipped_kb, cache=False) as advisor:
        yield advisor


def expected_case(advisor: Advisor, case: dict) -> tuple[str | None, Any]:
    """A case row's answer: (error, Result)."""
    try:
        return None, advisor.advise(case)
    except ClonusError as exc:
        return str(exc), None


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return write_lines(tmp_path_factory.mktemp("fhir") / "mixed.jsonl", mixed_lines())


@pytest.fixture(scope="module")
def advise_answers(tmp_path_factory) -> list[tuple[int, str]]:
    """advise --fhir's answer to every FHIR row, in FHIR_ROWS order."""
    where = tmp_path_factory.mktemp("advise")
    return [advise_fhir(where, name, fields) for _, name, fields in FHIR_ROWS]


def batch_rows(cohort: Path, target: Path, **settings) -> list[dict]:
    run_batch(cohort, target, Settings(**{"as_of": AS_OF, **settings}), workers=0, chunk=7)
    return [orjson.loads(line) for line in target.read_bytes().splitlines()]


def fhir_outputs(rows: list[dict]) -> list[dict]:
    """The output rows of the FHIR rows of mixed_lines(): every second row of the first pairs."""
    return [rows[2 * i + 1] for i in range(len(FHIR_ROWS))]


@pytest.mark.parametrize("full", [False, True], ids=["brief", "full"])
def test_every_fhir_row_is_what_advise_fhir_says_of_the_same_bundle_and_fields(cohort, advise_answers, tmp_path,
                                                                                 full):
    rows = batch_rows(cohort, tmp_path / "out.jsonl", full=full)
    assert [r["row"] for r in rows] == list(range(1, len(rows) + 1))
    for spec, (code, said), row in zip(FHIR_ROWS, advise_answers, fhir_outputs(rows), strict=True):
        if code != 0:
            assert (row["status"], row["error"]) == ("error", said), spec
            assert "as_of" not in row  # as advise: an error has no answer to record it in
            continue
        assert row["status"] == "ok", (spec, row["error"])
        if full:
            assert contract_json(row["result"]) == said, spec  # byte for byte, provenance and as_of included
            continue
        body = json.loads(said)
        assert row["codes"] == [r["code"] for r in body["recommendations"]], spec
        assert row["dose_plan"] == body["dose_plan"] and row["as_of"] == body["as_of"] == AS_OF, spec


def test_refused_bundles_are_error_rows_and_overrides_can_replace_what_the_bundle_refused(advise_answers):
    codes = {spec[0] or spec[1]: code for spec, (code, _) in zip(FHIR_ROWS, advise_answers, strict=True)}
    assert codes["08-invalid-doseandrate"] == codes["unit-missing"] == codes["bad-field-over-bundle"] == 2
    assert codes["unit-given"] == 0  # the row's dose replaces the bundle's dose without a unit


@pytest.mark.parametrize("full", [False, True], ids=["brief", "full"])
def test_case_rows_beside_fhir_rows_are_answered_as_advise_answers_a_case(cohort, uncached, tmp_path, full):
    rows = batch_rows(cohort, tmp_path / "out.jsonl", full=full)
    fhir_places = {2 * i + 1 for i in range(len(FHIR_ROWS))}
    case_rows = [r for i, r in enumerate(rows) if i not in fhir_places]
    assert [r["id"] for r in case_rows] == [case_id for case_id, _ in CASE_ROWS]
    for (case_id, case), row in zip(CASE_ROWS, case_rows, strict=True):
        error, result = expected_case(uncached, case)
        assert row["error"] == error, case_id
        assert "as_of" not in row and "as_of" not in (row.get("result") or {})
        if result is None:
            continue
        if full:
            assert contract_json(row["result"]) == contract_json(result.to_json()), case_id
        else:
            assert (row["codes"], row["dose_plan"]) == (list(result.codes()), result.dose_plan.to_json()
                                                        if result.dose_plan else None), case_id
    assert any(r["status"] == "error" for r in case_rows)


@pytest.mark.parametrize("full", [False, True], ids=["brief", "full"])
def test_two_worker_processes_give_the_in_process_bytes(cohort, tmp_path, full):
    settings = Settings(as_of=AS_OF, full=full)
    local = run_batch(cohort, tmp_path / "local.jsonl", settings, workers=0)
    pooled = run_batch(cohort, tmp_path / "pooled.jsonl", settings, workers=2, chunk=5)
    assert (tmp_path / "pooled.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert pooled.tally.fhir == local.tally.fhir == len(FHIR_ROWS)
    assert pooled.tally.errors == local.tally.errors


def test_a_local_dask_cluster_gives_the_in_process_bytes(cohort, tmp_path):
    pytest.importorskip("distributed", reason="clonus[dask] is part of the test extra")
    from clonus.engine.cohort.cluster import run_on_dask

    settings = Settings(as_of=AS_OF)
    run_batch(cohort, tmp_path / "local.jsonl", settings, workers=0)
    summary = run_on_dask(cohort, tmp_path / "dask.jsonl", settings, local_workers=2, partition=9)
    assert (tmp_path / "dask.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert summary.tally.fhir == len(FHIR_ROWS)


# as-of date, age the reference bundle's Patient (born 1980-03-14) has on it
AGES = [("2025-03-13", 44), ("2025-03-14", 45), ("2045-06-01", 65)]


@pytest.mark.parametrize("as_of, age", AGES, ids=[a for a, _ in AGES])
def test_the_as_of_date_is_recorded_and_sets_the_age(tmp_path, as_of, age):
    cohort = write_lines(tmp_path / "c.jsonl", [fhir_line("p", "01-reference", INADEQUATE)])
    run_batch(cohort, tmp_path / "full.jsonl", Settings(as_of=as_of, full=True), workers=0)
    run_batch(cohort, tmp_path / "brief.jsonl", Settings(as_of=as_of), workers=0)
    [full] = [orjson.loads(line) for line in (tmp_path / "full.jsonl").read_bytes().splitlines()]
    [brief] = [orjson.loads(line) for line in (tmp_path / "brief.jsonl").read_bytes().splitlines()]
    assert full["result"]["facts"]["age"] == age and full["result"]["provenance"]["age"] == "Patient/pat-ref"
    assert full["result"]["as_of"] == brief["as_of"] == as_of
    assert contract_json(full["result"]) == advise_fhir(tmp_path, "01-reference", INADEQUATE, as_of)[1]


def test_without_as_of_the_rows_are_read_as_of_today(tmp_path):
    cohort = write_lines(tmp_path / "c.jsonl", [bundle("01-reference")])
    [row] = batch_rows(cohort, tmp_path / "o.jsonl", as_of=None)
    assert row["as_of"] == datetime.date.today().isoformat()


# a JSON Lines line, the id its row gets
REF = bundle("01-reference")
IDS = [
    ({"id": "row-id", "fhir": REF}, "row-id"),
    ({"fhir": REF}, "reference"),
    ({"id": None, "fhir": REF, **INADEQUATE}, "reference"),
    (REF, "reference"),
    ({"fhir": {k: v for k, v in REF.items() if k != "id"}}, None),
    ({"id": 7, "fhir": "not a bundle"}, 7),
]


@pytest.mark.parametrize("line, row_id", IDS, ids=[f"id-{i}" for i in range(len(IDS))])
def test_a_fhir_rows_id_is_the_rows_else_the_bundles(tmp_path, shipped_kb, line, row_id):
    [raw] = list(read_rows(write_lines(tmp_path / "c.jsonl", [line]), shipped_kb))
    assert raw.fhir and raw.id == row_id and raw.data is not None


# a line that is FHIR, the start of the error its row gets
REFUSED = [
    ({"id": "x", "fhir": "not a bundle"}, "bundle: 'not a bundle' is not accepted"),
    ({"fhir": REF["entry"][0]["resource"]}, "resourceType: 'Patient' is not accepted; expected Bundle"),
    (REF["entry"][0]["resource"], "resourceType: 'Patient' is not accepted; expected Bundle"),
    ({**REF, **INADEQUATE}, "c.jsonl:1: response: beside the keys of a FHIR 'Bundle', not read; give the Bundle "
                            "under \"fhir\" and the case fields beside it"),
    ({**REF, "fhir": REF}, "c.jsonl:1: fhir: beside the keys of a FHIR 'Bundle'"),
]


@pytest.mark.parametrize("line, message", REFUSED, ids=[f"refused-{i}" for i in range(len(REFUSED))])
def test_a_fhir_row_that_cannot_be_read_is_an_error_row(tmp_path, line, message):
    [row] = batch_rows(write_lines(tmp_path / "c.jsonl", [line]), tmp_path / "o.jsonl")
    assert row["status"] == "error" and row["error"].startswith(message), row["error"]


def test_a_non_bundle_resource_row_gets_advises_message(tmp_path):
    patient = REF["entry"][0]["resource"]
    (tmp_path / "patient.json").write_text(json.dumps(patient), encoding="utf-8")
    said = CliRunner().invoke(app, ["advise", "--fhir", str(tmp_path / "patient.json"), "--as-of", AS_OF])
    [row] = batch_rows(write_lines(tmp_path / "c.jsonl", [patient]), tmp_path / "o.jsonl")
    assert said.exit_code == 2 and said.stderr == f"clonus: error: {row['error']}\n"


@pytest.mark.parametrize("full", [False, True], ids=["brief", "full"])
def test_fhir_rows_go_through_the_decision_cache_and_verify_exactly(tmp_path, full):
    lines = [fhir_line(f"p{i}", "01-reference", INADEQUATE) for i in range(4)]
    summary = run_batch(write_lines(tmp_path / "c.jsonl", lines), tmp_path / "o.jsonl",
                        Settings(as_of=AS_OF, full=full, verify_cache=1.0), workers=0)
    assert summary.tally.misses == 1 and summary.tally.hits == 3
    assert summary.tally.verified == 3 and not summary.tally.mismatches


def test_a_fhir_column_in_csv_is_not_read_as_a_bundle(tmp_path):
    cohort = tmp_path / "c.csv"
    cohort.write_text('id,fhir,response.relief\np1,"{""resourceType"": ""Bundle""}",inadequate\n', encoding="utf-8")
    [row] = batch_rows(cohort, tmp_path / "o.jsonl")
    assert row["status"] == "error" and row["error"].startswith("fhir: "), row["error"]


def batch_cli(*args: str):
    return CliRunner().invoke(app, ["batch", *args])


@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "2025-6-1", ""])
def test_a_bad_as_of_date_is_one_line_naming_the_option_and_exit_2(tmp_path, cohort, value):
    result = batch_cli(str(cohort), "-o", str(tmp_path / "o.jsonl"), "--as-of", value)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("clonus: error: --as-of: ") and result.stderr.count("\n") == 1, result.stderr
    assert "YYYY-MM-DD" in result.stderr and not (tmp_path / "o.jsonl").exists()


def test_the_summary_line_counts_the_fhir_rows_and_their_date(tmp_path):
    cohort = write_lines(tmp_path / "c.jsonl", [fhir_line("p", "01-reference", INADEQUATE), bundle("01-reference")])
    result = batch_cli(str(cohort), "-o", str(tmp_path / "o.jsonl"), "--as-of", AS_OF, "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert f"2 FHIR rows read as of {AS_OF}" in result.stderr and result.stdout == ""


def test_as_of_with_only_case_rows_is_said_to_be_unused(tmp_path):
    cohort = write_lines(tmp_path / "c.jsonl", [{"id": i, **case} for i, case in CASE_ROWS[:3]])
    result = batch_cli(str(cohort), "-o", str(tmp_path / "o.jsonl"), "--as-of", AS_OF, "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert f"--as-of {AS_OF} unused: no row is FHIR" in result.stderr


def test_csv_output_has_the_as_of_column(tmp_path):
    import csv

    cohort = write_lines(tmp_path / "c.jsonl", [bundle("01-reference"), {"id": "c", **CASE_ROWS[0][1]}])
    run_batch(cohort, tmp_path / "o.csv", Settings(as_of=AS_OF), workers=0)
    with (tmp_path / "o.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["as_of"] for r in rows] == [AS_OF, ""]
