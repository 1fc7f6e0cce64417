"""The command line's two ways of speaking: results on stdout, errors (one ``error:`` line) on stderr."""

from __future__ import annotations

from typing import Any, NoReturn


def make_console(*, stderr: bool = False) -> Any:
    """A rich console. Results and summaries go to stdout (``slmprofile run ... > out.txt`` keeps them); errors and
    stage progress to stderr, next to the progress bars. Markup is off: paths, model names and values from users'
    files are printed as written (``[/x]`` is not markup)."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True, markup=False, highlight=False)


def fail(message: str, *, redacted: bool = False) -> NoReturn:
    """End the command with one ``error:`` line on stderr and exit code 2; ``redacted``: PII in the message (an
    error quoting a line of the user's logs) is redacted as the outputs are."""
    import typer
    from rich.text import Text

    if redacted:
        from .redact import redact

        message = redact(message)[0]
    make_console(stderr=True).print(Text.assemble(("error:", "red"), f" {message}"))
    raise typer.Exit(code=2)
