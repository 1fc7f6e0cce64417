"""The commands that profile logs: ingest, embed, cluster, run (all stages), sample, formats, report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from ..rundir import RunDir
from ..terminal import fail, make_console
from .options import (ApiModelOpt, BackendOpt, CacheOpt, RunBackendOpt, CandidateHelp, DeviceOpt, FormatOpt, GpuOpt, MapOpt, ModelOpt,
                      OutcomesKeyOpt, OutcomesOpt, OverwriteOpt, StrictOpt, parse_prices, read_logs, read_parquet,
                      savings_options, write_atomic)
from .tables import print_report, print_suitability, print_task_types


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
    from ..errors import SlmprofileError
    from ..ingest import ingest as ingest_logs
    from ..outputs import check_output_file, claim_dir
    from ..redact import redact_logs

    if stream:
        from ..ingest import ingest_to_parquet
        from ..redact import redact_parts

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
        print_report(parts.report, redacted=redact)
        make_console().print(f"wrote {parts.report.rows_out:,} calls in {len(parts.parts)} parts to {out}/")
        return
    try:
        check_output_file(out, overwrite=overwrite)
        result = ingest_logs(logs, format=format, mapping=map, strict=strict, progress=True,
                             outcomes=outcomes or None, outcomes_key=outcomes_key)
        frame, counts = redact_logs(result.frame) if redact else (result.frame, None)
        write_atomic(frame, out)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc), redacted=redact)
    if counts is not None:
        make_console().print("redacted: " + (", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "nothing"))
    print_report(result.report, redacted=redact)
    make_console().print(f"wrote {frame.height:,} calls to {out}")


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

    from ..embed import Embedder, embed_prompts
    from ..errors import SlmprofileError

    from ..outputs import check_output_file

    embedder = Embedder(model, device=device, batch_size=batch_size, cache_dir=False if no_cache else cache_dir,
                        long_text=long_text, backend=backend)  # type: ignore[arg-type]
    try:
        check_output_file(out, overwrite=overwrite)
        frame = embed_prompts(read_logs(logs), embedder=embedder)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc))
    write_atomic(frame, out)
    s, info = embedder.stats_, embedder.info()
    make_console().print(f"embedded {s.distinct:,} distinct prompts ({s.cache_hits:,} from cache, {s.encoded:,} encoded "
                     f"in {s.seconds:.1f} s) with {info['model_id']} on {info['device']} "
                     f"({info['backend']}) -> {out}")


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

    from ..cluster import TaskTypeClusterer, discover_task_types
    from ..embed import Embedder

    from ..errors import SlmprofileError
    from ..outputs import claim_file_in, record_outputs

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
        logs_frame, embeddings_frame = read_parquet(logs), read_parquet(embeddings, "embeddings")
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
        from ..cluster.llm_naming import name_with_llm
        from ..llm import LLMRunner, SpendCap

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
    print_task_types(result)
    for name, path in files.items():
        make_console().print(f"wrote {name}: {path}")



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
    backend: RunBackendOpt = None,
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
    fit_per_group: Annotated[Optional[int], typer.Option("--fit-per-group", min=0, help="When streaming: at most "
                                                         "this many prompts of one template group in the fit sample "
                                                         "(0: no cap). Default: 200.", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout instead of the tables "
                                           "(progress stays on stderr).")] = False,
) -> None:
    """Logs to a report and a router in one go: ingest -> redact -> embed -> task types -> suitability -> savings ->
    router (train, export, bench) -> report.html.

    Results go to stdout, progress to stderr. Example: slmprofile run data/logs --out out/run > summary.txt
    """
    from ..embed import Embedder
    from ..errors import SlmprofileError
    from ..pipeline import run as run_pipeline

    console, progress = make_console(), make_console(stderr=True)
    try:
        result = run_pipeline(
            logs, out, format=format, mapping=map, strict=strict, redact=redact,
            outcomes=outcomes or None, outcomes_key=outcomes_key, suitability_settings={"target": target},
            shadow_model=slm_model, shadow_base_url=slm_base_url, shadow_max_usd=slm_max_usd, router=router,
            shadow_price=parse_prices(slm_price, "--price"),
            savings_options=savings_options(api_model, gpu) if (api_model or gpu) else None,
            html_report=report, engine=engine, ray_address=ray_address, stream=stream,
            auto_stream_calls=auto_stream_calls, sampled_settings={
                "fit_sample": fit_sample, **({} if fit_per_group is None else {"fit_per_group": fit_per_group or None})},
            overwrite=overwrite,
            embedder=Embedder(model, device=device, cache_dir=cache_dir, backend=backend or "auto"),
            fast_embed=backend is None,
            on_stage=lambda stage: progress.print(f"== {stage}", style="bold cyan"),
        )
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc), redacted=redact)
    if json_out:
        import json

        typer.echo(json.dumps(result.summary(), indent=2, ensure_ascii=False))
        return
    print_report(result.report, redacted=redact)
    if result.redactions:
        console.print("redacted: " + (", ".join(f"{k} {v:,}" for k, v in result.redactions.items() if v) or "nothing"))
    if result.embeddings is not None:
        console.print(f"embeddings: {result.embeddings.height:,} distinct prompts")
    if result.task_types is not None:
        print_task_types(result.task_types)
    if result.suitability is not None:
        print_suitability(result.suitability)
    for stage, why in result.skipped.items():
        console.print(f"skipped {stage}: {why}")
    console.print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    for name, path in result.files.items():
        console.print(f"wrote {name}: {path}")


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
    from ..errors import SlmprofileError
    from ..outputs import check_output_file
    from ..sample import DRIFT_DIR, DRIFT_TRUTH, EVAL_FILE, LOG_FILES, generate_sample

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


def formats() -> None:
    """List the supported log formats with a minimal example record each.

    Example: slmprofile formats
    """
    import json

    from ..ingest import FORMATS

    for name, cls in FORMATS.items():
        typer.echo(f"{name}: {cls.title}")
        typer.echo("  " + json.dumps(cls.example, ensure_ascii=False)[:400])


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (from `slmprofile run` and later stages).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file (default RUN_DIR/report.html).")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the self-contained HTML report of a run directory (headline, task types, plots, router, data quality).

    Example: slmprofile report out/run --out out/run/report.html --overwrite
    """
    from ..errors import SlmprofileError
    from ..outputs import check_output_file, claim_file_in, record_outputs
    from ..report import headline, load_run, write_report

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

