"""Reading a run directory's calls: the logs joined with their task types and, when given, outcome tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: Columns of ``logs.parquet`` that suitability and savings never read: left on disk (at millions of calls these
#: texts are gigabytes).
UNUSED_BY_ESTIMATES = ("messages", "metadata", "error", "response_text", "system_prompt")


def load_calls(run_dir: str | Path | None = None, *, logs: pl.DataFrame | None = None,
               clusters: pl.DataFrame | None = None,
               outcomes: str | Path | Sequence[str | Path] | None = None,
               skip_columns: Sequence[str] = ()) -> pl.DataFrame:
    """The logs of a run joined with their task types (``cluster_id``, ``distance``, ...) and, when given, outcome
    tables (joined by call id with :func:`slmprofile.ingest.outcomes.attach_outcomes`). ``skip_columns``: columns
    of ``logs.parquet`` not to read."""
    import polars as pl

    run = Path(run_dir) if run_dir is not None else None
    if logs is None:
        if run is None:
            raise ValueError("give run_dir or logs")
        logs = RunDir(run).read_table(RunDir.LOGS, skip=skip_columns)
    if clusters is None and "cluster_id" not in logs.columns:
        if run is None:
            raise ValueError("give clusters (or run_dir holding clusters.parquet)")
        clusters = RunDir(run).read_table(RunDir.CLUSTERS)
    if outcomes is not None:
        from ..ingest.outcomes import attach_outcomes

        for source in [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes):
            logs, _ = attach_outcomes(logs, source)
    if clusters is not None:
        keep = [c for c in ("id", "cluster_id", "task_type", "family", "distance", "flags") if c in clusters.columns]
        logs = logs.drop([c for c in keep if c != "id" and c in logs.columns]).join(
            clusters.select(keep), on="id", how="left")
        logs = logs.with_columns(pl.col("cluster_id").fill_null(-1))
    return logs
