"""slmprofile: find which of your LLM calls a small language model could take, from your own logs.

The public API is re-exported lazily so that ``import slmprofile`` stays fast and imports neither polars nor torch:

>>> import slmprofile
>>> result = slmprofile.ingest(["data/logs"])            # doctest: +SKIP
>>> vectors = slmprofile.Embedder().encode(["hello"])    # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .version import __version__

_EXPORTS = {
    "ingest": "slmprofile.ingest",
    "IngestResult": "slmprofile.ingest",
    "IngestReport": "slmprofile.ingest",
    "FORMATS": "slmprofile.ingest",
    "redact": "slmprofile.redact",
    "find_pii": "slmprofile.redact",
    "redact_frame": "slmprofile.redact",
    "Embedder": "slmprofile.embed",
    "embed_prompts": "slmprofile.embed",
    "assign_templates": "slmprofile.templates",
    "generate_sample": "slmprofile.sample",
    "discover_task_types": "slmprofile.cluster",
    "TaskTypeClusterer": "slmprofile.cluster",
    "assess_suitability": "slmprofile.suitability",
    "SuitabilityEstimator": "slmprofile.suitability",
    "run_shadow": "slmprofile.shadow",
    "LLMRunner": "slmprofile.llm",
    "estimate_savings": "slmprofile.savings",
    "savings_from_run": "slmprofile.savings",
    "train_router": "slmprofile.router",
    "export_router": "slmprofile.router",
    "write_report": "slmprofile.report",
    "render_notebooks": "slmprofile.notebooks",
    "run": "slmprofile.pipeline",
    "IngestError": "slmprofile.errors",
    "SlmprofileError": "slmprofile.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import TaskTypeClusterer, discover_task_types
    from .embed import Embedder, embed_prompts
    from .errors import IngestError, SlmprofileError
    from .ingest import FORMATS, IngestReport, IngestResult, ingest
    from .llm import LLMRunner
    from .notebooks import render_notebooks
    from .pipeline import run
    from .redact import find_pii, redact, redact_frame
    from .report import write_report
    from .router import export_router, train_router
    from .sample import generate_sample
    from .savings import estimate_savings, savings_from_run
    from .shadow import run_shadow
    from .suitability import SuitabilityEstimator, assess_suitability
    from .templates import assign_templates


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slmprofile' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
