"""The local engine: the row-parallel stages in this process (redaction of parts in short-lived child processes)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from ..embed import Embedder
    from ..ingest import StreamResult


@dataclass
class LocalEngine:
    """:class:`~slmprofile.engines.Engine` on this machine: what the stages do without an engine."""

    name: str = "local"
    info_: dict[str, Any] = field(default_factory=dict, repr=False)

    def ingest_parts(self, paths: Sequence[str | Path], directory: str | Path, *, progress: bool = False,
                     **options: Any) -> StreamResult:
        """:func:`~slmprofile.ingest.ingest_to_parquet` in a child process, so that what the reader allocates goes
        back to the system before embedding starts."""
        from .. import child
        from ..ingest import ingest_to_parquet

        return child.call(ingest_to_parquet, paths, directory, progress=progress, **options)

    def redact(self, logs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        from ..redact import redact_logs

        return redact_logs(logs)

    def redact_parts(self, parts: Sequence[str | Path], *, progress: bool = False) -> dict[str, int]:
        from ..redact import redact_parts

        return redact_parts([Path(p) for p in parts], progress=progress, workers=os.cpu_count() or 1)

    def embed_prompts(self, logs: pl.DataFrame | pl.LazyFrame, embedder: Embedder) -> pl.DataFrame:
        from ..embed import embed_prompts

        return embed_prompts(logs, embedder=embedder)

    def task_embedder(self, embedder: Embedder) -> Any:
        """The encoder the sampled task types use (the embedder itself: no actor pool here)."""
        return embedder

    def write_calls_by_task_type(self, logs: Any, clusters: Any, directory: str | Path) -> Path | None:
        """Nothing: the local engine keeps calls and task types in ``logs.parquet`` and ``clusters.parquet``."""
        return None
