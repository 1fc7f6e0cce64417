"""Gated retraining: ``slmprofile router train OLD_RUN --from ROUTER_DIR --add NEW_RUN --out DIR``.

A router meets new traffic (see ``slmprofile drift``). Retraining takes the old outcomes plus the new window's
(escalated calls and shadow results included, as outcome columns of its logs), holds out a slice of the new window
(by prompt: a prompt is in the slice or not, never both), trains a candidate on the rest, exports it, and then routes
the held-out slice with the old router and the candidate, each at its own threshold (the one its training chose for
the target). The candidate is **promoted** only when it is non-inferior to the old router on both counts that the
target trades off, each judged by a one-sided bound from a paired bootstrap over the held-out prompts:

* quality of the routed traffic (the small model's outcome where it routes there, the frontier model's elsewhere):
  the lower bound of ``new - old`` is above ``-margin``;
* the share sent to the small model (what saves money): the lower bound of ``new - old`` is above
  ``-share_margin``.

Otherwise the old router stays and ``promotion.json`` says why; the candidate's files stay in ``DIR`` for a look.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..params import Interval, check_params

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .data import RouterData

PROMOTION_FILE = "promotion.json"


@dataclass
class PromotionSettings:
    """The gate.

    Attributes:
        holdout_share: share of the new window's prompts held out to compare the routers (never trained on).
        margin: how much quality of the routed traffic the candidate may lose (absolute) and still be promoted.
        share_margin: how much of the small-model share it may lose.
        confidence: of the one-sided bounds.
        n_boot: paired bootstrap resamples.
        seed: for the split and the bootstrap.
        int8: also export the int8 variant of the candidate.
    """

    holdout_share: float = 0.3
    margin: float = 0.01
    share_margin: float = 0.02
    confidence: float = 0.95
    n_boot: int = 2000
    seed: int = 0
    int8: bool = True

    _parameter_constraints = {
        "holdout_share": [Interval(float, 0.05, 0.9)], "margin": [Interval(float, 0, 1)],
        "share_margin": [Interval(float, 0, 1)], "confidence": [Interval(float, 0.5, 1, closed="neither")],
        "n_boot": [Interval(int, 100, None)], "seed": [Interval(int, 0, None)]}

    def check(self) -> PromotionSettings:
        check_params(self)
        return self


@dataclass
class RetrainResult:
    """What :func:`retrain_router` decided, with the evidence written to ``promotion.json``."""

    promoted: bool
    evidence: dict[str, Any]
    directory: Path
    files: dict[str, str] = field(default_factory=dict)


def promotion_decision(old_to_slm: Any, new_to_slm: Any, slm_correct: Any, frontier_correct: Any = None,
                       settings: PromotionSettings | None = None) -> dict[str, Any]:
    """Compare two routers' decisions on the same held-out prompts (see the module docstring): quality of the routed
    traffic and share sent to the small model, each ``new - old`` with a one-sided lower bound from a paired
    bootstrap; ``promote`` when both bounds clear their margins. ``frontier_correct`` None: the frontier model counts
    as right."""
    import numpy as np

    settings = (settings or PromotionSettings()).check()
    old = np.asarray(old_to_slm, dtype=bool)
    new = np.asarray(new_to_slm, dtype=bool)
    s = np.asarray(slm_correct, dtype=np.float64)
    f = np.ones_like(s) if frontier_correct is None else np.asarray(frontier_correct, dtype=np.float64)
    f = np.where(np.isfinite(f), f, 1.0)
    if not (len(old) == len(new) == len(s) == len(f)):
        raise ValueError("the decisions and outcomes must have one entry per held-out prompt")
    keep = np.isfinite(s)
    old, new, s, f = old[keep], new[keep], s[keep], f[keep]
    n = len(s)
    if n < 20:
        raise ValueError(f"only {n} held-out prompts with an outcome: too few to compare routers (need 20)")
    q_old, q_new = np.where(old, s, f), np.where(new, s, f)
    d_quality, d_share = q_new - q_old, new.astype(float) - old.astype(float)
    rng = np.random.default_rng(settings.seed)
    idx = rng.integers(0, n, size=(settings.n_boot, n))
    boot_q = d_quality[idx].mean(axis=1)
    boot_s = d_share[idx].mean(axis=1)
    alpha = 1 - settings.confidence
    lo_q, lo_s = float(np.quantile(boot_q, alpha)), float(np.quantile(boot_s, alpha))
    quality_ok, share_ok = lo_q > -settings.margin, lo_s > -settings.share_margin
    reasons = [
        (f"quality of the routed traffic {q_new.mean():.3f} against {q_old.mean():.3f} (new - old "
         f"{d_quality.mean():+.3f}, {settings.confidence:.0%} lower bound {lo_q:+.3f}: "
         + ("within" if quality_ok else "beyond") + f" the margin of -{settings.margin:g})"),
        (f"share to the small model {new.mean():.1%} against {old.mean():.1%} (new - old {d_share.mean():+.1%}, "
         f"lower bound {lo_s:+.1%}: " + ("within" if share_ok else "beyond") + f" the margin of "
         f"-{settings.share_margin:.0%})")]
    return {"promote": bool(quality_ok and share_ok), "n": int(n),
            "quality_old": float(q_old.mean()), "quality_new": float(q_new.mean()),
            "quality_change": float(d_quality.mean()), "quality_change_lower_bound": lo_q,
            "slm_share_old": float(old.mean()), "slm_share_new": float(new.mean()),
            "slm_share_change": float(d_share.mean()), "slm_share_change_lower_bound": lo_s,
            "margin": settings.margin, "share_margin": settings.share_margin, "confidence": settings.confidence,
            "n_boot": settings.n_boot, "reasons": reasons}


def _take(data: RouterData, rows: np.ndarray) -> RouterData:
    from dataclasses import replace

    def pick(values: Any) -> Any:
        if values is None:
            return None
        return values[rows] if hasattr(values, "shape") else [values[i] for i in rows.tolist()]

    return replace(data, texts=pick(data.texts), slm_correct=pick(data.slm_correct),
                   frontier_correct=pick(data.frontier_correct), embeddings=pick(data.embeddings),
                   groups=pick(data.groups), sample_weight=pick(data.sample_weight),
                   timestamps=pick(data.timestamps), templates=pick(data.templates))


def _concat(parts: Sequence[RouterData]) -> RouterData:
    import numpy as np

    from .data import RouterData

    def join(name: str) -> Any:
        values = [getattr(p, name) for p in parts]
        if any(v is None for v in values):
            return None
        if hasattr(values[0], "shape"):
            return np.concatenate(values)
        return [x for v in values for x in v]

    frontier = [p.frontier_correct if p.frontier_correct is not None else np.full(len(p.texts), np.nan)
                for p in parts]
    templates = [p.templates if p.templates is not None else [None] * len(p.texts) for p in parts]
    return RouterData(texts=join("texts"), slm_correct=join("slm_correct"), frontier_correct=np.concatenate(frontier),
                      embeddings=join("embeddings"), groups=None, sample_weight=join("sample_weight"),
                      timestamps=join("timestamps"), templates=[t for v in templates for t in v],
                      report={"parts": [p.report for p in parts]})


def split_by_prompt(texts: Sequence[str], share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (fit, held out): a prompt's every call on one side, about ``share`` of prompts held out."""
    import numpy as np

    cut = int(share * 10_000)
    held = np.array([int(hashlib.sha256(f"{seed}:{t}".encode()).hexdigest()[:8], 16) % 10_000 < cut for t in texts],
                    dtype=bool)
    return np.flatnonzero(~held), np.flatnonzero(held)


def retrain_router(old_source: str | Path, router_dir: str | Path, new_sources: Sequence[str | Path],
                   out_dir: str | Path, settings: PromotionSettings | None = None, *,
                   label_column: str = "slm_correct", frontier_column: str | None = "frontier_correct",
                   progress: bool = False) -> RetrainResult:
    """Retrain on ``old_source`` plus ``new_sources`` (run directories or logs Parquet files with outcome columns),
    export the candidate into ``out_dir`` and decide its promotion over the router in ``router_dir`` on a held-out
    slice of the new window; writes ``promotion.json`` into ``out_dir``."""
    import numpy as np

    from ..rundir import RunDir
    from ..runtime import Router
    from .data import load_run_data
    from .export import export_router
    from .train import SlmRouter, train_router

    settings = (settings or PromotionSettings()).check()
    out = Path(out_dir)
    current = Router.load(router_dir)
    read = dict(label_column=label_column, frontier_column=frontier_column, groups=None)
    old = load_run_data(old_source, **read)
    new = _concat([load_run_data(s, **read) for s in new_sources])
    fit_rows, held_rows = split_by_prompt(new.texts, settings.holdout_share, settings.seed)
    held = _take(new, held_rows)
    if np.isfinite(held.slm_correct).sum() < 20:
        raise ValueError(f"the new window has {int(np.isfinite(held.slm_correct).sum())} held-out calls with an "
                         "outcome: too few to judge a retrained router (add more outcomes or raise --holdout)")
    data = _concat([old, _take(new, fit_rows)])
    head = current.directory / RunDir.ROUTER_HEAD
    estimator = SlmRouter(**SlmRouter.load(head).get_params()) if head.is_file() else SlmRouter()
    trained = train_router(data.texts, data.slm_correct, data.frontier_correct, embeddings=data.embeddings,
                           templates=data.templates, sample_weight=data.sample_weight, timestamps=data.timestamps,
                           router=estimator, random_state=settings.seed, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    files = {k: str(v) for k, v in trained.write(out).items()}
    files.update({k: str(v) for k, v in export_router(out, out, int8=settings.int8).files.items()})
    candidate = Router.load(out, variant="fp32")
    old_decisions = current.route(held.texts).to_slm
    new_decisions = candidate.route(held.texts).to_slm
    decision = promotion_decision(old_decisions, new_decisions, held.slm_correct, held.frontier_correct, settings)
    promoted = decision.pop("promote")
    evidence = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "promoted": promoted,
        "action": (f"use the new router in {out}" if promoted else f"keep the router in {router_dir}"),
        "old_router": str(router_dir), "new_router": str(out), "old_source": str(old_source),
        "new_sources": [str(s) for s in new_sources],
        "calls": {"old": len(old.texts), "new_trained_on": int(len(fit_rows)), "new_held_out": int(len(held_rows))},
        "thresholds": {"old": float(current.threshold), "new": float(candidate.threshold)},
        **decision, "settings": asdict(settings)}
    (out / PROMOTION_FILE).write_text(json.dumps(evidence, indent=2) + "\n", encoding="utf-8")
    files["promotion"] = str(out / PROMOTION_FILE)
    return RetrainResult(promoted=promoted, evidence=evidence, directory=out, files=files)
