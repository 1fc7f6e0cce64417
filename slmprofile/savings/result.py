"""What :func:`~slmprofile.savings.estimate_savings` returns: the savings tables, their plots (savings per task type
with intervals, the cost-quality frontier) and writing them to a directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..plotting import plain_text
from ..rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from matplotlib.figure import Figure


@dataclass
class SavingsResult:
    """What :func:`~slmprofile.savings.estimate_savings` found.

    ``table``: one row per task type and option. ``options``: one row per option (totals, replicas, assumptions).
    ``break_even``: per self-host option, the monthly and daily token volume where it starts to beat the frontier
    and each API option. ``sensitivity``: total savings per option as one input varies.
    """

    table: pl.DataFrame
    options: pl.DataFrame
    break_even: pl.DataFrame
    sensitivity: pl.DataFrame
    months: float
    files: dict[str, str] = field(default_factory=dict)

    def write(self, out_dir: str | Path, *, plots: bool = True) -> dict[str, str]:
        """Write ``savings.csv`` (+ ``.parquet``), ``savings_options.csv``, ``savings_break_even.csv``,
        ``savings_sensitivity.csv`` and, with ``plots``, ``plots/savings_by_task_type.png`` and
        ``plots/cost_vs_quality.png``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.table.write_parquet(RunDir(out).savings)
        self.table.write_csv(RunDir(out).savings_csv)
        self.options.write_csv(out / RunDir.SAVINGS_OPTIONS)
        self.break_even.write_csv(out / RunDir.SAVINGS_BREAK_EVEN)
        self.sensitivity.write_csv(out / RunDir.SAVINGS_SENSITIVITY)
        files = {"savings": str(RunDir(out).savings_csv), "savings_parquet": str(RunDir(out).savings),
                 "savings_options": str(out / RunDir.SAVINGS_OPTIONS),
                 "savings_break_even": str(out / RunDir.SAVINGS_BREAK_EVEN),
                 "savings_sensitivity": str(out / RunDir.SAVINGS_SENSITIVITY)}
        if plots and self.table.height:
            RunDir(out).plots.mkdir(exist_ok=True)
            for name, fig in (("savings_by_task_type", plot_savings(self)), ("cost_vs_quality", plot_cost_quality(self))):
                path = RunDir(out).plots / f"{name}.png"
                fig.savefig(path, dpi=110)
                files[name] = str(path)
        self.files = files
        return files


# -- plots -----------------------------------------------------------------------------------------------------------

def _best_option(result: SavingsResult) -> str:
    return str(result.options.sort("savings_per_month", descending=True)["option"][0])


@plain_text
def plot_savings(result: SavingsResult, *, option: str | None = None, top: int = 20) -> Figure:
    """Horizontal bars: monthly savings per task type for ``option`` (default: the one saving most), with the
    interval from the SLM share's uncertainty."""
    import numpy as np
    import polars as pl
    from matplotlib.figure import Figure

    option = option or _best_option(result)
    rows = (result.table.filter((pl.col("option") == option) & (pl.col("savings_hi").abs() > 0))
            .sort("savings_per_month", descending=True).head(top))
    fig = Figure(figsize=(10, max(3.0, 0.35 * rows.height + 1.5)), layout="constrained")
    ax = fig.subplots()
    if rows.is_empty():
        ax.text(0.5, 0.5, "no task type is routed to the SLM at this target", ha="center", va="center")
        ax.set_axis_off()
        return fig
    y = np.arange(rows.height)[::-1]
    point = rows["savings_per_month"].to_numpy()
    lo, hi = rows["savings_lo"].to_numpy(), rows["savings_hi"].to_numpy()
    colours = {"slm": "#2a9d8f", "undecided": "#e9c46a", "frontier": "#e76f51"}
    ax.barh(y, point, color=[colours.get(v, "#999999") for v in rows["verdict"].fill_null("?").to_list()])
    ax.errorbar(point, y, xerr=[np.maximum(point - lo, 0), np.maximum(hi - point, 0)], fmt="none", ecolor="#333333",
                capsize=3, lw=1)
    ax.set_yticks(y, [str(t)[:48] for t in rows["task_type"].fill_null("?").to_list()], fontsize=8)
    ax.set_xlabel("savings, USD per month (bar: SLM share by point estimate; whiskers: its interval)")
    ax.set_title(f"Savings by task type with {option} (colour: verdict slm / undecided / frontier)")
    ax.axvline(0, color="#333333", lw=0.8)
    return fig


@plain_text
def plot_cost_quality(result: SavingsResult, *, option: str | None = None) -> Figure:
    """Monthly cost against expected success rate as task types move to the SLM one by one, in order of dollars
    saved per success point lost (the cost-quality frontier), for ``option``; "now" and the plan marked.

    A call on the frontier succeeds at the type's ``frontier_rate`` (1 when unknown: agreement with itself); a call
    moved to the SLM at the type's ``rate``; in the plan, a partial SLM share succeeds at the target (the share is
    chosen to reach it).
    """
    import numpy as np
    import polars as pl
    from matplotlib.figure import Figure

    option = option or _best_option(result)
    rows = result.table.filter((pl.col("option") == option) & (pl.col("cluster_id") != -1))
    calls = rows["calls_per_month"].to_numpy()
    total = max(float(calls.sum()), 1e-9)
    now = rows["cost_now_per_month"].to_numpy()
    slm_all = rows["slm_cost_if_all_per_month"].to_numpy()
    q_front = rows["frontier_rate"].fill_null(1.0).to_numpy() if "frontier_rate" in rows.columns else np.ones(len(calls))
    q_slm = rows["rate"].fill_null(0.0).to_numpy()
    gain = now - slm_all
    loss = np.maximum(q_front - q_slm, 1e-6) * calls
    order = np.argsort(-(gain / loss))
    cost, quality = [float(now.sum())], [float((q_front * calls).sum() / total)]
    for i in order:
        cost.append(cost[-1] - gain[i])
        quality.append(quality[-1] - (q_front[i] - q_slm[i]) * calls[i] / total)
    share = rows["slm_share"].to_numpy()
    target = rows["target"].fill_null(0.0).to_numpy() if "target" in rows.columns else q_slm
    q_kept = np.where(share >= 1.0, q_slm, target)
    plan_quality = float(((share * q_kept + (1 - share) * q_front) * calls).sum() / total)
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(cost, quality, "-", color="#264653", lw=1.5, label="task types moved to the SLM, best $/quality first")
    ax.scatter([cost[0]], [quality[0]], color="#e76f51", zorder=3, label="now (all on the frontier)")
    ax.scatter([cost[-1]], [quality[-1]], color="#999999", zorder=3, label="everything on the SLM")
    ax.scatter([float(rows["plan_cost_per_month"].sum())], [plan_quality], color="#2a9d8f", zorder=3,
               label="plan (SLM shares at the target)")
    ax.set_xlabel(f"cost, USD per month ({option})")
    ax.set_ylabel("expected success rate of all calls")
    ax.set_title("Cost vs quality")
    ax.legend(loc="lower right", fontsize=8)
    return fig
