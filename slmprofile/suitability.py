"""Per task type: can a small model (SLM) take this traffic, and how sure are we?

Three kinds of evidence are kept apart in the table and combined into one rate per task type and candidate model:

1. **Heuristic prior** (:func:`heuristic_prior`): a Beta prior whose mean comes from the task type's archetype
   (classification, extraction and short rewriting high; maths/reasoning, code, long creative work low), adjusted
   on the logit scale for output shape (a small label set, JSON, short or long outputs), templated traffic, prompt
   length, output diversity, tool use and language, each adjustment with its reason. Its weight is a stated number
   of pseudo-calls (``prior_strength``, default 4): a prior, labelled as such, never decides a verdict alone.
2. **Logged outcomes**: per-call correctness of a candidate (``slm_correct``) and of the frontier model
   (``frontier_correct``), e.g. from an offline eval joined at ingest; quality signals of the current traffic
   (``feedback``, ``eval_score``, errors) are shown beside them.
3. **Shadow runs** (:mod:`slmprofile.shadow`): agreement of candidate models with the logged frontier answers.

The rate is the candidate's success rate (``metric="success"``: share of calls it gets right / agrees on) or its
parity rate (``metric="parity"``: share of calls where it is right or the frontier is wrong too). Evidence counts
``k`` of ``n`` are pooled with the prior's pseudo-counts ``w`` (``k + w*m`` of ``n + w``), and the rate gets a
Wilson interval (:func:`wilson_interval`). The verdict is ``slm`` when the interval's lower bound clears the target
(default 0.95), ``frontier`` when its upper bound is below it, otherwise ``undecided`` with the number of further
samples that would decide it at the current rate (:func:`samples_to_decide`).

**Calibrated prior (empirical Bayes).** When enough task types have evidence (at least 5), the prior is
calibrated across them: a weighted logistic-scale regression of the observed rates on the heuristic prior and, when
logged, the frontier's own success rate on all of the type's calls (tasks the frontier finds hard are harder for a
small model), with the prior's strength estimated from the spread left over (method of moments,
:func:`prior_strength_estimate`). A task type's prior then weighs ``min(strength, max(n / 2, prior_strength))``
pseudo-calls (:data:`PRIOR_EVIDENCE_RATIO`): at most half its own evidence, which guards the intervals against a
calibration that fits one task type badly. On RouteLLM (MMLU subjects and GSM8K, 10 % samples) this keeps the
intervals' coverage at or above nominal and ranks the subjects better than the sample rates alone (Spearman 0.85
against 0.81 on average over 200 seeds; see ``tests/test_suitability.py``).

**SLM share and escalation.** Calls can be kept on the SLM selectively: sorted by a per-call score (the SLM's own
confidence when known - ``slm_confidence`` or shadow logprobs - else the call's typicality, minus its distance to
the task type's centroid), the largest top share whose evaluated calls reach the target is kept (``slm_share``;
``slm_share_lo`` requires the Wilson lower bound to reach it, ``slm_share_hi`` only the upper bound), and the rest
escalates to the frontier (``escalation_rate = 1 - slm_share``). These use the evidence only, not the prior.

>>> table = assess_suitability("out/sample", outcomes="data/evals/offline_eval.csv")   # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence
from .params import Interval, Options, check_params
from .rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import polars as pl

DEFAULT_TARGET = 0.95
DEFAULT_CONFIDENCE = 0.95
DEFAULT_PRIOR_STRENGTH = 4.0
#: Task types with evidence needed before the prior is calibrated across them.
MIN_TYPES_TO_CALIBRATE = 5
#: Upper limit on the calibrated prior's strength (pseudo-calls).
MAX_PRIOR_STRENGTH = 1000.0
#: A task type's calibrated prior weighs at most this many pseudo-calls per call of its own evidence.
PRIOR_EVIDENCE_RATIO = 0.5
VERDICTS = ("slm", "frontier", "undecided", "unassigned")

#: Prior mean of SLM success per archetype (before shape adjustments): what small instruction-tuned models
#: (7-8B class) typically manage relative to frontier answers on such work.
ARCHETYPE_PRIOR: dict[str, float] = {
    "classification": 0.92,
    "extraction": 0.88,
    "rewriting/translation": 0.85,
    "summarisation": 0.80,
    "open-ended chat": 0.80,
    "question answering": 0.75,
    "multiple choice": 0.75,
    "creative writing": 0.70,
    "agentic/tool use": 0.65,
    "code": 0.60,
    "maths/reasoning": 0.55,
}
UNKNOWN_ARCHETYPE_PRIOR = 0.70
#: The default per-call score when the SLM's confidence is unknown: minus the distance to the type's centroid.
TYPICALITY = "typicality"


# -- intervals and sample sizes --------------------------------------------------------------------------------------

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


# -- heuristic prior -------------------------------------------------------------------------------------------------

def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class Prior:
    """A Beta prior on a task type's SLM success: ``Beta(mean * strength, (1 - mean) * strength)``."""

    mean: float
    strength: float
    reasons: tuple[str, ...]

    @property
    def a(self) -> float:
        return self.mean * self.strength

    @property
    def b(self) -> float:
        return (1 - self.mean) * self.strength

    def describe(self) -> str:
        return (f"Beta({self.a:.2f}, {self.b:.2f}) prior (mean {self.mean:.2f}, {self.strength:g} pseudo-calls): "
                + "; ".join(self.reasons))


def _num(stats: Mapping[str, Any], key: str) -> float | None:
    value = stats.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def heuristic_prior(stats: Mapping[str, Any], *, strength: float = DEFAULT_PRIOR_STRENGTH) -> Prior:
    """A task type's heuristic prior from its statistics (a row of ``task_types``; missing keys are skipped).

    Starts from :data:`ARCHETYPE_PRIOR` and adds, on the logit scale: +0.6 for answers from a small label set,
    +0.3 for JSON output, +0.2 for short outputs, -0.4 for long ones (median >= 400 tokens), +0.2 for templated
    traffic (at most 3 templates), -0.2 for free-form prompts, -0.4 / -0.8 for long contexts (p95 prompt >= 2,000 /
    8,000 tokens), -0.2 when every long answer differs, -0.2 for tool calls, -0.3 when many prompts are not English.
    """
    archetype = stats.get("archetype")
    base = ARCHETYPE_PRIOR.get(archetype or "", UNKNOWN_ARCHETYPE_PRIOR)
    reasons = [f"archetype {archetype}: {base:.2f}" if archetype else f"no archetype: {base:.2f}"]
    x = _logit(base)

    def add(delta: float, why: str) -> None:
        nonlocal x
        x += delta
        reasons.append(f"{why} ({delta:+.1f})")

    median_out = _num(stats, "completion_tokens_median")
    distinct = _num(stats, "distinct_response_share")
    json_share = _num(stats, "json_output_share")
    if median_out is not None and distinct is not None and median_out <= 8 and distinct <= 0.2:
        add(0.6, f"small label set ({distinct:.0%} distinct answers, median {median_out:.0f} tokens)")
    elif median_out is not None and median_out <= 50:
        add(0.2, f"short outputs (median {median_out:.0f} tokens)")
    elif median_out is not None and median_out >= 400:
        add(-0.4, f"long outputs (median {median_out:.0f} tokens)")
    if json_share is not None and json_share >= 0.5:
        add(0.3, f"JSON output in {json_share:.0%} of answers")
    templates, prompts = _num(stats, "templates"), _num(stats, "distinct_prompts")
    if templates is not None and prompts:
        if templates <= 3 and prompts >= 10:
            add(0.2, f"templated traffic ({templates:.0f} templates for {prompts:.0f} prompts)")
        elif templates / prompts >= 0.5 and prompts >= 10:
            add(-0.2, f"free-form prompts ({templates / prompts:.0%} of prompts have their own template)")
    p95 = _num(stats, "prompt_tokens_p95")
    if p95 is not None and p95 >= 8000:
        add(-0.8, f"long context (p95 prompt {p95:,.0f} tokens)")
    elif p95 is not None and p95 >= 2000:
        add(-0.4, f"longish context (p95 prompt {p95:,.0f} tokens)")
    if distinct is not None and distinct >= 0.9 and median_out is not None and median_out > 50:
        add(-0.2, f"open-ended: {distinct:.0%} of answers differ")
    tools = _num(stats, "tool_call_share")
    if tools is not None and tools >= 0.3:
        add(-0.2, f"tool calls in {tools:.0%} of answers")
    non_english = _num(stats, "non_english_share")
    if non_english is not None and non_english >= 0.3:
        add(-0.3, f"{non_english:.0%} of prompts not in English")
    mean = min(max(_sigmoid(x), 0.05), 0.99)
    return Prior(mean=mean, strength=float(strength), reasons=tuple(reasons))


def non_english_share(texts: Iterable[str | None]) -> float:
    """Share of texts whose letters are at least 20 % non-ASCII (a cheap language signal: accented and non-Latin
    scripts)."""
    total = flagged = 0
    for text in texts:
        if not text:
            continue
        letters = [c for c in text if c.isalpha()]
        if not letters:
            continue
        total += 1
        flagged += sum(1 for c in letters if ord(c) > 127) >= 0.2 * len(letters)
    return flagged / total if total else 0.0


# -- the estimator ---------------------------------------------------------------------------------------------------

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
        prior_logit = {cid: _logit(self.priors_[cid].mean) for cid in rows}
        frontier = {cid: r.get("_frontier_correct") for cid, r in rows.items()}
        features: list[tuple[str, dict[int, float]]] = [("heuristic prior (logit)", prior_logit)]
        if all(frontier.get(c) is not None for c in ids):
            features.append(("frontier success (logit)", {c: _logit(v) for c, v in frontier.items() if v is not None}))
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
        beta, m = _fit_logit_means(X, y, n)
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


def _fit_logit_means(X: np.ndarray, y: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted (by ``n``) least squares of logit rates ``y`` on ``X`` (tiny ridge on the slopes) -> (coefficients,
    fitted means)."""
    import numpy as np

    w = n / n.sum()
    ridge = 1e-3 * np.eye(X.shape[1])
    ridge[0, 0] = 0.0
    beta = np.linalg.solve(X.T @ (X * w[:, None]) + ridge, X.T @ (w * y))
    return beta, 1 / (1 + np.exp(-(X @ beta)))


def prior_strength_estimate(k: np.ndarray, n: np.ndarray, m: np.ndarray, *, n_params: int = 1,
                            lower: float = 0.0) -> float:
    """Strength ``s`` (pseudo-calls) of Beta priors with means ``m`` given ``k`` successes of ``n`` per task type,
    by the method of moments: the spread of the observed rates around ``m`` beyond binomial noise is the prior's
    variance ``m (1 - m) / (s + 1)``; the residual sum is divided by ``T - n_params`` (the fitted means used up
    ``n_params`` degrees of freedom). Clipped to ``[lower, MAX_PRIOR_STRENGTH]``."""
    import numpy as np

    p = k / n
    v = float(np.sum((p - m) ** 2 - m * (1 - m) / n)) / max(len(k) - n_params, 1)
    pm = float(np.mean(m * (1 - m)))
    strength = MAX_PRIOR_STRENGTH if v <= pm / (MAX_PRIOR_STRENGTH + 1) else pm / v - 1
    return float(min(max(strength, lower), MAX_PRIOR_STRENGTH))


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


_COLUMNS = ["cluster_id", "task_type", "family", "archetype", "candidate", "calls", "share", "cost_per_month",
            "prior_mean", "prior_strength", "prior_reasons", "outcome_n", "outcome_rate", "outcome_lo", "outcome_hi",
            "frontier_rate", "feedback_mean", "eval_score_mean", "error_rate", "shadow_n", "shadow_rate", "shadow_lo",
            "shadow_hi", "shadow_measure", "evidence", "prior_source", "prior_weight", "prior_used_mean", "n", "k",
            "rate", "ci_lo", "ci_hi", "target", "verdict", "samples_needed", "more_samples", "score", "threshold",
            "slm_share", "slm_share_lo", "slm_share_hi", "escalation_rate", "trend_per_week"]


def _table(rows: list[dict[str, Any]]) -> pl.DataFrame:
    import polars as pl

    schema = {"cluster_id": pl.Int64, "task_type": pl.Utf8, "family": pl.Utf8, "archetype": pl.Utf8,
              "candidate": pl.Utf8, "calls": pl.Int64, "prior_reasons": pl.Utf8, "outcome_n": pl.Int64,
              "shadow_n": pl.Int64, "shadow_measure": pl.Utf8, "evidence": pl.Utf8, "prior_source": pl.Utf8,
              "n": pl.Int64, "k": pl.Int64, "verdict": pl.Utf8, "samples_needed": pl.Int64, "more_samples": pl.Int64,
              "score": pl.Utf8}
    full = {c: schema.get(c, pl.Float64) for c in _COLUMNS}
    frame = pl.DataFrame(rows, schema=full) if rows else pl.DataFrame(schema=full)
    return frame.sort(["candidate", "calls", "cluster_id"], descending=[False, True, False])


# -- the run-directory function ---------------------------------------------------------------------------------------

#: Columns of ``logs.parquet`` that suitability and savings never read: left on disk (at millions of calls these
#: texts are gigabytes).
UNUSED_BY_ESTIMATES = ("messages", "metadata", "error", "response_text", "system_prompt")


def load_calls(run_dir: str | Path | None = None, *, logs: pl.DataFrame | None = None,
               clusters: pl.DataFrame | None = None,
               outcomes: str | Path | Sequence[str | Path] | None = None,
               skip_columns: Sequence[str] = ()) -> pl.DataFrame:
    """The logs of a run joined with their task types (``cluster_id``, ``distance``, ...) and, when given, outcome
    tables (joined by call id with :func:`slmprofile.ingest.outcomes.attach_outcomes`). ``skip_columns``: columns
    of ``logs.parquet`` not to read."""
    import polars as pl

    run = Path(run_dir) if run_dir is not None else None
    if logs is None:
        if run is None:
            raise ValueError("give run_dir or logs")
        logs = RunDir(run).read_table(RunDir.LOGS, skip=skip_columns)
    if clusters is None and "cluster_id" not in logs.columns:
        if run is None:
            raise ValueError("give clusters (or run_dir holding clusters.parquet)")
        clusters = RunDir(run).read_table(RunDir.CLUSTERS)
    if outcomes is not None:
        from .ingest.outcomes import attach_outcomes

        for source in [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes):
            logs, _ = attach_outcomes(logs, source)
    if clusters is not None:
        keep = [c for c in ("id", "cluster_id", "task_type", "family", "distance", "flags") if c in clusters.columns]
        logs = logs.drop([c for c in keep if c != "id" and c in logs.columns]).join(
            clusters.select(keep), on="id", how="left")
        logs = logs.with_columns(pl.col("cluster_id").fill_null(-1))
    return logs


def assess_suitability(run_dir: str | Path | None = None, *, logs: pl.DataFrame | None = None,
                       clusters: pl.DataFrame | None = None, task_types: pl.DataFrame | None = None,
                       outcomes: str | Path | Sequence[str | Path] | None = None,
                       shadow: pl.DataFrame | str | Path | None = None, out_dir: str | Path | None = None,
                       write: bool = True, **settings: Any) -> pl.DataFrame:
    """The suitability table of a run: one row per task type (and candidate model).

    Reads ``logs.parquet``, ``clusters.parquet``, ``task_types.parquet`` (and ``shadow_results.parquet`` when
    present) from ``run_dir`` unless frames are given; ``outcomes`` are eval tables joined by call id;
    ``settings`` go to :class:`SuitabilityEstimator` (``target``, ``metric``, ``prior_strength``, ...).

    Columns: the task type (``cluster_id, task_type, family, archetype, calls, share, cost_per_month``), the
    ``candidate`` model, the prior (``prior_mean, prior_strength, prior_reasons``), logged outcomes (``outcome_n,
    outcome_rate, outcome_lo, outcome_hi, frontier_rate, feedback_mean, eval_score_mean, error_rate``), the shadow
    run (``shadow_n, shadow_rate, shadow_lo, shadow_hi, shadow_measure``), the combination (``evidence,
    prior_source, prior_weight, prior_used_mean, n, k, rate, ci_lo, ci_hi, target, verdict, samples_needed,
    more_samples``), the SLM share (``score, threshold, slm_share, slm_share_lo, slm_share_hi, escalation_rate``)
    and the drift signal ``trend_per_week`` (change of the type's weekly share of calls). Writes
    ``suitability.csv``, ``suitability.parquet`` and ``suitability.json`` (settings, outcome tables, calibration)
    to ``out_dir`` (default ``run_dir``) unless ``write`` is False.
    """
    import polars as pl

    run = Path(run_dir) if run_dir is not None else None
    sources = [] if outcomes is None else [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes)
    per_candidate = outcome_candidates(sources)
    if per_candidate is None:
        calls = load_calls(run, logs=logs, clusters=clusters, outcomes=outcomes, skip_columns=UNUSED_BY_ESTIMATES)
    else:  # one table per candidate model: each is assessed on its own outcomes (the logs' own ones set aside)
        from .schema import OUTCOME_COLUMNS

        calls = load_calls(run, logs=logs, clusters=clusters, skip_columns=UNUSED_BY_ESTIMATES)
        calls = calls.drop([c for c in (*OUTCOME_COLUMNS, "slm_model") if c in calls.columns])
    if task_types is None and run is not None and RunDir(run).task_types.is_file():
        task_types = pl.read_parquet(RunDir(run).task_types)
    if shadow is None and run is not None and RunDir(run).shadow_results.is_file():
        shadow = RunDir(run).shadow_results
    if isinstance(shadow, (str, Path)):
        shadow = pl.read_parquet(shadow)
    if task_types is not None:
        task_types = task_types.drop([c for c in ("examples", "keywords", "weekly_share") if c in task_types.columns])
    if per_candidate is None:
        estimator = SuitabilityEstimator(**settings).fit(calls, task_types, shadow=shadow)
        table = estimator.table_
    else:
        tables, calibration = [], {}
        for i, (model, paths) in enumerate(per_candidate.items()):
            graded = load_calls(logs=calls, outcomes=paths)
            mine = None if shadow is None else shadow.filter(
                (pl.col("model") == model) | (pl.lit(i == 0) & ~pl.col("model").is_in(list(per_candidate))))
            estimator = SuitabilityEstimator(**{**settings, "candidate": model}).fit(graded, task_types, shadow=mine)
            tables.append(estimator.table_)
            calibration.update(estimator.calibration_)
        table = pl.concat(tables, how="diagonal_relaxed")
        estimator.calibration_ = calibration
    target = Path(out_dir) if out_dir is not None else run
    if write and target is not None:
        write_table(table, target, "suitability")
        meta = {"settings": estimator.get_params(), "outcomes": [str(Path(p).resolve()) for p in sources],
                "calibration": estimator.calibration_,
                "verdicts": {str(k): int(v) for k, v in table["verdict"].value_counts().iter_rows()}}
        RunDir(target).suitability_info.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return table


def outcome_candidates(sources: Sequence[str | Path]) -> dict[str, list[str | Path]] | None:
    """Outcome tables grouped by the candidate model each grades (its ``slm_model`` column's one value), when they
    grade two or more models (None otherwise: one candidate, assessed from the joined columns as before). A table
    grading several models is an error: give one table per model."""
    if len(sources) < 2:
        return None
    from .ingest.outcomes import read_table

    groups: dict[str, list[str | Path]] = {}
    for source in sources:
        table = read_table(Path(source))
        names = table["slm_model"].drop_nulls().cast(str).unique().to_list() if "slm_model" in table.columns else []
        if len(names) > 1:
            raise ValueError(f"{source}: grades {len(names)} models ({', '.join(sorted(names)[:5])}); with several "
                             "outcome tables give one table per candidate model")
        groups.setdefault(names[0] if names else Path(source).stem, []).append(source)
    return groups if len(groups) > 1 else None


def write_table(table: pl.DataFrame, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``name.parquet`` and ``name.csv`` (nested columns as JSON text) into ``out_dir``."""
    import polars as pl

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parquet, csv = out / f"{name}.parquet", out / f"{name}.csv"
    table.write_parquet(parquet)
    flat = table.with_columns([pl.col(c).cast(pl.Utf8) if table.schema[c] == pl.Object else pl.col(c)
                               for c in table.columns])
    nested = [c for c, t in flat.schema.items() if isinstance(t, (pl.List, pl.Struct))]
    if nested:
        flat = flat.with_columns([pl.col(c).map_elements(lambda v: str(v), return_dtype=pl.Utf8) for c in nested])
    flat.write_csv(csv)
    return {"parquet": parquet, "csv": csv}
