"""The `clonus` command. Each command lives in its own module; heavy imports happen inside commands."""

from __future__ import annotations

import typer

from . import advise as advise_cmd
from . import diff as diff_cmd
from . import explain as explain_cmd
from . import graph as graph_cmd
from . import kbinfo, testcmd
from . import lint as lint_cmd

app = typer.Typer(
    name="clonus",
    help="Clinical decision support for adult spasticity on oral baclofen: advice from a YAML knowledge "
    "base run on durable_rules, with its rules, facts and sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("advise")(advise_cmd.advise)
app.command("graph")(graph_cmd.graph)
app.command("lint")(lint_cmd.lint)
app.command("test")(testcmd.rule_tests)
app.command("explain")(explain_cmd.explain)
app.command("kb")(kbinfo.kb_info)
app.command("diff")(diff_cmd.diff)


@app.callback()
def main() -> None:
    """Clinical decision support for adult spasticity on oral baclofen.

    Start with: clonus advise CASE_FILE (see examples/), or clonus advise --age 45 --drug baclofen
    --dose "15 mg" --frequency q8h --relief inadequate --spasticity generalized.
    """


def _click_exceptions():
    try:
        from click import exceptions
    except ImportError:  # recent typer releases vendor click instead of depending on it
        from typer._click import exceptions
    return exceptions


def run() -> None:
    """Console-script entry point: click's usage errors become one line on stderr and exit 2."""
    import sys

    click = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `clonus`: the help, not an error
            typer.echo(exc.format_message())
            sys.exit(0)
        hint = f" (see 'clonus {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else " (see 'clonus --help')"
        typer.echo(f"clonus: error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        typer.echo(f"clonus: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        typer.echo("clonus: aborted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
