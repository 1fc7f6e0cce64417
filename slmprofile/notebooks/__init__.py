"""The bundled notebooks: copy them into a working folder, execute them headless and render them to HTML
(``slmprofile notebooks copy`` / ``slmprofile notebooks render``).

>>> copy_notebooks("my-project")                                             # doctest: +SKIP
>>> render_notebooks("out/notebooks-html")                                   # doctest: +SKIP
>>> render_notebooks("out/nb", ["02_task_types"], params={"LOG_PATHS": ["/abs/logs"]})   # doctest: +SKIP

The notebooks ship inside the package (this folder), so a wheel install has them too. They run from
``WORKDIR/notebooks/`` (``WORKDIR`` defaults to the current folder): a notebook missing there is copied from the
package first, one already there (perhaps edited) is used as it is. Their parameters cells point at ``../data/logs``
and ``../out/notebooks``, i.e. ``WORKDIR/data/logs`` (where ``slmprofile sample`` writes, and the repository keeps, the
bundled sample) and ``WORKDIR/out/``. ``params`` are injected as a cell right after the notebook's parameters cell
(tagged ``parameters``, or the first code cell starting with ``# Parameters``), the way papermill does. Widgets are
rendered as their static view: the HTML needs no widget JavaScript.
"""

from __future__ import annotations

import ast
import logging
import re
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import SlmprofileError

logger = logging.getLogger(__name__)

#: Seconds one cell may run before execution fails.
CELL_TIMEOUT_S = 600
PARAMETERS_TAG = "parameters"
#: The folder of a working folder that notebooks are copied into and run from.
NOTEBOOKS_SUBDIR = "notebooks"
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.IGNORECASE)


def bundled_dir() -> Path:
    """The folder of the notebooks shipped inside the package."""
    return Path(__file__).resolve().parent


def bundled_notebooks() -> list[Path]:
    """The notebooks shipped inside the package, in order."""
    return sorted(bundled_dir().glob("*.ipynb"))


def copy_notebooks(workdir: str | Path = ".", *, overwrite: bool = False) -> list[Path]:
    """Copy the bundled notebooks into ``WORKDIR/notebooks/`` and return their paths there. A notebook already there
    is kept (it may hold your edits) unless ``overwrite``."""
    folder = Path(workdir) / NOTEBOOKS_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for source in bundled_notebooks():
        target = folder / source.name
        if overwrite or not target.exists():
            shutil.copyfile(source, target)
        out.append(target)
    return out


def notebooks_dir(root: str | Path | None = None) -> Path:
    """The folder notebooks run from: ``ROOT/notebooks/`` when ``root`` is given (it must hold notebooks), else the
    bundled folder."""
    if root is None:
        return bundled_dir()
    path = Path(root) / NOTEBOOKS_SUBDIR
    if not path.is_dir() or not any(path.glob("*.ipynb")):
        raise SlmprofileError(f"no notebooks found in {path}: `slmprofile notebooks copy --dir {root}` puts the bundled "
                              "ones there, or pass notebook paths explicitly")
    return path


def find_notebooks(notebooks: Iterable[str | Path] | None = None, *, root: str | Path | None = None) -> list[Path]:
    """Notebook paths: every ``*.ipynb`` of :func:`notebooks_dir` when ``notebooks`` is None, else each given name
    (``02_task_types``, ``02_task_types.ipynb``, or a path to any notebook)."""
    if notebooks is None:
        return sorted(notebooks_dir(root).glob("*.ipynb"))
    out = []
    for item in notebooks:
        path = Path(item)
        if path.suffix == ".ipynb" and path.is_file():
            out.append(path)
            continue
        folder = notebooks_dir(root)
        candidate = folder / (path.name if path.suffix == ".ipynb" else f"{path.name}.ipynb")
        if not candidate.is_file():
            valid = ", ".join(p.stem for p in sorted(folder.glob("*.ipynb")))
            raise SlmprofileError(f"notebook {str(item)!r} not found (in {folder}: {valid})")
        out.append(candidate)
    return out


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings to a dict; a value is a Python literal when it parses as one (``42``, ``None``,
    ``["a.jsonl"]``), else the string itself."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise SlmprofileError(f"parameter {item!r}: expected NAME=VALUE with a Python identifier as NAME")
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[name] = value
    return out


def _parameters_index(nb: Any) -> int | None:
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i, cell in code:
        if PARAMETERS_TAG in (cell.get("metadata", {}).get("tags") or []):
            return i
    for i, cell in code:
        if cell.source.lstrip().lower().startswith("# parameters"):
            return i
    return None


def inject_params(nb: Any, params: Mapping[str, Any], *, name: str = "notebook") -> None:
    """Insert a cell assigning ``params`` right after the parameters cell of ``nb`` (an nbformat notebook)."""
    import nbformat

    if not params:
        return
    for key, value in params.items():
        if not str(key).isidentifier():
            raise SlmprofileError(f"{name}: parameter name {key!r} is not a Python identifier")
        try:
            ast.literal_eval(repr(value))
        except (ValueError, SyntaxError) as exc:
            raise SlmprofileError(f"{name}: parameter {key} = {value!r} is not a plain literal") from exc
    index = _parameters_index(nb)
    if index is None:
        raise SlmprofileError(f"{name}: no parameters cell (tag a code cell 'parameters' or start it with "
                              "'# Parameters') to inject into")
    source = "# Parameters injected by slmprofile notebooks render\n" + "\n".join(
        f"{key} = {value!r}" for key, value in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)


def _to_html(nb: Any, path: Path, out: Path) -> None:
    from nbconvert import HTMLExporter

    nb.metadata.pop("widgets", None)  # no saved widget state: widget outputs fall back to their text/html
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    # the page needs neither require.js nor MathJax from a CDN: drop them so it opens offline without fetches
    html = _EXTERNAL_SCRIPT.sub("", html)
    out.write_text(html, encoding="utf-8")


def render_notebooks(out_dir: str | Path, notebooks: Sequence[str | Path] | None = None,
                     params: Mapping[str, Any] | None = None, execute: bool = True, *,
                     timeout: int = CELL_TIMEOUT_S, kernel_name: str = "python3",
                     workdir: str | Path = ".") -> list[Path]:
    """Execute notebooks (all bundled ones by default) with nbclient and write ``OUT_DIR/<name>.html`` each.

    Named notebooks (``02_task_types``) run from ``WORKDIR/notebooks/``, copied there from the package when missing
    (an existing copy is used as it is); a notebook given by its path runs from its own folder.

    An HTML file already in ``OUT_DIR`` is replaced only when slmprofile wrote it (its manifest lists it).

    ``params``: values injected after each notebook's parameters cell (a notebook without one fails when params are
    given). ``execute=False`` converts the notebooks as they are. A failing cell raises :class:`SlmprofileError`
    naming the notebook and cell; the HTML up to the failure is still written for inspection.
    """
    import nbformat
    from tqdm.auto import tqdm

    from ..outputs import claim_file_in, record_outputs

    names = [p.stem for p in bundled_notebooks()] if notebooks is None else list(notebooks)
    if any(not (Path(n).suffix == ".ipynb" and Path(n).is_file()) for n in names):
        copy_notebooks(workdir)
    paths = find_notebooks(names, root=workdir)
    out = Path(out_dir)
    # an HTML file of the same name that slmprofile did not write there is never replaced
    claim_file_in(out, [f"{p.stem}.html" for p in paths])
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in tqdm(paths, desc="notebooks", unit="nb", disable=len(paths) < 2):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a broken file
            raise SlmprofileError(f"{path}: not a readable notebook ({exc})") from exc
        inject_params(nb, params or {}, name=path.name)
        target = out / f"{path.stem}.html"
        if execute:
            from nbclient import NotebookClient
            from nbclient.exceptions import CellExecutionError

            client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                                    resources={"metadata": {"path": str(path.parent.resolve())}})
            try:
                client.execute()
            except CellExecutionError as exc:
                _to_html(nb, path, target)
                record_outputs(out, [target])
                failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
                    o.get("output_type") == "error" for o in c.get("outputs", []))), "?")
                raise SlmprofileError(f"{path.name}: cell {failed} failed: {getattr(exc, 'ename', '')}: "
                                      f"{getattr(exc, 'evalue', exc)} (output so far in {target})") from exc
        _to_html(nb, path, target)
        record_outputs(out, [target])
        logger.info("rendered %s -> %s", path, target)
        written.append(target)
    return written
