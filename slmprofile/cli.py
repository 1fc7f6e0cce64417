"""The ``slmprofile`` command line: a thin layer over the Python API (one small function per verb)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from .rundir import RunDir
from .terminal import fail, make_console

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
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Reuse an output that exists: an output directory "
                                            "loses only the files slmprofile's manifest lists there (nothing else is "
                                            "ever deleted); a named output file is replaced.")]
CandidateHelp = "Shadow-run this candidate small model through --base-url"
BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible API of the model(s) named here "
                                                                      "(e.g. http://localhost:8000/v1).")]
ApiModelOpt = Annotated[Optional[list[str]], typer.Option("--api-model", help="API small model priced with genai-prices "
                                                                              "(repeat; MODEL or MODEL=IN,OUT).")]
GpuOpt = Annotated[Optional[list[str]], typer.Option("--gpu", help="Self-host GPU type (repeat): L4, A10G, L40S, "
                                                                   "A100-80GB, H100-80GB.")]
BackendOpt = Annotated[Literal["torch", "onnx", "onnx-int8", "auto"], typer.Option("--embed-backend", help="torch (sentence-transformers), onnx, onnx-int8, or auto (int8 ONNX on a CPU when its vectors agree with PyTorch to cosine >= 0.99; about 1.5x faster).")]


def _print_report(report, *, redacted: bool = True) -> None:
    """The ingest report; with ``redacted`` the quoted examples of skipped lines are redacted like the outputs."""
    from .redact import redact

    console = make_console()
    for i, line in enumerate(report.lines()):
        console.print(redact(line)[0] if redacted else line, style="bold" if i == 0 else None, highlight=False,
                      markup=False)


def _read_parquet(path: Path, what: str = "logs"):
    """``path`` read as Parquet, or one error line naming it (missing, a directory, not Parquet)."""
    import polars as pl

    from .errors import SlmprofileError

    if not path.is_file():
        raise SlmprofileError(f"{path}: no such file (expected the {what} Parquet)")
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - polars raises several types for a damaged or foreign file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SlmprofileError(f"{path}: not a readable Parquet file of {what} ({first})") from None


_read_logs = _read_parquet


def _prices(spec: str | None, flag: str) -> tuple[float, float] | None:
    """``IN,OUT`` USD per million tokens, or ``None``; a malformed value ends the command with one line."""
    if not spec:
        return None
    try:
        values = tuple(float(x) for x in spec.split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or any(not (v >= 0) or v == float("inf") for v in values):
        fail(f"{flag} must be IN,OUT: two non-negative USD prices per million tokens, e.g. 0.15,0.60; got {spec!r}")
    return values  # type: ignore[return-value]


def _write_atomic(frame, out: Path) -> None:
    """Write ``frame`` to ``out`` through a temporary file beside it, so a failure never leaves half a file."""
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        frame.write_parquet(tmp)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"{out}: cannot write ({exc.strerror or exc})")


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
    stream: Annotated[bool, typer.Option("--stream", help="Bounded memory for large logs: --out is a new or empty "
                                         "directory of Parquet parts (part-00000.parquet, ...), 50k calls each.")] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Read logs of any supported format into one normalized Parquet file and print the ingest report.

    Example: slmprofile ingest data/logs --out out/logs.parquet --map prompt=question,id=request_id
    """
    from .errors import SlmprofileError
    from .ingest import ingest as ingest_logs
    from .outputs import check_output_file, claim_dir
    from .redact import redact_logs

    if stream:
        from .ingest import ingest_to_parquet
        from .redact import redact_parts

        try:
            with claim_dir(out, overwrite=overwrite, inputs=[*logs, *(outcomes or [])], reserved=()) as claimed:
                parts = ingest_to_parquet(logs, claimed.path, format=format, mapping=map, strict=strict,
                                          progress=True, outcomes=outcomes or None, outcomes_key=outcomes_key)
                if redact:
                    counts = redact_parts(parts.parts, progress=True, workers=os.cpu_count() or 1)
                    make_console().print("redacted: " + (", ".join(f"{k} {v:,}" for k, v in counts.items() if v)
                                                     or "nothing"))
        except (SlmprofileError, ValueError) as exc:
            fail(str(exc), redacted=redact)
        _print_report(parts.report, redacted=redact)
        make_console().print(f"wrote {parts.report.rows_out:,} calls in {len(parts.parts)} parts to {out}/")
        return
    try:
        check_output_file(out, overwrite=overwrite)
        result = ingest_logs(logs, format=format, mapping=map, strict=strict, progress=True,
                             outcomes=outcomes or None, outcomes_key=outcomes_key)
        frame, counts = redact_logs(result.frame) if redact else (result.frame, None)
        _write_atomic(frame, out)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc), redacted=redact)
    if counts is not None:
        make_console().print("redacted: " + (", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "nothing"))
    _print_report(result.report, redacted=redact)
    make_console().print(f"wrote {frame.height:,} calls to {out}")


@app.command()
def embed(
    logs: Annotated[Path, typer.Argument(help="Normalized logs Parquet (from `slmprofile ingest`).")],
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("embeddings.parquet"),
    model: ModelOpt = None,
    device: DeviceOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    cache_dir: CacheOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")] = False,
    long_text: Annotated[Literal["truncate", "chunk"], typer.Option("--long-text", help="truncate (embed the head) or chunk (mean of windows).")] = "truncate",
    backend: BackendOpt = "torch",
    overwrite: OverwriteOpt = False,
) -> None:
    """Embed each distinct prompt once (cached) and write prompt_hash -> embedding Parquet.

    Example: slmprofile embed out/logs.parquet --out out/embeddings.parquet
    """

    from .embed import Embedder, embed_prompts
    from .errors import SlmprofileError

    from .outputs import check_output_file

    embedder = Embedder(model, device=device, batch_size=batch_size, cache_dir=False if no_cache else cache_dir,
                        long_text=long_text, backend=backend)  # type: ignore[arg-type]
    try:
        check_output_file(out, overwrite=overwrite)
        frame = embed_prompts(_read_logs(logs), embedder=embedder)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc))
    _write_atomic(frame, out)
    s = embedder.stats_
    make_console().print(f"embedded {s.distinct:,} distinct prompts ({s.cache_hits:,} from cache, {s.encoded:,} encoded "
                     f"in {s.seconds:.1f} s) with {embedder.model_id_} on {embedder.device_} "
                     f"({embedder.info()['backend']}) -> {out}")


@app.command()
def cluster(
    logs: Annotated[Path, typer.Argument(help="Normalized logs Parquet (from `slmprofile ingest`).")],
    embeddings: Annotated[Path, typer.Argument(help="Embeddings Parquet of the same logs (from `slmprofile embed`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("."),
    reducer: Annotated[Literal["umap", "pca", "none"], typer.Option("--reducer", help="umap, pca or none.")] = "umap",
    min_cluster_size: Annotated[str, typer.Option("--min-cluster-size", help="'auto' or an integer.")] = "auto",
    noise: Annotated[Literal["assign", "keep"], typer.Option("--noise", help="assign (nearest task type when close) or keep.")] = "assign",
    view_merge: Annotated[str, typer.Option("--view-merge", help="Join clusters asked and answered alike: 'auto' "
                                            "(cut chosen by silhouette), a similarity in (0, 1], or 'off'.")] = "auto",
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    cache_dir: CacheOpt = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    llm_model: Annotated[Optional[str], typer.Option("--naming-model", "--llm-model", help="Also name task types with this model "
                                                     "(any OpenAI-compatible server; sends redacted examples).")] = None,
    llm_base_url: Annotated[Optional[str], typer.Option("--base-url", "--llm-base-url", help="OpenAI-compatible API of "
                                                        "--naming-model (e.g. http://localhost:8000/v1).")] = None,
    llm_max_usd: Annotated[float, typer.Option("--max-usd", "--llm-max-usd", help="Hard spend cap in USD for LLM "
                                                                                  "naming.")] = 0.50,
) -> None:
    """Group prompts into named task types and families; write clusters.parquet and task_types.csv/.parquet.

    Example: slmprofile cluster out/logs.parquet out/embeddings.parquet --out out/types
    """

    from .cluster import TaskTypeClusterer, discover_task_types
    from .embed import Embedder

    from .errors import SlmprofileError
    from .outputs import claim_file_in, record_outputs

    try:
        size = min_cluster_size if min_cluster_size == "auto" else int(min_cluster_size)
    except ValueError:
        fail(f"--min-cluster-size must be 'auto' or an integer; got {min_cluster_size!r}")
    try:
        views: str | float = view_merge if view_merge in ("auto", "off") else float(view_merge)
    except ValueError:
        fail(f"--view-merge must be 'auto', 'off' or a number in (0, 1]; got {view_merge!r}")
    try:
        claim_file_in(out, [*RunDir.TASK_TYPE_FILES, RunDir.NAMING_CACHE])
        logs_frame, embeddings_frame = _read_parquet(logs), _read_parquet(embeddings, "embeddings")
    except SlmprofileError as exc:
        fail(str(exc))
    clusterer = TaskTypeClusterer(reducer=reducer, min_cluster_size=size, noise=noise, view_merge=views,
                                  random_state=seed)
    embedder = Embedder(model, cache_dir=cache_dir, backend=backend)  # type: ignore[arg-type]
    try:
        result = discover_task_types(logs_frame, embeddings_frame, clusterer=clusterer, embedder=embedder)
    except ValueError as exc:
        fail(str(exc))
    if llm_model:
        from .cluster.llm_naming import name_with_llm
        from .llm import LLMRunner, SpendCap

        out.mkdir(parents=True, exist_ok=True)
        runner = LLMRunner(llm_model, base_url=llm_base_url, cache=out / RunDir.NAMING_CACHE,
                           spend_cap=SpendCap(max_usd=llm_max_usd))
        try:
            result.task_types = name_with_llm(result.task_types, runner)
        except ValueError as exc:
            fail(str(exc))
        st = runner.stats_
        make_console().print(f"LLM names: {st.answered:,} answered, {st.cached:,} cached, {st.failed:,} failed, "
                         f"{st.over_budget:,} over budget; spent ${st.spent_usd:.4f}")
    files = result.write(out)
    record_outputs(out, files.values())
    _print_task_types(result)
    for name, path in files.items():
        make_console().print(f"wrote {name}: {path}")


def _print_task_types(result) -> None:
    from rich.table import Table

    s = result.summary
    console = make_console()
    console.print(f"{s['task_types']} task types in {s['families']} families over {s['prompts']:,} distinct prompts "
                  f"(min_cluster_size {s['min_cluster_size']}); prompts: {s['prompts_core']:,} core, "
                  f"{s['prompts_assigned']:,} noise assigned, {s['prompts_unassigned']:,} unassigned; "
                  f"calls unassigned: {s['calls_unassigned']:,}")
    wide = console.width >= 120  # an example prompt only where it fits; names wrap, numbers never do
    table = Table(show_lines=False, pad_edge=False)
    table.add_column("task type", overflow="fold", ratio=1)
    table.add_column("family", overflow="fold", max_width=14)
    for name in ("calls", "share", "$/month"):
        table.add_column(name, justify="right", no_wrap=True)
    if wide:
        table.add_column("example", overflow="ellipsis", no_wrap=True, max_width=60)
    for row in result.task_types.head(15).iter_rows(named=True):
        cost = row["cost_per_month"]
        cells = [row["task_type"], row["family"], f"{row['calls']:,}", f"{row['share']:.1%}",
                 "?" if cost is None else f"{cost:,.2f}"]
        if wide:
            cells.append((row["examples"] or [""])[0][:60].replace("\n", " "))
        table.add_row(*cells)
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
    target: Annotated[float, typer.Option("--target", help="Success rate an SLM must reach on a task type.")] = 0.95,
    slm_model: Annotated[Optional[str], typer.Option("--candidate", "--slm-model", help=CandidateHelp + ".")] = None,
    slm_base_url: Annotated[Optional[str], typer.Option("--base-url", "--slm-base-url", help="OpenAI-compatible API "
                                                        "of --candidate.")] = None,
    slm_max_usd: Annotated[float, typer.Option("--max-usd", "--slm-max-usd", help="Hard spend cap in USD for the "
                                                                                  "shadow run.")] = 5.0,
    slm_price: Annotated[Optional[str], typer.Option("--price", "--slm-price", help="IN,OUT USD per million tokens of "
                                                     "the candidate (default: genai-prices).")] = None,
    api_model: ApiModelOpt = None,
    gpu: GpuOpt = None,
    router: Annotated[bool, typer.Option("--router/--no-router", help="Train, export and bench the router.")] = True,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write report.html.")] = True,
    backend: BackendOpt = "torch",
    engine: Annotated[Literal["local", "ray"], typer.Option("--engine", help="local, or ray: redaction, embedding and call assignment "
                                        "as Ray Data pipelines (extra 'scale').")] = "local",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="A running Ray cluster (e.g. auto or "
                                                       "ray://head:10001); default: start a local instance.")] = None,
    stream: Annotated[Optional[bool], typer.Option("--stream/--no-stream", help="Bounded memory for large logs: "
                                                   "streaming ingest, task types fit on a sample, prompts of pure "
                                                   "templates placed without embedding (audited), lazy statistics. "
                                                   "With --engine ray the parts are redacted and the prompts "
                                                   "embedded on the cluster. Default: chosen by itself when the "
                                                   "logs hold more than --auto-stream-calls calls (run.json says "
                                                   "why).", show_default=False)] = None,
    auto_stream_calls: Annotated[int, typer.Option("--auto-stream-calls", min=1, help="Calls (estimated before "
                                                   "reading) above which the run streams by itself.")] = 50_000,
    fit_sample: Annotated[int, typer.Option("--fit-sample", min=10, help="When streaming: distinct prompts embedded "
                                            "to fit task types on.")] = 50_000,
    overwrite: OverwriteOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout instead of the tables "
                                           "(progress stays on stderr).")] = False,
) -> None:
    """Logs to a report and a router in one go: ingest -> redact -> embed -> task types -> suitability -> savings ->
    router (train, export, bench) -> report.html.

    Results go to stdout, progress to stderr. Example: slmprofile run data/logs --out out/run > summary.txt
    """
    from .embed import Embedder
    from .errors import SlmprofileError
    from .pipeline import run as run_pipeline

    console, progress = make_console(), make_console(stderr=True)
    try:
        result = run_pipeline(
            logs, out, format=format, mapping=map, strict=strict, redact=redact,
            outcomes=outcomes or None, outcomes_key=outcomes_key, suitability_settings={"target": target},
            shadow_model=slm_model, shadow_base_url=slm_base_url, shadow_max_usd=slm_max_usd, router=router,
            shadow_price=_prices(slm_price, "--price"),
            savings_options=_savings_options(api_model, gpu) if (api_model or gpu) else None,
            html_report=report, engine=engine, ray_address=ray_address, stream=stream,
            auto_stream_calls=auto_stream_calls, sampled_settings={"fit_sample": fit_sample},
            overwrite=overwrite,
            embedder=Embedder(model, device=device, cache_dir=cache_dir, backend=backend),
            on_stage=lambda stage: progress.print(f"== {stage}", style="bold cyan"),
        )
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc), redacted=redact)
    if json_out:
        import json

        typer.echo(json.dumps(result.summary(), indent=2, ensure_ascii=False))
        return
    _print_report(result.report, redacted=redact)
    if result.redactions:
        console.print("redacted: " + (", ".join(f"{k} {v:,}" for k, v in result.redactions.items() if v) or "nothing"))
    if result.embeddings is not None:
        console.print(f"embeddings: {result.embeddings.height:,} distinct prompts")
    if result.task_types is not None:
        _print_task_types(result.task_types)
    if result.suitability is not None:
        _print_suitability(result.suitability)
    for stage, why in result.skipped.items():
        console.print(f"skipped {stage}: {why}")
    console.print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    for name, path in result.files.items():
        console.print(f"wrote {name}: {path}")


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the sample into.")] = Path("data"),
    n_calls: Annotated[int, typer.Option("--n-calls")] = 3600,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    drift: Annotated[bool, typer.Option("--drift", help="Also write a second month (OUT/month2/) where the task mix "
                                        "shifts, invoice extraction gets harder for the small model and a new task "
                                        "(résumé screening) appears, with ground truth in month2/drift_truth.json.")] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the reproducible sample log of a fictional company (several formats + ground truth).

    Example: slmprofile sample --out data --drift
    """
    from .errors import SlmprofileError
    from .outputs import check_output_file
    from .sample import DRIFT_DIR, DRIFT_TRUTH, EVAL_FILE, LOG_FILES, generate_sample

    names = [*LOG_FILES.values(), EVAL_FILE, "truth.csv", "README.md"]
    if drift:
        names += [f"{DRIFT_DIR}/{name}" for name in [*names, DRIFT_TRUTH]]
    try:  # the sample's own file names: anything else in --out is left alone
        for name in names:
            check_output_file(out / name, overwrite=overwrite)
    except SlmprofileError as exc:
        fail(str(exc))
    try:
        summary = generate_sample(out, n_calls=n_calls, seed=seed, drift=drift)
    except ValueError as exc:
        fail(f"--n-calls: {exc}")
    make_console().print(f"wrote {summary.n_calls:,} calls to {out}")
    for path, count in summary.files.items():
        make_console().print(f"  {path}: {count:,} lines")
    if summary.drift is not None:
        make_console().print(f"wrote month 2 (drift): {summary.drift.n_calls:,} calls to {out / DRIFT_DIR}")
        for path, count in summary.drift.files.items():
            make_console().print(f"  {DRIFT_DIR}/{path}: {count:,} lines")


@app.command()
def formats() -> None:
    """List the supported log formats with a minimal example record each.

    Example: slmprofile formats
    """
    import json

    from .ingest import FORMATS

    for name, cls in FORMATS.items():
        typer.echo(f"{name}: {cls.title}")
        typer.echo("  " + json.dumps(cls.example, ensure_ascii=False)[:400])


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (from `slmprofile run` and later stages).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file (default RUN_DIR/report.html).")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the self-contained HTML report of a run directory (headline, task types, plots, router, data quality).

    Example: slmprofile report out/run --out out/run/report.html --overwrite
    """
    from .errors import SlmprofileError
    from .outputs import check_output_file, claim_file_in, record_outputs
    from .report import headline, load_run, write_report

    try:
        if not run_dir.is_dir():
            raise SlmprofileError(f"{run_dir}: no such run directory")
        if out is None:
            claim_file_in(run_dir, [RunDir.REPORT])
        else:
            check_output_file(out, overwrite=overwrite)
        path = write_report(run_dir, out)
        if out is None:
            record_outputs(run_dir, [path])
    except SlmprofileError as exc:
        fail(str(exc))
    make_console().print(headline(load_run(run_dir)).text, highlight=False, markup=False)
    make_console().print(f"wrote report: {path}")


notebooks_app = typer.Typer(help="Execute the bundled notebooks and render them to HTML.", no_args_is_help=True)
app.add_typer(notebooks_app, name="notebooks")

from .router.cli import router_app  # noqa: E402 - cheap: the sub-app imports typer only
app.add_typer(router_app, name="router")

from .gateway.cli import serve_cmd, serve_report_cmd  # noqa: E402 - cheap: imports typer only
app.command("serve")(serve_cmd)
app.command("serve-report")(serve_report_cmd)

from .loop.cli import drift_cmd, export_app  # noqa: E402 - cheap: imports typer only
app.add_typer(export_app, name="export")
app.command("drift")(drift_cmd)


NotebooksWorkdirOpt = Annotated[Path, typer.Option("--dir", "-d", help="Working folder: the notebooks run from "
                                                    "DIR/notebooks/ and their default paths read DIR/data/logs and "
                                                    "write DIR/out/.")]


@notebooks_app.command("copy")
def notebooks_copy(
    workdir: NotebooksWorkdirOpt = Path("."),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace copies already there (your edits in them "
                                                                "are lost).")] = False,
) -> None:
    """Copy the bundled notebooks into DIR/notebooks/ to open them in Jupyter.

    Example: slmprofile sample --out data && slmprofile notebooks copy && jupyter lab notebooks/
    """
    from .notebooks import copy_notebooks

    for path in copy_notebooks(workdir, overwrite=overwrite):
        typer.echo(str(path))


@notebooks_app.command("render")
def notebooks_render(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the HTML files.")] = Path("notebooks-html"),
    notebook: Annotated[Optional[list[str]], typer.Option("--notebook", "-n", help="A notebook name or path (repeat; "
                                                                                    "default: all).")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="NAME=VALUE injected after the parameters "
                                                                              "cell (repeat; relative paths resolve "
                                                                              "from DIR/notebooks/).")] = None,
    execute: Annotated[bool, typer.Option("--execute/--no-execute", help="Run the notebooks before rendering.")] = True,
    workdir: NotebooksWorkdirOpt = Path("."),
) -> None:
    """Execute notebooks headless (nbclient) and write one HTML file each (nbconvert, images embedded).

    Bundled notebooks missing from DIR/notebooks/ are copied there first; copies already there run as they are.

    Example: slmprofile sample --out data && slmprofile notebooks render -n 01_ingest_and_explore
    """
    from .errors import SlmprofileError
    from .notebooks import parse_params, render_notebooks

    try:
        paths = render_notebooks(out, notebook or None, parse_params(param or []), execute=execute, workdir=workdir)
    except SlmprofileError as exc:
        fail(str(exc))
    for path in paths:
        make_console().print(f"wrote {path}")


@app.command()
def suitability(
    run_dir: Annotated[Path, typer.Argument(help="Output directory of `slmprofile run` (logs, clusters, task types).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write (default: RUN_DIR).")] = None,
    outcomes: OutcomesOpt = None,
    target: Annotated[float, typer.Option("--target", help="Success/agreement rate the SLM must reach.")] = 0.95,
    metric: Annotated[Literal["success", "parity"], typer.Option("--metric", help="success (SLM right) or parity (SLM right or frontier "
                                                          "wrong too).")] = "success",
    prior_strength: Annotated[float, typer.Option("--prior-strength", help="Pseudo-calls of the heuristic prior.")] = 4.0,
    calibrate: Annotated[bool, typer.Option("--calibrate/--no-calibrate", help="Calibrate the prior across task "
                                                                               "types (empirical Bayes).")] = True,
    candidate: Annotated[Optional[list[str]], typer.Option("--candidate", help=CandidateHelp + " (repeat for "
                                                                                "several).")] = None,
    base_url: BaseUrlOpt = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env", help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
    max_usd: Annotated[Optional[float], typer.Option("--max-usd", help="Hard spend cap in USD for the shadow run.")] = None,
    max_tokens_total: Annotated[Optional[int], typer.Option("--max-total-tokens", help="Hard cap on tokens.")] = None,
    price: Annotated[Optional[str], typer.Option("--price", help="IN,OUT USD per million tokens of the candidates "
                                                                 "(default: genai-prices).")] = None,
    per_type: Annotated[int, typer.Option("--per-type", help="Shadow calls per task type at most.")] = 200,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Shadow calls per task type per round.")] = 20,
    concurrency: Annotated[int, typer.Option("--concurrency")] = 8,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request attempt.")] = 60.0,
    redact_send: Annotated[bool, typer.Option("--redact-send/--no-redact-send", help="Redact prompts before they "
                                                                                    "leave the machine.")] = True,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="Answer cache (default RUN_DIR/llm_cache.sqlite).")] = None,
    logprobs: Annotated[bool, typer.Option("--logprobs", help="Ask the candidates for token logprobs: their "
                                                             "confidence then sets the share kept on the SLM.")] = False,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="Judge agreement with this model (same "
                                                                             "--base-url) instead of the archetype's "
                                                                             "measure.")] = None,
) -> None:
    """Per task type: can a small model take it? Rate with a Wilson interval, verdict, SLM share; writes
    suitability.csv/.parquet (and shadow_results.parquet after a shadow run).

    Example: slmprofile suitability out/run --outcomes evals.csv --target 0.95
    """
    import os

    import polars as pl

    from .errors import SlmprofileError
    from .suitability import assess_suitability, load_calls, write_table

    from .outputs import claim_file_in, record_outputs

    out_dir = out or run_dir
    shadow = None
    written = list(RunDir.SUITABILITY_FILES)
    try:
        if not run_dir.is_dir():
            raise SlmprofileError(f"{run_dir}: no such run directory")
        claim_file_in(out_dir, written)
        if candidate:
            from .llm import LLMRunner, SpendCap
            from .shadow import ShadowRun

            calls = load_calls(run_dir, outcomes=outcomes)
            types = pl.read_parquet(RunDir(run_dir).task_types) if RunDir(run_dir).task_types.is_file() else None
            cap = SpendCap(max_usd=max_usd, max_tokens=max_tokens_total)
            prices = _prices(price, "--price")
            def runner(model: str) -> LLMRunner:
                return LLMRunner(model, base_url=base_url, api_key=os.environ.get(api_key_env),
                                 concurrency=concurrency, timeout=timeout, cache=cache or RunDir(out_dir).llm_cache,
                                 spend_cap=cap, price=prices, redact=redact_send, progress=True,  # type: ignore[arg-type]
                                 logprobs=logprobs and model in candidate)

            measures = None
            if judge_model:
                from .agreement import LLMJudge

                measures = {"*": LLMJudge(runner=runner(judge_model))}
            run = ShadowRun([runner(m) for m in candidate], target=target, batch_size=batch_size,
                            max_per_type=per_type, measures=measures).fit(calls, types)
            out_dir.mkdir(parents=True, exist_ok=True)
            run.results_.write_parquet(RunDir(out_dir).shadow_results)
            write_table(run.summary_, out_dir, "shadow_summary")
            shadow = run.results_
            make_console().print(f"shadow run: {run.results_.height:,} answers; spent ${cap.spent_usd:.4f} in all: "
                             f"{cap.describe()} (worst case counted for unknown outcomes)")
        table = assess_suitability(run_dir, outcomes=outcomes, shadow=shadow, out_dir=out_dir, target=target,
                                   metric=metric, prior_strength=prior_strength, calibrate=calibrate)
    except (SlmprofileError, ValueError, FileNotFoundError, LookupError) as exc:
        fail(str(exc))
    record_outputs(out_dir, [out_dir / name for name in written])
    _print_suitability(table)
    make_console().print(f"wrote {RunDir(out_dir).suitability_csv} and {RunDir.SUITABILITY}")


def _print_suitability(table) -> None:
    from rich.table import Table

    counts = dict(table["verdict"].value_counts().iter_rows())
    console = make_console()
    console.print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    wide = console.width >= 110  # samples still needed and the SLM share only where they fit
    view = Table(show_lines=False, pad_edge=False)
    view.add_column("task type", overflow="fold", ratio=1)
    for name in ("calls", "$/month", "rate [95% CI]", "verdict") + (("more n", "SLM share") if wide else ()):
        view.add_column(name, justify="left" if name == "verdict" else "right", no_wrap=True)
    for row in table.head(20).iter_rows(named=True):
        cost = row["cost_per_month"]
        cells = [str(row["task_type"]), f"{row['calls']:,}", "?" if cost is None else f"{cost:,.2f}",
                 "?" if row["rate"] is None else f"{row['rate']:.2f} [{row['ci_lo']:.2f}, {row['ci_hi']:.2f}]",
                 row["verdict"]]
        if wide:
            cells += ["" if row["more_samples"] is None else f"{row['more_samples']:,}",
                      f"{row['slm_share']:.0%} ({row['slm_share_lo']:.0%}-{row['slm_share_hi']:.0%})"]
        view.add_row(*cells)
    console.print(view)


def _savings_options(api_model: list[str] | None, gpu: list[str] | None, *, gpu_price: float | None = None,
                     tokens_per_second: float | None = None, utilisation: float = 0.5,
                     replicas: int | None = None) -> list:
    """The savings options of ``--api-model`` / ``--gpu`` (defaults: gpt-4o-mini and L4), shared by ``run`` and
    ``savings``; a malformed ``--api-model`` ends the command with one error line."""
    from .savings import ApiOption, SelfHostOption

    options: list = []
    for spec in api_model or ["gpt-4o-mini"]:
        name, sep, prices = spec.partition("=")
        if sep and not prices:
            fail(f"--api-model must be MODEL or MODEL=IN,OUT; got {spec!r}")
        options.append(ApiOption(name, price=_prices(prices, f"--api-model {name}=")))
    for g in gpu or ["L4"]:
        options.append(SelfHostOption(g, usd_per_hour=gpu_price, tokens_per_second=tokens_per_second,
                                      utilisation=utilisation, replicas=replicas))
    return options


@app.command()
def savings(
    run_dir: Annotated[Path, typer.Argument(help="Output directory of `slmprofile run` (after `slmprofile suitability`).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write (default: RUN_DIR).")] = None,
    api_model: ApiModelOpt = None,
    gpu: GpuOpt = None,
    gpu_price: Annotated[Optional[float], typer.Option("--gpu-price", help="USD per GPU hour (overrides the table).")] = None,
    tokens_per_second: Annotated[Optional[float], typer.Option("--tokens-per-second", help="Measured output tokens/s "
                                                                                          "per replica.")] = None,
    utilisation: Annotated[float, typer.Option("--utilisation", help="Usable share of GPU capacity.")] = 0.5,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="Fixed replica count (default: as needed).")] = None,
    cascade: Annotated[bool, typer.Option("--cascade", help="The SLM answers every routed call first; escalated calls "
                                                            "pay for both.")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots")] = True,
) -> None:
    """Savings per task type for API and self-hosted small models, with intervals, break-even volumes and a
    sensitivity table; writes savings*.csv and plots.

    Example: slmprofile savings out/run --api-model gpt-4o-mini --gpu L4
    """
    from .errors import SlmprofileError
    from .savings import savings_from_run

    from .outputs import claim_file_in, record_outputs

    options = _savings_options(api_model, gpu, gpu_price=gpu_price, tokens_per_second=tokens_per_second,
                               utilisation=utilisation, replicas=replicas)
    try:
        if not run_dir.is_dir():
            raise SlmprofileError(f"{run_dir}: no such run directory")
        claim_file_in(out or run_dir, [*RunDir.SAVINGS_FILES, f"{RunDir.PLOTS}/savings_by_task_type.png",
                                       f"{RunDir.PLOTS}/cost_vs_quality.png"])
        result = savings_from_run(run_dir, options=options, cascade=cascade, out_dir=out, plots=plots)
        record_outputs(out or run_dir, result.files.values())
        from .candidates import plan_candidates_from_run

        self_host = next((o for o in options if o.kind == "self_host"), None)
        plan = plan_candidates_from_run(run_dir, out_dir=out, self_host=self_host, cascade=cascade)
        if plan is not None:
            record_outputs(out or run_dir, [RunDir(out or run_dir).root / RunDir.CANDIDATES])
    except (SlmprofileError, ValueError, FileNotFoundError, LookupError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    from rich.table import Table

    console = make_console()
    view = Table("option", "now $/month", "plan $/month", "savings $/month [interval]", "replicas")
    for row in result.options.iter_rows(named=True):
        view.add_row(row["option"], f"{row['cost_now_per_month']:,.2f}", f"{row['plan_cost_per_month']:,.2f}",
                     f"{row['savings_per_month']:,.2f} [{row['savings_lo']:,.2f}, {row['savings_hi']:,.2f}]",
                     "" if row["replicas"] is None else str(row["replicas"]))
    console.print(view)
    for row in result.break_even.iter_rows(named=True):
        day = row.get("break_even_tokens_per_day")
        console.print(f"{row['option']} beats {row['against']} above "
                      + ("never (costs more per token at capacity)" if day is None else f"{day:,.0f} tokens/day")
                      + f" (routed now: {row['current_routed_tokens_per_day']:,.0f} tokens/day)")
    if plan is not None:
        picks = Table("task type", "cheapest candidate meeting the target", "plan $/month", "savings $/month")
        for row in plan.filter(plan["chosen"]).head(20).iter_rows(named=True):
            picks.add_row(str(row["task_type"]), f"{row['candidate']} ({row['priced_as']})",
                          f"{row['plan_cost_per_month']:,.2f}", f"{row['savings_per_month']:,.2f}")
        console.print(picks)
        console.print(f"wrote candidates: {RunDir(out or run_dir).root / RunDir.CANDIDATES}")
    for name, path in result.files.items():
        console.print(f"wrote {name}: {path}")


def _print_version(value: bool) -> None:
    if value:
        from .version import __version__

        typer.echo(f"slmprofile {__version__}")
        raise typer.Exit()


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
          version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the installed version and exit.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point. A bad value or option on the command line, an error slmprofile raises on
    purpose, or a file the system refuses, that a command did not handle itself, ends in one ``error:`` line and
    exit code 2, never a traceback or a box."""
    import sys

    from .errors import SlmprofileError

    try:
        code = app(args=_hoist_verbose(sys.argv[1:]), prog_name="slmprofile", standalone_mode=False)
    except SlmprofileError as exc:
        _fail_line(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _fail_line(f"{where}{exc.strerror or exc}")
    except typer.Abort:
        print("aborted", file=sys.stderr)
        raise SystemExit(1) from None
    except ModuleNotFoundError as exc:
        from .deps import install_hint

        hint = install_hint(exc.name)
        if hint is None:
            raise
        _fail_line(f"this command needs {exc.name!r}, which this install lacks: {hint}")
    except Exception as exc:
        _usage_error(exc)
        raise
    if isinstance(code, int) and code:
        raise SystemExit(code)


def _usage_error(exc: BaseException) -> None:
    """One line for a command-line usage error (click's ``UsageError`` family: a bad value, an unknown option, a
    missing argument), naming the command's ``--help``; a bare command that shows its help shows it. Returns for
    anything else."""
    import sys

    if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
        return
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        print(exc.format_message(), file=sys.stderr)
        raise SystemExit(int(exc.exit_code))
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _fail_line(f"{exc.format_message()}{hint}")


def _hoist_verbose(args: list[str]) -> list[str]:
    """``-v``/``--verbose`` anywhere before ``--`` moved to the front, where the root command reads it, so that
    ``slmprofile run logs -v`` works like ``slmprofile -v run logs``."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in ("-v", "--verbose")]
    return flags + [a for a in args[:end] if a not in ("-v", "--verbose")] + args[end:]


def _fail_line(message: str) -> None:
    import sys

    first = (message.strip().splitlines() or ["failed"])[0]
    print(f"error: {first}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
