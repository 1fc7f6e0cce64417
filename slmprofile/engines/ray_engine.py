"""The Ray engine: the row-parallel stages of :func:`slmprofile.pipeline.run` as Ray Data pipelines.

What runs where:

- on the cluster, as Ray Data ``map_batches``: redaction (a task per block of calls), embedding (a pool of
  embedding actors, one model each, on GPUs when the cluster has them) and the assignment of every call to its task
  type, written as Parquet partitioned by task type (``calls_by_task_type/task_type=.../``);
- on the driver: the distinct-prompt table, fitting task types on at most 50k prompts, suitability, savings and the
  router. These work on samples or per-task-type tables, whose size does not grow with the number of calls.

With ``run(..., stream=True)`` the calls never sit in the driver's memory. The log files are parsed on the workers
(:meth:`RayEngine.ingest_parts`: the rounds of :mod:`slmprofile.ingest.pieces` as Ray tasks, a task per file, per id
bucket, per part; the driver merges reports, the duplicate positions and one bottom-k sample of prompts) and the
workers redact the parts in place (:meth:`RayEngine.redact_parts`). That needs the log files and the run directory
on storage every node sees (one machine, or a shared filesystem); a probe task checks it first, and where the workers
do not see them the driver parses the logs (in a child process) and the parts travel to the redaction tasks through
the object store (``run.json``: ``engine.parse``). Ray tasks rather than Ray Data readers: the readers would lose
the per-line skip report and the cross-file duplicate check. The sampled task types send every large batch of
prompts to the actor pool (:class:`RayEmbedder`) and ``calls_by_task_type/`` is written from slices of
``logs.parquet``; the fit and the lazy statistics stay on the driver.

Outputs equal the local engine's, with and without ``stream`` (tested on the sample with
``ray.init(num_cpus=2)``): the same files, the same task types and counts. Import of this module does not import Ray; :class:`RayEngine` starts or joins a cluster on
first use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..errors import SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from ..embed import Embedder
    from ..ingest import StreamResult

logger = logging.getLogger(__name__)

#: Calls per Ray Data block for redaction and assignment.
BLOCK_ROWS = 2_000
#: Distinct prompts per embedding batch sent to one actor (the local engine's cache block).
EMBED_BATCH = 2_048
_COUNTS = "_slmprofile_redactions"


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise SlmprofileError("the Ray engine needs the 'scale' extra: pip install 'slmprofile[scale]'") from exc
    return ray


def _redact_batch(batch: Any) -> Any:
    """Ray Data UDF: redact one block of calls (pyarrow in, pyarrow out); the block's counts ride in one column."""
    import polars as pl

    from ..redact import redact_logs

    frame, counts = redact_logs(pl.from_arrow(batch))
    marker = [json.dumps(counts)] + [None] * (frame.height - 1)
    return frame.with_columns(pl.Series(_COUNTS, marker, dtype=pl.Utf8)).to_arrow()


def _visible(paths: list[str]) -> list[str]:
    """Ray task: those of ``paths`` this worker cannot see."""
    import os

    return [p for p in paths if not os.path.exists(p)]


def _redact_table(table: Any) -> tuple[Any, dict[str, int]]:
    """Ray task: one redacted Parquet part (pyarrow in, pyarrow and the part's counts out)."""
    import polars as pl

    from ..redact import redact_logs

    frame, counts = redact_logs(pl.from_arrow(table))
    return frame.to_arrow(), counts


class RayEmbedder:
    """An :class:`~slmprofile.embed.Embedder` whose large :meth:`encode` calls run on the engine's actor pool;
    calls smaller than ``min_texts`` (archetype descriptions, a probe) stay local. Anything else is the wrapped
    embedder's."""

    def __init__(self, engine: RayEngine, embedder: Embedder, *, min_texts: int | None = None) -> None:
        self.engine = engine
        self.embedder = embedder
        self.min_texts = engine.min_remote_texts if min_texts is None else min_texts

    def encode(self, texts: Sequence[str]) -> Any:
        texts = ["" if t is None else str(t) for t in texts]
        if len(texts) < self.min_texts:
            return self.embedder.encode(texts)
        return self.engine.encode(texts, self.embedder)

    def __getattr__(self, name: str) -> Any:
        if name == "embedder":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self.embedder, name)


class _EmbedActor:
    """Ray Data actor: one loaded :class:`~slmprofile.embed.Embedder` that embeds batches of ``idx, text``."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from ..embed import Embedder

        self.embedder = Embedder(**settings)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        vectors = self.embedder.encode(batch.column("text").to_pylist())
        flat = pa.array(vectors.reshape(-1))
        return pa.table({"idx": batch.column("idx"),
                         "embedding": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
                         "backend": pa.array([self.embedder.info()["backend"]] * len(vectors))})


def _assign_batch(batch: Any, labels: Any) -> Any:
    """Ray Data UDF: task type, family and flags of each call from its prompt's (a broadcast table)."""
    import polars as pl

    calls = pl.from_arrow(batch)
    return calls.join(labels, on="prompt_hash", how="left").to_arrow()


@dataclass
class RayEngine:
    """Run the row-parallel stages on Ray.

    Args:
        address: a running cluster (``ray://host:10001`` or ``auto``); ``None`` starts a local instance.
        num_cpus: CPUs of the local instance (ignored with ``address``).
        embed_actors: embedding actors; default one per GPU when the cluster has GPUs, else one per 2 CPUs.
        block_rows: calls per block for redaction and assignment.
        max_in_flight: Parquet parts out on the cluster at once when redacting a streamed ingest.
        min_remote_texts: with ``stream=True``, batches of fewer texts are embedded on the driver (no actor pool).
        parse_on_workers: with ``stream=True``, parse the logs and redact the parts on the workers when a probe finds
            that they see the files (``False``: always on the driver).
    """

    address: str | None = None
    num_cpus: int | None = None
    embed_actors: int | None = None
    block_rows: int = BLOCK_ROWS
    max_in_flight: int = 8
    min_remote_texts: int = EMBED_BATCH
    parse_on_workers: bool = True
    info_: dict[str, Any] = field(default_factory=dict, repr=False)
    name: str = field(default="ray", init=False)

    def start(self) -> Any:
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"ignore_reinit_error": True, "include_dashboard": False,
                                      "log_to_driver": False, "configure_logging": False}
            if self.address:
                kwargs["address"] = self.address
            elif self.num_cpus:
                kwargs["num_cpus"] = self.num_cpus
            ray.init(**kwargs)
            ray.data.DataContext.get_current().enable_progress_bars = False
        resources = ray.cluster_resources()
        self.info_.update({"address": self.address or "local", "cpus": float(resources.get("CPU", 0)),
                           "gpus": float(resources.get("GPU", 0)), "ray": ray.__version__})
        return ray

    def _dataset(self, frame: pl.DataFrame) -> Any:
        ray = self.start()
        blocks = max(1, -(-frame.height // self.block_rows))
        return ray.data.from_arrow(frame.to_arrow(), override_num_blocks=blocks)

    def run_tasks(self, fn: Callable[..., Any], args: list[tuple[Any, ...]], desc: str,
                  progress: bool = False) -> Iterator[tuple[int, Any]]:
        """``fn(*args[i])`` as Ray tasks of one CPU each, yielded as ``(i, result)`` as they finish; at most
        ``max_in_flight`` (or two per CPU) out at once, so the driver never holds more results than that. An
        argument object shared by several tasks goes to the object store once. A task's own error (a one-line
        :class:`~slmprofile.errors.SlmprofileError`) is raised here as itself; the other tasks are cancelled."""
        ray = self.start()
        if not args:
            return
        task = ray.remote(num_cpus=1, max_retries=0)(fn)
        stored: dict[int, Any] = {}

        def share(value: Any) -> Any:
            if value is None or isinstance(value, (str, int, float, bool)):
                return value
            if id(value) not in stored:
                stored[id(value)] = ray.put(value)
            return stored[id(value)]

        limit = max(self.max_in_flight, 2 * int(self.info_.get("cpus", 1)))
        todo = list(enumerate(args))
        todo.reverse()  # popped from the end: first task first
        pending: dict[Any, int] = {}
        bar = None
        if progress and len(args) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(args), desc=f"{desc} (ray)", unit="task")
        try:
            while todo or pending:
                while todo and len(pending) < limit:
                    index, call = todo.pop()
                    pending[task.remote(*[share(a) for a in call])] = index
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    index = pending.pop(ref)
                    try:
                        value = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        if isinstance(cause, SlmprofileError):
                            raise cause from None
                        raise
                    if bar is not None:
                        bar.update(1)
                    yield index, value
                    del value
        finally:
            for ref in pending:
                ray.cancel(ref)
            if bar is not None:
                bar.close()

    def workers_see(self, paths: Sequence[str | Path]) -> bool:
        """Whether a worker task sees ``paths`` (the logs and the run directory); ``info_["parse"]`` says where the
        logs will be parsed and why."""
        import os

        if not self.parse_on_workers:
            self.info_["parse"] = "driver (parse_on_workers=False)"
            return False
        ray = self.start()
        missing = ray.get(ray.remote(num_cpus=0.1)(_visible).remote([os.path.abspath(p) for p in paths]))
        self.info_["parse"] = "workers" if not missing else f"driver (the workers do not see {missing[0]})"
        return not missing

    # ------------------------------------------------------------------ stages
    def ingest_parts(self, paths: Sequence[str | Path], directory: str | Path, *, progress: bool = False,
                     **options: Any) -> StreamResult:
        """The logs to Parquet parts under ``directory``: parsed on the workers when they see the files
        (:func:`slmprofile.ingest.pieces.ingest_in_pieces` with :meth:`run_tasks`), else on the driver in a child
        process. Same parts' calls and report either way."""
        from .local import LocalEngine

        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        Path(directory).mkdir(parents=True, exist_ok=True)
        if not self.workers_see([*paths, directory]):
            options.pop("bucket_ids", None)  # a setting of the task rounds only
            return LocalEngine().ingest_parts(paths, directory, progress=progress, **options)
        from ..ingest.pieces import ingest_in_pieces

        return ingest_in_pieces(paths, directory, run_tasks=self.run_tasks, progress=progress, **options)

    def redact(self, logs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        """:func:`slmprofile.redact.redact_logs` block by block on the cluster; same frame (row order kept)."""
        import polars as pl

        if logs.height == 0:
            from ..redact import redact_logs

            return redact_logs(logs)
        ds = self._dataset(logs.with_row_index("_row")).map_batches(_redact_batch, batch_format="pyarrow",
                                                                    batch_size=None)
        out = pl.concat([pl.from_arrow(t) for t in _tables(ds)], how="vertical_relaxed")
        totals: dict[str, int] = {}
        for blob in out[_COUNTS].drop_nulls().to_list():
            for kind, n in json.loads(blob).items():
                totals[kind] = totals.get(kind, 0) + int(n)
        out = out.sort("_row").drop("_row", _COUNTS)
        return out.select(logs.columns), totals

    def encode(self, texts: list[str], embedder: Embedder) -> Any:
        """``embedder.encode(texts)`` done by a pool of embedding actors (one model each; one per GPU when the
        cluster has GPUs): float32 ``(len(texts), dim)`` in the order of ``texts``."""
        import numpy as np
        import polars as pl

        ray = self.start()
        settings = {k: getattr(embedder, k) for k in ("model", "device", "batch_size", "cache_dir", "long_text",
                                                     "normalize", "backend")}
        settings["progress"] = False
        gpus = int(self.info_.get("gpus", 0))
        actors = self.embed_actors or (gpus if gpus else max(1, int(self.info_.get("cpus", 1)) // 2))
        remote: dict[str, Any] = {"num_gpus": 1} if gpus else {"num_cpus": max(1, int(self.info_["cpus"]) // actors)}
        if gpus and settings["device"] == "auto":
            settings["device"] = "cuda"
        dim = embedder.info()["dim"]  # the driver's embedder describes the model in run.json
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        frame = pl.DataFrame({"idx": pl.int_range(len(texts), eager=True, dtype=pl.Int64),
                              "text": pl.Series(texts, dtype=pl.Utf8)})
        ds = ray.data.from_arrow(frame.to_arrow(), override_num_blocks=max(1, -(-frame.height // EMBED_BATCH)))
        ds = ds.map_batches(_EmbedActor, fn_constructor_args=(settings,), batch_size=EMBED_BATCH,
                            batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=actors), **remote)
        got = pl.concat([pl.from_arrow(t) for t in _tables(ds)]).sort("idx")
        if got.height != frame.height:
            raise SlmprofileError(f"Ray embedding returned {got.height} vectors for {frame.height} texts")
        self.info_["embed_actors"] = actors
        self.info_["embed_backend"] = sorted(set(self.info_.get("embed_backend", [])) | set(got["backend"].to_list()))
        return got["embedding"].cast(pl.Array(pl.Float32, dim)).to_numpy()

    def embed_prompts(self, logs: pl.DataFrame, embedder: Embedder) -> pl.DataFrame:
        """:func:`slmprofile.embed.embed_prompts` with the encoding done by a pool of embedding actors."""
        import polars as pl

        from ..embed import distinct_prompts

        distinct = distinct_prompts(logs)
        vectors = self.encode(distinct["text"].to_list(), embedder)
        return distinct.select("prompt_hash", pl.col("n_calls").cast(pl.Int64), "template_id").with_columns(
            pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1])))

    def task_embedder(self, embedder: Embedder) -> RayEmbedder:
        """The encoder the sampled task types use: large batches go to the actor pool (:class:`RayEmbedder`)."""
        return RayEmbedder(self, embedder)

    def redact_parts(self, parts: Sequence[str | Path], *, progress: bool = False) -> dict[str, int]:
        """:func:`slmprofile.redact.redact_parts` on the cluster. Where the workers parsed the logs they redact the
        parts in place; otherwise each part travels to a task through the object store (workers need not see the
        driver's disk) and is written back here, at most ``max_in_flight`` parts out at once, so the driver holds a
        bounded number of parts."""
        import os

        import polars as pl

        if self.info_.get("parse") == "workers":  # the workers see the parts: each redacts its part in place
            from ..redact import redact_part

            summed: dict[str, int] = {}
            for _, counts in self.run_tasks(redact_part, [(str(p),) for p in parts], "redact", progress):
                for kind, n in counts.items():
                    summed[kind] = summed.get(kind, 0) + int(n)
            return summed
        ray = self.start()
        task = ray.remote(_redact_table)
        todo = [Path(p) for p in parts]
        pending: dict[Any, Path] = {}
        totals: dict[str, int] = {}
        bar = None
        if progress and len(todo) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc="redact (ray)", unit="part")
        while todo or pending:
            while todo and len(pending) < self.max_in_flight:
                part = todo.pop(0)
                pending[task.remote(pl.read_parquet(part).to_arrow())] = part
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                part = pending.pop(ref)
                table, counts = ray.get(ref)
                tmp = Path(str(part) + ".tmp")
                pl.from_arrow(table).write_parquet(tmp)
                os.replace(tmp, part)
                for kind, n in counts.items():
                    totals[kind] = totals.get(kind, 0) + int(n)
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        return totals

    def write_calls_by_task_type(self, logs: pl.DataFrame | pl.LazyFrame, clusters: pl.DataFrame,
                                 directory: str | Path) -> Path:
        """Every call with its task type, as Parquet partitioned by task type (``task_type=<name>/``).

        A ``LazyFrame`` (the streamed run's ``logs.parquet``) goes to the cluster in slices of the call columns,
        so the driver never holds them all."""
        import polars as pl

        ray = self.start()
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):  # never delete what may be the user's
            from ..errors import OutputError

            raise OutputError(f"{directory}: not empty; the calls by task type go to a new or empty directory")
        lazy = logs.lazy()
        labels = (lazy.select("id", "prompt_hash").join(clusters.lazy(), on="id", how="left", maintain_order="left")
                  .drop("id").unique("prompt_hash", keep="first", maintain_order=True).collect())
        calls = lazy.select("id", "timestamp", "model", "prompt_tokens", "completion_tokens", "cost_usd",
                            "latency_ms", "status", "prompt_hash")
        total = calls.select(pl.len()).collect().item()
        if isinstance(logs, pl.DataFrame):
            ds = self._dataset(logs.select(calls.collect_schema().names()))
        else:
            step = 50 * self.block_rows
            refs = [ray.put(calls.slice(start, step).collect().to_arrow()) for start in range(0, total, step)]
            ds = ray.data.from_arrow_refs(refs)
        ds = ds.map_batches(_assign_batch, fn_args=(labels,), batch_format="pyarrow", batch_size=None)
        ds.write_parquet(str(directory), partition_cols=["task_type"])
        written = pl.scan_parquet(str(directory / "**" / "*.parquet"), hive_partitioning=True).select(pl.len())
        if written.collect().item() != total:
            raise SlmprofileError(f"{directory}: the partitioned calls do not add up to {total}")
        return directory

    def stop(self) -> None:
        ray = _import_ray()
        if ray.is_initialized() and not self.address:
            ray.shutdown()


def _tables(ds: Any) -> list[Any]:
    """The blocks of a Ray dataset as pyarrow tables, in order."""
    import ray

    return ray.get(ds.to_arrow_refs())
