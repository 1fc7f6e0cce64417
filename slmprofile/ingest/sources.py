"""Stream records out of log files: JSONL, JSON arrays, CSV/TSV and Parquet (optionally gzipped).

Each yielded item is ``(line, record_or_skip)``: a decoded JSON object / row dict, or a
:class:`~slmprofile.ingest.common.Skip` for a line that could not be decoded. Nothing here holds a whole file's raw
text: JSONL and CSV are read line by line, Parquet in row slices.

A file damaged part way (a gzip cut off mid-stream or with a bad checksum, an unreadable Parquet) yields its records
up to the damage and then one ``damaged_file`` skip at the line where reading stopped; errors opening the file (it
does not exist, no permission) are raised as they are.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from pathlib import Path
from typing import Any, Iterator

from .common import DAMAGED_FILE, INVALID_JSON, NON_UTF8, NOT_AN_OBJECT, TOO_DEEP, WRONG_COLUMN_COUNT, Skip

Record = dict[str, Any]
SOURCE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")

_PARQUET_SLICE = 20_000
_JSON_ARRAY_KEYS = ("data", "observations", "runs", "items", "results", "logs", "records")
_READ_CHUNK = 1 << 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")

#: What reading a damaged file raises part way (``gzip.BadGzipFile`` is an ``OSError``; ``EOFError``: a gzip cut
#: off mid-stream).
_DAMAGE = (EOFError, OSError, zlib.error)
_TOO_DEEP_DETAIL = "JSON nested deeper than the decoder allows (about 1,000 levels)"


def damage_skip(exc: BaseException) -> Skip:
    """The ``damaged_file`` skip for an error that stopped reading a file part way."""
    if isinstance(exc, EOFError):
        detail = "the compressed data ends early (the file is cut off)"
    elif isinstance(exc, gzip.BadGzipFile):
        detail = f"corrupt gzip data ({exc})"
    elif isinstance(exc, zlib.error):
        detail = f"corrupt compressed data ({exc})"
    else:
        detail = f"read error ({exc})"
    return Skip(DAMAGED_FILE, None, detail + "; nothing after this point was read")


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


def _json_problem(exc: ValueError) -> str:
    """Why ``json.loads`` refused: a ``JSONDecodeError``'s message, or a plain ``ValueError``'s (e.g. an integer of
    more than 4,300 digits), which has no position."""
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(";")[0]


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
        column = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        return Skip(INVALID_JSON, None, _json_problem(exc) + column)
    except RecursionError:
        return Skip(TOO_DEEP, None, _TOO_DEEP_DETAIL)
    if not isinstance(value, dict):
        return Skip(NOT_AN_OBJECT, None, f"got a JSON {type(value).__name__}")
    return value


def iter_jsonl(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    with _open_binary(path) as handle:
        line_no = 0
        try:
            for line_no, raw in enumerate(handle, start=1):
                if raw.startswith(b"\xef\xbb\xbf") and line_no == 1:
                    raw = raw[3:]
                item = _decode_line(raw)
                if item is not None:
                    yield line_no, item
        except _DAMAGE as exc:
            yield line_no + 1, damage_skip(exc)


def _read_all(path: Path) -> tuple[bytes, Skip | None]:
    """The file's bytes, and the ``damaged_file`` skip when reading stopped early (the bytes before it are kept)."""
    chunks: list[bytes] = []
    with _open_binary(path) as handle:
        try:
            while chunk := handle.read1(_READ_CHUNK):
                chunks.append(chunk)
        except _DAMAGE as exc:
            return b"".join(chunks), damage_skip(exc)
    return b"".join(chunks), None


def _line_col(text: str, pos: int) -> str:
    """``line L column C`` of character offset ``pos`` (both from 1)."""
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return f"line {line} column {column}"


def _array_items(text: str) -> Iterator[tuple[int, Any]]:
    """Items of a JSON array one by one, for a document ``json.loads`` rejects: the items before the break are
    kept, then one ``invalid_json`` (or ``too_deep``) skip says where the array breaks off."""
    decoder = json.JSONDecoder()
    pos = _WHITESPACE.match(text, text.index("[") + 1).end()
    index = 0
    while pos < len(text) and text[pos] != "]":
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError as exc:
            where = _line_col(text, exc.pos if isinstance(exc, json.JSONDecodeError) else pos)
            yield index + 1, Skip(INVALID_JSON, None, f"{_json_problem(exc)} (at {where}; item {index + 1}, "
                                                      "the items before it are kept)")
            return
        except RecursionError:
            yield index + 1, Skip(TOO_DEEP, None, f"{_TOO_DEEP_DETAIL} (item {index + 1})")
            return
        index += 1
        yield index, value
        pos = _WHITESPACE.match(text, pos).end()
        if pos < len(text) and text[pos] == ",":
            pos = _WHITESPACE.match(text, pos + 1).end()
        elif pos < len(text) and text[pos] != "]":
            yield index + 1, Skip(INVALID_JSON, None, f"expected ',' or ']' at {_line_col(text, pos)}")
            return
    if pos >= len(text):
        yield index + 1, Skip(INVALID_JSON, None, f"the JSON array is cut off after item {index} "
                                                  f"(no closing ']' by {_line_col(text, pos)})")


def iter_json(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    """A JSON document: an array of records, or an object wrapping one (``{"data": [...]}``).

    Falls back to JSONL when the file is line-delimited despite its ``.json`` name. Records are numbered by their
    position in the array (line numbers do not exist inside one JSON document).
    """
    with _open_binary(path) as handle:
        try:
            head = handle.read(4096)
        except _DAMAGE as exc:
            yield 1, damage_skip(exc)
            return
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"["):
        first_line = stripped.split(b"\n", 1)[0].strip()
        if first_line.startswith(b"{") and first_line.endswith(b"}") and b"\n" in stripped.strip():
            yield from iter_jsonl(path)
            return
    raw, damage = _read_all(path)
    last, item = 0, None
    for last, item in _json_document(raw, damage):
        yield last, item
    if damage is not None and not (isinstance(item, Skip) and item.reason == DAMAGED_FILE):
        yield last + 1, damage  # the data was whole but failed its check (a bad gzip CRC)


def _json_document(raw: bytes, damage: Skip | None = None) -> Iterator[tuple[int, Record | Skip]]:
    """Records of one JSON document's bytes; a document broken part way through an array keeps the items before
    the break (:func:`_array_items`). ``damage``: why the bytes end early, if they do; it stands in for the
    ``invalid_json`` skip of the break (the damage is the cause)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield 1, Skip(NON_UTF8, None, f"invalid byte at offset {exc.start}")
        return
    try:
        doc = json.loads(text)
    except RecursionError:
        yield 1, Skip(TOO_DEEP, None, _TOO_DEEP_DETAIL)
        return
    except ValueError as exc:
        if text.lstrip().startswith("["):
            for index, item in _array_items(text):
                if damage is not None and isinstance(item, Skip) and item.reason == INVALID_JSON:
                    item = damage
                yield index, _as_record(index, item)
        else:
            where = (f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "")
            yield getattr(exc, "lineno", 1), damage or Skip(INVALID_JSON, None, _json_problem(exc) + where)
        return
    yield from _document_records(doc)


def _as_record(index: int, item: Any) -> Record | Skip:
    if isinstance(item, (dict, Skip)):
        return item
    return Skip(NOT_AN_OBJECT, None, f"item {index} is a JSON {type(item).__name__}")


def _document_records(doc: Any) -> Iterator[tuple[int, Record | Skip]]:
    """Records of a whole decoded JSON document: an array, or an object wrapping one (``{"data": [...]}``)."""
    if isinstance(doc, dict):
        inner = next((doc[k] for k in _JSON_ARRAY_KEYS if isinstance(doc.get(k), list)), None)
        doc = inner if inner is not None else [doc]
    if not isinstance(doc, list):
        yield 1, Skip(NOT_AN_OBJECT, None, f"top level is a JSON {type(doc).__name__}")
        return
    for index, item in enumerate(doc, start=1):
        yield index, _as_record(index, item)


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
        start = 1
        try:
            header = next(reader, None)
            if header is None:
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
        except _DAMAGE as exc:
            yield start, damage_skip(exc)
        except csv.Error as exc:
            yield start, Skip(DAMAGED_FILE, None, f"unreadable CSV ({exc}); nothing after this point was read")


def iter_parquet(path: Path) -> Iterator[tuple[int, Record | Skip]]:
    import polars as pl

    row = 0
    try:
        total = pl.scan_parquet(path).select(pl.len()).collect().item()
        while row < total:
            chunk = pl.scan_parquet(path).slice(row, _PARQUET_SLICE).collect()
            for offset, record in enumerate(chunk.iter_rows(named=True)):
                yield row + offset + 1, record
            row += chunk.height
    except (OSError, pl.exceptions.PolarsError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        yield row + 1, Skip(DAMAGED_FILE, None, f"unreadable Parquet ({message}); nothing after this point was read")


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


#: Bytes read from the start of each file to estimate its number of records.
_ESTIMATE_HEAD = 1 << 20


def estimate_rows(paths: list[str | Path] | tuple[str | Path, ...]) -> int:
    """About how many records the log files hold, without reading them: Parquet from its metadata, text files from
    the records in their first MiB scaled by their (uncompressed) size. Files that cannot be read count 0 (ingestion
    reports them)."""
    total = 0
    for path in expand_paths(paths):
        try:
            total += _estimate_file(path)
        except (OSError, ValueError, EOFError, zlib.error, csv.Error):
            continue
    return total


def _estimate_file(path: Path) -> int:
    kind = file_kind(path)
    if kind == "parquet":
        import polars as pl

        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    size = _uncompressed_size(path)
    with _open_binary(path) as handle:
        head = handle.read(_ESTIMATE_HEAD)
    if not head:
        return 0
    complete = len(head) >= size
    if not complete:  # only whole records of the head
        cut = head.rfind(b"\n")
        head = head[:cut + 1] if cut > 0 else head
    text = head.decode("utf-8", errors="replace")
    if kind in ("csv", "tsv"):
        rows = max(sum(1 for _ in csv.reader(io.StringIO(text), delimiter="\t" if kind == "tsv" else ",")) - 1, 0)
    elif kind == "json" and text.lstrip().startswith(("[", "{")) and text.count("\n") < 2:
        rows = max(text.count("}, {") + text.count("},{") + 1, 1)  # one line of a JSON array
    else:
        rows = sum(1 for line in text.splitlines() if line.strip() and line.lstrip()[:1] in "{[")
    return rows if complete else round(rows * size / max(len(head), 1))


def _uncompressed_size(path: Path) -> int:
    """The file's size, for gzip the uncompressed size from its trailer (ISIZE; when that cannot be right, as for
    files over 4 GiB, five times the compressed size)."""
    size = path.stat().st_size
    if not path.name.lower().endswith(".gz"):
        return size
    with open(path, "rb") as handle:
        handle.seek(max(size - 4, 0))
        isize = int.from_bytes(handle.read(4), "little")
    return isize if isize >= size else size * 5
