"""``slmprofile notebooks copy | render``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..terminal import fail, make_console

notebooks_app = typer.Typer(help="Copy the bundled notebooks, or execute them and render them to HTML.",
                            no_args_is_help=True)


NotebooksWorkdirOpt = Annotated[Path, typer.Option("--dir", "-d", help="Working folder: the notebooks run from "
                                                    "DIR/notebooks/ and their default paths read DIR/data/logs and "
                                                    "write DIR/out/.")]


def notebooks_copy(
    workdir: NotebooksWorkdirOpt = Path("."),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace copies already there (your edits in them "
                                                                "are lost).")] = False,
) -> None:
    """Copy the bundled notebooks into DIR/notebooks/ to open them in Jupyter.

    Example: slmprofile sample --out data && slmprofile notebooks copy && jupyter lab notebooks/
    """
    from ..notebooks import copy_notebooks

    for path in copy_notebooks(workdir, overwrite=overwrite):
        typer.echo(str(path))


def notebooks_render(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the HTML files.")] = Path("notebooks-html"),
    notebook: Annotated[Optional[list[str]], typer.Option("--notebook", "-n", help="A notebook name or path (repeat; "
                                                                                    "default: all).")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="NAME=VALUE injected after the parameters "
                                                                              "cell (repeat; relative paths resolve "
                                                                              "from DIR/notebooks/).")] = None,
    execute: Annotated[bool, typer.Option("--execute/--no-execute", help="Run the notebooks before rendering.")] = True,
    workdir: NotebooksWorkdirOpt = Path("."),
) -> None:
    """Execute notebooks headless (nbclient) and write one HTML file each (nbconvert, images embedded).

    Bundled notebooks missing from DIR/notebooks/ are copied there first; copies already there run as they are.

    Example: slmprofile sample --out data && slmprofile notebooks render -n 01_ingest_and_explore
    """
    from ..errors import SlmprofileError
    from ..notebooks import parse_params, render_notebooks

    try:
        paths = render_notebooks(out, notebook or None, parse_params(param or []), execute=execute, workdir=workdir)
    except SlmprofileError as exc:
        fail(str(exc))
    for path in paths:
        make_console().print(f"wrote {path}")



notebooks_app.command("copy")(notebooks_copy)
notebooks_app.command("render")(notebooks_render)
