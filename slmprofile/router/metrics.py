"""Cost-quality metrics of a router, as in the RouteLLM paper (Ong et al., 2024).

A router sends each call either to the small model (SLM, "weak") or to the frontier model ("strong"). Sweeping
its threshold traces a curve of **quality** (share of calls answered correctly) against the **share of calls sent
to the frontier model** (the cost proxy). Calls are sent to the frontier model in increasing order of the router's
``slm_score`` (the lower, the sooner); tied scores are split in expectation (the curve is linear across a tie), so a
router that scores everything alike traces exactly the random-routing diagonal.

- ``PGR(x) = (q(x) - q_weak) / (q_strong - q_weak)``: performance gap recovered at strong-call share ``x``;
  0 = weak-only quality, 1 = strong-only quality (it can exceed 1 where the SLM beats the frontier on some calls).
- ``APGR``: the area under PGR over ``x`` in [0, 1] (random routing 0.5).
- ``CPT(p)``: the smallest strong-call share at which PGR reaches ``p`` (lower is better).
- ``hull AUC``: the area under the upper convex hull of the (x, PGR) points: what mixing two thresholds at random
  could reach (the RouterBench "AIQ" on the PGR scale).

All functions take numpy-compatible arrays and return floats or small dataclasses; nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ..plotting import plain_text

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: PGR levels reported as CPT(p).
CPT_LEVELS = (0.5, 0.8)


@dataclass
class RoutingCurve:
    """A router's cost-quality curve: ``strong_share[i]`` of calls to the frontier model gives ``quality[i]``.

    ``thresholds[i]`` is the ``slm_score`` at and above which calls go to the SLM at that point (``inf`` at
    ``strong_share`` 1). Points are the ends of tie groups; the curve is linear between them.
    """

    strong_share: Any
    quality: Any
    thresholds: Any
    q_weak: float
    q_strong: float

    @property
    def pgr(self) -> Any:
        """Performance gap recovered at each point (see module docs)."""
        gap = self.q_strong - self.q_weak
        if abs(gap) < 1e-12:
            raise ValueError("PGR is undefined: the SLM and the frontier model have the same quality on these calls")
        return (self.quality - self.q_weak) / gap


def _check(slm_score: Any, slm_correct: Any, frontier_correct: Any) -> tuple[Any, Any, Any]:
    import numpy as np

    s = np.asarray(slm_score, dtype=np.float64).ravel()
    w = np.asarray(slm_correct, dtype=np.float64).ravel()
    f = np.asarray(frontier_correct, dtype=np.float64).ravel()
    if not (len(s) == len(w) == len(f)):
        raise ValueError(f"slm_score, slm_correct and frontier_correct must have the same length; got {len(s)}, "
                         f"{len(w)} and {len(f)}")
    if len(s) == 0:
        raise ValueError("cannot evaluate a router on zero calls")
    for name, arr in (("slm_score", s), ("slm_correct", w), ("frontier_correct", f)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} has missing or non-finite values: evaluate on labelled calls only")
    return s, w, f


def _trapezoid(y: Any, x: Any) -> float:
    import numpy as np

    trap = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz
    return float(trap(y, x))


def routing_curve(slm_score: Any, slm_correct: Any, frontier_correct: Any) -> RoutingCurve:
    """The cost-quality curve of routing by ``slm_score`` (higher = SLM) on calls with both outcomes known.

    ``slm_correct`` / ``frontier_correct``: 0/1 (or a score in [0, 1]) per call, shape ``(n,)``.
    """
    import numpy as np

    s, w, f = _check(slm_score, slm_correct, frontier_correct)
    n = len(s)
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    gain = (f - w)[order]
    ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])  # last index of each tie group
    cum_gain = np.cumsum(gain)[ends]
    share = np.r_[0.0, (ends + 1) / n]
    quality = (w.sum() + np.r_[0.0, cum_gain]) / n
    # threshold at point i: calls with score >= thresholds[i] stay on the SLM
    next_scores = np.r_[s_sorted[ends[:-1] + 1], np.inf] if len(ends) > 1 else np.array([np.inf])
    thresholds = np.r_[s_sorted[0], next_scores]
    return RoutingCurve(strong_share=share, quality=quality, thresholds=thresholds,
                        q_weak=float(w.mean()), q_strong=float(f.mean()))


def apgr(curve: RoutingCurve) -> float:
    """Average performance gap recovered: the area under PGR over strong-call share [0, 1]."""
    return float(_trapezoid(curve.pgr, curve.strong_share))


def cpt(curve: RoutingCurve, level: float) -> float:
    """Call-performance threshold: the smallest strong-call share at which PGR reaches ``level`` (0-1)."""
    import numpy as np

    pgr = curve.pgr
    x = curve.strong_share
    if pgr[0] >= level:
        return 0.0
    above = np.flatnonzero(pgr >= level)
    if not len(above):  # PGR(1) == 1, so only levels above 1 get here
        return float("nan")
    j = int(above[0])
    i = j - 1
    frac = (level - pgr[i]) / (pgr[j] - pgr[i])
    return float(x[i] + frac * (x[j] - x[i]))


def hull_auc(curve: RoutingCurve) -> float:
    """Area under the upper convex hull of the (strong share, PGR) points."""
    import numpy as np

    pts = list(zip(curve.strong_share.tolist(), curve.pgr.tolist()))
    hull: list[tuple[float, float]] = []
    for p in pts:  # monotone chain, upper hull, x already sorted ascending
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    hx, hy = np.array(hull).T
    return float(_trapezoid(hy, hx))


def quality_at(curve: RoutingCurve, strong_share: float) -> float:
    """Quality when ``strong_share`` of calls go to the frontier model (linear within ties)."""
    import numpy as np

    return float(np.interp(strong_share, curve.strong_share, curve.quality))


@dataclass
class RouterScore:
    """Summary of one router's curve."""

    name: str
    apgr: float
    cpt: dict[float, float]
    hull_auc: float
    curve: RoutingCurve = field(repr=False)

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {"router": self.name, "apgr": self.apgr}
        for level, value in self.cpt.items():
            out[f"cpt{round(level * 100)}"] = value
        out["hull_auc"] = self.hull_auc
        return out


def score_router(name: str, slm_score: Any, slm_correct: Any, frontier_correct: Any,
                 levels: tuple[float, ...] = CPT_LEVELS) -> RouterScore:
    """APGR, CPT at ``levels`` and hull AUC of routing by ``slm_score``."""
    curve = routing_curve(slm_score, slm_correct, frontier_correct)
    return RouterScore(name=name, apgr=apgr(curve), cpt={lv: cpt(curve, lv) for lv in levels},
                       hull_auc=hull_auc(curve), curve=curve)


def oracle_scores(slm_correct: Any, frontier_correct: Any) -> Any:
    """Scores of the oracle: calls only the frontier gets right go to it first, calls only the SLM gets right last."""
    import numpy as np

    w = np.asarray(slm_correct, dtype=np.float64)
    f = np.asarray(frontier_correct, dtype=np.float64)
    return w - f


def group_oracle_scores(groups: Any, slm_correct: Any, frontier_correct: Any) -> Any:
    """Scores of a group-level oracle: every call gets its group's true mean ``slm_correct - frontier_correct`` (on
    the calls scored), so groups go to the frontier model in order of their real gap and calls within a group are
    tied. What a router could reach by knowing only how hard each task type (subject) is for the SLM."""
    import numpy as np

    g = np.asarray(groups).astype(str)
    gain = np.asarray(slm_correct, dtype=np.float64) - np.asarray(frontier_correct, dtype=np.float64)
    if len(g) != len(gain):
        raise ValueError(f"groups and outcomes must have the same length; got {len(g)} and {len(gain)}")
    _, inverse = np.unique(g, return_inverse=True)
    means = np.bincount(inverse, weights=gain) / np.bincount(inverse)
    return means[inverse]


def random_scores(n: int) -> Any:
    """Scores of random routing in expectation: all tied, so the curve is the exact diagonal."""
    import numpy as np

    return np.zeros(n)


def evaluate_routers(scores: Mapping[str, Any], slm_correct: Any, frontier_correct: Any, *,
                     baselines: bool = True, levels: tuple[float, ...] = CPT_LEVELS,
                     ) -> tuple[pl.DataFrame, dict[str, RouterScore]]:
    """Score several routers on the same calls -> (table, scores by name).

    The table has one row per router (``router, apgr, cpt50, cpt80, hull_auc, kind``) plus, with ``baselines``,
    ``random`` and ``oracle`` curves and the ``always-slm`` / ``always-frontier`` points (their quality in
    ``quality``; strong share 0 and 1).
    """
    import numpy as np
    import polars as pl

    w = np.asarray(slm_correct, dtype=np.float64)
    f = np.asarray(frontier_correct, dtype=np.float64)
    results: dict[str, RouterScore] = {}
    all_scores = dict(scores)
    if baselines:
        all_scores.setdefault("random", random_scores(len(w)))
        all_scores.setdefault("oracle", oracle_scores(w, f))
    for name, s in all_scores.items():
        results[name] = score_router(name, s, w, f, levels)
    rows = []
    for name, res in results.items():
        row = res.row()
        row["kind"] = "baseline" if name in ("random", "oracle") or name.startswith("knn") else "router"
        row["quality_at_50"] = quality_at(res.curve, 0.5)
        rows.append(row)
    if baselines:
        nan = float("nan")
        for name, q, share in (("always-slm", float(w.mean()), 0.0), ("always-frontier", float(f.mean()), 1.0)):
            row = {"router": name, "apgr": nan, **{f"cpt{round(lv * 100)}": nan for lv in levels},
                   "hull_auc": nan, "kind": "baseline", "quality_at_50": nan}
            row["strong_share"] = share
            row["quality"] = q
            rows.append(row)
    table = pl.DataFrame(rows, infer_schema_length=None)
    return table, results


@plain_text
def plot_curves(results: Mapping[str, RouterScore], path: str | Any, *, title: str = "router cost-quality curve",
                ) -> Any:
    """Quality vs strong-call share for each router (PNG at ``path``); returns the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax_q, ax_p) = plt.subplots(1, 2, figsize=(11, 4.2))
    any_curve = next(iter(results.values())).curve
    for name, res in results.items():
        style = {"random": dict(color="grey", ls="--"), "oracle": dict(color="black", ls=":")}.get(name, {})
        label = f"{name} (APGR {res.apgr:.3f})"
        ax_q.plot(res.curve.strong_share, res.curve.quality, label=label, **style)
        ax_p.plot(res.curve.strong_share, res.curve.pgr, label=label, **style)
    ax_q.scatter([0, 1], [any_curve.q_weak, any_curve.q_strong], color="red", zorder=5)
    ax_q.annotate("always SLM", (0, any_curve.q_weak), textcoords="offset points", xytext=(5, -12))
    ax_q.annotate("always frontier", (1, any_curve.q_strong), textcoords="offset points", xytext=(-80, 6))
    ax_q.set(xlabel="share of calls sent to the frontier model", ylabel="quality (share correct)", title=title)
    ax_p.set(xlabel="share of calls sent to the frontier model", ylabel="PGR", title="performance gap recovered")
    for level in CPT_LEVELS:
        ax_p.axhline(level, color="lightgrey", lw=0.8)
    ax_p.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
