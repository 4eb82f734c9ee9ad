"""The engine comparison (`clonus check-engines`) for people (text) and for machines (JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clonus.engine.knowledge.model import Kb
from clonus.engine.workbench.enginecheck import EngineComparison

LABELS = {"example": "examples", "rule test": "rule tests", "boundary": "boundary", "generated": "generated"}


def _engine(engine: Mapping[str, str]) -> str:
    return f"{engine['name']} {engine['version']}"


def render_text(kb: Kb, comparison: EngineComparison, written: Mapping[str, str]) -> str:
    """The counts per source, then each differing case: where the answers part, both sides, how to rerun."""
    first, second = comparison.engines
    lines = [f"clonus check-engines: {_engine(first)} and {_engine(second)} on {kb.name} {kb.version} "
             f"({kb.digest[:19]})", ""]
    notes = {"boundary": "the lint search's cases", "generated": f"seed {comparison.seed}",
             "rule test": "every rule, whatever its status"}
    for source, count in comparison.counts.items():
        note = f" ({notes[source]})" if source in notes else ""
        lines.append(f"  {LABELS[source]:<11} {count:>9,} cases{note}")
    if comparison.refused:
        lines.append(f"  ({comparison.refused:,} refused by intake on both engines, not compared)")
    if comparison.unwritable:
        lines.append(f"  ({comparison.unwritable:,} boundary cases no case file can express, not compared)")
    total = comparison.compared
    lines += ["", f"{total:,} cases compared in {comparison.seconds:.1f} s: "
              f"{len(comparison.differences):,} differ"]
    for diff in comparison.differences:
        lines += ["", f"DIFFERENT {diff.case.name} ({diff.source}, {diff.case.where}) at {diff.path}",
                  f"    {first['name']}: {diff.first}", f"    {second['name']}: {diff.second}"]
        if diff.case.name in written:
            drafts = " --include-draft" if diff.source == "rule test" else ""
            lines.append(f"    rerun: clonus advise {written[diff.case.name]} --format json{drafts} "
                         f"--engine {first['name']} (then --engine {second['name']})")
    return "\n".join(lines) + "\n"


def render_json(kb: Kb, comparison: EngineComparison, written: Mapping[str, str]) -> dict[str, Any]:
    return {
        "kb": {"root": kb.root, "name": kb.name, "version": kb.version, "digest": kb.digest},
        "engines": [dict(e) for e in comparison.engines],
        "cases": dict(comparison.counts), "compared": comparison.compared, "refused": comparison.refused,
        "unwritable": comparison.unwritable, "seed": comparison.seed, "seconds": round(comparison.seconds, 3),
        "differences": [
            {"case": d.case.name, "source": d.source, "where": d.case.where, "path": d.path,
             comparison.engines[0]["name"]: d.first, comparison.engines[1]["name"]: d.second,
             "file": written.get(d.case.name)}
            for d in comparison.differences
        ],
    }
