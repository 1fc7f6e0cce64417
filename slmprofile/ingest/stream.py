"""Streaming ingestion: logs of any size to a directory of Parquet parts, in bounded memory.

:func:`ingest_to_parquet` reads the same formats as :func:`~slmprofile.ingest.ingest`, with the same checks, skips
and report, but never holds the whole log: every ``chunk_rows`` calls become one Parquet part. Three passes:

1. parse, normalize, count tokens, price and hash each chunk, write it as a part (template ids still empty) and
   keep a uniform sample of the distinct ``(prompt, system prompt)`` pairs (the ``template_sample`` with the
   smallest hashes: a bottom-k sketch, so repeats never bias it);
2. learn the fixed template lines from that sample (:func:`slmprofile.templates.learn_fixed_segments`);
3. give every part its ``template_id`` (:func:`slmprofile.templates.template_ids`), part by part.

Memory is one chunk, the sample, and the set of call ids already seen (for duplicate detection). When the log has
at most ``template_sample`` distinct prompts the sample is all of them and the template ids equal
:func:`~slmprofile.ingest.ingest`'s. ``result.scan()`` is a polars ``LazyFrame`` over the parts for the stages
after ingestion.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import IngestError
from .core import CHUNK_ROWS, rows_frame, Ingestor, finalize, read_all, resolve_files
from .mapping import parse_mapping
from .report import IngestReport

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

logger = logging.getLogger(__name__)

#: Distinct prompts the template lines are learnt from.
TEMPLATE_SAMPLE = 200_000
PART_GLOB = "part-*.parquet"


@dataclass
class StreamResult:
    """Where the parts went and the report of how the logs were read."""

    directory: Path
    parts: list[Path]
    report: IngestReport

    def scan(self) -> pl.LazyFrame:
        """All calls, lazily (``polars.scan_parquet`` over the parts)."""
        import polars as pl

        return pl.scan_parquet([str(p) for p in self.parts]) if self.parts else pl.LazyFrame()


class StreamingIngestor(Ingestor):
    """An :class:`Ingestor` whose ``flush`` writes each chunk to disk instead of keeping it."""

    def __init__(self, *, directory: Path, estimate: bool, template_sample: int, chunk_rows: int,
                 prefix: str = "", sample: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = directory
        self.estimate = estimate
        self.template_sample = template_sample
        self.chunk_rows = chunk_rows
        #: part names are ``part-{prefix}{n:05d}.parquet``; ``sample``: keep the bottom-k sample of prompt pairs
        self.prefix = prefix
        self.keep_sample = sample
        self.parts: list[Path] = []
        self.sample: pl.DataFrame | None = None
        self.rows_out = 0

    def keep(self, row: dict[str, Any], file: Any, location: str, fmt: str) -> None:
        super().keep(row, file, location, fmt)
        if len(self.rows) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:

        if not self.rows:
            return
        frame = finalize(rows_frame(self.rows, self.extra_targets), self.report, estimate=self.estimate,
                         templates=False)
        self.rows = []
        if self.keep_sample:
            self.sample = bottom_k_pairs(frame, self.template_sample, self.sample)
        path = self.directory / f"part-{self.prefix}{len(self.parts):05d}.parquet"
        if path.exists():  # never replace a file that may be the user's (or one of this very call's inputs)
            raise IngestError(f"{path}: already exists; write the parts to a new or empty directory")
        frame.write_parquet(path)
        self.parts.append(path)
        self.rows_out += frame.height


def bottom_k_pairs(frame: pl.DataFrame, k: int, sample: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ``k`` distinct ``(prompt_text, system_prompt)`` pairs of ``frame`` and ``sample`` with the smallest hashes
    (columns ``prompt_text``, ``system_prompt``, ``_k``): a uniform sample that repeats never bias, and the bottom-k
    of a union is the bottom-k of the parts' bottom-k, so samples of separate parts merge exactly."""
    import polars as pl

    pairs = (frame if "_k" in frame.columns else frame.select(
        "prompt_text", "system_prompt", pl.struct("prompt_text", "system_prompt").hash(seed=11).alias("_k")))
    merged = pairs if sample is None else pl.concat([sample, pairs])
    kept = merged.unique("_k").sort("_k").head(k)
    # polars strings are views into shared buffers: a sorted, sliced sample would keep every earlier chunk's
    # text alive (memory then grows with the log). A round trip through Arrow copies just the kept strings.
    return pl.from_arrow(kept.to_arrow())


def ingest_to_parquet(
    paths: str | Path | Iterable[str | Path],
    directory: str | Path,
    *,
    format: str | None = None,
    mapping: str | Mapping[str, str] | None = None,
    strict: bool = False,
    estimate: bool = True,
    templates: bool = True,
    progress: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    template_sample: int = TEMPLATE_SAMPLE,
    outcomes: str | Path | Iterable[str | Path] | None = None,
    outcomes_key: str = "id",
) -> StreamResult:
    """Read LLM call logs into Parquet parts under ``directory`` (``part-00000.parquet``, ...), in bounded memory.

    Arguments as for :func:`~slmprofile.ingest.ingest`; ``chunk_rows`` calls per part; ``template_sample``
    distinct prompts to learn templates from. Outcome tables are checked once against the ids of all parts (the
    same report as the in-memory reader's) and joined part by part in the template pass. Nothing in ``directory`` is
    removed or replaced: a part name that is taken stops the call (the CLI claims a new or empty directory through
    :func:`slmprofile.outputs.claim_dir`).
    """
    import polars as pl

    from ..templates import learn_fixed_segments, template_ids

    started = time.perf_counter()
    if chunk_rows < 1 or template_sample < 1:
        raise ValueError("chunk_rows and template_sample must be >= 1")
    files = resolve_files(paths, format)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = StreamingIngestor(directory=directory, estimate=estimate, template_sample=template_sample,
                               chunk_rows=chunk_rows, format=format, mapping=parse_mapping(mapping), strict=strict)
    read_all(state, files, progress=progress)
    report = state.report
    state.seen_ids = set()
    state.batch_inputs = {}
    tables = []
    if outcomes is not None and state.parts:
        from .outcomes import read_outcomes

        scan = pl.scan_parquet([str(p) for p in state.parts])
        known = set(scan.select("id").collect()["id"].to_list())
        schema = dict(scan.collect_schema())
        for source in [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes):
            table, outcome_report = read_outcomes(source, known_ids=known, log_schema=schema, key=outcomes_key,
                                                  mapping=state.mapping, strict=strict)
            report.outcomes.append(outcome_report)
            tables.append(table)
        del known
    fixed = learn_fixed_segments(state.sample) if templates and state.sample is not None else None
    if fixed is not None or tables:
        from .outcomes import join_outcomes

        parts: Iterable[Path] = state.parts
        if progress and len(state.parts) > 1:
            from tqdm.auto import tqdm

            parts = tqdm(state.parts, desc="templates" if not tables else "templates + outcomes", unit="part")
        for part in parts:
            frame = pl.read_parquet(part)
            if fixed is not None:
                frame = frame.with_columns(template_id=template_ids(frame, fixed))
            for table in tables:
                frame = join_outcomes(frame, table)
            frame.write_parquet(part)
    result = StreamResult(directory=directory, parts=list(state.parts), report=report)
    if templates and state.parts:
        report.templates = int(result.scan().select(pl.col("template_id").n_unique()).collect().item())
    empty = [t for t in state.extra_targets
             if state.parts and result.scan().select(pl.col(t).is_not_null().any()).collect().item() is False]
    state.finish(empty, rows_out=state.rows_out, started=started)
    logger.info("ingested %d calls from %d files into %d parts", state.rows_out, len(files), len(state.parts))
    return result


def concat_parts(parts: list[str], path: str, *, row_group_size: int = 20_000) -> None:
    """One Parquet file from the parts, streamed (small row groups keep later streaming scans small too)."""
    import polars as pl

    pl.scan_parquet(parts).sink_parquet(path, row_group_size=row_group_size)
