"""The stages of a run, each one function over a :class:`RunState`: ingest -> redact -> write logs -> embed -> task
types -> suitability (with a shadow run) -> savings -> router (train, export, bench) -> run.json -> report.
:mod:`slmprofile.pipeline` lists them in order and runs them. A stage that is switched off does nothing; one whose
input is missing is skipped with the reason in ``run.json``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .outputs import OutputDir
from .redact import redact_json
from .router.data import ROUTER_MAX_CALLS
from .rundir import RunDir
from .settings import RunSettings, ShadowSettings

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .cluster import TaskTypeResult
    from .embed import Embedder
    from .engines import Engine
    from .ingest import IngestReport

logger = logging.getLogger(__name__)

#: Seconds of timed calls per benchmark configuration in a run (at least 10 calls each; p50 settles within ~5 %).
BENCH_SECONDS = 0.3


class Ahead:
    """Work a run starts in the background, so that a first run does not wait for it later: UMAP's compiled code
    (:func:`~slmprofile.cluster.reduce.compile_umap`, about 25 s of one core, needed by the task types; started with
    the run, beside ingest and the embedding's export) and the router's encoder graphs
    (:func:`~slmprofile.router.export.prebuild_encoder_graphs`, about 15 s, needed by the export; started with the
    task types, whose UMAP and HDBSCAN use one core). Each job runs in a child process, waited on by a thread here,
    and fills the disk cache the stage would; the stage waits for its job (:meth:`wait`), and a job that fails only
    leaves the stage to do the work itself, as before. Once the caches hold them, nothing is started."""

    def __init__(self) -> None:
        self._threads: dict[str, Any] = {}
        self.seconds: dict[str, float] = {}

    def start(self, name: str, job: Callable[[], Any]) -> None:
        import threading

        def work() -> None:
            started = time.perf_counter()
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - the stage does the work itself, as without this
                logger.info("background %s failed (%s: %s); the stage will do it", name, type(exc).__name__, exc)
            finally:
                self.seconds[name] = round(time.perf_counter() - started, 1)

        self._threads[name] = thread = threading.Thread(target=work, name=f"slmprofile-{name}", daemon=True)
        thread.start()

    def wait(self, name: str | None = None) -> None:
        """Until job ``name`` (every job: None) is done; at once when there is no such job."""
        for key in ([name] if name is not None else list(self._threads)):
            thread = self._threads.get(key)
            if thread is not None:
                thread.join()


def start_ahead(state: RunState, stage: str) -> None:
    """Start the :class:`Ahead` job that belongs to ``stage``'s start (``run``: UMAP's code; ``task types``: the
    router's encoder graphs) when this run will need it and the cache lacks it."""
    import os

    s = state.settings
    if stage == "run":
        reducer = getattr(state.clusterer, "reducer", "umap") if state.clusterer is not None else "umap"
        if s.embed and s.cluster and reducer == "umap" and os.environ.get("SLMPROFILE_JIT_CACHE", "1") != "0":
            from .jit_cache import compiled_marker

            if not compiled_marker("umap").is_file():
                from . import child
                from .cluster.reduce import compile_umap

                state.ahead.start("umap", lambda: child.call(compile_umap))
    elif stage == "task types":
        default_encoder = state.embedder is None or state.embedder.model is None
        labels_expected = s.outcomes is not None or (isinstance(s.mapping, Mapping) and "slm_correct" in s.mapping)
        if s.router and labels_expected and default_encoder and not s.router_settings.get("finetune"):
            from .router.export import prebuild_encoder_graphs

            state.ahead.start("router_graphs", prebuild_encoder_graphs)


@dataclass
class RunState:
    """What the stages of one run hand each other in memory (everything they write is under ``run``)."""

    run: RunDir
    paths: list[str]
    settings: RunSettings
    engine: Engine
    outputs: OutputDir
    notify: Callable[[str], None]
    embedder: Embedder | None = None
    clusterer: Any = None
    mode: dict[str, Any] = field(default_factory=dict)  # streaming or not, and why (choose_path)
    report: IngestReport | None = None
    parts: Any = None  # stream: the ingested Parquet parts until they are one logs.parquet
    parts_dir: Path | None = None
    logs: Any = None
    redactions: dict[str, int] = field(default_factory=dict)
    embeddings: pl.DataFrame | None = None
    embed_info: dict[str, Any] = field(default_factory=dict)
    task_types: TaskTypeResult | None = None
    cluster_info: dict[str, Any] = field(default_factory=dict)
    suitability: pl.DataFrame | None = None
    savings: Any = None
    router_info: dict[str, Any] | None = None
    run_info: dict[str, Any] = field(default_factory=dict)
    report_path: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    ahead: Ahead = field(default_factory=Ahead)

    @contextmanager
    def stage(self, name: str, key: str | None = None) -> Iterator[None]:
        """Announce stage ``name`` and time it under ``key`` (default: ``name`` with underscores)."""
        self.notify(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[key or name.replace(" ", "_")] = time.perf_counter() - started

    def wants(self, stage: str, enabled: bool, missing: str | None = None) -> bool:
        """Whether ``stage`` runs: it is switched on and nothing it needs is ``missing`` (else that reason is
        recorded in ``run.json``'s ``skipped``)."""
        if enabled and missing:
            self.skipped[stage] = missing
        return enabled and not missing

    def engine_info(self) -> dict[str, Any]:
        name = self.engine.name + ("-stream" if self.settings.stream else "")
        return {"name": name, **self.engine.info_}

    def embedder_(self) -> Embedder:
        if self.embedder is None:
            from .embed import Embedder

            self.embedder = Embedder()
        return self.embedder



def run_versions() -> dict[str, str]:
    """Versions of the packages that shape a run's results (``run.json``)."""
    from .encoder import versions

    return versions(("slmprofile", "polars", "sentence-transformers", "torch", "transformers", "hdbscan",
                     "onnxruntime", "genai-prices", "bpe-openai"), missing="not installed")


# -- the stages ------------------------------------------------------------------------------------------------------

def ingest_stage(state: RunState) -> None:
    """Read the logs (and join outcome tables): a frame, or with ``stream`` Parquet parts written where the engine
    says (the local engine: a child process, so that what the reader allocates goes back to the system before
    embedding starts; Ray: the workers)."""
    s = state.settings
    with state.stage("ingest"):
        if s.stream:
            import tempfile

            state.parts_dir = Path(tempfile.mkdtemp(prefix=".parts-", dir=state.run.root))  # ours alone
            state.parts = state.engine.ingest_parts(state.paths, state.parts_dir, format=s.format, mapping=s.mapping,
                                                    strict=s.strict, progress=True, outcomes=s.outcomes,
                                                    outcomes_key=s.outcomes_key)
            state.report = state.parts.report
        else:
            from .ingest import ingest

            result = ingest(state.paths, format=s.format, mapping=s.mapping, strict=s.strict, progress=True,
                            outcomes=s.outcomes, outcomes_key=s.outcomes_key)
            state.logs, state.report = result.frame, result.report


def redact_stage(state: RunState) -> None:
    """Replace PII in every text column before anything is written (part by part with ``stream``)."""
    if not state.settings.redact:
        return
    with state.stage("redact"):
        if state.parts is not None:
            state.redactions = state.engine.redact_parts(state.parts.parts, progress=True)
        else:
            state.logs, state.redactions = state.engine.redact(state.logs)


def write_logs_stage(state: RunState) -> None:
    """``logs.parquet``: from the frame, or the parts concatenated in a child process (polars' Parquet writer keeps
    over 1 GB of buffers at 1M calls) and then scanned lazily."""
    if state.parts is None:
        state.logs.write_parquet(state.run.logs)
    else:
        import shutil

        import polars as pl

        from . import child
        from .ingest.stream import concat_parts

        started = time.perf_counter()
        if state.parts.parts:
            child.call(concat_parts, [str(p) for p in state.parts.parts], str(state.run.logs))
        else:
            pl.DataFrame().write_parquet(state.run.logs)
        shutil.rmtree(state.parts_dir, ignore_errors=True)  # the folder ingest made for them: removed whole
        state.parts = None
        state.logs = pl.scan_parquet(state.run.logs)
        state.timings["write_logs"] = time.perf_counter() - started
    state.files["logs"] = str(state.run.logs)


def _sampled(state: RunState) -> bool:
    """Task types from a sample (``stream``), which embeds what it needs itself."""
    s = state.settings
    return s.stream and s.embed and s.cluster and state.report is not None and state.report.rows_out >= 10


def embed_stage(state: RunState) -> None:
    """One vector per distinct prompt (cached on disk)."""
    if not state.settings.embed or _sampled(state):
        return
    with state.stage("embed"):
        embedder = state.embedder_()
        state.embeddings = state.engine.embed_prompts(state.logs, embedder)
        local = state.engine.name == "local"  # elsewhere the engine's actors did the encoding
        state.embed_info = {**embedder.info(), "stats": vars(embedder.stats_) if local else
                            {"distinct": state.embeddings.height, "actors": state.engine.info_.get("embed_actors")}}
        if state.engine.info_.get("embed_backend"):
            state.embed_info["backend"] = state.engine.info_["embed_backend"]
        state.embeddings.write_parquet(state.run.embeddings)
        state.files["embeddings"] = str(state.run.embeddings)


def task_types_stage(state: RunState) -> None:
    """Task types and families, their statistics and plots; with ``stream`` fit on a sample that embeds what it
    needs, pure templates placing the rest."""
    from .cluster.plots import save_task_type_plots

    s = state.settings
    start_ahead(state, "task types")
    if _sampled(state):
        from .cluster.sampled import discover_task_types_sampled

        with state.stage("embed + task types (sampled)", "embed_task_types"):
            embedder = state.embedder_()
            sampled = discover_task_types_sampled(state.logs, embedder=state.engine.task_embedder(embedder),
                                                  clusterer=state.clusterer, **dict(s.sampled_settings))
            state.embeddings, state.task_types = sampled.embeddings, sampled.result
            state.embeddings.write_parquet(state.run.embeddings)
            state.files["embeddings"] = str(state.run.embeddings)
            state.embed_info = {**embedder.info(), "sampled": sampled.info}
            if state.engine.info_.get("embed_backend"):
                state.embed_info["backend"] = state.engine.info_["embed_backend"]
            _write_task_types(state, save_task_type_plots)
        return
    if not (s.embed and s.cluster and state.embeddings is not None and state.embeddings.height >= 10):
        return
    from .cluster import discover_task_types

    with state.stage("task types"):
        state.ahead.wait("umap")  # UMAP's code compiled beside the embedding (a first run)
        state.task_types = discover_task_types(state.logs, state.embeddings, clusterer=state.clusterer,
                                               embedder=state.embedder)
        _write_task_types(state, save_task_type_plots)


def _write_task_types(state: RunState, save_plots: Callable[..., dict[str, str]]) -> None:
    assert state.task_types is not None and state.embeddings is not None
    state.files.update(state.task_types.write(state.run.root))
    state.files.update(save_plots(state.task_types, state.embeddings, state.run.plots))
    partitioned = state.engine.write_calls_by_task_type(state.logs, state.task_types.clusters,
                                                        state.run.calls_by_task_type)
    if partitioned is not None:
        state.files["calls_by_task_type"] = str(partitioned)
    state.cluster_info = state.task_types.summary


def suitability_stage(state: RunState) -> None:
    """Per task type: can the SLM take it (from logged outcomes, and a shadow run of a candidate if asked)."""
    s = state.settings
    if not state.wants("suitability", s.suitability, None if state.task_types is not None
                       else "no task types (clustering off or too few prompts)"):
        return
    from .suitability import assess_suitability

    with state.stage("suitability"):
        if s.shadow is not None:
            _shadow_run(state.run, s.shadow, dict(s.suitability_settings))
            state.files["shadow_results"] = str(state.run.shadow_results)
        state.suitability = assess_suitability(state.run.root, **dict(s.suitability_settings))
        state.files["suitability"] = str(state.run.suitability_csv)


def _shadow_run(run: RunDir, shadow: ShadowSettings, settings: dict[str, Any]) -> None:
    """Shadow-run the candidate on a stratified sample of each task type; answers cached in ``llm_cache.sqlite``."""
    import polars as pl

    from .llm import LLMRunner, SpendCap
    from .shadow import run_shadow
    from .suitability import load_calls

    runner = LLMRunner(shadow.model, base_url=shadow.base_url, cache=run.llm_cache,
                       spend_cap=SpendCap(max_usd=shadow.max_usd), price=shadow.price)
    shadow_settings = {k: v for k, v in settings.items() if k in ("target", "confidence")}
    fitted = run_shadow(load_calls(run.root), pl.read_parquet(run.task_types), runner, **shadow_settings)
    fitted.results_.write_parquet(run.shadow_results)


def savings_stage(state: RunState) -> None:
    """What routing the SLM's task types saves per month, with intervals, for each price option."""
    s = state.settings
    if not state.wants("savings", s.savings, None if state.suitability is not None else "no suitability table"):
        return
    from .savings import savings_from_run

    with state.stage("savings"):
        kwargs = {} if s.savings_options is None else {"options": s.savings_options}
        state.savings = savings_from_run(state.run.root, **kwargs)
        state.files["savings"] = str(state.run.savings_csv)
        from .candidates import plan_candidates_from_run

        if plan_candidates_from_run(state.run.root) is not None:  # two or more candidate models
            state.files["candidates"] = str(state.run / RunDir.CANDIDATES)


def release_memory() -> int:
    """Collect garbage and hand the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere only
    the collection). Between the stages of the bounded-memory path: what one stage freed (onnxruntime arenas, the
    router's training data, polars buffers) otherwise stays in the process's resident set, and the next stage's peak
    lands on top of it. Returns 1 when memory was trimmed, else 0."""
    import ctypes
    import ctypes.util
    import gc
    import sys

    gc.collect()
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return int(libc.malloc_trim(0))
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return 0


def router_stage(state: RunState) -> None:
    """Train, export and benchmark the router when the logs carry per-call outcome labels.

    ``router_settings``: ``target`` / ``target_value`` (see :class:`slmprofile.router.SlmRouter`), ``test_size``,
    ``finetune`` (``True`` or :class:`~slmprofile.router.finetune.FinetuneSettings`: fine-tune the encoder),
    ``max_calls`` (default :data:`ROUTER_MAX_CALLS` with ``stream``), ``batch_sizes``, ``max_seconds`` (per
    configuration, default :data:`BENCH_SECONDS`) and ``bench_pytorch`` (also time the PyTorch path; default off) for
    the benchmark. Writes ``router/`` (ONNX fp32 + int8, tokenizer.json, router.json, evaluation) and ``bench.json``.
    """
    import polars as pl

    s = state.settings
    if not state.wants("router", s.router, None if state.embeddings is not None else "no embeddings"):
        return
    settings = {**({"max_calls": ROUTER_MAX_CALLS} if s.stream else {}), **dict(s.router_settings)}
    lazy = state.logs.lazy()
    labelled = "slm_correct" in lazy.collect_schema().names() and \
        lazy.select(pl.col("slm_correct").drop_nulls().len()).collect().item() >= 50
    if not state.wants("router", True, None if labelled else
                       "needs per-call outcomes (slm_correct) on at least 50 calls: pass --outcomes or --map"):
        return
    from .router.data import load_run_data
    from .router.export import export_router
    from .router.train import SlmRouter, train_router

    run = state.run
    with state.stage("router"):
        data = load_run_data(run.root, groups="task_type" if run.clusters.is_file() else None,
                             max_calls=settings.get("max_calls"))
        estimator = SlmRouter(target=settings.get("target", "quality"),
                              target_value=settings.get("target_value", 0.95),
                              random_state=settings.get("random_state", 0))
        trained = train_router(data.texts, data.slm_correct, data.frontier_correct, embeddings=data.embeddings,
                               groups=data.groups, sample_weight=data.sample_weight, timestamps=data.timestamps,
                               test_size=settings.get("test_size", 0.2), router=estimator, progress=True,
                               embedder=state.embedder, finetune=settings.get("finetune"),
                               finetune_dir=run.router / RunDir.ROUTER_ENCODER if settings.get("finetune") else None)
        files = {f"router_{k}": str(v) for k, v in trained.write(run.router).items()}
        if s.stream:
            release_memory()
        state.ahead.wait("router_graphs")
        exported = export_router(run.router / RunDir.ROUTER_HEAD, run.router, int8=True)
        files.update({f"router_{k}": str(v) for k, v in exported.files.items()})
    info: dict[str, Any] = {"data": data.report, "threshold": float(trained.router.threshold_),
                            "validation": trained.router.validation_, "files": files}
    if s.bench:
        from .router.bench import run_benchmark

        if s.stream:
            release_memory()
        with state.stage("bench"):
            texts = [x for x in lazy.select("prompt_text").drop_nulls().head(1024).collect()["prompt_text"].to_list()
                     if x][:256]
            # the run measures what the exported router costs; its comparison with the PyTorch path (importing
            # sentence-transformers alone takes 3-4 s) is `slmprofile router bench`'s, or bench_pytorch=True here
            result = run_benchmark(run.router, texts=texts, batch_sizes=settings.get("batch_sizes", (1, 8)),
                                   max_seconds=settings.get("max_seconds", BENCH_SECONDS),
                                   min_calls=settings.get("min_calls", 10), warmup=settings.get("warmup", 2),
                                   pytorch=bool(settings.get("bench_pytorch", False)), n_prompts=256)
            files.update({f"bench_{k}": str(v) for k, v in result.write(run.bench.parent).items()})
            info["bench_skipped"] = list(result.skipped)
    state.router_info = info
    state.files.update(files)


def run_info_stage(state: RunState) -> None:
    """``run.json``: inputs, settings, versions, engine, timings, the ingest report, what was skipped and why."""
    s = state.settings
    assert state.report is not None
    state.run_info = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": state.paths,
        "settings": s.recorded(),
        "versions": run_versions(),
        "engine": state.engine_info(),
        "mode": state.mode,
        "timings_s": {k: round(v, 3) for k, v in state.timings.items()},
        "ahead_s": dict(state.ahead.seconds),  # background jobs of a first run (Ahead), beside the stages
        "ingest": redact_json(state.report.to_dict()) if s.redact else state.report.to_dict(),
        "redactions": state.redactions,
        "embedding": state.embed_info,
        "task_types": state.cluster_info,
        "router": {k: v for k, v in (state.router_info or {}).items() if k != "files"},
        "skipped": state.skipped,
        "files": state.files,
    }
    _write_run_info(state)
    state.files["run"] = str(state.run.run_info)


def report_stage(state: RunState) -> None:
    """``report.html``, then ``run.json`` again with the report's timing and file."""
    if not state.settings.html_report:
        return
    from .report import write_report

    with state.stage("report"):
        state.outputs.close()  # the manifest lists this run's plots: the report embeds those and no others
        state.report_path = write_report(state.run.root)
        state.files["report"] = str(state.report_path)
    state.run_info["timings_s"] = {k: round(v, 3) for k, v in state.timings.items()}
    state.run_info["files"] = state.files
    _write_run_info(state)


def _write_run_info(state: RunState) -> None:
    state.run.run_info.write_text(json.dumps(state.run_info, indent=2, default=str) + "\n", encoding="utf-8")
