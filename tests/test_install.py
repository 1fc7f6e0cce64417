"""Installs: the extras keep the two onnxruntime wheels apart, every imported package is declared, the wheel carries
the notebooks and runs from a fresh virtual environment, and the runtime extra routes without PyTorch.

Nothing here downloads: a fresh environment sees exactly the distributions an install would bring (the resolved
closure of the requirements, taken from this environment) through a ``.pth`` file, and the wheel itself is built with
``--no-build-isolation`` from the setuptools installed by the ``dev`` extra.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
import venv
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def declared(*extras: str) -> set[str]:
    """Distribution names that ``pip install 'slmprofile[EXTRAS]'`` asks for directly (self-references expanded)."""
    from packaging.requirements import Requirement

    out: set[str] = set()
    todo, seen = [None, *extras], set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for line in PYPROJECT["dependencies"] if extra is None else PYPROJECT["optional-dependencies"][extra]:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": extra or ""}):
                continue
            if _name(line) == "slmprofile":
                todo.extend(req.extras)
            else:
                out.add(_name(line))
    return out


def closure(names: set[str]) -> set[str]:
    """``names`` and everything they require at run time, as installed here, with the extras each requirement asks
    for (``bleach[css]`` brings tinycss2)."""
    from packaging.requirements import Requirement

    out: set[str] = set()
    done: set[tuple[str, str]] = set()
    todo = [(name, "") for name in names]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in done:
            continue
        done.add((name, extra))
        out.add(name)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo.append((_name(line), ""))
                todo.extend((_name(line), e) for e in req.extras)
    return out


def test_extras_keep_the_cpu_and_gpu_onnxruntime_apart_and_the_runtime_light() -> None:
    base = declared()
    assert base == {"numpy", "tokenizers", "typer", "rich"}
    assert declared("cpu") == base | {"onnxruntime"}
    assert declared("gpu") == base | {"onnxruntime-gpu"}
    full, full_gpu = declared("full"), declared("full-gpu")
    assert {"torch", "polars", "onnxruntime"} <= full and "onnxruntime-gpu" not in full
    assert {"torch", "polars", "onnxruntime-gpu"} <= full_gpu and "onnxruntime" not in full_gpu
    assert full - {"onnxruntime"} == full_gpu - {"onnxruntime-gpu"}
    for extra in ("serve", "scale", "dev"):
        names = declared(extra)
        assert not {"onnxruntime", "onnxruntime-gpu"} <= names, extra
    # what the runtime extra brings, all of it, has no PyTorch, polars or scikit-learn in it
    assert not closure(declared("cpu")) & {"torch", "polars", "scikit-learn", "transformers", "sentence-transformers"}


def _imported_top_level_modules() -> set[str]:
    names = set()
    for path in (ROOT / "slmprofile").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"slmprofile", "__future__"}


def test_every_imported_package_is_declared_and_each_missing_one_has_an_install_hint() -> None:
    from slmprofile.deps import install_hint

    owners = metadata.packages_distributions()
    everything = declared("full", "serve", "scale", "gpu")
    undeclared = {}
    for module in sorted(_imported_top_level_modules()):
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(module, [])}
        if not dists & everything:
            undeclared[module] = sorted(dists)
        # a module the base install lacks gets a one-line hint naming the extra that brings it
        if not dists & closure(declared()):
            assert install_hint(module), module
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def shim_environment(folder: Path, dists: set[str]) -> Path:
    """A fresh virtual environment that sees exactly ``dists`` (and what they require) from this environment: their
    files are linked into one folder that a ``.pth`` file puts on ``sys.path``. Returns its python."""
    venv.EnvBuilder(with_pip=False).create(folder / "venv")
    python = folder / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    shim = folder / "shim"
    shim.mkdir()
    prefix = Path(sys.prefix).resolve()
    for name in sorted(closure(dists)):
        dist = metadata.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            source = Path(str(dist.locate_file(top)))
            if top in ("..", "__pycache__") or not source.exists() or (shim / top).exists():
                continue
            (shim / top).symlink_to(source)
        for file in dist.files or []:  # data files outside site-packages (nbconvert's templates in share/jupyter)
            source = Path(str(dist.locate_file(file))).resolve()
            if file.parts[0] != ".." or not source.is_relative_to(prefix / "share") or not source.is_file():
                continue
            target = folder / "venv" / source.relative_to(prefix)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(source)
    (site / "_shim.pth").write_text(str(shim) + "\n", encoding="utf-8")
    return python


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [path] = out.glob("slmprofile-*.whl")
    return path


def test_the_wheel_carries_the_notebooks_and_runs_from_a_fresh_environment(wheel: Path, tmp_path: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    bundled = sorted(p.name for p in (ROOT / "slmprofile" / "notebooks").glob("*.ipynb"))
    assert len(bundled) >= 6
    assert sorted(n.rsplit("/", 1)[-1] for n in names if n.startswith("slmprofile/notebooks/") and
                  n.endswith(".ipynb")) == bundled
    assert any(n.startswith("slmprofile/report/templates/") for n in names)

    python = shim_environment(tmp_path, declared("full"))
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                          str(wheel)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    work = tmp_path / "work"
    work.mkdir()
    script = python.parent / "slmprofile"

    def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(script), *args], cwd=work, capture_output=True, text=True, timeout=timeout,
                              env=_clean_env())
        assert proc.returncode == 0, f"slmprofile {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    where = subprocess.run([str(python), "-c", "import slmprofile; print(slmprofile.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "venv") in where, where  # the wheel's copy, not this checkout
    from slmprofile.version import __version__

    assert __version__ in cli("--version").stdout
    cli("sample", "--out", "data", "--n-calls", "400")
    import json

    done = cli("run", "data/logs", "--out", "out/run", "--no-router", "--json")
    summary = json.loads(done.stdout)  # stdout holds the JSON alone: progress went to stderr
    assert summary["ingest"]["rows_read"] >= 400 and summary["distinct_prompts"] > 100
    assert len(summary["task_types"]) >= 5 and all("verdict" in t for t in summary["task_types"])
    assert "== ingest" in done.stderr
    from slmprofile.rundir import RunDir

    assert RunDir(work / "out" / "run").report.is_file()
    cli("notebooks", "render", "-n", "01_ingest_and_explore", "--out", "html")
    assert (work / "notebooks" / "01_ingest_and_explore.ipynb").is_file()  # copied into the working folder to run
    page = (work / "html" / "01_ingest_and_explore.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in page and "Traceback" not in page


def test_the_runtime_extra_alone_routes_with_an_exported_router_without_torch(wheel: Path, tmp_path: Path,
                                                                                tmp_path_factory, embedder) -> None:
    from test_router import build_sample_artifact

    directory, _ = build_sample_artifact(tmp_path_factory.getbasetemp(), embedder)
    python = shim_environment(tmp_path, declared("cpu"))
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                          str(wheel)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    code = (
        "import importlib.util, json, sys\n"
        "from slmprofile.runtime import Router\n"
        f"router = Router.load({str(directory)!r}, threads=1)\n"
        "result = router.route(['Classify the sentiment of this review: great product', 'Prove sqrt(2) is irrational'])\n"
        "missing = [m for m in ('torch', 'polars', 'sklearn', 'transformers') if importlib.util.find_spec(m) is None]\n"
        "print(json.dumps({'missing': missing, 'decisions': result.decisions, 'p': result.p_slm.tolist()}))\n"
    )
    proc = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=_clean_env())
    assert proc.returncode == 0, proc.stderr
    import json

    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    assert payload["missing"] == ["torch", "polars", "sklearn", "transformers"]  # not installed at all, not just unused
    assert len(payload["decisions"]) == 2 and all(0 <= p <= 1 for p in payload["p"])
    # the same router from the full install decides the same
    from slmprofile.runtime import Router

    here = Router.load(directory, threads=1).route(['Classify the sentiment of this review: great product',
                                                   'Prove sqrt(2) is irrational'])
    assert here.decisions == payload["decisions"]
    # a profiling command in that install ends in one line naming the extra, not a traceback
    cli = subprocess.run([str(python.parent / "slmprofile"), "ingest", str(ROOT / "data" / "logs")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=_clean_env())
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1 and "slmprofile[full]" in cli.stderr, cli.stderr
    assert subprocess.run([str(python.parent / "slmprofile"), "--version"], capture_output=True, text=True,
                          env=_clean_env()).returncode == 0
