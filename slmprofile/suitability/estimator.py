"""The estimator: evidence per task type and candidate pooled with the prior into a rate, interval, verdict and SLM
share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..params import Interval, Options, check_params
from ..schema import SUITABILITY_COLUMNS
from .intervals import DEFAULT_CONFIDENCE, DEFAULT_TARGET, decide, kept_share, samples_to_decide, wilson_interval
from .prior import (DEFAULT_PRIOR_STRENGTH, MIN_TYPES_TO_CALIBRATE, PRIOR_EVIDENCE_RATIO, fit_logit_means,
                    heuristic_prior, logit, non_english_share, prior_strength_estimate)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: The default per-call score when the SLM's confidence is unknown: minus the distance to the type's centroid.
TYPICALITY = "typicality"


@dataclass
class _Evidence:
    n: int = 0
    k: int = 0
    y: Any = None  # per-call outcomes (bool array) for the SLM-share search
    s: Any = None  # per-call scores (float array or None)
    score: str | None = None  # what the scores are


class SuitabilityEstimator:
    """Combine the evidence per task type and candidate into a rate, an interval, a verdict and an SLM share.

    Args:
        target: rate a task type must reach for the SLM (0.95: at most 1 call in 20 worse than now).
        confidence: level of the Wilson intervals (0.95).
        metric: ``"success"`` (SLM correct / agreeing) or ``"parity"`` (SLM correct or frontier wrong too; needs
            both correctness columns, else falls back to success).
        prior_strength: pseudo-calls of the heuristic prior (0 = evidence only); typical 2-10.
        calibrate: calibrate the prior across task types with evidence (empirical Bayes, see the module docstring).
        score: per-call score for the SLM share: ``"auto"`` (``slm_confidence`` column, else shadow confidence,
            else minus ``distance``), a column name of ``calls`` (higher = more confident), or None.
        min_kept: evaluated calls a kept share needs at least.
        candidate: name of the model behind ``slm_correct`` (default: the calls' ``slm_model`` column's most
            common value, else ``"logged"``); a shadow model of the same name pools with it.

    After :meth:`fit`: ``table_`` (one row per task type and candidate), ``priors_`` (heuristic prior per task
    type), ``calibration_`` (per candidate: features, coefficients, strength, task types used).
    """

    def __init__(self, *, target: float = DEFAULT_TARGET, confidence: float = DEFAULT_CONFIDENCE,
                 metric: str = "success", prior_strength: float = DEFAULT_PRIOR_STRENGTH, calibrate: bool = True,
                 score: str | None = "auto", min_kept: int = 10, candidate: str | None = None) -> None:
        self.target = target
        self.confidence = confidence
        self.metric = metric
        self.prior_strength = prior_strength
        self.calibrate = calibrate
        self.score = score
        self.min_kept = min_kept
        self.candidate = candidate

    def get_params(self) -> dict[str, Any]:
        """The settings (as given to ``__init__``)."""
        return {name: getattr(self, name) for name in ("target", "confidence", "metric", "prior_strength",
                                                        "calibrate", "score", "min_kept", "candidate")}

    _parameter_constraints = {
        "target": [Interval(float, 0, 1, closed="neither")],
        "confidence": [Interval(float, 0, 1, closed="neither")],
        "metric": [Options("success", "parity")],
        "prior_strength": [Interval(float, 0, None)],
        "calibrate": [bool],
        "min_kept": [Interval(int, 1, None)],
    }

    def _check(self) -> None:
        check_params(self)

    def fit(self, calls: pl.DataFrame, task_types: pl.DataFrame | None = None, *,
            shadow: pl.DataFrame | None = None) -> SuitabilityEstimator:
        """Fit on ``calls`` (logs joined with their ``cluster_id``; optional outcome columns ``slm_correct``,
        ``frontier_correct``, ``feedback``, ``eval_score``, ``slm_confidence``, and ``distance``, ``status``,
        ``cost_usd``, ``timestamp``), ``task_types`` (the per-type statistics; derived from ``calls`` when None)
        and ``shadow`` (per-call shadow results: ``id, cluster_id, model, agree`` and optional ``confidence``,
        ``measure``)."""
        import polars as pl

        self._check()
        if "cluster_id" not in calls.columns:
            raise ValueError("calls need a 'cluster_id' column: join the logs with clusters.parquet on 'id'")
        if task_types is None:
            task_types = calls.group_by("cluster_id").agg(pl.len().alias("calls")).sort("cluster_id")
        if "cluster_id" not in task_types.columns:
            raise ValueError("task_types need a 'cluster_id' column")
        if shadow is not None:
            missing = {"cluster_id", "model", "agree"} - set(shadow.columns)
            if missing:
                raise ValueError(f"shadow results lack column(s) {', '.join(sorted(missing))}")
        calls = calls.with_columns(pl.col("cluster_id").cast(pl.Int64))
        if "distance" in calls.columns and TYPICALITY not in calls.columns:
            calls = calls.with_columns((-pl.col("distance").cast(pl.Float64)).alias(TYPICALITY))
        task_types = task_types.with_columns(pl.col("cluster_id").cast(pl.Int64))
        types = self._type_stats(calls, task_types)
        self.priors_ = {cid: heuristic_prior(row, strength=self.prior_strength)
                        for cid, row in zip(types["cluster_id"].to_list(), types.iter_rows(named=True))}
        evidence = self._evidence(calls, shadow)
        self.calibration_ = {}
        rows: list[dict[str, Any]] = []
        for candidate, per_type in evidence.items():
            calibrated = self._calibrate(candidate, per_type, types)
            for row in types.iter_rows(named=True):
                rows.append(self._row(row, candidate, per_type.get(row["cluster_id"], {}), calibrated))
        self.table_ = _table(rows)
        return self

    # -- pieces of fit -----------------------------------------------------------------------------------------
    def _type_stats(self, calls: pl.DataFrame, task_types: pl.DataFrame) -> pl.DataFrame:
        import polars as pl

        agg = [pl.len().alias("_calls")]
        for name in ("frontier_correct", "feedback", "eval_score"):
            if name in calls.columns:
                agg.append(pl.col(name).cast(pl.Float64).mean().alias(f"_{name}"))
        if "status" in calls.columns:
            agg.append((pl.col("status") == "error").mean().alias("_error_rate"))
        per = calls.group_by("cluster_id").agg(agg)
        if "prompt_text" in calls.columns and "non_english_share" not in task_types.columns:
            lang = calls.group_by("cluster_id").agg(pl.col("prompt_text").head(200))
            per = per.join(pl.DataFrame({"cluster_id": lang["cluster_id"],
                                         "non_english_share": [non_english_share(t) for t in lang["prompt_text"]]},
                                        schema={"cluster_id": pl.Int64, "non_english_share": pl.Float64}),
                           on="cluster_id", how="left")
        types = task_types.join(per, on="cluster_id", how="full", coalesce=True)
        if "calls" not in types.columns:
            types = types.with_columns(pl.col("_calls").alias("calls"))
        types = types.with_columns(pl.col("calls").fill_null(pl.col("_calls")).fill_null(0))
        total = max(int(types["calls"].sum()), 1)
        return types.with_columns((pl.col("calls") / total).alias("_share")).sort("cluster_id")

    def _candidate_name(self, calls: pl.DataFrame) -> str:
        if self.candidate:
            return self.candidate
        if "slm_model" in calls.columns:
            named = calls["slm_model"].drop_nulls()
            if named.len():
                return str(named.mode().sort()[0])
        return "logged"

    def _evidence(self, calls: pl.DataFrame, shadow: pl.DataFrame | None) -> dict[str, dict[int, dict[str, Any]]]:
        """candidate -> cluster_id -> {"outcome": _Evidence, "shadow": _Evidence, "measure": str,
        "population": scores of all the type's calls (when the score is known for every call)}."""
        import numpy as np
        import polars as pl

        out: dict[str, dict[int, dict[str, Any]]] = {}
        score_col = self._score_column(calls)
        population: dict[int, Any] = {}
        if score_col is not None:
            for (cid,), part in calls.select("cluster_id", pl.col(score_col).cast(pl.Float64)).group_by("cluster_id"):
                values = part[score_col].drop_nulls().to_numpy()
                if len(values):
                    population[int(cid)] = values
        if "slm_correct" in calls.columns:
            name = self._candidate_name(calls)
            parity = self.metric == "parity" and "frontier_correct" in calls.columns
            graded = calls.filter(pl.col("slm_correct").is_not_null())
            if parity:
                graded = graded.filter(pl.col("frontier_correct").is_not_null())
                y = pl.col("slm_correct") | ~pl.col("frontier_correct")
            else:
                y = pl.col("slm_correct")
            score = pl.col(score_col).cast(pl.Float64) if score_col else pl.lit(None, pl.Float64)
            out[name] = {}
            for (cid,), part in graded.select("cluster_id", y.cast(pl.Boolean).alias("_y"),
                                              score.alias("_s")).group_by("cluster_id"):
                yv = part["_y"].to_numpy().astype(bool)
                entry = out[name].setdefault(int(cid), {"population": population.get(int(cid))})
                entry["outcome"] = _Evidence(n=len(yv), k=int(yv.sum()), y=yv,
                                             s=part["_s"].to_numpy() if score_col else None, score=score_col)
        if shadow is not None and shadow.height:
            sh = shadow.filter(pl.col("agree").is_not_null())
            own = (self.score == "auto" and score_col != "slm_confidence" and "confidence" in sh.columns
                   and sh["confidence"].is_not_null().any())
            if own:
                sh, shadow_score = sh.with_columns(pl.col("confidence").cast(pl.Float64).alias("_s")), "shadow confidence"
            elif score_col and "id" in sh.columns:
                sh = sh.join(calls.select("id", pl.col(score_col).cast(pl.Float64).alias("_s")), on="id", how="left")
                shadow_score = score_col
            else:
                sh, shadow_score = sh.with_columns(pl.lit(None, pl.Float64).alias("_s")), None
            for (model, cid), part in sh.group_by("model", "cluster_id"):
                yv = part["agree"].cast(pl.Boolean).to_numpy().astype(bool)
                sv = part["_s"].to_numpy().astype(float)
                known = shadow_score is not None and not np.isnan(sv).all()
                entry = out.setdefault(str(model), {}).setdefault(
                    int(cid), {"population": None if own else population.get(int(cid))})
                if own:
                    entry["population"] = None  # the SLM's confidence is known only where it was asked
                entry["shadow"] = _Evidence(n=len(yv), k=int(yv.sum()), y=yv, s=sv if known else None,
                                            score=shadow_score if known else None)
                measures = part["measure"].drop_nulls() if "measure" in part.columns else None
                if measures is not None and measures.len():
                    entry["measure"] = str(measures.mode().sort()[0])
        if not out:
            out["none"] = {}
        return out

    def _score_column(self, calls: pl.DataFrame) -> str | None:
        if self.score is None:
            return None
        if self.score != "auto":
            if self.score not in calls.columns:
                raise ValueError(f"score column {self.score!r} not in the calls (columns: {', '.join(calls.columns)})")
            return self.score
        for name in ("slm_confidence", TYPICALITY):
            if name in calls.columns:
                return name
        return None

    def _calibrate(self, candidate: str, per_type: Mapping[int, Mapping[str, Any]],
                   types: pl.DataFrame) -> dict[int, tuple[float, float, str]]:
        """cluster_id -> (prior mean, prior weight cap, source) from the empirical-Bayes fit, when possible."""
        import numpy as np

        ids, ks, ns = [], [], []
        for cid, ev in sorted(per_type.items()):
            n = sum(e.n for key, e in ev.items() if key in ("outcome", "shadow"))
            if cid == -1 or n == 0:
                continue
            ids.append(cid)
            ks.append(sum(e.k for key, e in ev.items() if key in ("outcome", "shadow")))
            ns.append(n)
        info: dict[str, Any] = {"calibrated": False, "task_types_with_evidence": len(ids)}
        self.calibration_[candidate] = info
        if not self.calibrate or len(ids) < MIN_TYPES_TO_CALIBRATE:
            info["why_not"] = (f"only {len(ids)} task types with evidence (need {MIN_TYPES_TO_CALIBRATE})"
                               if self.calibrate else "calibrate=False")
            return {}
        rows = {r["cluster_id"]: r for r in types.iter_rows(named=True)}
        prior_logit = {cid: logit(self.priors_[cid].mean) for cid in rows}
        frontier = {cid: r.get("_frontier_correct") for cid, r in rows.items()}
        features: list[tuple[str, dict[int, float]]] = [("heuristic prior (logit)", prior_logit)]
        if all(frontier.get(c) is not None for c in ids):
            features.append(("frontier success (logit)", {c: logit(v) for c, v in frontier.items() if v is not None}))
        k = np.array(ks, float)
        n = np.array(ns, float)
        y = np.log((k + 0.5) / (n - k + 0.5))
        cols = [np.ones(len(ids))]
        used = []
        for name, values in features:
            col = np.array([values[c] for c in ids])
            if np.ptp(col) > 1e-9:
                cols.append(col)
                used.append((name, values))
        X = np.column_stack(cols)
        if len(ids) < 2 * X.shape[1] + 1:  # too few task types for the slopes: calibrate the level only
            X, used = X[:, :1], []
        beta, m = fit_logit_means(X, y, n)
        strength = prior_strength_estimate(k, n, m, n_params=X.shape[1], lower=self.prior_strength)
        info.update(calibrated=True, features=["intercept"] + [u[0] for u in used],
                    coefficients=[round(float(b), 4) for b in beta], strength=round(strength, 2))
        out: dict[int, tuple[float, float, str]] = {}
        for cid in rows:
            xs = [1.0]
            ok = True
            for _, values in used:
                if cid not in values:
                    ok = False
                    break
                xs.append(values[cid])
            if ok:
                out[cid] = (float(1 / (1 + np.exp(-(np.array(xs) @ beta)))), strength, "calibrated")
        return out

    def _row(self, stats: Mapping[str, Any], candidate: str, ev: Mapping[str, Any],
             calibrated: Mapping[int, tuple[float, float, str]]) -> dict[str, Any]:
        import numpy as np

        cid = stats["cluster_id"]
        prior = self.priors_[cid]
        outcome: _Evidence = ev.get("outcome") or _Evidence()
        shadow: _Evidence = ev.get("shadow") or _Evidence()
        n, k = outcome.n + shadow.n, outcome.k + shadow.k
        if cid in calibrated:
            mean, strength, source = calibrated[cid]
        else:
            mean, strength, source = prior.mean, prior.strength, "heuristic"
        weight = min(strength, max(PRIOR_EVIDENCE_RATIO * n, self.prior_strength))
        pooled_k, pooled_n = k + weight * mean, n + weight
        rate = pooled_k / pooled_n if pooled_n > 0 else None
        lo, hi = wilson_interval(pooled_k, pooled_n, self.confidence)
        if cid == -1:
            verdict = "unassigned"
        elif n == 0:
            verdict = "undecided"  # a prior alone never decides
        else:
            verdict = decide(lo, hi, self.target)
        needed = samples_to_decide(rate, self.target, self.confidence) if (
            rate is not None and verdict == "undecided") else None
        more = None if needed is None else max(int(math.ceil(needed - pooled_n)), 1 if n == 0 else 0)
        used = [e for e in (outcome, shadow) if e.n]
        names = {e.score for e in used}
        score_name = names.pop() if len(names) == 1 else None
        share = share_lo = share_hi = 0.0
        threshold = None
        if used and cid != -1:
            y = np.concatenate([e.y for e in used])
            s = np.concatenate([np.asarray(e.s, float) for e in used]) if score_name else None
            share, share_lo, share_hi, threshold = kept_share(
                y, s, self.target, confidence=self.confidence, min_kept=self.min_kept,
                population=ev.get("population") if score_name else None)
        out_lo, out_hi = wilson_interval(outcome.k, outcome.n, self.confidence)
        sh_lo, sh_hi = wilson_interval(shadow.k, shadow.n, self.confidence)
        kinds = [name for name, e in (("outcomes", outcome), ("shadow", shadow)) if e.n]
        return {
            "cluster_id": cid, "task_type": stats.get("task_type"), "family": stats.get("family"),
            "archetype": stats.get("archetype"), "candidate": candidate, "calls": int(stats.get("calls") or 0),
            "share": stats.get("share", stats.get("_share")), "cost_per_month": stats.get("cost_per_month"),
            "prior_mean": prior.mean, "prior_strength": prior.strength, "prior_reasons": "; ".join(prior.reasons),
            "outcome_n": outcome.n, "outcome_rate": outcome.k / outcome.n if outcome.n else None,
            "outcome_lo": out_lo if outcome.n else None, "outcome_hi": out_hi if outcome.n else None,
            "frontier_rate": stats.get("_frontier_correct"), "feedback_mean": stats.get("_feedback"),
            "eval_score_mean": stats.get("_eval_score"), "error_rate": stats.get("_error_rate",
                                                                                 stats.get("error_rate")),
            "shadow_n": shadow.n, "shadow_rate": shadow.k / shadow.n if shadow.n else None,
            "shadow_lo": sh_lo if shadow.n else None, "shadow_hi": sh_hi if shadow.n else None,
            "shadow_measure": ev.get("measure"),
            "evidence": "+".join(["prior"] + kinds), "prior_source": source, "prior_weight": weight,
            "prior_used_mean": mean, "n": n, "k": k,
            "rate": rate, "ci_lo": lo, "ci_hi": hi, "target": self.target, "verdict": verdict,
            "samples_needed": needed, "more_samples": more,
            "score": score_name, "threshold": threshold,
            "slm_share": share, "slm_share_lo": share_lo, "slm_share_hi": share_hi,
            "escalation_rate": 1.0 - share, "trend_per_week": stats.get("trend_per_week"),
        }


def _table(rows: list[dict[str, Any]]) -> pl.DataFrame:
    import polars as pl

    schema = {"cluster_id": pl.Int64, "task_type": pl.Utf8, "family": pl.Utf8, "archetype": pl.Utf8,
              "candidate": pl.Utf8, "calls": pl.Int64, "prior_reasons": pl.Utf8, "outcome_n": pl.Int64,
              "shadow_n": pl.Int64, "shadow_measure": pl.Utf8, "evidence": pl.Utf8, "prior_source": pl.Utf8,
              "n": pl.Int64, "k": pl.Int64, "verdict": pl.Utf8, "samples_needed": pl.Int64, "more_samples": pl.Int64,
              "score": pl.Utf8}
    full = {c: schema.get(c, pl.Float64) for c in SUITABILITY_COLUMNS}
    frame = pl.DataFrame(rows, schema=full) if rows else pl.DataFrame(schema=full)
    return frame.sort(["candidate", "calls", "cluster_id"], descending=[False, True, False])
