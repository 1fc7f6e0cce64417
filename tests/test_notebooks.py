"""Every notebook executes headless on the bundled sample (and stays free of outputs in git)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "slmprofile" / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder as a user has one: the sample in data/, the notebooks copied into notebooks/ (shared by the
    notebooks, as 03 and 04 share a run)."""
    from slmprofile.notebooks import copy_notebooks

    folder = tmp_path_factory.mktemp("work")
    (folder / "data").symlink_to(ROOT / "data", target_is_directory=True)
    copies = copy_notebooks(folder)
    assert [p.name for p in copies] == [p.name for p in NOTEBOOKS]
    return folder


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, workdir: Path, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    where = workdir / "notebooks"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(where)}}).execute()
    assert not (ROOT / "slmprofile" / "out").exists(), "outputs land in the working folder's out/, not the package"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook should show its plots"
    (tmp_path / path.name).write_text(json.dumps(nb), encoding="utf-8")


def test_notebook_cells_only_call_the_package() -> None:
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                assert len(src.splitlines()) <= 12, f"{path.name}: a long cell belongs in slmprofile/"
                assert "def " not in src and "class " not in src, f"{path.name}: logic belongs in slmprofile/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_one_parameters_cell_that_params_land_after(path: Path) -> None:
    """papermill's convention: one code cell tagged ``parameters``; ``notebooks render -p`` injects after it."""
    import nbformat

    from slmprofile.notebooks import inject_params

    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and nb.cells[tagged[0]].cell_type == "code", path.name
    inject_params(nb, {"OUT_DIR": "elsewhere"}, name=path.name)
    assert "injected-parameters" in nb.cells[tagged[0] + 1].metadata["tags"]
    assert "OUT_DIR = 'elsewhere'" in nb.cells[tagged[0] + 1].source
