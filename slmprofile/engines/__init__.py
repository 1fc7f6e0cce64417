"""Execution engines for :func:`slmprofile.pipeline.run`: where the row-parallel work of a stage runs.

An engine is any object with the methods of :class:`Engine`; :func:`make_engine` builds one from its name
(``"local"``: this process, :class:`~slmprofile.engines.local.LocalEngine`; ``"ray"``: a Ray cluster,
:class:`~slmprofile.engines.ray_engine.RayEngine`, extra ``scale``) or passes an object through. The stages decide
what is done; the engine only where.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from .local import LocalEngine

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from ..ingest import StreamResult

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "Engine", "LocalEngine", "make_engine"]


class Engine(Protocol):
    """What a stage asks of an engine."""

    name: str
    info_: dict[str, Any]

    def ingest_parts(self, paths: Sequence[str | Path], directory: str | Path, *, progress: bool = False,  # noqa: D102
                     **options: Any) -> StreamResult: ...

    def redact(self, logs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]: ...  # noqa: D102

    def redact_parts(self, parts: Sequence[str | Path], *, progress: bool = False) -> dict[str, int]: ...  # noqa: D102

    def embed_prompts(self, logs: Any, embedder: Any) -> pl.DataFrame: ...  # noqa: D102

    def task_embedder(self, embedder: Any) -> Any: ...  # noqa: D102

    def write_calls_by_task_type(self, logs: Any, clusters: Any, directory: str | Path) -> Path | None: ...  # noqa: D102


def make_engine(engine: str | Engine = "local", *, address: str | None = None) -> Engine:
    """The engine named ``engine`` (``address``: the Ray cluster's, for ``"ray"``), or ``engine`` itself."""
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        return LocalEngine()
    if engine == "ray":
        from .ray_engine import RayEngine

        return RayEngine(address=address)
    raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)} or pass an engine object")
