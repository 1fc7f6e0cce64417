"""The ``slmprofile`` command line: a thin layer over the Python API (one small function per verb), one module per
group of verbs: :mod:`.profile` (ingest ... report), :mod:`.verdicts` (suitability, savings), and the stage folders'
own ``cli`` modules (router, gateway, loop, notebooks)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..gateway.cli import serve_cmd, serve_report_cmd
from ..loop.cli import drift_cmd, export_app
from ..notebooks.cli import notebooks_app
from ..router.cli import router_app
from . import profile, verdicts

app = typer.Typer(
    name="slmprofile",
    help="Find which of your LLM calls a small language model could take, from your own logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
# the verbs in the order data moves (each sub-app imports typer only: `slmprofile --help` stays fast)
for _verb in (profile.ingest, profile.embed, profile.cluster, profile.run, profile.sample, profile.formats):
    app.command()(_verb)
app.command()(verdicts.suitability)
app.command()(verdicts.savings)
app.add_typer(router_app, name="router")
app.command()(profile.report)
app.add_typer(notebooks_app, name="notebooks")
app.command("serve")(serve_cmd)
app.command("serve-report")(serve_report_cmd)
app.add_typer(export_app, name="export")
app.command("drift")(drift_cmd)


def _print_version(value: bool) -> None:
    if value:
        from ..version import __version__

        typer.echo(f"slmprofile {__version__}")
        raise typer.Exit()


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
          version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the installed version and exit.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point. A bad value or option on the command line, an error slmprofile raises on
    purpose, or a file the system refuses, that a command did not handle itself, ends in one ``error:`` line and
    exit code 2, never a traceback or a box."""
    import sys

    from ..errors import SlmprofileError

    try:
        code = app(args=_hoist_verbose(sys.argv[1:]), prog_name="slmprofile", standalone_mode=False)
    except SlmprofileError as exc:
        _fail_line(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _fail_line(f"{where}{exc.strerror or exc}")
    except typer.Abort:
        print("aborted", file=sys.stderr)
        raise SystemExit(1) from None
    except ModuleNotFoundError as exc:
        from ..deps import install_hint

        hint = install_hint(exc.name)
        if hint is None:
            raise
        _fail_line(f"this command needs {exc.name!r}, which this install lacks: {hint}")
    except Exception as exc:
        _usage_error(exc)
        raise
    if isinstance(code, int) and code:
        raise SystemExit(code)


def _usage_error(exc: BaseException) -> None:
    """One line for a command-line usage error (click's ``UsageError`` family: a bad value, an unknown option, a
    missing argument), naming the command's ``--help``; a bare command that shows its help shows it. Returns for
    anything else."""
    import sys

    if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
        return
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        print(exc.format_message(), file=sys.stderr)
        raise SystemExit(int(exc.exit_code))
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _fail_line(f"{exc.format_message()}{hint}")


def _hoist_verbose(args: list[str]) -> list[str]:
    """``-v``/``--verbose`` anywhere before ``--`` moved to the front, where the root command reads it, so that
    ``slmprofile run logs -v`` works like ``slmprofile -v run logs``."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in ("-v", "--verbose")]
    return flags + [a for a in args[:end] if a not in ("-v", "--verbose")] + args[end:]


def _fail_line(message: str) -> None:
    import sys

    first = (message.strip().splitlines() or ["failed"])[0]
    print(f"error: {first}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":  # pragma: no cover
    main()

