"""``slmprofile export finetune``: fine-tuning data per task type from the bundled sample's raw (unredacted) logs,
with the sample's true task types as the run's task types."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slmprofile.loop import FinetuneDataSettings, check_example, export_finetune
from slmprofile.loop.training_data import (MIN_GROUPS_FOR_TEMPLATE_SPLIT, _split, assistant_message,
                                          conversation, prompt_key, redact_messages)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
VERDICTS = {"ticket_triage": "slm", "faq_answer": "slm", "email_drafting": "undecided",
            "sql_generation": "undecided", "strategy_question": "frontier", "math_word_problem": "frontier"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run directory without embeddings: raw logs (PII still in them), the true task types, chosen verdicts."""
    import polars as pl

    from slmprofile.ingest import ingest
    from slmprofile.rundir import RunDir

    root = tmp_path_factory.mktemp("ft") / "run"
    root.mkdir()
    logs = ingest(DATA / "logs", outcomes=DATA / "evals" / "offline_eval.csv").frame
    logs.write_parquet(root / RunDir.LOGS)
    truth = pl.read_csv(DATA / "truth.csv").select("id", "task_type")
    names = sorted(truth["task_type"].unique().to_list())
    truth.with_columns(pl.col("task_type").replace_strict({n: i for i, n in enumerate(names)},
                                                          return_dtype=pl.Int64).alias("cluster_id")) \
        .write_parquet(root / RunDir.CLUSTERS)
    pl.DataFrame({"task_type": names, "verdict": [VERDICTS.get(n, "frontier") for n in names]}) \
        .write_parquet(root / RunDir.SUITABILITY)
    return root


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft-out")
    return export_finetune(run_dir, out), out


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def openai_format_problems(example: dict) -> list[str]:
    """The checks of OpenAI's published format validation for chat fine-tuning data, written out here."""
    problems = []
    messages = example.get("messages")
    if not messages:
        return ["missing messages list"]
    for m in messages:
        if "role" not in m or ("content" not in m and "tool_calls" not in m):
            problems.append("message missing key")
        if any(k not in ("role", "content", "name", "tool_calls", "tool_call_id", "weight") for k in m):
            problems.append("message unrecognized key")
        if m.get("role") not in ("system", "user", "assistant", "tool"):
            problems.append("unrecognized role")
        content = m.get("content")
        if (content is None and not m.get("tool_calls")) or (content is not None and not isinstance(content, str)):
            problems.append("missing content")
    if not any(m.get("role") == "assistant" for m in messages):
        problems.append("example missing assistant message")
    return problems


def test_only_slm_and_undecided_types_are_exported_by_default(exported):
    result, out = exported
    assert {t.task_type for t in result.task_types} == {n for n, v in VERDICTS.items() if v in ("slm", "undecided")}
    manifest = json.loads((out / "manifest.json").read_text())
    assert {t["task_type"] for t in manifest["task_types"]} == {t.task_type for t in result.task_types}
    assert manifest["assumptions"]["usd_per_million_training_tokens"] == 3.0


def test_every_line_is_valid_openai_chat_fine_tuning_data_and_tool_calls_are_kept(exported):
    result, out = exported
    total = tool_answers = 0
    for t in result.task_types:
        for split in ("train", "validation", "test"):
            for example in lines(out / t.files[split]):
                total += 1
                assert check_example(example) is None and openai_format_problems(example) == [], example
                roles = [m["role"] for m in example["messages"]]
                assert roles[-1] == "assistant" and "user" in roles and roles.count("system") <= 1
                last = example["messages"][-1]
                if "tool_calls" in last:
                    tool_answers += 1
                    call = last["tool_calls"][0]
                    assert call["type"] == "function" and call["function"]["name"] == "run_sql"
                    assert isinstance(json.loads(call["function"]["arguments"]), dict)
    assert total > 500
    sql = next(t for t in result.task_types if t.task_type == "sql_generation")
    assert sql.tool_call_examples > 0 and tool_answers > 0


def test_no_pii_of_the_raw_logs_reaches_the_export(run_dir, exported):
    import polars as pl

    from slmprofile.redact.text import find_pii

    result, out = exported
    logs = pl.read_parquet(run_dir / "logs.parquet")
    truth = pl.read_csv(DATA / "truth.csv").filter(pl.col("has_pii"))
    raw = logs.join(truth.select("id"), on="id")
    values = set()
    for row in raw.iter_rows(named=True):
        texts = [m["content"] or "" for m in row["messages"] or []] + [row["response_text"] or ""]
        for text in texts:
            values |= {text[f.start:f.end] for f in find_pii(text)}
    assert len(values) > 50  # the sample seeds emails, phones, IBANs, cards ... in these calls
    written = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.jsonl"))
    leaked = sorted(v for v in values if v in written)
    assert not leaked, leaked[:5]
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", written)


def test_no_prompt_is_in_both_train_and_test_and_duplicates_are_dropped(exported):
    result, out = exported
    for t in result.task_types:
        keys = {s: [prompt_key(e["messages"]) for e in lines(out / t.files[s])]
                for s in ("train", "validation", "test")}
        assert not set(keys["train"]) & set(keys["test"]), t.task_type
        assert not set(keys["validation"]) & set(keys["test"]), t.task_type
        assert t.counts["test"] > 0 and t.counts["train"] > t.counts["test"]
    faq = next(t for t in result.task_types if t.task_type == "faq_answer")
    assert faq.dropped.get("exact_duplicate", 0) + faq.dropped.get("near_duplicate", 0) > 0
    # known-wrong frontier answers are not training data
    assert sum(t.dropped.get("frontier_wrong", 0) for t in result.task_types) > 0


def test_split_keeps_templates_whole_and_holds_out_the_latest():
    rows = [{"group": f"t{i // 10}", "time": f"2026-10-{1 + i // 10:02d}"} for i in range(100)]
    how, assignment = _split(rows, 0.1, 0.2)
    assert how == "template and time"
    by_group: dict[str, set[str]] = {}
    for row, split in zip(rows, assignment):
        by_group.setdefault(row["group"], set()).add(split)
    assert all(len(s) == 1 for s in by_group.values())  # no template straddles two splits
    assert by_group["t9"] == {"test"} and by_group["t0"] == {"train"}  # the latest templates are held out
    assert assignment.count("test") == 20 and assignment.count("validation") == 10
    few = [{"group": f"t{i % (MIN_GROUPS_FOR_TEMPLATE_SPLIT - 1)}", "time": f"{i:04d}"} for i in range(40)]
    how, assignment = _split(few, 0.1, 0.2)
    assert how == "time" and assignment[-8:] == ["test"] * 8 and assignment[:28] == ["train"] * 28
    # one huge template and a few small ones: whole templates cannot give the shares asked for, so by time
    lopsided = [{"group": "big" if i < 96 else f"s{i}", "time": f"{i:04d}"} for i in range(100)]
    how, assignment = _split(lopsided, 0.1, 0.15)
    assert how == "time" and assignment.count("test") == 15 and assignment.count("validation") == 10


def test_data_in_the_system_prompt_under_a_fixed_instruction_still_trains():
    """The same short user instruction under 40 different system prompts is 40 prompts, not one."""
    import polars as pl

    from slmprofile.loop.training_data import FinetuneDataSettings, _prepare_type

    part = pl.DataFrame({
        "id": [f"c{i}" for i in range(40)], "timestamp": [f"2026-10-{1 + i % 28:02d}T0{i % 10}:00:00Z" for i in range(40)],
        "status": ["ok"] * 40, "system_prompt": [f"Ticket from customer {i}: my order {1000 + i} never arrived"
                                                 for i in range(40)],
        "messages": [[{"role": "user", "content": "Classify the ticket above.", "name": None, "tool_calls": None,
                       "tool_call_id": None}] for _ in range(40)],
        "response_text": ["shipping"] * 40, "n_tool_calls": [0] * 40, "n_non_text_parts": [0] * 40,
        "template_id": ["t1"] * 40, "prompt_hash": [f"h{i}" for i in range(40)],
        "prompt_tokens": [30] * 40, "completion_tokens": [1] * 40})
    prepared = _prepare_type(part, FinetuneDataSettings(redact=False))
    kept = prepared.kept()
    assert prepared.dropped["test_overlap"] == 0 and len(kept) == 40
    assert {split for _, split in kept} == {"train", "validation", "test"}


def test_tool_calls_are_normalised_and_their_arguments_redacted_as_json():
    answer = assistant_message(json.dumps([{"name": "refund", "args": {"card": 4111111111111111, "amount": 12},
                                            "id": "c1"}]), 1)
    assert answer["tool_calls"][0]["function"]["name"] == "refund"  # the LangChain shape, made OpenAI's
    (redacted,) = redact_messages([answer])
    arguments = json.loads(redacted["tool_calls"][0]["function"]["arguments"])  # still JSON
    assert arguments["amount"] == 12 and "4111111111111111" not in json.dumps(arguments)
    turns = conversation([{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"},
                          {"role": "function", "name": "lookup", "content": "{}"}], None)
    assert [m["role"] for m in turns] == ["system", "user", "tool"] and turns[2]["tool_call_id"] == "lookup"
    assert check_example({"messages": [{"role": "system", "content": "a"}, {"role": "user", "content": "b"},
                                       {"role": "system", "content": "c"}, {"role": "assistant", "content": "d"}]})


def test_settings_and_names_are_checked(run_dir, tmp_path):
    with pytest.raises(ValueError, match="validation_share"):
        FinetuneDataSettings(validation_share=0.5, test_share=0.4).check()
    with pytest.raises(ValueError, match="did you mean 'ticket_triage'"):
        export_finetune(run_dir, tmp_path, FinetuneDataSettings(task_types=["ticket"]))
    chosen = export_finetune(run_dir, tmp_path, FinetuneDataSettings(task_types=["strategy_question"],
                                                                   min_eval_score=0.5))
    assert [t.task_type for t in chosen.task_types] == ["strategy_question"]


def test_cli_writes_the_export_and_refuses_to_overwrite(run_dir, tmp_path):
    out = tmp_path / "ft"
    cmd = [sys.executable, "-m", "slmprofile", "export", "finetune", str(run_dir), "--out", str(out),
           "-t", "ticket_triage", "--usd-per-mtok", "5"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "ticket_triage" in proc.stdout and "$5 per million" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    (entry,) = manifest["task_types"]
    assert entry["estimated_training_usd"] == pytest.approx(entry["train_tokens"] * 3 * 5 / 1e6, abs=1e-4)
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and again.stderr.startswith("error:") and "--overwrite" in again.stderr


def test_the_test_split_reads_back_as_a_log_with_the_frontier_answer_as_reference(exported):
    from slmprofile.ingest import ingest

    result, out = exported
    triage = next(t for t in result.task_types if t.task_type == "ticket_triage")
    examples = lines(out / triage.files["test"])
    logs = ingest(out / triage.files["test"]).frame
    assert logs.height == len(examples) == triage.counts["test"]
    assert set(logs["format"]) == {"chat_transcript"} and set(logs["status"]) == {"ok"}
    assert logs["response_text"].to_list() == [e["messages"][-1]["content"] for e in examples]
    assert logs["prompt_text"].to_list() == [e["messages"][-2]["content"] for e in examples]
