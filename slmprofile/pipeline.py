"""``slmprofile run``: the stages in order, each reading what the previous one wrote.

ingest -> redact -> write logs -> embed -> task types -> suitability (with a shadow run) -> savings -> router
(train, export, bench) -> run.json -> report. :data:`STAGES` is that list (the functions are in
:mod:`slmprofile.stages`) and :func:`run` is a loop over it: one
:class:`RunSettings` (checked once) says what to do, one :class:`RunState` carries what the stages made, the
:class:`~slmprofile.rundir.RunDir` names every file, and an :class:`~slmprofile.engines.Engine` says where the
row-parallel work runs. A stage that is switched off does nothing; one whose input is missing is skipped with the
reason in ``run.json``. With ``stream=True`` the stages keep the calls on disk (Parquet parts, then a lazy scan of
``logs.parquet``) and task types come from a sample: same stages, same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .outputs import claim_dir
from .rundir import RunDir
from .settings import RunSettings, ShadowSettings
from .stages import (ROUTER_MAX_CALLS, RunState, embed_stage, ingest_stage, redact_stage, release_memory, report_stage,
                     router_stage, start_ahead, run_info_stage, run_versions, savings_stage, suitability_stage, task_types_stage,
                     write_logs_stage)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .cluster import TaskTypeResult
    from .embed import Embedder
    from .engines import Engine
    from .ingest import IngestReport


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

    def summary(self, *, top: int = 50) -> dict[str, Any]:
        """A JSON-ready summary for scripts (``slmprofile run --json``): the ingest counts, redactions, the ``top``
        task types by calls with their verdicts, the savings per option, the router's headline, skipped stages,
        timings and the files written."""
        out: dict[str, Any] = {"out_dir": str(self.out_dir)}
        report = self.report.to_dict()
        out["ingest"] = {k: report[k] for k in ("rows_read", "rows_kept", "rows_skipped", "rows_out", "skipped",
                                                "templates")}
        out["redactions"] = {k: v for k, v in self.redactions.items() if v}
        out["distinct_prompts"] = None if self.embeddings is None else self.embeddings.height
        types: dict[str, dict[str, Any]] = {}
        if self.task_types is not None:
            out["task_type_counts"] = {k: self.task_types.summary[k] for k in ("task_types", "families")}
            for row in self.task_types.task_types.sort("calls", descending=True).head(top).iter_rows(named=True):
                types[row["task_type"]] = {"family": row["family"], "calls": row["calls"],
                                           "share": round(row["share"], 6), "cost_per_month": row["cost_per_month"]}
        if self.suitability is not None:
            for row in self.suitability.iter_rows(named=True):
                entry = types.get(row["task_type"])
                if entry is None:
                    continue
                entry.update(verdict=row["verdict"], rate=row["rate"], rate_ci=[row["ci_lo"], row["ci_hi"]],
                             slm_share=row["slm_share"])
            out["verdicts"] = dict(sorted(self.suitability["verdict"].value_counts().iter_rows()))
        out["task_types"] = [{"task_type": name, **entry} for name, entry in types.items()]
        if self.savings is not None:
            out["savings"] = self.savings.options.to_dicts()
        if self.router is not None:
            out["router"] = self.router
        out["skipped"] = dict(self.skipped)
        out["timings_s"] = {k: round(v, 2) for k, v in self.timings.items()}
        out["files"] = dict(self.files)
        return json.loads(json.dumps(out, default=str))


#: The stages of :func:`run`, in the order data flows.
STAGES: tuple[Callable[[RunState], None], ...] = (
    ingest_stage, redact_stage, write_logs_stage, embed_stage, task_types_stage, suitability_stage, savings_stage,
    router_stage, run_info_stage, report_stage)


def run(paths: Iterable[str | Path], out_dir: str | Path, settings: RunSettings | None = None, *,
        embedder: Embedder | None = None, clusterer: Any = None, engine: str | Engine = "local",
        ray_address: str | None = None, on_stage: Callable[[str], None] | None = None, overwrite: bool = False,
        fast_embed: bool = True, **options: Any) -> RunResult:
    """Run :data:`STAGES` on log files, writing everything under ``out_dir`` (see :class:`~slmprofile.rundir.
    RunDir`), and return what they made.

    ``settings``: a :class:`RunSettings`, or its fields as keywords (``outcomes=...``, ``router=False``,
    ``shadow_model=...``; see :meth:`RunSettings.from_options`). ``embedder`` / ``clusterer``: the encoder and
    :class:`~slmprofile.cluster.TaskTypeClusterer` to use (defaults: the bundled MiniLM, the default clusterer).
    ``fast_embed``: without an ``embedder``, the bundled MiniLM on the ``auto`` backend (int8 ONNX once its
    vectors agree with PyTorch's on a probe of the texts, about 1.5x faster on a CPU; its vectors are cached apart;
    ``run.json`` -> ``embedding`` says which backend ran and the parity); on the large-log path an embedder on the
    PyTorch backend switches to ``auto`` too (``run.json`` -> ``mode.embed_backend`` says so).
    ``engine``: ``"local"``, ``"ray"`` (redaction, embedding and call assignment as Ray Data pipelines on the
    cluster at ``ray_address``, or on a local Ray instance; adds ``calls_by_task_type/``) or an engine object
    (:mod:`slmprofile.engines`). ``on_stage`` is called with each stage's name as it starts (the CLI prints it).

    ``stream=True`` is the one-machine path for logs too large for memory: ingestion streams to Parquet parts,
    redaction runs part by part, ``logs.parquet`` is written from the parts without collecting them, and task types
    come from :func:`~slmprofile.cluster.sampled.discover_task_types_sampled` (``sampled_settings``: its
    ``fit_sample``, ``template_min``, ``template_purity``, ``audit``). ``embeddings.parquet`` then holds the
    embedded prompts only, ``RunResult.logs`` is a ``LazyFrame``, and the router trains on a sample of at most
    ``router_settings["max_calls"]`` (default :data:`ROUTER_MAX_CALLS`) labelled calls.

    ``out_dir`` must be new or empty; ``overwrite=True`` reuses a directory of an earlier run, removing only the
    files its manifest lists (see :mod:`slmprofile.outputs`). Nothing else in it is deleted or replaced.
    """
    from .engines import make_engine

    if settings is None:
        settings = RunSettings.from_options(options)
    elif options:
        raise TypeError(f"run() takes settings or their fields as keywords, not both; got {sorted(options)}")
    settings.check()
    resolved = make_engine(engine, address=ray_address)
    paths = [str(p) for p in paths]
    mode = settings.choose_path(paths)
    settings = replace(settings, stream=mode["stream"])
    if fast_embed and (embedder is None or (mode["stream"] and embedder.backend == "torch")):
        from .embed import Embedder

        embedder = embedder.clone(backend="auto") if embedder is not None else Embedder(backend="auto")
        if mode["stream"]:
            mode["embed_backend"] = "auto: int8 ONNX where it agrees with PyTorch (large logs; fast_embed)"
    claimed = claim_dir(out_dir, overwrite=overwrite, inputs=paths, reserved=RunDir.RUN_FILES)
    state = RunState(run=RunDir(claimed.path), paths=paths, settings=settings, engine=resolved, outputs=claimed,
                     notify=on_stage or (lambda stage: None), embedder=embedder, clusterer=clusterer, mode=mode)
    if mode["chosen"] == "auto" and mode["stream"]:
        state.notify(f"large logs: {mode['reason']}")
    start_ahead(state, "run")  # a first run compiles UMAP's code beside its first stages
    try:
        for stage in STAGES:
            stage(state)
            if settings.stream:
                release_memory()
        state.ahead.wait()  # nothing left running after a run (after an error: reported at once, not waited for)
    finally:
        claimed.close()
    assert state.report is not None
    return RunResult(out_dir=state.run.root, logs=state.logs, report=state.report, redactions=state.redactions,
                     embeddings=state.embeddings, task_types=state.task_types, suitability=state.suitability,
                     savings=state.savings, router=state.router_info, report_path=state.report_path,
                     skipped=state.skipped, timings=state.timings, files=state.files)


__all__ = ["ROUTER_MAX_CALLS", "STAGES", "RunResult", "RunSettings", "RunState", "ShadowSettings", "run",
           "run_versions"]
