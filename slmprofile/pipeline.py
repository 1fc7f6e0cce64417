"""``slmprofile run``: the stages chained, each reading what the previous one wrote.

Today: ingest -> redact -> embed (cached) -> task types. Later stages (suitability, savings, router, report) plug
in here as they land. Everything goes under one output directory with a ``run.json`` describing the run.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .cluster import TaskTypeResult
    from .embed import Embedder
    from .ingest import IngestReport

#: Text columns redacted before logs are written (everything that could reach a report or an API).
REDACT_COLUMNS = ("prompt_text", "response_text", "system_prompt", "messages", "error", "metadata")


@dataclass
class RunResult:
    """What :func:`run` wrote and measured."""

    out_dir: Path
    logs: pl.DataFrame
    report: IngestReport
    redactions: dict[str, int]
    embeddings: pl.DataFrame | None
    task_types: TaskTypeResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def redact_logs(logs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """Redact PII in the text columns and messages; recompute ``prompt_hash`` on the redacted prompt.

    Counts are per kind over the text columns (``messages`` repeats them, so it is redacted but not counted).
    """
    import polars as pl

    from .redact import redact_frame
    from .templates import hash_strings

    columns = [c for c in REDACT_COLUMNS if c in logs.columns and c != "messages"]
    logs, counts = redact_frame(logs, columns)
    if "messages" in logs.columns:  # repeats prompt/system text: redacted, not counted twice
        logs, _ = redact_frame(logs, ["messages"])
    logs = logs.with_columns(prompt_hash=pl.Series(hash_strings(logs["prompt_text"].to_list()), dtype=pl.Utf8))
    return logs, counts


def versions() -> dict[str, str]:
    """Versions of the packages that shape results."""
    out = {"python": platform.python_version()}
    for name in ("slmprofile", "polars", "sentence-transformers", "torch", "transformers", "hdbscan",
                 "onnxruntime", "genai-prices", "bpe-openai"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    *,
    format: str | None = None,
    mapping: str | Mapping[str, str] | None = None,
    strict: bool = False,
    outcomes: str | Path | Iterable[str | Path] | None = None,
    outcomes_key: str = "id",
    redact: bool = True,
    embed: bool = True,
    embedder: Embedder | None = None,
    cluster: bool = True,
    clusterer: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the pipeline on log files and write ``logs.parquet``, ``embeddings.parquet`` and ``run.json``.

    ``on_stage`` is called with each stage's name as it starts (the CLI uses it for its progress display).
    """
    from .embed import Embedder, embed_prompts
    from .ingest import ingest

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [str(p) for p in paths]
    timings: dict[str, float] = {}
    notify = on_stage or (lambda stage: None)

    notify("ingest")
    t = time.perf_counter()
    result = ingest(paths, format=format, mapping=mapping, strict=strict, progress=True, outcomes=outcomes,
                    outcomes_key=outcomes_key)
    logs, report = result.frame, result.report
    timings["ingest"] = time.perf_counter() - t

    redactions: dict[str, int] = {}
    if redact:
        notify("redact")
        t = time.perf_counter()
        logs, redactions = redact_logs(logs)
        timings["redact"] = time.perf_counter() - t
    files = {"logs": str(out / "logs.parquet")}
    logs.write_parquet(out / "logs.parquet")

    embeddings = None
    embed_info: dict[str, Any] = {}
    if embed:
        notify("embed")
        t = time.perf_counter()
        embedder = embedder or Embedder()
        embeddings = embed_prompts(logs, embedder=embedder)
        embeddings.write_parquet(out / "embeddings.parquet")
        files["embeddings"] = str(out / "embeddings.parquet")
        timings["embed"] = time.perf_counter() - t
        embed_info = {**embedder.info(), "stats": vars(embedder.stats_)}

    task_types = None
    cluster_info: dict[str, Any] = {}
    if embed and cluster and embeddings is not None and embeddings.height >= 10:
        from .cluster import discover_task_types

        notify("task types")
        t = time.perf_counter()
        task_types = discover_task_types(logs, embeddings, clusterer=clusterer, embedder=embedder)
        files.update(task_types.write(out))
        from .cluster.plots import save_task_type_plots

        files.update(save_task_type_plots(task_types, embeddings, out / "plots"))
        timings["task_types"] = time.perf_counter() - t
        cluster_info = task_types.summary

    run_info = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": paths,
        "settings": {"format": format, "mapping": mapping if isinstance(mapping, (str, type(None))) else dict(mapping),
                     "strict": strict, "redact": redact, "embed": embed,
                     "outcomes": None if outcomes is None else [str(o) for o in
                                                                 ([outcomes] if isinstance(outcomes, (str, Path))
                                                                  else outcomes)]},
        "versions": versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "ingest": report.to_dict(),
        "redactions": redactions,
        "embedding": embed_info,
        "task_types": cluster_info,
        "files": files,
    }
    (out / "run.json").write_text(json.dumps(run_info, indent=2, default=str) + "\n", encoding="utf-8")
    files["run"] = str(out / "run.json")
    return RunResult(out_dir=out, logs=logs, report=report, redactions=redactions, embeddings=embeddings,
                     task_types=task_types, timings=timings, files=files)
