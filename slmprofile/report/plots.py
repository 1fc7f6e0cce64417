"""The report's own plots (daily calls and cost, savings by task type) and PNG
embedding."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..plotting import plain_text

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def png_file(path: Path) -> str | None:
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        logger.warning("%s is not a PNG; left out of the report", path)
        return None
    return base64.b64encode(data).decode("ascii")


@plain_text
def plot_daily(daily: pl.DataFrame, *, top: int = 6) -> Figure:
    """Two panels: calls per day stacked by model (the ``top`` models, the rest as "other") and cost per day."""
    import polars as pl
    from matplotlib.figure import Figure

    leaders = (daily.group_by("model").agg(pl.col("calls").sum()).sort("calls", descending=True)["model"]
               .head(top).to_list())
    frame = daily.with_columns(pl.when(pl.col("model").is_in(leaders)).then(pl.col("model")).otherwise(pl.lit("other")))
    calls = frame.pivot(on="model", index="day", values="calls", aggregate_function="sum").fill_null(0).sort("day")
    cost = frame.group_by("day").agg(pl.col("cost_usd").sum()).sort("day")
    fig = Figure(figsize=(10, 5.2), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    days = calls["day"].to_list()
    bottom = [0.0] * len(days)
    for name in [c for c in calls.columns if c != "day"]:
        values = calls[name].to_list()
        ax1.bar(days, values, bottom=bottom, label=name, width=0.9)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax1.set_ylabel("calls per day")
    ax1.set_title("Calls per day by model, and what they cost")
    ax1.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax2.plot(cost["day"].to_list(), cost["cost_usd"].fill_null(0).to_list(), color="#444", marker=".")
    ax2.set_ylabel("cost per day ($)")
    ax2.set_ylim(bottom=0)
    fig.autofmt_xdate()
    return fig


@plain_text
def plot_savings(task_types: pl.DataFrame, *, top: int = 15) -> Figure | None:
    """Horizontal bars of savings per month per task type (largest ``top``) with their intervals."""
    import polars as pl
    from matplotlib.figure import Figure

    if "savings_per_month" not in task_types.columns:
        return None
    rows = (task_types.filter(pl.col("savings_per_month").is_not_null())
            .sort("savings_per_month", descending=True).head(top).reverse())
    if rows.is_empty():
        return None
    colors = {"slm": "#2e7d32", "frontier": "#9e9e9e", "undecided": "#f9a825"}
    fig = Figure(figsize=(10, 0.38 * rows.height + 1.4), layout="constrained")
    ax = fig.subplots()
    ys = list(range(rows.height))
    values = rows["savings_per_month"].to_list()
    classes = rows["verdict_class"].to_list() if "verdict_class" in rows.columns else ["undecided"] * rows.height
    ax.barh(ys, values, color=[colors.get(c or "undecided", "#f9a825") for c in classes], height=0.6)
    if rows["savings_lo"].null_count() < rows.height and rows["savings_hi"].null_count() < rows.height:
        lows = [v - (lo if lo is not None else v) for v, lo in zip(values, rows["savings_lo"].to_list())]
        highs = [(hi if hi is not None else v) - v for v, hi in zip(values, rows["savings_hi"].to_list())]
        ax.errorbar(values, ys, xerr=[[max(x, 0) for x in lows], [max(x, 0) for x in highs]], fmt="none",
                    ecolor="#333", capsize=3, lw=1)
    ax.set_yticks(ys, [str(n)[:42] for n in rows["task_type"].to_list()], fontsize=8)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("savings per month ($), with interval")
    ax.set_title("Savings by task type (green: SLM verdict, amber: undecided, grey: frontier)")
    return fig
