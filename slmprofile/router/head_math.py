"""The router head's maths, written once for numpy (fitting, validation, the static path) and torch (the module the
ONNX graph is exported from).

From a prompt's pooled, unit-norm embedding ``emb`` and its word-piece count ``n``:

- logits per head: ``z = emb @ E + log1p(n) / log1p(max_length) @ L + b`` (+ the bag of word pieces
  ``sum(B[id]) / sqrt(max(n, 1))``);
- routing score: ``sigmoid(z) @ mix`` with ``mix = (1, -frontier_weight)`` (higher = keep on the SLM);
- ``p_slm``: the score through the calibration (a sum of clipped ramps, or Platt's sigmoid);
- novelty: ``1 - max cosine similarity`` to the training centroids.

Each function takes an ops namespace (:func:`numpy_ops` or :func:`torch_ops`) for the few operations the two array
libraries spell differently; everything else is ``@``, ``+``, ``*``, ``/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Callable


@dataclass(frozen=True)
class Ops:
    """The array operations the head needs beyond arithmetic."""

    sigmoid: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    clamp_min: Callable[[Any, float], Any]
    minimum: Callable[[Any, Any], Any]
    row_max: Callable[[Any], Any]
    row_sum: Callable[[Any], Any]


@cache
def numpy_ops() -> Ops:
    """The numpy spelling."""
    import numpy as np

    return Ops(sigmoid=lambda x: 1.0 / (1.0 + np.exp(-x)), log1p=np.log1p, sqrt=np.sqrt,
               clamp_min=lambda x, v: np.maximum(x, np.asarray(v, dtype=x.dtype)),
               minimum=np.minimum, row_max=lambda x: x.max(axis=1), row_sum=lambda x: x.sum(axis=1))


@cache
def torch_ops() -> Ops:
    """The torch spelling."""
    import torch

    return Ops(sigmoid=torch.sigmoid, log1p=torch.log1p, sqrt=torch.sqrt, clamp_min=lambda x, v: torch.clamp(x, min=v),
               minimum=torch.minimum, row_max=lambda x: x.max(dim=1).values, row_sum=lambda x: x.sum(dim=1))


def head_logits(ops: Ops, emb: Any, n_tokens: Any, *, emb_coef_t: Any, len_coef_t: Any, intercept: Any,
                log_max: float, bow_sum: Any = None) -> Any:
    """``(batch, heads)`` logits. ``emb_coef_t`` ``(dim, heads)``, ``len_coef_t`` ``(1, heads)``; ``n_tokens`` is the
    ``(batch, 1)`` word-piece count and ``bow_sum`` the ``(batch, heads)`` sum of each piece's bag weights."""
    z = emb @ emb_coef_t + (ops.log1p(n_tokens) / log_max) @ len_coef_t + intercept
    if bow_sum is not None:
        z = z + bow_sum / ops.sqrt(ops.clamp_min(n_tokens, 1.0))
    return z


def head_score(ops: Ops, logits: Any, mix: Any) -> Any:
    """The routing score: the heads' probabilities mixed, ``sigmoid(z) @ mix``."""
    return ops.sigmoid(logits) @ mix


def ramp_calibration(ops: Ops, score: Any, *, knots: Any, width: Any, slope: Any, y0: float) -> Any:
    """Piecewise-linear (isotonic) calibration as a sum of clipped ramps: ``y0 + sum(min(relu(s - x_i), w_i) * k_i)``."""
    ramps = ops.minimum(ops.clamp_min(score[:, None] - knots, 0.0), width)
    return y0 + ops.row_sum(ramps * slope)


def platt_calibration(ops: Ops, score: Any, *, a: float, b: float) -> Any:
    """Platt scaling: ``sigmoid(a * s + b)``."""
    return ops.sigmoid(a * score + b)


def novelty(ops: Ops, emb: Any, centroids_t: Any) -> Any:
    """``1 - max cosine similarity`` of unit-norm ``emb`` to the unit-norm centroids (``centroids_t``: ``(dim, k)``)."""
    return 1.0 - ops.row_max(emb @ centroids_t)


def mix_vector(names: list[str], frontier_weight: float) -> Any:
    """``mix`` of :func:`head_score` (float32): +1 for the ``slm`` head, ``-frontier_weight`` for the ``frontier`` one."""
    import numpy as np

    return np.array([1.0 if n == "slm" else -frontier_weight for n in names], dtype=np.float32)


def ramp_knots(xs: Any, ys: Any) -> dict[str, Any]:
    """The arguments of :func:`ramp_calibration` (float32 numpy) from the isotonic knots ``(xs, ys)``."""
    import numpy as np

    xs = np.asarray(xs, dtype=np.float32)
    ys = np.asarray(ys, dtype=np.float32)
    width = np.diff(xs)
    return {"knots": xs[:-1].copy(), "width": width, "slope": (np.diff(ys) / width).astype(np.float32),
            "y0": float(ys[0])}
