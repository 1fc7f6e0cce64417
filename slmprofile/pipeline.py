"""``slmprofile run``: the stages chained, each reading what the previous one wrote.

ingest -> redact -> embed (cached) -> task types -> suitability -> savings -> router (train, export, bench) ->
report. Everything goes under one output directory with a ``run.json`` describing the run; each stage can be
switched off, and later stages are skipped (with the reason in ``run.json``) when what they need is missing.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from .outputs import OutputDir, claim_dir
from .redact import redact_json, redact_logs, redact_parts
from .rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .cluster import TaskTypeResult
    from .embed import Embedder
    from .ingest import IngestReport

#: With ``stream=True`` the router trains on a seeded sample of at most this many labelled calls.
ROUTER_MAX_CALLS = 20_000
@dataclass
class RunResult:
    """What :func:`run` wrote and measured."""

    out_dir: Path
    logs: pl.DataFrame | pl.LazyFrame  # lazy (over logs.parquet) with stream=True
    report: IngestReport
    redactions: dict[str, int]
    embeddings: pl.DataFrame | None
    task_types: TaskTypeResult | None = None
    suitability: pl.DataFrame | None = None
    savings: Any = None
    router: dict[str, Any] | None = None
    report_path: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def _concat_parts(parts: list[str], path: str, *, row_group_size: int = 20_000) -> None:
    """One Parquet file from the parts, streamed (small row groups keep later streaming scans small too)."""
    import polars as pl

    pl.scan_parquet(parts).sink_parquet(path, row_group_size=row_group_size)


def run_versions() -> dict[str, str]:
    """Versions of the packages that shape a run's results (``run.json``)."""
    from .encoder import versions

    return versions(("slmprofile", "polars", "sentence-transformers", "torch", "transformers", "hdbscan",
                     "onnxruntime", "genai-prices", "bpe-openai"), missing="not installed")


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
    suitability: bool = True,
    suitability_settings: Mapping[str, Any] | None = None,
    shadow_model: str | None = None,
    shadow_base_url: str | None = None,
    shadow_max_usd: float = 5.0,
    shadow_price: tuple[float, float] | None = None,
    savings: bool = True,
    savings_options: Any = None,
    router: bool = True,
    router_settings: Mapping[str, Any] | None = None,
    bench: bool = True,
    html_report: bool = True,
    on_stage: Callable[[str], None] | None = None,
    engine: str | Any = "local",
    ray_address: str | None = None,
    stream: bool = False,
    sampled_settings: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Run the pipeline on log files and write ``logs.parquet``, ``embeddings.parquet`` and ``run.json``.

    ``on_stage`` is called with each stage's name as it starts (the CLI uses it for its progress display).
    ``engine``: ``"local"``, ``"ray"`` (redaction, embedding and call assignment as Ray Data pipelines on the
    cluster at ``ray_address``, or on a local Ray instance; see :mod:`slmprofile.engines.ray_engine`) or a
    :class:`~slmprofile.engines.ray_engine.RayEngine`. Both engines write the same files; Ray adds
    ``calls_by_task_type/`` (Parquet partitioned by task type).

    ``stream=True`` is the one-machine path for logs too large for memory: ingestion streams to Parquet parts
    (:func:`~slmprofile.ingest.ingest_to_parquet`), redaction runs part by part, ``logs.parquet`` is written from
    the parts without collecting them, and task types come from
    :func:`~slmprofile.cluster.sampled.discover_task_types_sampled` (``sampled_settings``: its ``fit_sample``,
    ``template_min``, ``template_purity``, ``audit``), which embeds a sample, the prompts no pure template places
    and an audit, and aggregates the statistics lazily. ``embeddings.parquet`` then holds the embedded prompts
    only, ``RunResult.logs`` is a ``LazyFrame``, outcome tables are joined part by part, and the router trains on
    a sample of at most ``router_settings["max_calls"]`` (default :data:`ROUTER_MAX_CALLS`) labelled calls. With
    the Ray engine as well, the parts are redacted by Ray tasks, the prompts to embed go to its actor pool and
    ``calls_by_task_type/`` is written; parsing, the fit and the statistics stay on the driver.

    ``out_dir`` must be new or empty; ``overwrite=True`` reuses a directory of an earlier run, removing only the
    files its manifest lists (see :mod:`slmprofile.outputs`). Nothing else in it is deleted or replaced.
    """
    ray_engine = None
    if engine == "ray":
        from .engines.ray_engine import RayEngine

        ray_engine = RayEngine(address=ray_address)
    elif not isinstance(engine, str):
        ray_engine = engine
    elif engine != "local":
        raise ValueError(f"unknown engine {engine!r}: use 'local' or 'ray'")

    paths = [str(p) for p in paths]
    claimed = claim_dir(out_dir, overwrite=overwrite, inputs=paths, reserved=RunDir.RUN_FILES)
    try:
        return _run(paths, claimed.path, format=format, mapping=mapping, strict=strict, outcomes=outcomes,
                    outcomes_key=outcomes_key, redact=redact, embed=embed, embedder=embedder, cluster=cluster,
                    clusterer=clusterer, suitability=suitability, suitability_settings=suitability_settings,
                    shadow=(shadow_model, shadow_base_url, shadow_max_usd, shadow_price), savings=savings,
                    savings_options=savings_options, router=router, router_settings=router_settings, bench=bench,
                    html_report=html_report, on_stage=on_stage, ray_engine=ray_engine, stream=stream,
                    sampled_settings=sampled_settings, outputs=claimed)
    finally:
        claimed.close()


def _run(paths: list[str], out: Path, *, format: str | None, mapping: Any, strict: bool, outcomes: Any,
         outcomes_key: str, redact: bool, embed: bool, embedder: Embedder | None, cluster: bool, clusterer: Any,
         suitability: bool, suitability_settings: Mapping[str, Any] | None,
         shadow: tuple[str | None, str | None, float, tuple[float, float] | None], savings: bool,
         savings_options: Any, router: bool, router_settings: Mapping[str, Any] | None, bench: bool,
         html_report: bool, on_stage: Callable[[str], None] | None, ray_engine: Any, stream: bool,
         sampled_settings: Mapping[str, Any] | None, outputs: OutputDir) -> RunResult:
    """:func:`run` in a claimed output directory."""
    from .embed import Embedder, embed_prompts
    from .ingest import ingest

    shadow_model, shadow_base_url, shadow_max_usd, shadow_price = shadow
    timings: dict[str, float] = {}
    notify = on_stage or (lambda stage: None)
    if stream:
        return _run_streaming(paths, out, format=format, mapping=mapping, strict=strict, outcomes=outcomes,
                              outcomes_key=outcomes_key, redact=redact, embed=embed,
                              embedder=embedder, cluster=cluster, clusterer=clusterer, suitability=suitability,
                              suitability_settings=suitability_settings, savings=savings,
                              savings_options=savings_options, router=router, router_settings=router_settings,
                              bench=bench, html_report=html_report, notify=notify,
                              sampled_settings=dict(sampled_settings or {}), ray_engine=ray_engine,
                              outputs=outputs)

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
        logs, redactions = ray_engine.redact(logs) if ray_engine is not None else redact_logs(logs)
        timings["redact"] = time.perf_counter() - t
    files = {"logs": str(RunDir(out).logs)}
    logs.write_parquet(RunDir(out).logs)

    embeddings = None
    embed_info: dict[str, Any] = {}
    if embed:
        notify("embed")
        t = time.perf_counter()
        embedder = embedder or Embedder()
        if ray_engine is not None:
            embeddings = ray_engine.embed_prompts(logs, embedder)
            embed_info = {**embedder.info(), "backend": ray_engine.info_.get("embed_backend"),
                          "stats": {"distinct": embeddings.height, "actors": ray_engine.info_.get("embed_actors")}}
        else:
            embeddings = embed_prompts(logs, embedder=embedder)
            embed_info = {**embedder.info(), "stats": vars(embedder.stats_)}
        embeddings.write_parquet(RunDir(out).embeddings)
        files["embeddings"] = str(RunDir(out).embeddings)
        timings["embed"] = time.perf_counter() - t

    task_types = None
    cluster_info: dict[str, Any] = {}
    if embed and cluster and embeddings is not None and embeddings.height >= 10:
        from .cluster import discover_task_types

        notify("task types")
        t = time.perf_counter()
        task_types = discover_task_types(logs, embeddings, clusterer=clusterer, embedder=embedder)
        files.update(task_types.write(out))
        from .cluster.plots import save_task_type_plots

        files.update(save_task_type_plots(task_types, embeddings, RunDir(out).plots))
        if ray_engine is not None:
            files["calls_by_task_type"] = str(ray_engine.write_calls_by_task_type(
                logs, task_types.clusters, RunDir(out).calls_by_task_type))
        timings["task_types"] = time.perf_counter() - t
        cluster_info = task_types.summary

    return _finish(out, paths, logs=logs, report=report, redactions=redactions, embeddings=embeddings,
                   embedder=embedder, task_types=task_types, embed_info=embed_info, cluster_info=cluster_info,
                   files=files, timings=timings, notify=notify, suitability=suitability,
                   suitability_settings=suitability_settings, shadow=(shadow_model, shadow_base_url, shadow_max_usd,
                                                                      shadow_price),
                   savings=savings, savings_options=savings_options, router=router, router_settings=router_settings,
                   bench=bench, html_report=html_report,
                   settings=_settings(format, mapping, strict, redact, embed, outcomes),
                   engine_info={"name": "local"} if ray_engine is None else {"name": "ray", **ray_engine.info_},
                   outputs=outputs)


def _settings(format: str | None, mapping: Any, strict: bool, redact: bool, embed: bool,
              outcomes: Any) -> dict[str, Any]:
    """The run's settings as ``run.json`` records them."""
    return {"format": format, "mapping": mapping if isinstance(mapping, (str, type(None))) else dict(mapping),
            "strict": strict, "redact": redact, "embed": embed,
            "outcomes": None if outcomes is None else [str(o) for o in
                                                        ([outcomes] if isinstance(outcomes, (str, Path))
                                                         else outcomes)]}


def _finish(out: Path, paths: list[str], *, logs: Any, report: IngestReport, redactions: dict[str, int],
            embeddings: pl.DataFrame | None, embedder: Any, task_types: TaskTypeResult | None,
            embed_info: dict[str, Any], cluster_info: dict[str, Any], files: dict[str, str],
            timings: dict[str, float], notify: Callable[[str], None], suitability: bool,
            suitability_settings: Mapping[str, Any] | None,
            shadow: tuple[str | None, str | None, float, tuple[float, float] | None], savings: bool,
            savings_options: Any, router: bool, router_settings: Mapping[str, Any] | None, bench: bool,
            html_report: bool, settings: dict[str, Any], engine_info: dict[str, Any],
            outputs: OutputDir) -> RunResult:
    """The stages after task types (suitability, savings, router, run.json, report), shared by both modes."""
    shadow_model, shadow_base_url, shadow_max_usd, shadow_price = shadow

    skipped: dict[str, str] = {}
    suit_table = None
    if suitability and task_types is not None:
        from .suitability import assess_suitability

        notify("suitability")
        t = time.perf_counter()
        if shadow_model:
            _shadow_stage(out, shadow_model, shadow_base_url, shadow_max_usd, shadow_price,
                          dict(suitability_settings or {}))
            files["shadow_results"] = str(RunDir(out).shadow_results)
        suit_table = assess_suitability(out, **dict(suitability_settings or {}))
        files["suitability"] = str(RunDir(out).suitability_csv)
        timings["suitability"] = time.perf_counter() - t
    elif suitability:
        skipped["suitability"] = "no task types (clustering off or too few prompts)"

    savings_result = None
    if savings and suit_table is not None:
        from .savings import savings_from_run

        notify("savings")
        t = time.perf_counter()
        kwargs = {} if savings_options is None else {"options": savings_options}
        savings_result = savings_from_run(out, **kwargs)
        files["savings"] = str(RunDir(out).savings_csv)
        timings["savings"] = time.perf_counter() - t
    elif savings:
        skipped["savings"] = "no suitability table"

    router_info: dict[str, Any] | None = None
    if router and embeddings is not None:
        router_info, reason = _router_stage(out, logs, embeddings, embedder, dict(router_settings or {}),
                                            bench=bench, notify=notify, timings=timings)
        if router_info is None:
            skipped["router"] = reason
        else:
            files.update(router_info.get("files", {}))
    elif router:
        skipped["router"] = "no embeddings"

    run_info = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": paths,
        "settings": settings,
        "versions": run_versions(),
        "engine": engine_info,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "ingest": redact_json(report.to_dict()) if settings.get("redact") else report.to_dict(),
        "redactions": redactions,
        "embedding": embed_info,
        "task_types": cluster_info,
        "router": {k: v for k, v in (router_info or {}).items() if k != "files"},
        "skipped": skipped,
        "files": files,
    }
    RunDir(out).run_info.write_text(json.dumps(run_info, indent=2, default=str) + "\n", encoding="utf-8")
    files["run"] = str(RunDir(out).run_info)
    report_path = None
    if html_report:
        from .report import write_report

        notify("report")
        t = time.perf_counter()
        outputs.close()  # the manifest lists this run's plots: the report embeds those and no others
        report_path = write_report(out)
        files["report"] = str(report_path)
        timings["report"] = time.perf_counter() - t
        run_info["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        run_info["files"] = files
        RunDir(out).run_info.write_text(json.dumps(run_info, indent=2, default=str) + "\n", encoding="utf-8")
    return RunResult(out_dir=out, logs=logs, report=report, redactions=redactions, embeddings=embeddings,
                     task_types=task_types, suitability=suit_table, savings=savings_result, router=router_info,
                     report_path=report_path, skipped=skipped, timings=timings, files=files)


def _run_streaming(paths: list[str], out: Path, *, format: str | None, mapping: Any, strict: bool, outcomes: Any,
                   outcomes_key: str, redact: bool,
                   embed: bool, embedder: Embedder | None, cluster: bool, clusterer: Any, suitability: bool,
                   suitability_settings: Mapping[str, Any] | None, savings: bool, savings_options: Any, router: bool,
                   router_settings: Mapping[str, Any] | None, bench: bool, html_report: bool,
                   notify: Callable[[str], None], sampled_settings: dict[str, Any], outputs: OutputDir,
                   ray_engine: Any = None) -> RunResult:
    """:func:`run` with ``stream=True``: bounded memory up to the task types (see :func:`run`). With a
    ``ray_engine`` the parts are redacted on the cluster, the prompts to embed go to its actor pool and every call
    is written partitioned by task type; parsing, the fit and the statistics stay on the driver."""
    import shutil

    import polars as pl

    from .embed import Embedder
    from .ingest import ingest_to_parquet

    timings: dict[str, float] = {}
    notify("ingest")
    t = time.perf_counter()
    import tempfile

    parts_dir = Path(tempfile.mkdtemp(prefix=".parts-", dir=out))  # ours alone: removed whole below
    # in a child process: what the reader allocates (chunks, the template sample, the id set) is returned to the
    # system when it exits instead of staying in this process through the embedding and clustering stages
    from . import child

    parts = child.call(ingest_to_parquet, paths, parts_dir, format=format, mapping=mapping, strict=strict,
                        progress=True, outcomes=outcomes, outcomes_key=outcomes_key)
    report = parts.report
    timings["ingest"] = time.perf_counter() - t
    redactions: dict[str, int] = {}
    if redact:
        notify("redact")
        t = time.perf_counter()
        redactions = (ray_engine.redact_parts(parts.parts, progress=True) if ray_engine is not None
                      else redact_parts(parts.parts, progress=True, workers=os.cpu_count() or 1))
        timings["redact"] = time.perf_counter() - t
    t = time.perf_counter()
    logs_path = RunDir(out).logs
    if parts.parts:  # a child again: polars' Parquet writer keeps over 1 GB of buffers at 1M calls
        child.call(_concat_parts, [str(p) for p in parts.parts], str(logs_path))
    else:
        pl.DataFrame().write_parquet(logs_path)
    shutil.rmtree(parts_dir, ignore_errors=True)
    timings["write_logs"] = time.perf_counter() - t
    files = {"logs": str(logs_path)}
    logs = pl.scan_parquet(logs_path)

    embeddings = None
    embed_info: dict[str, Any] = {}
    task_types = None
    cluster_info: dict[str, Any] = {}
    embedder = embedder or Embedder()
    if embed and cluster and report.rows_out >= 10:
        from .cluster.plots import save_task_type_plots
        from .cluster.sampled import discover_task_types_sampled

        notify("embed + task types (sampled)")
        t = time.perf_counter()
        task_embedder: Any = embedder
        if ray_engine is not None:
            from .engines.ray_engine import RayEmbedder

            task_embedder = RayEmbedder(ray_engine, embedder)
        sampled = discover_task_types_sampled(logs, embedder=task_embedder, clusterer=clusterer, **sampled_settings)
        embeddings, task_types = sampled.embeddings, sampled.result
        embeddings.write_parquet(RunDir(out).embeddings)
        files["embeddings"] = str(RunDir(out).embeddings)
        files.update(task_types.write(out))
        files.update(save_task_type_plots(task_types, embeddings, RunDir(out).plots))
        embed_info = {**embedder.info(), "sampled": sampled.info}
        if ray_engine is not None:
            embed_info["backend"] = ray_engine.info_.get("embed_backend") or embed_info["backend"]
            files["calls_by_task_type"] = str(ray_engine.write_calls_by_task_type(
                logs, task_types.clusters, RunDir(out).calls_by_task_type))
        cluster_info = task_types.summary
        timings["embed_task_types"] = time.perf_counter() - t
    elif embed:
        from .embed import embed_prompts

        notify("embed")
        t = time.perf_counter()
        if ray_engine is not None:
            embeddings = ray_engine.embed_prompts(logs, embedder)
            embed_info = {**embedder.info(), "backend": ray_engine.info_.get("embed_backend")}
        else:
            embeddings = embed_prompts(logs, embedder=embedder)
            embed_info = {**embedder.info(), "stats": vars(embedder.stats_)}
        embeddings.write_parquet(RunDir(out).embeddings)
        files["embeddings"] = str(RunDir(out).embeddings)
        timings["embed"] = time.perf_counter() - t
    return _finish(out, paths, logs=logs, report=report, redactions=redactions, embeddings=embeddings,
                   embedder=embedder, task_types=task_types, embed_info=embed_info, cluster_info=cluster_info,
                   files=files, timings=timings, notify=notify, suitability=suitability,
                   suitability_settings=suitability_settings, shadow=(None, None, 0.0, None), savings=savings,
                   savings_options=savings_options, router=router,
                   router_settings={"max_calls": ROUTER_MAX_CALLS, **dict(router_settings or {})}, bench=bench,
                   html_report=html_report,
                   settings={**_settings(format, mapping, strict, redact, embed, outcomes), "stream": True,
                             "sampled": sampled_settings},
                   engine_info={"name": "local-stream"} if ray_engine is None
                   else {"name": "ray-stream", **ray_engine.info_}, outputs=outputs)


def _shadow_stage(out: Path, model: str, base_url: str | None, max_usd: float, price: tuple[float, float] | None,
                  settings: dict[str, Any]) -> None:
    """Shadow-run ``model`` on a stratified sample of each task type; answers cached in ``llm_cache.sqlite``."""
    import polars as pl

    from .llm import LLMRunner, SpendCap
    from .shadow import run_shadow
    from .suitability import load_calls

    runner = LLMRunner(model, base_url=base_url, cache=RunDir(out).llm_cache, spend_cap=SpendCap(max_usd=max_usd),
                       price=price)
    shadow_settings = {k: v for k, v in settings.items() if k in ("target", "confidence")}
    fitted = run_shadow(load_calls(out), pl.read_parquet(RunDir(out).task_types), runner, **shadow_settings)
    fitted.results_.write_parquet(RunDir(out).shadow_results)


def _router_stage(out: Path, logs: pl.DataFrame, embeddings: pl.DataFrame, embedder: Any, settings: dict[str, Any],
                  *, bench: bool, notify: Callable[[str], None],
                  timings: dict[str, float]) -> tuple[dict[str, Any] | None, str]:
    """Train, export and benchmark the router when the logs carry per-call outcome labels.

    ``settings``: ``target`` / ``target_value`` (see :class:`slmprofile.router.SlmRouter`), ``test_size``,
    ``finetune`` (``True`` or :class:`~slmprofile.router.finetune.FinetuneSettings`: fine-tune the encoder),
    ``batch_sizes`` and ``max_seconds`` for the benchmark. Writes ``router/`` (ONNX fp32 + int8, tokenizer.json,
    router.json, evaluation) and ``bench.json``.
    """
    import polars as pl

    lazy = logs.lazy()
    if "slm_correct" not in lazy.collect_schema().names() or \
            lazy.select(pl.col("slm_correct").drop_nulls().len()).collect().item() < 50:
        return None, "needs per-call outcomes (slm_correct) on at least 50 calls: pass --outcomes or --map"
    from .router.bench import run_benchmark
    from .router.data import load_run_data
    from .router.export import export_router
    from .router.train import SlmRouter, train_router

    notify("router")
    t = time.perf_counter()
    data = load_run_data(out, groups="task_type" if RunDir(out).clusters.is_file() else None,
                         max_calls=settings.get("max_calls"))
    estimator = SlmRouter(target=settings.get("target", "quality"), target_value=settings.get("target_value", 0.95),
                          random_state=settings.get("random_state", 0))
    trained = train_router(data.texts, data.slm_correct, data.frontier_correct, embeddings=data.embeddings,
                           groups=data.groups, sample_weight=data.sample_weight, timestamps=data.timestamps,
                           test_size=settings.get("test_size", 0.2), router=estimator, progress=True,
                           embedder=embedder, finetune=settings.get("finetune"),
                           finetune_dir=RunDir(out).router / RunDir.ROUTER_ENCODER if settings.get("finetune") else None)
    router_dir = RunDir(out).router
    files = {f"router_{k}": str(v) for k, v in trained.write(router_dir).items()}
    exported = export_router(router_dir / RunDir.ROUTER_HEAD, router_dir, int8=True)
    files.update({f"router_{k}": str(v) for k, v in exported.files.items()})
    timings["router"] = time.perf_counter() - t
    info: dict[str, Any] = {"data": data.report, "threshold": float(trained.router.threshold_),
                            "validation": trained.router.validation_, "files": files}
    if bench:
        notify("bench")
        t = time.perf_counter()
        texts = [x for x in lazy.select("prompt_text").drop_nulls().head(1024).collect()["prompt_text"].to_list()
                 if x][:256]
        result = run_benchmark(router_dir, texts=texts, batch_sizes=settings.get("batch_sizes", (1, 8)),
                               max_seconds=settings.get("max_seconds", 1.0), min_calls=settings.get("min_calls", 10),
                               n_prompts=256)
        bench_files = result.write(out)
        files.update({f"bench_{k}": str(v) for k, v in bench_files.items()})
        info["bench_skipped"] = list(result.skipped)
        timings["bench"] = time.perf_counter() - t
    return info, ""
