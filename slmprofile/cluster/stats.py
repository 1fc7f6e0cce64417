"""Per-task-type statistics over the calls: volume, share, tokens, cost (total and per month), latency, errors,
models, templates, response shape and weekly share (drift)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

DAYS_PER_MONTH = 30.44

#: A response "is code" when it has a fenced block or starts like SQL / Python / a diff review.
CODE_PATTERN = r"```|^\s*(?i:SELECT|WITH|INSERT|UPDATE|CREATE|def |class |import |from \w+ import)"


def months_spanned(logs: pl.DataFrame | pl.LazyFrame) -> float:
    """Length of the logs' time span in months (at least one day's worth)."""
    import polars as pl

    lo, hi = logs.lazy().select(pl.col("timestamp").min().alias("lo"),
                                pl.col("timestamp").max().alias("hi")).collect().row(0)
    if lo is None or hi is None:
        return 1.0
    days = max((hi - lo).total_seconds() / 86400.0, 1.0)
    return days / DAYS_PER_MONTH


def _is_json_expr() -> pl.Expr:
    import polars as pl

    text = pl.col("response_text").str.strip_chars().str.replace(r"^```(?:json)?\s*|\s*```$", "")
    return (text.str.starts_with("{") & text.str.ends_with("}")) | (text.str.starts_with("[") & text.str.ends_with("]"))


def task_type_stats(calls: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """One row per ``cluster_id`` of ``calls`` (the logs joined with their cluster columns).

    A ``LazyFrame`` is aggregated without collecting the calls (polars' streaming engine), so the statistics of
    millions of calls need memory for the groups only."""
    import polars as pl

    calls = calls.lazy()
    total = max(calls.select(pl.len()).collect().item(), 1)
    per_month = 1.0 / months_spanned(calls)
    base = calls.with_columns(
        _is_json_expr().fill_null(False).alias("_json"),
        (pl.col("completion_tokens") / pl.col("prompt_tokens").clip(lower_bound=1)).alias("_ratio"),
        pl.col("response_text").str.contains(CODE_PATTERN).fill_null(False).alias("_code"),
        pl.col("response_text").str.contains(r"[-+]?\$?\d[\d,]*(?:\.\d+)?\s*[a-zA-Z%/]{0,12}\.?\s*$")
        .fill_null(False).alias("_number"),
    )
    stats = base.group_by("cluster_id").agg(
        pl.len().alias("calls"),
        pl.col("prompt_hash").n_unique().alias("distinct_prompts"),
        pl.col("template_id").n_unique().alias("templates"),
        pl.col("prompt_tokens").mean().alias("prompt_tokens_mean"),
        pl.col("prompt_tokens").quantile(0.95).alias("prompt_tokens_p95"),
        pl.col("completion_tokens").mean().alias("completion_tokens_mean"),
        pl.col("completion_tokens").quantile(0.95).alias("completion_tokens_p95"),
        pl.when(pl.col("cost_usd").is_not_null().any()).then(pl.col("cost_usd").sum()).alias("cost_usd"),
        pl.col("cost_usd").is_null().mean().alias("unpriced_share"),
        pl.col("latency_ms").mean().alias("latency_ms_mean"),
        pl.col("latency_ms").quantile(0.95).alias("latency_ms_p95"),
        (pl.col("status") == "error").mean().alias("error_rate"),
        pl.col("_json").filter(pl.col("status") == "ok").mean().alias("json_output_share"),
        (pl.col("n_tool_calls") > 0).mean().alias("tool_call_share"),
        pl.col("_ratio").median().alias("completion_prompt_ratio"),
        pl.col("completion_tokens").median().alias("completion_tokens_median"),
        # distinct responses counted by 64-bit hash: the same count (barring collisions), without a set of texts
        (pl.col("response_text").hash().n_unique() / pl.len()).alias("distinct_response_share"),
        pl.col("_code").filter(pl.col("status") == "ok").mean().alias("code_output_share"),
        pl.col("_number").filter(pl.col("status") == "ok").mean().alias("numeric_answer_share"),
        pl.col("distance").mean().alias("distance_mean"),
        (pl.col("flags") == "assigned").sum().alias("assigned_calls"),
    )
    stats = stats.with_columns(
        (pl.col("calls") / total).alias("share"),
        (pl.col("cost_usd") * per_month).alias("cost_per_month"),
    )
    models = (base.group_by("cluster_id", "model").agg(pl.len().alias("n"))
              .sort(["cluster_id", "n", "model"], descending=[False, True, False])
              .group_by("cluster_id", maintain_order=True)
              .agg(pl.format("{} ({})", pl.col("model").fill_null("?"), pl.col("n")).head(4).str.join(", ")
                   .alias("models")))
    stats, models = stats.collect(engine="streaming"), models.collect(engine="streaming")
    weekly = weekly_share(calls)
    return stats.join(models, on="cluster_id", how="left").join(weekly, on="cluster_id", how="left")


def weekly_share(calls: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Per cluster: its share of each ISO week's calls (JSON ``{week: share}``) and the slope of that share per
    week (least squares; positive = growing)."""
    import numpy as np
    import polars as pl

    calls = calls.lazy()
    dated = calls.filter(pl.col("timestamp").is_not_null()).select(
        "cluster_id", pl.col("timestamp").dt.truncate("1w").dt.date().cast(pl.Utf8).alias("week")).collect()
    if dated.is_empty():
        return pl.DataFrame({"cluster_id": [], "weekly_share": [], "trend_per_week": []},
                            schema={"cluster_id": pl.Int64, "weekly_share": pl.Utf8, "trend_per_week": pl.Float64})
    week_totals = dated.group_by("week").agg(pl.len().alias("week_calls"))
    counts = (dated.group_by("cluster_id", "week").agg(pl.len().alias("n"))
              .join(week_totals, on="week").with_columns((pl.col("n") / pl.col("week_calls")).alias("s")))
    weeks = sorted(week_totals["week"].to_list())
    rows = []
    for cid, part in counts.group_by("cluster_id"):
        share = dict(zip(part["week"].to_list(), part["s"].to_list()))
        series = [share.get(w, 0.0) for w in weeks]
        slope = float(np.polyfit(np.arange(len(series)), series, 1)[0]) if len(series) >= 2 else 0.0
        rows.append({"cluster_id": cid[0], "weekly_share": json.dumps({w: round(s, 5) for w, s in zip(weeks, series)}),
                     "trend_per_week": slope})
    return pl.DataFrame(rows, schema={"cluster_id": dated.schema["cluster_id"], "weekly_share": pl.Utf8,
                                      "trend_per_week": pl.Float64})
