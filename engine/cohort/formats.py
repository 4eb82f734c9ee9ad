"""Cohort files in and out, one row at a time: JSON Lines, CSV and Parquet, chosen by the file's suffix.

A row of JSON Lines is a case mapping (`patient`, `medication`, `response`) with an optional `id`, or a FHIR
R4 Bundle (`"resourceType": "Bundle"`), or a case mapping whose `fhir` key holds a Bundle that its case
fields fill or override (`fhir_row`). CSV and Parquet columns are the case fields with dots (`patient.age`,
`medication.dose`) and an optional `id` column; an empty CSV cell or a Parquet null is a field the case
lacks, a CSV words cell is separated by commas, a CSV boolean reads true/false. Rows are read and written
as a stream (memory stays flat over any number of rows); the output is written to a temporary name beside
the target and renamed at the end.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clonus.engine.errors import CaseFileError, UsageError, shown
from clonus.engine.knowledge.model import Kb

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
PARQUET_BATCH = 8_192
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")
FHIR_KEY = "fhir"  # the JSON Lines key of a row's FHIR Bundle


@dataclass(frozen=True)
class RawRow:
    """One input row: its place (1-based), its id, and the case mapping or why it cannot be read. A FHIR
    row (`fhir`) holds its Bundle under `data["fhir"]` beside the case fields that fill or override it."""

    index: int
    id: Any
    data: dict | None
    error: str | None = None
    fhir: bool = False


def format_of(path: Path | str, role: str) -> str:
    """jsonl, csv or parquet by the file's suffix; a UsageError naming the choices otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{role}: {str(path)!r} has no cohort suffix; use one of {', '.join(SUFFIXES)}")
    if SUFFIXES[suffix] == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError(f"{role}: {str(path)!r}: Parquet needs pyarrow; install clonus[parquet] "
                         "(pip install 'clonus[parquet]')")
    return SUFFIXES[suffix]


def partitioned(target: Path | str) -> bool:
    """Whether `target` names partition files (`dir/part-*.jsonl`: one `*`, in the file name only)."""
    path = Path(target)
    if "*" in str(path.parent):
        raise UsageError(f"--output: {str(target)!r}: a `*` may stand only in the file name (dir/part-*.jsonl)")
    if path.name.count("*") > 1:
        raise UsageError(f"--output: {str(target)!r}: one `*` stands for the partition number, "
                         f"not {path.name.count('*')}")
    return "*" in path.name


def partition_path(target: Path | str, number: int) -> Path:
    """The file of partition `number` (from 0) of a partitioned target: its `*` as five digits or more."""
    path = Path(target)
    return path.with_name(path.name.replace("*", f"{number:05d}"))


def read_rows(path: Path | str, kb: Kb) -> Iterator[RawRow]:
    """The rows of a cohort file in order; a row that cannot be read is a RawRow with its error."""
    path = Path(path)
    kind = format_of(path, "INPUT")
    if not path.is_file():
        raise CaseFileError(str(path), "no such file", "cohort file")
    if kind == "jsonl":
        return _jsonl_rows(path, kb)
    if kind == "csv":
        return _csv_rows(path, kb)
    return _parquet_rows(path, kb)


def _jsonl_rows(path: Path, kb: Kb) -> Iterator[RawRow]:
    with path.open("rb") as lines:
        index = 0
        for number, line in enumerate(lines, 1):
            if line.strip():
                index += 1
                yield _jsonl_row(index, line, f"{path.name}:{number}", kb.case_sections)


def _jsonl_row(index: int, line: bytes, where: str, sections: Collection[str]) -> RawRow:
    import orjson

    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return RawRow(index, None, None, f"{where}: malformed JSON ({exc}); expected one case object per line")
    if not isinstance(data, dict):
        return RawRow(index, None, None, f"{where}: a {type(data).__name__}, not a case object with patient, "
                                         "medication and response")
    if FHIR_KEY in data or "resourceType" in data:
        return fhir_row(index, data, sections, where)
    return RawRow(index, data.pop("id", None), data)


@dataclass(frozen=True)
class Slice:
    """A run of whole lines of a JSON Lines file, by byte range, that a worker reads itself (so no row
    crosses a pipe): `rows` non-blank lines, the first of them row `first_index` on line `first_line`."""

    path: str
    start: int
    end: int
    first_index: int
    first_line: int
    rows: int
    data: bytes | None = field(default=None, repr=False)  # its bytes, carried where the file is not at hand


def jsonl_slices(path: Path | str, rows_per_slice: int, carry: bool = False) -> Iterator[Slice]:
    """The file cut into slices of `rows_per_slice` rows at line ends (the last may hold fewer). Only line
    ends are looked for: no row is parsed here. `carry`: each slice holds its bytes (for a Dask worker on
    another machine, which cannot open the file)."""
    path = Path(path)
    start = offset = count = 0
    first_index = first_line = 1
    held: list[bytes] = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            offset += len(line)
            if carry:
                held.append(line)
            if line.strip():
                count += 1
                if count == rows_per_slice:
                    yield Slice(str(path), start, offset, first_index, first_line, count,
                                b"".join(held) if carry else None)
                    start, first_index, first_line, count = offset, first_index + count, number + 1, 0
                    held = []
    if count:
        yield Slice(str(path), start, offset, first_index, first_line, count, b"".join(held) if carry else None)


def read_slice(piece: Slice, sections: Collection[str]) -> list[RawRow]:
    """The rows of one slice, exactly as read_rows reads them from the whole file."""
    data = piece.data
    if data is None:
        with open(piece.path, "rb") as source:
            source.seek(piece.start)
            data = source.read(piece.end - piece.start)
    name = Path(piece.path).name
    rows, index = [], piece.first_index
    parts = data.split(b"\n")
    last = len(parts) - 1
    for offset, part in enumerate(parts):
        line = part if offset == last else part + b"\n"  # each line as iterating the file gives it
        if line.strip():
            rows.append(_jsonl_row(index, line, f"{name}:{piece.first_line + offset}", sections))
            index += 1
    if len(rows) != piece.rows:
        raise CaseFileError(piece.path, f"changed while it was read (lines {piece.first_line} on)", "cohort file")
    return rows


def fhir_row(index: int, data: dict, sections: Collection[str], where: str) -> RawRow:
    """A JSON Lines row that is FHIR: a resource itself (read as the Bundle, as `advise --fhir` reads a
    file), or case fields with the Bundle under `fhir`. Its id: the row's `id`, else the Bundle's. Case
    sections beside a resource's own keys would be ignored by the FHIR reading: the row is refused."""
    if "resourceType" in data:
        beside = [key for key in data if key in sections or key == FHIR_KEY]
        if beside:
            return RawRow(index, data.get("id"), None, f"{where}: {', '.join(beside)}: beside the keys of a FHIR "
                                                       f"{shown(data['resourceType'])}, not read; give the Bundle "
                                                       "under \"fhir\" and the case fields beside it", fhir=True)
        bundle, fields = data, {}
    else:
        fields = dict(data)
        bundle = fields.pop(FHIR_KEY)
    row_id = fields.pop("id", None)
    if row_id is None and isinstance(bundle, dict):
        row_id = bundle.get("id")
    return RawRow(index, row_id, {FHIR_KEY: bundle, **fields}, fhir=True)


def fhir_parts(data: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A FHIR row's Bundle and the case fields over it."""
    return data[FHIR_KEY], {key: value for key, value in data.items() if key != FHIR_KEY}


def _csv_rows(path: Path, kb: Kb) -> Iterator[RawRow]:
    fields = kb.case_fields
    with path.open(newline="", encoding="utf-8") as text:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        for index, cells in enumerate(reader, 1):
            if len(cells) != len(header):
                yield RawRow(index, None, None, f"{path.name}: row {index}: {len(cells)} cells where the header "
                                               f"has {len(header)}")
                continue
            flat = {name: _csv_value(fields, name, cell) for name, cell in zip(header, cells, strict=True)
                    if cell != ""}
            yield RawRow(index, flat.pop("id", None), nest(flat))


def _csv_value(fields: Mapping[str, Any], column: str, cell: str) -> Any:
    """A CSV cell as the case file would give it: booleans and word lists typed, the rest as text."""
    fact = fields.get(column)
    if fact is None:
        return cell
    if fact.type == "boolean" and cell.strip().lower() in _TRUE + _FALSE:
        return cell.strip().lower() in _TRUE
    if fact.type == "words":
        return [w.strip() for w in cell.split(",") if w.strip()]
    return cell


def _parquet_rows(path: Path, kb: Kb) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    index = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH):
        for record in batch.to_pylist():
            index += 1
            flat = {name: value for name, value in record.items() if value is not None}
            yield RawRow(index, flat.pop("id", None), nest(flat))


def nest(flat: Mapping[str, Any]) -> dict:
    """{'patient.age': 45} -> {'patient': {'age': 45}}; a column without a dot stays where it is (intake
    then names it as an unknown section)."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        section, dot, field = name.partition(".")
        if not dot:
            out[name] = value
            continue
        target = out.setdefault(section, {})
        if isinstance(target, dict):
            target[field] = value
    return out


def flatten(case: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of nest, for writing cohorts as CSV or Parquet columns."""
    return {f"{section}.{field}": value for section, fields in case.items() if isinstance(fields, Mapping)
            for field, value in fields.items()}


ENCODED = ("jsonl", "csv")  # output kinds a worker can encode itself, so its rows reach the parent as bytes


def columns(full: bool) -> list[str]:
    """The output columns, in order (CSV header, Parquet schema)."""
    brief = ["codes", "dose_plan", "kb_digest", "as_of"]  # as_of: a FHIR row's date, empty for a case row
    return ["id", "row", "status", "error"] + (["result"] if full else brief)


def encode_rows(kind: str, full: bool, rows: list[dict]) -> bytes:
    """Output rows as the bytes a JSON Lines or CSV output file holds for them (without the CSV header)."""
    import orjson

    if kind == "jsonl":
        return b"".join(orjson.dumps(r) + b"\n" for r in rows)
    names = columns(full)
    return _csv_lines([_flat_cell(r.get(c)) for c in names] for r in rows)


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode("utf-8")


class RowWriter:
    """Output rows written in order to a temporary file, renamed onto the target by commit()."""

    def __init__(self, path: Path | str, full: bool = False):
        self.path = Path(path)
        self.kind = format_of(self.path, "--output")
        self.full = full
        self.temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._file: Any = None
        self._parquet: Any = None
        self._pending: list[dict] = []

    def __enter__(self) -> RowWriter:
        if self.kind in ENCODED:
            self._file = self.temporary.open("wb")
            if self.kind == "csv":
                self._file.write(_csv_lines([columns(self.full)]))
        return self

    def write(self, rows: list[dict]) -> None:
        if self.kind in ENCODED:
            self._file.write(encode_rows(self.kind, self.full, rows))
        else:
            self._pending.extend(rows)
            if len(self._pending) >= PARQUET_BATCH:
                self._flush_parquet()

    def write_encoded(self, data: bytes) -> None:
        """Rows a worker encoded already with encode_rows (JSON Lines or CSV output only)."""
        assert self.kind in ENCODED
        self._file.write(data)

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._pending:
            return
        cells = {c: [_parquet_cell(c, r.get(c)) for r in self._pending] for c in columns(self.full)}
        table = pa.table({c: pa.array(v, type=_parquet_type(c)) for c, v in cells.items()})
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.temporary, table.schema)
        self._parquet.write_table(table)
        self._pending = []

    def commit(self) -> None:
        """Finish the file and rename it onto the target (an empty Parquet file keeps its schema)."""
        if self.kind == "parquet":
            self._flush_parquet()
            if self._parquet is None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                schema = pa.schema([(c, _parquet_type(c)) for c in columns(self.full)])
                pq.write_table(schema.empty_table(), self.temporary)
            else:
                self._parquet.close()
                self._parquet = None
        if self._file is not None:
            self._file.close()
            self._file = None
        os.replace(self.temporary, self.path)

    def __exit__(self, *exc: object) -> None:
        """Without commit(), nothing is left behind: the temporary file is removed."""
        if self._parquet is not None:
            self._parquet.close()
        if self._file is not None:
            self._file.close()
        self.temporary.unlink(missing_ok=True)


def _flat_cell(value: Any) -> Any:
    import orjson

    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return value


def _parquet_cell(column: str, value: Any) -> Any:
    import orjson

    if column in ("dose_plan", "result"):
        return None if value is None else orjson.dumps(value).decode()
    if column == "id":
        return None if value is None else str(value)
    return value


def _parquet_type(column: str) -> Any:
    import pyarrow as pa

    if column == "row":
        return pa.int64()
    if column == "codes":
        return pa.list_(pa.string())
    return pa.string()


def write_cohort(path: Path | str, cases: Iterator[tuple[Any, Mapping[str, Any]]]) -> int:
    """Write (id, case) pairs as a cohort file of the suffix's format (generators and tests); the count."""
    import orjson

    path = Path(path)
    kind = format_of(path, "cohort")
    count = 0
    if kind == "jsonl":
        with path.open("wb") as out:
            for case_id, case in cases:
                out.write(orjson.dumps({"id": case_id, **case}) + b"\n")
                count += 1
        return count
    rows = [{"id": case_id, **flatten(case)} for case_id, case in cases]
    names = list(dict.fromkeys(c for r in rows for c in r))
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(names)
            for r in rows:
                writer.writerow([_csv_cell(r.get(c)) for c in names])
        return len(rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{c: r.get(c) for c in names} for r in rows]), path)
    return len(rows)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)
