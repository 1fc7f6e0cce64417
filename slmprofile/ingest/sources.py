"""Stream records out of log files: JSONL, JSON arrays, CSV/TSV and Parquet (optionally gzipped).

Each yielded item is ``(line, record_or_skip)``: a decoded JSON object / row dict, or a
:class:`~slmprofile.ingest.common.Skip` for a line that could not be decoded. Nothing here holds a whole file's raw
text: JSONL and CSV are read line by line, Parquet in row slices.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from .common import INVALID_JSON, NON_UTF8, NOT_AN_OBJECT, WRONG_COLUMN_COUNT, Skip

Record = dict[str, Any]
SOURCE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")

_PARQUET_SLICE = 20_000
_JSON_ARRAY_KEYS = ("data", "observations", "runs", "items", "results", "logs", "records")


def file_kind(path: Path) -> str:
    """``jsonl``, ``json``, ``csv``, ``tsv`` or ``parquet`` from the file name (``.gz`` allowed)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, kind in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".csv", "csv"),
                         (".tsv", "tsv"), (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(suffix):
            return kind
    return "jsonl"  # unknown endings: try line-delimited JSON, the commonest log shape


def expand_paths(paths: list[str | Path] | tuple[str | Path, ...]) -> list[Path]:
    """Files to read: files as given, and for a directory its log files (non-recursive, sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and
                              p.name.lower().removesuffix(".gz").endswith(SOURCE_SUFFIXES)))
        else:
            out.append(path)
    return out


def _open_binary(path: Path) -> io.BufferedReader | gzip.GzipFile:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115


def _decode_line(raw: bytes) -> Record | Skip | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skip(NON_UTF8, None, f"invalid byte at column {exc.start + 1}")
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return Skip(INVALID_JSON, None, f"{exc.msg} (column {exc.colno})")
    if not isinstance(value, dict):
        return Skip(NOT_AN_OBJECT, None, f"got a JSON {type(value).__name__}")
    return value


def iter_jsonl(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    with _open_binary(path) as handle:
        for line_no, raw in enumerate(handle, start=1):
            if raw.startswith(b"\xef\xbb\xbf") and line_no == 1:
                raw = raw[3:]
            item = _decode_line(raw)
            if item is not None:
                yield line_no, item


def iter_json(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    """A JSON document: an array of records, or an object wrapping one (``{"data": [...]}``).

    Falls back to JSONL when the file is line-delimited despite its ``.json`` name. Records are numbered by their
    position in the array (line numbers do not exist inside one JSON document).
    """
    with _open_binary(path) as handle:
        head = handle.read(4096)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"["):
        first_line = stripped.split(b"\n", 1)[0].strip()
        if first_line.startswith(b"{") and first_line.endswith(b"}") and b"\n" in stripped.strip():
            yield from iter_jsonl(path)
            return
    with _open_binary(path) as handle:
        raw = handle.read()
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        yield 1, Skip(NON_UTF8, None, f"invalid byte at offset {exc.start}")
        return
    except ValueError as exc:
        yield exc.lineno, Skip(INVALID_JSON, None, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    if isinstance(doc, dict):
        inner = next((doc[k] for k in _JSON_ARRAY_KEYS if isinstance(doc.get(k), list)), None)
        doc = inner if inner is not None else [doc]
    if not isinstance(doc, list):
        yield 1, Skip(NOT_AN_OBJECT, None, f"top level is a JSON {type(doc).__name__}")
        return
    for index, item in enumerate(doc, start=1):
        yield index, item if isinstance(item, dict) else Skip(NOT_AN_OBJECT, None,
                                                              f"item {index} is a JSON {type(item).__name__}")


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def iter_csv(path: Path, *, delimiter: str = ",") -> Iterator[tuple[int, Record | Skip]]:
    """CSV rows as dicts (empty cells become None); the line number is where the row starts."""
    csv.field_size_limit(sys.maxsize)
    raw = _open_binary(path)
    with io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        header = [h.strip() for h in header]
        start = reader.line_num + 1
        for row in reader:
            line_no, start = start, reader.line_num + 1
            if not row or all(not cell for cell in row):
                continue
            if any(_has_surrogates(cell) for cell in row):
                yield line_no, Skip(NON_UTF8, None, "invalid UTF-8 bytes in the row")
                continue
            if len(row) != len(header):
                yield line_no, Skip(WRONG_COLUMN_COUNT, None,
                                    f"{len(row)} cells for {len(header)} columns")
                continue
            yield line_no, {k: (v if v != "" else None) for k, v in zip(header, row)}


def iter_parquet(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    import polars as pl

    total = pl.scan_parquet(path).select(pl.len()).collect().item()
    row = 0
    while row < total:
        chunk = pl.scan_parquet(path).slice(row, _PARQUET_SLICE).collect()
        for offset, record in enumerate(chunk.iter_rows(named=True)):
            yield row + offset + 1, record
        row += chunk.height


def iter_records(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    """Records of one file, by its kind."""
    kind = file_kind(path)
    if kind == "json":
        return iter_json(path)
    if kind == "csv":
        return iter_csv(path)
    if kind == "tsv":
        return iter_csv(path, delimiter="\t")
    if kind == "parquet":
        return iter_parquet(path)
    return iter_jsonl(path)
