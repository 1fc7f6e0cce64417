"""The router: train (frozen encoder + linear heads + calibration), evaluate (PGR/APGR/CPT), export ONNX, benchmark.

>>> from slmprofile.router import train_router, export_router        # doctest: +SKIP
>>> result = train_router(texts, slm_correct, frontier_correct, groups=task_types)   # doctest: +SKIP
>>> print(result.evaluation)                                           # router vs baselines, held out
>>> export_router(result.router, "out/router", training=...)          # doctest: +SKIP

The runtime that serves an exported router is :mod:`slmprofile.runtime` (numpy + onnxruntime + tokenizers).
Names are imported lazily: importing this package loads neither torch nor numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "SlmRouter": "slmprofile.router.train",
    "TrainResult": "slmprofile.router.train",
    "train_router": "slmprofile.router.train",
    "RouterFeatures": "slmprofile.router.features",
    "build_features": "slmprofile.router.features",
    "export_router": "slmprofile.router.export",
    "parity_report": "slmprofile.router.export",
    "ExportResult": "slmprofile.router.export",
    "routing_curve": "slmprofile.router.metrics",
    "apgr": "slmprofile.router.metrics",
    "cpt": "slmprofile.router.metrics",
    "hull_auc": "slmprofile.router.metrics",
    "evaluate_routers": "slmprofile.router.metrics",
    "plot_curves": "slmprofile.router.metrics",
    "knn_scores": "slmprofile.router.baselines",
    "logistic_scores": "slmprofile.router.baselines",
    "run_benchmark": "slmprofile.router.bench",
    "load_run_data": "slmprofile.router.data",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .baselines import knn_scores, logistic_scores
    from .bench import run_benchmark
    from .data import load_run_data
    from .export import ExportResult, export_router, parity_report
    from .features import RouterFeatures, build_features
    from .metrics import apgr, cpt, evaluate_routers, hull_auc, plot_curves, routing_curve
    from .train import SlmRouter, TrainResult, train_router


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slmprofile.router' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
