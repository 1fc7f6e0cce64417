"""Test helpers that ship with slmprofile: a local fake OpenAI-compatible server for tests and offline demos, and a
run directory built from the bundled sample's ground truth (no embedding needed).

>>> from slmprofile.testing import FakeOpenAI
>>> with FakeOpenAI() as server:                     # doctest: +SKIP
...     print(server.base_url)                        # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

from pathlib import Path

from .fake_openai import FakeOpenAI, Fault, judge_rule, reference_answerer, rule_based_answer
from ..rundir import RunDir

__all__ = ["FakeOpenAI", "Fault", "judge_rule", "reference_answerer", "rule_based_answer", "truth_run_dir"]


def truth_run_dir(data_dir: str | Path, out_dir: str | Path, *, outcomes: bool = False) -> Path:
    """Write ``logs.parquet``, ``clusters.parquet`` and ``task_types.parquet`` of the sample in ``data_dir`` (the
    output of ``slmprofile sample``) into ``out_dir``, with each call in its *true* task type from ``truth.csv``
    instead of discovered ones: a run directory for tests and demos of the later stages in seconds. Archetypes come
    from response shape only (no embeddings); ``distance`` is 0 for every call. With ``outcomes`` the sample's
    offline eval is joined to the logs."""
    import numpy as np
    import polars as pl

    from ..cluster.archetypes import tag_archetypes
    from ..cluster.stats import task_type_stats
    from ..ingest import ingest
    from ..redact import redact_logs

    data, out = Path(data_dir), Path(out_dir)
    evals = data / "evals" / "offline_eval.csv"
    logs = ingest([data / "logs"], outcomes=evals if outcomes and evals.is_file() else None).frame
    logs, _ = redact_logs(logs)
    truth = pl.read_csv(data / "truth.csv").select("id", "task_type", "family")
    tasks = sorted(truth["task_type"].unique().to_list())
    clusters = logs.select("id").join(truth, on="id", how="left").with_columns(
        pl.col("task_type").replace_strict({t: i for i, t in enumerate(tasks)}, default=-1, return_dtype=pl.Int64)
        .alias("cluster_id"), pl.lit(0.0).alias("distance"), pl.lit("core").alias("flags"),
        pl.col("family").fill_null("unassigned"), pl.col("task_type").fill_null("unassigned"))
    clusters = clusters.select("id", "cluster_id", "task_type", "family", "distance", "flags")
    stats = task_type_stats(logs.join(clusters, on="id")).sort("cluster_id")
    names = dict(zip(clusters["cluster_id"].to_list(), clusters["task_type"].to_list()))
    families = dict(zip(clusters["cluster_id"].to_list(), clusters["family"].to_list()))
    tags = tag_archetypes(np.zeros((stats.height, 1)), stats.to_dicts(), None)
    stats = stats.with_columns(pl.Series("task_type", [names[c] for c in stats["cluster_id"]]),
                               pl.Series("family", [families[c] for c in stats["cluster_id"]]),
                               pl.Series("archetype", [t["archetype"] for t in tags]),
                               pl.Series("archetype_evidence", [t["evidence"] for t in tags]))
    out.mkdir(parents=True, exist_ok=True)
    logs.write_parquet(RunDir(out).logs)
    clusters.write_parquet(RunDir(out).clusters)
    stats.write_parquet(RunDir(out).task_types)
    return out
