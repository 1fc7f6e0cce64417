"""``slmprofile drift RUN_DIR NEW_LOGS``: has the traffic moved since the run, and does the router need retraining?

A new window of logs is ingested and redacted as a run would, its distinct prompts are embedded with the run's
encoder and placed into the run's task types without refitting (:class:`~slmprofile.loop.placement.NearestTypes`).
Then, each with an interval at the chosen confidence:

* **Mix**: each type's share of calls before and after, and the change (Newcombe's hybrid score interval for a
  difference of two proportions); a type *shifted* when the interval excludes zero and the change is at least
  ``min_share_change``. The intervals of the types hold together at the chosen confidence (Bonferroni), so a
  run with many types does not see one move by chance; the same for outcomes.
* **New traffic**: the calls that fit no existing type, and candidate new types found among them.
* **Router** (when the run has an exported router and ONNX Runtime is installed): the distribution of ``p_slm`` on a
  seeded sample of calls of each window, its shift (Kolmogorov–Smirnov), and the change in the share the router
  sends to the small model.
* **Outcomes** (when both windows carry ``slm_correct``): each type's small-model success rate before and after.

A verdict follows: ``retrain`` (new traffic beyond ``novel_share``, or a type where the small model got worse),
``refresh`` (the mix or the router's share moved: re-run savings), or ``no action``, each with its reasons.
Calls are counted as independent draws; repeated prompts make the intervals a little narrower than they should be.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..params import Interval, check_params
from ..rundir import RunDir
from ..suitability import wilson_interval, z_value
from .placement import NOVEL, NearestTypes, candidate_types

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

DRIFT_JSON = "drift.json"
DRIFT_TYPES = "drift_types.csv"
DRIFT_CALLS = "drift_calls.parquet"
DRIFT_CANDIDATES = "drift_candidates.csv"
DRIFT_HTML = "drift.html"
#: What ``drift`` writes into its output folder.
DRIFT_FILES = (DRIFT_JSON, DRIFT_TYPES, DRIFT_CALLS, DRIFT_CANDIDATES, DRIFT_HTML)
NEW_TYPE_NAME = "fits no existing type"
UNASSIGNED_NAME = "unassigned"
RETRAIN, REFRESH, NO_ACTION = "retrain", "refresh", "no action"


@dataclass
class DriftSettings:
    """What counts as drift.

    Attributes:
        confidence: of every interval.
        n_neighbors, novelty_quantile: placement (see :class:`~slmprofile.loop.placement.NearestTypes`).
        novel_share: share of calls fitting no type from which retraining is recommended.
        min_share_change: smallest change of a type's share (absolute) that counts as a shift.
        min_outcome_drop: smallest fall of a type's small-model success rate that calls for retraining.
        router_share_change: smallest change of the router's small-model share that calls for a refresh.
        max_router_calls: calls per window routed to measure the router's shift (a seeded sample).
        redact: redact the new logs before anything else (as ``run`` does).
        seed: for the samples.
    """

    confidence: float = 0.95
    n_neighbors: int = 10
    novelty_quantile: float = 0.03
    novel_share: float = 0.05
    min_share_change: float = 0.01
    min_outcome_drop: float = 0.05
    router_share_change: float = 0.05
    max_router_calls: int = 2000
    redact: bool = True
    seed: int = 0

    _parameter_constraints = {
        "confidence": [Interval(float, 0.5, 1, closed="neither")], "n_neighbors": [Interval(int, 1, 200)],
        "novelty_quantile": [Interval(float, 0, 0.5)], "novel_share": [Interval(float, 0, 1)],
        "min_share_change": [Interval(float, 0, 1)], "min_outcome_drop": [Interval(float, 0, 1)],
        "router_share_change": [Interval(float, 0, 1)], "max_router_calls": [Interval(int, 10, None)],
        "seed": [Interval(int, 0, None)]}

    def check(self) -> DriftSettings:
        check_params(self)
        return self


@dataclass
class DriftResult:
    """What :func:`detect_drift` found (also written to ``drift.json`` and the CSV/Parquet files beside it)."""

    summary: dict[str, Any]
    types: pl.DataFrame
    calls: pl.DataFrame
    candidates: pl.DataFrame
    router: dict[str, Any] | None
    verdict: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)


def difference_interval(k1: float, n1: float, k2: float, n2: float,
                        confidence: float = 0.95) -> tuple[float, float, float]:
    """``p2 - p1`` and its interval by Newcombe's hybrid score method (Wilson intervals of each proportion
    combined), which keeps its coverage for small counts and shares near 0 or 1."""
    p1 = k1 / n1 if n1 > 0 else 0.0
    p2 = k2 / n2 if n2 > 0 else 0.0
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p2 - p1
    return d, d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def simultaneous(confidence: float, m: int) -> float:
    """The confidence of each of ``m`` intervals so that all of them hold together at ``confidence``
    (Bonferroni): with 25 task types, one type out of 25 no longer "moves" by chance alone."""
    return 1 - (1 - confidence) / max(m, 1)


# -- reading the run -------------------------------------------------------------------------------------------------

def _reference(run: RunDir) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, str], dict[int, str]]:
    """The run's calls with their type (``id, prompt_hash, cluster_id, prompt_text`` and outcomes), its embedded
    prompts with their type (``prompt_hash, cluster_id, embedding``) and the names and families of its types."""
    import polars as pl

    for path in (run.logs, run.clusters, run.embeddings):
        if not path.exists():
            raise FileNotFoundError(f"{run.root}: no {path.name}: drift needs a run directory with task types "
                                    "(slmprofile run LOGS --out DIR)")
    logs = pl.read_parquet(run.logs)
    clusters = pl.read_parquet(run.clusters, columns=["id", "cluster_id"])
    calls = logs.join(clusters, on="id", how="left").with_columns(pl.col("cluster_id").fill_null(-1))
    calls = calls.filter(pl.col("prompt_text").is_not_null())
    labelled = calls.group_by("prompt_hash").agg(pl.col("cluster_id").mode().first())
    prompts = pl.read_parquet(run.embeddings, columns=["prompt_hash", "embedding"]).join(
        labelled, on="prompt_hash", how="inner")
    names: dict[int, str] = {-1: UNASSIGNED_NAME}
    families: dict[int, str] = {}
    if run.task_types.exists():
        tt = pl.read_parquet(run.task_types)
        if "cluster_id" in tt.columns and "task_type" in tt.columns:
            names.update({int(c): str(n) for c, n in zip(tt["cluster_id"], tt["task_type"])})
        if "cluster_id" in tt.columns and "family" in tt.columns:
            families.update({int(c): str(f) for c, f in zip(tt["cluster_id"], tt["family"]) if f is not None})
    return calls, prompts, names, families


def _embedder_for(run: RunDir) -> Any:
    """An :class:`~slmprofile.embed.Embedder` like the run's (its model when that was a local path)."""
    from ..embed import Embedder

    info: dict[str, Any] = {}
    if run.run_info.exists():
        try:
            info = json.loads(run.run_info.read_text(encoding="utf-8")).get("embed") or {}
        except (OSError, ValueError):
            info = {}
    model = info.get("model_id")
    local = model if isinstance(model, str) and Path(model).is_dir() else None
    return Embedder(local, long_text=info.get("long_text", "truncate"), progress=None)


# -- the measures ----------------------------------------------------------------------------------------------------

def _share_table(before: pl.DataFrame, after: pl.DataFrame, names: dict[int, str], families: dict[int, str],
                 settings: DriftSettings) -> pl.DataFrame:
    import polars as pl

    n1, n2 = before.height, after.height
    c1 = dict(before.group_by("cluster_id").len().iter_rows())
    c2 = dict(after.group_by("cluster_id").len().iter_rows())
    ids = [c for c in sorted(set(c1) | set(c2) | {NOVEL}, key=lambda c: (c < 0, c == NOVEL, c))
           if c != NOVEL or c2.get(c)]
    each = simultaneous(settings.confidence, len(ids))
    rows = []
    for cid in ids:
        k1, k2 = c1.get(cid, 0), c2.get(cid, 0)
        d, lo, hi = difference_interval(k1, n1, k2, n2, each)
        shifted = (lo > 0 or hi < 0) and abs(d) >= settings.min_share_change
        rows.append({"cluster_id": cid, "task_type": NEW_TYPE_NAME if cid == NOVEL else names.get(cid, f"type {cid}"),
                     "family": families.get(cid), "calls_before": k1, "share_before": k1 / n1 if n1 else 0.0,
                     "calls_after": k2, "share_after": k2 / n2 if n2 else 0.0, "change": d, "change_lo": lo,
                     "change_hi": hi, "shifted": shifted})
    return pl.DataFrame(rows, schema_overrides={"family": pl.Utf8})


def _outcomes(before: pl.DataFrame, after: pl.DataFrame, settings: DriftSettings) -> dict[int, dict[str, Any]]:
    """Per type: the small model's success rate before and after, where both windows have ``slm_correct``."""
    import polars as pl

    if "slm_correct" not in before.columns or "slm_correct" not in after.columns:
        return {}

    def rates(frame: pl.DataFrame) -> dict[int, tuple[int, int]]:
        graded = frame.filter(pl.col("slm_correct").is_not_null())
        agg = graded.group_by("cluster_id").agg(pl.col("slm_correct").cast(pl.Int64).sum().alias("k"),
                                                pl.len().alias("n"))
        return {int(c): (int(k), int(n)) for c, k, n in agg.iter_rows()}

    r1, r2 = rates(before), rates(after)
    both = sorted(set(r1) & set(r2))
    each = simultaneous(settings.confidence, len(both))
    out = {}
    for cid in both:
        (k1, n1), (k2, n2) = r1[cid], r2[cid]
        d, lo, hi = difference_interval(k1, n1, k2, n2, each)
        out[cid] = {"slm_success_before": k1 / n1, "graded_before": n1, "slm_success_after": k2 / n2,
                    "graded_after": n2, "slm_success_change": d, "slm_success_change_lo": lo,
                    "slm_success_change_hi": hi,
                    "slm_success_fell": hi < 0 and -d >= settings.min_outcome_drop}
    return out


def _sample_texts(frame: pl.DataFrame, n: int, seed: int) -> list[str]:
    texts = frame["prompt_text"]
    if len(texts) > n:
        texts = texts.sample(n, seed=seed, shuffle=True)
    return texts.to_list()


def _router_shift(run: RunDir, before: pl.DataFrame, after: pl.DataFrame,
                  settings: DriftSettings) -> dict[str, Any] | None:
    """The router's ``p_slm`` on a sample of each window, and what moved."""
    import numpy as np

    if not run.router_config.exists():
        return None
    try:
        from ..runtime import Router

        router = Router.load(run.router)
    except ImportError as exc:
        return {"skipped": f"the router could not be loaded ({exc}); install slmprofile[runtime]"}
    except (OSError, ValueError) as exc:
        return {"skipped": f"the router could not be loaded: {exc}"}
    from scipy.stats import ks_2samp

    old = router.route(_sample_texts(before, settings.max_router_calls, settings.seed))
    new = router.route(_sample_texts(after, settings.max_router_calls, settings.seed))
    k1, n1, k2, n2 = int(old.to_slm.sum()), len(old), int(new.to_slm.sum()), len(new)
    d, lo, hi = difference_interval(k1, n1, k2, n2, settings.confidence)
    ks = ks_2samp(old.p_slm, new.p_slm)
    out: dict[str, Any] = {
        "calls_routed_before": n1, "calls_routed_after": n2, "threshold": float(router.threshold),
        "p_slm_mean_before": float(np.mean(old.p_slm)), "p_slm_mean_after": float(np.mean(new.p_slm)),
        "slm_share_before": k1 / n1 if n1 else 0.0, "slm_share_after": k2 / n2 if n2 else 0.0,
        "slm_share_change": d, "slm_share_change_lo": lo, "slm_share_change_hi": hi,
        "ks_statistic": float(ks.statistic), "ks_p_value": float(ks.pvalue),
        "p_slm_before": [round(float(p), 4) for p in old.p_slm], "p_slm_after": [round(float(p), 4) for p in new.p_slm]}
    if old.novel_share is not None and new.novel_share is not None:
        out.update(router_novel_share_before=old.novel_share, router_novel_share_after=new.novel_share)
    return out


def _candidates(after: pl.DataFrame, novel_prompts: pl.DataFrame, reference_texts: Sequence[str],
                seed: int) -> tuple[pl.DataFrame, dict[str, int]]:
    """Candidate new types among the prompts that fit no type: their size, a name and examples."""
    import numpy as np
    import polars as pl

    from ..cluster.forms import cue_matrix
    from ..cluster.naming import ctfidf_keywords, type_names

    empty = pl.DataFrame(schema={"candidate": pl.Int64, "name": pl.Utf8, "calls": pl.Int64, "prompts": pl.Int64,
                                 "keywords": pl.Utf8, "examples": pl.Utf8})
    if novel_prompts.height == 0:
        return empty, {}
    X = np.asarray(novel_prompts["embedding"].to_numpy(), dtype=np.float32)
    labels = candidate_types(X)
    hashes = novel_prompts["prompt_hash"].to_list()
    by_hash = {h: int(lab) for h, lab in zip(hashes, labels.tolist())}
    if (labels < 0).all():
        return empty, by_hash
    texts = novel_prompts["prompt_text"].to_list()
    rng = np.random.default_rng(seed)
    background = [reference_texts[i] for i in rng.permutation(len(reference_texts))[:2000]]
    background_label = int(labels.max()) + 1
    keywords = ctfidf_keywords(texts + background, labels.tolist() + [background_label] * len(background))
    calls_per = after.filter(pl.col("prompt_hash").is_in(hashes)).group_by("prompt_hash").len()
    n_calls = dict(calls_per.iter_rows())
    cues = cue_matrix(novel_prompts["system_prompt"].to_list(), texts)
    rows = []
    for c in range(background_label):
        idx = np.flatnonzero(labels == c)
        if not len(idx):
            continue
        centroid = X[idx].mean(axis=0)
        central = idx[np.argsort(-(X[idx] @ centroid))[:3]]
        name = type_names([cues[idx].mean(axis=0)], {0: keywords.get(c, [])})[0][3:]
        rows.append({"candidate": c, "name": f"new: {name}", "calls": int(sum(n_calls.get(hashes[i], 0) for i in idx)),
                     "prompts": int(len(idx)), "keywords": " | ".join(keywords.get(c, [])),
                     "examples": " ||| ".join(texts[i][:300] for i in central)})
    frame = pl.DataFrame(rows, schema=empty.schema).sort("calls", descending=True) if rows else empty
    return frame, by_hash


def _verdict(summary: dict[str, Any], types: pl.DataFrame, outcomes: dict[int, dict[str, Any]],
             router: dict[str, Any] | None, names: dict[int, str], settings: DriftSettings) -> dict[str, Any]:
    reasons: list[dict[str, str]] = []
    novel = summary["novel_share"]
    n_cand = summary["candidate_types"]
    if novel >= settings.novel_share:
        reasons.append({"level": RETRAIN, "reason": (
            f"{novel:.1%} of the new calls fit no existing task type ({n_cand} candidate new "
            f"type{'s' if n_cand != 1 else ''}): the router was not trained on them and no verdict covers them")})
    for cid, o in outcomes.items():
        if o["slm_success_fell"]:
            reasons.append({"level": RETRAIN, "reason": (
                f"{names.get(cid, f'type {cid}')}: small-model success fell from {o['slm_success_before']:.1%} to "
                f"{o['slm_success_after']:.1%} (change {o['slm_success_change']:+.1%}, "
                f"simultaneous {settings.confidence:.0%} interval {o['slm_success_change_lo']:+.1%} to "
                f"{o['slm_success_change_hi']:+.1%})")})
    shifted = types.filter(types["shifted"] & (types["cluster_id"] != NOVEL))
    if shifted.height:
        moved = ", ".join(f"{r['task_type']} {r['change']:+.1%}" for r in
                          shifted.sort("change", descending=True).iter_rows(named=True))
        reasons.append({"level": REFRESH, "reason": f"the mix moved ({moved}): re-run savings on the new window"})
    if router and "slm_share_change" in router:
        d, lo, hi = router["slm_share_change"], router["slm_share_change_lo"], router["slm_share_change_hi"]
        if (lo > 0 or hi < 0) and abs(d) >= settings.router_share_change:
            reasons.append({"level": REFRESH, "reason": (
                f"the router sends {router['slm_share_after']:.1%} of calls to the small model, against "
                f"{router['slm_share_before']:.1%} before (change {d:+.1%}, interval {lo:+.1%} to {hi:+.1%}): "
                "the savings estimate is out of date")})
    levels = {r["level"] for r in reasons}
    action = RETRAIN if RETRAIN in levels else REFRESH if REFRESH in levels else NO_ACTION
    if action == NO_ACTION:
        reasons.append({"level": NO_ACTION, "reason": (
            f"no type's share moved by {settings.min_share_change:.0%} or more beyond noise, "
            f"{novel:.1%} of calls fit no type (under {settings.novel_share:.0%})"
            + (", no type's small-model success fell" if outcomes else ""))})
    headline = {RETRAIN: "Retraining recommended.", REFRESH: "No retraining needed; re-run savings: the mix moved.",
                NO_ACTION: "No action needed: the new window looks like the run."}[action]
    return {"action": action, "retrain_recommended": action == RETRAIN, "headline": headline, "reasons": reasons}


# -- the stage -------------------------------------------------------------------------------------------------------

def detect_drift(run_dir: str | Path, paths: Sequence[str | Path], out_dir: str | Path,
                 settings: DriftSettings | None = None, *, format: str | None = None,
                 mapping: str | dict[str, str] | None = None, outcomes: Sequence[str | Path] | None = None,
                 outcomes_key: str = "id", embedder: Any = None, progress: bool = False) -> DriftResult:
    """Compare a new window of logs (``paths``) with the run in ``run_dir``; write the files of
    :data:`DRIFT_FILES` into ``out_dir`` (which the caller has claimed)."""
    import numpy as np
    import polars as pl

    from ..embed import embed_prompts
    from ..ingest import ingest

    settings = (settings or DriftSettings()).check()
    run, out = RunDir(run_dir), Path(out_dir)
    before, prompts, names, families = _reference(run)
    if prompts.height < 2:
        raise ValueError(f"{run.root}: the run has fewer than 2 embedded prompts with a task type")
    placer = NearestTypes(n_neighbors=settings.n_neighbors, novelty_quantile=settings.novelty_quantile).fit(
        np.asarray(prompts["embedding"].to_numpy(), dtype=np.float32), prompts["cluster_id"].to_list())

    result = ingest(list(paths), format=format, mapping=mapping, progress=progress, outcomes=outcomes or None,
                    outcomes_key=outcomes_key)
    logs = result.frame
    redactions: dict[str, int] = {}
    if settings.redact and logs.height:
        from ..redact import redact_logs

        logs, redactions = redact_logs(logs)
    no_prompt = int(logs["prompt_text"].null_count()) if logs.height else 0
    after = logs.filter(pl.col("prompt_text").is_not_null()) if logs.height else logs
    if after.height == 0:
        raise ValueError("the new logs hold no call with a prompt to place")
    embedder = embedder or _embedder_for(run)
    vectors = embed_prompts(after, embedder=embedder)
    placement = placer.place(np.asarray(vectors["embedding"].to_numpy(), dtype=np.float32))
    placed = vectors.select("prompt_hash", "embedding").with_columns(
        pl.Series("cluster_id", placement.labels), pl.Series("nearest_cluster_id", placement.nearest_label),
        pl.Series("similarity", placement.similarity), pl.Series("novel", placement.novel))
    firsts = after.group_by("prompt_hash", maintain_order=True).agg(
        pl.col("prompt_text").first(),
        (pl.col("system_prompt").drop_nulls().first() if "system_prompt" in after.columns
         else pl.lit(None, dtype=pl.Utf8)).alias("system_prompt"))
    novel_prompts = placed.filter(pl.col("novel")).join(firsts, on="prompt_hash", how="left")
    candidates, candidate_of = _candidates(after, novel_prompts, before["prompt_text"].unique(maintain_order=True)
                                           .to_list(), settings.seed)
    after = after.join(placed.drop("embedding"), on="prompt_hash", how="left").with_columns(
        pl.col("prompt_hash").replace_strict(candidate_of, default=None, return_dtype=pl.Int64).alias("candidate"))

    types = _share_table(before, after, names, families, settings)
    outcome_rows = _outcomes(before, after, settings)
    if outcome_rows:
        extra = pl.DataFrame([{"cluster_id": c, **{k: v for k, v in o.items()}} for c, o in outcome_rows.items()])
        types = types.join(extra, on="cluster_id", how="left")
    router = _router_shift(run, before, after, settings)
    novel_calls = int(after["novel"].sum())
    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "run_dir": str(run.root),
        "inputs": [str(p) for p in paths], "calls_before": before.height, "calls_after": after.height,
        "calls_after_without_prompt": no_prompt, "rows_read": result.report.rows_read,
        "rows_skipped": result.report.rows_skipped, "redactions": redactions,
        "task_types": len([c for c in names if c >= 0]), "novel_calls": novel_calls,
        "novel_share": novel_calls / after.height, "candidate_types": candidates.height,
        "placement_agreement": placer.agreement_, "settings": asdict(settings),
        "z": z_value(settings.confidence)}
    verdict = _verdict(summary, types, outcome_rows, router, names, settings)
    calls = after.select("id", "prompt_hash", "cluster_id", "nearest_cluster_id", "similarity", "novel", "candidate",
                         *[c for c in ("timestamp", "model", "slm_correct") if c in after.columns])
    drift = DriftResult(summary=summary, types=types, calls=calls, candidates=candidates, router=router,
                        verdict=verdict)
    drift.files = write_drift(drift, out)
    return drift


def write_drift(drift: DriftResult, out: Path) -> dict[str, str]:
    """Write ``drift.json``, the per-type CSV, the per-call Parquet, the candidates CSV and the HTML page."""
    from .drift_page import render_drift

    out.mkdir(parents=True, exist_ok=True)
    files = {name: str(out / name) for name in DRIFT_FILES}
    router = {k: v for k, v in (drift.router or {}).items() if not isinstance(v, list)}  # the p_slm samples: HTML
    payload = {**drift.summary, "verdict": drift.verdict, "router": router or None,
               "types": drift.types.to_dicts(), "candidates": drift.candidates.to_dicts()}
    (out / DRIFT_JSON).write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    drift.types.write_csv(out / DRIFT_TYPES)
    drift.calls.write_parquet(out / DRIFT_CALLS)
    drift.candidates.write_csv(out / DRIFT_CANDIDATES)
    (out / DRIFT_HTML).write_text(render_drift(drift), encoding="utf-8")
    return files
