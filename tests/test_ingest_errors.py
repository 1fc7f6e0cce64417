"""Hostile and broken inputs: every one is a counted, reported skip (or a nulled value) naming file:line and field,
or a one-line error naming the file - in ``ingest``, in the streaming ``ingest_to_parquet``, in its task-by-task form
``ingest_in_pieces`` (what the Ray engine's workers run) and in the CLI alike.

Each case is a small hand-made log. ``kind`` says what must happen without ``--strict``:

- ``skip``: the row is skipped and counted under ``reason`` with ``file:line`` (and the field) among the examples;
- ``nulled``: the row is kept, the value of ``field`` nulled and counted under ``invalid_value``;
- ``note``: everything is kept and the report carries a note;
- ``error``: :class:`~slmprofile.errors.IngestError` (the CLI: ``error: ...``, exit code 2).

With ``--strict`` every case is an ``IngestError`` whose one-line message names the file (and line and field).
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import re
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import polars as pl
import pytest
from typer.testing import CliRunner

from slmprofile.cli import app
from slmprofile.errors import IngestError
from slmprofile.ingest import FORMATS, ingest, ingest_to_parquet, parse_mapping
from slmprofile.ingest.common import Skip, collect_invalid_values
from slmprofile.ingest.formats import Table
from slmprofile.ingest.pieces import ingest_in_pieces


def _chat(i: int, **top: Any) -> dict[str, Any]:
    return {"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": f"Classify ticket {i}: refund"}]},
            "response": {"id": f"c{i}", "created": 1790000000 + i,
                         "choices": [{"message": {"role": "assistant", "content": "billing"}}],
                         "usage": {"prompt_tokens": 12, "completion_tokens": 1}}, **top}


def _with_usage(i: int, **usage: Any) -> dict[str, Any]:
    record = _chat(i)
    record["response"]["usage"].update(usage)
    return record


def _jsonl(records: list[Any]) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


def _calls(bad: Any, name: str = "calls.jsonl") -> Callable[[Path], list[Path]]:
    """A JSONL log of three good calls with ``bad`` (a record or raw bytes) as line 2."""
    def build(tmp: Path) -> list[Path]:
        path = tmp / name
        path.write_bytes(_jsonl([_chat(1), bad, _chat(3), _chat(4)]))
        return [path]
    return build


def _gzip(damage: Callable[[bytes], bytes], name: str = "calls.jsonl.gz", n: int = 400) -> Callable[[Path], list[Path]]:
    def build(tmp: Path) -> list[Path]:
        if name.endswith(".json.gz"):
            raw = json.dumps([_chat(i) for i in range(n)], indent=1).encode()
        else:
            raw = _jsonl([_chat(i) for i in range(n)])
        path = tmp / name
        path.write_bytes(damage(gzip.compress(raw, mtime=0)))
        return [path]
    return build


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _bad_crc(data: bytes) -> bytes:
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]


def _raw(name: str, data: bytes) -> Callable[[Path], list[Path]]:
    def build(tmp: Path) -> list[Path]:
        (tmp / name).write_bytes(data)
        return [tmp / name]
    return build


def _cut_parquet(tmp: Path) -> list[Path]:
    path = tmp / "calls.parquet"
    pl.DataFrame({"prompt": [f"question {i}" for i in range(200)]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:300])
    return [path]


_TABLE = b"prompt,answer,llm\nhow do I reset my password?,Settings > Security,gpt-4o\nwhat is 2+2?,4,gpt-4o\n"
_JSON_ARRAY = ("[\n" + ",\n".join(json.dumps(_chat(i)) for i in range(1, 6)) + "\n]\n").encode()
_DEEP = b"[" * 10_000 + b"]" * 10_000


@dataclass
class Case:
    id: str
    build: Callable[[Path], list[Path]]
    kind: str  # skip | nulled | note | error
    reason: str = ""
    line: int | None = None  # the line (or JSON array item) named; -1: any
    field: str | None = None
    match: str = ""  # regex the message / note must match (besides the file name)
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    kept: int | None = None  # calls kept without --strict


CASES = [
    # 1. a token count polars cannot hold
    Case("tokens_10e30", _calls(_with_usage(2, prompt_tokens=10**30)), "nulled", "invalid_value", 2,
         "usage.prompt_tokens", r"not a token count", kept=4),
    Case("tokens_5000_digits", _calls(json.dumps(_chat(2)).replace('"prompt_tokens": 12', '"prompt_tokens": '
                                                                   + "9" * 5000).encode()),
         "skip", "invalid_json", 2, None, r"4300 digits", kept=3),
    # 2. damaged gzip: the rows before the damage are kept
    Case("gzip_cut_midway", _gzip(_cut), "skip", "damaged_file", -1, None, r"ends early"),
    Case("gzip_bad_crc", _gzip(_bad_crc), "skip", "damaged_file", 401, None, r"CRC check failed", kept=400),
    Case("json_array_gzip_cut", _gzip(_cut, "calls.json.gz"), "skip", "damaged_file", -1, None, r"ends early"),
    Case("not_gzip_at_all", _raw("calls.jsonl.gz", b"this is plain text, not gzip\n"), "error", "damaged_file", 1,
         match=r"not a log file.*gzip"),
    # 3. fields of the wrong shape (each reader is fuzzed below)
    Case("request_is_a_string", _calls(dict(_chat(2), request="classify this")), "skip", "wrong_type", 2,
         "request", r"expected an object, got a string", kept=3),
    Case("request_missing", _calls({"response": _chat(2)["response"]}), "skip", "missing_field", 2, "request",
         kept=3),
    Case("request_is_a_list", _calls(dict(_chat(2), request=[1, 2])), "skip", "wrong_type", 2, "request", kept=3),
    # 4. nesting beyond the decoder's recursion limit
    Case("json_10000_deep", _calls(_DEEP), "skip", "too_deep", 2, None, r"nested deeper", kept=3),
    Case("json_doc_10000_deep", _raw("deep.json", _DEEP), "error", "too_deep", 1, match=r"not a log file.*too_deep"),
    # 5. not a log at all / a cut-off JSON array
    Case("binary_garbage", _raw("blob.jsonl", random.Random(18).randbytes(4000)), "error", "", 1,
         match=r"not a log file"),
    Case("json_array_cut_off", _raw("calls.json", _JSON_ARRAY[:_JSON_ARRAY.rindex(b'"usage"')]), "skip",
         "invalid_json", 5, None,
         r"items before it are kept", kept=4),
    Case("json_array_cut_in_first_item", _raw("calls.json", _JSON_ARRAY[:40]), "error", "invalid_json", 1,
         match=r"not a log file.*invalid_json"),
    Case("parquet_cut", _cut_parquet, "error", "damaged_file", 1, match=r"not a log file.*unreadable Parquet"),
    # 6. values that cannot be right
    Case("cost_nan", _calls(_chat(2, cost_usd=float("nan"))), "nulled", "invalid_value", 2, "cost_usd",
         r"not a finite number", kept=4),
    Case("cost_inf", _calls(_chat(2, cost_usd=float("inf"))), "nulled", "invalid_value", 2, "cost_usd", kept=4),
    Case("cost_negative", _calls(_chat(2, cost_usd=-0.5)), "nulled", "invalid_value", 2, "cost_usd",
         r"negative", kept=4),
    Case("tokens_negative", _calls(_with_usage(2, completion_tokens=-3)), "nulled", "invalid_value", 2,
         "usage.completion_tokens", kept=4),
    Case("latency_negative", _calls(_chat(2, latency_ms=-20)), "nulled", "invalid_value", 2, "latency_ms", kept=4),
    Case("litellm_spend_nan", _raw("spend.jsonl", _jsonl([dict(FORMATS["litellm"].example, spend=float("nan"))])),
         "nulled", "invalid_value", 1, "spend", kept=1),
    Case("litellm_ends_before_it_starts",
         _raw("spend.jsonl", _jsonl([dict(FORMATS["litellm"].example, endTime="2026-10-03T14:22:04Z")])),
         "nulled", "invalid_value", 1, "endTime", r"ends 1000 ms before it starts", kept=1),
    Case("table_tokens_too_many", _raw("t.csv", b"question,tokens\nhi there,12\nbye now,1e30\n"), "nulled",
         "invalid_value", 3, "tokens", options={"mapping": "prompt_tokens=tokens"}, kept=2),
    # 7. a mapped column no record has
    Case("map_missing_column", _raw("t.csv", _TABLE), "note", match=r"'missing'.*columns of .*t\.csv: answer, llm",
         options={"mapping": "prompt=prompt,model=missing"}, kept=2),
    # 8. malformed --map and a prompt column that is not there
    Case("map_two_equals", _raw("t.csv", _TABLE), "error", match=r"bad --map entry 'a=b=c'.*TARGET=COLUMN",
         options={"mapping": "a=b=c"}),
    Case("map_semicolon", _raw("t.csv", _TABLE), "error", match=r"TARGET=COLUMN pairs separated by commas",
         options={"mapping": "prompt=prompt;model=llm"}),
    Case("map_prompt_missing", _raw("t.csv", _TABLE), "error",
         match=r"column 'missing' \(--map prompt=missing\) is not in .*t\.csv; its columns: answer, llm, prompt",
         options={"mapping": "prompt=missing"}),
]


def _where(case: Case, path: Path) -> str:
    """Regex for the ``file:line`` (and field) the messages must name."""
    where = re.escape(str(path)) + (r":\d+" if case.line in (None, -1) else f":{case.line}")
    return where


def _report(result: Any) -> dict[str, Any]:
    data = result.report.to_dict()
    data.pop("seconds")
    return data


def _cli(paths: list[Path], out: Path, case: Case, *strict: str) -> Any:
    args = ["ingest", *map(str, paths), "--out", str(out), "--no-redact", *strict]
    if "mapping" in case.options:
        args += ["--map", case.options["mapping"]]
    return CliRunner().invoke(app, args)


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_counted_skip_or_a_one_line_error(tmp_path: Path, case: Case) -> None:
    paths = case.build(tmp_path)
    name = str(paths[0])
    cli = _cli(paths, tmp_path / "cli.parquet", case)
    strict_cli = _cli(paths, tmp_path / "cli-strict.parquet", case, "--strict")

    if case.kind == "error":
        with pytest.raises(IngestError) as memory:
            ingest(paths, **case.options)
        with pytest.raises(IngestError) as streamed:
            ingest_to_parquet(paths, tmp_path / "parts", **case.options)
        with pytest.raises(IngestError) as pieces:
            ingest_in_pieces(paths, tmp_path / "pieces", **case.options)
        message = str(memory.value)
        assert str(streamed.value) == message == str(pieces.value) and "\n" not in message
        assert re.search(case.match, message), message
        if not message.startswith("bad --map"):
            assert name in message
        assert case.reason in message  # the real cause, not "unknown format"
        assert cli.exit_code == 2, cli.output
        assert _one_error_line(cli.output) == f"error: {message}"
    else:
        memory = ingest(paths, **case.options)
        streamed = ingest_to_parquet(paths, tmp_path / "parts", **case.options)
        in_pieces = ingest_in_pieces(paths, tmp_path / "pieces", **case.options)
        assert _report(streamed) == _report(memory) == _report(in_pieces)
        assert streamed.scan().collect().sort("id").equals(memory.frame.sort("id"))
        assert in_pieces.scan().collect().equals(streamed.scan().collect())
        report = memory.report
        file = report.files[0]
        assert file.rows_read == file.rows_kept + file.rows_skipped
        if case.kept is not None:
            assert report.rows_out == case.kept
        else:
            assert report.rows_out > 0  # rows before the damage are kept
        if case.kind in ("skip", "nulled"):
            counted = file.skipped if case.kind == "skip" else file.nulled
            assert counted == {case.reason: 1}, file.to_dict()
            (example,) = file.examples[case.reason]
            assert re.match(_where(case, paths[0]) + " ", example), example
            if case.field:
                assert f"field '{case.field}'" in example
            assert re.search(case.match, example), example
            assert example in str(report)
        if case.kind == "nulled":  # the value is null in the output, the row is there, cost/tokens re-estimated
            row = memory.frame.filter(pl.col("source") == example.split(" ")[0]).to_dicts()
            assert len(row) == 1
            column = {"usage.prompt_tokens": "prompt_tokens", "usage.completion_tokens": "completion_tokens",
                      "spend": "cost_usd", "tokens": "prompt_tokens", "endTime": "latency_ms"}.get(case.field,
                                                                                                case.field)
            if column in ("prompt_tokens", "completion_tokens"):
                assert row[0]["tokens_estimated"] and 0 < row[0][column] < 100
            elif column == "cost_usd":  # priced from the tokens instead, and flagged
                assert row[0]["cost_estimated"] and 0 < row[0]["cost_usd"] < 0.01
            else:
                assert row[0][column] is None
            assert any("invalid value" in n and "nulled" in n for n in report.notes)
        if case.kind == "note":
            assert any(re.search(case.match, n) for n in report.notes), report.notes
        assert cli.exit_code == 0, cli.output
        assert pl.read_parquet(tmp_path / "cli.parquet").height == report.rows_out

    # --strict: one line naming the file (and line and field)
    with pytest.raises(IngestError) as strict:
        ingest(paths, strict=True, **case.options)
    message = str(strict.value)
    assert "\n" not in message
    if not message.startswith("bad --map"):
        assert name in message
    if case.kind in ("skip", "nulled"):
        assert re.search(_where(case, paths[0]) + f": {case.reason}", message), message
        if case.field:
            assert f"field '{case.field}'" in message
    with pytest.raises(IngestError) as strict_streamed:
        ingest_to_parquet(paths, tmp_path / "strict-parts", strict=True, **case.options)
    assert str(strict_streamed.value) == message
    with pytest.raises(IngestError) as strict_pieces:
        ingest_in_pieces(paths, tmp_path / "strict-pieces", strict=True, **case.options)
    assert str(strict_pieces.value) == message
    assert strict_cli.exit_code == 2, strict_cli.output
    assert _one_error_line(strict_cli.output) == f"error: {message}"


# ------------------------------------------------------------------ every reader against fields of the wrong shape

_ODD_VALUES = ["text", "[1, 2", '{"a": 1}', ["a", 1], [[["deep"]]], {"x": {"y": 1}}, {}, [], 7, -1, 1.5, True,
               None, float("nan"), 10**30]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            out += _paths(inner, prefix + (index,))
    return out


def _replace(record: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    record = copy.deepcopy(record)
    target: Any = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_reader_skips_fields_of_the_wrong_shape_instead_of_crashing(name: str) -> None:
    """Each field of each format's example (at every depth) replaced by a string, list, number, NaN, 10**30, ...:
    the reader returns a row or raises a counted Skip, never AttributeError / TypeError / KeyError."""
    cls = FORMATS[name]
    crashes = []
    for path in _paths(cls.example):
        for value in _ODD_VALUES:
            record = _replace(cls.example, path, value)
            reader = Table({}) if name == "table" else cls()
            try:
                with collect_invalid_values():
                    reader.detect(record)
                    reader.parse(record)
            except Skip:
                pass
            except Exception as exc:  # noqa: BLE001 - the point is to catch any crash
                crashes.append(f"{'.'.join(map(str, path))}={value!r}: {type(exc).__name__}: {exc}")
    assert not crashes, crashes[:5]


def test_map_syntax_errors_explain_the_syntax() -> None:
    for spec in ("a=b=c", "prompt=prompt;model=model", "prompt", "=col", "prompt=", "bad name=col"):
        with pytest.raises(IngestError, match=r"TARGET=COLUMN"):
            parse_mapping(spec)
    with pytest.raises(IngestError, match="'prompt' is mapped twice"):
        parse_mapping("prompt=a,prompt=b")
    assert parse_mapping({"prompt": "q"}) == {"prompt": "q"}
