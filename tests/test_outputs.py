"""Never delete or overwrite a user's file; redact every text column that leaves the machine; one-line errors for
output paths that cannot be written (issue: reliability and privacy)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from slmprofile.cli import app
from slmprofile.errors import OutputError
from slmprofile.outputs import MANIFEST, check_output_file, claim_dir, read_manifest

PROMPTS = ["Classify this ticket: my card was charged twice", "Summarise the meeting notes below in three bullets",
           "Translate to German: the invoice is attached", "Write a haiku about autumn rain",
           "Extract the order number from: order 5521 arrived damaged"]


def _chat_log(path: Path, n: int = 40, *, user: str = "u-1", session: str = "s-1", note: str = "ok") -> Path:
    """A small OpenAI chat JSONL of ``n`` calls; ``user`` / ``session`` / ``note`` land in request fields."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            record = {"timestamp": f"2026-10-{1 + i % 28:02d}T10:00:00Z", "latency_ms": 500 + i,
                      "session_id": session,
                      "request": {"model": "gpt-4o", "user": user, "metadata": {"note": note},
                                  "messages": [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]} (#{i})"}]},
                      "response": {"id": f"chatcmpl-{i}", "model": "gpt-4o-2024-08-06",
                                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"},
                                                "finish_reason": "stop"}],
                                   "usage": {"prompt_tokens": 20, "completion_tokens": 3}}}
            handle.write(json.dumps(record) + "\n")
    return path


def _invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result, (result.stderr if hasattr(result, "stderr") and result.stderr else result.output)


def _one_line_error(result, text: str, *names: str) -> None:
    assert result.exit_code == 2, text
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and sum(line.startswith("error:") for line in lines) == 1, text
    assert "Traceback" not in text
    for name in names:
        assert name in text.replace("\n", ""), (name, text)


# ------------------------------------------------------------------------------------------------ data loss


def test_stream_ingest_into_the_folder_of_its_spark_style_inputs_deletes_nothing(tmp_path: Path) -> None:
    spark = tmp_path / "spark"
    spark.mkdir()
    frame = pl.DataFrame({"prompt": PROMPTS * 4, "answer": ["x"] * 20})
    inputs = [spark / "part-00000-3f1c.snappy.parquet", spark / "part-00001-3f1c.snappy.parquet"]
    for path in inputs:
        frame.write_parquet(path)
    before = {p: p.read_bytes() for p in inputs}
    for extra in ([], ["--overwrite"]):
        result, text = _invoke("ingest", spark, "--stream", "--out", spark, "--map", "prompt=prompt", *extra)
        _one_line_error(result, text, str(spark))
    assert {p: p.read_bytes() for p in spark.iterdir()} == before


def test_stream_ingest_keeps_a_users_part_file_and_lists_only_its_own(tmp_path: Path) -> None:
    log = _chat_log(tmp_path / "calls.jsonl")
    userdir = tmp_path / "userdir"
    userdir.mkdir()
    mine = userdir / "part-2024-sales.parquet"
    mine.write_bytes(b"the user's own data")
    result, text = _invoke("ingest", log, "--stream", "--out", userdir)
    _one_line_error(result, text, str(userdir), "--overwrite")
    result, text = _invoke("ingest", log, "--stream", "--out", userdir, "--overwrite")
    assert result.exit_code == 0, text
    assert mine.read_bytes() == b"the user's own data"
    assert read_manifest(userdir) == {"part-00000.parquet"}
    assert pl.read_parquet(userdir / "part-00000.parquet").height == 40
    # again with --overwrite: the earlier part (listed) is replaced, the user's file still kept
    result, _ = _invoke("ingest", log, "--stream", "--out", userdir, "--overwrite")
    assert result.exit_code == 0 and mine.read_bytes() == b"the user's own data"


def test_stream_run_keeps_files_in_a_parts_folder_and_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    from slmprofile.pipeline import run

    log = _chat_log(tmp_path / "calls.jsonl")
    out = tmp_path / "runs" / "stream"
    (out / "parts").mkdir(parents=True)
    important = out / "parts" / "important.csv"
    important.write_text("a,b\n1,2\n")
    with pytest.raises(OutputError, match="not empty"):
        run([log], out, stream=True, embed=False, router=False, html_report=False)
    result = run([log], out, stream=True, embed=False, router=False, html_report=False, overwrite=True)
    assert important.read_text() == "a,b\n1,2\n"
    assert result.report.rows_out == 40 and (out / "logs.parquet").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".parts-")]  # the run's own parts folder is gone
    listed = read_manifest(out)
    assert {"logs.parquet", "run.json"} <= listed and "parts/important.csv" not in listed


def test_run_into_an_earlier_run_needs_overwrite_and_removes_only_listed_files(tmp_path: Path) -> None:
    from slmprofile.pipeline import run

    log = _chat_log(tmp_path / "calls.jsonl")
    out = tmp_path / "run"
    kwargs = dict(embed=False, router=False, html_report=False)
    run([log], out, **kwargs)
    first = read_manifest(out)
    assert {"logs.parquet", "run.json"} <= first
    (out / "notes.txt").write_text("mine")
    (out / "drafts").mkdir()  # an empty folder of the user's survives too
    with pytest.raises(OutputError, match="earlier slmprofile run.*--overwrite"):
        run([log], out, **kwargs)
    run([log], out, overwrite=True, **kwargs)
    assert (out / "notes.txt").read_text() == "mine" and (out / "drafts").is_dir()
    assert read_manifest(out) == first
    # a file of the user's where the run writes (a listed name, or inside its plots/ folder) stops it before
    # anything is removed
    (out / "plots").mkdir(exist_ok=True)
    (out / "plots" / "holiday.png").write_bytes(b"\x89PNG mine")
    with pytest.raises(OutputError, match="holiday.png: not written by slmprofile"):
        run([log], out, overwrite=True, **kwargs)
    assert (out / "run.json").is_file() and read_manifest(out) == first
    (out / "plots" / "holiday.png").unlink()
    (out / MANIFEST).write_text(json.dumps({"files": ["run.json"]}))
    with pytest.raises(OutputError, match="logs.parquet: not written by slmprofile"):
        run([log], out, overwrite=True, **kwargs)
    assert (out / "logs.parquet").is_file() and (out / "run.json").is_file()


def test_overwrite_never_follows_a_symlinked_folder_out_of_the_directory(tmp_path: Path) -> None:
    """A run directory received from someone else: its manifest lists ``plots/thesis.docx`` and ``plots`` is a
    link to the user's documents. ``--overwrite`` must not delete the document."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.docx").write_text("years of work")
    out = tmp_path / "received"
    out.mkdir()
    (out / "plots").symlink_to(docs, target_is_directory=True)
    (out / "run.json").write_text("{}")
    (out / MANIFEST).write_text(json.dumps({"files": ["plots/thesis.docx", "run.json"]}))
    claim_dir(out, overwrite=True, reserved=("run.json",))
    assert (docs / "thesis.docx").read_text() == "years of work" and not (out / "run.json").exists()
    with pytest.raises(OutputError, match="plots: not written by slmprofile"):
        claim_dir(out, overwrite=True, reserved=("plots",))
    assert (docs / "thesis.docx").is_file()


def test_stage_commands_replace_only_their_own_earlier_outputs(tmp_path: Path) -> None:
    from slmprofile.outputs import claim_file_in, record_outputs

    d = tmp_path / "here"
    d.mkdir()
    (d / "task_types.csv").write_text("the user's own table")
    with pytest.raises(OutputError, match="task_types.csv: exists and was not written by slmprofile"):
        claim_file_in(d, ["task_types.csv", "clusters.parquet"])
    (d / "clusters.parquet").write_text("ours")
    record_outputs(d, [d / "clusters.parquet"])
    claim_file_in(d, ["clusters.parquet"])  # an earlier output of slmprofile's may be replaced
    (d / "encoder").mkdir()
    (d / "encoder" / "mine.bin").write_text("x")
    with pytest.raises(OutputError, match="encoder"):
        claim_file_in(d, ["encoder"])


def test_report_embeds_only_the_images_the_run_wrote(tmp_path: Path, embedder) -> None:
    import base64
    import io
    import re

    from matplotlib.figure import Figure

    from slmprofile.cluster import TaskTypeClusterer
    from slmprofile.pipeline import run
    from slmprofile.report import write_report

    log = _chat_log(tmp_path / "calls.jsonl", n=60)
    out = tmp_path / "run"
    run([log], out, embedder=embedder, clusterer=TaskTypeClusterer(reducer="pca", n_bootstrap=0),
        suitability=False, savings=False, router=False)
    ours = sorted(read_manifest(out))
    assert any(n.startswith("plots/") and n.endswith(".png") for n in ours)
    fig = Figure(figsize=(2, 2))
    fig.subplots().set_title("PRIVATE HOLIDAY PHOTO")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    (out / "plots" / "holiday.png").write_bytes(buf.getvalue())
    (out / "router").mkdir(exist_ok=True)
    (out / "router" / "secret.png").write_bytes(buf.getvalue())
    page = write_report(out).read_text(encoding="utf-8")
    images = {base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)}
    assert images and buf.getvalue() not in images
    assert (out / "plots" / "task_map.png").read_bytes() in images or "plots/task_map.png" not in ours


# ------------------------------------------------------------------------------------------------ PII


def test_ids_mapped_columns_and_skip_details_are_redacted(tmp_path: Path) -> None:
    log = _chat_log(tmp_path / "calls.jsonl", user="jo.doe@example.com", session="10.20.30.40",
                    note="call +49 30 12345678 or mail anna.schmidt@firma.de")
    with log.open("a", encoding="utf-8") as handle:  # a bad line quoting PII: its detail reaches run.json
        handle.write('{"request": {"messages": [{"role": "user", "content": "card 4111 1111 1111 1111, '
                     'mail bad.line@example.org"}]}, "response": "not an object", "latency_ms": "soon"\n')
    out = tmp_path / "run"
    from slmprofile.pipeline import run

    run([log], out, mapping="note=request.metadata.note", embed=False, router=False, html_report=False)
    logs = pl.read_parquet(out / "logs.parquet")
    assert set(logs["user_id"].to_list()) == {"<EMAIL>"}
    assert set(logs["session_id"].to_list()) == {"<IP>"}
    assert "note" in logs.columns and all("<PHONE>" in v and "<EMAIL>" in v for v in logs["note"].to_list())
    written = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*.json"))
    for raw in ("jo.doe@example.com", "10.20.30.40", "12345678", "anna.schmidt", "4111 1111", "bad.line@"):
        assert raw not in written
    dumped = json.dumps(logs.to_dicts(), default=str)
    assert "bad.line" not in dumped and "jo.doe" not in dumped and "anna.schmidt" not in dumped
    info = json.loads((out / "run.json").read_text())
    assert info["ingest"]["rows_skipped"] >= 1
    # with --no-redact the user asked for raw text: kept as written
    raw = tmp_path / "raw"
    run([log], raw, mapping="note=request.metadata.note", redact=False, embed=False, router=False,
        html_report=False)
    assert set(pl.read_parquet(raw / "logs.parquet")["user_id"].to_list()) == {"jo.doe@example.com"}


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("case", ["existing_dir", "under_a_file", "existing_file", "read_only"])
def test_ingest_out_that_cannot_be_written_is_one_line(case: str, tmp_path: Path, monkeypatch) -> None:
    log = _chat_log(tmp_path / "calls.jsonl", n=5)
    out = tmp_path / "out.parquet"
    if case == "existing_dir":
        out = tmp_path / "somedir"
        out.mkdir()
    elif case == "under_a_file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "logs.parquet"
    elif case == "existing_file":
        out.write_bytes(b"keep me")
    elif case == "read_only":  # root may write anywhere: make the write itself fail as it would for a user
        def refuse(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(args[0]) if args else "")

        monkeypatch.setattr(pl.DataFrame, "write_parquet", refuse)
    result, text = _invoke("ingest", log, "--out", out)
    _one_line_error(result, text, str(out.name))
    if case == "existing_file":
        assert out.read_bytes() == b"keep me"
        result, _ = _invoke("ingest", log, "--out", out, "--overwrite")
        assert result.exit_code == 0 and pl.read_parquet(out).height == 5
    if case == "read_only":
        assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("command", ["report", "suitability", "savings"])
def test_stage_commands_name_a_missing_run_directory(command: str, tmp_path: Path) -> None:
    result, text = _invoke(command, tmp_path / "missing")
    _one_line_error(result, text, "missing")


def test_report_out_at_a_directory_or_an_existing_file(tmp_path: Path) -> None:
    log = _chat_log(tmp_path / "calls.jsonl", n=12)
    from slmprofile.pipeline import run

    run([log], tmp_path / "run", embed=False, router=False, html_report=False)
    result, text = _invoke("report", tmp_path / "run", "--out", tmp_path)
    _one_line_error(result, text, "is a directory")
    (tmp_path / "share.html").write_text("someone's page")
    result, text = _invoke("report", tmp_path / "run", "--out", tmp_path / "share.html")
    _one_line_error(result, text, "share.html", "--overwrite")
    assert (tmp_path / "share.html").read_text() == "someone's page"
    result, text = _invoke("report", tmp_path / "run")
    assert result.exit_code == 0, text  # RUN_DIR/report.html: new, then listed in the manifest
    assert "report.html" in read_manifest(tmp_path / "run")
    result, text = _invoke("report", tmp_path / "run")
    assert result.exit_code == 0, text  # its own earlier report may be replaced


def test_plots_draw_dollar_signs_in_names_as_written(tmp_path: Path) -> None:
    """A model called ``$\\frac$-llm`` (mathtext that cannot be parsed) must not end the report."""
    from datetime import date

    from slmprofile.report import plot_daily, png

    daily = pl.DataFrame({"day": [date(2026, 10, 1), date(2026, 10, 2)] * 2,
                          "model": [r"$\frac$-llm", r"$\frac$-llm", "gpt-$4o$", "gpt-$4o$"],
                          "calls": [3, 4, 5, 6], "cost_usd": [0.1, 0.2, 0.3, 0.4]})
    assert len(png(plot_daily(daily))) > 1000


def test_check_output_file_and_claim_dir_contracts(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a file, not a directory"):
        (tmp_path / "f").write_text("x")
        claim_dir(tmp_path / "f")
    claimed = claim_dir(tmp_path / "new" / "dir")
    (claimed.path / "a.txt").write_text("1")
    claimed.close()
    assert read_manifest(claimed.path) == {"a.txt"}
    (claimed.path / MANIFEST).write_text(json.dumps({"files": ["../../f", "/etc/passwd", "a.txt"]}))
    assert read_manifest(claimed.path) == {"a.txt"}  # a manifest never names a path outside its directory
    claim_dir(claimed.path, overwrite=True)
    assert (tmp_path / "f").read_text() == "x" and not (claimed.path / "a.txt").exists()
    assert check_output_file(tmp_path / "x" / "y.parquet") == tmp_path / "x" / "y.parquet"


@pytest.mark.parametrize("raised, expected", [
    (OutputError("out/run: is a file, not a directory\nsecond line"), "error: out/run: is a file, not a directory"),
    (PermissionError(13, "Permission denied", "out/logs.parquet"), "error: out/logs.parquet: Permission denied"),
])
def test_main_ends_any_unhandled_project_or_file_error_in_one_line(raised, expected, monkeypatch, capsys) -> None:
    import slmprofile.cli as cli

    def boom(*args, **kwargs) -> None:
        raise raised

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2 and capsys.readouterr().err == expected + "\n"


def test_sample_refuses_to_replace_existing_files(tmp_path: Path) -> None:
    out = tmp_path / "data"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "openai_chat.jsonl").write_text("my own calls\n")
    (out / "notes.md").write_text("mine")
    result, text = _invoke("sample", "--out", out, "--n-calls", "40")
    _one_line_error(result, text, "openai_chat.jsonl", "--overwrite")
    assert (out / "logs" / "openai_chat.jsonl").read_text() == "my own calls\n"
    result, text = _invoke("sample", "--out", out, "--n-calls", "10", "--overwrite")
    _one_line_error(result, text, "--n-calls")
    result, text = _invoke("sample", "--out", out, "--n-calls", "60", "--overwrite")
    assert result.exit_code == 0, text
    assert (out / "notes.md").read_text() == "mine" and (out / "truth.csv").is_file()


def test_strict_errors_and_mapped_structural_columns_carry_no_pii(tmp_path: Path) -> None:
    bad = tmp_path / "s.jsonl"
    bad.write_text(json.dumps({"latency_ms": "call jo.doe@example.com or +49 30 12345678",
                               "request": {"messages": [{"role": "user", "content": "hi"}]}}) + "\n")
    result, text = _invoke("ingest", bad, "--strict", "--out", tmp_path / "x.parquet")
    _one_line_error(result, text, "s.jsonl")
    assert "jo.doe" not in text and "12345678" not in text and "<EMAIL>" in text
    table = tmp_path / "t.csv"
    pl.DataFrame({"prompt": PROMPTS, "who": [f"user{i}@example.com" for i in range(5)]}).write_csv(table)
    out = tmp_path / "t.parquet"
    result, text = _invoke("ingest", table, "--map", "prompt=prompt,id=who,model=who", "--out", out)
    assert result.exit_code == 0, text
    logs = pl.read_parquet(out)
    assert "example.com" not in json.dumps(logs.to_dicts(), default=str)
    assert logs["id"].n_unique() == 5 and all(v.startswith("<EMAIL>#") for v in logs["id"].to_list())


def test_paths_and_values_that_look_like_markup_are_printed_as_written(tmp_path: Path) -> None:
    result, text = _invoke("report", tmp_path / "a[/b]" / "missing")
    _one_line_error(result, text, "a[/b]")
