"""ipywidgets helpers for the notebooks: a task-type browser that also shows a static page when no widget frontend
is there (executed headless, rendered to HTML, viewed on GitHub).

>>> task_type_browser(result)          # doctest: +SKIP  (result of discover_task_types, slmprofile.run or a run dir)

Pick a task type in the drop-down to see its statistics, its weekly share (trend) and its redacted example prompts.
The object's display bundle carries both the live widget and a ``text/html`` fallback listing the largest task
types, so a notebook executed by nbclient and converted by nbconvert still shows the content.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .report import fmt_int, fmt_money, fmt_pct, fmt_trend, redacted_text, sparkline, weekly_values

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

_STYLE = ("<style>.slmp-tt{font:13px/1.45 system-ui,sans-serif}.slmp-tt table{border-collapse:collapse}"
          ".slmp-tt table td,.slmp-tt table th{padding:2px 10px 2px 0;text-align:left !important;vertical-align:top}"
          ".slmp-tt .ex{font-family:monospace;font-size:12px;white-space:pre-wrap;background:#f5f5f5;"
          "padding:3px 6px;margin:3px 0;border-radius:3px}.slmp-tt .muted{color:#666}</style>")


def task_types_frame(result: Any) -> pl.DataFrame:
    """The per-task-type table from a :class:`~slmprofile.cluster.TaskTypeResult`, a pipeline ``RunResult``, a
    run directory (its ``task_types.parquet``) or the table itself."""
    import polars as pl

    if isinstance(result, pl.DataFrame):
        return result
    if isinstance(result, (str, Path)):
        path = Path(result) / "task_types.parquet" if Path(result).is_dir() else Path(result)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no task types here (run `slmprofile run LOGS --out DIR` first)")
        return pl.read_parquet(path)
    inner = getattr(result, "task_types", None)
    if isinstance(inner, pl.DataFrame):
        return inner
    if isinstance(getattr(inner, "task_types", None), pl.DataFrame):
        return inner.task_types
    raise TypeError(f"expected task types (TaskTypeResult, RunResult, a run directory or a DataFrame); "
                    f"got {type(result).__name__}")


def details_html(row: Mapping[str, Any], *, examples: int = 3) -> str:
    """HTML of one task type: statistics, weekly share and redacted examples (everything escaped)."""
    from markupsafe import escape

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
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in stats)
    trend = ""
    if weeks:
        trend = (f"<p>weekly share {sparkline([v for _, v in weeks], width=180, height=34)} "
                 f"<span class='muted'>{escape(weeks[0][0])} {fmt_pct(weeks[0][1], 1)} &rarr; "
                 f"{escape(weeks[-1][0])} {fmt_pct(weeks[-1][1], 1)} ({escape(fmt_trend(row.get('trend_per_week')))})"
                 f"</span></p>")
    shown = [redacted_text(e, 600) for e in (row.get("examples") or [])[:examples]]
    ex = "".join(f"<div class='ex'>{escape(e)}</div>" for e in shown) or "<p class='muted'>no examples</p>"
    return (f"<div class='slmp-tt'><h4>{escape(str(row.get('task_type') or '?'))} "
            f"<span class='muted'>{escape(str(row.get('family') or ''))}</span></h4>"
            f"<table>{body}</table>{trend}<p><b>Most typical prompts (redacted)</b></p>{ex}</div>")


class TaskTypeBrowser:
    """A drop-down of task types and a panel with the chosen one's details (see :func:`task_type_browser`).

    ``widget`` is the live ipywidgets box (built on first use); ``static_html()`` the fallback shown where widgets
    cannot run; ``select(cluster_id)`` changes the chosen task type.
    """

    def __init__(self, task_types: pl.DataFrame, *, examples: int = 3, static_top: int = 10) -> None:
        self.task_types = task_types
        self.examples = examples
        self.static_top = static_top
        self._widget: Any = None
        self._panel: Any = None
        self._dropdown: Any = None
        self._by_id: dict[Any, dict[str, Any]] = {}

    def _rows(self) -> list[dict[str, Any]]:
        import polars as pl

        frame = self.task_types
        if "cluster_id" in frame.columns:
            frame = frame.sort([pl.col("cluster_id") < 0, pl.col("calls")], descending=[False, True])
        return frame.to_dicts()

    def _label(self, row: Mapping[str, Any]) -> str:
        return f"{row.get('task_type')} ({fmt_int(row.get('calls'))} calls, {fmt_money(row.get('cost_per_month'))}/mo)"

    @property
    def widget(self) -> Any:
        """The ipywidgets ``VBox`` (drop-down + HTML panel)."""
        if self._widget is None:
            import ipywidgets as w

            rows = self._rows()
            self._by_id = {row.get("cluster_id", i): row for i, row in enumerate(rows)}
            options = [(self._label(row), key) for key, row in self._by_id.items()]
            self._dropdown = w.Dropdown(options=options, description="task type",
                                        layout=w.Layout(width="95%"), style={"description_width": "initial"})
            self._panel = w.HTML(_STYLE + details_html(rows[0], examples=self.examples) if rows else "no task types")
            self._dropdown.observe(lambda change: self._show(change["new"]), names="value")
            self._widget = w.VBox([self._dropdown, self._panel])
        return self._widget

    def _show(self, key: Any) -> None:
        self._panel.value = _STYLE + details_html(self._by_id[key], examples=self.examples)

    def select(self, cluster_id: int) -> TaskTypeBrowser:
        """Show task type ``cluster_id``; returns self."""
        self.widget  # noqa: B018 - build it
        if cluster_id not in self._by_id:
            raise KeyError(f"no task type with cluster_id {cluster_id}; valid: {sorted(self._by_id)[:20]}...")
        self._dropdown.value = cluster_id
        return self

    def static_html(self) -> str:
        """The largest ``static_top`` task types, each as a collapsible section (the first open)."""
        from markupsafe import escape

        rows = self._rows()
        parts = [_STYLE, f"<div class='slmp-tt'><p class='muted'>Task-type browser (static view: the largest "
                         f"{min(self.static_top, len(rows))} of {len(rows)} task types; run the notebook live to pick "
                         f"any).</p>"]
        for i, row in enumerate(rows[: self.static_top]):
            parts.append(f"<details{' open' if i == 0 else ''}><summary>{escape(self._label(row))}</summary>"
                         f"{details_html(row, examples=self.examples)}</details>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle = dict(self.widget._repr_mimebundle_())
        except ImportError:  # no ipywidgets: the static page alone
            bundle = {"text/plain": f"TaskTypeBrowser({self.task_types.height} task types)"}
        bundle["text/html"] = self.static_html()
        return bundle


def task_type_browser(result: Any, *, examples: int = 3, static_top: int = 10) -> TaskTypeBrowser:
    """A task-type browser for ``result`` (see :func:`task_types_frame` for what it accepts).

    ``examples``: example prompts shown per task type (redacted again before display). ``static_top``: task types
    listed in the static fallback.
    """
    return TaskTypeBrowser(task_types_frame(result), examples=examples, static_top=static_top)
