"""A rule-test run for people (each failure's diff and trace, coverage) and for CI (JUnit XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from clonus.engine.explain.trace import trace_lines
from clonus.engine.workbench.ruletests import CaseOutcome, Coverage, TestRun, suite_name

STATUS = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "todo": "todo", "fixed": "todo now passes"}


def describe(outcome: CaseOutcome) -> str:
    """The diff a failing case shows: codes missing, codes unexpected, then the trace."""
    if outcome.error:
        return f"{outcome.id}: {outcome.error}"
    lines = [f"{outcome.id} ({outcome.test.file}:{outcome.test.line})"]
    if outcome.missing:
        lines.append(f"  missing:    {', '.join(outcome.missing)}")
    if outcome.unexpected:
        lines.append(f"  unexpected: {', '.join(outcome.unexpected)}")
    if outcome.unfired:
        lines.append(f"  not fired:  {', '.join(outcome.unfired)}")
    if outcome.not_first:
        lines.append(f"  first:      {outcome.not_first}, not {outcome.test.first}")
    lines.append(f"  got:        {', '.join(outcome.codes) or '(no recommendation)'}")
    lines.append("  trace:")
    lines.extend(f"    {i:2}. {line}" for i, line in enumerate(trace_lines(outcome.trace), 1))
    return "\n".join(lines)


def render_text(run: TestRun, show_coverage: bool, show_missing: bool, verbose: bool) -> str:
    lines = []
    for outcome in run.outcomes:
        if outcome.fails or outcome.status in ("todo", "fixed") or verbose:
            lines.append(f"{STATUS[outcome.status]:>5}  {outcome.id}")
        if outcome.fails:
            lines.extend("       " + line for line in describe(outcome).splitlines()[1:] or [describe(outcome)])
        elif outcome.status == "fixed":
            lines.append("       this todo case now passes: remove `todo: true` from "
                         f"{outcome.test.file}:{outcome.test.line}")
    if lines:
        lines.append("")
    counts = {s: run.count(s) for s in STATUS}
    lines.append(f"{len(run.outcomes)} cases: {counts['passed']} passed, {counts['failed']} failed, "
                 f"{counts['error']} errors, {counts['todo']} todo, {counts['fixed']} todo now passing")
    cov = run.coverage
    lines.append(f"coverage: rules {cov.rules_fired}/{len(cov.rules)} fired ({cov.rule_percent:.1f}%), "
                 f"conditions {cov.conditions_covered}/{len(cov.conditions)} seen true and false "
                 f"({cov.condition_percent:.1f}%)")
    if show_coverage or show_missing:
        lines.extend(coverage_lines(cov, table=show_coverage))
    return "\n".join(lines) + "\n"


def coverage_lines(cov: Coverage, table: bool) -> list[str]:
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


def junit_xml(run: TestRun) -> str:
    """JUnit XML: one testsuite per tests file, one testcase per case; todo cases are `skipped`."""
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
                f"unexpected: {', '.join(outcome.unexpected)}" if outcome.unexpected else "",
                f"not fired: {', '.join(outcome.unfired)}" if outcome.unfired else "",
                f"first: {outcome.not_first}, not {outcome.test.first}" if outcome.not_first else "") if part)
            ET.SubElement(case, "failure", message=message).text = describe(outcome)
        elif outcome.status == "error":
            ET.SubElement(case, "error", message=outcome.error or "").text = describe(outcome)
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
