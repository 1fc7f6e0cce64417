"""Task types for logs too large to embed whole: fit on a sample, let pure templates assign the rest.

Embedding is the cost of a large run (on 2 CPU cores about 65-100 prompts a second), and most distinct prompts of
real logs are one of a few hundred templates filled with different data. :func:`discover_task_types_sampled`
therefore embeds only what it needs:

1. the distinct prompts are collected lazily (one row per prompt, no per-call text kept);
2. a seeded random sample of ``fit_sample`` of them is drawn; of a template group the sample holds more than
   ``fit_per_group`` prompts of (and at most a fifth of the sample), only that many are kept (a template filled with different data is one task type
   long before its thousandth prompt: embedding them all was most of a large run's time); the kept prompts are
   embedded and the :class:`TaskTypeClusterer` is fit on them. A thinned group the fit does not show in one task
   type (a generic system prompt shared by different tasks, say) gets all its sampled prompts back and the
   clusterer is fit again, so only groups that are one task type stay thinned;
3. a template group (:func:`~slmprofile.cluster.template_groups`) with at least ``template_min`` prompts in the
   sample, at least ``template_purity`` of them in one task type, gives that type to its prompts outside the sample
   without embedding them (flag ``template``, no distance);
4. every other prompt (no template, a small template, or one the sample saw split over types) is embedded and
   assigned to its nearest centroid like any out-of-sample prompt;
5. an audit: ``audit`` prompts drawn from those the templates assigned are embedded and assigned by centroid too;
   the share on which the two agree is reported (``summary["sampled"]["audit_agreement"]``) and the audited prompts
   keep their centroid assignment.

With ``template_purity=1.0`` and ``template_min`` larger than the sample nothing is assigned by template and the
result is the plain fit-on-a-sample, assign-the-rest run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import TaskTypeResult, describe_task_types
from .forms import FormSignals
from .model import FLAG_ASSIGNED, FLAG_TEMPLATE, FLAG_UNASSIGNED, TaskTypeClusterer
from .views import PromptViews, request_text

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import polars as pl

logger = logging.getLogger(__name__)

#: At most this many prompts of one template group in the fit sample (see the module docs, step 2): plenty to show
#: whether the group is one task type (``template_min`` = 20 decide it) and to give its type a shape.
FIT_PER_GROUP = 200
#: ... unless the group holds more than this share of the uniform sample: a system prompt shared by most calls (a
#: generic "You are a helpful assistant") is no evidence of one task, and thinned it would leave the fit little else.
THIN_MAX_SHARE = 0.2


#: Column of the sampled path's ``embeddings.parquet``: True for the prompts of the fit sample: a seeded uniform
#: sample of the distinct prompts (each drawn with the same chance, whatever its frequency, template or outcome),
#: thinned within large template groups. The router draws its training calls from them first and embeds nothing
#: new (:func:`slmprofile.router.data.load_run_data`).
FIT_SAMPLE_COLUMN = "fit_sample"
#: Column beside it: how many of the uniform sample's prompts each fit prompt stands for (1, or more in a template
#: group thinned to ``fit_per_group``; null outside the fit sample). The router weighs the calls it draws from the
#: fit sample by it, so that its training calls stand for all calls as a uniform sample would.
FIT_WEIGHT_COLUMN = "fit_weight"


@dataclass
class SampledResult:
    """The task types, the embeddings that were computed (``prompt_hash, n_calls, template_id, embedding,
    fit_sample``: the sample, the prompts no template could place, the audit) and how the prompts were placed."""

    result: TaskTypeResult
    embeddings: pl.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def distinct_prompts_lazy(logs: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per distinct prompt (``prompt_hash, prompt_text, system_prompt, template_id, n_calls``), ordered by
    hash, aggregated without collecting the calls.

    Two streaming passes: the first finds each prompt's first call (and first call with a system prompt) from the
    hashes alone, the second reads the texts of those calls only. Grouping the texts directly holds every call's
    text in the aggregation, about four times the memory at a million calls."""
    import polars as pl

    lazy = logs.lazy()
    names = lazy.collect_schema().names()
    has_system = "system_prompt" in names
    indexed = lazy.with_row_index("_row")
    first = (indexed.select("_row", "prompt_hash",
                            (pl.col("system_prompt").is_not_null() if has_system else pl.lit(False)).alias("_sys"))
             .group_by("prompt_hash")
             .agg(pl.col("_row").first(), pl.col("_row").filter(pl.col("_sys")).first().alias("_sys_row"),
                  pl.len().cast(pl.Int64).alias("n_calls"))
             .collect(engine="streaming"))
    wanted = pl.concat([first["_row"], first["_sys_row"].drop_nulls()]).unique()
    columns = ["_row", "prompt_text"] + [c for c in ("system_prompt", "template_id") if c in names]
    rows = indexed.filter(pl.col("_row").is_in(wanted.implode())).select(columns).collect(engine="streaming")
    template = pl.col("template_id") if "template_id" in names else pl.lit(None, dtype=pl.Utf8).alias("template_id")
    out = first.join(rows.select("_row", "prompt_text", template), on="_row", how="left")
    if has_system:
        out = out.join(rows.select(pl.col("_row").alias("_sys_row"), "system_prompt"), on="_sys_row", how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Utf8).alias("system_prompt"))
    return (out.select("prompt_hash", "prompt_text", "system_prompt", pl.col("template_id").cast(pl.Utf8),
                       "n_calls").sort("prompt_hash"))


def _texts(column: pl.Series, idx: np.ndarray) -> list[str]:
    return column.gather(idx.tolist()).to_list()


def _template_groups_chunked(distinct: pl.DataFrame, *, chunk: int = 100_000) -> np.ndarray:
    """:func:`~slmprofile.cluster.template_groups` of every distinct prompt, computed slice by slice (the opening
    instructions of each slice, then the keys shared by too few prompts dropped over all of them), so that the
    texts are never all Python strings at once."""
    from collections import Counter

    import numpy as np

    from ..templates import INSTRUCTION_MIN_COUNT, instruction_keys

    keys: list[str | None] = []
    for part in distinct.select("system_prompt", "prompt_text").iter_slices(chunk):
        keys.extend(instruction_keys(part["system_prompt"].to_list(), part["prompt_text"].to_list(), min_count=1))
    counts = Counter(k for k in keys if k is not None)
    templates = distinct["template_id"].to_list()
    return np.asarray([k if k is not None and counts[k] >= INSTRUCTION_MIN_COUNT else t
                       for k, t in zip(keys, templates)], dtype=object)


def _thin_groups(idx: np.ndarray, groups: np.ndarray, cap: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``idx`` with at most ``cap`` positions of any template group that holds at most :data:`THIN_MAX_SHARE` of
    them (a seeded choice; prompts without a group, and a group so large that the fit would see little else, all
    kept), and each kept position's weight: its group's positions in ``idx`` over those kept."""
    import numpy as np
    import polars as pl

    if cap is None or not len(idx):
        return idx, np.ones(len(idx))
    frame = pl.DataFrame({"pos": idx, "group": [None if g is None else str(g) for g in groups[idx].tolist()],
                          "r": np.random.default_rng(seed).random(len(idx))},
                         schema={"pos": pl.Int64, "group": pl.Utf8, "r": pl.Float64})
    frame = frame.with_columns(pl.col("r").rank("ordinal").over("group").alias("rank"),
                               pl.len().over("group").alias("size"))
    whole = pl.col("group").is_null() | (pl.col("size") > THIN_MAX_SHARE * len(idx))
    kept = frame.filter(whole | (pl.col("rank") <= cap)).sort("pos")
    weight = kept.select(pl.when(whole).then(1.0)
                         .otherwise(pl.col("size") / pl.min_horizontal(pl.col("size"), cap))).to_series()
    return kept["pos"].to_numpy(), weight.to_numpy()


def _pure_groups(groups: list[Any], labels: np.ndarray, *, template_min: int, purity: float) -> dict[str, int]:
    """Template groups with at least ``template_min`` prompts among ``groups``, at least ``purity`` of them in one
    task type (not noise): group -> that type."""
    import polars as pl

    fitted = pl.DataFrame({"group": [None if g is None else str(g) for g in groups],
                           "label": labels.astype("int64")},
                          schema={"group": pl.Utf8, "label": pl.Int64}).drop_nulls("group")
    per_group = (fitted.group_by("group", "label").len()
                 .sort(["group", "len", "label"], descending=[False, True, False])
                 .group_by("group", maintain_order=True)
                 .agg(pl.col("len").sum().alias("n"), pl.col("label").first().alias("top"),
                      pl.col("len").first().alias("top_n")))
    pure = per_group.filter((pl.col("n") >= template_min) & (pl.col("top") >= 0)
                            & (pl.col("top_n") >= purity * pl.col("n")))
    return dict(zip(pure["group"].to_list(), pure["top"].to_list()))


def _sample_views(logs: pl.DataFrame | pl.LazyFrame, hashes: pl.Series, prompt_col: pl.Series,
                  fit_system: pl.Series, fit_idx: np.ndarray, embedder: Any) -> PromptViews:
    """Request and response views of the fitted sample; responses are looked up in ``logs`` (one lazy pass) only
    for the few prompts the view merge samples."""
    import polars as pl

    def texts(idx: np.ndarray) -> tuple[list[str], list[str | None]]:
        rows = fit_idx[idx].tolist()
        wanted = hashes.gather(rows)
        lazy = logs.lazy()
        if "response_text" in lazy.collect_schema().names():
            found = (lazy.select("prompt_hash", "response_text")
                     .filter(pl.col("prompt_hash").is_in(wanted.implode()) & pl.col("response_text").is_not_null()
                             & (pl.col("response_text").str.strip_chars() != ""))
                     .group_by("prompt_hash").agg(pl.col("response_text").first())
                     .collect(engine="streaming"))
            response = dict(zip(found["prompt_hash"].to_list(), found["response_text"].to_list()))
        else:
            response = {}
        systems = fit_system.gather(idx.tolist()).to_list()
        prompts = prompt_col.gather(rows).to_list()
        return ([request_text(s, p) for s, p in zip(systems, prompts)],
                [response.get(h) for h in wanted.to_list()])

    return PromptViews(texts=texts, encode=embedder.encode)


def discover_task_types_sampled(logs: pl.DataFrame | pl.LazyFrame, *, embedder: Any,
                                clusterer: TaskTypeClusterer | None = None, fit_sample: int = 50_000,
                                fit_per_group: int | None = FIT_PER_GROUP,
                                template_min: int = 20, template_purity: float = 0.95, audit: int = 1000,
                                random_state: int = 0, n_keywords: int = 5, n_examples: int = 3,
                                use_form: bool = True) -> SampledResult:
    """Task types of ``logs`` (a ``LazyFrame`` over Parquet parts, or a frame) embedding only a sample, the prompts
    no pure template places, and an audit of those it does (see the module docs)."""
    import numpy as np
    import polars as pl

    if not 0 < template_purity <= 1:
        raise ValueError(f"template_purity must be in (0, 1]; got {template_purity!r}")
    if fit_sample < 10:
        raise ValueError(f"fit_sample must be at least 10; got {fit_sample!r}")
    if fit_per_group is not None and fit_per_group < 1:
        raise ValueError(f"fit_per_group must be None (no thinning) or at least 1; got {fit_per_group!r}")
    distinct = distinct_prompts_lazy(logs)
    n = distinct.height
    groups = _template_groups_chunked(distinct)
    rng = np.random.default_rng(random_state)
    uniform_idx = np.sort(rng.choice(n, fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    fit_idx, fit_weight = _thin_groups(uniform_idx, groups, fit_per_group, random_state)
    system_col = distinct["system_prompt"]  # for the form signals of the prompts embedded later
    distinct = distinct.drop("system_prompt")
    prompt_col = distinct["prompt_text"].fill_null("")  # no Python list of every prompt: fetched where needed
    clusterer = clusterer or TaskTypeClusterer(random_state=random_state, keep_reducer=False)

    def fit(idx: np.ndarray, systems: pl.Series, prompts: pl.Series, hashes: pl.Series) -> tuple[Any, Any]:
        logger.info("task types: embedding a sample of %d of %d distinct prompts", len(idx), n)
        fit_system = systems.gather(idx.tolist())
        X = embedder.encode(_texts(prompts, idx))
        form = FormSignals.from_texts(fit_system.to_list(), _texts(prompts, idx), embedder.encode) \
            if use_form else None
        if clusterer.max_fit_samples < len(idx):
            clusterer.max_fit_samples = len(idx)
        clusterer.fit(X, groups=groups[idx].tolist(),
                      views=_sample_views(logs, hashes, prompts, fit_system, idx, embedder), form=form)
        return X, form

    X_fit, form_fit = fit(fit_idx, system_col, prompt_col, distinct["prompt_hash"])
    thinned = {str(g) for g, w in zip(groups[fit_idx].tolist(), fit_weight) if w > 1}
    restored: list[str] = []
    if thinned:  # a thinned group the fit splits over types, or leaves as noise: all its sampled prompts, refit
        pure = _pure_groups(groups[fit_idx].tolist(), clusterer.labels_, template_min=template_min,
                            purity=template_purity)
        restored = sorted(thinned - set(pure))
        if restored:
            back = set(restored)
            weight_of = dict(zip(fit_idx.tolist(), fit_weight.tolist()))
            fit_idx = np.union1d(fit_idx, uniform_idx[[g is not None and str(g) in back
                                                       for g in groups[uniform_idx].tolist()]])
            fit_weight = np.array([1.0 if g is not None and str(g) in back else weight_of[i]
                                   for i, g in zip(fit_idx.tolist(), groups[fit_idx].tolist())])
            logger.info("task types: %d thinned template groups span several types; fitting again on %d prompts",
                        len(restored), len(fit_idx))
            X_fit, form_fit = fit(fit_idx, system_col, prompt_col, distinct["prompt_hash"])

    labels = np.full(n, -1, dtype=np.int64)
    distances = np.full(n, np.nan)
    flags = np.array([FLAG_UNASSIGNED] * n, dtype=object)
    labels[fit_idx] = clusterer.labels_
    distances[fit_idx] = clusterer.distances_
    flags[fit_idx] = clusterer.flags_

    # which template groups the sample shows in one task type
    in_sample = np.zeros(n, dtype=bool)
    in_sample[fit_idx] = True
    pure_label = _pure_groups(groups[fit_idx].tolist(), clusterer.labels_, template_min=template_min,
                              purity=template_purity)
    rest = np.flatnonzero(~in_sample)
    by_template = np.array([i for i in rest if groups[i] is not None and str(groups[i]) in pure_label], dtype=np.int64)
    to_embed = np.setdiff1d(rest, by_template)
    audit_idx = np.sort(rng.choice(by_template, min(audit, len(by_template)), replace=False)) \
        if len(by_template) else np.zeros(0, dtype=np.int64)
    template_labels = np.array([pure_label[str(groups[i])] for i in by_template], dtype=np.int64)
    labels[by_template] = template_labels
    flags[by_template] = FLAG_TEMPLATE

    embed_idx = np.concatenate([to_embed, audit_idx]).astype(np.int64)
    logger.info("task types: %d prompts placed by %d pure templates; embedding %d more (%d of them an audit)",
                len(by_template), len(pure_label), len(embed_idx), len(audit_idx))
    agreement = None
    if len(embed_idx):
        X_rest = embedder.encode(_texts(prompt_col, embed_idx))
        form_rest = FormSignals.from_texts(system_col.gather(embed_idx.tolist()).to_list(),
                                           _texts(prompt_col, embed_idx), embedder.encode) if use_form else None
        lab_rest, dist_rest = clusterer.assign(X_rest, groups=groups[embed_idx].tolist(), form=form_rest)
        if len(audit_idx):
            before = labels[audit_idx].copy()
            agreement = float(np.mean(lab_rest[len(to_embed):] == before))
        labels[embed_idx] = lab_rest
        distances[embed_idx] = dist_rest
        flags[embed_idx] = np.where(lab_rest >= 0, FLAG_ASSIGNED, FLAG_UNASSIGNED)
    else:
        X_rest = np.zeros((0, X_fit.shape[1]), dtype=np.float32)
        form_rest = None
    del system_col
    cues = None if form_fit is None else np.concatenate(
        [form_fit.cues] + ([form_rest.cues] if form_rest is not None else []))

    all_embedded = np.concatenate([fit_idx, embed_idx]).astype(np.int64)
    X_all = np.concatenate([np.asarray(X_fit, dtype=np.float32), np.asarray(X_rest, dtype=np.float32)])
    del X_fit, X_rest
    embedded_texts = _texts(prompt_col, all_embedded)
    dist_col = pl.Series("distance", distances, dtype=pl.Float64)
    prompts = distinct.select("prompt_hash", "n_calls", "template_id").with_columns(
        pl.Series("cluster_id", labels, dtype=pl.Int64),
        pl.when(dist_col.is_nan()).then(None).otherwise(dist_col).alias("distance"),
        pl.Series("flags", flags.tolist(), dtype=pl.Utf8))
    in_fit = np.zeros(len(all_embedded), dtype=bool)
    in_fit[:len(fit_idx)] = True
    weights = np.full(len(all_embedded), np.nan)
    weights[:len(fit_idx)] = fit_weight
    weight_col = pl.Series(FIT_WEIGHT_COLUMN, weights, dtype=pl.Float64)
    embeddings = distinct[all_embedded.tolist()].select("prompt_hash", "n_calls", "template_id").with_columns(
        pl.Series("embedding", X_all, dtype=pl.Array(pl.Float32, X_all.shape[1])),
        pl.Series(FIT_SAMPLE_COLUMN, in_fit, dtype=pl.Boolean),
        pl.when(weight_col.is_nan()).then(None).otherwise(weight_col).alias(FIT_WEIGHT_COLUMN))
    del distinct, prompt_col  # the prompt texts: only the embedded ones are needed from here on
    info = {
        "distinct_prompts": n,
        "fit_sample": int(len(fit_idx)),
        "uniform_sample": int(len(uniform_idx)),
        "fit_per_group": fit_per_group,
        "groups_thinned": len(thinned),
        "groups_restored": len(restored),
        "pure_templates": len(pure_label),
        "template_min": template_min,
        "template_purity": template_purity,
        "prompts_by_template": int(len(by_template) - len(audit_idx)),
        "prompts_embedded": int(len(all_embedded)),
        "embedded_share": round(len(all_embedded) / max(n, 1), 4),
        "audit_prompts": int(len(audit_idx)),
        "audit_agreement": None if agreement is None else round(agreement, 4),
    }
    logger.info("task types (sampled): %s", info)
    result = describe_task_types(logs, prompts, clusterer, texts=embedded_texts, X=X_all,
                                 labels=labels[all_embedded], embedder=embedder, n_keywords=n_keywords,
                                 n_examples=n_examples, cues=cues,
                                 extra_summary={"prompts_template": int((flags == FLAG_TEMPLATE).sum()),
                                                "sampled": info})
    return SampledResult(result=result, embeddings=embeddings, info=info)
