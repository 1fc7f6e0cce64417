"""The shareable HTML report of a run directory: one self-contained file a team lead reads in five minutes.

>>> path = write_report("out/sample")          # doctest: +SKIP  -> out/sample/report.html

The report reads only what the stages wrote into the run directory (``slmprofile run`` and later stages):

- ``run.json``, ``task_types.parquet``, ``logs.parquet``, ``plots/*.png`` (ingest, redaction, task types);
- ``suitability.parquet``/``.csv`` (+ ``suitability.json`` settings), ``savings.parquet``/``.csv`` and
  ``savings_options.csv`` (per-task-type verdicts and savings; totals and assumptions per savings option);
- ``router/router.json`` and ``router/bench.json`` (router metrics, cost-quality curve, latency table).

Every section past the task types is optional: a missing file makes its section say "not run" and how to run it.
The files of the later stages are read through small adapters that look columns up by name among known aliases and
tolerate missing ones (:data:`SUITABILITY_COLUMNS`, :data:`SAVINGS_COLUMNS`). Everything is HTML-escaped, images
are embedded as base64 PNG, CSS is inline, and there is no script and no external URL: the file opens offline.
Example prompts come from ``task_types.parquet`` (written from redacted logs) and are redacted once more here.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .plotting import plain_text
from .errors import SlmprofileError
from .outputs import read_manifest
from .rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from markupsafe import Markup
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

#: How to produce each optional input (shown where a section was not run).
HOW_TO_RUN: dict[str, str] = {
    "task_types": "slmprofile run LOGS --out RUN_DIR",
    "suitability": "slmprofile suitability RUN_DIR",
    "savings": "slmprofile savings RUN_DIR",
    "router": "slmprofile router train RUN_DIR, then slmprofile router export and slmprofile router bench",
}

#: Canonical suitability column -> accepted names in ``suitability.parquet``/``.csv`` (first present wins).
SUITABILITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "cluster_id": ("cluster_id",),
    "task_type": ("task_type", "name"),
    "verdict": ("verdict", "decision"),
    "rate": ("rate", "success_rate", "agreement", "agreement_rate", "slm_rate", "estimate", "p_hat", "p"),
    "rate_low": ("rate_low", "ci_low", "ci_lo", "rate_lo", "rate_ci_low", "wilson_low", "lower", "low", "lo"),
    "rate_high": ("rate_high", "ci_high", "ci_hi", "rate_hi", "rate_ci_high", "wilson_high", "upper", "high", "hi"),
    "n": ("n", "n_evidence", "n_samples", "samples", "evidence_n", "n_outcomes"),
    "evidence": ("evidence", "evidence_source", "evidence_kind", "source"),
    "target": ("target", "quality_target"),
    "n_needed": ("n_needed", "samples_needed", "more_samples", "needed"),
    "slm_share": ("slm_share", "share_on_slm", "routable_share", "slm_call_share"),
    "escalation_rate": ("escalation_rate", "escalation", "escalation_share"),
}

#: Canonical savings column -> accepted names in ``savings.parquet``/``.csv``.
SAVINGS_COLUMNS: dict[str, tuple[str, ...]] = {
    "cluster_id": ("cluster_id",),
    "task_type": ("task_type", "name"),
    "option": ("option", "slm_option", "deployment", "candidate", "slm_model", "slm"),
    "cost_per_month": ("cost_per_month", "cost_now_per_month", "current_cost_per_month", "frontier_cost_per_month"),
    "slm_cost_per_month": ("slm_cost_per_month", "plan_cost_per_month", "new_cost_per_month", "cost_after_per_month"),
    "savings_per_month": ("savings_per_month", "saving_per_month", "savings_month", "savings"),
    "savings_low": ("savings_low", "savings_lo", "savings_per_month_low", "savings_ci_low", "saving_low", "low", "lo"),
    "savings_high": ("savings_high", "savings_hi", "savings_per_month_high", "savings_ci_high", "saving_high", "high",
                     "hi"),
    "slm_share": ("slm_share", "share_on_slm", "routable_share"),
    "break_even": ("break_even", "break_even_calls_per_month", "break_even_tokens_per_day", "break_even_volume"),
    "chosen": ("chosen", "recommended", "best", "selected"),
}

#: Verdict words that mean "an SLM can take it" / "keep it on the frontier model"; anything else is undecided.
MOVE_VERDICTS = frozenset({"slm", "move", "yes", "suitable", "go", "switch", "small"})
KEEP_VERDICTS = frozenset({"frontier", "keep", "no", "unsuitable", "stay", "large"})

#: Curve keys in ``router.json``: x (share of calls or cost sent to the frontier model) and y (quality).
CURVE_X_KEYS = ("frontier_share", "strong_share", "share_frontier", "strong_call_share", "frontier_call_share",
                "cost_share", "relative_cost", "cost", "x")
CURVE_Y_KEYS = ("quality", "accuracy", "success", "success_rate", "pgr", "performance", "y")

#: Rows of the task-type table shown before the rest fold into "more".
TABLE_ROWS = 25
DAYS_PER_MONTH = 30.44
_TOTAL_NAMES = frozenset({"total", "all", "sum", "overall", "*"})
_KNOWN_PLOTS = ("task_map", "task_cost_share", "task_share_over_time")


@dataclass
class RunData:
    """What the report needs from a run directory (read by :func:`load_run`; absent parts are ``None``).

    ``task_types`` has the task-type statistics joined with the normalized suitability and savings columns
    (``verdict``, ``verdict_class`` in ``slm | frontier | undecided``, ``rate``, ``rate_low``, ...).
    """

    run_dir: Path
    info: dict[str, Any]
    task_types: pl.DataFrame | None
    suitability: pl.DataFrame | None
    savings: SavingsData | None
    router: dict[str, Any] | None
    bench: list[dict[str, Any]] | None
    daily: pl.DataFrame | None
    span_days: float | None
    plots: dict[str, Path] = field(default_factory=dict)
    extra_plots: dict[str, Path] = field(default_factory=dict)
    extra_assumptions: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Headline:
    """The report's first sentence and the key facts under it."""

    text: str
    facts: list[tuple[str, str]]
    assessed: bool


# ---------------------------------------------------------------------------------------------- formatting


def _num(value: Any) -> float | None:
    """A finite float, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fmt_money(value: Any) -> str:
    """``$12,345`` / ``$5.91`` / ``$0.029``; ``?`` when unknown."""
    x = _num(value)
    if x is None:
        return "?"
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1000:
        return f"{sign}${x:,.0f}"
    if x >= 0.1 or x == 0:
        return f"{sign}${x:,.2f}"
    return f"{sign}${x:.2g}" if x >= 0.0001 else f"{sign}<$0.0001"


def fmt_pct(value: Any, digits: int = 0) -> str:
    """``42 %``-style share of 1; ``?`` when unknown."""
    x = _num(value)
    if x is None:
        return "?"
    if 0 < abs(x) < 0.01 and digits == 0:
        return f"{x:.1%}"
    return f"{x:.{digits}%}"


def fmt_int(value: Any) -> str:
    x = _num(value)
    return "?" if x is None else f"{x:,.0f}"


def redacted_text(text: Any, limit: int = 400) -> str:
    """Text as it may appear in the report: redacted (again), one paragraph, at most ``limit`` characters."""
    from .redact import redact

    clean = redact(str(text))[0]
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------- adapters


def _pick(columns: Iterable[str], names: Iterable[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def normalize_columns(frame: pl.DataFrame, aliases: Mapping[str, tuple[str, ...]]) -> pl.DataFrame:
    """Rename the first present alias of each canonical column to its canonical name; add absent ones as null.

    Columns not named in ``aliases`` are kept as they are (after the canonical ones).
    """
    import polars as pl

    used: dict[str, str] = {}
    for canon, names in aliases.items():
        src = _pick([c for c in frame.columns if c not in used.values()], (canon, *names))
        if src is not None:
            used[canon] = src
    exprs = [pl.col(src).alias(canon) for canon, src in used.items()]
    exprs += [pl.lit(None).alias(canon) for canon in aliases if canon not in used]
    rest = [pl.col(c) for c in frame.columns if c not in used.values() and c not in aliases]
    return frame.select(exprs + rest)


def _read_table(run_dir: Path, stem: str) -> pl.DataFrame | None:
    """``stem.parquet`` or ``stem.csv`` from the run directory (or None); a broken file raises naming it."""
    import polars as pl

    for path in (run_dir / f"{stem}.parquet", run_dir / f"{stem}.csv"):
        if path.is_file():
            try:
                if path.suffix == ".parquet":
                    return pl.read_parquet(path)
                return pl.read_csv(path, infer_schema_length=None)
            except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the file name
                raise SlmprofileError(f"{path}: cannot be read ({exc})") from exc
    return None


def _as_float(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    import polars as pl

    return frame.with_columns([pl.col(c).cast(pl.Float64, strict=False) for c in columns if c in frame.columns])


def verdict_class(verdict: Any) -> str:
    """``slm``, ``frontier`` or ``undecided`` for a verdict word (or a boolean "suitable" flag)."""
    if isinstance(verdict, bool):
        return "slm" if verdict else "frontier"
    word = str(verdict or "").strip().lower()
    if word in MOVE_VERDICTS:
        return "slm"
    if word in KEEP_VERDICTS:
        return "frontier"
    return "undecided"


def read_suitability(run_dir: str | Path) -> pl.DataFrame | None:
    """Per-task-type suitability (canonical columns of :data:`SUITABILITY_COLUMNS` + ``verdict_class``), or None."""
    import polars as pl

    frame = _read_table(Path(run_dir), "suitability")
    if frame is None:
        return None
    frame = normalize_columns(frame, SUITABILITY_COLUMNS)
    frame = _as_float(frame, ["rate", "rate_low", "rate_high", "n", "target", "n_needed", "slm_share",
                              "escalation_rate"])
    frame = frame.with_columns(pl.col("cluster_id").cast(pl.Int64, strict=False),
                               pl.col("task_type").cast(pl.Utf8, strict=False))
    classes = [verdict_class(v) for v in frame["verdict"].to_list()]
    return frame.with_columns(pl.Series("verdict_class", classes, dtype=pl.Utf8))


@dataclass
class SavingsData:
    """What :func:`read_savings` found: per-task-type rows of one savings option, that option, its totals, and every
    option's totals (``savings_options.csv``) with the assumptions behind them."""

    table: pl.DataFrame
    option: str | None = None
    total: dict[str, float] | None = None
    options: list[dict[str, Any]] = field(default_factory=list)
    assumptions: list[tuple[str, str]] = field(default_factory=list)


def read_savings(run_dir: str | Path) -> SavingsData | None:
    """``savings.parquet``/``.csv`` in the canonical names of :data:`SAVINGS_COLUMNS`, or None.

    When the file holds several options (an API model, self-hosting, ...) one option is shown for every task type, as
    a plan mixes none: the one flagged ``chosen``, else the one saving most in ``savings_options.csv`` (one row per
    option), else the one whose task types save most in total. A ``task_type`` "total"/"all" row, or the chosen
    option's row of ``savings_options.csv``, gives the total with its interval.
    """
    import polars as pl

    run_dir = Path(run_dir)
    frame = _read_table(run_dir, "savings")
    if frame is None:
        return None
    frame = normalize_columns(frame, SAVINGS_COLUMNS)
    numeric = ["cost_per_month", "slm_cost_per_month", "savings_per_month", "savings_low", "savings_high", "slm_share",
               "break_even"]
    frame = _as_float(frame, numeric).with_columns(pl.col("cluster_id").cast(pl.Int64, strict=False),
                                                   pl.col("task_type").cast(pl.Utf8, strict=False),
                                                   pl.col("option").cast(pl.Utf8, strict=False))
    is_total = (pl.col("task_type").str.to_lowercase().is_in(list(_TOTAL_NAMES)).fill_null(False)
                | (pl.col("task_type").is_null() & pl.col("cluster_id").is_null()))
    totals, frame = frame.filter(is_total), frame.filter(~is_total)
    options_frame = _read_table(run_dir, "savings_options")
    options: list[dict[str, Any]] = []
    if options_frame is not None:
        options_frame = _as_float(normalize_columns(options_frame, SAVINGS_COLUMNS), numeric)
        options = options_frame.to_dicts()
    chosen = None
    names = frame["option"].drop_nulls().unique(maintain_order=True).to_list()
    if len(names) > 1:
        flagged = frame.filter(pl.col("chosen").cast(pl.Boolean, strict=False).fill_null(False))["option"] \
            if frame["chosen"].dtype != pl.Null else pl.Series([], dtype=pl.Utf8)
        ranked = [o for o in sorted(options, key=lambda o: -(_num(o.get("savings_per_month")) or 0.0))
                  if o.get("option") in names]
        if flagged.len():
            chosen = flagged[0]
        elif ranked:
            chosen = ranked[0]["option"]
        else:
            sums = frame.group_by("option", maintain_order=True).agg(pl.col("savings_per_month").sum())
            chosen = sums.sort("savings_per_month", descending=True, maintain_order=True)["option"][0]
        frame = frame.filter(pl.col("option") == chosen)
        totals = totals.filter(pl.col("option").is_null() | (pl.col("option") == chosen))
    elif len(names) == 1:
        chosen = names[0]
    total = None
    source = totals.to_dicts()[:1] or [o for o in options if chosen is not None and o.get("option") == chosen][:1]
    if source:
        total = {k: v for k in ("savings_per_month", "savings_low", "savings_high", "cost_per_month")
                 if (v := _num(source[0].get(k))) is not None} or None
    assumptions = []
    for o in options:
        raw = o.get("assumptions")
        if o.get("option") == chosen and isinstance(raw, str) and raw.strip().startswith("{"):
            try:
                assumptions = [(f"savings option {chosen}: {k}", str(v)) for k, v in flatten_scalars(json.loads(raw))]
            except ValueError:
                assumptions = [(f"savings option {chosen}", raw)]
    key = "cluster_id" if frame["cluster_id"].null_count() < frame.height else "task_type"
    frame = frame.unique(subset=[key], keep="first", maintain_order=True)
    return SavingsData(table=frame, option=chosen, total=total,
                       options=[{k: v for k, v in o.items() if k != "assumptions" and not isinstance(v, (list, dict))
                                 and v is not None} for o in options],
                       assumptions=assumptions)


def _find(obj: Any, keys: Iterable[str], depth: int = 0) -> Any:
    """The first value under any of ``keys`` in nested dicts (a level's own keys before its children; 3 levels)."""
    if not isinstance(obj, dict) or depth > 3:
        return None
    for key in keys:
        if key in obj:
            return obj[key]
    for value in obj.values():
        found = _find(value, keys, depth + 1)
        if found is not None:
            return found
    return None


def router_curve(router: Mapping[str, Any]) -> tuple[list[float], list[float], str, str] | None:
    """The cost-quality curve of ``router.json`` as (x, y, x name, y name), or None when it has none.

    Accepts a list of points (``[{"frontier_share": .., "quality": ..}, ...]`` or ``[[x, y], ...]``) or a dict of
    lists, under a key with ``curve`` in its name.
    """
    curve = None
    stack: list[Any] = [router]
    while stack and curve is None:
        node = stack.pop(0)
        if isinstance(node, dict):
            for key, value in node.items():
                if "curve" in str(key).lower() and isinstance(value, (list, dict)) and value:
                    curve = value
                    break
                stack.append(value)
    if curve is None:
        return None
    if isinstance(curve, dict):
        xk, yk = _pick(curve, CURVE_X_KEYS), _pick(curve, CURVE_Y_KEYS)
        if xk is None or yk is None:
            return None
        xs, ys = curve[xk], curve[yk]
    elif all(isinstance(p, dict) for p in curve):
        xk, yk = _pick(curve[0], CURVE_X_KEYS), _pick(curve[0], CURVE_Y_KEYS)
        if xk is None or yk is None:
            return None
        xs, ys = [p.get(xk) for p in curve], [p.get(yk) for p in curve]
    elif all(isinstance(p, (list, tuple)) and len(p) >= 2 for p in curve):
        xk, yk = "frontier share", "quality"
        xs, ys = [p[0] for p in curve], [p[1] for p in curve]
    else:
        return None
    pts = sorted((x, y) for x, y in zip(map(_num, xs), map(_num, ys)) if x is not None and y is not None)
    if len(pts) < 2:
        return None
    return [p[0] for p in pts], [p[1] for p in pts], str(xk), str(yk)


def flatten_scalars(obj: Any, prefix: str = "", *, skip: Iterable[str] = ("curve",),
                    limit: int = 60) -> list[tuple[str, Any]]:
    """``(dotted.key, value)`` for every scalar in nested dicts (lists and keys containing ``skip`` words left out)."""
    out: list[tuple[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if any(s in str(key).lower() for s in skip):
                    continue
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, (str, int, float, bool)) or node is None:
            out.append((path, node))

    walk(obj, prefix)
    return out


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
        if _num(a.get("mean")) is None:
            continue
        text = f"{label}: expected APGR {a['mean']:.3f}"
        if _num(a.get("sd")) is not None:
            text += f" (sd {a['sd']:.3f} over {a.get('n_folds')} folds)"
        if _num(c.get("mean")) is not None:
            text += f"; {c['mean']:.0%} of calls to the frontier model recover half the quality gap"
        out.append(text + ".")
    if out:
        out.append("Use the second figure when traffic will change or when the novelty guard flags many prompts; "
                   "APGR 0.5 is random routing, 1 routes every call where it should go.")
    why = (router.get("selection") or {}).get("why")
    if why:
        out.append(f"Model kept: {why}.")
    guard = router.get("novelty")
    if isinstance(guard, Mapping) and _num(guard.get("threshold")) is not None:
        text = (f"Novelty guard: prompts farther than {guard['threshold']:.3f} (1 - cosine similarity) from every "
                "training centroid go to the frontier model")
        if _num(guard.get("seen_flagged")) is not None:
            text += f"; it flags {guard['seen_flagged']:.1%} of familiar held-out prompts"
        if _num(guard.get("new_flagged")) is not None:
            text += f" and {guard['new_flagged']:.0%} of prompts of held-out task types"
        out.append(text + ".")
    return out


def read_router(run_dir: str | Path) -> dict[str, Any] | None:
    """``router/router.json`` (or ``router.json``) of the run directory, or None."""
    run_dir = Path(run_dir)
    for path in (RunDir(run_dir).router / RunDir.ROUTER_CONFIG, run_dir / RunDir.ROUTER_CONFIG):
        if path.is_file():
            data = _read_json(path)
            if not isinstance(data, dict):
                raise SlmprofileError(f"{path}: must hold a JSON object (the router's settings); got "
                                      f"{type(data).__name__}")
            return data
    return None


def read_bench(run_dir: str | Path) -> list[dict[str, Any]] | None:
    """The latency table of ``router/bench.json`` (or ``bench.json``) as rows of scalars, or None.

    Accepts a list of rows, or a dict holding one under ``rows``/``results``/``latency``/``table``/``runs``, or a
    dict of named rows.
    """
    run_dir = Path(run_dir)
    for path in (RunDir(run_dir).router / RunDir.BENCH, run_dir / RunDir.BENCH,
                 RunDir(run_dir).router / "bench" / RunDir.BENCH):
        if path.is_file():
            data = _read_json(path)
            rows: Any = data
            if isinstance(data, dict):
                rows = _find(data, ("rows", "results", "latency", "table", "runs"))
                if rows is None:
                    rows = [{"name": k, **v} for k, v in data.items() if isinstance(v, dict)]
            if isinstance(rows, dict):
                rows = [{"name": k, **v} if isinstance(v, dict) else {"name": k, "value": v} for k, v in rows.items()]
            if not isinstance(rows, list):
                return []
            return [dict(flatten_scalars(r)) for r in rows if isinstance(r, dict)]
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SlmprofileError(f"{path}: not valid JSON ({exc})") from exc


def _daily(run_dir: Path) -> tuple[pl.DataFrame | None, float | None]:
    """Calls and cost per day (and per model) from ``logs.parquet``, and the logs' span in days."""
    import polars as pl

    path = RunDir(run_dir).logs
    if not path.is_file():
        return None, None
    scan = pl.scan_parquet(path)
    have = set(scan.collect_schema().names())
    if "timestamp" not in have:
        return None, None
    model = pl.col("model").fill_null("unknown") if "model" in have else pl.lit("unknown")
    cost = pl.col("cost_usd") if "cost_usd" in have else pl.lit(None, dtype=pl.Float64)
    daily = (scan.filter(pl.col("timestamp").is_not_null())
             .group_by(pl.col("timestamp").dt.date().alias("day"), model.alias("model"))
             .agg(pl.len().alias("calls"), cost.sum().alias("cost_usd"),
                  pl.col("timestamp").min().alias("first"), pl.col("timestamp").max().alias("last"))
             .sort("day", "model").collect())
    if daily.is_empty():
        return None, None
    span = max((daily["last"].max() - daily["first"].min()).total_seconds() / 86400.0, 1.0)
    return daily.drop("first", "last"), span


#: Numeric columns of the later stages' tables that hold a setting (shown under assumptions when constant).
SETTING_COLUMNS = frozenset({"target", "confidence", "prior_strength", "prior_weight", "threshold", "utilisation",
                             "usd_per_hour", "hours_per_month"})


def _constant_settings(frame: pl.DataFrame | None, source: str, used: Iterable[str]) -> list[tuple[str, str]]:
    """``(file: column, value)`` for text columns with one value across all rows (e.g. the SLM option) and constant
    numeric columns named in :data:`SETTING_COLUMNS` (e.g. the target)."""
    import polars as pl

    if frame is None or frame.height < 2:
        return []
    out = []
    skip = set(used)
    for name in frame.columns:
        if name in skip:
            continue
        values = frame[name].drop_nulls()
        setting = frame[name].dtype in (pl.Utf8, pl.Boolean) or name in SETTING_COLUMNS
        if setting and values.len() == frame.height and values.n_unique() == 1:
            out.append((f"{source}: {name}", str(values[0])))
    return out


def _join_stage(task_types: pl.DataFrame, extra: pl.DataFrame, name: str, notes: list[str]) -> pl.DataFrame:
    """Left-join a later stage's per-task-type table on ``cluster_id`` (else ``task_type``); colliding columns get
    the stage's name as prefix; rows matching no task type are noted."""
    key = "cluster_id" if extra["cluster_id"].null_count() < extra.height else "task_type"
    if extra[key].null_count() == extra.height:
        notes.append(f"{name}: no cluster_id or task_type values; not joined to the task types")
        return task_types
    part = extra.drop("task_type" if key == "cluster_id" else "cluster_id").unique(subset=[key], keep="first",
                                                                                   maintain_order=True)
    part = part.rename({c: f"{name}_{c}" for c in part.columns if c != key and c in task_types.columns})
    unmatched = part.join(task_types.select(key), on=key, how="anti").height
    if unmatched:
        notes.append(f"{name}: {unmatched} row(s) match no task type of task_types.parquet (by {key})")
    return task_types.join(part, on=key, how="left")


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory (see the module docstring); raises :class:`SlmprofileError` naming a missing or broken
    file."""
    import polars as pl

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SlmprofileError(f"{run_dir}: not a directory (expected the output of `{HOW_TO_RUN['task_types']}`)")
    info_path = RunDir(run_dir).run_info
    if not info_path.is_file():
        raise SlmprofileError(f"{info_path}: missing (expected the output of `{HOW_TO_RUN['task_types']}`)")
    info = _read_json(info_path)
    if not isinstance(info, dict):
        raise SlmprofileError(f"{info_path}: expected a JSON object")
    notes: list[str] = []

    task_types = _read_table(run_dir, "task_types")
    suitability = read_suitability(run_dir)
    savings = read_savings(run_dir)
    if task_types is not None:
        for name, extra in (("suitability", suitability), ("savings", savings.table if savings else None)):
            if extra is not None:
                task_types = _join_stage(task_types, extra, name, notes)
        if "savings_slm_share" in task_types.columns:
            task_types = task_types.with_columns(pl.coalesce("slm_share", "savings_slm_share").alias("slm_share"))

    # only images slmprofile wrote (the directory's manifest lists them): a PNG someone else left in plots/ must
    # never reach a page that is shared
    ours = read_manifest(run_dir) or set()
    if not ours:
        notes.append(f"{run_dir} has no slmprofile manifest (made by an older version?): plots are left out")
    plots = {name: RunDir(run_dir).plots / f"{name}.png" for name in _KNOWN_PLOTS if f"plots/{name}.png" in ours}
    extra_plots = {}
    for name in sorted(ours):
        folder, _, file = name.partition("/")
        if folder in ("plots", "router") and "/" not in file and file.endswith(".png") \
                and Path(file).stem not in plots and (run_dir / name).is_file():
            extra_plots[f"{folder}/{Path(file).stem}"] = run_dir / name
    daily, span = _daily(run_dir)
    ids = ("cluster_id", "task_type", "verdict_class")
    assumptions = (_constant_settings(suitability, "suitability", ids)
                   + _constant_settings(savings.table if savings else None, "savings", ids)
                   + (savings.assumptions if savings else []))
    for stage in ("suitability", "savings"):
        meta = _read_json(run_dir / f"{stage}.json") if (run_dir / f"{stage}.json").is_file() else None
        for key in ("settings", "assumptions"):
            if isinstance(meta, dict) and isinstance(meta.get(key), dict):
                assumptions += [(f"{stage}.json {key}: {k}", str(v)) for k, v in flatten_scalars(meta[key], limit=20)]
    for path in sorted(run_dir.glob("*assumptions*.json")) + sorted(run_dir.glob("*/*assumptions*.json")):
        assumptions += [(f"{path.relative_to(run_dir)}: {k}", str(v)) for k, v in flatten_scalars(_read_json(path))]
    for stage in ("suitability", "savings", "router"):
        if isinstance(info.get(stage), dict):
            assumptions += [(f"run.json {stage}: {k}", str(v))
                            for k, v in flatten_scalars(info[stage], skip=("curve", "files", "timing"), limit=20)]
    return RunData(run_dir=run_dir, info=info, task_types=task_types, suitability=suitability, savings=savings,
                   router=read_router(run_dir), bench=read_bench(run_dir), daily=daily,
                   span_days=span, plots=plots, extra_plots=extra_plots, extra_assumptions=assumptions, notes=notes)


# ---------------------------------------------------------------------------------------------- headline


def _named(task_types: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    return task_types.filter(pl.col("cluster_id") >= 0) if "cluster_id" in task_types.columns else task_types


def headline(data: RunData) -> Headline:
    """The one-sentence answer: how much traffic could move to an SLM and what it saves (with its interval), or,
    before suitability was assessed, the volume and cost facts."""
    import polars as pl

    info_tt = data.info.get("task_types") or {}
    tt = data.task_types
    total_calls = _num(info_tt.get("calls"))
    if total_calls is None and tt is not None:
        total_calls = float(tt["calls"].sum())
    if total_calls is None:
        total_calls = _num((data.info.get("ingest") or {}).get("rows_out")) or 0.0
    named = _named(tt) if tt is not None else None
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
        saving, low, high = (total.get(k) for k in ("savings_per_month", "savings_low", "savings_high"))
    elif has_savings:
        saving = float(move["savings_per_month"].fill_null(0).sum())
        low = float(move["savings_low"].fill_null(0).sum()) if move["savings_low"].null_count() < move.height else None
        high = float(move["savings_high"].fill_null(0).sum()) if move["savings_high"].null_count() < move.height \
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


# ---------------------------------------------------------------------------------------------- plots


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _png_file(path: Path) -> str | None:
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
    if rows["savings_low"].null_count() < rows.height and rows["savings_high"].null_count() < rows.height:
        lows = [v - (lo if lo is not None else v) for v, lo in zip(values, rows["savings_low"].to_list())]
        highs = [(hi if hi is not None else v) - v for v, hi in zip(values, rows["savings_high"].to_list())]
        ax.errorbar(values, ys, xerr=[[max(x, 0) for x in lows], [max(x, 0) for x in highs]], fmt="none",
                    ecolor="#333", capsize=3, lw=1)
    ax.set_yticks(ys, [str(n)[:42] for n in rows["task_type"].to_list()], fontsize=8)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("savings per month ($), with interval")
    ax.set_title("Savings by task type (green: SLM verdict, amber: undecided, grey: frontier)")
    return fig


@plain_text
def plot_router_curve(curve: tuple[list[float], list[float], str, str]) -> Figure:
    """The router's cost-quality curve against random routing (the straight line between its end points)."""
    from matplotlib.figure import Figure

    xs, ys, xname, yname = curve
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(xs, ys, marker=".", label="router")
    ax.plot([xs[0], xs[-1]], [ys[0], ys[-1]], ls="--", color="#888", label="random routing")
    ax.set_xlabel(xname.replace("_", " "))
    ax.set_ylabel(yname.replace("_", " "))
    ax.set_title("Router: quality vs share sent to the frontier model")
    ax.legend(frameon=False, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------------------------------------- HTML pieces


def sparkline(values: list[float], *, width: int = 110, height: int = 26, color: str = "#1565c0") -> Markup:
    """An inline SVG polyline of ``values`` (empty markup for fewer than two)."""
    from markupsafe import Markup

    vals = [v for v in (_num(v) for v in values) if v is not None]
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
    return [(str(k), float(v)) for k, v in series.items() if _num(v) is not None]


def _verdict_cell(row: Mapping[str, Any]) -> dict[str, Any]:
    cls = row.get("verdict_class")
    if cls is None:
        return {"cls": "none", "label": "not assessed", "detail": ""}
    rate, low, high = _num(row.get("rate")), _num(row.get("rate_low")), _num(row.get("rate_high"))
    detail = ""
    if rate is not None:
        detail = fmt_pct(rate, 1) + (f" [{fmt_pct(low, 1)}, {fmt_pct(high, 1)}]" if low is not None and high is not None
                                     else "")
    n = _num(row.get("n"))
    if n is not None:
        detail += f" n={n:,.0f}"
    needed = _num(row.get("n_needed"))
    if cls == "undecided" and needed:
        detail += f"; ~{needed:,.0f} more samples to decide"
    return {"cls": cls, "label": str(row.get("verdict") if row.get("verdict") is not None else cls), "detail": detail}


def _savings_cell(row: Mapping[str, Any]) -> str:
    saving = _num(row.get("savings_per_month"))
    if saving is None:
        return ""
    low, high = _num(row.get("savings_low")), _num(row.get("savings_high"))
    interval = f" [{fmt_money(low)}, {fmt_money(high)}]" if low is not None and high is not None else ""
    return fmt_money(saving) + interval


def fmt_trend(value: Any) -> str:
    """Weekly change of a share in percentage points (``flat`` below 0.05 pp)."""
    x = _num(value)
    if x is None:
        return ""
    return "flat" if abs(x) < 0.0005 else f"{x * 100:+.1f} pp/week"


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
        slm_share = _num(row.get("slm_share"))
        rows.append({
            "name": str(row.get("task_type") or "?"), "family": str(row.get("family") or ""),
            "calls": fmt_int(row.get("calls")), "share": fmt_pct(row.get("share"), 1),
            "cost": fmt_money(row.get("cost_per_month")),
            "unpriced": (_num(row.get("unpriced_share")) or 0) > 0,
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
    from .ingest.common import SKIP_HINTS

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


# ---------------------------------------------------------------------------------------------- template

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1c1c1c;margin:0;
  background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 10px;padding-top:8px;border-top:1px solid #e3e5e8}
h3{font-size:16px;margin:20px 0 6px}
.meta{color:#666;font-size:13px}
.headline{font-size:22px;line-height:1.35;font-weight:600;margin:18px 0 12px;padding:16px 20px;border-radius:8px;
  background:#eef4fb;border-left:6px solid #1565c0}
.facts{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 8px;padding:0;list-style:none}
.facts li{background:#f3f4f6;border-radius:6px;padding:6px 12px;font-size:13px}.facts b{font-size:16px;display:block}
nav{font-size:13px;margin:10px 0}nav a{margin-right:14px;color:#1565c0;text-decoration:none}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 12px}
th,td{padding:5px 8px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;position:sticky;top:0}
td.num,th.num{text-align:right;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.b-slm{background:#e3f4e4;color:#1b5e20}.b-frontier{background:#eceff1;color:#455a64}
.b-undecided{background:#fff4d6;color:#8a6100}.b-none{background:#f3f4f6;color:#777;font-weight:400}
.small{font-size:12px;color:#555}.ev{font-size:12px;color:#555;max-width:300px}
details{margin:2px 0}summary{cursor:pointer;color:#1565c0;font-size:12px}
.ex{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;
  background:#f6f7f9;border-radius:4px;padding:4px 6px;margin:3px 0;max-width:520px;overflow-wrap:anywhere}
figure{margin:14px 0}figure img{max-width:100%;height:auto;border:1px solid #eceef1;border-radius:4px}
figcaption{font-size:12px;color:#555}
.notrun{background:#fafafa;border:1px dashed #c7c9cc;border-radius:6px;padding:10px 14px;color:#555}
code{background:#f3f4f6;padding:1px 5px;border-radius:4px;font-size:13px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;font-size:13px}dl.kv dt{font-weight:600}
dl.kv dd{margin:0}
footer{margin-top:40px;font-size:12px;color:#777}
@media print{th{position:static}main{max-width:none}}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slmprofile report: {{ title }}</title>
<style>{{ css }}</style></head>
<body><main>
<h1>Which LLM calls could a small model take?</h1>
<div class="meta">slmprofile report for <code>{{ title }}</code>{% if created %} &middot; run {{ created }}{% endif %}
{% if inputs %} &middot; logs: {{ inputs }}{% endif %}</div>
<p class="headline" id="headline">{{ headline.text }}</p>
<ul class="facts">{% for label, value in headline.facts %}<li>{{ label }}<b>{{ value }}</b></li>{% endfor %}</ul>
<nav><a href="#task-types">Task types</a><a href="#task-map">Task map</a><a href="#cost">Cost and trends</a>
<a href="#router">Router</a><a href="#assumptions">Assumptions</a><a href="#data-quality">Data quality</a></nav>

<h2 id="task-types">Task types</h2>
{% if rows %}
<p class="small">One row per task type, by cost per month. Verdict: can an SLM take it (success or agreement rate and
its 95 % interval); savings per month with its interval. Examples are redacted.
{% if not headline.assessed %}Suitability has not been assessed yet: run <code>{{ how.suitability }}</code> and
<code>{{ how.savings }}</code>, then this report again.{% endif %}</p>
<table><thead><tr><th>task type</th><th class="num">calls</th><th class="num">share</th><th class="num">$/month</th>
<th>archetype</th><th>verdict</th>{% if show_slm_share %}<th class="num">on SLM</th>{% endif %}
{% if has_savings %}<th class="num">savings/month</th>{% endif %}<th>weekly share</th>
</tr></thead>
<tbody>
{% for r in rows[:max_rows] %}{{ row(r) }}{% endfor %}
</tbody></table>
{% if rows|length > max_rows %}
<details><summary>{{ rows|length - max_rows }} more task types</summary>
<table><tbody>{% for r in rows[max_rows:] %}{{ row(r) }}{% endfor %}</tbody></table></details>
{% endif %}
<p class="small">All columns: <code>task_types.csv</code>{% if has_suitability %}, <code>suitability</code>{% endif %}
{% if has_savings %}, <code>savings.csv</code>{% endif %} in the run directory.</p>
{% else %}
<div class="notrun">Task types were not run for this directory: <code>{{ how.task_types }}</code>.</div>
{% endif %}

<h2 id="task-map">Task map</h2>
{% if images.get('task_map') %}
<figure><img alt="task map" src="data:image/png;base64,{{ images.get('task_map') }}">
<figcaption>Distinct prompts in two dimensions, coloured by task type (the largest named; unassigned and the rest
grey). Nearby points are similar requests.</figcaption></figure>
{% else %}<div class="notrun">No task map in <code>plots/</code>: <code>{{ how.task_types }}</code> writes it.</div>
{% endif %}

<h2 id="cost">Cost and trends</h2>
{% for key, caption in cost_plots %}
{% if images.get(key) %}<figure><img alt="{{ key }}" src="data:image/png;base64,{{ images[key] }}">
<figcaption>{{ caption }}</figcaption></figure>{% endif %}
{% endfor %}
{% if images.get('savings') %}<figure><img alt="savings" src="data:image/png;base64,{{ images.get('savings') }}">
<figcaption>Savings per month by task type with their intervals.</figcaption></figure>
{% elif not has_savings %}<div class="notrun">Savings not run: <code>{{ how.savings }}</code>.</div>{% endif %}
{% if options %}<h3>Savings options</h3>
<p class="small">Per month, for all task types together{% if chosen_option %}; the table and headline use
<code>{{ chosen_option }}</code>{% endif %}.</p>
<table><thead><tr>{% for c in option_cols %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for o in options %}<tr>{% for c in option_cols %}<td>{{ o[c] }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>{% endif %}
{% for name, b64 in extra_images %}<figure><img alt="{{ name }}" src="data:image/png;base64,{{ b64 }}">
<figcaption>{{ name }}</figcaption></figure>{% endfor %}

<h2 id="router">Router</h2>
{% if router %}
{% if router_expect %}<ul>{% for line in router_expect %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
<div class="cols"><div>
<h3>Metrics</h3>
<table><tbody>{% for k, v in router_metrics %}<tr><td>{{ k }}</td><td class="num">{{ v }}</td></tr>{% endfor %}
</tbody></table></div><div>
{% if images.get('router_curve') %}<figure><img alt="router cost-quality curve" src="data:image/png;base64,{{ images.get('router_curve') }}">
<figcaption>Cost-quality curve: quality of the routed traffic as more calls go to the frontier model; the dashed
line is random routing.</figcaption></figure>
{% else %}<p class="small">router.json has no cost-quality curve.</p>{% endif %}
</div></div>
{% else %}<div class="notrun">Router not trained: <code>{{ how.router }}</code>.</div>{% endif %}
<h3>Latency</h3>
{% if bench %}
<table><thead><tr>{% for c in bench_cols %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in bench %}<tr>{% for c in bench_cols %}<td>{{ r.get(c, "") }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% else %}<div class="notrun">No benchmark (<code>router/bench.json</code>): <code>slmprofile router bench</code>.</div>
{% endif %}

<h2 id="assumptions">Assumptions</h2>
<dl class="kv">{% for k, v in assumptions %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>

<h2 id="data-quality">Data quality</h2>
<p>Read {{ dq.rows_read }} rows, skipped {{ dq.rows_skipped }}, kept {{ dq.rows_out }} calls.
{% if dq.unassigned is not none %}{{ dq.unassigned }} calls fit no task type (unassigned).{% endif %}</p>
{% if dq.skipped %}<table><thead><tr><th>skip reason</th><th class="num">rows or values</th><th>meaning</th></tr></thead><tbody>
{% for s in dq.skipped %}<tr><td><code>{{ s.reason }}</code></td><td class="num">{{ s.count }}</td><td>{{ s.hint }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
{% if dq.files %}<details><summary>per file, with the first offending lines</summary>
<table><thead><tr><th>file</th><th>format</th><th class="num">read</th><th class="num">kept</th><th class="num">skipped</th>
<th>examples</th></tr></thead><tbody>
{% for f in dq.files %}<tr><td>{{ f.path }}</td><td>{{ f.format }}</td><td class="num">{{ f.read }}</td>
<td class="num">{{ f.kept }}</td><td class="num">{{ f.skipped }}</td><td class="small">{% if f.problem %}{{ f.problem }}<br>
{% endif %}{% for e in f.examples %}{{ e }}<br>{% endfor %}</td></tr>{% endfor %}
</tbody></table></details>{% endif %}
<h3>Unpriced models</h3>
{% if dq.unpriced %}<p>No price known for {% for m, n in dq.unpriced %}<code>{{ m }}</code> ({{ n }} calls){% if not loop.last %},
{% endif %}{% endfor %}: the cost of these {{ dq.cost_unknown }} calls is unknown and left out of every total
(totals are lower bounds).</p>
{% else %}<p>Every call has a cost (logged or priced).</p>{% endif %}
<h3>Redaction</h3>
{% if not dq.redacted %}<p>Redaction was turned off for this run; examples in this report were redacted when it was
written.</p>{% endif %}
{% if dq.redactions %}<p>Replaced with typed placeholders before anything was written:
{% for k, n in dq.redactions %}{{ k }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}.</p>
{% elif dq.redacted %}<p>No PII found by the recognizers.</p>{% endif %}
{% if dq.notes %}<h3>Notes</h3><ul>{% for n in dq.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}

<footer>Generated by slmprofile {{ version }}{% if versions %} ({{ versions }}){% endif %}.
{% if timings %}Stage timings: {{ timings }}.{% endif %} This file is self-contained: no scripts, no external links.
</footer>
</main></body></html>
"""

_ROW_MACRO = """{% macro row(r) %}<tr>
<td><b>{{ r.name }}</b><div class="small">{{ r.family }}{% if r.keywords %} &middot; {{ r.keywords }}{% endif %}</div>
{% if r.examples %}<details><summary>examples</summary>{% for e in r.examples %}<div class="ex">{{ e }}</div>{% endfor %}
</details>{% endif %}</td>
<td class="num">{{ r.calls }}</td><td class="num">{{ r.share }}</td>
<td class="num">{{ r.cost }}{% if r.unpriced %}<span class="small" title="some calls unpriced">+</span>{% endif %}</td>
<td>{{ r.archetype }}<div class="ev">{{ r.evidence }}</div></td>
<td><span class="badge b-{{ r.verdict.cls }}">{{ r.verdict.label }}</span><div class="small">{{ r.verdict.detail }}</div></td>
{% if show_slm_share %}<td class="num">{{ r.slm_share }}</td>{% endif %}
{% if has_savings %}<td class="num">{{ r.savings }}</td>{% endif %}
<td>{{ r.spark }}<div class="small">{{ r.trend }}</div></td></tr>{% endmacro %}"""


def _fmt_metric(value: Any) -> str:
    x = _num(value)
    if x is None:
        return str(value)
    if isinstance(value, int) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{x:,.0f}"
    return f"{x:.4g}"


def render_report(data: RunData) -> str:
    """The report's HTML for loaded run data (see :func:`write_report`)."""
    import jinja2

    from .version import __version__

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(_ROW_MACRO + _TEMPLATE)
    images: dict[str, str | None] = {name: _png_file(path) for name, path in data.plots.items()}
    if data.daily is not None:
        images["daily"] = _png(plot_daily(data.daily))
    if data.task_types is not None and data.savings is not None and "plots/savings_by_task_type" not in data.extra_plots:
        fig = plot_savings(_named(data.task_types))
        images["savings"] = _png(fig) if fig is not None else None
    curve = router_curve(data.router) if data.router else None
    if curve:
        images["router_curve"] = _png(plot_router_curve(curve))
    images = {k: v for k, v in images.items() if v}
    extra = [(name.split("/")[-1].replace("_", " "), b64) for name, path in data.extra_plots.items()
             if (b64 := _png_file(path))]
    options = data.savings.options if data.savings else []
    option_cols: list[str] = []
    for o in options:
        option_cols += [c for c in o if c not in option_cols]
    bench = data.bench or []
    bench_cols: list[str] = []
    for r in bench:
        bench_cols += [c for c in r if c not in bench_cols]
    bench_cols = bench_cols[:12]
    bench_rows = [{c: _fmt_metric(r[c]) if c in r else "" for c in bench_cols} for r in bench]
    info = data.info
    versions = ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items() if k != "slmprofile")
    timings = ", ".join(f"{k} {float(v):.1f} s" for k, v in (info.get("timings_s") or {}).items()
                        if _num(v) is not None)
    return template.render(
        css=_CSS, title=data.run_dir.resolve().name, created=info.get("created"),
        inputs=", ".join(str(p) for p in info.get("inputs") or []), headline=headline(data),
        rows=task_type_rows(data.task_types) if data.task_types is not None else [], max_rows=TABLE_ROWS,
        has_suitability=data.suitability is not None, has_savings=data.savings is not None, how=HOW_TO_RUN,
        show_slm_share=data.task_types is not None and "slm_share" in data.task_types.columns
        and data.task_types["slm_share"].null_count() < data.task_types.height,
        images=images, extra_images=extra,
        cost_plots=[("task_cost_share", "Share of calls and share of cost per task type (largest by cost)."),
                    ("task_share_over_time", "Weekly share of calls of the largest task types: drift shows here."),
                    ("daily", "Calls per day by model (top) and cost per day (bottom), from the redacted logs.")],
        router=data.router, router_expect=router_expectations(data.router),
        router_metrics=[(k, _fmt_metric(v)) for k, v in flatten_scalars(
            data.router or {}, skip=("curve", "path", "hash", "version", "estimates", "novelty", "selection"))],
        bench=bench_rows, bench_cols=bench_cols, option_cols=option_cols[:10],
        options=[{c: _fmt_metric(o[c]) if c in o else "" for c in option_cols[:10]} for o in options],
        chosen_option=data.savings.option if data.savings else None, assumptions=assumptions(data), dq=data_quality(data),
        version=__version__, versions=versions, timings=timings,
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the self-contained HTML report of ``run_dir`` (default ``RUN_DIR/report.html``); returns its path.

    >>> write_report("out/sample")            # doctest: +SKIP
    PosixPath('out/sample/report.html')
    """
    data = load_run(run_dir)
    html = render_report(data)
    path = Path(out) if out is not None else RunDir(run_dir).report
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    logger.info("wrote report %s (%d bytes)", path, len(html))
    return path
