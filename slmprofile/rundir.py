"""The run directory: every file a run writes, named once.

A run directory is the contract between the stages: ingest writes ``logs.parquet``, embed reads it and writes
``embeddings.parquet``, task types read both and write ``clusters.parquet`` and ``task_types.*``, and so on to
``report.html`` (see ``../shared/ARCHITECTURE.md`` and ``docs/``). Any stage can be re-run alone on an existing
directory because each one finds its inputs here, under these names and nowhere else:

>>> run = RunDir("out/sample")
>>> run.logs
PosixPath('out/sample/logs.parquet')
>>> run.router / RunDir.ROUTER_CONFIG
PosixPath('out/sample/router/router.json')

No other module spells a file name of a run directory; they ask a :class:`RunDir` for the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable


@dataclass(frozen=True)
class RunDir:
    """Paths of the files of one run directory (``root``)."""

    root: Path

    LOGS: ClassVar[str] = "logs.parquet"
    EMBEDDINGS: ClassVar[str] = "embeddings.parquet"
    CLUSTERS: ClassVar[str] = "clusters.parquet"
    TASK_TYPES: ClassVar[str] = "task_types.parquet"
    TASK_TYPES_CSV: ClassVar[str] = "task_types.csv"
    PLOTS: ClassVar[str] = "plots"
    CALLS_BY_TASK_TYPE: ClassVar[str] = "calls_by_task_type"
    SHADOW_RESULTS: ClassVar[str] = "shadow_results.parquet"
    SHADOW_SUMMARY: ClassVar[str] = "shadow_summary.parquet"
    SHADOW_SUMMARY_CSV: ClassVar[str] = "shadow_summary.csv"
    SUITABILITY: ClassVar[str] = "suitability.parquet"
    SUITABILITY_CSV: ClassVar[str] = "suitability.csv"
    SUITABILITY_INFO: ClassVar[str] = "suitability.json"
    SAVINGS: ClassVar[str] = "savings.parquet"
    SAVINGS_CSV: ClassVar[str] = "savings.csv"
    SAVINGS_OPTIONS: ClassVar[str] = "savings_options.csv"
    SAVINGS_BREAK_EVEN: ClassVar[str] = "savings_break_even.csv"
    SAVINGS_SENSITIVITY: ClassVar[str] = "savings_sensitivity.csv"
    CANDIDATES: ClassVar[str] = "candidates.csv"
    ROUTER: ClassVar[str] = "router"
    RUN_INFO: ClassVar[str] = "run.json"
    REPORT: ClassVar[str] = "report.html"
    LLM_CACHE: ClassVar[str] = "llm_cache.sqlite"
    NAMING_CACHE: ClassVar[str] = "llm_names.sqlite"
    # inside router/
    ROUTER_CONFIG: ClassVar[str] = "router.json"
    ROUTER_HEAD: ClassVar[str] = "head.npz"
    ROUTER_TRAINING: ClassVar[str] = "training.json"
    ROUTER_ENCODER: ClassVar[str] = "encoder"
    ROUTER_STATIC: ClassVar[str] = "static"
    ROUTER_EVALUATION: ClassVar[str] = "evaluation.csv"
    ROUTER_CURVE: ClassVar[str] = "cost_quality.png"
    ROUTER_BENCH: ClassVar[str] = "bench.json"
    ROUTER_BENCH_PLOT: ClassVar[str] = "bench.png"
    #: What ``router train`` writes into its folder (beside the artifact files of :mod:`slmprofile.runtime`).
    ROUTER_TRAIN_FILES: ClassVar[tuple[str, ...]] = (ROUTER_HEAD, ROUTER_TRAINING, ROUTER_EVALUATION, ROUTER_CURVE,
                                                     ROUTER_ENCODER, ROUTER_STATIC)

    #: What a run writes at the top of its directory (files and folders); ``run --overwrite`` replaces these and
    #: nothing else, and a file of the user's at one of these names stops a run before anything is removed.
    RUN_FILES: ClassVar[tuple[str, ...]] = (
        LOGS, EMBEDDINGS, CLUSTERS, TASK_TYPES_CSV, TASK_TYPES, PLOTS, SUITABILITY_CSV, SUITABILITY_INFO, SUITABILITY,
        SHADOW_RESULTS, SAVINGS_CSV, SAVINGS, SAVINGS_OPTIONS, SAVINGS_BREAK_EVEN, SAVINGS_SENSITIVITY, CANDIDATES,
        ROUTER, RUN_INFO, REPORT, CALLS_BY_TASK_TYPE)
    #: What the ``savings`` stage writes.
    SAVINGS_FILES: ClassVar[tuple[str, ...]] = (SAVINGS_CSV, SAVINGS, SAVINGS_OPTIONS, SAVINGS_BREAK_EVEN,
                                                SAVINGS_SENSITIVITY, CANDIDATES)
    #: What the ``suitability`` stage writes (with a shadow run).
    SUITABILITY_FILES: ClassVar[tuple[str, ...]] = (SUITABILITY_CSV, SUITABILITY, SUITABILITY_INFO, SHADOW_RESULTS,
                                                    SHADOW_SUMMARY_CSV, SHADOW_SUMMARY)
    #: What ``router bench`` writes.
    BENCH_FILES: ClassVar[tuple[str, ...]] = (ROUTER_BENCH, ROUTER_BENCH_PLOT)
    #: What the ``task types`` stage writes.
    TASK_TYPE_FILES: ClassVar[tuple[str, ...]] = (CLUSTERS, TASK_TYPES, TASK_TYPES_CSV)

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    def __truediv__(self, name: str) -> Path:
        return self.root / name

    def __fspath__(self) -> str:
        return str(self.root)

    @property
    def logs(self) -> Path:
        return self.root / self.LOGS

    @property
    def embeddings(self) -> Path:
        return self.root / self.EMBEDDINGS

    @property
    def clusters(self) -> Path:
        return self.root / self.CLUSTERS

    @property
    def task_types(self) -> Path:
        return self.root / self.TASK_TYPES

    @property
    def task_types_csv(self) -> Path:
        return self.root / self.TASK_TYPES_CSV

    @property
    def plots(self) -> Path:
        return self.root / self.PLOTS

    def plot(self, name: str) -> Path:
        """``plots/NAME.png``."""
        return self.plots / f"{name}.png"

    @property
    def calls_by_task_type(self) -> Path:
        return self.root / self.CALLS_BY_TASK_TYPE

    @property
    def shadow_results(self) -> Path:
        return self.root / self.SHADOW_RESULTS

    @property
    def suitability(self) -> Path:
        return self.root / self.SUITABILITY

    @property
    def suitability_csv(self) -> Path:
        return self.root / self.SUITABILITY_CSV

    @property
    def suitability_info(self) -> Path:
        return self.root / self.SUITABILITY_INFO

    @property
    def savings(self) -> Path:
        return self.root / self.SAVINGS

    @property
    def savings_csv(self) -> Path:
        return self.root / self.SAVINGS_CSV

    @property
    def router(self) -> Path:
        return self.root / self.ROUTER

    @property
    def router_config(self) -> Path:
        return self.router / self.ROUTER_CONFIG

    @property
    def bench(self) -> Path:
        """The router benchmark: ``router/bench.json`` (where ``run`` and ``router bench`` write it)."""
        return self.router / self.ROUTER_BENCH

    @property
    def run_info(self) -> Path:
        return self.root / self.RUN_INFO

    @property
    def report(self) -> Path:
        return self.root / self.REPORT

    @property
    def llm_cache(self) -> Path:
        return self.root / self.LLM_CACHE

    def read_table(self, name: str, *, skip: Iterable[str] = ()) -> Any:
        """The Parquet file ``name`` of this run as a polars frame (without the columns in ``skip``); a missing
        file is a ``FileNotFoundError`` that says which command writes it."""
        import polars as pl

        path = self.root / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: {_WRITTEN_BY.get(name, 'written by slmprofile run')}")
        skip = set(skip)
        if skip:
            return pl.read_parquet(path, columns=[c for c in pl.read_parquet_schema(path) if c not in skip])
        return pl.read_parquet(path)

    def read_stage_table(self, name: str) -> Any:
        """A later stage's table (:attr:`SUITABILITY`, :attr:`SAVINGS` or :attr:`SAVINGS_OPTIONS`) as a polars frame
        in the columns of its contract in :mod:`slmprofile.schema`; a missing file is ``None``, a file that cannot be
        read or lacks a column of the contract is a :class:`~slmprofile.errors.SlmprofileError` naming the file and
        the columns."""
        import polars as pl

        from .errors import SlmprofileError
        from .schema import SAVINGS_COLUMNS, SAVINGS_OPTION_COLUMNS, SUITABILITY_COLUMNS

        columns = {self.SUITABILITY: SUITABILITY_COLUMNS, self.SAVINGS: SAVINGS_COLUMNS,
                   self.SAVINGS_OPTIONS: SAVINGS_OPTION_COLUMNS}[name]
        path = self.root / name
        if not path.is_file():
            return None
        try:
            frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema_length=None)
        except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the file name
            raise SlmprofileError(f"{path}: cannot be read ({exc})") from exc
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
            raise SlmprofileError(f"{path}: missing column(s) {shown}; this version of slmprofile writes it as "
                                  f"{_WRITTEN_BY.get(name, 'part of `slmprofile run`')}: run that again")
        return frame


#: Which command writes each table, for the message when one is missing.
_WRITTEN_BY = {
    RunDir.LOGS: "the logs of a run (`slmprofile run LOGS --out DIR` or `slmprofile ingest`)",
    RunDir.EMBEDDINGS: "the embeddings of a run (`slmprofile run LOGS --out DIR` or `slmprofile embed`)",
    RunDir.CLUSTERS: "the clusters of a run (`slmprofile run LOGS --out DIR` or `slmprofile cluster`)",
    RunDir.TASK_TYPES: "the task types of a run (`slmprofile run LOGS --out DIR` or `slmprofile cluster`)",
    RunDir.SUITABILITY: "the verdicts of a run (`slmprofile suitability DIR`)",
    RunDir.SAVINGS: "the savings of a run (`slmprofile savings DIR`)",
    RunDir.SAVINGS_OPTIONS: "the savings of a run (`slmprofile savings DIR`)",
}
