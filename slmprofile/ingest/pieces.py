"""Streaming ingestion cut into independent tasks, for an engine that runs them on several workers.

:func:`~slmprofile.ingest.stream.ingest_to_parquet` reads the files one after the other in one process. Here the
same work is cut into tasks that need nothing from one another while they run; what comes back between the rounds
is small (reports, positions, one sample):

1. :func:`parse_file`, a task per file: parse, normalize, price and hash the file's calls into Parquet parts
   ``part-FFFFF-NNNNN.parquet`` (``FFFFF``: the file's index), keeping repeated ids for round 2 (no task holds a
   set of every id). Back: the file's report, its Batch API rows (the coordinator joins them and writes them as the last part,
   as the one-process reader appends them last), the mapped columns it saw.
2. :func:`find_duplicates`, a task per id bucket: the ids of every part whose hash falls in the bucket. A call
   whose id an earlier call (in reading order) already had is dropped and counted where it was read, as the
   one-process reader skips it. Back: the positions to drop
   (few) and the bucket's ids that the outcome tables name.
3. :func:`finish_part`, a task per part: drop those rows; back: the part's bottom-k sample of distinct
   ``(prompt, system prompt)`` pairs (:func:`~slmprofile.ingest.stream.bottom_k_pairs`: the bottom-k of the union
   is the bottom-k of the parts' bottom-k, so the coordinator's merge equals the one-process sample).
4. :func:`label_part`, a task per part: template ids from the lines learnt on that sample, and the outcome columns.

:func:`ingest_in_pieces` runs the rounds through any ``run_tasks(fn, argument tuples, description, progress)`` that
yields ``(index, result)`` as tasks finish (:func:`serial_tasks` here; :meth:`slmprofile.engines.ray_engine.
RayEngine.run_tasks` on a cluster), so the coordinator merges the samples as they come instead of holding them all.
cluster). The calls, the report and the template ids equal ``ingest_to_parquet``'s; only where the parts are cut
differs. The coordinator holds the reports, one sample of at most ``template_sample`` pairs, the duplicate positions
and the outcome tables, never the calls. Every task reads the log files and reads and writes the parts directory:
the workers must see both (one machine, or a shared filesystem).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..errors import IngestError
from .common import DUPLICATE_ID, Skip
from .core import CHUNK_ROWS, resolve_files
from .mapping import parse_mapping
from .report import FileReport, IngestReport
from .stream import TEMPLATE_SAMPLE, StreamingIngestor, StreamResult, bottom_k_pairs

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

logger = logging.getLogger(__name__)

#: Ids one duplicate-check task holds at most (the number of buckets grows with the log).
BUCKET_IDS = 2_000_000
_BATCH_FORMATS = ("openai_batch_input", "openai_batch_output")

#: ``run_tasks(fn, [args, ...], description, progress)`` yields ``(i, fn(*args[i]))`` as each task finishes.
RunTasks = Callable[[Callable[..., Any], list[tuple[Any, ...]], str, bool], Iterable[tuple[int, Any]]]


def serial_tasks(fn: Callable[..., Any], args: list[tuple[Any, ...]], desc: str,
                 progress: bool = False) -> Iterator[tuple[int, Any]]:
    """Run the tasks one after the other, here (a bar per round with ``progress``)."""
    calls: Iterable[tuple[int, tuple[Any, ...]]] = enumerate(args)
    if progress and len(args) > 1:
        from tqdm.auto import tqdm

        calls = tqdm(calls, total=len(args), desc=desc, unit="task")
    for i, call in calls:
        yield i, fn(*call)


def _in_order(results: Iterable[tuple[int, Any]]) -> list[Any]:
    return [value for _, value in sorted(results, key=lambda item: item[0])]


@dataclass
class FilePiece:
    """What parsing one file gives back."""

    index: int
    parts: list[str]
    rows: int  # calls written to the parts
    report: IngestReport
    unseen: dict[str, str]
    columns_of: dict[str, str]
    batch_inputs: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # (custom id, row, location)
    batch_outputs: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (row, location)


def parse_file(index: int, path: str, display: str, directory: str, settings: Mapping[str, Any]) -> FilePiece:
    """Task of round 1: one log file (``path``, absolute; named ``display`` as the user gave it) to Parquet parts
    ``part-{index:05d}-NNNNN.parquet`` under ``directory``."""
    state = StreamingIngestor(directory=Path(directory), estimate=settings["estimate"], template_sample=1,
                              chunk_rows=settings["chunk_rows"], prefix=f"{index:05d}-", sample=False,
                              format=settings["format"], mapping=dict(settings["mapping"]), strict=settings["strict"])
    state.check_ids = False  # every repeated id, in the file or across files, is found in round 2
    if not Path(path).exists():  # the coordinator found it: this worker does not see the coordinator's disk
        import socket

        raise IngestError(f"{path}: not found on {socket.gethostname()}, where this task runs: the workers need the "
                          "log files and the output directory on storage they all see")
    state.read_file(Path(path), display)
    state.flush()
    return FilePiece(index=index, parts=[str(p) for p in state.parts], rows=state.rows_out, report=state.report,
                     unseen=state.unseen, columns_of=state.columns_of,
                     batch_inputs=[(cid, row, loc) for cid, (row, _, loc) in state.batch_inputs.items()],
                     batch_outputs=[(row, loc) for row, _, loc in state.batch_outputs])


def find_duplicates(bucket: int, buckets: int, parts: Sequence[str],
                    wanted: frozenset[str] | None) -> tuple[list[tuple[int, int, str]], list[str]]:
    """Task of round 2: among the ids of ``parts`` whose hash falls in ``bucket`` (of ``buckets``), the ones an
    earlier part already has, as ``(part index, row, id)`` in reading order; and the bucket's ids in ``wanted``."""
    import polars as pl

    scans = [pl.scan_parquet(p).select("id").with_row_index("_row").with_columns(_part=pl.lit(i, dtype=pl.Int32))
             for i, p in enumerate(parts)]
    if not scans:
        return [], []
    ids = pl.concat(scans).filter(pl.col("id").hash(seed=7) % buckets == bucket).collect()
    repeated = (ids.filter(pl.col("id").is_duplicated()).sort("_part", "_row")
                .filter(~pl.col("id").is_first_distinct()))
    drops = [(int(p), int(r), str(i)) for p, r, i in repeated.select("_part", "_row", "id").iter_rows()]
    matched = (ids.filter(pl.col("id").is_in(pl.Series(list(wanted), dtype=pl.Utf8).implode()))["id"].unique().to_list()
               if wanted else [])
    return drops, matched


def finish_part(path: str, drop_rows: Sequence[int], template_sample: int,
                sample: bool) -> tuple[int, list[dict[str, Any]], pl.DataFrame | None]:
    """Task of round 3: drop ``drop_rows`` from the part (removed when nothing is left); back: the rows left, the
    dropped rows (``id``, ``source``, ``format`` and what the report counted for them: ``tokens_estimated``,
    ``cost_estimated``, ``unpriced`` with ``model``) and, with ``sample``, the part's bottom-k sample of prompt
    pairs."""
    import polars as pl

    dropped: list[dict[str, Any]] = []
    if drop_rows:
        frame = pl.read_parquet(path).with_row_index("_row")
        gone = pl.col("_row").is_in(pl.Series(list(drop_rows), dtype=pl.UInt32).implode())
        unpriced = (pl.col("cost_usd").is_null() & pl.col("prompt_tokens").is_not_null()
                    & pl.col("model").is_not_null() & (pl.col("status") == "ok"))
        dropped = frame.filter(gone).select("id", "source", "format", "model", "tokens_estimated", "cost_estimated",
                                            unpriced.fill_null(False).alias("unpriced")).to_dicts()
        frame = frame.filter(~gone).drop("_row")
        if frame.height:
            _replace(frame, path)
        else:
            os.remove(path)
        pairs = frame.select("prompt_text", "system_prompt")
    else:
        pairs = pl.read_parquet(path, columns=["prompt_text", "system_prompt"]) if sample else None
        frame = None
    left = frame.height if frame is not None else pl.scan_parquet(path).select(pl.len()).collect().item()
    return left, dropped, bottom_k_pairs(pairs, template_sample) if sample and pairs is not None and left else None


def label_part(path: str, fixed: pl.DataFrame | None, tables: Sequence[pl.DataFrame],
               targets: Sequence[str]) -> dict[str, bool]:
    """Task of round 4: the part's template ids (from ``fixed``) and outcome columns (``tables``); back: which of
    the mapped ``targets`` have a value in the part."""
    import polars as pl

    from ..templates import template_ids
    from .outcomes import join_outcomes

    frame = pl.read_parquet(path)
    if fixed is not None or tables:
        if fixed is not None:
            frame = frame.with_columns(template_id=template_ids(frame, fixed))
        for table in tables:
            frame = join_outcomes(frame, table)
        _replace(frame, path)
    return {t: bool(frame[t].is_not_null().any()) for t in targets if t in frame.columns}


def _replace(frame: pl.DataFrame, path: str) -> None:
    tmp = f"{path}.tmp"
    frame.write_parquet(tmp)
    os.replace(tmp, path)


def _merge(state: StreamingIngestor, pieces: list[FilePiece]) -> None:
    """The files' reports, mapped-column checks and Batch API rows into the coordinator's ``state`` (file order);
    batch input ids repeated across files are skipped as the one-process reader skips them."""
    report = state.report
    unseen = dict(state.mapping)
    for piece in sorted(pieces, key=lambda p: p.index):
        part = piece.report
        report.files.extend(part.files)
        report.notes.extend(part.notes)
        report.tokens_estimated += part.tokens_estimated
        report.cost_estimated += part.cost_estimated
        report.cost_unknown += part.cost_unknown
        report.unpriced_models.update(part.unpriced_models)
        unseen = {t: p for t, p in unseen.items() if t in piece.unseen}
        for name, columns in piece.columns_of.items():
            state.columns_of.setdefault(name, columns)
        file = part.files[0]
        for cid, row, location in piece.batch_inputs:
            if cid in state.batch_inputs:
                file.rows_kept -= 1
                state.skip(file, location, Skip(DUPLICATE_ID, "custom_id", f"{cid!r} already read"))
                continue
            state.batch_inputs[cid] = (row, file, location)
        state.batch_outputs.extend((row, file, location) for row, location in piece.batch_outputs)
    state.unseen = unseen


def _outcome_ids(sources: list[str | Path], key: str) -> frozenset[str]:
    """The ids the outcome tables name (a table that cannot be read is left to the outcome reader's error)."""
    import polars as pl

    from .outcomes import read_table

    ids: set[str] = set()
    for source in sources:
        path = Path(source)
        if path.is_file():
            table = read_table(path)
            if key in table.columns:
                ids.update(table[key].cast(pl.Utf8).drop_nulls().to_list())
    return frozenset(ids)


def ingest_in_pieces(
    paths: str | Path | Iterable[str | Path],
    directory: str | Path,
    *,
    run_tasks: RunTasks = serial_tasks,
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
    bucket_ids: int = BUCKET_IDS,
) -> StreamResult:
    """:func:`~slmprofile.ingest.stream.ingest_to_parquet` as rounds of independent tasks run by ``run_tasks``
    (see the module notes); ``bucket_ids``: ids per duplicate-check task. Same arguments and result otherwise."""
    import polars as pl

    from ..templates import learn_fixed_segments

    started = time.perf_counter()
    if chunk_rows < 1 or template_sample < 1 or bucket_ids < 1:
        raise ValueError("chunk_rows, template_sample and bucket_ids must be >= 1")
    files = resolve_files(paths, format)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    parsed = parse_mapping(mapping)
    settings = {"format": format, "mapping": parsed, "strict": strict, "estimate": estimate, "chunk_rows": chunk_rows}
    calls = [(i, os.path.abspath(f), str(f), os.path.abspath(directory), settings) for i, f in enumerate(files)]
    pieces: list[FilePiece] = _in_order(run_tasks(parse_file, calls, "ingest", progress))
    # the coordinator: merged reports, then the Batch API rows joined and written as the last part
    state = StreamingIngestor(directory=directory, estimate=estimate, template_sample=template_sample,
                              chunk_rows=chunk_rows, prefix=f"{len(files):05d}-", sample=False, format=format,
                              mapping=parsed, strict=strict)
    _merge(state, pieces)
    state.join_batches()
    state.flush()
    parts = [p for piece in sorted(pieces, key=lambda p: p.index) for p in piece.parts] + [str(p) for p in state.parts]
    owners: list[FileReport | None] = [piece.report.files[0] for piece in sorted(pieces, key=lambda p: p.index)
                                       for _ in piece.parts] + [None] * len(state.parts)
    report = state.report

    sources = [] if outcomes is None else [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes)
    wanted = _outcome_ids(sources, outcomes_key) if sources and parts else None
    rows = sum(piece.rows for piece in pieces) + state.rows_out
    buckets = max(1, -(-rows // bucket_ids))
    found = _in_order(run_tasks(find_duplicates, [(b, buckets, parts, wanted) for b in range(buckets)],
                                "duplicate ids", progress))
    drops = sorted(d for bucket_drops, _ in found for d in bucket_drops)
    known = {i for _, matched in found for i in matched}
    if strict and drops:
        first = drops[0]
        source = pl.read_parquet(parts[first[0]], columns=["source"], n_rows=first[1] + 1)["source"][-1]
        raise IngestError(f"{source}: {Skip(DUPLICATE_ID, 'id', f'{first[2]!r} already read').describe()}")
    by_part: dict[int, list[int]] = {}
    for p, r, _ in drops:
        by_part.setdefault(p, []).append(r)
    # the samples merge as they come (order does not matter to a bottom-k); the rest is small and kept by part
    sample = None
    finished: dict[int, tuple[int, list[dict[str, Any]]]] = {}
    for i, (left, dropped, part_sample) in run_tasks(finish_part, [(p, by_part.get(i, []), template_sample, templates)
                                                                   for i, p in enumerate(parts)],
                                                     "duplicates + sample", progress):
        finished[i] = left, dropped
        if part_sample is not None:
            sample = bottom_k_pairs(part_sample, template_sample, sample)
        del part_sample
    by_name = {f.path: f for f in report.files}
    kept_parts: list[str] = []
    for i, (path, owner) in enumerate(zip(parts, owners)):
        left, dropped = finished[i]
        for row in dropped:  # as if never read: skipped, and out of the counts the parse made for it
            file = owner or by_name[row["source"].rsplit(":", 1)[0]]
            file.rows_kept -= 1
            state.skip(file, row["source"], Skip(DUPLICATE_ID, "custom_id" if row["format"] in _BATCH_FORMATS
                                                 else "id", f"{row['id']!r} already read"))
            report.tokens_estimated -= bool(row["tokens_estimated"])
            report.cost_estimated -= bool(row["cost_estimated"])
            if row["unpriced"]:
                report.cost_unknown -= 1
                report.unpriced_models[row["model"]] -= 1
        if left:
            kept_parts.append(path)

    tables = []
    if sources and kept_parts:
        from .outcomes import read_outcomes

        schema = dict(pl.scan_parquet(kept_parts).collect_schema())
        for source in sources:
            table, outcome_report = read_outcomes(source, known_ids=known, log_schema=schema, key=outcomes_key,
                                                  mapping=state.mapping, strict=strict)
            report.outcomes.append(outcome_report)
            tables.append(table)
    fixed = learn_fixed_segments(sample) if templates and sample is not None else None
    targets = list(state.extra_targets)
    labelled: list[dict[str, bool]] = []
    if fixed is not None or tables or targets:  # else nothing to write or check: no pass over the parts
        labelled = _in_order(run_tasks(label_part, [(p, fixed, tables, targets) for p in kept_parts],
                                       "templates" if not tables else "templates + outcomes", progress))
    result = StreamResult(directory=directory, parts=[Path(p) for p in kept_parts], report=report)
    rows_out = sum(left for left, _ in finished.values())
    if templates and kept_parts:
        report.templates = int(result.scan().select(pl.col("template_id").n_unique()).collect().item())
    empty = [t for t in targets if kept_parts and not any(flags.get(t, False) for flags in labelled)]
    report.unpriced_models = +report.unpriced_models  # models whose calls were all dropped go
    state.finish(empty, rows_out=rows_out, started=started)
    logger.info("ingested %d calls from %d files into %d parts in pieces", rows_out, len(files), len(kept_parts))
    return result
