"""Reading a run directory for the report: the task types with their suitability and savings joined, the router
and its benchmark, the daily series, the plots this run wrote, the assumptions behind each stage.

Every section past the task types is optional: a missing file leaves its part of :class:`RunData` ``None``. The
later stages' tables are read through small adapters that look columns up by name among known aliases and tolerate
missing ones (:data:`SUITABILITY_COLUMNS`, :data:`SAVINGS_COLUMNS`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import SlmprofileError
from ..outputs import read_manifest
from ..rundir import RunDir
from .values import as_number, flatten_scalars, verdict_class

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

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


#: Curve keys in ``router.json``: x (share of calls or cost sent to the frontier model) and y (quality).
CURVE_X_KEYS = ("frontier_share", "strong_share", "share_frontier", "strong_call_share", "frontier_call_share",
                "cost_share", "relative_cost", "cost", "x")


CURVE_Y_KEYS = ("quality", "accuracy", "success", "success_rate", "pgr", "performance", "y")


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
    #: per task type a small model should take: the fine-tuning examples its logs hold (None: no verdicts yet)
    finetune: list[dict[str, Any]] | None = None
    candidates: dict[str, Any] | None = None  # several candidate models side by side (candidates.csv)


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
        ranked = [o for o in sorted(options, key=lambda o: -(as_number(o.get("savings_per_month")) or 0.0))
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
                 if (v := as_number(source[0].get(k))) is not None} or None
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
    pts = sorted((x, y) for x, y in zip(map(as_number, xs), map(as_number, ys)) if x is not None and y is not None)
    if len(pts) < 2:
        return None
    return [p[0] for p in pts], [p[1] for p in pts], str(xk), str(yk)


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
                   span_days=span, plots=plots, extra_plots=extra_plots, extra_assumptions=assumptions, notes=notes,
                   finetune=_finetune(run_dir, suitability, notes), candidates=_candidates(run_dir, notes))


#: The report counts fine-tuning examples itself up to this many calls (about 1 s per 10,000 on 2 cores).
FINETUNE_COUNT_MAX_CALLS = 200_000


def _finetune(run_dir: Path, suitability: pl.DataFrame | None, notes: list[str]) -> list[dict[str, Any]] | None:
    """The "ready to fine-tune" rows: what ``slmprofile export finetune`` would write per slm / undecided type."""
    from dataclasses import asdict

    from ..loop.training_data import readiness_table

    import polars as pl

    run = RunDir(run_dir)
    if suitability is None or not run.logs.is_file() or not run.clusters.is_file():
        return None
    try:
        calls = pl.scan_parquet(run.logs).select(pl.len()).collect().item()
        if calls > FINETUNE_COUNT_MAX_CALLS:  # each call is read in Python: leave large logs to the command
            notes.append(f"ready to fine-tune: not counted for {calls:,} calls (over {FINETUNE_COUNT_MAX_CALLS:,}); "
                         f"`slmprofile export finetune {run_dir} --out DIR` counts and writes them")
            return None
        return [asdict(t) for t in readiness_table(run_dir)]
    except (OSError, ValueError, KeyError) as exc:  # a damaged or foreign table: the section says so
        notes.append(f"ready to fine-tune: not computed ({exc})")
        return None


def _candidates(run_dir: Path, notes: list[str]) -> dict[str, Any] | None:
    """Several candidates side by side: per task type each candidate's rate, interval, verdict and plan cost, and
    the cheapest that meets the target (``candidates.csv``, written by the savings stage)."""
    import polars as pl

    from ..candidates import compare_table

    path = RunDir(run_dir) / RunDir.CANDIDATES
    if not path.is_file():
        return None
    try:
        plan = pl.read_csv(path)
        names = sorted(set(plan["candidate"].to_list()))
        priced = dict(plan.select("candidate", "priced_as").unique().iter_rows())
        return {"names": names, "priced": priced, "rows": compare_table(plan, names)}
    except (OSError, ValueError, KeyError, pl.exceptions.PolarsError) as exc:
        notes.append(f"candidates: {path} not read ({exc})")
        return None


def named_task_types(task_types: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    return task_types.filter(pl.col("cluster_id") >= 0) if "cluster_id" in task_types.columns else task_types
