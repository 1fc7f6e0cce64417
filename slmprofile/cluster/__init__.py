"""Task types: cluster logged prompts into named, measured task types and families.

>>> result = discover_task_types(logs, embeddings)          # doctest: +SKIP
>>> result.task_types.select("task_type", "calls", "share", "cost_per_month")   # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .forms import FormSignals
from .model import FLAG_ASSIGNED, FLAG_CORE, FLAG_UNASSIGNED, Selection, TaskTypeClusterer
from .reduce import REDUCERS, make_reducer
from .views import PromptViews
from ..rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

logger = logging.getLogger(__name__)

__all__ = ["FLAG_ASSIGNED", "FLAG_CORE", "FLAG_UNASSIGNED", "REDUCERS", "FormSignals", "PromptViews", "Selection", "TaskTypeClusterer",
           "template_groups",
           "TaskTypeResult", "describe_task_types", "discover_task_types", "make_reducer"]

UNASSIGNED_NAME = "unassigned"


@dataclass
class TaskTypeResult:
    """What :func:`discover_task_types` found.

    ``clusters``: one row per call (``id, cluster_id, task_type, family, distance, flags``), ``-1`` = unassigned.
    ``prompts``: one row per distinct prompt with its cluster columns. ``task_types``: one row per task type with
    its name, keywords, examples and statistics. ``model``: the fitted :class:`TaskTypeClusterer`.
    """

    clusters: pl.DataFrame
    prompts: pl.DataFrame
    task_types: pl.DataFrame
    model: TaskTypeClusterer
    summary: dict[str, Any] = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> dict[str, str]:
        """Write ``clusters.parquet``, ``task_types.parquet`` and ``task_types.csv`` (list columns as text)."""
        import polars as pl

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.clusters.write_parquet(RunDir(out).clusters)
        self.task_types.write_parquet(RunDir(out).task_types)
        flat = self.task_types.with_columns(
            [pl.col(c).list.join(" | ") for c, t in self.task_types.schema.items() if isinstance(t, pl.List)])
        flat.write_csv(RunDir(out).task_types_csv)
        return {"clusters": str(RunDir(out).clusters), "task_types": str(RunDir(out).task_types),
                "task_types_csv": str(RunDir(out).task_types_csv)}


def _embedding_matrix(embeddings: pl.DataFrame) -> Any:
    import numpy as np

    return np.asarray(embeddings["embedding"].to_numpy(), dtype=np.float32)


def template_groups(prompts: pl.DataFrame) -> list[str | None]:
    """Per distinct prompt: its opening-instruction key when shared (see
    :func:`slmprofile.templates.instruction_keys`), else its ``template_id``."""
    from ..templates import instruction_keys

    keys = instruction_keys(prompts["system_prompt"].to_list(), prompts["prompt_text"].to_list())
    templates = prompts["template_id"].to_list() if "template_id" in prompts.columns else [None] * len(keys)
    return [k if k is not None else t for k, t in zip(keys, templates)]


def encoder(embedder: Any = None) -> Any:
    """``embedder.encode``, or that of a bundled-model :class:`~slmprofile.embed.Embedder` made on first use."""
    if embedder is not None:
        return embedder.encode
    made: list[Any] = []

    def encode(texts: list[str]) -> Any:
        if not made:
            from ..embed import Embedder

            made.append(Embedder(progress=False))
        return made[0].encode(texts)

    return encode


def discover_task_types(logs: pl.DataFrame, embeddings: pl.DataFrame, *, clusterer: TaskTypeClusterer | None = None,
                        embedder: Any = None, use_templates: bool = True, use_form: bool = True,
                        n_keywords: int = 5, n_examples: int = 3) -> TaskTypeResult:
    """Cluster the distinct prompts of ``logs`` (embedded in ``embeddings``) into task types and families.

    Clustering runs on distinct prompts (a prompt repeated 1,000 times is one point), then every call inherits its
    prompt's task type. Names come from c-TF-IDF keywords of the (redacted) prompts; examples are the prompts
    nearest each centroid. Archetypes (:mod:`slmprofile.cluster.archetypes`) use the response statistics and,
    when ``embedder`` (the model that made ``embeddings``) is given, similarity to archetype descriptions.
    Clusters asked and answered alike are joined (:mod:`slmprofile.cluster.views`); their request and response
    views are embedded with ``embedder`` (the bundled model when None). With ``use_form`` (default), each request's
    form signals (:mod:`slmprofile.cluster.forms`: answer-format cues and its content-masked text, embedded with
    the same model) keep forms apart inside types, make families task forms, and name both.
    """
    import polars as pl

    clusterer = clusterer or TaskTypeClusterer()
    present = logs.select("prompt_hash").unique()
    emb = embeddings.join(present, on="prompt_hash", how="semi")
    missing = present.join(emb.select("prompt_hash"), on="prompt_hash", how="anti").height
    if missing:
        raise ValueError(f"{missing} distinct prompts of the logs have no embedding: embed the same logs first")
    texts = logs.group_by("prompt_hash", maintain_order=True).agg(
        pl.col("prompt_text").first(),
        *[(pl.col(c).drop_nulls().first() if c in logs.columns else pl.lit(None, dtype=pl.Utf8)).alias(c)
          for c in ("system_prompt", "response_text")])
    emb = emb.join(texts, on="prompt_hash", how="left")
    X = _embedding_matrix(emb)
    groups = template_groups(emb) if use_templates else None
    encode = encoder(embedder)
    views = PromptViews.from_columns(emb["system_prompt"].to_list(), emb["prompt_text"].to_list(),
                                     emb["response_text"].to_list(), encode)
    form = FormSignals.from_texts(emb["system_prompt"].to_list(), emb["prompt_text"].to_list(), encode) \
        if use_form else None
    clusterer.fit(X, groups=groups, views=views, form=form)
    prompts = emb.select("prompt_hash", "n_calls", "template_id").with_columns(
        pl.Series("cluster_id", clusterer.labels_, dtype=pl.Int64),
        pl.Series("distance", clusterer.distances_, dtype=pl.Float64),
        pl.Series("flags", clusterer.flags_.tolist(), dtype=pl.Utf8))
    return describe_task_types(logs, prompts, clusterer, texts=emb["prompt_text"].to_list(), X=X,
                               labels=clusterer.labels_, embedder=embedder, n_keywords=n_keywords,
                               n_examples=n_examples, cues=None if form is None else form.cues,
                               prompt_families=clusterer.prompt_families_ if form is not None else None)


def describe_task_types(logs: pl.DataFrame | pl.LazyFrame, prompts: pl.DataFrame, clusterer: TaskTypeClusterer, *,
                        texts: list[str], X: Any, labels: Any, embedder: Any = None, n_keywords: int = 5,
                        n_examples: int = 3, extra_summary: dict[str, Any] | None = None,
                        cues: Any = None, prompt_families: Any = None) -> TaskTypeResult:
    """Name, describe and measure the task types of a fitted ``clusterer``.

    ``prompts``: one row per distinct prompt of ``logs`` (``prompt_hash, n_calls, template_id, cluster_id,
    distance, flags``). ``texts``, ``X`` and ``labels``: the embedded prompts the names, keywords and central
    examples come from (all of them, or the embedded part of a sampled run). ``logs`` may be a ``LazyFrame``:
    calls are joined and aggregated lazily, and only the cluster columns of each call are collected. ``cues``: the
    answer-format cues of the same prompts (:func:`~slmprofile.cluster.forms.cue_matrix`), for names by task form
    and archetypes that hold without responses (computed from ``texts`` alone when None). ``prompt_families``: the
    family of each row of ``prompts`` (e.g. the clusterer's ``prompt_families_``), so that an unassigned prompt
    still shows the form it reads as; without it, unassigned prompts have the family ``unassigned``.
    """
    import numpy as np
    import polars as pl

    from .archetypes import tag_archetypes
    from .forms import cue_matrix
    from .naming import central_examples, ctfidf_keywords, family_names, type_names
    from .stats import task_type_stats

    labels = np.asarray(labels)
    Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    centroids = clusterer.content_centroids() if hasattr(clusterer, "content_dims_") else clusterer.centroids_
    cues = np.asarray(cues) if cues is not None else cue_matrix([None] * len(texts), texts)
    keywords = ctfidf_keywords(texts, labels, top=n_keywords)
    examples = central_examples(Xn, labels, centroids, n=n_examples)
    k = len(clusterer.centroids_)
    type_cues = [cues[labels == c] for c in range(k)]
    names = type_names(type_cues, keywords)
    fam_labels = clusterer.families_
    fam_of_prompt = np.array([int(fam_labels[c]) if c >= 0 else -1 for c in labels], dtype=np.int64)
    fam_keywords = ctfidf_keywords(texts, fam_of_prompt, top=3)
    fam_names = family_names({int(f): cues[fam_of_prompt == f] for f in set(fam_labels.tolist())}, fam_keywords)
    if prompt_families is not None and len(prompt_families) == prompts.height:
        family = pl.Series("family", [fam_names.get(int(f), UNASSIGNED_NAME) if f >= 0 else UNASSIGNED_NAME
                                      for f in np.asarray(prompt_families)], dtype=pl.Utf8)
    else:
        family = pl.col("cluster_id").replace_strict({c: fam_names.get(int(fam_labels[c]), "F?") for c in range(k)},
                                                     default=UNASSIGNED_NAME, return_dtype=pl.Utf8).alias("family")
    prompts = prompts.with_columns(
        pl.col("cluster_id").replace_strict(names, default=UNASSIGNED_NAME, return_dtype=pl.Utf8).alias("task_type"),
        family,
    )
    calls = logs.lazy().join(
        prompts.lazy().select("prompt_hash", "cluster_id", "task_type", "family", "distance", "flags"),
        on="prompt_hash", how="left", maintain_order="left")
    clusters = calls.select("id", "cluster_id", "task_type", "family", "distance", "flags").collect()
    stats = task_type_stats(calls)
    example_texts = {c: [texts[i][:300] for i in idx] for c, idx in examples.items()}
    by_id = {row["cluster_id"]: row for row in stats.iter_rows(named=True)}
    tags = tag_archetypes(centroids, [by_id.get(c, {}) for c in range(k)], embedder, cues=type_cues)
    meta = pl.DataFrame({
        "cluster_id": list(range(k)) + [-1],
        "task_type": [names[c] for c in range(k)] + [UNASSIGNED_NAME],
        "family": [fam_names.get(int(fam_labels[c]), "F?") for c in range(k)] + [UNASSIGNED_NAME],
        "keywords": [keywords.get(c, []) for c in range(k)] + [[]],
        "stability": [float(clusterer.stability_[c]) for c in range(k)] + [None],
        "archetype": [t["archetype"] for t in tags] + [None],
        "archetype_evidence": [t["evidence"] for t in tags] + [None],
        "archetype_confidence": [t["confidence"] for t in tags] + [None],
        "examples": [example_texts.get(c, []) for c in range(k)] + [[]],
    }, schema={"cluster_id": pl.Int64, "task_type": pl.Utf8, "family": pl.Utf8, "keywords": pl.List(pl.Utf8),
               "stability": pl.Float64, "archetype": pl.Utf8, "archetype_evidence": pl.Utf8,
               "archetype_confidence": pl.Float64,
               "examples": pl.List(pl.Utf8)})
    task_types = meta.join(stats, on="cluster_id", how="inner").sort(
        [pl.col("cluster_id") < 0, "calls"], descending=[False, True])
    flags = prompts["flags"]
    summary = {
        "prompts": prompts.height, "calls": clusters.height, "task_types": k,
        "families": len(set(fam_labels.tolist())),
        "family_basis": getattr(clusterer, "family_basis_", "content"),
        "min_cluster_size": getattr(clusterer, "min_cluster_size_", None),
        "clusters_merged_by_template": getattr(clusterer, "n_merged_", 0),
        "view_merge": clusterer.view_merge_.summary() if hasattr(clusterer, "view_merge_") else None,
        "prompts_core": int((flags == FLAG_CORE).sum()),
        "prompts_assigned": int((flags == FLAG_ASSIGNED).sum()),
        "prompts_unassigned": int((flags == FLAG_UNASSIGNED).sum()),
        "calls_unassigned": int((clusters["cluster_id"] < 0).sum()),
        **(extra_summary or {}),
        "selection": [vars(s) | {"score": s.score} for s in getattr(clusterer, "selection_", [])],
    }
    logger.info("task types: %s", json.dumps({k_: v for k_, v in summary.items() if k_ != "selection"}))
    return TaskTypeResult(clusters=clusters, prompts=prompts, task_types=task_types, model=clusterer, summary=summary)
