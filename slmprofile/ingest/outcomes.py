"""Outcome columns from a separate eval table, joined to the logged calls by call id.

Teams often keep quality signals outside the request logs: an offline eval that replayed logged prompts through a
candidate small model and graded both answers, a feedback export, a labelling sheet. :func:`attach_outcomes` reads
such a table (CSV/TSV, Parquet or JSONL) and joins its outcome columns (``slm_correct``, ``frontier_correct``,
``feedback``, ``eval_score``, or names mapped with ``--map slm_correct=COLUMN``) onto the calls by ``id``.

Every table row is accounted for: matched, matching no call, a repeated id, or a bad value (named by file, line and
field); the counts land in the ingest report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import IngestError
from ..schema import OUTCOME_COLUMNS, outcome_dtype
from .common import Skip, as_bool, as_float
from .formats import TABLE_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

MAX_EXAMPLES = 5


@dataclass
class OutcomeReport:
    """What :func:`attach_outcomes` did with one eval table."""

    path: str
    key: str = "id"
    columns: dict[str, str] = field(default_factory=dict)  # outcome column -> table column
    rows_read: int = 0
    matched: int = 0
    unmatched: int = 0  # ids that match no logged call
    duplicate: int = 0  # later rows repeating an id (the first row wins)
    invalid: int = 0  # rows with a value that does not parse
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, reason: str, location: str) -> None:
        ex = self.examples.setdefault(reason, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(location)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "key": self.key, "columns": self.columns, "rows_read": self.rows_read,
                "matched": self.matched, "unmatched": self.unmatched, "duplicate": self.duplicate,
                "invalid": self.invalid, "examples": self.examples}

    def line(self) -> str:
        cols = ", ".join(self.columns) or "none"
        return (f"outcomes from {self.path}: {self.rows_read:,} rows, {self.matched:,} matched a call ({cols}); "
                f"{self.unmatched:,} match no call, {self.duplicate:,} repeat an id, {self.invalid:,} bad values")


def read_table(path: Path) -> pl.DataFrame:
    """An eval table (.csv, .tsv, .parquet or .jsonl; CSV, TSV and JSONL may be gzipped) as a frame."""
    import polars as pl

    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".csv.gz", ".tsv.gz"):
            return pl.read_csv(path, separator="\t" if "tsv" in suffix else ",", infer_schema=False)
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".jsonl", ".ndjson", ".jsonl.gz"):
            return pl.read_ndjson(path, infer_schema_length=None)
    except Exception as exc:  # polars raises several types for unreadable files
        raise IngestError(f"{path}: cannot read the outcome table: {exc}") from exc
    raise IngestError(f"{path}: outcome tables must be .csv, .tsv, .parquet or .jsonl (got {path.suffix!r})")


def attach_outcomes(
    frame: pl.DataFrame,
    source: str | Path,
    *,
    key: str = "id",
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
) -> tuple[pl.DataFrame, OutcomeReport]:
    """Join outcome columns from the table at ``source`` onto ``frame`` by call id.

    Args:
        frame: normalized logs (needs ``id``).
        source: CSV/TSV/Parquet/JSONL with an id column and outcome columns.
        key: the table's column holding the logged call id.
        mapping: ``{"slm_correct": "llama_ok", ...}`` (the ingest ``--map``); unmapped outcome names are looked up
            under their own name. Mapped custom targets (not log fields) become columns too.
        strict: raise :class:`IngestError` at the first bad value or repeated id instead of counting it.

    A value already present in the logs wins over the table's (the logs are the primary record).
    """
    table, report = read_outcomes(source, known_ids=set(frame["id"].to_list()), log_schema=frame.schema, key=key,
                                  mapping=mapping, strict=strict)
    return join_outcomes(frame, table), report


def read_outcomes(
    source: str | Path,
    *,
    known_ids: set[str],
    log_schema: Mapping[str, Any],
    key: str = "id",
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
) -> tuple[pl.DataFrame, OutcomeReport]:
    """The checked outcome rows of ``source`` that match a call in ``known_ids`` (``id`` plus one ``__o_NAME``
    column per outcome) and the report; :func:`join_outcomes` puts them on any frame of those calls, e.g. each
    Parquet part of a streamed ingest. ``log_schema``: the logs' columns and dtypes (which outcome columns the logs
    already have). Arguments otherwise as :func:`attach_outcomes`."""
    import polars as pl

    path = Path(source)
    if not path.is_file():
        raise IngestError(f"outcome table {str(path)!r} not found")
    table = read_table(path)
    mapping = dict(mapping or {})
    report = OutcomeReport(path=str(path), key=key, rows_read=table.height)
    if key not in table.columns:
        raise IngestError(f"{path}: no id column {key!r} (columns: {', '.join(table.columns)}); "
                          "name it with --outcomes-key COLUMN")
    columns: dict[str, str] = {}
    for name in OUTCOME_COLUMNS:
        column = mapping.get(name, name)
        if column in table.columns:
            columns[name] = column
    for target, column in mapping.items():
        if target in columns or target == "id" or target in TABLE_FIELDS or column not in table.columns:
            continue  # log-field mappings (prompt=..., model=...) are for the logs, not this table
        if target in OUTCOME_COLUMNS or target not in log_schema:
            columns[target] = column
    if not columns:
        raise IngestError(f"{path}: no outcome columns found (looked for {', '.join(OUTCOME_COLUMNS)}; "
                          "map others with --map slm_correct=COLUMN)")
    report.columns = columns

    known = known_ids
    seen: set[str] = set()
    values: dict[str, list[Any]] = {name: [] for name in columns}
    ids: list[str] = []
    header_offset = 2 if path.suffix.lower() in (".csv", ".tsv", ".gz") else 1
    rows = table.select([pl.col(key).cast(pl.Utf8).alias("__id")]
                        + [pl.col(c).alias(f"__{n}") for n, c in columns.items()]).iter_rows()
    for i, row in enumerate(rows):
        line = i + header_offset
        cid = row[0]
        if cid is None or cid == "":
            _bad(report, strict, "invalid", f"{path}:{line} {key}: empty id")
            continue
        if cid in seen:
            report.duplicate += 1
            msg = f"{path}:{line} {key}: id {cid!r} repeats an earlier row"
            if strict:
                raise IngestError(msg)
            report.note("duplicate", msg)
            continue
        seen.add(cid)
        parsed: list[Any] = []
        try:
            for (name, column), value in zip(columns.items(), row[1:]):
                kind = OUTCOME_COLUMNS.get(name)
                if kind == "bool":
                    parsed.append(as_bool(value, column))
                elif kind == "float":
                    parsed.append(as_float(value, column))
                else:
                    parsed.append(None if value is None else str(value))
        except Skip as skip:
            _bad(report, strict, "invalid", f"{path}:{line} {skip.field}: {skip.detail}")
            continue
        if cid not in known:
            report.unmatched += 1
            report.note("unmatched", f"{path}:{line} {key}: {cid!r} is not a logged call id")
            continue
        report.matched += 1
        ids.append(cid)
        for name, value in zip(columns, parsed):
            values[name].append(value)

    joined = pl.DataFrame({"id": ids, **{f"__o_{n}": pl.Series(v, dtype=outcome_dtype(n)) for n, v in values.items()}},
                          schema={"id": pl.Utf8, **{f"__o_{n}": outcome_dtype(n) for n in columns}})
    return joined, report


def join_outcomes(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the outcome columns of ``table`` (from :func:`read_outcomes`) joined by ``id``; a value
    already in ``frame`` wins."""
    import polars as pl

    names = [c[len("__o_"):] for c in table.columns if c.startswith("__o_")]
    out = frame.join(table, on="id", how="left", maintain_order="left")
    exprs = []
    for name in names:
        if name in frame.columns:
            exprs.append(pl.coalesce(pl.col(name), pl.col(f"__o_{name}").cast(frame.schema[name])).alias(name))
        else:
            exprs.append(pl.col(f"__o_{name}").alias(name))
    return out.with_columns(exprs).drop([f"__o_{n}" for n in names])


def _bad(report: OutcomeReport, strict: bool, reason: str, message: str) -> None:
    if strict:
        raise IngestError(message)
    report.invalid += 1
    report.note(reason, message)
