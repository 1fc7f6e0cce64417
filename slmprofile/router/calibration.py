"""Calibration of routing scores into ``p_slm`` and the routing threshold on it.

Centred isotonic regression (piecewise linear, as the exported ONNX graph computes it) or Platt scaling, fitted on
out-of-fold scores; their cross-fitted Brier score (to choose between them); and the threshold on ``p_slm`` that
meets a quality or an SLM-share target.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .head_math import numpy_ops, platt_calibration, ramp_calibration, ramp_knots

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)


def centered_isotonic(x: Any, y: Any, w: Any | None = None, *, min_gap: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Centred isotonic regression: knots ``(xs, ys)`` of an increasing piecewise-linear fit of ``y`` on ``x``.

    Pool-adjacent-violators blocks, each replaced by its (weighted) centre; the fit interpolates linearly between
    centres and is flat outside them, so it is strictly increasing across its range (no ties introduced inside).
    Knots closer than ``min_gap`` times the score range are merged (keeps slopes finite in float32).
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    _, start = np.unique(x, return_index=True)
    blocks = [[ws, ys, xs] for ws, ys, xs in zip(np.add.reduceat(w, start), np.add.reduceat(w * y, start),
                                                  np.add.reduceat(w * x, start))]
    stack: list[list[float]] = []
    for block in blocks:
        stack.append(block)
        while len(stack) >= 2 and stack[-2][1] / stack[-2][0] >= stack[-1][1] / stack[-1][0]:
            last = stack.pop()
            for k in range(3):
                stack[-1][k] += last[k]
    gap = min_gap * max(float(x[-1] - x[0]), 1e-12)
    merged: list[list[float]] = []
    for block in stack:
        if merged and block[2] / block[0] - merged[-1][2] / merged[-1][0] < gap:
            for k in range(3):
                merged[-1][k] += block[k]
        else:
            merged.append(list(block))
    xs = np.array([b[2] / b[0] for b in merged])
    ys = np.clip(np.array([b[1] / b[0] for b in merged]), 0.0, 1.0)
    if len(xs) == 1:
        xs = np.array([xs[0] - 0.5, xs[0] + 0.5])
        ys = np.array([ys[0], ys[0]])
    return xs, np.maximum.accumulate(ys)


def interp_calibration(score: Any, xs: Any, ys: Any) -> np.ndarray:
    """The piecewise-linear calibration as the ONNX graph computes it (float32): a sum of clipped ramps."""
    import numpy as np

    knots = ramp_knots(xs, ys)
    return ramp_calibration(numpy_ops(), np.asarray(score, dtype=np.float32), **knots).astype(np.float32)


def calibration_fit(kind: str, score: Any, ok: Any, w: Any) -> dict[str, Any]:
    """Parameters of calibration ``kind`` (``isotonic``: knots ``x``/``y``; ``platt``: ``a``, ``b``) fitted on
    ``score`` -> ``ok`` (nothing lost on the SLM) with weights ``w``."""
    import numpy as np

    if kind == "isotonic":
        xs, ys = centered_isotonic(score, ok, w)
        return {"x": xs.astype(np.float32), "y": ys.astype(np.float32)}
    from sklearn.linear_model import LogisticRegression

    hard = (np.asarray(ok) >= 0.5).astype(int)
    if len(np.unique(hard)) < 2:  # one outcome only: a flat map at its rate
        return {"a": np.float32(0.0), "b": np.float32(8.0 if hard[0] else -8.0)}
    model = LogisticRegression(C=1e4, max_iter=2000).fit(np.asarray(score)[:, None], hard, sample_weight=w)
    return {"a": np.float32(model.coef_[0, 0]), "b": np.float32(model.intercept_[0])}


def calibration_apply(kind: str, params: dict[str, Any], score: Any) -> np.ndarray:
    """``p_slm`` from raw scores, float32, as the exported graph computes it."""
    import numpy as np

    if kind == "isotonic":
        return interp_calibration(score, params["x"], params["y"])
    return platt_calibration(numpy_ops(), np.asarray(score, np.float32), a=params["a"], b=params["b"]).astype(np.float32)


def crossfit_brier(kind: str, score: np.ndarray, ok: np.ndarray, w: np.ndarray,
                   folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Brier score of calibration ``kind`` fitted on the other folds' scores, on each fold's prompts."""
    import numpy as np

    p = np.zeros(len(score))
    for train_idx, test_idx in folds:
        params = calibration_fit(kind, score[train_idx], ok[train_idx], w[train_idx])
        p[test_idx] = calibration_apply(kind, params, score[test_idx])
    return float(np.average((p - ok) ** 2, weights=w))


def choose_threshold(p: np.ndarray, ok: np.ndarray, w: np.ndarray, *, target: str,
                     target_value: float) -> tuple[float, bool]:
    """Threshold on ``p_slm`` for the target -> ``(threshold, reached)``.

    ``target="share"``: the lowest threshold keeping at least ``target_value`` of the (weighted) traffic on the SLM;
    ``"quality"``: the lowest one whose kept traffic (at least 20 prompts or 1 %) has ``target_value`` success
    (``ok``); when none does, everything goes to the frontier (threshold above 1, ``reached`` False).
    """
    import numpy as np

    order = np.argsort(-p, kind="stable")
    ps, oks, ws = p[order], ok[order], w[order]
    ends = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])  # last index of each tie group
    kept_w = np.cumsum(ws)[ends]
    share = kept_w / ws.sum()
    if target == "share":
        i = int(np.searchsorted(share, target_value - 1e-12))
        i = min(i, len(ends) - 1)
        return float(ps[ends[i]]), True
    success = np.cumsum(ws * oks)[ends] / kept_w
    min_kept = max(20.0, 0.01 * ws.sum())
    good = np.flatnonzero((success >= target_value) & (kept_w >= min_kept))
    if not len(good):
        logger.warning("no threshold reaches %.1f%% success on the SLM; routing everything to the frontier",
                       100 * target_value)
        return 1.0 + 1e-6, False
    return float(ps[ends[good[-1]]]), True
