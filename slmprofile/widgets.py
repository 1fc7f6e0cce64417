"""ipywidgets helpers for the notebooks: a task-type browser and a router threshold explorer, each of which also shows
a static page when no widget frontend is there (executed headless, rendered to HTML, viewed on GitHub).

>>> task_type_browser(result)          # doctest: +SKIP  (result of discover_task_types, slmprofile.run or a run dir)
>>> threshold_explorer(calls, p_slm)   # doctest: +SKIP  (calls with outcomes and costs; the router's p_slm per call)

Task-type browser: pick a task type in the drop-down to see its statistics, its weekly share (trend) and its
redacted example prompts. Threshold explorer: move the router's threshold to see the share of calls kept on the
SLM, the success on that traffic (with its Wilson interval), the expected quality of all calls and the cost and
savings per month, redrawn as a cost-quality plot (:func:`threshold_tradeoff` computes the figures without widgets).
Each object's display bundle carries both the live widget and a ``text/html`` fallback, so a notebook executed by
nbclient and converted by nbconvert still shows the content. The HTML comes from the report's Jinja templates
(``report/templates/widget_*.html.j2``), filled by :mod:`slmprofile.widgets_html`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .plotting import plain_text
from .report import fmt_int, fmt_money, fmt_pct
from .rundir import RunDir
from .widgets_html import details_html as details_html  # re-exported: one task type's HTML
from .widgets_html import (task_type_browser_html, task_type_panel_html, threshold_panel_html,
                           threshold_static_html, threshold_summary_html)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import polars as pl
    from matplotlib.figure import Figure


def task_types_frame(result: Any) -> pl.DataFrame:
    """The per-task-type table from a :class:`~slmprofile.cluster.TaskTypeResult`, a pipeline ``RunResult``, a
    run directory (its ``task_types.parquet``) or the table itself."""
    import polars as pl

    if isinstance(result, pl.DataFrame):
        return result
    if isinstance(result, (str, Path)):
        path = RunDir(result).task_types if Path(result).is_dir() else Path(result)
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
            self._panel = w.HTML(task_type_panel_html(rows[0], examples=self.examples) if rows else "no task types")
            self._dropdown.observe(lambda change: self._show(change["new"]), names="value")
            self._widget = w.VBox([self._dropdown, self._panel])
        return self._widget

    def _show(self, key: Any) -> None:
        self._panel.value = task_type_panel_html(self._by_id[key], examples=self.examples)

    def select(self, cluster_id: int) -> TaskTypeBrowser:
        """Show task type ``cluster_id``; returns self."""
        self.widget  # noqa: B018 - build it
        if cluster_id not in self._by_id:
            raise KeyError(f"no task type with cluster_id {cluster_id}; valid: {sorted(self._by_id)[:20]}...")
        self._dropdown.value = cluster_id
        return self

    def static_html(self) -> str:
        """The largest ``static_top`` task types, each as a collapsible section (the first open)."""
        rows = self._rows()
        return task_type_browser_html([(self._label(row), row) for row in rows[: self.static_top]], total=len(rows),
                                      examples=self.examples)

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


# -- router threshold explorer ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ThresholdTradeoff:
    """Exact cost and quality of routing calls by ``p_slm`` at any threshold; build it with
    :func:`threshold_tradeoff`.

    Calls are sorted by ``p_slm`` (descending) once; running totals over that order then give every figure at a
    threshold ``t`` (calls with ``p_slm >= t`` go to the SLM) with one binary search.

    Attributes: ``p_sorted`` (the scores, descending); running totals (length ``n + 1``, starting at 0) of
    ``labelled`` calls (SLM outcome known), ``ok`` (labelled calls where nothing is lost on the SLM: it was right, or
    the frontier was wrong too), ``slm_right``, ``frontier_right`` (labelled calls each model gets right; an unknown
    frontier outcome counts as right), ``cost_now`` (logged frontier cost; unpriced calls count 0) and ``cost_slm``
    (the SLM's price at the logged token counts); ``months`` (the calls' span), ``slm_model``, ``slm_price``
    ((input, output) USD per million tokens), ``unpriced_share``, ``target`` (success aimed at on SLM traffic, drawn
    in the plots; None for none) and ``confidence`` (of the Wilson intervals).
    """

    p_sorted: np.ndarray
    labelled: np.ndarray
    ok: np.ndarray
    slm_right: np.ndarray
    frontier_right: np.ndarray
    cost_now: np.ndarray
    cost_slm: np.ndarray
    months: float
    slm_model: str
    slm_price: tuple[float, float]
    unpriced_share: float = 0.0
    target: float | None = None
    confidence: float = 0.95

    @property
    def n(self) -> int:
        """Calls."""
        return len(self.p_sorted)

    @property
    def n_labelled(self) -> int:
        """Calls with a known SLM outcome."""
        return int(self.labelled[-1])

    @property
    def cost_now_per_month(self) -> float:
        """Cost per month with every call on the frontier model, as logged."""
        return float(self.cost_now[-1]) / self.months

    @property
    def frontier_quality(self) -> float | None:
        """Success of the frontier model on the labelled calls."""
        return float(self.frontier_right[-1]) / self.n_labelled if self.n_labelled else None

    @property
    def slm_quality(self) -> float | None:
        """Success of the SLM on the labelled calls."""
        return float(self.slm_right[-1]) / self.n_labelled if self.n_labelled else None

    def at(self, threshold: float) -> dict[str, Any]:
        """Figures when calls with ``p_slm >= threshold`` go to the SLM: ``slm_calls``, ``slm_share``,
        ``evaluated_on_slm`` (of them, calls with a known outcome), ``success_on_slm`` (share of those where
        nothing is lost: SLM right, or the frontier wrong too) with its Wilson interval, ``quality`` (expected
        success of all labelled calls: the SLM's outcome where routed, the frontier's elsewhere),
        ``cost_per_month`` and ``savings_per_month`` (against every call on the frontier)."""
        import numpy as np

        from .suitability import wilson_interval

        k = int(np.searchsorted(-self.p_sorted, -float(threshold), side="right"))
        n_eval = float(self.labelled[k])
        ok = float(self.ok[k])
        lo, hi = wilson_interval(ok, n_eval, self.confidence) if n_eval else (None, None)
        routed_now, routed_slm = float(self.cost_now[k]), float(self.cost_slm[k])
        quality = None
        if self.n_labelled:  # the SLM's outcome on routed calls, the frontier's on the others
            right = float(self.slm_right[k]) + float(self.frontier_right[-1]) - float(self.frontier_right[k])
            quality = right / self.n_labelled
        savings = (routed_now - routed_slm) / self.months
        return {"threshold": float(threshold), "slm_calls": k, "slm_share": k / self.n if self.n else 0.0,
                "evaluated_on_slm": int(n_eval), "success_on_slm": ok / n_eval if n_eval else None,
                "success_on_slm_lo": lo, "success_on_slm_hi": hi, "quality": quality,
                "cost_per_month": self.cost_now_per_month - savings, "savings_per_month": savings,
                "savings_share": savings / self.cost_now_per_month if self.cost_now_per_month > 0 else None}

    def default_thresholds(self, points: int = 201) -> list[float]:
        """Thresholds at evenly spaced SLM shares (quantiles of ``p_slm``), plus one above every score (nothing on
        the SLM) and 0 (everything on the SLM)."""
        import numpy as np

        if not self.n:
            return [0.0]
        quantiles = np.quantile(self.p_sorted, np.linspace(0.0, 1.0, points))
        top = float(np.nextafter(self.p_sorted[0], np.inf))
        return sorted({0.0, top, *(float(q) for q in quantiles)}, reverse=True)

    def table(self, thresholds: Sequence[float] | None = None) -> pl.DataFrame:
        """One row of :meth:`at` per threshold (default :meth:`default_thresholds`), highest threshold first."""
        import polars as pl

        values = self.default_thresholds() if thresholds is None else sorted(map(float, thresholds), reverse=True)
        rows = [self.at(t) for t in values]
        schema = {"threshold": pl.Float64, "slm_calls": pl.Int64, "slm_share": pl.Float64,
                  "evaluated_on_slm": pl.Int64, "success_on_slm": pl.Float64, "success_on_slm_lo": pl.Float64,
                  "success_on_slm_hi": pl.Float64, "quality": pl.Float64, "cost_per_month": pl.Float64,
                  "savings_per_month": pl.Float64, "savings_share": pl.Float64}
        return pl.DataFrame(rows, schema=schema)

    def summary_html(self, threshold: float) -> str:
        """One paragraph with the figures at ``threshold`` (escaped)."""
        return threshold_summary_html(self, threshold)

    @plain_text
    def plot(self, threshold: float, *, reference: float | None = None) -> Figure:
        """Two panels: cost against expected quality as the threshold sweeps (the current threshold marked, and
        ``reference``, e.g. the router's own threshold), and SLM share and success on SLM traffic (with its
        interval and the target) against the threshold."""
        from matplotlib.figure import Figure

        curve = self.table()
        now = self.at(threshold)
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        ax_c, ax_t = fig.subplots(1, 2)
        if self.n_labelled:
            ax_c.plot(curve["cost_per_month"], curve["quality"], color="#264653", lw=1.5,
                      label="routing by p_slm, every threshold")
            ends = [(curve.row(0, named=True), "all on the frontier", (-4, 6), "right"),
                    (curve.row(-1, named=True), "all on the SLM", (4, 4), "left")]
            for row, label, offset, align in ends:
                ax_c.scatter([row["cost_per_month"]], [row["quality"]], color="#999999", zorder=3, s=18)
                ax_c.annotate(label, (row["cost_per_month"], row["quality"]), textcoords="offset points",
                              xytext=offset, ha=align, fontsize=8, color="#555555")
            if reference is not None:
                ref = self.at(reference)
                ax_c.scatter([ref["cost_per_month"]], [ref["quality"]], marker="D", color="#2a9d8f", zorder=4,
                             label=f"router threshold {reference:.3f}")
            ax_c.scatter([now["cost_per_month"]], [now["quality"]], color="#e76f51", s=60, zorder=5,
                         label=f"threshold {threshold:.3f}")
            ax_c.set_ylabel("expected success rate of all calls")
            ax_c.legend(loc="lower right", fontsize=8)
        else:
            ax_c.text(0.5, 0.5, "no call has a known SLM outcome", ha="center", va="center")
        ax_c.set_xlabel(f"cost, USD per month ({self.slm_model} for SLM calls)")
        ax_c.set_title("Cost vs quality")
        x = curve["threshold"].to_numpy().clip(0.0, 1.0)
        ax_t.plot(x, curve["slm_share"], color="#264653", label="share of calls on the SLM")
        success = curve["success_on_slm"].to_numpy(allow_copy=True).astype(float)
        ax_t.plot(x, success, color="#2a9d8f", label="success on SLM traffic (nothing lost)")
        ax_t.fill_between(x, curve["success_on_slm_lo"].to_numpy().astype(float),
                          curve["success_on_slm_hi"].to_numpy().astype(float), color="#2a9d8f", alpha=0.2, lw=0,
                          label=f"{self.confidence:.0%} Wilson interval")
        if self.target is not None:
            ax_t.axhline(self.target, color="#999999", ls="--", lw=0.8, label=f"target {self.target:.2f}")
        ax_t.axvline(min(max(threshold, 0.0), 1.0), color="#e76f51", lw=1.2)
        ax_t.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="threshold on p_slm (calls at or above it go to the SLM)",
                 title="What the threshold keeps on the SLM")
        ax_t.legend(loc="lower left", fontsize=8)
        fig.suptitle(f"threshold {threshold:.3f}: {fmt_pct(now['slm_share'])} of calls on the SLM, saves "
                     f"{fmt_money(now['savings_per_month'])}/month", fontsize=11)
        return fig


def _scores(p_slm: Any) -> tuple[Any, float | None]:
    """(p_slm array, threshold or None) from an array-like or a :class:`slmprofile.runtime.RouteResult`."""
    import numpy as np

    if hasattr(p_slm, "p_slm") and hasattr(p_slm, "threshold"):
        return np.asarray(p_slm.p_slm, dtype=np.float64), float(p_slm.threshold)
    return np.asarray(p_slm, dtype=np.float64).ravel(), None


def threshold_tradeoff(calls: pl.DataFrame, p_slm: Any, *, slm_model: str = "gpt-4o-mini",
                       slm_price: tuple[float, float] | None = None, months: float | None = None,
                       target: float | None = None, confidence: float = 0.95) -> ThresholdTradeoff:
    """What routing ``calls`` by ``p_slm`` costs and keeps, at every threshold.

    Args:
        calls: logged calls (the normalized log schema) with ``slm_correct`` (the SLM's outcome; null = unknown),
            ``cost_usd`` (the frontier cost as logged; unpriced calls count 0), ``prompt_tokens`` /
            ``completion_tokens`` (to price SLM calls, the SLM assumed to answer at the logged length), optionally
            ``frontier_correct`` (unknown = the frontier is right) and ``timestamp`` (for per-month figures).
        p_slm: one score per call, higher = safer on the SLM (the router's ``p_slm``, or a
            :class:`~slmprofile.runtime.RouteResult`).
        slm_model: the small model's name, priced with ``genai-prices`` unless ``slm_price`` (USD per million
            input, output tokens) is given.
        months: the calls' span in months (default: from their timestamps, else 1).
        target: the success aimed at on SLM traffic, drawn in the plots (e.g. the router's ``target_value``).
        confidence: level of the Wilson intervals.
    """
    import numpy as np
    import polars as pl

    from .cluster.stats import months_spanned
    from .savings import ApiOption

    from types import SimpleNamespace

    from .params import Interval, check_params

    check_params(SimpleNamespace(months=months, target=target, confidence=confidence),
                 {"months": [None, Interval(float, 0, None, closed="neither")],
                  "target": [None, Interval(float, 0, 1, closed="right")],
                  "confidence": [Interval(float, 0, 1, closed="neither")]}, name="threshold_tradeoff")
    scores, _ = _scores(p_slm)
    if len(scores) != calls.height:
        raise ValueError(f"p_slm has {len(scores)} values for {calls.height} calls: score every call once")
    if not np.isfinite(scores).all():
        raise ValueError("p_slm has missing or non-finite values")
    missing = [c for c in ("slm_correct", "cost_usd", "prompt_tokens", "completion_tokens") if c not in calls.columns]
    if missing:
        raise ValueError(f"calls lack the column(s) {', '.join(missing)}: use the normalized logs of "
                         "slmprofile.ingest, with the SLM's outcome mapped (--map slm_correct=COL) or joined from an "
                         "eval table (outcomes=...)")

    def values(name: str) -> np.ndarray:
        if name not in calls.columns:
            return np.full(calls.height, np.nan)
        return calls[name].cast(pl.Float64, strict=False).to_numpy().astype(np.float64)

    price = ApiOption(slm_model, price=slm_price).prices()
    s, f, cost = values("slm_correct"), values("frontier_correct"), values("cost_usd")
    tin, tout = np.nan_to_num(values("prompt_tokens")), np.nan_to_num(values("completion_tokens"))
    labelled = np.isfinite(s)
    f_ref = np.where(np.isfinite(f), f, 1.0)
    order = np.argsort(-scores, kind="stable")

    def running(x: np.ndarray) -> np.ndarray:
        return np.r_[0.0, np.cumsum(np.asarray(x, dtype=np.float64)[order])]

    span = months if months is not None else (months_spanned(calls) if "timestamp" in calls.columns else 1.0)
    return ThresholdTradeoff(
        p_sorted=scores[order], labelled=running(labelled), ok=running(labelled & ((s >= 0.5) | (f_ref < 0.5))),
        slm_right=running(np.where(labelled, s, 0.0)), frontier_right=running(np.where(labelled, f_ref, 0.0)),
        cost_now=running(np.nan_to_num(cost)), cost_slm=running((tin * price[0] + tout * price[1]) / 1e6),
        months=float(span), slm_model=slm_model, slm_price=price,
        unpriced_share=float(np.isnan(cost).mean()) if calls.height else 0.0, target=target, confidence=confidence)


def _png_data_uri(fig: Figure, dpi: int = 90) -> tuple[bytes, str]:
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    data = buffer.getvalue()
    return data, "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class ThresholdExplorer:
    """A threshold slider that redraws the cost-quality trade-off and the savings (see :func:`threshold_explorer`).

    ``widget`` is the live ipywidgets box (slider, summary, plot; built on first use); ``static_html()`` the
    fallback shown where widgets cannot run (figures at a few thresholds and the plot at the starting one);
    ``set_threshold(t)`` moves the slider.
    """

    def __init__(self, tradeoff: ThresholdTradeoff, *, threshold: float = 0.5, reference: float | None = None,
                 dpi: int = 90) -> None:
        self.tradeoff = tradeoff
        self.threshold = threshold
        self.reference = reference
        self.dpi = dpi
        self._widget: Any = None
        self._slider: Any = None
        self._summary: Any = None
        self._image: Any = None

    @property
    def widget(self) -> Any:
        """The ipywidgets ``VBox`` (threshold slider, summary, plot)."""
        if self._widget is None:
            import ipywidgets as w

            self._slider = w.FloatSlider(value=self.threshold, min=0.0, max=max(1.0, self.threshold), step=0.005,
                                         readout_format=".3f", description="threshold", continuous_update=False,
                                         layout=w.Layout(width="70%"))
            self._summary = w.HTML()
            self._image = w.Image(format="png")
            self._slider.observe(lambda change: self._show(change["new"]), names="value")
            self._show(self.threshold)
            self._widget = w.VBox([self._slider, self._summary, self._image])
        return self._widget

    def _show(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self._summary.value = threshold_panel_html(self.tradeoff, self.threshold)
        png, _ = _png_data_uri(self.tradeoff.plot(self.threshold, reference=self.reference), self.dpi)
        self._image.value = png

    def set_threshold(self, threshold: float) -> ThresholdExplorer:
        """Move the slider (and redraw); returns self."""
        self.widget  # noqa: B018 - build it
        self._slider.value = float(threshold)
        return self

    def static_html(self, *, shares: Sequence[float] = (0.2, 0.4, 0.6, 0.8, 1.0)) -> str:
        """The figures at the starting threshold (its plot embedded as PNG) and, in a table, at the thresholds
        that keep ``shares`` of calls on the SLM."""
        t = self.tradeoff
        picks = {float(self.threshold)}
        if t.n:
            for share in shares:  # the lowest score among the top share of calls keeps (at least) that share
                k = min(max(int(round(share * t.n)), 1), t.n)
                picks.add(float(t.p_sorted[k - 1]))
        rows = t.table(sorted(picks, reverse=True)).to_dicts()
        _, uri = _png_data_uri(t.plot(self.threshold, reference=self.reference), self.dpi)
        return threshold_static_html(t, self.threshold, rows, uri)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle = dict(self.widget._repr_mimebundle_())
        except ImportError:  # no ipywidgets: the static page alone
            bundle = {"text/plain": f"ThresholdExplorer({self.tradeoff.n} calls, threshold {self.threshold:.3f})"}
        bundle["text/html"] = self.static_html()
        return bundle


def threshold_explorer(calls: pl.DataFrame, p_slm: Any, *, threshold: float | None = None,
                       slm_model: str = "gpt-4o-mini", slm_price: tuple[float, float] | None = None,
                       months: float | None = None, target: float | None = None,
                       confidence: float = 0.95) -> ThresholdExplorer:
    """A router threshold slider for ``calls`` scored ``p_slm`` (see :func:`threshold_tradeoff` for the inputs).

    ``threshold``: where the slider starts (default: the :class:`~slmprofile.runtime.RouteResult`'s threshold
    when ``p_slm`` is one, else 0.5); that threshold is also marked as the router's own in the plot. Score calls
    the router was not trained on, or the figures flatter it.

    >>> routed = Router.load("out/router").route(later["prompt_text"].to_list())   # doctest: +SKIP
    >>> threshold_explorer(later, routed, slm_model="gpt-4o-mini")                  # doctest: +SKIP
    """
    _, given = _scores(p_slm)
    start = threshold if threshold is not None else (given if given is not None else 0.5)
    tradeoff = threshold_tradeoff(calls, p_slm, slm_model=slm_model, slm_price=slm_price, months=months,
                                  target=target, confidence=confidence)
    return ThresholdExplorer(tradeoff, threshold=start, reference=given if given is not None else threshold)
