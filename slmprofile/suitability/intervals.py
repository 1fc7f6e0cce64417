"""Wilson intervals, verdicts, the sample sizes that would decide them, and the SLM share a score threshold keeps."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

DEFAULT_TARGET = 0.95
DEFAULT_CONFIDENCE = 0.95
VERDICTS = ("slm", "frontier", "undecided", "unassigned")


def z_value(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Two-sided normal quantile for ``confidence`` (1.96 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError(f"The 'confidence' parameter must be in (0, 1); got {confidence!r} instead.")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(k: float, n: float, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (``(0, 1)`` when ``n`` is 0); counts may be fractional."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = min(max(k / n, 0.0), 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(centre - half, 0.0), min(centre + half, 1.0)


def decide(lo: float, hi: float, target: float) -> str:
    """``slm`` when ``lo >= target``, ``frontier`` when ``hi < target``, else ``undecided``."""
    if lo >= target:
        return "slm"
    if hi < target:
        return "frontier"
    return "undecided"


def samples_to_decide(rate: float, target: float, confidence: float = DEFAULT_CONFIDENCE, *,
                      max_n: int = 10**7) -> int | None:
    """The smallest sample size at which a Wilson interval around ``rate`` excludes ``target`` (so the verdict is
    decided if the rate holds); None when ``rate`` equals the target or more than ``max_n`` would be needed."""
    if not 0 <= rate <= 1 or math.isclose(rate, target, abs_tol=1e-9):
        return None

    def decided(n: int) -> bool:
        lo, hi = wilson_interval(rate * n, n, confidence)
        return lo >= target if rate > target else hi < target

    hi_n = 1
    while not decided(hi_n):
        hi_n *= 2
        if hi_n > max_n:
            return None
    lo_n = hi_n // 2
    while lo_n + 1 < hi_n:
        mid = (lo_n + hi_n) // 2
        lo_n, hi_n = (lo_n, mid) if decided(mid) else (mid, hi_n)
    return hi_n


def kept_share(y: np.ndarray, s: np.ndarray | None, target: float, *, confidence: float = DEFAULT_CONFIDENCE,
               min_kept: int = 10, population: np.ndarray | None = None) -> tuple[float, float, float, float | None]:
    """(share, share_lo, share_hi, threshold): the largest top share of calls by score ``s`` whose outcomes ``y``
    reach ``target`` by point estimate (share), by Wilson lower bound (share_lo) and by Wilson upper bound
    (share_hi); ties in ``s`` are kept or dropped together, no score keeps all or nothing. ``population``: scores of
    all the task type's calls (the shares are then over them, else over the evaluated calls). The threshold is the
    point share's lowest kept score (None when all or none are kept)."""
    import numpy as np

    y = np.asarray(y, bool)
    n = len(y)
    if n == 0:
        return 0.0, 0.0, 0.0, None
    if s is None or np.isnan(np.asarray(s, float)).all():
        order = np.arange(n)
        cuts = np.array([n])
        sv = np.zeros(n)
    else:
        sv = np.nan_to_num(np.asarray(s, float), nan=-np.inf)
        order = np.argsort(-sv, kind="stable")
        ss = sv[order]
        cuts = np.array([j for j in range(1, n + 1) if j == n or ss[j] < ss[j - 1]])
    cum = np.cumsum(y[order])
    best = {"point": 0, "lo": 0, "hi": 0}
    for j in cuts:
        kj = float(cum[j - 1])
        lo, hi = wilson_interval(kj, j, confidence)
        if j >= min_kept and kj / j >= target:
            best["point"] = j
        if lo >= target:
            best["lo"] = j
        if j >= min_kept and hi >= target:
            best["hi"] = j

    def share(j: int) -> tuple[float, float | None]:
        if j == 0:
            return 0.0, None
        if j == n:
            return 1.0, None
        thr = float(sv[order][j - 1])
        if population is not None and len(population):
            pop = np.asarray(population, float)
            return float(np.mean(pop >= thr)), thr
        return j / n, thr

    point, thr = share(best["point"])
    return point, share(best["lo"])[0], share(best["hi"])[0], thr
