"""Regenerate every golden file on purpose, after a change whose new output has been reviewed:

    python tools/regenerate.py                  # examples/golden/*.json, tests/golden/graph/*, docs/graphs/
                                                # (PNGs, explorer)
    python tools/regenerate.py --approve-safety # also kb/invariants.approved.yaml: approves the KB's safety
                                                # section as it is now (review `git diff` of it first)

Tests only ever compare against these files; they never write them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent


def examples() -> list[Path]:
    from clonus.cli.main import app

    written = []
    runner = CliRunner()
    for case in sorted((REPO / "examples").glob("*.yaml")):
        result = runner.invoke(app, ["advise", str(case), "--format", "json"])
        if result.exit_code != 0:
            sys.exit(f"{case.name}: exit {result.exit_code}: {result.stderr}")
        target = REPO / "examples" / "golden" / f"{case.stem}.json"
        target.write_text(result.stdout, encoding="utf-8")
        written.append(target)
    return written


def graphs() -> list[Path]:
    from clonus.engine.graph import build_view
    from clonus.engine.graph.export.formats import export
    from clonus.engine.knowledge.load import load_kb

    kb = load_kb()
    written = []
    for view in ("rules", "flow", "overview"):
        g = build_view(kb, view)
        for fmt, suffix in (("dot", "dot"), ("mermaid", "mmd")):
            target = REPO / "tests" / "golden" / "graph" / f"{view}.{suffix}"
            target.write_bytes(export(g, fmt))
            written.append(target)
    for view in ("flow", "overview"):
        target = REPO / "docs" / "graphs" / f"{view}.png"
        target.write_bytes(export(build_view(kb, view), "png"))
        written.append(target)
    return written


def explorer() -> list[Path]:
    """docs/graphs/explorer.html: the teaching examples in the case explorer, made by the command itself."""
    from clonus.cli.main import app

    target = REPO / "docs" / "graphs" / "explorer.html"
    result = CliRunner().invoke(app, ["graph", *EXPLORER_ARGS, "-o", str(target)])
    if result.exit_code != 0:
        sys.exit(f"explorer: exit {result.exit_code}: {result.stderr}")
    return [target]


# The command docs/graphs/explorer.html is made with (tests/test_graph_explorer.py makes it again).
EXPLORER_ARGS = ("--view", "flow", "--cases", str(REPO / "examples"))


def approve_safety() -> list[Path]:
    """The approved safety section of every profile, as the KB holds it now."""
    import yaml

    from clonus.engine.knowledge.load import load_kb
    from clonus.engine.knowledge.load.invariants import APPROVED, approved_record

    kb = load_kb()
    record = approved_record({name: load_kb(profile=name).invariants for name in kb.profiles})
    target = REPO / "kb" / APPROVED
    header = ("# The approved safety section of each profile (kb/invariants.yaml, bound): answers and `clonus lint`\n"
              "# compare the KB's section with this. Written only by `python tools/regenerate.py --approve-safety`.\n")
    target.write_text(header + yaml.safe_dump(record, sort_keys=True, width=100), encoding="utf-8")
    return [target]


if __name__ == "__main__":
    written = approve_safety() if "--approve-safety" in sys.argv[1:] else []
    for path in written + examples() + graphs() + explorer():
        print(f"wrote {path.relative_to(REPO)}")
