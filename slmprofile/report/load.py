"""Reading a run directory for the report: the task types with their suitability and savings joined, the router
and its benchmark, the daily series, the plots this run wrote, the assumptions behind each stage.

Every section past the task types is optional: a missing file leaves its part of :class:`RunData` ``None``. Each
file is read through :class:`~slmprofile.rundir.RunDir` in the columns of its contract (:mod:`slmprofile.schema`):
a table that lacks one is an error naming the file and the column, never a guess.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import SlmprofileError
from ..outputs import read_manifest
from ..rundir import RunDir
from .values import flatten_scalars, verdict_class

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


_KNOWN_PLOTS = ("task_map", "task_cost_share", "task_share_over_time")


@dataclass
class RunData:
    """What the report needs from a run directory (read by :func:`load_run`; absent parts are ``None``).

    ``task_types`` has the task-type statistics joined with the suitability columns (``verdict``, ``rate``,
    ``ci_lo``, ``ci_hi``, ``n``, ``samples_needed``, ``slm_share``, ...; plus ``verdict_class`` in
    ``slm | frontier | undecided``) and the chosen savings option's (``savings_per_month``, ``savings_lo``,
    ``savings_hi``; a column both tables have gets the prefix ``savings_``).
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


def read_suitability(run_dir: str | Path) -> pl.DataFrame | None:
    """``suitability.parquet`` with ``verdict_class`` added (``slm | frontier | undecided``), or None when the stage
    has not run. With several candidate SLMs the first row per task type is kept (the stage's order: its best)."""
    import polars as pl

    frame = RunDir(Path(run_dir)).read_stage_table(RunDir.SUITABILITY)
    if frame is None:
        return None
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
    """``savings.parquet`` for one savings option, or None when the stage has not run.

    A plan mixes no options, so one option is shown for every task type: the one saving most in total
    (``savings_options.csv``), whose row there gives the total with its interval and the assumptions behind it.
    """
    import polars as pl

    run = RunDir(Path(run_dir))
    frame = run.read_stage_table(RunDir.SAVINGS)
    if frame is None:
        return None
    options_frame = run.read_stage_table(RunDir.SAVINGS_OPTIONS)
    if options_frame is None:
        raise SlmprofileError(f"{run / RunDir.SAVINGS_OPTIONS}: missing beside {run.savings} (`{HOW_TO_RUN['savings']}` "
                              "writes both)")
    options = options_frame.to_dicts()
    present = set(frame["option"].drop_nulls().to_list())
    ranked = sorted((o for o in options if o["option"] in present), key=lambda o: -(o["savings_per_month"] or 0.0))
    chosen = ranked[0] if ranked else None
    total = assumptions = None
    if chosen is not None:
        frame = frame.filter(pl.col("option") == chosen["option"])
        total = {k: float(chosen[k]) for k in ("savings_per_month", "savings_lo", "savings_hi", "cost_now_per_month")
                 if chosen[k] is not None}
        try:
            assumptions = [(f"savings option {chosen['option']}: {k}", str(v))
                           for k, v in flatten_scalars(json.loads(chosen["assumptions"] or "{}"))]
        except ValueError:
            assumptions = [(f"savings option {chosen['option']}", str(chosen["assumptions"]))]
    return SavingsData(table=frame.unique(subset=["cluster_id"], keep="first", maintain_order=True),
                       option=chosen["option"] if chosen else None, total=total,
                       options=[{k: v for k, v in o.items() if k != "assumptions" and v is not None} for o in options],
                       assumptions=assumptions or [])


def read_router(run_dir: str | Path) -> dict[str, Any] | None:
    """``router/router.json`` of the run directory, or None when no router was trained."""
    path = RunDir(Path(run_dir)).router_config
    if not path.is_file():
        return None
    data = _read_json(path)
    if not isinstance(data, dict):
        raise SlmprofileError(f"{path}: must hold a JSON object (the router's settings); got {type(data).__name__}")
    return data


def read_bench(run_dir: str | Path) -> list[dict[str, Any]] | None:
    """The latency rows of ``router/bench.json`` (each flattened to scalars), or None when it was not benchmarked."""
    path = RunDir(Path(run_dir)).bench
    if not path.is_file():
        return None
    data = _read_json(path)
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise SlmprofileError(f"{path}: expected a JSON object with a list under \"rows\" (as `slmprofile router "
                              "bench` writes it)")
    return [dict(flatten_scalars(r)) for r in rows if isinstance(r, dict)]


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
    """Left-join a later stage's per-task-type table on ``cluster_id``; colliding columns get the stage's name as
    prefix; rows matching no task type are noted."""
    part = extra.drop("task_type").unique(subset=["cluster_id"], keep="first", maintain_order=True)
    part = part.rename({c: f"{name}_{c}" for c in part.columns if c != "cluster_id" and c in task_types.columns})
    unmatched = part.join(task_types.select("cluster_id"), on="cluster_id", how="anti").height
    if unmatched:
        notes.append(f"{name}: {unmatched} row(s) match no task type of {RunDir.TASK_TYPES} (by cluster_id)")
    return task_types.join(part, on="cluster_id", how="left")


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

    task_types = RunDir(run_dir).read_table(RunDir.TASK_TYPES) if RunDir(run_dir).task_types.is_file() else None
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
    meta_path = RunDir(run_dir).suitability_info
    meta = _read_json(meta_path) if meta_path.is_file() else None
    if isinstance(meta, dict) and isinstance(meta.get("settings"), dict):
        assumptions += [(f"{RunDir.SUITABILITY_INFO} settings: {k}", str(v))
                        for k, v in flatten_scalars(meta["settings"], limit=20)]
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
