"""A pooled batch's JSON Lines input is read by its workers in slices (byte ranges of whole lines), and
its JSON Lines or CSV output comes back from them as bytes: the rows, their places, their error lines and
the output bytes are exactly those of the file read whole in one process."""

from __future__ import annotations

import os
from dataclasses import replace

import orjson
import pytest

from clonus.engine.cohort.batch import run_batch
from clonus.engine.cohort.decider import Settings
from clonus.engine.cohort.formats import jsonl_slices, read_rows, read_slice, write_cohort
from clonus.engine.errors import CaseFileError

from cohorts import mixed

GOOD = orjson.dumps({"id": "a", "patient": {"age": 45}}).decode()
# file contents that a slice boundary could get wrong: blank and whitespace lines, CRLF, no final newline,
# lines that are not JSON or not objects, a FHIR-shaped line
FILES = {
    "plain": f"{GOOD}\n{GOOD}\n{GOOD}\n",
    "blank lines": f"\n\n{GOOD}\n\n  \t\n{GOOD}\n\n",
    "crlf": f"{GOOD}\r\n{GOOD}\r\n\r\n{GOOD}\r\n",
    "no final newline": f"{GOOD}\n{GOOD}",
    "malformed": f"{GOOD}\n{{not json\n[1, 2]\n{{\"a\": \n{GOOD}\n",
    "fhir": f'{GOOD}\n{{"resourceType": "Bundle", "id": "b1", "patient": {{}}}}\n{{"fhir": 3, "id": "x"}}\n',
    "only blank": "\n \n\n",
    "empty": "",
}


@pytest.mark.parametrize("name", list(FILES))
@pytest.mark.parametrize("size", [1, 2, 3, 1000])
def test_slices_read_the_rows_the_whole_file_reads(tmp_path, shipped_kb, name, size):
    path = tmp_path / "c.jsonl"
    path.write_bytes(FILES[name].encode())
    pieces = list(jsonl_slices(path, size))
    whole = list(read_rows(path, shipped_kb))
    assert [raw for piece in pieces for raw in read_slice(piece, shipped_kb.case_sections)] == whole
    assert all(0 < piece.rows <= size for piece in pieces)
    assert sum(piece.rows for piece in pieces) == len(whole)


@pytest.mark.parametrize("name", list(FILES))
@pytest.mark.parametrize("size", [1, 2, 1000])
def test_slices_that_carry_their_bytes_read_the_same_rows_without_the_file(tmp_path, shipped_kb, name, size):
    """A Dask worker on another machine gets a slice's bytes, not the file."""
    path = tmp_path / "c.jsonl"
    path.write_bytes(FILES[name].encode())
    whole = list(read_rows(path, shipped_kb))
    plain = list(jsonl_slices(path, size))
    carried = list(jsonl_slices(path, size, carry=True))
    assert [piece.data for piece in carried] == [FILES[name].encode()[p.start:p.end] for p in plain]
    assert [replace(piece, data=None) for piece in carried] == plain
    path.unlink()
    assert [raw for piece in carried for raw in read_slice(piece, shipped_kb.case_sections)] == whole


def test_a_slice_of_a_file_that_changed_is_a_located_error(tmp_path, shipped_kb):
    path = tmp_path / "c.jsonl"
    path.write_text(f"{GOOD}\n" * 10)
    pieces = list(jsonl_slices(path, 4))
    os.truncate(path, len(GOOD) * 5)
    with pytest.raises(CaseFileError, match=r"c\.jsonl.* cannot be read \(changed while it was read \(lines 5 on\)\)"):
        read_slice(pieces[1], shipped_kb.case_sections)


@pytest.mark.parametrize("source, target", [("jsonl", "jsonl"), ("jsonl", "csv"), ("jsonl", "parquet"),
                                            ("csv", "jsonl")])
def test_a_pooled_batch_writes_the_in_process_bytes(tmp_path, source, target):
    cohort = tmp_path / f"c.{source}"
    write_cohort(cohort, iter(mixed(300)))
    alone = run_batch(cohort, tmp_path / f"alone.{target}", Settings(), workers=0)
    pooled = run_batch(cohort, tmp_path / f"pooled.{target}", Settings(), workers=2, chunk=7)
    assert pooled.tally.rows == alone.tally.rows == 300
    assert pooled.tally.errors == alone.tally.errors > 0
    if target == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(tmp_path / "pooled.parquet").to_pylist() == \
            pq.read_table(tmp_path / "alone.parquet").to_pylist()
    else:
        assert (tmp_path / f"pooled.{target}").read_bytes() == (tmp_path / f"alone.{target}").read_bytes()


def test_a_file_that_changes_under_a_pooled_batch_stops_it_with_a_located_error(tmp_path, monkeypatch):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(mixed(200)))
    monkeypatch.setenv("CLONUS_TEST_TRUNCATE", str(cohort))
    monkeypatch.syspath_prepend(os.path.dirname(__file__))
    with pytest.raises(CaseFileError, match="changed while it was read"):
        run_batch(cohort, tmp_path / "o.jsonl", Settings(), workers=1, chunk=150,
                  decider="batch_crash:TruncatingDecider")
    assert not (tmp_path / "o.jsonl").exists()
