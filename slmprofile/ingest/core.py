"""The ingestion driver: files -> detected reader -> normalized rows -> one polars frame + an IngestReport."""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..errors import IngestError
from ..schema import core_schema, outcome_dtype
from .common import (
    DAMAGED_FILE,
    DUPLICATE_ID,
    EMPTY_PROMPT,
    TOO_DEEP,
    UNMATCHED_BATCH_OUTPUT,
    WRONG_TYPE,
    Skip,
    collect_invalid_values,
    get_path,
)
from .formats import DETECTION_ORDER, FORMATS, TABLE_FIELDS, LogFormat, Table, get_format
from .mapping import coerce, parse_mapping
from .report import FileReport, IngestReport
from .sources import expand_paths, iter_records

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

logger = logging.getLogger(__name__)

DETECT_SAMPLE = 50
CHUNK_ROWS = 50_000


@dataclass
class IngestResult:
    """The normalized calls and the report of how they were read."""

    frame: pl.DataFrame
    report: IngestReport

    def write_parquet(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frame.write_parquet(path)
        return path


def _parse(reader: LogFormat, record: Mapping[str, Any]) -> dict[str, Any]:
    """``reader.parse(record)``; a record whose shape the reader did not foresee (a string where an object belongs,
    JSON nested too deep to re-encode) is a counted skip, never the end of the file."""
    try:
        return reader.parse(record)
    except Skip:
        raise
    except RecursionError:
        raise Skip(TOO_DEEP, None, "a value is nested too deeply to process") from None
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise Skip(WRONG_TYPE, None, f"unexpected record shape ({type(exc).__name__}: {exc})") from None


def _column_list(record: Mapping[str, Any], limit: int = 12) -> str:
    """``a, b, c, ... (20 in all)``: a few column names of ``record`` for messages."""
    names = sorted(map(str, record))
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _count_unread(file: FileReport, items: Iterable[tuple[int, Any]]) -> None:
    """Count every item of a file no reader takes: undecodable lines under their own reason, records as
    ``unknown_format``."""
    for line, item in items:
        file.rows_read += 1
        if isinstance(item, Skip):
            file.skip(item.reason, f"{file.path}:{line} {item.where()}".rstrip())
        else:
            file.skip("unknown_format", f"{file.path}:{line}")


def _detect(records: list[tuple[int, Any]], mapping: Mapping[str, str]) -> LogFormat | None:
    objects = [r for _, r in records if isinstance(r, dict)]
    for name in DETECTION_ORDER:
        if name == "chat_transcript" and "prompt" in mapping:
            continue  # a table with a messages column, mapped by its user: read as a table
        reader = Table(mapping) if name == "table" else FORMATS[name]()
        if any(reader.detect(obj) for obj in objects[:DETECT_SAMPLE]):
            return reader
    return None


class Ingestor:
    """Mutable state of one ``ingest`` call (kept private; the public API is :func:`ingest`)."""

    def __init__(self, *, format: str | None, mapping: dict[str, str], strict: bool) -> None:
        self.format = format
        self.mapping = mapping
        self.extra_targets = [t for t in mapping if t not in TABLE_FIELDS]
        self.strict = strict
        self.report = IngestReport()
        self.seen_ids: set[str] = set()
        #: skip ids already read (off where another pass finds repeated ids: :mod:`slmprofile.ingest.pieces`)
        self.check_ids = True
        self.rows: list[dict[str, Any]] = []
        self.frames: list[pl.DataFrame] = []
        self.batch_inputs: dict[str, tuple[dict[str, Any], FileReport, str]] = {}
        self.batch_outputs: list[tuple[dict[str, Any], FileReport, str]] = []
        #: mapped targets whose column no record read so far has, and each file's first columns (for the note)
        self.unseen: dict[str, str] = dict(mapping)
        self.columns_of: dict[str, str] = {}

    # -- skips
    def skip(self, file: FileReport, location: str, skip: Skip) -> None:
        if self.strict:
            raise IngestError(f"{location}: {skip.describe()}")
        file.skip(skip.reason, f"{location} {skip.where()}".rstrip())

    def nulled(self, file: FileReport, location: str, problems: list[Skip]) -> None:
        """Count the invalid values of one kept row (their fields are already null); strict: raise the first."""
        for problem in problems:
            if self.strict:
                raise IngestError(f"{location}: {problem.describe()}")
            file.null(problem.reason, f"{location} {problem.where()}")

    # -- files
    def read_file(self, path: Path, display: str | None = None) -> None:
        """Read one file (``display``: its name in the report and in ``source``; default ``str(path)``)."""
        display = str(path) if display is None else display
        file = FileReport(path=display)
        self.report.files.append(file)
        if not path.exists():
            raise IngestError(f"{display}: no such file")
        if path.stat().st_size == 0:
            file.problem = "empty file"
            if self.strict:
                raise IngestError(f"{display}: empty file")
            return
        records = iter_records(path)
        try:
            head = list(itertools.islice(records, DETECT_SAMPLE))
        except OSError as exc:  # opening failed (reading errors part way are damaged_file skips)
            raise IngestError(f"{display}: cannot read the file ({exc.strerror or exc})") from None
        if not head:
            file.problem = "no records (only blank lines or a header)"
            if self.strict:
                raise IngestError(f"{display}: {file.problem}")
            return
        if not any(isinstance(item, dict) for _, item in head):
            self.not_a_log_file(file, head, records)
            return
        if self.format:
            reader = Table(self.mapping) if self.format == "table" else get_format(self.format)
            file.detected_by = "--format"
        else:
            reader = _detect(head, self.mapping)
            file.detected_by = "auto"
        if reader is None:
            self.unknown_format(file, head, records)
            return
        file.format = reader.name
        if isinstance(reader, Table) and "prompt" not in self.mapping:
            guessed = next((Table.prompt_column(r) for _, r in head if isinstance(r, dict)), None)
            self.report.notes.append(f"{display}: prompt column guessed as {guessed!r} (set --map prompt=COLUMN)")
        with collect_invalid_values() as problems:
            for line, item in itertools.chain(head, records):
                file.rows_read += 1
                location = f"{display}:{line}"
                if isinstance(item, Skip):
                    self.skip(file, location, item)
                    if item.reason == DAMAGED_FILE:
                        file.problem = f"damaged file at line {line}: {item.detail}"
                    continue
                if self.unseen:
                    self.mark_seen(item, display)
                problems.clear()
                try:
                    row = _parse(reader, item)
                    self.apply_mapping(row, item, reader)
                except Skip as skip:
                    self.skip(file, location, skip)
                    continue
                if problems:
                    self.nulled(file, location, problems)
                row["source"] = location
                row["format"] = reader.name
                self.keep(row, file, location, reader.name)

    def not_a_log_file(self, file: FileReport, head: list[tuple[int, Any]],
                       records: Iterable[tuple[int, Any]]) -> None:
        """No record among the first ones decodes (binary data, a cut-off JSON document, a damaged gzip): the file
        problem names the first line's cause, every line is counted under its own reason; strict raises that."""
        line, first = head[0]
        cause = f"{file.path}:{line}: {first.describe()}"
        if self.strict:
            raise IngestError(f"not a log file: {cause}")
        file.problem = (f"not a log file: none of the first {len(head)} lines/items is a JSON object or table row "
                        f"(first: {cause})")
        _count_unread(file, itertools.chain(head, records))

    def unknown_format(self, file: FileReport, head: list[tuple[int, Any]],
                       records: Iterable[tuple[int, Any]]) -> None:
        """No reader recognises the records: the problem lists the first record's columns (and, for a
        ``--map prompt=COLUMN`` naming no column, says so); strict raises it."""
        objects = [r for _, r in head if isinstance(r, dict)]
        keys = sorted(objects[0])[:10]
        prompt = self.mapping.get("prompt")
        if prompt is not None and all(get_path(r, prompt) is None for r in objects):
            msg = (f"column {prompt!r} (--map prompt={prompt}) is not in {file.path}; "
                   f"its columns: {_column_list(objects[0])}")
        else:
            msg = (f"could not detect the log format (first record's keys: {keys}); pass --format, one of: "
                   f"{', '.join(sorted(FORMATS))}" + ("" if prompt else " (table needs --map prompt=COLUMN)"))
        if self.strict:
            raise IngestError(f"{file.path}: {msg}")
        file.problem = "unknown format: " + msg
        _count_unread(file, itertools.chain(head, records))

    def mark_seen(self, record: Mapping[str, Any], display: str) -> None:
        """Note which mapped columns ``record`` has (a mapping whose column no record has is reported)."""
        self.columns_of.setdefault(display, _column_list(record))
        for target, path in list(self.unseen.items()):
            if get_path(record, path) is not None:
                del self.unseen[target]

    def apply_mapping(self, row: dict[str, Any], record: Mapping[str, Any], reader: LogFormat) -> None:
        for target, path in self.mapping.items():
            if isinstance(reader, Table) and target in TABLE_FIELDS:
                continue
            value = get_path(record, path)
            column = TABLE_FIELDS.get(target, target)
            if column == "messages":
                continue
            coerced = coerce(target, value, path)
            if column in TABLE_FIELDS.values() and coerced is None:
                continue  # an override never blanks what the reader found
            row[column] = coerced

    def keep(self, row: dict[str, Any], file: FileReport, location: str, fmt: str) -> None:
        if fmt == "openai_batch_output":
            file.rows_kept += 1
            self.batch_outputs.append((row, file, location))
            return
        if not (row.get("prompt_text") or "").strip():
            self.skip(file, location, Skip(EMPTY_PROMPT, "prompt_text", "no user text in the request"))
            return
        if row["id"] is None:
            row["id"] = f"{Path(file.path).name}:{location.rsplit(':', 1)[1]}"
        if fmt == "openai_batch_input":
            if row["id"] in self.batch_inputs:
                self.skip(file, location, Skip(DUPLICATE_ID, "custom_id", f"{row['id']!r} already read"))
                return
            self.batch_inputs[row["id"]] = (row, file, location)
            file.rows_kept += 1
            return
        if self.check_ids:
            if row["id"] in self.seen_ids:
                self.skip(file, location, Skip(DUPLICATE_ID, "id", f"{row['id']!r} already read"))
                return
            self.seen_ids.add(row["id"])
        file.rows_kept += 1
        self.rows.append(row)
        if len(self.rows) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        """Turn buffered rows into a (compact, columnar) frame so memory stays bounded."""
        if self.rows:
            self.frames.append(rows_frame(self.rows, self.extra_targets))
            self.rows = []

    def finish(self, empty_targets: Sequence[str], *, rows_out: int, started: float) -> None:
        """Close the report: note (or, strict, raise for) mapped columns empty in every row - extra columns empty in
        the output (``empty_targets``) and core fields whose column no input record has -, sum up invalid values
        nulled; fail when no file gave anything."""
        targets = list(empty_targets) + [t for t in self.unseen if t in TABLE_FIELDS and t not in empty_targets]
        for target in targets:
            msg = f"mapped column {target!r} (from {self.mapping[target]!r}) is empty in every row: check the name"
            if target in self.unseen and self.columns_of:
                name, columns = next(iter(self.columns_of.items()))
                msg += f" (no input record has {self.mapping[target]!r}; columns of {name}: {columns})"
            if self.strict:
                raise IngestError(msg)
            self.report.notes.append(msg)
        nulled = self.report.values_nulled
        if nulled:
            self.report.notes.append(
                f"{nulled:,} invalid value{'s' if nulled != 1 else ''} (negative, NaN/infinite or impossibly large "
                "token counts, costs or latencies) nulled, rows kept; missing tokens and costs were then estimated "
                "and flagged (tokens_estimated, cost_estimated): see invalid_value per file")
        self.report.rows_out = rows_out
        self.report.seconds = time.perf_counter() - started
        if rows_out == 0 and self.report.rows_kept == 0 and all(f.problem for f in self.report.files):
            raise IngestError("nothing to ingest: " + "; ".join(f"{f.path}: {f.problem}" for f in self.report.files))

    def join_batches(self) -> None:
        """Merge Batch API output rows into their input rows (on ``custom_id``)."""
        for out_row, file, location in self.batch_outputs:
            entry = self.batch_inputs.get(out_row["id"])
            if entry is None:
                file.rows_kept -= 1
                self.skip(file, location, Skip(UNMATCHED_BATCH_OUTPUT, "custom_id",
                                               f"{out_row['id']!r} not in any input file given"))
                continue
            in_row = entry[0]
            if in_row["status"] != "pending":
                file.rows_kept -= 1
                self.skip(file, location, Skip(DUPLICATE_ID, "custom_id", f"{out_row['id']!r} already joined"))
                continue
            meta = json.loads(in_row["metadata"] or "{}")
            meta.update(json.loads(out_row["metadata"] or "{}"))
            meta["output_source"] = location
            for key in ("timestamp", "model", "response_text", "prompt_tokens", "completion_tokens", "cost_usd",
                        "latency_ms", "n_tool_calls"):
                if out_row.get(key) is not None:
                    in_row[key] = out_row[key]
            in_row["status"], in_row["error"] = out_row["status"], out_row["error"]
            in_row["metadata"] = json.dumps(meta, sort_keys=True, separators=(",", ":"))
            for target in self.extra_targets:
                if out_row.get(target) is not None:
                    in_row[target] = out_row[target]
            self.report.batch_joined += 1
        for cid, (row, file, location) in self.batch_inputs.items():
            if cid in self.seen_ids:
                file.rows_kept -= 1
                self.skip(file, location, Skip(DUPLICATE_ID, "custom_id", f"{cid!r} already read"))
                continue
            self.seen_ids.add(cid)
            self.rows.append(row)
        pending = sum(1 for r, _, _ in self.batch_inputs.values() if r["status"] == "pending")
        if pending:
            self.report.notes.append(f"{pending:,} Batch API input rows have no output line (kept, status 'pending')")


def rows_frame(rows: list[dict[str, Any]], extra: Sequence[str]) -> pl.DataFrame:
    import polars as pl

    schema = core_schema()
    for name in extra:
        schema[name] = outcome_dtype(name)
    return pl.DataFrame(rows, schema=schema, strict=False)


def finalize(frame: pl.DataFrame, report: IngestReport, *, estimate: bool = True,
             templates: bool = True) -> pl.DataFrame:
    """Derived columns: estimated tokens and costs, ``prompt_hash`` and ``template_id``."""
    import polars as pl

    from ..templates import assign_templates, hash_strings
    from ..tokens import estimate_missing_tokens, price_missing_costs

    if estimate:
        frame = estimate_missing_tokens(frame)
        frame, unpriced = price_missing_costs(frame)
        report.tokens_estimated += int(frame["tokens_estimated"].sum())
        report.cost_estimated += int(frame["cost_estimated"].sum())
        report.unpriced_models.update(unpriced)
        report.cost_unknown += sum(unpriced.values())
    else:
        frame = frame.with_columns(tokens_estimated=pl.lit(False), cost_estimated=pl.lit(False))
    frame = frame.with_columns(
        prompt_hash=pl.Series(hash_strings(frame["prompt_text"].to_list()), dtype=pl.Utf8),
    )
    if templates:
        frame = frame.with_columns(template_id=assign_templates(frame))
        report.templates = frame["template_id"].n_unique()
    else:
        frame = frame.with_columns(template_id=pl.lit(None, dtype=pl.Utf8))
    return frame


def resolve_files(paths: str | Path | Iterable[str | Path], format: str | None) -> list[Path]:
    """The log files named by ``paths`` (directories expanded); checks that there are some and that ``format``
    is known."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    files = expand_paths(paths)
    if not files:
        raise IngestError(f"no log files found in {[str(p) for p in paths]}")
    if format is not None and format not in FORMATS:
        raise IngestError(f"unknown log format {format!r}; valid formats: {', '.join(sorted(FORMATS))}")
    return files


def read_all(state: Ingestor, files: list[Path], *, progress: bool) -> None:
    """Read every file into ``state``, join Batch API output to input, flush the last chunk."""
    iterator: Iterable[Path] = files
    if progress and len(files) > 1:
        from tqdm.auto import tqdm

        iterator = tqdm(files, desc="ingest", unit="file")
    for path in iterator:
        state.read_file(path)
    state.join_batches()
    state.flush()


def ingest(
    paths: str | Path | Iterable[str | Path],
    *,
    format: str | None = None,
    mapping: str | Mapping[str, str] | None = None,
    strict: bool = False,
    estimate: bool = True,
    templates: bool = True,
    progress: bool = False,
    outcomes: str | Path | Iterable[str | Path] | None = None,
    outcomes_key: str = "id",
) -> IngestResult:
    """Read LLM call logs into one normalized polars frame (see :mod:`slmprofile.schema`).

    Args:
        paths: files or directories (a directory contributes its ``.jsonl/.json/.csv/.tsv/.parquet`` files).
        format: force a reader (``openai_chat``, ``openai_batch_input``, ``openai_batch_output``, ``langfuse``,
            ``helicone``, ``litellm``, ``langsmith``, ``posthog``, ``table``); default: detect per file.
        mapping: ``TARGET=COLUMN`` pairs (string ``"prompt=q,slm_correct=mixtral_ok"`` or a dict). For the
            ``table`` format they name the prompt/response/... columns; for any format they add outcome columns
            (``slm_correct``, ``frontier_correct``, ``feedback``, ``eval_score`` or any other name) and can
            override a core field. Nested fields use dotted paths (``metadata.score``).
        strict: raise :class:`~slmprofile.errors.IngestError` at the first row that would be skipped, value that
            would be nulled, file that is not a log or is damaged, or mapped column no record has.
        estimate: count missing tokens (bpe-openai) and price missing costs (genai-prices).
        templates: compute ``template_id``.
        progress: show a progress bar per file.
        outcomes: eval tables (CSV/TSV/Parquet/JSONL) whose outcome columns are joined onto the calls by id
            (see :mod:`slmprofile.ingest.outcomes`); ``mapping`` renames their columns too.
        outcomes_key: the eval tables' column holding the call id.

    Returns:
        :class:`IngestResult` with ``frame`` and ``report``. Every row read is either kept or counted in the
        report under a skip reason with its first locations; nothing is dropped silently. A value that cannot be
        right (negative, NaN/infinite, 10**30 tokens) is nulled in its kept row and counted as ``invalid_value``
        (missing tokens and costs are then estimated and flagged). A damaged file (a gzip cut off or failing its
        checksum) keeps the rows before the damage and counts a ``damaged_file`` skip where reading stopped.
        Raises :class:`~slmprofile.errors.IngestError` (one line naming the file) for a malformed ``mapping``, a
        file that cannot be read, or when no file holds a log (every file empty, undecodable or of unknown format).
    """
    import polars as pl

    started = time.perf_counter()
    files = resolve_files(paths, format)
    state = Ingestor(format=format, mapping=parse_mapping(mapping), strict=strict)
    read_all(state, files, progress=progress)
    report = state.report
    frame = pl.concat(state.frames) if state.frames else rows_frame([], state.extra_targets)
    state.frames = []
    frame = finalize(frame, report, estimate=estimate, templates=templates)
    if outcomes is not None:
        from .outcomes import attach_outcomes

        for source in [outcomes] if isinstance(outcomes, (str, Path)) else list(outcomes):
            frame, outcome_report = attach_outcomes(frame, source, key=outcomes_key, mapping=state.mapping,
                                                    strict=strict)
            report.outcomes.append(outcome_report)
    empty = [t for t in state.extra_targets if frame.height and frame[t].null_count() == frame.height]
    state.finish(empty, rows_out=frame.height, started=started)
    logger.info("ingested %d calls from %d files", frame.height, len(files))
    return IngestResult(frame=frame, report=report)
