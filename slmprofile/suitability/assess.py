"""The suitability table of a run directory (one estimator per candidate model when outcome tables grade several),
and writing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..rundir import RunDir
from .calls import UNUSED_BY_ESTIMATES, load_calls
from .estimator import SuitabilityEstimator

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


def assess_suitability(run_dir: str | Path | None = None, *, logs: pl.DataFrame | None = None,
                       clusters: pl.DataFrame | None = None, task_types: pl.DataFrame | None = None,
                       outcomes: str | Path | Sequence[str | Path] | None = None,
                       shadow: pl.DataFrame | str | Path | None = None, out_dir: str | Path | None = None,
                       write: bool = True, **settings: Any) -> pl.DataFrame:
    """The suitability table of a run: one row per task type (and candidate model).

    Reads ``logs.parquet``, ``clusters.parquet``, ``task_types.parquet`` (and ``shadow_results.parquet`` when
    present) from ``run_dir`` unless frames are given; ``outcomes`` are eval tables joined by call id;
    ``settings`` go to :class:`SuitabilityEstimator` (``target``, ``metric``, ``prior_strength``, ...).

    Columns: the task type (``cluster_id, task_type, family, archetype, calls, share, cost_per_month``), the
    ``candidate`` model, the prior (``prior_mean, prior_strength, prior_reasons``), logged outcomes (``outcome_n,
    outcome_rate, outcome_lo, outcome_hi, frontier_rate, feedback_mean, eval_score_mean, error_rate``), the shadow
    run (``shadow_n, shadow_rate, shadow_lo, shadow_hi, shadow_measure``), the combination (``evidence,
    prior_source, prior_weight, prior_used_mean, n, k, rate, ci_lo, ci_hi, target, verdict, samples_needed,
    more_samples``), the SLM share (``score, threshold, slm_share, slm_share_lo, slm_share_hi, escalation_rate``)
    and the drift signal ``trend_per_week`` (change of the type's weekly share of calls). Writes
    ``suitability.csv``, ``suitability.parquet`` and ``suitability.json`` (settings, outcome tables, calibration)
    to ``out_dir`` (default ``run_dir``) unless ``write`` is False.
    """
    import polars as pl

    run = Path(run_dir) if run_dir is not None else None
    sources = [] if outcomes is None else [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes)
    per_candidate = outcome_candidates(sources)
    if per_candidate is None:
        calls = load_calls(run, logs=logs, clusters=clusters, outcomes=outcomes, skip_columns=UNUSED_BY_ESTIMATES)
    else:  # one table per candidate model: each is assessed on its own outcomes (the logs' own ones set aside)
        from ..schema import OUTCOME_COLUMNS

        calls = load_calls(run, logs=logs, clusters=clusters, skip_columns=UNUSED_BY_ESTIMATES)
        calls = calls.drop([c for c in (*OUTCOME_COLUMNS, "slm_model") if c in calls.columns])
    if task_types is None and run is not None and RunDir(run).task_types.is_file():
        task_types = pl.read_parquet(RunDir(run).task_types)
    if shadow is None and run is not None and RunDir(run).shadow_results.is_file():
        shadow = RunDir(run).shadow_results
    if isinstance(shadow, (str, Path)):
        shadow = pl.read_parquet(shadow)
    if task_types is not None:
        task_types = task_types.drop([c for c in ("examples", "keywords", "weekly_share") if c in task_types.columns])
    if per_candidate is None:
        estimator = SuitabilityEstimator(**settings).fit(calls, task_types, shadow=shadow)
        table = estimator.table_
    else:
        tables, calibration = [], {}
        for i, (model, paths) in enumerate(per_candidate.items()):
            graded = load_calls(logs=calls, outcomes=paths)
            mine = None if shadow is None else shadow.filter(
                (pl.col("model") == model) | (pl.lit(i == 0) & ~pl.col("model").is_in(list(per_candidate))))
            estimator = SuitabilityEstimator(**{**settings, "candidate": model}).fit(graded, task_types, shadow=mine)
            tables.append(estimator.table_)
            calibration.update(estimator.calibration_)
        table = pl.concat(tables, how="diagonal_relaxed")
        estimator.calibration_ = calibration
    target = Path(out_dir) if out_dir is not None else run
    if write and target is not None:
        write_table(table, target, "suitability")
        meta = {"settings": estimator.get_params(), "outcomes": [str(Path(p).resolve()) for p in sources],
                "calibration": estimator.calibration_,
                "verdicts": {str(k): int(v) for k, v in table["verdict"].value_counts().iter_rows()}}
        RunDir(target).suitability_info.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return table


def outcome_candidates(sources: Sequence[str | Path]) -> dict[str, list[str | Path]] | None:
    """Outcome tables grouped by the candidate model each grades (its ``slm_model`` column's one value), when they
    grade two or more models (None otherwise: one candidate, assessed from the joined columns as before). A table
    grading several models is an error: give one table per model."""
    if len(sources) < 2:
        return None
    from ..ingest.outcomes import read_table

    groups: dict[str, list[str | Path]] = {}
    for source in sources:
        table = read_table(Path(source))
        names = table["slm_model"].drop_nulls().cast(str).unique().to_list() if "slm_model" in table.columns else []
        if len(names) > 1:
            raise ValueError(f"{source}: grades {len(names)} models ({', '.join(sorted(names)[:5])}); with several "
                             "outcome tables give one table per candidate model")
        groups.setdefault(names[0] if names else Path(source).stem, []).append(source)
    return groups if len(groups) > 1 else None


def write_table(table: pl.DataFrame, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``name.parquet`` and ``name.csv`` (nested columns as JSON text) into ``out_dir``."""
    import polars as pl

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parquet, csv = out / f"{name}.parquet", out / f"{name}.csv"
    table.write_parquet(parquet)
    flat = table.with_columns([pl.col(c).cast(pl.Utf8) if table.schema[c] == pl.Object else pl.col(c)
                               for c in table.columns])
    nested = [c for c, t in flat.schema.items() if isinstance(t, (pl.List, pl.Struct))]
    if nested:
        flat = flat.with_columns([pl.col(c).map_elements(lambda v: str(v), return_dtype=pl.Utf8) for c in nested])
    flat.write_csv(csv)
    return {"parquet": parquet, "csv": csv}
