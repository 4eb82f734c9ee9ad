"""`clonus batch`: every format in and out, one row per input row in order, error rows with advise's own
message, the answers those of `clonus advise` case by case, worker processes that survive a crash, and the
output file only ever complete."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from clonus.engine.cohort.batch import run_batch
from clonus.engine.cohort.decider import Settings
from clonus.engine.cohort.formats import RawRow, RowWriter, read_rows, write_cohort
from clonus.engine.decide.advisor import Advisor
from clonus.engine.errors import ClonusError

from cohorts import BAD_ROWS, mixed

CLONUS = shutil.which("clonus") or str(Path(sys.executable).parent / "clonus")
ROWS = mixed(240)


def expected(kb, rows) -> list[dict]:
    """What `clonus advise` says of each case, one at a time, with no cache."""
    out = []
    with Advisor(kb, cache=False) as advisor:
        for case_id, case in rows:
            try:
                result = advisor.advise(case)
            except ClonusError as exc:
                out.append({"id": case_id, "status": "error", "error": str(exc), "codes": [], "dose_plan": None})
                continue
            out.append({"id": case_id, "status": "ok", "error": None, "codes": list(result.codes()),
                        "dose_plan": result.dose_plan.to_json() if result.dose_plan else None})
    return out


@pytest.fixture(scope="module")
def truth(shipped_kb):
    return expected(shipped_kb, ROWS)


def read_output(path: Path) -> list[dict]:
    """Output rows back as JSON Lines would hold them (CSV and Parquet cells decoded)."""
    if path.suffix == ".jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if path.suffix == ".parquet":
        records = pq.read_table(path).to_pylist()
    else:
        import csv

        with path.open(newline="") as f:
            records = [{k: (v or None) for k, v in r.items()} for r in csv.DictReader(f)]
        for r in records:
            r["codes"] = r["codes"].split() if r["codes"] else []
            r["row"] = int(r["row"])
    for r in records:
        r["dose_plan"] = orjson.loads(r["dose_plan"]) if r["dose_plan"] else None
        r["codes"] = list(r["codes"] or [])
    return records


def _comparable(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in ("id", "status", "error", "codes", "dose_plan")} for r in rows]


@pytest.mark.parametrize("source, target", [
    ("jsonl", "jsonl"), ("csv", "csv"), ("parquet", "parquet"), ("csv", "jsonl"), ("parquet", "csv"),
    ("jsonl", "parquet"),
])
def test_every_format_in_and_out_gives_advise_answers_in_input_order(tmp_path, truth, source, target):
    cohort = tmp_path / f"cohort.{source}"
    write_cohort(cohort, iter(ROWS))
    out = tmp_path / f"out.{target}"
    summary = run_batch(cohort, out, Settings(), workers=0, chunk=64)
    rows = read_output(out)
    assert [r["row"] for r in rows] == list(range(1, len(ROWS) + 1))
    got, want = _comparable(rows), truth
    if source == "csv":  # CSV is text: an error row quotes the value as text ('45' for 45); same field
        got = [{**r, "error": r["error"] and r["error"].split(":")[0]} for r in got]
        want = [{**r, "error": r["error"] and r["error"].split(":")[0]} for r in want]
    assert got == want
    assert summary.tally.rows == len(ROWS)
    assert summary.tally.errors == sum(1 for t in truth if t["status"] == "error") > 0


@pytest.mark.parametrize("bad_id, case, message", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_an_error_row_with_advises_message(tmp_path, shipped_kb, bad_id, case, message):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter([ROWS[0], (bad_id, case), ROWS[1]]))
    run_batch(cohort, tmp_path / "o.jsonl", Settings(), workers=0)
    rows = read_output(tmp_path / "o.jsonl")
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert rows[1]["error"].startswith(message)
    assert rows[1]["error"] == expected(shipped_kb, [(bad_id, case)])[0]["error"]


def test_malformed_json_lines_are_error_rows_and_the_batch_goes_on(tmp_path):
    cohort = tmp_path / "c.jsonl"
    good = orjson.dumps({"id": "a", **ROWS[0][1]}).decode()
    cohort.write_text(f"{good}\n{{not json\n[1, 2]\n\n{good}\n")
    run_batch(cohort, tmp_path / "o.jsonl", Settings(), workers=0)
    rows = read_output(tmp_path / "o.jsonl")
    assert [r["status"] for r in rows] == ["ok", "error", "error", "ok"]
    assert rows[1]["error"].startswith("c.jsonl:2: malformed JSON")
    assert rows[2]["error"].startswith("c.jsonl:3: a list, not a case object")


def test_csv_cells_read_as_a_case_file_would(tmp_path, shipped_kb):
    cohort = tmp_path / "c.csv"
    cohort.write_text("id,patient.age,patient.stroke,patient.other_medications,medication.drug,medication.dose,"
                      "medication.frequency,response.relief\n"
                      "p1,45,true,\"ciprofloxacin, omeprazole\",baclofen,15 mg,tid,inadequate\n"
                      "p2,45,maybe,,baclofen,15 mg,tid,inadequate\n")
    [first, second] = list(read_rows(cohort, shipped_kb))
    assert first == RawRow(1, "p1", {"patient": {"age": "45", "stroke": True,
                                                 "other_medications": ["ciprofloxacin", "omeprazole"]},
                                     "medication": {"drug": "baclofen", "dose": "15 mg", "frequency": "tid"},
                                     "response": {"relief": "inadequate"}})
    assert second.data is not None and second.data["patient"]["stroke"] == "maybe"  # intake says why not


def test_output_is_renamed_into_place_only_when_complete(tmp_path):
    target = tmp_path / "o.jsonl"
    target.write_text("the previous run\n")
    with RowWriter(target) as writer:
        writer.write([{"id": 1}])
    assert target.read_text() == "the previous run\n"  # no commit: the old file stands
    assert list(tmp_path.iterdir()) == [target]          # and no temporary file is left


def test_the_command_writes_nothing_on_stdout_and_exits_1_on_error_rows(tmp_path):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(ROWS[:60]))
    proc = subprocess.run([CLONUS, "batch", str(cohort), "-o", str(tmp_path / "o.csv"), "--workers", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout == ""
    assert proc.returncode == 1
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary.startswith("clonus batch: 60 cases, 1 error, ")
    assert "cache hits" in summary and "cases/s" in summary


def test_quiet_batch_of_good_rows_exits_0_silently(tmp_path):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter([r for r in ROWS[:30] if not r[0].startswith("bad")]))
    proc = subprocess.run([CLONUS, "batch", str(cohort), "-o", str(tmp_path / "o.jsonl"), "--quiet",
                           "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.parametrize("args, message", [
    (["--verify-cache", "2"], "--verify-cache: 2 is not a share"),
    (["--workers", "0"], "--workers: 0 is not a number of processes"),
    (["-o", "out.txt"], "--output: 'out.txt' has no cohort suffix"),
    (["-o", "part-*.jsonl"], "--output: 'part-*.jsonl': partition files are written by the workers of a Dask"),
    (["-o", "d*/part-*.jsonl", "--dask-local", "1"], "--output: 'd*/part-*.jsonl': a `*` may stand only in"),
    (["-o", "part-*-*.jsonl", "--dask-local", "1"], "--output: 'part-*-*.jsonl': one `*` stands for the partition"),
    (["--partition-rows", "100"], "--partition-rows: partitions are a Dask batch's"),
    (["--partition-rows", "0", "--dask-local", "1"], "--partition-rows: 0 is not a number of rows"),
    (["--dask-local", "0"], "--dask-local: 0 is not a number of workers"),
])
def test_bad_options_are_one_line_exit_2(tmp_path, args, message):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(ROWS[:2]))
    options = args if "-o" in args else ["-o", str(tmp_path / "o.jsonl"), *args]
    proc = subprocess.run([CLONUS, "batch", str(cohort), *options], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"clonus: error: {message}") and len(proc.stderr.splitlines()) == 1


def test_a_killed_worker_is_replaced_and_no_row_is_lost_or_written_twice(tmp_path):
    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(ROWS))
    run_batch(cohort, tmp_path / "alone.jsonl", Settings(), workers=0)
    killed: list[int] = []
    pool_pids: list[int] = []

    def kill_once(done: int) -> None:
        if not killed:
            victim = next(pid for pid in pool_pids if pid != os.getpid())
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    import clonus.engine.cohort.pool as pool

    real_start = pool.WorkerPool._start

    def start(self):
        worker = real_start(self)
        pool_pids.append(worker.process.pid)
        return worker

    pool.WorkerPool._start = start  # type: ignore[method-assign]
    try:
        summary = run_batch(cohort, tmp_path / "pooled.jsonl", Settings(), workers=2, chunk=20, progress=kill_once)
    finally:
        pool.WorkerPool._start = real_start  # type: ignore[method-assign]
    assert killed and summary.replaced == 1
    assert (tmp_path / "pooled.jsonl").read_bytes() == (tmp_path / "alone.jsonl").read_bytes()


def test_a_case_that_kills_its_worker_twice_is_an_error_row(tmp_path):
    cohort = tmp_path / "c.jsonl"
    rows = ROWS[:40]
    write_cohort(cohort, iter(rows[:25] + [("poison", rows[0][1])] + rows[25:]))
    summary = run_batch(cohort, tmp_path / "o.jsonl", Settings(), workers=2, chunk=10,
                        decider="batch_crash:CrashingDecider")
    out = read_output(tmp_path / "o.jsonl")
    assert [r["id"] for r in out] == [r[0] for r in rows[:25]] + ["poison"] + [r[0] for r in rows[25:]]
    poison = out[25]
    assert poison["status"] == "error"
    assert poison["error"].startswith("the batch worker crashed on this case (exit code -9) and again")
    assert summary.crashes == 2
    alone = run_batch(cohort, tmp_path / "alone.jsonl", Settings(), workers=0)
    assert alone.tally.rows == len(out)
    assert [r for i, r in enumerate(out) if i != 25] == \
        [r for i, r in enumerate(read_output(tmp_path / "alone.jsonl")) if i != 25]


def test_a_batch_whose_waiting_chunks_all_finish_at_once_goes_on(tmp_path):
    """Regression: with the first chunk slow and the other worker done with every chunk the parent holds
    (3 per worker), the slow one's answer completed them all at once; the parent emitted them, read
    nothing, and waited for a worker with no job, for ever (a million-row batch hung at random)."""
    cohort = tmp_path / "c.jsonl"
    rows = [("slow", ROWS[0][1])] + ROWS[1:30]
    write_cohort(cohort, iter(rows))
    script = (f"from clonus.engine.cohort.batch import run_batch\n"
              f"from clonus.engine.cohort.decider import Settings\n"
              f"if __name__ == '__main__':\n"
              f"    s = run_batch({str(cohort)!r}, {str(tmp_path / 'o.jsonl')!r}, Settings(), workers=2, chunk=1,\n"
              f"                  decider='batch_crash:SlowDecider')\n"
              f"    print(s.tally.rows)\n")
    (tmp_path / "run.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    done = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["30"]
    assert [r["id"] for r in read_output(tmp_path / "o.jsonl")] == [r[0] for r in rows]


def test_first_of_cells_gives_each_cells_first_row_and_evaluate_cells_its_firings(tmp_path, shipped_kb):
    """A Dask batch's first two phases, in one decider: every good row's cell has its first row, no error
    row has a cell, and the cells evaluated are the ones a row-by-row run caches."""
    from clonus.engine.cohort.decider import RowDecider

    cohort = tmp_path / "c.jsonl"
    write_cohort(cohort, iter(ROWS))
    rows = list(read_rows(cohort, shipped_kb))
    finder, alone = RowDecider(Settings()), RowDecider(Settings())
    try:
        firsts = finder.first_of_cells(rows)
        keys = [key for key, _ in firsts]
        assert len(set(keys)) == len(keys) and all(raw.data is not None for _, raw in firsts)
        out, tally = alone.decide(rows)
        assert len(firsts) == tally.misses > 0
        firsts_by_index = sorted(raw.index for _, raw in firsts)
        assert firsts == sorted(firsts, key=lambda pair: pair[1].index)  # in input order
        cells, evaluated = finder.evaluate_cells(firsts)
        assert evaluated.misses == len(cells) == len(firsts)
        assert dict(cells) == alone.advisor.decisions.cells
        assert firsts_by_index[0] == next(r["row"] for r in out if r["status"] == "ok")
    finally:
        finder.close()
        alone.close()
    without = RowDecider(Settings(cache=False))
    try:
        assert without.first_of_cells(rows) == []
    finally:
        without.close()
