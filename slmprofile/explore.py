"""First look at ingested logs: summary tables and plots (plain functions over the normalized frame)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .plotting import plain_text

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from matplotlib.figure import Figure


def overview(logs: pl.DataFrame, *, by: str = "model") -> pl.DataFrame:
    """One row per value of ``by`` (``model``, ``format``, ``provider``, ``template_id``...): calls, share, error
    rate, mean tokens, cost (and how much of it was estimated), sorted by cost then calls."""
    import polars as pl

    total = max(logs.height, 1)
    return (
        logs.group_by(by)
        .agg(
            pl.len().alias("calls"),
            (pl.col("status") == "error").mean().alias("error_rate"),
            pl.col("prompt_tokens").mean().alias("prompt_tokens_mean"),
            pl.col("completion_tokens").mean().alias("completion_tokens_mean"),
            pl.when(pl.col("cost_usd").is_not_null().any()).then(pl.col("cost_usd").sum()).alias("cost_usd"),
            pl.col("cost_usd").is_null().sum().alias("calls_unpriced"),
            pl.col("cost_estimated").mean().alias("cost_estimated_share"),
        )
        .with_columns((pl.col("calls") / total).alias("share"))
        .sort(["cost_usd", "calls"], descending=True, nulls_last=True)
        .select(by, "calls", "share", "error_rate", "prompt_tokens_mean", "completion_tokens_mean", "cost_usd",
                "calls_unpriced", "cost_estimated_share")
    )


def daily_volume(logs: pl.DataFrame, *, by: str | None = None) -> pl.DataFrame:
    """Calls and cost per UTC day (and per ``by`` value when given)."""
    import polars as pl

    keys = [pl.col("timestamp").dt.date().alias("day")] + ([pl.col(by)] if by else [])
    return (logs.filter(pl.col("timestamp").is_not_null())
            .group_by(keys).agg(pl.len().alias("calls"), pl.col("cost_usd").sum().alias("cost_usd"))
            .sort(["day"] + ([by] if by else [])))


@plain_text
def plot_daily_volume(logs: pl.DataFrame, *, by: str = "model", top: int = 6) -> Figure:
    """Stacked daily calls by ``by`` (the ``top`` largest, the rest as 'other')."""
    import polars as pl
    from matplotlib.figure import Figure

    leaders = logs[by].value_counts(sort=True).head(top)[by].to_list()
    frame = logs.with_columns(pl.when(pl.col(by).is_in(leaders)).then(pl.col(by)).otherwise(pl.lit("other"))
                              .fill_null("unknown").alias(by))
    daily = daily_volume(frame, by=by).pivot(on=by, index="day", values="calls").fill_null(0).sort("day")
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax = fig.subplots()
    days = daily["day"].to_list()
    bottom = [0] * len(days)
    for name in [c for c in daily.columns if c != "day"]:
        values = daily[name].to_list()
        ax.bar(days, values, bottom=bottom, label=name, width=0.9)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("calls per day")
    ax.set_title(f"Logged calls per day by {by}")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.autofmt_xdate()
    return fig


@plain_text
def plot_cost_share(logs: pl.DataFrame, *, by: str = "model") -> Figure:
    """Horizontal bars: share of calls vs share of cost per ``by`` value."""
    from matplotlib.figure import Figure

    table = overview(logs, by=by).fill_null(0)
    total_cost = float(table["cost_usd"].sum()) or 1.0
    names = [str(n) for n in table[by].to_list()][::-1]
    fig = Figure(figsize=(8, 0.45 * len(names) + 1.2), layout="constrained")
    ax = fig.subplots()
    ys = range(len(names))
    ax.barh([y + 0.2 for y in ys], table["share"].to_list()[::-1], height=0.4, label="share of calls")
    ax.barh([y - 0.2 for y in ys], [c / total_cost for c in table["cost_usd"].to_list()][::-1], height=0.4,
            label="share of cost")
    ax.set_yticks(list(ys), names, fontsize=8)
    ax.set_xlabel("share")
    ax.legend(frameon=False)
    ax.set_title(f"Calls vs cost by {by}")
    return fig
