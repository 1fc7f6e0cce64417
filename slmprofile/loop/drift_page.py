"""The drift page: ``drift.html`` in the report's style (its CSS, self-contained, plots inline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..plotting import plain_text
from ..report.plots import png
from ..report.render import TEMPLATES as REPORT_TEMPLATES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

TEMPLATES = Path(__file__).resolve().parent / "templates"
_BADGE = {"retrain": "frontier", "refresh": "undecided", "no action": "slm"}


@plain_text
def plot_share_changes(types: list[dict[str, Any]], *, top: int = 25) -> Figure:
    """Change in share per task type with its interval (the largest ``top`` by size of change)."""
    from matplotlib.figure import Figure

    rows = sorted(types, key=lambda r: abs(r["change"]), reverse=True)[:top][::-1]
    fig = Figure(figsize=(9, 0.3 * len(rows) + 1.2), layout="constrained")
    ax = fig.subplots()
    y = list(range(len(rows)))
    colors = ["#c62828" if r["shifted"] or r["cluster_id"] == -2 else "#607d8b" for r in rows]
    ax.hlines(y, [100 * r["change_lo"] for r in rows], [100 * r["change_hi"] for r in rows], colors=colors, lw=1.5)
    ax.scatter([100 * r["change"] for r in rows], y, c=colors, s=14, zorder=3)
    ax.axvline(0, color="#999", lw=0.8)
    ax.set_yticks(y, [str(r["task_type"])[:48] for r in rows], fontsize=8)
    ax.set_xlabel("change in share of calls (percentage points)")
    return fig


@plain_text
def plot_p_slm(before: list[float], after: list[float], threshold: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3), layout="constrained")
    ax = fig.subplots()
    bins = [i / 40 for i in range(41)]
    ax.hist(before, bins=bins, alpha=0.55, density=True, label="run")
    ax.hist(after, bins=bins, alpha=0.55, density=True, label="new window")
    if threshold <= 1:
        ax.axvline(threshold, color="#333", lw=1)
    ax.set_xlabel("p_slm")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize=8)
    return fig


def render_drift(drift: Any) -> str:
    """``drift.html`` for a :class:`~slmprofile.loop.drift.DriftResult` (its module calls this one)."""
    import jinja2

    from ..version import __version__

    s = drift.summary
    types = drift.types.to_dicts()
    images = {"shares": png(plot_share_changes(types)) if types else None}
    router = drift.router
    if router and "p_slm_before" in router:
        images["p_slm"] = png(plot_p_slm(router["p_slm_before"], router["p_slm_after"], router["threshold"]))
    headline = drift.verdict["headline"]
    shifted = sum(1 for r in types if r["shifted"] and r["cluster_id"] >= -1)
    facts = [("calls in the new window", f"{s['calls_after']:,}"), ("fit no existing type", f"{s['novel_share']:.1%}"),
             ("types shifted", str(shifted)), ("candidate new types", str(s["candidate_types"]))]
    if router and "slm_share_change" in router:
        facts.append(("router's SLM share", f"{router['slm_share_before']:.0%} → {router['slm_share_after']:.0%}"))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    settings = s["settings"]
    return env.get_template("drift.html.j2").render(
        css=(REPORT_TEMPLATES / "report.css").read_text(encoding="utf-8"), title=Path(s["run_dir"]).resolve().name,
        s=s, inputs=", ".join(s["inputs"]), headline=headline, facts=facts, verdict=drift.verdict, badge=_BADGE,
        types=types, candidates=drift.candidates.to_dicts(), router=router, images=images,
        has_outcomes="slm_success_before" in drift.types.columns, conf=f"{settings['confidence']:.0%}",
        min_change=f"{settings['min_share_change']:.0%}", q=f"{settings['novelty_quantile']:g}",
        pct=lambda v: "" if v is None else f"{v:.1%}", spct=lambda v: "" if v is None else f"{100 * v:+.1f} pt",
        version=__version__)
