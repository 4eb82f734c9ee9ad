"""`clonus test`: run the KB's rule tests, show each failure's diff and trace, coverage, JUnit XML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import fail, load_kb_or_exit

_STATUS = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "todo": "todo", "fixed": "todo now passes"}


def rule_tests(
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the shipped KB).",
                                            show_default=False)] = None,
    show_coverage: Annotated[bool, typer.Option("--coverage", help="Show coverage per rule and per condition.")
                             ] = False,
    min_coverage: Annotated[float | None, typer.Option(
        "--min-coverage", min=0, max=100, show_default=False,
        help="Fail when rule coverage or condition coverage (seen true and false) is below N percent.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write JUnit XML to FILE, for CI systems.",
                                               show_default=False, dir_okay=False)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every case, not only the failing ones.")
                       ] = False,
) -> None:
    """Run every rule test case of the KB (kb/rules/*.tests.yaml). A failing case shows the codes
    missing, the codes unexpected and the trace. Cases marked todo run and are reported but never fail.

    Exit codes: 0 every case passes (and coverage reaches --min-coverage), 1 otherwise, 2 the KB
    cannot be loaded.
    """
    from clonus.engine.errors import ClonusError
    from clonus.engine.ruletests import run_tests

    knowledge = load_kb_or_exit(kb)
    try:
        run = run_tests(knowledge)
    except ClonusError as exc:
        fail(f"{type(exc).__name__}: {exc}")
    if junit is not None:
        try:
            junit.write_text(junit_xml(run), encoding="utf-8")
        except OSError as exc:
            fail(f"--junit: cannot write {str(junit)!r} ({exc.strerror or exc})")
    typer.echo(render_text(run, show_coverage, min_coverage is not None, verbose), nl=False)
    cov = run.coverage
    low = min_coverage is not None and min(cov.rule_percent, cov.condition_percent) < min_coverage
    if low:
        typer.echo(f"clonus: coverage below {min_coverage:g}% (rules {cov.rule_percent:.1f}%, "
                   f"conditions {cov.condition_percent:.1f}%)", err=True)
    raise typer.Exit(1 if run.failed or low else 0)


def render_text(run, show_coverage: bool, show_missing: bool, verbose: bool) -> str:
    lines = []
    for outcome in run.outcomes:
        if outcome.fails or outcome.status in ("todo", "fixed") or verbose:
            lines.append(f"{_STATUS[outcome.status]:>5}  {outcome.id}")
        if outcome.fails:
            lines.extend("       " + line for line in outcome.describe().splitlines()[1:] or [outcome.describe()])
        elif outcome.status == "fixed":
            lines.append("       this todo case now passes: remove `todo: true` from "
                         f"{outcome.test.file}:{outcome.test.line}")
    if lines:
        lines.append("")
    counts = {s: run.count(s) for s in _STATUS}
    lines.append(f"{len(run.outcomes)} cases: {counts['passed']} passed, {counts['failed']} failed, "
                 f"{counts['error']} errors, {counts['todo']} todo, {counts['fixed']} todo now passing")
    cov = run.coverage
    lines.append(f"coverage: rules {cov.rules_fired}/{len(cov.rules)} fired ({cov.rule_percent:.1f}%), "
                 f"conditions {cov.conditions_covered}/{len(cov.conditions)} seen true and false "
                 f"({cov.condition_percent:.1f}%)")
    if show_coverage or show_missing:
        lines.extend(coverage_lines(cov, table=show_coverage))
    return "\n".join(lines) + "\n"


def coverage_lines(cov, table: bool) -> list[str]:
    """The rules never fired and the conditions not seen both ways; with `table`, every rule first."""
    title = "RULE COVERAGE (cases that fired the rule; per condition: cases true / false / unknown)"
    lines = ["", title] if table else []
    for rc in cov.rules if table else ():
        mark = "  " if rc.fired else "!!"
        lines.append(f"{mark} {rc.rule.id}  fired in {rc.fired} case{'s' if rc.fired != 1 else ''}"
                     f"  ({rc.rule.file}:{rc.rule.line})")
        for c in rc.conditions:
            flag = "  " if c.covered else "!!"
            lines.append(f"   {flag} {c.condition:<44} {c.true:>3} / {c.false:>3} / {c.unknown:>3}  line {c.line}")
    missing = [rc.rule.id for rc in cov.rules if not rc.fired]
    half = [(rule, c) for rule, c in cov.conditions if not c.covered]
    lines.append("")
    lines.append("never fired: " + (", ".join(missing) if missing else "none"))
    lines.append("conditions not seen both ways:" + ("" if half else " none"))
    for rule, c in half:
        seen = "never true" if not c.true else "never false"
        lines.append(f"  {rule.file}:{c.line}: {rule.id}: {c.condition} ({seen})")
    return lines


def junit_xml(run) -> str:
    """JUnit XML: one testsuite per tests file, one testcase per case; todo cases are `skipped`."""
    import xml.etree.ElementTree as ET

    from clonus.engine.ruletests import suite_name

    root = ET.Element("testsuites", name="clonus rule tests", tests=str(len(run.outcomes)),
                      failures=str(run.count("failed")), errors=str(run.count("error")))
    suites: dict[str, ET.Element] = {}
    for outcome in run.outcomes:
        name = suite_name(outcome.test)
        if name not in suites:
            suites[name] = ET.SubElement(root, "testsuite", name=name, file=outcome.test.file)
        case = ET.SubElement(suites[name], "testcase", classname=name, name=outcome.test.name,
                             file=outcome.test.file, line=str(outcome.test.line))
        if outcome.status == "failed":
            message = "; ".join(part for part in (
                f"missing: {', '.join(outcome.missing)}" if outcome.missing else "",
                f"unexpected: {', '.join(outcome.unexpected)}" if outcome.unexpected else "") if part)
            ET.SubElement(case, "failure", message=message).text = outcome.describe()
        elif outcome.status == "error":
            ET.SubElement(case, "error", message=outcome.error or "").text = outcome.describe()
        elif outcome.status == "todo":
            ET.SubElement(case, "skipped", message="todo: a known gap, still failing")
    for suite in suites.values():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        for kind in ("failure", "error", "skipped"):
            suite.set(kind + "s" if kind != "skipped" else "skipped",
                      str(sum(1 for c in cases if c.find(kind) is not None)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
