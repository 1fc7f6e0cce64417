"""Ingestion: every format's fixture, every bad-input class, strict mode, mappings, tokens and prices."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from slmprofile.errors import IngestError
from slmprofile.ingest import FORMATS, ingest, parse_mapping
from slmprofile.schema import DERIVED_COLUMNS, LOG_COLUMNS


def _row(frame: pl.DataFrame, id_: str) -> dict:
    rows = frame.filter(pl.col("id") == id_).to_dicts()
    assert len(rows) == 1, f"expected one row with id {id_!r}, got {len(rows)}"
    return rows[0]


def _counts_add_up(report) -> None:
    for f in report.files:
        assert f.rows_read == f.rows_kept + f.rows_skipped, f.to_dict()


# ------------------------------------------------------------------ one test per format


def test_openai_chat_pairs(fixtures: Path) -> None:
    res = ingest(fixtures / "openai_chat.jsonl")
    df, rep = res.frame, res.report
    assert list(df.columns[: len(LOG_COLUMNS)]) == list(LOG_COLUMNS)
    assert set(DERIVED_COLUMNS) <= set(df.columns)
    assert rep.files[0].format == "openai_chat"
    assert df.height == 6 and rep.skipped == {"invalid_json": 1}
    assert rep.files[0].examples["invalid_json"][0].startswith(f"{fixtures / 'openai_chat.jsonl'}:7")

    triage = _row(df, "chatcmpl-AAA001")
    assert triage["system_prompt"].startswith("You triage support tickets")
    assert triage["prompt_text"].startswith("Ticket #5521")
    assert triage["response_text"] == "billing"
    assert (triage["prompt_tokens"], triage["completion_tokens"]) == (61, 1)
    assert triage["tokens_estimated"] is False and triage["cost_estimated"] is True
    assert triage["cost_usd"] == pytest.approx((61 * 2.5 + 1 * 10) / 1e6)  # gpt-4o list price
    assert triage["provider"] == "openai" and triage["user_id"] == "u_17"
    assert triage["source"].endswith("openai_chat.jsonl:1")
    assert triage["timestamp"].isoformat() == "2026-10-05T09:12:01.120000+00:00"

    invoice = _row(df, "chatcmpl-AAA002")
    assert invoice["n_non_text_parts"] == 1 and invoice["prompt_text"].startswith("Extract vendor")

    tool = _row(df, "chatcmpl-AAA003")
    assert tool["n_tool_calls"] == 1 and "run_sql" in tool["response_text"]
    assert json.loads(tool["metadata"])["tools"] == ["run_sql"]

    failed = _row(df, "req_9f1")
    assert failed["status"] == "error" and "429" in failed["error"] and failed["cost_usd"] is None

    unpriced = _row(df, "chatcmpl-AAA004")
    assert unpriced["cost_usd"] is None and unpriced["tokens_estimated"] is True
    assert rep.unpriced_models == {"northwind-ft-llama-8b": 1}

    no_usage = _row(df, "chatcmpl-AAA005")  # usage absent: counted with o200k for gpt-4o
    assert no_usage["tokens_estimated"] and no_usage["completion_tokens"] > 3 and no_usage["cost_estimated"]
    _counts_add_up(rep)


def test_openai_batch_join(fixtures: Path) -> None:
    res = ingest([fixtures / "batch_output.jsonl", fixtures / "batch_input.jsonl"])
    df, rep = res.frame, res.report
    assert sorted(df["id"]) == ["nightly-1", "nightly-2", "nightly-3"]
    assert _row(df, "nightly-1")["response_text"] == "positive"
    assert _row(df, "nightly-2")["completion_tokens"] == 1
    expired = _row(df, "nightly-3")
    assert expired["status"] == "error" and "batch_expired" in expired["error"]
    assert rep.batch_joined == 3
    out_file = next(f for f in rep.files if f.path.endswith("batch_output.jsonl"))
    assert out_file.skipped == {"batch_output_without_input": 1}
    _counts_add_up(rep)


def test_batch_input_alone_is_kept_as_pending(fixtures: Path) -> None:
    res = ingest(fixtures / "batch_input.jsonl")
    assert set(res.frame["status"]) == {"pending"}
    assert any("no output line" in n for n in res.report.notes)


def test_langfuse_export(fixtures: Path) -> None:
    res = ingest(fixtures / "langfuse_export.json")
    df, rep = res.frame, res.report
    assert rep.files[0].format == "langfuse"
    assert sorted(df["id"]) == ["obs-001", "obs-003"]
    ok = _row(df, "obs-001")
    assert ok["model"] == "gpt-4o-2024-08-06" and ok["cost_usd"] == pytest.approx(0.00027)
    assert ok["latency_ms"] == pytest.approx(1500) and ok["session_id"] == "sess-4" and ok["user_id"] == "cust-88"
    assert ok["system_prompt"].startswith("Answer using only the policy")
    assert json.loads(ok["metadata"])["promptName"] == "faq"
    err = _row(df, "obs-003")
    assert err["status"] == "error" and err["error"] == "Request timed out" and err["latency_ms"] == 30000
    assert rep.skipped == {"not_an_llm_call": 1, "wrong_type": 1}
    assert "usageDetails.output" in rep.files[0].examples["wrong_type"][0]


def test_helicone_csv(fixtures: Path) -> None:
    res = ingest(fixtures / "helicone_export.csv")
    df, rep = res.frame, res.report
    assert rep.files[0].format == "helicone" and df.height == 3
    ok = _row(df, "hel-1")
    assert ok["response_text"] == "bug" and ok["latency_ms"] == 310 and ok["session_id"] == "hs-9"
    assert ok["cost_usd"] == pytest.approx(0.0000039) and not ok["cost_estimated"]
    assert _row(df, "hel-2")["status"] == "error"
    anthropic = _row(df, "hel-4")
    assert anthropic["system_prompt"] == "You write SQL for PostgreSQL." and anthropic["response_text"].startswith("SELECT")
    assert anthropic["provider"] == "anthropic"
    assert rep.skipped == {"missing_field": 1}
    assert "request_body" in rep.files[0].examples["missing_field"][0]


def test_litellm_spend_logs(fixtures: Path) -> None:
    res = ingest(fixtures / "litellm_spend_logs.jsonl")
    df, rep = res.frame, res.report
    assert sorted(df["id"]) == ["chatcmpl-L1", "chatcmpl-L3"]
    ok = _row(df, "chatcmpl-L1")
    assert ok["cost_usd"] == pytest.approx(0.000118) and ok["latency_ms"] == pytest.approx(820)
    assert ok["session_id"] == "ls-1" and ok["user_id"] == "svc-reports"
    failed = _row(df, "chatcmpl-L3")
    assert failed["status"] == "error" and "Timeout" in failed["error"]
    assert rep.skipped == {"no_stored_messages": 1, "duplicate_id": 1}


def test_langsmith_runs(fixtures: Path) -> None:
    res = ingest(fixtures / "langsmith_runs.jsonl")
    df, rep = res.frame, res.report
    assert df.height == 2 and rep.skipped == {"not_an_llm_call": 1}
    review = _row(df, "5f1c0a9e-0000-4000-8000-000000000001")
    assert [m["role"] for m in review["messages"]] == ["system", "user"]
    assert review["prompt_text"].startswith("Review this diff") and review["response_text"].startswith("1. `x or None`")
    assert review["model"] == "gpt-4.1-2025-04-14" and review["latency_ms"] == pytest.approx(2250)
    assert review["user_id"] == "dev-2" and review["session_id"] == "th-5"
    legacy = _row(df, "5f1c0a9e-0000-4000-8000-000000000003")
    assert legacy["prompt_text"] == "Human: What is 17% of 2,400?" and legacy["response_text"] == "408"


def test_posthog_events(fixtures: Path) -> None:
    df = ingest(fixtures / "posthog_events.jsonl").frame
    row = _row(df, "0190-ph-1")
    assert row["latency_ms"] == pytest.approx(520) and row["response_text"] == "revenue, growth, europe"
    assert json.loads(row["metadata"])["plan"] == "pro"


def test_generic_table_with_mapping(fixtures: Path) -> None:
    res = ingest(fixtures / "qa_table.csv", format="table",
                 mapping="prompt=question,response=answer,timestamp=asked_at,slm_correct=small_ok,"
                         "frontier_correct=big_ok,feedback=thumbs")
    df = res.frame
    assert df.height == 3 and df["slm_correct"].to_list() == [True, False, True]
    assert df["frontier_correct"].to_list() == [True, True, True]
    assert df["feedback"].to_list() == [1.0, None, 0.0]
    assert df.schema["slm_correct"] == pl.Boolean and df.schema["feedback"] == pl.Float64
    assert df["response_text"][1] == "80 km/h" and df["timestamp"][0].year == 2026
    assert json.loads(df["metadata"][0]) == {"model": "gpt-4o"}  # unmapped columns land in metadata


def test_table_prompt_column_is_guessed_and_reported(fixtures: Path) -> None:
    res = ingest(fixtures / "qa_table.csv")
    assert res.report.files[0].format == "table" and res.frame.height == 3
    assert any("guessed as 'question'" in n for n in res.report.notes)


def test_parquet_and_gzip_inputs(fixtures: Path, tmp_path: Path) -> None:
    pl.read_csv(fixtures / "qa_table.csv").write_parquet(tmp_path / "qa.parquet")
    gz = tmp_path / "chat.jsonl.gz"
    gz.write_bytes(gzip.compress((fixtures / "openai_chat.jsonl").read_bytes()))
    res = ingest([tmp_path / "qa.parquet", gz], mapping="prompt=question")
    assert res.frame.filter(pl.col("format") == "table").height == 3
    assert res.frame.filter(pl.col("format") == "openai_chat").height == 6


def test_all_fixtures_together_have_unique_ids_and_consistent_counts(fixtures: Path) -> None:
    res = ingest([fixtures])
    assert res.frame["id"].n_unique() == res.frame.height
    _counts_add_up(res.report)
    assert {f.format for f in res.report.files} >= {"openai_chat", "langfuse", "helicone", "litellm", "langsmith",
                                                     "posthog", "table", "openai_batch_input", "openai_batch_output"}
    text = str(res.report)
    assert "skipped" in text and "invalid_json" in text


def test_every_registered_format_detects_its_example() -> None:
    from slmprofile.ingest.core import _detect

    for name, cls in FORMATS.items():
        detected = _detect([(1, cls.example)], {})
        assert detected is not None and detected.name == name, name
        row = cls().parse(cls.example)
        assert row["prompt_text"] or name == "openai_batch_output"


# ------------------------------------------------------------------ bad input


def _write(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def _chat_line(i: int, content: object = "hello there", **extra: object) -> str:
    record = {"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]},
              "response": {"id": f"c{i}", "choices": [{"message": {"role": "assistant", "content": "hi"}}],
                           "usage": {"prompt_tokens": 5, "completion_tokens": 1}}}
    record.update(extra)
    return json.dumps(record)


@pytest.mark.parametrize(
    ("line", "reason", "field"),
    [
        ('{"request": {"model": "gpt-4o", "messages": [{"role": "us', "invalid_json", None),
        (b'{"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "caf\xe9"}]}}', "non_utf8", None),
        ("[1, 2, 3]", "not_an_object", None),
        (_chat_line(9, content="   "), "empty_prompt", "prompt_text"),
        (_chat_line(8).replace('"prompt_tokens": 5', '"prompt_tokens": "five"'), "wrong_type", "usage.prompt_tokens"),
        (_chat_line(7).replace('"messages": [{"role": "user", "content": "hello there"}]', '"messages": []'),
         "missing_field", "request.messages"),
        (_chat_line(1), "duplicate_id", "id"),
        (_chat_line(6, timestamp="yesterday at noon"), "wrong_type", "timestamp"),
    ],
)
def test_bad_lines_are_counted_with_location_or_raise_in_strict_mode(
        tmp_path: Path, line: str | bytes, reason: str, field: str | None) -> None:
    path = _write(tmp_path / "calls.jsonl", [_chat_line(1), _chat_line(2), line, _chat_line(3)])
    res = ingest(path)
    assert res.frame.height == 3
    assert res.report.skipped == {reason: 1}
    example = res.report.files[0].examples[reason][0]
    assert example.startswith(f"{path}:3")
    if field:
        assert f"'{field}'" in example
    with pytest.raises(IngestError, match=rf"{path}:3: {reason}"):
        ingest(path, strict=True)


def test_empty_file_is_reported_and_strict_raises(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    good = _write(tmp_path / "good.jsonl", [_chat_line(1)])
    res = ingest([empty, good])
    assert res.frame.height == 1
    assert res.report.files[0].problem == "empty file"
    with pytest.raises(IngestError, match="empty.jsonl: empty file"):
        ingest([empty, good], strict=True)
    with pytest.raises(IngestError, match="nothing to ingest"):
        ingest(empty)


def test_unknown_format_names_the_file_and_the_choices(tmp_path: Path) -> None:
    odd = _write(tmp_path / "odd.jsonl", [json.dumps({"foo": 1, "bar": "x"})] * 3)
    good = _write(tmp_path / "good.jsonl", [_chat_line(1)])
    res = ingest([odd, good])
    assert res.report.files[0].skipped == {"unknown_format": 3}
    assert "pass --format" in res.report.files[0].problem
    with pytest.raises(IngestError, match=r"odd.jsonl: could not detect the log format .*'bar', 'foo'"):
        ingest(odd, strict=True)
    with pytest.raises(IngestError, match="valid formats"):
        ingest(good, format="not-a-format")


def test_missing_file_and_bad_map_spec(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="TARGET=COLUMN"):
        parse_mapping("prompt")
    assert parse_mapping("prompt=q, slm_correct=mistralai/Mixtral-8x7B-Instruct-v0.1") == {
        "prompt": "q", "slm_correct": "mistralai/Mixtral-8x7B-Instruct-v0.1"}


def test_mapped_column_that_never_appears_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "calls.jsonl", [_chat_line(1), _chat_line(2)])
    res = ingest(path, mapping="feedback=metadata.thumbs")
    assert res.frame["feedback"].null_count() == 2
    assert any("'feedback'" in n and "empty in every row" in n for n in res.report.notes)
    with pytest.raises(IngestError, match="empty in every row"):
        ingest(path, mapping="feedback=metadata.thumbs", strict=True)


def test_csv_row_with_wrong_cell_count_and_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"prompt,answer\nhello,world\n\"a, b\",c,extra\nbad \xff byte,x\nfine,ok\n")
    res = ingest(path)
    assert res.frame["prompt_text"].to_list() == ["hello", "fine"]
    assert res.report.skipped == {"wrong_column_count": 1, "non_utf8": 1}
    assert res.report.files[0].examples["wrong_column_count"][0].startswith(f"{path}:3")
    assert res.report.files[0].examples["non_utf8"][0].startswith(f"{path}:4")


def test_ingest_streams_jsonl_lazily(tmp_path: Path) -> None:
    """The JSONL source is a generator over lines: it never reads the whole file's text at once."""
    import types

    from slmprofile.ingest.sources import iter_records

    path = _write(tmp_path / "calls.jsonl", [_chat_line(i) for i in range(5)])
    records = iter_records(path)
    assert isinstance(records, types.GeneratorType)
    first = next(records)
    assert first[0] == 1 and first[1]["response"]["id"] == "c0"


def test_templates_group_prompts_from_one_template(tmp_path: Path) -> None:
    tickets = ["the app crashes on login", "I was billed twice in March", "please add dark mode",
               "export to CSV is broken", "how do I change my email?", "refund order 4411"]
    lines = []
    for i, t in enumerate(tickets):
        lines.append(_chat_line(i, content=f"Classify this support ticket into billing, bug or other.\nTicket: {t}"))
    for i, t in enumerate(tickets):
        lines.append(_chat_line(100 + i, content=f"Translate into French:\n{t}"))
    lines.append(_chat_line(200, content="What is the weather like on Mars in July 2031?"))
    lines.append(_chat_line(201, content="What is the weather like on Mars in July 2035?"))
    lines.append(_chat_line(202, content="Write a haiku about spreadsheets"))
    df = ingest(_write(tmp_path / "t.jsonl", lines)).frame
    tid = dict(zip(df["id"], df["template_id"]))
    assert len({tid[f"c{i}"] for i in range(6)}) == 1
    assert len({tid[f"c{100 + i}"] for i in range(6)}) == 1
    assert tid["c0"] != tid["c100"]
    assert tid["c200"] == tid["c201"] != tid["c202"]  # differ only in numbers
    assert df["prompt_hash"].n_unique() == df.height


# ------------------------------------------------------------------ streaming to Parquet parts
SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"


def test_streaming_ingest_equals_in_memory_ingest(tmp_path: Path) -> None:
    """Parts of 500 calls (8 parts, all four formats incl. Batch joins and bad lines) give the same calls, template
    ids and report as the in-memory reader."""
    from slmprofile.ingest import ingest_to_parquet

    whole = ingest(SAMPLE_LOGS)
    parts = ingest_to_parquet(SAMPLE_LOGS, tmp_path, chunk_rows=500)
    assert len(parts.parts) == -(-whole.frame.height // 500)
    streamed = parts.scan().collect()
    assert streamed.columns == whole.frame.columns
    assert streamed.sort("id").equals(whole.frame.sort("id"))
    a, b = whole.report.to_dict(), parts.report.to_dict()
    for key in ("rows_read", "rows_kept", "rows_skipped", "rows_out", "templates", "tokens_estimated",
                "cost_estimated", "batch_joined", "skipped"):
        assert a[key] == b[key], key


def test_streaming_ingest_joins_outcome_tables_like_the_in_memory_reader(tmp_path: Path) -> None:
    """The eval table is checked once against every part's ids and joined part by part: the same columns, values
    and outcome report (matched / unmatched / repeated / bad rows) as ``ingest(..., outcomes=...)``."""
    from slmprofile.ingest import ingest_to_parquet

    evals = SAMPLE_LOGS.parent / "evals" / "offline_eval.csv"
    table = pl.read_csv(evals)
    extra = table.head(2).with_columns(pl.Series("id", ["no-such-call", table["id"][0]]))  # unmatched + repeat
    pl.concat([table, extra]).write_csv(tmp_path / "evals.csv")
    whole = ingest(SAMPLE_LOGS, outcomes=tmp_path / "evals.csv")
    parts = ingest_to_parquet(SAMPLE_LOGS, tmp_path / "parts", chunk_rows=500, outcomes=tmp_path / "evals.csv")
    streamed = parts.scan().collect()
    assert streamed.columns == whole.frame.columns and "slm_correct" in streamed.columns
    assert streamed.sort("id").equals(whole.frame.sort("id"))
    report = parts.report.outcomes[0]
    assert report.to_dict() == whole.report.outcomes[0].to_dict()
    assert report.unmatched == 1 and report.duplicate == 1 and report.matched == table.height


def _reversed_tasks(fn, args, desc, progress=False):
    """Each round's tasks run, and come back, last-first: a result that leaned on another task of its round, or a
    coordinator that leaned on the order results arrive in, would show."""
    for i in reversed(range(len(args))):
        yield i, fn(*args[i])


def test_ingest_in_pieces_equals_the_streaming_reader(tmp_path: Path) -> None:
    """The task-by-task ingest the Ray workers run (a task per file, per id bucket, per part) gives the one-process
    reader's calls, in its order, and its report to the line: ids repeated within and across files (a copied log,
    a Batch API input whose custom id is a logged call's id) dropped where they were read, an eval table joined,
    templates learnt from the merged samples (small enough that the sample is a true subset)."""
    import json
    import shutil

    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.ingest.pieces import ingest_in_pieces

    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    shutil.copy(SAMPLE_LOGS / "openai_chat.jsonl", logs / "openai_chat_again.jsonl")
    fixtures = Path(__file__).parent / "fixtures"
    batch = [json.loads(line) for line in (fixtures / "batch_input.jsonl").read_text().splitlines()]
    batch[0]["custom_id"] = ingest(SAMPLE_LOGS / "openai_chat.jsonl").frame["id"][0]
    (logs / "batch_input.jsonl").write_text("".join(json.dumps(r) + "\n" for r in batch))
    shutil.copy(fixtures / "batch_output.jsonl", logs / "batch_output.jsonl")
    evals = SAMPLE_LOGS.parent / "evals" / "offline_eval.csv"
    options = {"chunk_rows": 300, "template_sample": 900, "outcomes": evals}

    one = ingest_to_parquet(logs, tmp_path / "one", **options)
    pieces = ingest_in_pieces(logs, tmp_path / "pieces", run_tasks=_reversed_tasks, bucket_ids=700, **options)
    a, b = one.report.to_dict(), pieces.report.to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert a["skipped"]["duplicate_id"] > 870 and a["batch_joined"] >= 1 and a["templates"] > 1
    again = next(f for f in a["files"] if f["path"].endswith("openai_chat_again.jsonl"))
    assert again["rows_kept"] == 0 and again["examples"]["duplicate_id"][0].startswith(f"{logs}/openai_chat_again")
    assert b["outcomes"][0]["matched"] > 0
    frame = pieces.scan().collect()
    assert frame.equals(one.scan().collect()) and frame["id"].is_unique().all()
    assert len(pieces.parts) > len(list(logs.iterdir()))  # several parts per file, cut per file


def test_streaming_ingest_learns_templates_from_a_bounded_sample(tmp_path: Path) -> None:
    from slmprofile.ingest import ingest_to_parquet

    whole = ingest(SAMPLE_LOGS)
    small = ingest_to_parquet(SAMPLE_LOGS, tmp_path, chunk_rows=400, template_sample=600).scan().collect()
    assert small["template_id"].null_count() == 0
    pairs = whole.frame.select("id", "template_id").join(small.select("id", pl.col("template_id").alias("s")),
                                                         on="id")
    # learnt from 600 of ~3,200 distinct prompts, the template grouping is still nearly the same
    from sklearn.metrics import adjusted_rand_score

    ari = adjusted_rand_score(pairs["template_id"].to_list(), pairs["s"].to_list())
    assert ari > 0.9, ari
    with pytest.raises(ValueError, match="chunk_rows"):
        ingest_to_parquet(SAMPLE_LOGS, tmp_path, chunk_rows=0)


def test_cli_stream_ingest_writes_redacted_parts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from slmprofile.cli import app

    out = tmp_path / "parts"
    result = CliRunner().invoke(app, ["ingest", str(SAMPLE_LOGS), "--stream", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "parts to" in result.output and "redacted:" in result.output
    from slmprofile.redact import redact_logs

    frame = pl.scan_parquet(str(out / "part-*.parquet")).collect()
    expected, counts = redact_logs(ingest(SAMPLE_LOGS).frame)
    assert counts["EMAIL"] > 0 and frame.sort("id").equals(expected.sort("id"))
