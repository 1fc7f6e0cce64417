"""What each section of the report shows, computed from :class:`~.load.RunData`: the headline, the task-type rows,
the router's expectations, the assumptions and the data-quality notes."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from .load import RunData, named_task_types
from .values import DAYS_PER_MONTH, as_number, fmt_int, fmt_money, fmt_pct, fmt_trend, redacted_text

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from markupsafe import Markup

logger = logging.getLogger(__name__)


#: Rows of the task-type table shown before the rest fold into "more".
TABLE_ROWS = 25


@dataclass
class Headline:
    """The report's first sentence and the key facts under it."""

    text: str
    facts: list[tuple[str, str]]
    assessed: bool


def headline(data: RunData) -> Headline:
    """The one-sentence answer: how much traffic could move to an SLM and what it saves (with its interval), or,
    before suitability was assessed, the volume and cost facts."""
    import polars as pl

    info_tt = data.info.get("task_types") or {}
    tt = data.task_types
    total_calls = as_number(info_tt.get("calls"))
    if total_calls is None and tt is not None:
        total_calls = float(tt["calls"].sum())
    if total_calls is None:
        total_calls = as_number((data.info.get("ingest") or {}).get("rows_out")) or 0.0
    named = named_task_types(tt) if tt is not None else None
    k_types = named.height if named is not None else int(info_tt.get("task_types") or 0)
    cost_month = float(tt["cost_per_month"].fill_null(0).sum()) if tt is not None and "cost_per_month" in tt.columns \
        else None
    if cost_month is None and data.daily is not None and data.span_days:
        cost_month = float(data.daily["cost_usd"].fill_null(0).sum()) / data.span_days * DAYS_PER_MONTH
    unpriced = int((data.info.get("ingest") or {}).get("cost_unknown") or 0)
    facts = [("calls", fmt_int(total_calls)), ("task types", fmt_int(k_types)),
             ("spend per month", fmt_money(cost_month) + (" +unpriced" if unpriced else ""))]
    if data.span_days:
        facts.append(("logs span", f"{data.span_days:,.1f} days"))
    if info_tt.get("calls_unassigned") is not None:
        facts.append(("calls in no task type", fmt_int(info_tt["calls_unassigned"])))
    sampled = info_tt.get("sampled") or {}
    if sampled.get("prompts_by_template"):
        audit = sampled.get("audit_agreement")
        facts.append(("prompts placed by template, not embedded",
                      f"{fmt_int(sampled['prompts_by_template'])} of {fmt_int(sampled.get('distinct_prompts'))}"
                      + (f" (audit: {audit:.1%} agree)" if audit is not None else "")))

    assessed = (named is not None and "verdict_class" in named.columns
                and named["verdict_class"].null_count() < named.height)
    if not assessed:
        text = (f"{fmt_int(total_calls)} calls, {k_types} task types, {fmt_money(cost_month)}/month"
                f"{' (priced calls only)' if unpriced else ''}; suitability not yet assessed.")
        return Headline(text=text, facts=facts, assessed=False)

    move = named.filter(pl.col("verdict_class") == "slm")
    undecided = named.filter(pl.col("verdict_class") == "undecided")
    share_col = "slm_share" if "slm_share" in move.columns and move["slm_share"].null_count() < move.height else None
    moved_calls = float((move["calls"] * (move[share_col].fill_null(1.0) if share_col else 1.0)).sum())
    pct = moved_calls / total_calls if total_calls else 0.0
    facts += [("task types for an SLM", fmt_int(move.height)), ("undecided", fmt_int(undecided.height)),
              ("stay on frontier", fmt_int(named.filter(pl.col("verdict_class") == "frontier").height))]
    if move.height == 0:
        keep = named.filter(pl.col("verdict_class") == "frontier").height
        text = (f"No task type is ready for an SLM yet: {undecided.height} of {k_types} task types need more evidence"
                + (f", {keep} stay on the frontier model" if keep else "")
                + f" (spend today: {fmt_money(cost_month)}/month).")
        return Headline(text=text, facts=facts, assessed=True)
    plural = "s" if move.height != 1 else ""
    text = f"{fmt_pct(pct)} of calls across {move.height} task type{plural} could move to an SLM"
    has_savings = "savings_per_month" in move.columns and move["savings_per_month"].null_count() < move.height
    total = data.savings.total if data.savings else None
    if total and "savings_per_month" in total:
        saving, low, high = (total.get(k) for k in ("savings_per_month", "savings_lo", "savings_hi"))
    elif has_savings:
        saving = float(move["savings_per_month"].fill_null(0).sum())
        low = float(move["savings_lo"].fill_null(0).sum()) if move["savings_lo"].null_count() < move.height else None
        high = float(move["savings_hi"].fill_null(0).sum()) if move["savings_hi"].null_count() < move.height \
            else None
    else:
        saving = low = high = None
    if saving is not None:
        interval = f" ({fmt_money(low)} to {fmt_money(high)})" if low is not None and high is not None else ""
        text += f", saving {fmt_money(saving)}/month{interval}."
        if data.savings is not None and data.savings.option:
            facts.append(("SLM option", data.savings.option))
    else:
        spent = float(move["cost_per_month"].fill_null(0).sum())
        text += f"; savings not yet estimated (these task types cost {fmt_money(spent)}/month today)."
    return Headline(text=text, facts=facts, assessed=True)


def sparkline(values: list[float], *, width: int = 110, height: int = 26, color: str = "#1565c0") -> Markup:
    """An inline SVG polyline of ``values`` (empty markup for fewer than two)."""
    from markupsafe import Markup

    vals = [v for v in (as_number(v) for v in values) if v is not None]
    if len(vals) < 2:
        return Markup("")
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(vals) - 1)
    pts = " ".join(f"{2 + i * step:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}" for i, v in enumerate(vals))
    return Markup(f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
                  f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{pts}"/></svg>')


def weekly_values(weekly_share: Any) -> list[tuple[str, float]]:
    """``(week, share)`` pairs from the ``weekly_share`` JSON of a task-type row (empty when absent or broken)."""
    if not weekly_share:
        return []
    try:
        series = json.loads(weekly_share) if isinstance(weekly_share, str) else dict(weekly_share)
    except (ValueError, TypeError):
        return []
    return [(str(k), float(v)) for k, v in series.items() if as_number(v) is not None]


def _verdict_cell(row: Mapping[str, Any]) -> dict[str, Any]:
    cls = row.get("verdict_class")
    if cls is None:
        return {"cls": "none", "label": "not assessed", "detail": ""}
    rate, low, high = as_number(row.get("rate")), as_number(row.get("ci_lo")), as_number(row.get("ci_hi"))
    detail = ""
    if rate is not None:
        detail = fmt_pct(rate, 1) + (f" [{fmt_pct(low, 1)}, {fmt_pct(high, 1)}]" if low is not None and high is not None
                                     else "")
    n = as_number(row.get("n"))
    if n is not None:
        detail += f" n={n:,.0f}"
    needed = as_number(row.get("samples_needed"))
    if cls == "undecided" and needed:
        detail += f"; ~{needed:,.0f} more samples to decide"
    return {"cls": cls, "label": str(row.get("verdict") if row.get("verdict") is not None else cls), "detail": detail}


def _savings_cell(row: Mapping[str, Any]) -> str:
    saving = as_number(row.get("savings_per_month"))
    if saving is None:
        return ""
    low, high = as_number(row.get("savings_lo")), as_number(row.get("savings_hi"))
    interval = f" [{fmt_money(low)}, {fmt_money(high)}]" if low is not None and high is not None else ""
    return fmt_money(saving) + interval


def task_type_rows(task_types: pl.DataFrame, *, examples: int = 2) -> list[dict[str, Any]]:
    """Display rows for the task-type table (named types by cost, then calls; "unassigned" last)."""
    import polars as pl

    order = [pl.col("cluster_id") < 0] if "cluster_id" in task_types.columns else []
    sort_cols = [c for c in ("cost_per_month", "calls") if c in task_types.columns]
    frame = task_types.sort(order + [pl.col(c) for c in sort_cols],
                            descending=[False] * len(order) + [True] * len(sort_cols), nulls_last=True)
    rows = []
    for row in frame.iter_rows(named=True):
        weeks = weekly_values(row.get("weekly_share"))
        slm_share = as_number(row.get("slm_share"))
        rows.append({
            "name": str(row.get("task_type") or "?"), "family": str(row.get("family") or ""),
            "calls": fmt_int(row.get("calls")), "share": fmt_pct(row.get("share"), 1),
            "cost": fmt_money(row.get("cost_per_month")),
            "unpriced": (as_number(row.get("unpriced_share")) or 0) > 0,
            "archetype": str(row.get("archetype") or ""), "evidence": str(row.get("archetype_evidence") or ""),
            "verdict": _verdict_cell(row), "slm_share": fmt_pct(slm_share) if slm_share is not None else "",
            "savings": _savings_cell(row),
            "spark": sparkline([v for _, v in weeks]),
            "trend": fmt_trend(row.get("trend_per_week")),
            "keywords": ", ".join(str(k) for k in (row.get("keywords") or [])),
            "examples": [redacted_text(e) for e in (row.get("examples") or [])[:examples]],
        })
    return rows


def assumptions(data: RunData) -> list[tuple[str, str]]:
    """What the figures assume, in plain words (built-in facts of the method plus the later stages' settings)."""
    ingest = data.info.get("ingest") or {}
    tt = data.info.get("task_types") or {}
    out = [
        ("monthly figures", "logged cost over the logs' time span"
         + (f" ({data.span_days:,.1f} days)" if data.span_days else "")
         + f", scaled to a {DAYS_PER_MONTH}-day month; a short or unusual window makes them rough"),
        ("cost", "as logged; otherwise priced from token counts with the genai-prices snapshot at the call's date"
         + (f" ({fmt_int(ingest.get('cost_estimated'))} calls priced that way)" if ingest.get("cost_estimated") else "")
         + "; calls of unpriced models count as unknown, not zero, so totals are lower bounds"),
        ("tokens", "as logged; otherwise counted with bpe-openai"
         + (f" ({fmt_int(ingest.get('tokens_estimated'))} calls)" if ingest.get("tokens_estimated") else "")),
        ("task types", "density clustering of the embedded (redacted) prompts, no labels used"
         + (f"; min_cluster_size {tt['min_cluster_size']}" if tt.get("min_cluster_size") else "")
         + (f"; {tt.get('families')} families" if tt.get("families") else "")),
    ]
    if data.suitability is not None:
        target = data.suitability["target"].drop_nulls()
        out.append(("verdicts", "per task type: the SLM's success or agreement rate with a 95 % interval; 'slm' when "
                    "the lower bound clears the target, 'frontier' when the upper bound is below it, else undecided"
                    + (f" (target {fmt_pct(target[0], 1)})" if target.len() else "")))
    if data.savings is not None:
        out.append(("headline savings", "the chosen option's total (savings_options.csv, or a total row of "
                    "savings.csv) when given, else the sum of the per-task-type savings of the task types with an SLM "
                    "verdict; the interval then adds the per-type bounds, which is wider than a joint interval"))
        if data.savings.option:
            out.append(("savings option", f"{data.savings.option}: one option for every task type (the one flagged "
                        "chosen, else the one saving most)"))
        out.append(("calls that could move", "calls of task types with an SLM verdict, times the share a confidence "
                    "threshold keeps on the SLM where that share is given"))
    out.extend(data.extra_assumptions)
    return out


def data_quality(data: RunData) -> dict[str, Any]:
    """Ingest skips by reason (with hints and redacted example locations), unpriced models, estimates, redaction
    counts, unassigned calls and adapter notes."""
    from ..ingest.common import SKIP_HINTS

    ingest = data.info.get("ingest") or {}
    skipped = [{"reason": r, "count": fmt_int(n), "hint": SKIP_HINTS.get(r, "")}
               for r, n in sorted((ingest.get("skipped") or {}).items(), key=lambda kv: -int(kv[1] or 0))]
    nulled = ingest.get("nulled") if isinstance(ingest.get("nulled"), dict) else {}
    skipped += [{"reason": r, "count": fmt_int(n), "hint": "value nulled, call kept: " + SKIP_HINTS.get(r, "")}
                for r, n in sorted(nulled.items(), key=lambda kv: -int(kv[1] or 0))]
    files = []
    for f in ingest.get("files") or []:
        examples = [redacted_text(loc, 200) for locs in (f.get("examples") or {}).values() for loc in locs[:2]]
        files.append({"path": str(f.get("path")), "format": str(f.get("format") or "?"),
                      "read": fmt_int(f.get("rows_read")), "kept": fmt_int(f.get("rows_kept")),
                      "skipped": fmt_int(f.get("rows_skipped")), "problem": redacted_text(f.get("problem") or "", 200),
                      "examples": examples})
    tt = data.info.get("task_types") or {}
    redactions = {k: v for k, v in (data.info.get("redactions") or {}).items() if v}
    settings = data.info.get("settings") or {}
    return {
        "rows_read": fmt_int(ingest.get("rows_read")), "rows_out": fmt_int(ingest.get("rows_out")),
        "rows_skipped": fmt_int(ingest.get("rows_skipped")), "skipped": skipped, "files": files,
        "unpriced": [(m, fmt_int(n)) for m, n in (ingest.get("unpriced_models") or {}).items()],
        "cost_unknown": fmt_int(ingest.get("cost_unknown") or 0),
        "redactions": [(k, fmt_int(v)) for k, v in sorted(redactions.items(), key=lambda kv: -kv[1])],
        "redacted": settings.get("redact", True) is not False,
        "unassigned": fmt_int(tt.get("calls_unassigned")) if tt.get("calls_unassigned") is not None else None,
        "notes": [redacted_text(n, 300) for n in list(ingest.get("notes") or []) + data.notes],
    }


def router_expectations(router: Mapping[str, Any] | None) -> list[str]:
    """Plain sentences from ``router.json``: how well the router should do on task types like its training data and
    on new ones (each with its spread over folds), which model was kept and why, and what the novelty guard does.
    Empty for routers exported before these were recorded."""
    if not router:
        return []
    out = []
    estimates = router.get("estimates") or {}
    labels = {"seen_task_types": "On traffic like the training data (random folds)",
              "new_task_types": "On task types absent from the training data (whole task types held out)"}
    for key, label in labels.items():
        est = estimates.get(key) or {}
        a, c = est.get("apgr") or {}, est.get("cpt50") or {}
        if as_number(a.get("mean")) is None:
            continue
        text = f"{label}: expected APGR {a['mean']:.3f}"
        if as_number(a.get("sd")) is not None:
            text += f" (sd {a['sd']:.3f} over {a.get('n_folds')} folds)"
        if as_number(c.get("mean")) is not None:
            text += f"; {c['mean']:.0%} of calls to the frontier model recover half the quality gap"
        out.append(text + ".")
    if out:
        out.append("Use the second figure when traffic will change or when the novelty guard flags many prompts; "
                   "APGR 0.5 is random routing, 1 routes every call where it should go.")
    why = (router.get("selection") or {}).get("why")
    if why:
        out.append(f"Model kept: {why}.")
    guard = router.get("novelty")
    if isinstance(guard, Mapping) and as_number(guard.get("threshold")) is not None:
        text = (f"Novelty guard: prompts farther than {guard['threshold']:.3f} (1 - cosine similarity) from every "
                "training centroid go to the frontier model")
        if as_number(guard.get("seen_flagged")) is not None:
            text += f"; it flags {guard['seen_flagged']:.1%} of familiar held-out prompts"
        if as_number(guard.get("new_flagged")) is not None:
            text += f" and {guard['new_flagged']:.0%} of prompts of held-out task types"
        out.append(text + ".")
    return out


def fmt_metric(value: Any) -> str:
    x = as_number(value)
    if x is None:
        return str(value)
    if isinstance(value, int) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{x:,.0f}"
    return f"{x:.4g}"
