"""`clonus test`: run the KB's rule tests, show each failure's diff and trace, coverage, JUnit XML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, KbDir, ProfileName, load_kb


def rule_tests(
    kb: KbDir = None,
    show_coverage: Annotated[bool, typer.Option("--coverage", help="Show coverage per rule and per condition.")
                             ] = False,
    min_coverage: Annotated[float | None, typer.Option(
        "--min-coverage", min=0, max=100, metavar="PERCENT", show_default=False,
        help="Fail when rule coverage or condition coverage (seen true and false) is below PERCENT.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", metavar="FILE", show_default=False, dir_okay=False,
                                               help="Also write JUnit XML to FILE, for CI systems.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every case, not only the failing ones.")
                       ] = False,
    engine: EngineName = None,
    profile: ProfileName = None,
) -> None:
    """Run every rule test case of the KB (kb/rules/*.tests.yaml). A failing case shows the codes
    missing, the codes unexpected and the trace. Cases marked todo run and are reported but never fail.
    Each case runs under its own `profile:` (the KB's default when it names none); --profile NAME runs
    only the cases that run under NAME.

    Exit codes: 0 every case passes (and coverage reaches --min-coverage), 1 otherwise, 2 the KB
    cannot be loaded.
    """
    from clonus.engine.errors import OutputError, shown
    from clonus.engine.explain.rule_tests import junit_xml, render_text
    from clonus.engine.workbench.ruletests import run_tests

    knowledge = load_kb(kb, profile)  # an unknown profile is refused here, with did-you-mean
    default = load_kb(kb) if profile is not None else knowledge
    chosen = [t for t in default.tests if profile is None or (t.profile or default.profile.name) == profile]
    run = run_tests(default, chosen, engine=engine)
    if junit is not None:
        try:
            junit.write_text(junit_xml(run), encoding="utf-8")
        except OSError as exc:
            error = OutputError(f"--junit: cannot write {shown(str(junit))} ({exc.strerror or exc})")
            error.exit_code = 2
            raise error from exc
    typer.echo(render_text(run, show_coverage, min_coverage is not None, verbose), nl=False)
    cov = run.coverage
    low = min_coverage is not None and min(cov.rule_percent, cov.condition_percent) < min_coverage
    if low:
        typer.echo(f"clonus: coverage below {min_coverage:g}% (rules {cov.rule_percent:.1f}%, "
                   f"conditions {cov.condition_percent:.1f}%)", err=True)
    raise typer.Exit(1 if run.failed or low else 0)
