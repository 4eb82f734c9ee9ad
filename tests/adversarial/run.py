"""Run the adversarial inputs (cases.yaml, flags.yaml, kbs.yaml beside this file) through the command line.

    python tests/adversarial/run.py                # every class: counts, failures, the slowest inputs
    python tests/adversarial/run.py kbs            # one class

Each input is data: what to write (a case file, standard input, a KB folder edited from a copy of the
shipped one), the arguments, the exit code expected and a fragment of the message. Inputs run one after
the other inside a worker process (clonus in-process, memory capped), which reports each as it ends;
the parent gives every input a time limit and, when one is passed, kills the worker, records a hang
for that input and starts a new worker at the next one: a hang fails its input, never the run.
tests/test_adversarial.py runs the same and holds every input to its expectation.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CLASSES = ("cases", "flags", "kbs")
TIME_LIMIT = 10.0          # seconds per input before it counts as a hang (the inputs answer in well under 1)
MEMORY_LIMIT = 3 * 2**30   # address space of a worker: a blow-up fails its input with MemoryError


def entries(kind: str) -> list[dict]:
    """The inputs of one class (a name beside this file, or the path of a YAML file), in file order; an
    entry with `for_each_field` stands for one input per case field, `{field}` and `{leaf}` (its last
    part) and `{flag}` (its command-line flag) filled in its text, arguments, message and name."""
    path = Path(kind) if kind.endswith(".yaml") else HERE / f"{kind}.yaml"
    loaded: list[dict] = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for entry in loaded:
        fields = entry.get("for_each_field")
        if not fields:
            out.append(entry)
            continue
        for field in fields:
            section, leaf = field.split(".", 1)
            filled = json.loads(json.dumps({k: v for k, v in entry.items() if k != "for_each_field"})
                                .replace("{field}", field).replace("{section}", section).replace("{leaf}", leaf)
                                .replace("{flag}", "--" + leaf.replace("_", "-")))
            filled["name"] = f"{entry['name']}[{field}]"
            out.append(filled)
    return out


# -- building an input ----------------------------------------------------------------------------------

def text_of(spec: Any) -> bytes:
    """A text spec as bytes: a string; {hex: "ff fe"}; or {before, repeat, times, after} and
    {before, each: {template, count, start}, after} for long or generated text."""
    if isinstance(spec, str):
        return spec.encode("utf-8", "surrogatepass")
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    middle = b""
    if "repeat" in spec:
        middle = text_of(spec["repeat"]) * int(spec["times"])
    elif "each" in spec:
        each = spec["each"]
        start = int(each.get("start", 0))
        middle = "".join(each["template"].replace("{i}", str(i)) for i in range(start, start + int(each["count"])))\
            .encode("utf-8")
    return text_of(spec.get("before", "")) + middle + text_of(spec.get("after", ""))


def arg_of(spec: Any, places: dict[str, str]) -> str:
    """One argument: a text spec (bytes decoded as the interpreter decodes argv), {case} and {kb} filled."""
    text = os.fsdecode(text_of(spec))
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


def _edit(kb: Path, edit: dict) -> None:
    """One change to the KB copy: write, append, replace, delete, fifo, link or mkdir."""
    op = next(k for k in ("write", "append", "replace", "delete", "fifo", "link", "mkdir") if k in edit)
    target = kb / edit[op]
    if op == "write":
        target.write_bytes(text_of(edit["text"]))
    elif op == "append":
        target.write_bytes(target.read_bytes() + text_of(edit["text"]))
    elif op == "replace":
        text = target.read_text(encoding="utf-8")
        if edit["old"] not in text:
            raise ValueError(f"{edit[op]}: {edit['old']!r} is not there to replace")
        target.write_text(text.replace(edit["old"], text_of(edit["new"]).decode("utf-8", "surrogatepass"), 1),
                          encoding="utf-8", errors="surrogatepass")
    elif op == "delete":
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    elif op == "fifo":
        os.mkfifo(target)
    elif op == "link":
        target.symlink_to(edit["to"])
    else:
        target.mkdir()


def _special(path: Path, kind: str, folder: Path) -> None:
    """A case file that is not a regular file."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "symlink-to-fifo":
        os.mkfifo(folder / "pipe")
        path.symlink_to(folder / "pipe")
    elif kind == "dangling-symlink":
        path.symlink_to(folder / "nothing-here")
    elif kind.startswith("/dev/"):
        path.symlink_to(kind)
    else:
        raise ValueError(f"unknown special file {kind!r}")


@dataclass
class Prepared:
    argv: list[str]
    stdin: bytes
    stdout: str | None   # None: captured; "closed" or a path (/dev/full): a real process writes there


def prepare(entry: dict, folder: Path) -> Prepared:
    """Write what the input needs into `folder` and return how to run it."""
    case = folder / entry.get("as", "case.yaml")
    if "file" in entry:
        case.write_bytes(text_of(entry["file"]))
    if "special" in entry:
        _special(case, entry["special"], folder)
    kb = folder / "kb"
    if "edits" in entry or entry.get("kb"):
        shutil.copytree(REPO / "kb", kb, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        for edit in entry.get("edits", ()):
            _edit(kb, edit)
    places = {"case": str(case), "kb": str(kb), "examples": str(REPO / "examples"), "folder": str(folder)}
    if "edits" in entry:  # a KB input: the reference case on that KB
        default = ["advise", "{case}" if "file" in entry else "{examples}/01-reference.yaml", "--kb", "{kb}"]
    else:
        default = ["advise", "{case}"]
    argv = [arg_of(a, places) for a in entry.get("args", default)]
    if "engine" in entry:  # a shape one engine cannot run: held to that engine's answer
        argv += ["--engine", entry["engine"]]
    stdin = text_of(entry["stdin"]) if "stdin" in entry else b""
    return Prepared(argv, stdin, entry.get("stdout"))


# -- running one input ----------------------------------------------------------------------------------

def run_in_process(prepared: Prepared) -> tuple[int, str, str]:
    """clonus's command line in this interpreter: (exit code, stdout, stderr)."""
    from clonus.cli.main import app

    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(prepared.stdin), encoding="utf-8")
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        saved, sys.stdin = sys.stdin, stdin
        try:
            app(prepared.argv, prog_name="clonus")
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.stdin = saved
    return (code if isinstance(code, int) else 1 if code else 0), out.getvalue(), err.getvalue()


def run_as_process(prepared: Prepared) -> tuple[int, str, str]:
    """A real `python -m clonus` whose standard output is closed or a device (/dev/full)."""
    def close_stdout() -> None:
        os.close(1)

    target = None if prepared.stdout == "closed" else open(prepared.stdout or os.devnull, "wb")  # noqa: SIM115
    try:
        proc = subprocess.run([sys.executable, "-m", "clonus", *prepared.argv], input=prepared.stdin,
                              stdout=target, stderr=subprocess.PIPE, timeout=TIME_LIMIT, cwd=REPO,
                              preexec_fn=close_stdout if target is None else None)
    finally:
        if target is not None:
            target.close()
    return proc.returncode, "", proc.stderr.decode("utf-8", "replace")


def worker(kind: str, start: int) -> None:
    """Run inputs start.. of a class, one JSON line each on standard output as it ends."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    report = os.fdopen(os.dup(1), "w", buffering=1)
    from clonus.engine.decide.backend import usable_engines
    from clonus.engine.knowledge.load import load_kb

    load_kb(None)  # warm: imports and the shipped KB, so that each input's time is its own
    for index, entry in enumerate(entries(kind)[start:], start):
        began = time.perf_counter()
        engine = entry.get("engine")
        skip = f"{engine} cannot run on this Python" if engine not in (None, *usable_engines()) else None
        with tempfile.TemporaryDirectory(prefix="clonus-adversarial-") as tmp:
            try:
                if skip:
                    code, out, err = 0, "", ""
                elif "python" in entry:  # the runner's own tests: an input that hangs, dies or fills memory
                    exec(entry["python"])  # noqa: S102 - test data written by the suite itself
                    code, out, err = 0, "", ""
                else:
                    prepared = prepare(entry, Path(tmp))
                    run = run_as_process if prepared.stdout else run_in_process
                    code, out, err = run(prepared)
            except Exception as exc:  # noqa: BLE001 - the runner itself failed: reported as this input's result
                code, out, err = -1, "", f"runner: {type(exc).__name__}: {exc}"
        # stderr's head, and its last line whole (a KB with many problems ends with the summary)
        report.write(json.dumps({"index": index, "exit": code, "stdout": out[:200_000], "stderr": err[:4000],
                                 "last_line": (err.splitlines() or [""])[-1][:4000], "stderr_chars": len(err),
                                 "seconds": time.perf_counter() - began, "skipped": skip}) + "\n")


# -- the parent: workers, time limits, results ------------------------------------------------------------

def run_class(kind: str, limit: float = TIME_LIMIT) -> list[dict]:
    """Every input of a class through workers; a result per input ("hang" when it passed the limit)."""
    total = len(entries(kind))
    results: list[dict] = []
    while len(results) < total:
        with tempfile.TemporaryFile() as errors:  # a worker's own stderr: never a pipe that could fill
            proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--worker", kind, str(len(results))],
                                    stdout=subprocess.PIPE, stderr=errors, cwd=REPO, text=True)
            try:
                _collect(proc, results, total, limit)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                assert proc.stdout is not None
                proc.stdout.close()
    return results


def _collect(proc: subprocess.Popen, results: list[dict], total: int, limit: float) -> None:
    """Read one worker's results until it ends, hangs or dies (then that input's result says so)."""
    assert proc.stdout is not None
    warm_up = 60.0  # the first input of a worker also waits for its imports
    while len(results) < total:
        ready, _, _ = select.select([proc.stdout], [], [], limit + warm_up)
        line = proc.stdout.readline() if ready else ""
        if not line:  # a hang (no answer in time) or a worker that died (segfault, MemoryError)
            proc.kill()
            died = proc.wait() if ready else None
            results.append({"index": len(results), "exit": None, "stdout": "", "stderr": "", "stderr_chars": 0,
                            "seconds": None, "hang": not ready, "died": died, "limit": limit})
            return
        result = json.loads(line)
        result["hang"], result["limit"] = result["seconds"] > limit, limit
        results.append(result)
        warm_up = 0.0


def problems(entry: dict, result: dict) -> list[str]:
    """What is wrong with one input's result (nothing when it met its expectation)."""
    if result.get("hang"):
        return [f"no answer within {result['limit']:g} s"]
    if result["exit"] is None:
        return [f"the worker died (exit {result.get('died')})"]
    if skipped(result):
        return []
    found = []
    expected = entry["exit"]
    err, out = result["stderr"], result["stdout"]
    lines = err.splitlines()
    if result["stderr_chars"] > len(err):  # only the head was kept: its last line is cut, the real one kept
        lines = lines[:-1] + [result.get("last_line", "")]
    if result["exit"] != expected:
        found.append(f"exit {result['exit']}, expected {expected}")
    if "Traceback" in err or "internal error" in err:
        found.append("a traceback or an internal error")
    wanted = entry.get("message") or []
    for fragment in [wanted] if isinstance(wanted, str) else wanted:
        if fragment not in err:
            found.append(f"stderr lacks {fragment!r}")
    if entry.get("output") and entry["output"] not in out:
        found.append(f"stdout lacks {entry['output']!r}")
    if expected == 2:
        if out:
            found.append("stdout is not empty")
        if "lines" in entry and len(lines) != entry["lines"]:
            found.append(f"{len(lines)} lines on stderr, expected {entry['lines']}")
        elif "lines" not in entry and entry.get("located"):
            if not lines or not lines[-1].startswith("clonus: error: the knowledge base cannot be loaded"):
                found.append("the last line is not the KB summary")
            bad = [line for line in lines[:-1] if not _located(line)]
            if bad:
                found.append(f"a line that is not file:line: ...: {bad[0][:120]!r}")
        elif "lines" not in entry and len(lines) != 1:
            found.append(f"{len(lines)} lines on stderr, expected 1")
        if result["stderr_chars"] > 2000 * max(1, len(lines)):
            found.append(f"{result['stderr_chars']:,} characters on stderr")
    return found


def skipped(result: dict) -> str | None:
    """Why an input was not run (its engine cannot run on this Python), or None."""
    return result.get("skipped")


def _located(line: str) -> bool:
    head = line.split(": ", 1)[0]
    path, _, number = head.rpartition(":")
    return bool(path) and number.isdigit()


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], int(sys.argv[3]))
        return
    failed = 0
    for kind in sys.argv[1:] or CLASSES:
        started = time.perf_counter()
        inputs = entries(kind)
        results = run_class(kind)
        bad = [(e, r, p) for e, r in zip(inputs, results, strict=True) if (p := problems(e, r))]
        skips = sum(1 for r in results if skipped(r))
        timed = [r["seconds"] for r in results if r["seconds"] is not None]
        slowest = max(range(len(results)), key=lambda i: results[i]["seconds"] or 1e9)
        print(f"{kind}: {len(inputs)} inputs, {len(inputs) - len(bad) - skips} as expected, {len(bad)} not, "
              f"{skips} skipped (engine not here); "
              f"slowest {max(timed):.2f} s ({inputs[slowest]['name']}), median {sorted(timed)[len(timed) // 2]:.3f} s; "
              f"{time.perf_counter() - started:.0f} s in all")
        for entry, result, found in bad:
            print(f"  {entry['name']}: {'; '.join(found)}\n    stderr: {result['stderr'][:300]!r}")
        failed += len(bad)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
