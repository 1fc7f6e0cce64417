"""The HTML of the notebook widgets (:mod:`slmprofile.widgets`), rendered from the Jinja templates the report uses
(``report/templates/widget_*.html.j2``, found through :data:`slmprofile.report.TEMPLATES`).

The environment mirrors the report's (same folder, autoescaping, strict undefined, ``trim_blocks`` and
``lstrip_blocks``), so every value is escaped by the template; markup made here in Python (the sparkline) is passed
as :class:`markupsafe.Markup`. The functions below only turn figures into the words and numbers a template shows.
Jinja is imported on first use, not when :mod:`slmprofile.widgets` is.

- ``widget_style.html.j2``: the inline ``<style>`` every widget page starts with;
- ``widget_task_type.html.j2`` (:func:`details_html`), ``widget_task_type_panel.html.j2`` (the browser's live
  panel) and ``widget_task_type_browser.html.j2`` (its static view);
- ``widget_threshold_summary.html.j2`` (:func:`threshold_summary_html`), ``widget_threshold_panel.html.j2`` (the
  explorer's live summary) and ``widget_threshold_explorer.html.j2`` (its static view).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .report import TEMPLATES, fmt_int, fmt_money, fmt_pct, fmt_trend, redacted_text, sparkline, weekly_values

if TYPE_CHECKING:  # pragma: no cover
    import jinja2


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment of the widgets: the report's templates and settings, without a trailing newline (the
    widgets' HTML is a fragment joined to others)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    """Template ``template`` (a file under ``report/templates/``) filled with ``context``."""
    return environment().get_template(template).render(**context)


# -- task-type browser -----------------------------------------------------------------------------------------------

def task_type_context(row: Mapping[str, Any], *, examples: int = 3) -> dict[str, Any]:
    """What ``widget_task_type.html.j2`` shows of one task-type row: statistics, weekly share, redacted examples."""
    weeks = weekly_values(row.get("weekly_share"))
    stats = [
        ("calls", f"{fmt_int(row.get('calls'))} ({fmt_pct(row.get('share'), 1)} of all)"),
        ("cost per month", fmt_money(row.get("cost_per_month"))
         + (f" (+{fmt_pct(row.get('unpriced_share'))} of calls unpriced)" if (row.get("unpriced_share") or 0) > 0
            else "")),
        ("distinct prompts / templates", f"{fmt_int(row.get('distinct_prompts'))} / {fmt_int(row.get('templates'))}"),
        ("tokens in / out (mean)", f"{fmt_int(row.get('prompt_tokens_mean'))} / "
                                   f"{fmt_int(row.get('completion_tokens_mean'))}"),
        ("latency p95", f"{fmt_int(row.get('latency_ms_p95'))} ms"),
        ("error rate", fmt_pct(row.get("error_rate"), 1)),
        ("JSON output", fmt_pct(row.get("json_output_share"))),
        ("models", str(row.get("models") or "?")),
        ("stability", "?" if row.get("stability") is None else f"{row['stability']:.2f}"),
        ("archetype", f"{row.get('archetype') or '?'} ({row.get('archetype_evidence') or 'no evidence'})"),
        ("keywords", ", ".join(str(k) for k in row.get("keywords") or [])),
    ]
    if row.get("verdict") is not None:
        stats.append(("verdict", str(row["verdict"])))
    trend = None
    if weeks:
        trend = {"spark": sparkline([v for _, v in weeks], width=180, height=34),  # Markup: an inline SVG
                 "first": (weeks[0][0], fmt_pct(weeks[0][1], 1)), "last": (weeks[-1][0], fmt_pct(weeks[-1][1], 1)),
                 "change": fmt_trend(row.get("trend_per_week"))}
    return {"name": str(row.get("task_type") or "?"), "family": str(row.get("family") or ""), "stats": stats,
            "trend": trend, "examples": [redacted_text(e, 600) for e in (row.get("examples") or [])[:examples]]}


def details_html(row: Mapping[str, Any], *, examples: int = 3) -> str:
    """HTML of one task type: statistics, weekly share and redacted examples (everything escaped)."""
    return render("widget_task_type.html.j2", task=task_type_context(row, examples=examples))


def task_type_panel_html(row: Mapping[str, Any], *, examples: int = 3) -> str:
    """The task-type browser's live panel: the widgets' style and :func:`details_html`."""
    return render("widget_task_type_panel.html.j2", task=task_type_context(row, examples=examples))


def task_type_browser_html(labelled: Sequence[tuple[str, Mapping[str, Any]]], *, total: int,
                           examples: int = 3) -> str:
    """The task-type browser's static view: ``labelled`` (label, row) pairs as collapsible sections, the first open,
    of ``total`` task types."""
    items = [{"label": label, "task": task_type_context(row, examples=examples)} for label, row in labelled]
    return render("widget_task_type_browser.html.j2", shown=len(items), total=total, items=items)


# -- router threshold explorer ---------------------------------------------------------------------------------------

def threshold_summary_context(tradeoff: Any, threshold: float) -> dict[str, Any]:
    """What ``widget_threshold_summary.html.j2`` shows: the figures of ``tradeoff`` at ``threshold``."""
    row = tradeoff.at(threshold)
    interval = None if row["success_on_slm_lo"] is None else {
        "level": f"{tradeoff.confidence:.0%}", "lo": fmt_pct(row["success_on_slm_lo"], 1),
        "hi": fmt_pct(row["success_on_slm_hi"], 1)}
    quality = None if row["quality"] is None else {
        "all": fmt_pct(row["quality"], 1), "frontier": fmt_pct(tradeoff.frontier_quality, 1),
        "slm": fmt_pct(tradeoff.slm_quality, 1)}
    return {"threshold": f"{row['threshold']:.3f}", "slm_share": fmt_pct(row["slm_share"], 1),
            "slm_calls": fmt_int(row["slm_calls"]), "calls": fmt_int(tradeoff.n),
            "success": None if row["success_on_slm"] is None else fmt_pct(row["success_on_slm"], 1),
            "evaluated": fmt_int(row["evaluated_on_slm"]), "interval": interval, "quality": quality,
            "cost": fmt_money(row["cost_per_month"]), "cost_now": fmt_money(tradeoff.cost_now_per_month),
            "savings": fmt_money(row["savings_per_month"]),
            "saved": fmt_pct(row["savings_share"]) if row["savings_share"] is not None else "?",
            "model": tradeoff.slm_model, "price_in": f"{tradeoff.slm_price[0]:g}",
            "price_out": f"{tradeoff.slm_price[1]:g}",
            "unpriced": fmt_pct(tradeoff.unpriced_share, 1) if tradeoff.unpriced_share > 0 else None}


def threshold_summary_html(tradeoff: Any, threshold: float) -> str:
    """One paragraph with the figures at ``threshold`` (escaped)."""
    return render("widget_threshold_summary.html.j2", s=threshold_summary_context(tradeoff, threshold))


def threshold_panel_html(tradeoff: Any, threshold: float) -> str:
    """The threshold explorer's live summary: the widgets' style and :func:`threshold_summary_html`."""
    return render("widget_threshold_panel.html.j2", s=threshold_summary_context(tradeoff, threshold))


def threshold_static_html(tradeoff: Any, threshold: float, rows: Sequence[Mapping[str, Any]],
                          image: str) -> str:
    """The threshold explorer's static view: the summary at ``threshold``, ``rows`` (of
    :meth:`~slmprofile.widgets.ThresholdTradeoff.table`) in a table with ``threshold``'s row in bold, and the plot
    ``image`` (a ``data:`` URI)."""
    table = [{"current": r["threshold"] == float(threshold), "threshold": f"{r['threshold']:.3f}",
              "slm_share": fmt_pct(r["slm_share"], 1), "success": fmt_pct(r["success_on_slm"], 1),
              "lo": fmt_pct(r["success_on_slm_lo"], 1), "hi": fmt_pct(r["success_on_slm_hi"], 1),
              "quality": fmt_pct(r["quality"], 1), "cost": fmt_money(r["cost_per_month"]),
              "savings": fmt_money(r["savings_per_month"])} for r in rows]
    return render("widget_threshold_explorer.html.j2", s=threshold_summary_context(tradeoff, threshold), rows=table,
                  image=image)
