"""The `clonus` command. Each command lives in its own module, named as the command; heavy imports happen
inside commands, so that `clonus --help` is instant.

Errors are handled once, here (ClonusGroup.main): a ClonusError prints its one line (a KbError its
located problems first) and exits with the code its class carries; click's usage errors are one line,
exit 2; a failure to write the answer is one line, exit 2; anything else is a bug: one line naming it,
exit 1, and --debug shows the traceback.
"""

from __future__ import annotations

import errno
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from . import advise as advise_cmd
from . import batch as batch_cmd
from . import check_engines as check_engines_cmd
from . import diff as diff_cmd
from . import explain as explain_cmd
from . import graph as graph_cmd
from . import kb as kb_cmd
from . import lint as lint_cmd
from . import serve as serve_cmd
from . import test as test_cmd

_DEBUG = {"on": False}


def _click_exceptions():
    """The exceptions of the click that typer runs on: its vendored copy when it has one (recent typer),
    even where a separate click is installed too (schemathesis, in the test extra, brings one)."""
    try:
        from typer._click import exceptions
    except ImportError:  # older typer releases depend on click instead of vendoring it
        from click import exceptions  # type: ignore[no-redef]  # click and typer._click may both exist
    return exceptions


def _say(message: str) -> None:
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:  # standard error is gone too: nothing more can be said
        pass


class ClonusGroup(TyperGroup):
    """The command group that turns every failure into one line on stderr and the right exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """click's main (args, prog_name, ...), always in non-standalone mode, every outcome an exit."""
        click = _click_exceptions()
        _DEBUG["on"] = False
        given = kwargs.pop("args", args[0] if args else None)
        argv = list(sys.argv[1:] if given is None else given)
        kwargs.pop("standalone_mode", None)
        kwargs.setdefault("prog_name", args[1] if len(args) > 1 else "clonus")
        if sys.stdout is None:  # started with standard output closed: writing the answer fails as one line
            sys.stdout = _ClosedOutput()
        try:
            self._advise_for_kb(argv)
            code = super().main(argv, standalone_mode=False, **kwargs)
            sys.stdout.flush()
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `clonus`: the help, not an error
                print(exc.format_message())
                sys.exit(0)
            ctx = exc.ctx
            hint = f" (see 'clonus {ctx.info_name} --help')" if ctx and ctx.parent else " (see 'clonus --help')"
            _say(f"clonus: error: {exc.format_message()}{hint}")
            sys.exit(2)
        except click.ClickException as exc:
            _say(f"clonus: error: {exc.format_message()}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            _say("clonus: aborted")
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - every failure ends here, as one line
            sys.exit(_report(exc))
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        """A failed write becomes an OutputError here: typer's own handler would end a broken pipe with a
        silent exit 1, and a full disk with a traceback."""
        try:
            return super().invoke(ctx)
        except OSError as exc:
            raise _output_error(exc) from exc

    def _advise_for_kb(self, argv: list[str]) -> None:
        """`advise --kb DIR`: rebuild the advise command with the flags of that KB's facts."""
        if "advise" not in argv:
            return
        rest = argv[argv.index("advise") + 1:]
        kb_dir = next((a.split("=", 1)[1] for a in rest if a.startswith("--kb=")), None)
        if kb_dir is None and "--kb" in rest and rest.index("--kb") + 1 < len(rest):
            kb_dir = rest[rest.index("--kb") + 1]
        # a folder whose facts cannot be read keeps the default flags: the command then reports its problems
        flags = advise_cmd.flags_of(kb_dir) if kb_dir is not None else ()
        if flags and flags != advise_cmd.flags_of(None):
            sub = typer.Typer(context_settings=CONTEXT)
            sub.command("advise")(advise_cmd.AdviseCommand(kb_dir))
            self.commands["advise"] = typer.main.get_command(sub)


_WRITE_ERRORS = (errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT)


class _ClosedOutput:
    """Standard output when the process started without one (`clonus advise x >&-`): Python then sets
    sys.stdout to None, and the first write would be an AttributeError (an internal error, exit 1).
    Every write fails as a closed file does, so the answer ends as one line, exit 2."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        return None

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def isatty(self) -> bool:
        return False


def _output_error(exc: OSError) -> Exception:
    """A failed write to standard output as an OutputError (exit 2, one line); any other OSError as it is."""
    from clonus.engine.errors import OutputError

    if exc.errno not in _WRITE_ERRORS:
        return exc
    _quiet_stdout()
    error = OutputError(f"the output could not be written ({exc.strerror or exc})")
    error.exit_code = 2
    return error


def _report(exc: Exception) -> int:
    """One line (a KB's problems first) for a failure; the exit code it carries."""
    from clonus.engine.errors import ClonusError, KbError, clip

    if isinstance(exc, OSError):
        exc = _output_error(exc)
    if isinstance(exc, KbError):
        for problem in exc.problems:
            _say(str(problem))
        _say(f"clonus: error: {exc.summary}")
        return exc.exit_code
    if isinstance(exc, ClonusError):
        _say(f"clonus: error: {exc}")
        return exc.exit_code
    if _DEBUG["on"]:
        raise exc
    _say(f"clonus: internal error (a bug in clonus, please report it): {type(exc).__name__}: "
         f"{clip(str(exc), 300)} (rerun with --debug for the traceback)")
    return 1


def _quiet_stdout() -> None:
    """After a failed write, flushing standard output at exit must not fail a second time."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


CONTEXT = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    name="clonus",
    cls=ClonusGroup,
    help="Clinical decision support for adult spasticity on oral baclofen: advice from a YAML knowledge "
    "base run in a rule engine, with its rules, facts and sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)
app.command("advise")(advise_cmd.AdviseCommand())
app.command("graph")(graph_cmd.graph)
app.command("lint")(lint_cmd.lint)
app.command("test")(test_cmd.rule_tests)
app.command("explain")(explain_cmd.explain)
app.command("kb")(kb_cmd.kb_info)
app.command("diff")(diff_cmd.diff)
app.command("check-engines")(check_engines_cmd.check_engines)
app.command("serve")(serve_cmd.serve)
app.command("batch")(batch_cmd.batch)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"clonus {version('clonus')}")
        except PackageNotFoundError:
            print("clonus (not installed)")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version of clonus and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="On an internal error, show the traceback.")] = False,
) -> None:
    """Clinical decision support for adult spasticity on oral baclofen.

    Start with: clonus advise CASE_FILE (see examples/), or clonus advise --age 45 --drug baclofen
    --dose "15 mg" --frequency q8h --relief inadequate --spasticity generalized.
    """
    _DEBUG["on"] = debug


def run() -> None:
    """Console-script entry point (also `python -m clonus`)."""
    app()
