"""Training data for the router from files written by earlier stages.

A run directory (``slmprofile run``) holds ``logs.parquet`` (with outcome columns such as ``slm_correct`` /
``frontier_correct`` when they were mapped or joined at ingest), ``embeddings.parquet`` (one vector per distinct
prompt) and ``clusters.parquet`` (the task type of each call). A plain logs Parquet works too (embeddings are then
computed, cached). Weak labels - e.g. a verdict or success rate per task type - fill calls without an outcome, with
a lower sample weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SlmprofileError
from ..rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass
class RouterData:
    """Aligned per-call inputs for :func:`slmprofile.router.train_router`."""

    texts: list[str]
    slm_correct: np.ndarray
    frontier_correct: np.ndarray | None
    embeddings: np.ndarray | None
    groups: list[str] | None
    sample_weight: np.ndarray
    timestamps: list[Any] | None
    report: dict[str, Any] = field(default_factory=dict)
    #: ``template_id`` per call (from ingest), for deriving groups when there are none
    #: (:func:`slmprofile.router.train.derive_groups`).
    templates: list[str | None] | None = None


def _read_table(path: Path) -> Any:
    import polars as pl

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix in (".csv", ".tsv"):
        return pl.read_csv(path, separator="\t" if suffix == ".tsv" else ",")
    if suffix in (".jsonl", ".ndjson"):
        return pl.read_ndjson(path)
    raise SlmprofileError(f"{path}: unsupported table type (use .parquet, .csv, .tsv or .jsonl)")


#: On the bounded-memory path (``slmprofile run`` on a large log, or ``--stream``) the router trains on a seeded
#: sample of at most this many labelled calls; ``router train`` does the same on such a run's directory.
ROUTER_MAX_CALLS = 20_000


def default_max_calls(source: str | Path) -> int | None:
    """:data:`ROUTER_MAX_CALLS` when ``source`` is a run directory whose ``run.json`` says it took the
    bounded-memory path, else None (every labelled call)."""
    import json

    info = RunDir(source).run_info if Path(source).is_dir() else None
    if info is None or not info.is_file():
        return None
    try:
        mode = json.loads(info.read_text(encoding="utf-8")).get("mode") or {}
    except (OSError, ValueError):
        return None
    return ROUTER_MAX_CALLS if mode.get("stream") else None


def _fit_sample(path: Path) -> Any:
    """``prompt_hash`` (and ``fit_weight`` where written) of a sampled run's fit sample (``embeddings.parquet`` rows
    flagged :data:`~slmprofile.cluster.sampled.FIT_SAMPLE_COLUMN`), or None when the file has no such column."""
    import polars as pl

    from ..cluster.sampled import FIT_SAMPLE_COLUMN, FIT_WEIGHT_COLUMN

    if not path.is_file():
        return None
    scan = pl.scan_parquet(path)
    names = scan.collect_schema().names()
    if FIT_SAMPLE_COLUMN not in names:
        return None
    return scan.filter(pl.col(FIT_SAMPLE_COLUMN)).select(
        "prompt_hash", *([FIT_WEIGHT_COLUMN] if FIT_WEIGHT_COLUMN in names else [])).collect()


def _sample_calls(scan: Any, max_calls: int, preferred: Any, random_state: int) -> tuple[Any, dict[str, int]]:
    """Row numbers of a seeded sample of at most ``max_calls`` calls of ``scan`` (None: keep all) and what to
    report. With ``preferred`` (prompt hashes whose calls are themselves a uniform sample of the calls, and whose
    vectors are already in ``embeddings.parquet``) the sample is drawn from their calls first, topped up from the
    others when they are too few: a uniform sample of a uniform sample, with nothing new to embed."""
    import numpy as np
    import polars as pl

    total = scan.select(pl.len()).collect().item()
    if total <= max_calls:
        return None, {}
    rng = np.random.default_rng(random_state)
    if preferred is None or "prompt_hash" not in scan.collect_schema().names():
        return np.sort(rng.choice(total, max_calls, replace=False)), {"sampled_from": total}
    inside = scan.select(pl.col("prompt_hash").is_in(preferred.implode())).collect().to_series().to_numpy()
    rows_in, rows_out = np.flatnonzero(inside), np.flatnonzero(~inside)
    if len(rows_in) >= max_calls:
        keep = rng.choice(rows_in, max_calls, replace=False)
    else:
        keep = np.concatenate([rows_in, rng.choice(rows_out, max_calls - len(rows_in), replace=False)])
    return np.sort(keep), {"sampled_from": total, "sampled_from_fit_sample": int(min(len(rows_in), max_calls))}


def load_run_data(source: str | Path, *, label_column: str = "slm_correct",
                  frontier_column: str | None = "frontier_correct", embeddings: str | Path | None = None,
                  groups: str | None = "task_type", weak_labels: str | Path | None = None,
                  weak_column: str = "slm_ok", weak_key: str = "task_type", weak_weight: float = 0.3,
                  max_calls: int | None = None, random_state: int = 0) -> RouterData:
    """Read a run directory (or a logs Parquet) into :class:`RouterData`.

    ``label_column``: the SLM outcome column of the logs (bool, 0/1 or a rate); ``frontier_column``: the frontier
    model's, used when present (None: never); ``embeddings``: an embeddings Parquet (default: the run directory's,
    when there); ``groups``: ``task_type`` (from ``clusters.parquet``), another logs column, or None;
    Without groups, the logs' ``template_id`` column (when ingest wrote one) comes back as ``templates``: training
    then derives its leave-groups-out folds from template ids (or, with too few distinct ones, from a k-means of
    the embeddings). ``weak_labels``: a table with ``weak_key`` (e.g. ``task_type``) and ``weak_column`` (bool or rate) that labels
    calls without an outcome, each with ``weak_weight``. ``max_calls``: train on a seeded random sample of at most
    this many calls (of the labelled ones when there are no weak labels), read lazily: for logs of millions of
    calls, whose full text need not be in memory to train a router. On a sampled run (``embeddings.parquet`` with
    a ``fit_sample`` column) the calls are drawn from those of the task types' fit sample first, whose prompts are
    embedded already (``report["sampled_from_fit_sample"]``); a call of a template group the fit sample thinned
    weighs what its prompt stands for (``fit_weight``), so that the sample stands for all calls as a uniform one
    would (``report["calls_weighted_by_fit_sample"]``).
    """
    import numpy as np
    import polars as pl

    source = Path(source)
    run_dir = source if source.is_dir() else source.parent
    logs_path = RunDir(source).logs if source.is_dir() else source
    if not logs_path.is_file():
        raise SlmprofileError(f"{logs_path}: not found (give a run directory from `slmprofile run` or a logs Parquet)")
    scan = pl.scan_parquet(logs_path)
    emb_path = Path(embeddings) if embeddings else RunDir(run_dir).embeddings
    sampled: dict[str, int] = {}
    if max_calls is not None:
        if label_column in scan.collect_schema().names() and weak_labels is None:
            scan = scan.filter(pl.col(label_column).is_not_null())
        fit_sample = _fit_sample(emb_path)
        keep, sampled = _sample_calls(scan, max_calls, None if fit_sample is None else fit_sample["prompt_hash"],
                                      random_state)
        if keep is not None:
            scan = scan.with_row_index("__row").filter(pl.col("__row").is_in(keep.tolist())).drop("__row")
    logs = scan.collect()
    fit_weight = None
    if sampled.get("sampled_from_fit_sample") and fit_sample is not None and fit_sample.width == 2 \
            and "prompt_hash" in logs.columns:
        # calls of a template group thinned in the fit sample stand for more calls: weighted as a uniform sample
        fit_weight = logs.select("prompt_hash").join(fit_sample, on="prompt_hash", how="left",
                                                     maintain_order="left")[fit_sample.columns[1]]
    for column in ("prompt_text",):
        if column not in logs.columns:
            raise SlmprofileError(f"{logs_path}: missing column {column!r} (is it a normalized logs file?)")
    report: dict[str, Any] = {"calls": logs.height, **sampled}
    if fit_weight is not None:
        logs = logs.with_columns(fit_weight.fill_null(1.0).alias("__fit_weight"))
        report["calls_weighted_by_fit_sample"] = int((logs["__fit_weight"] > 1).sum())
    logs = logs.filter(pl.col("prompt_text").is_not_null() & (pl.col("prompt_text").str.len_chars() > 0))
    report["skipped_empty_prompt"] = report["calls"] - logs.height

    if groups == "task_type" and "task_type" not in logs.columns:
        clusters = RunDir(run_dir).clusters
        if clusters.is_file() and "id" in logs.columns:
            logs = logs.join(pl.read_parquet(clusters).select("id", "task_type"), on="id", how="left")
        else:
            groups = None
            report["groups"] = "none (no clusters.parquet beside the logs)"
    if groups and groups not in logs.columns:
        raise SlmprofileError(f"{logs_path}: group column {groups!r} not found; columns: {', '.join(logs.columns)}")

    has_label = label_column in logs.columns
    if not has_label and weak_labels is None:
        raise SlmprofileError(
            f"{logs_path}: no outcome column {label_column!r}. Map one at ingest (`--map slm_correct=COL`), join an "
            "eval table (`--outcomes`), name it with --label-column, or give weak labels per task type "
            "(--weak-labels FILE)")
    slm = (logs[label_column].cast(pl.Float64, strict=False).to_numpy() if has_label
           else np.full(logs.height, np.nan))
    if has_label and logs[label_column].null_count() < logs.height and np.isnan(slm).all():
        raise SlmprofileError(f"{logs_path}: column {label_column!r} holds no booleans or numbers")
    frontier = None
    if frontier_column and frontier_column in logs.columns:
        frontier = logs[frontier_column].cast(pl.Float64, strict=False).to_numpy()
        if np.isnan(frontier).all():
            frontier = None
    weight = logs["__fit_weight"].to_numpy().astype(np.float64) if "__fit_weight" in logs.columns \
        else np.ones(logs.height)
    report["labelled"] = int(np.isfinite(slm).sum())
    if weak_labels is not None:
        table = _read_table(Path(weak_labels))
        for col in (weak_key, weak_column):
            if col not in table.columns:
                raise SlmprofileError(f"{weak_labels}: missing column {col!r}; columns: {', '.join(table.columns)}")
        if weak_key not in logs.columns:
            raise SlmprofileError(f"{logs_path}: weak labels join on {weak_key!r}, which the logs lack (run "
                                  "`slmprofile run` so clusters.parquet gives task types)")
        mapping = dict(zip(table[weak_key].cast(pl.String).to_list(),
                           table[weak_column].cast(pl.Float64, strict=False).to_list()))
        weak = np.array([mapping.get(k) if mapping.get(k) is not None else np.nan
                         for k in logs[weak_key].cast(pl.String).to_list()], dtype=np.float64)
        fill = ~np.isfinite(slm) & np.isfinite(weak)
        slm = np.where(fill, weak, slm)
        weight[fill] *= weak_weight
        report["weak_labelled"] = int(fill.sum())

    vectors = None
    if emb_path.is_file() and "prompt_hash" in logs.columns:
        table = pl.read_parquet(emb_path).select("prompt_hash", "embedding")
        joined = logs.select("prompt_hash").join(table, on="prompt_hash", how="left", maintain_order="left")
        if joined["embedding"].null_count() == 0:
            vectors = joined["embedding"].to_numpy().astype(np.float32)
            report["embeddings"] = str(emb_path)
        else:
            report["embeddings"] = f"computed ({joined['embedding'].null_count()} prompts missing from {emb_path})"
    elif embeddings:
        raise SlmprofileError(f"{emb_path}: not found")
    stamps = logs["timestamp"].to_list() if "timestamp" in logs.columns else None
    templates = None
    if not groups and "template_id" in logs.columns and logs["template_id"].null_count() < logs.height:
        templates = logs["template_id"].cast(pl.String).to_list()
    return RouterData(texts=logs["prompt_text"].to_list(), slm_correct=slm, frontier_correct=frontier,
                      embeddings=vectors, groups=logs[groups].cast(pl.String).to_list() if groups else None,
                      sample_weight=weight, timestamps=stamps, report=report, templates=templates)
