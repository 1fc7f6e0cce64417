"""The ``slmprofile`` command line: a thin layer over the Python API (one small function per verb)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="slmprofile",
    help="Find which of your LLM calls a small language model could take, from your own logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

FormatOpt = Annotated[Optional[str], typer.Option("--format", "-f", help="Force a log format (default: detect per file).")]
MapOpt = Annotated[Optional[str], typer.Option(
    "--map", help="TARGET=COLUMN pairs, e.g. prompt=question,response=answer,slm_correct=small_ok")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail at the first bad row instead of counting a skip.")]
ModelOpt = Annotated[Optional[Path], typer.Option("--model", help="Local sentence-transformers model directory "
                                                                 "(default: bundled all-MiniLM-L6-v2).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
OutcomesOpt = Annotated[Optional[list[Path]], typer.Option(
    "--outcomes", help="Eval table(s) (CSV/Parquet/JSONL) with outcome columns joined to the calls by id, e.g. "
                       "slm_correct, frontier_correct, feedback, eval_score (rename with --map).")]
OutcomesKeyOpt = Annotated[str, typer.Option("--outcomes-key", help="The eval table's call-id column.")]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Embedding cache (default ~/.cache/slmprofile).")]


def _console():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def _print_report(report) -> None:
    console = _console()
    for i, line in enumerate(report.lines()):
        console.print(line, style="bold" if i == 0 else None, highlight=False, markup=False)


def _fail(message: str) -> None:
    _console().print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=2)


@app.command()
def ingest(
    logs: Annotated[list[Path], typer.Argument(help="Log files or directories.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the normalized Parquet.")] = Path("logs.parquet"),
    format: FormatOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    redact: Annotated[bool, typer.Option("--redact/--no-redact", help="Redact PII in the written logs.")] = True,
    outcomes: OutcomesOpt = None,
    outcomes_key: OutcomesKeyOpt = "id",
) -> None:
    """Read logs of any supported format into one normalized Parquet file and print the ingest report."""
    from .errors import SlmprofileError
    from .ingest import ingest as ingest_logs
    from .pipeline import redact_logs

    try:
        result = ingest_logs(logs, format=format, mapping=map, strict=strict, progress=True,
                             outcomes=outcomes or None, outcomes_key=outcomes_key)
    except (SlmprofileError, ValueError) as exc:
        _fail(str(exc))
    frame = result.frame
    if redact:
        frame, counts = redact_logs(frame)
        _console().print("redacted: " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "nothing")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    _print_report(result.report)
    _console().print(f"wrote {frame.height:,} calls to {out}")


@app.command()
def embed(
    logs: Annotated[Path, typer.Argument(help="Normalized logs Parquet (from `slmprofile ingest`).")],
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("embeddings.parquet"),
    model: ModelOpt = None,
    device: DeviceOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    cache_dir: CacheOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")] = False,
    long_text: Annotated[str, typer.Option("--long-text", help="truncate (embed the head) or chunk (mean of windows).")] = "truncate",
) -> None:
    """Embed each distinct prompt once (cached) and write prompt_hash -> embedding Parquet."""
    import polars as pl

    from .embed import Embedder, embed_prompts
    from .errors import SlmprofileError

    embedder = Embedder(model, device=device, batch_size=batch_size, cache_dir=False if no_cache else cache_dir,
                        long_text=long_text)  # type: ignore[arg-type]
    try:
        frame = embed_prompts(pl.read_parquet(logs), embedder=embedder)
    except (SlmprofileError, ValueError) as exc:
        _fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    s = embedder.stats_
    _console().print(f"embedded {s.distinct:,} distinct prompts ({s.cache_hits:,} from cache, {s.encoded:,} encoded "
                     f"in {s.seconds:.1f} s) with {embedder.model_id_} on {embedder.device_} -> {out}")


@app.command()
def cluster(
    logs: Annotated[Path, typer.Argument(help="Normalized logs Parquet (from `slmprofile ingest`).")],
    embeddings: Annotated[Path, typer.Argument(help="Embeddings Parquet of the same logs (from `slmprofile embed`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("."),
    reducer: Annotated[str, typer.Option("--reducer", help="umap, pca or none.")] = "umap",
    min_cluster_size: Annotated[str, typer.Option("--min-cluster-size", help="'auto' or an integer.")] = "auto",
    noise: Annotated[str, typer.Option("--noise", help="assign (nearest task type when close) or keep.")] = "assign",
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Group prompts into named task types and families; write clusters.parquet and task_types.csv/.parquet."""
    import polars as pl

    from .cluster import TaskTypeClusterer, discover_task_types

    size = min_cluster_size if min_cluster_size == "auto" else int(min_cluster_size)
    model = TaskTypeClusterer(reducer=reducer, min_cluster_size=size, noise=noise, random_state=seed)
    try:
        result = discover_task_types(pl.read_parquet(logs), pl.read_parquet(embeddings), clusterer=model)
    except ValueError as exc:
        _fail(str(exc))
    files = result.write(out)
    _print_task_types(result)
    for name, path in files.items():
        _console().print(f"wrote {name}: {path}")


def _print_task_types(result) -> None:
    from rich.table import Table

    s = result.summary
    console = _console()
    console.print(f"{s['task_types']} task types in {s['families']} families over {s['prompts']:,} distinct prompts "
                  f"(min_cluster_size {s['min_cluster_size']}); prompts: {s['prompts_core']:,} core, "
                  f"{s['prompts_assigned']:,} noise assigned, {s['prompts_unassigned']:,} unassigned; "
                  f"calls unassigned: {s['calls_unassigned']:,}")
    table = Table("task type", "family", "calls", "share", "$/month", "examples", show_lines=False)
    for row in result.task_types.head(15).iter_rows(named=True):
        cost = row["cost_per_month"]
        table.add_row(row["task_type"], row["family"], f"{row['calls']:,}", f"{row['share']:.1%}",
                      "?" if cost is None else f"{cost:,.2f}", (row["examples"] or [""])[0][:60].replace("\n", " "))
    console.print(table)


@app.command()
def run(
    logs: Annotated[list[Path], typer.Argument(help="Log files or directories.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("slmprofile-out"),
    format: FormatOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    model: ModelOpt = None,
    device: DeviceOpt = "auto",
    cache_dir: CacheOpt = None,
    redact: Annotated[bool, typer.Option("--redact/--no-redact")] = True,
    outcomes: OutcomesOpt = None,
    outcomes_key: OutcomesKeyOpt = "id",
) -> None:
    """Logs to results in one go: ingest -> redact -> embed -> task types (more stages land as they are built)."""
    from .embed import Embedder
    from .errors import SlmprofileError
    from .pipeline import run as run_pipeline

    console = _console()
    try:
        result = run_pipeline(
            logs, out, format=format, mapping=map, strict=strict, redact=redact,
            outcomes=outcomes or None, outcomes_key=outcomes_key,
            embedder=Embedder(model, device=device, cache_dir=cache_dir),
            on_stage=lambda stage: console.print(f"[bold cyan]==[/bold cyan] {stage}"),
        )
    except (SlmprofileError, ValueError) as exc:
        _fail(str(exc))
    _print_report(result.report)
    if result.redactions:
        console.print("redacted: " + (", ".join(f"{k} {v:,}" for k, v in result.redactions.items() if v) or "nothing"))
    if result.embeddings is not None:
        console.print(f"embeddings: {result.embeddings.height:,} distinct prompts")
    if result.task_types is not None:
        _print_task_types(result.task_types)
    console.print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    for name, path in result.files.items():
        console.print(f"wrote {name}: {path}")


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the sample into.")] = Path("data"),
    n_calls: Annotated[int, typer.Option("--n-calls")] = 3600,
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """Write the reproducible sample log of a fictional company (several formats + ground truth)."""
    from .sample import generate_sample

    summary = generate_sample(out, n_calls=n_calls, seed=seed)
    _console().print(f"wrote {summary.n_calls:,} calls to {out}")
    for path, count in summary.files.items():
        _console().print(f"  {path}: {count:,} lines")


@app.command()
def formats() -> None:
    """List the supported log formats with a minimal example record each."""
    import json

    from .ingest import FORMATS

    for name, cls in FORMATS.items():
        typer.echo(f"{name}: {cls.title}")
        typer.echo("  " + json.dumps(cls.example, ensure_ascii=False)[:400])


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
