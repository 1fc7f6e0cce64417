"""The sample generator: reproducibility of the committed ``data/`` and the shape of what it writes (stdlib only)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from slmprofile.sample import LOG_FILES, TASK_FAMILIES, SampleSummary, generate_sample

ROOT = Path(__file__).parents[1]
DATA = ROOT / "data"
WRITTEN = (
    "README.md",
    "truth.csv",
    "evals/offline_eval.csv",
    "logs/openai_chat.jsonl",
    "logs/langfuse_observations.jsonl",
    "logs/helicone_export.csv",
    "logs/litellm_spend_logs.jsonl.gz",
)
OPENAI, LANGFUSE, HELICONE, LITELLM = (
    "logs/openai_chat.jsonl", "logs/langfuse_observations.jsonl", "logs/helicone_export.csv", "logs/litellm_spend_logs.jsonl.gz",
)


def _sha(path: Path) -> str:
    """Digest of a file's content (of the decompressed bytes for .gz: compressors may differ across zlib builds)."""
    data = path.read_bytes()
    return hashlib.sha256(gzip.decompress(data) if path.name.endswith(".gz") else data).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {rel: _sha(root / rel) for rel in WRITTEN}


def _jsonl(path: Path) -> tuple[list[dict], int]:
    """Parsed objects of a JSONL file, and how many lines did not parse."""
    objs, bad = [], 0
    with (gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                objs.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    return objs, bad


def _helicone(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _text_of(messages: list[dict]) -> str:
    out = []
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out += [p.get("text", "") for p in c if isinstance(p, dict)]
    return "\n".join(out)


def _reader_ids(data: Path) -> dict[str, list[tuple[str, str]]]:
    """file -> [(id as a reader assigns it, prompt text)] for every LLM-call line (duplicates included)."""
    out: dict[str, list[tuple[str, str]]] = {}
    objs, _ = _jsonl(data / OPENAI)
    out[OPENAI] = [((o["response"] or {}).get("id") or o["request_id"], _text_of(o["request"]["messages"])) for o in objs]
    objs, _ = _jsonl(data / LANGFUSE)
    out[LANGFUSE] = [(o["id"], _text_of(o["input"])) for o in objs if o["type"] == "GENERATION"]
    out[HELICONE] = [(r["response_id"], _text_of(json.loads(r["request_body"])["messages"])) for r in _helicone(data / HELICONE)]
    objs, _ = _jsonl(data / LITELLM)
    out[LITELLM] = [(o["request_id"], _text_of(o["messages"])) for o in objs]
    return out


@pytest.fixture(scope="module")
def truth() -> list[dict[str, str]]:
    path = DATA / "truth.csv"
    assert path.is_file(), "data/ is missing: run python -c \"from slmprofile.sample import generate_sample; generate_sample('data')\""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------------------ reproducibility
def test_defaults_reproduce_committed_data(tmp_path: Path) -> None:
    summary = generate_sample(tmp_path)
    assert isinstance(summary, SampleSummary)
    assert summary.n_calls == 3600
    assert summary.seed == 7
    assert set(summary.files) == set(WRITTEN)
    for rel in WRITTEN:
        assert (DATA / rel).is_file(), f"data/{rel} is missing"
        assert _sha(tmp_path / rel) == _sha(DATA / rel), f"data/{rel} differs from a fresh generate_sample()"


def test_seed_decides_output(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", n_calls=400, seed=1)
    b = generate_sample(tmp_path / "b", n_calls=400, seed=1)
    c = generate_sample(tmp_path / "c", n_calls=400, seed=2)
    assert a.n_calls == b.n_calls == c.n_calls == 400
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    ta, tc = _tree(tmp_path / "a"), _tree(tmp_path / "c")
    for rel in LOG_FILES.values():
        assert ta[rel] != tc[rel], rel
    assert a.task_counts == {k: v for k, v in sorted(a.task_counts.items())}
    assert sum(a.task_counts.values()) == 400


# --------------------------------------------------------------------------------------------------- truth.csv
def test_truth_table(truth: list[dict[str, str]]) -> None:
    assert list(truth[0]) == ["id", "file", "task_type", "family", "template", "has_pii", "pii_kinds", "duplicate_of"]
    assert len(truth) >= 3000
    ids = [r["id"] for r in truth]
    assert len(set(ids)) == len(ids)
    tasks = {r["task_type"] for r in truth} - {"unknown_no_messages"}
    assert len(tasks) >= 12
    assert len({TASK_FAMILIES[t] for t in tasks}) >= 5
    for r in truth:
        assert (DATA / r["file"]).is_file(), r["file"]
        assert r["family"] == TASK_FAMILIES[r["task_type"]]
        assert r["has_pii"] in ("true", "false")
        assert (r["has_pii"] == "true") == bool(r["pii_kinds"])
        assert set(filter(None, r["pii_kinds"].split(";"))) <= {"EMAIL", "PHONE", "CARD", "IBAN", "IP", "API_KEY", "NATIONAL_ID"}
    assert len({r["file"] for r in truth}) >= 3
    templates: dict[str, set[str]] = defaultdict(set)
    for r in truth:
        templates[r["task_type"]].add(r["template"])
    for task in tasks:
        assert len(templates[task]) >= 2, task
        assert all(t.startswith(task + ".") for t in templates[task])
    by_id = set(ids)
    assert all(r["duplicate_of"] in by_id for r in truth if r["duplicate_of"])
    share_pii = sum(r["has_pii"] == "true" for r in truth) / len(truth)
    assert 0.05 < share_pii < 0.2
    files = Counter(r["file"] for r in truth)
    for rel in LOG_FILES.values():  # several task types in every file
        assert len({r["task_type"] for r in truth if r["file"] == rel}) >= 4, rel
        assert files[rel] > 300


def test_truth_ids_are_the_reader_ids(truth: list[dict[str, str]]) -> None:
    read = _reader_ids(DATA)
    for rel, rows in read.items():
        want = {r["id"] for r in truth if r["file"] == rel}
        got = [i for i, _ in rows]
        assert set(got) == want, rel
        assert len(got) > len(set(got)), f"{rel}: expected some lines written twice"
    total_lines = sum(len(v) for v in read.values())
    assert len(truth) < total_lines <= len(truth) * 1.04


def test_planted_pii_is_valid(truth: list[dict[str, str]]) -> None:
    prompts = {i: text for rows in _reader_ids(DATA).values() for i, text in rows}

    def luhn(digits: str) -> bool:
        total = 0
        for k, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if k % 2 else 1)
            total += d - 9 if d > 9 else d
        return total % 10 == 0

    def iban(s: str) -> bool:
        s = s.replace(" ", "")
        return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1

    seen = Counter()
    for r in truth:
        kinds = set(filter(None, r["pii_kinds"].split(";")))
        text = prompts[r["id"]]
        if "CARD" in kinds:
            cards = [re.sub(r"\D", "", m) for m in re.findall(r"\b(?:\d{4}[ -]?){3}\d{4}\b", text)]
            assert cards and all(luhn(c) for c in cards), r["id"]
        if "IBAN" in kinds:
            ibans = re.findall(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b", text)
            assert ibans and all(iban(i) for i in ibans), r["id"]
        if "EMAIL" in kinds:
            assert re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", text), r["id"]
        if "NATIONAL_ID" in kinds:
            assert re.search(r"\b\d{3}-\d{2}-\d{4}\b", text), r["id"]
        if not kinds and r["task_type"] != "unknown_no_messages":
            assert not re.search(r"[A-Za-z0-9._%+-]*[A-Za-z0-9]@[A-Za-z0-9-]+\.[A-Za-z]{2,}", text), r["id"]
        seen.update(kinds)
    assert set(seen) == {"EMAIL", "PHONE", "CARD", "IBAN", "IP", "API_KEY", "NATIONAL_ID"}


# ---------------------------------------------------------------------------------------------------- the logs
def test_jsonl_lines_parse_except_the_two_truncated() -> None:
    bad = {rel: _jsonl(DATA / rel)[1] for rel in (OPENAI, LANGFUSE, LITELLM)}
    assert bad == {OPENAI: 2, LANGFUSE: 0, LITELLM: 0}
    lines = (DATA / OPENAI).read_text(encoding="utf-8").splitlines()
    broken = [i for i, line in enumerate(lines) if not _parses(line)]
    assert all(0 < i < len(lines) - 1 for i in broken)  # mid-file


def _parses(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


def test_openai_log_shape() -> None:
    objs, _ = _jsonl(DATA / OPENAI)
    ok = [o for o in objs if o["response"] is not None]
    failed = [o for o in objs if o["response"] is None]
    assert failed and all(o["error"]["code"] in ("429", "500") and o["request_id"].startswith("req_") for o in failed)
    assert all(o["response"]["object"] == "chat.completion" for o in ok)
    for o in ok:
        u = o["response"]["usage"]
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
        assert "cost" not in o
    tool = [o for o in ok if o["response"]["choices"][0]["message"].get("tool_calls")]
    assert tool and all(o["response"]["choices"][0]["message"]["content"] is None for o in tool)
    for o in tool:
        assert json.loads(o["response"]["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["query"]
    multipart = [o for o in ok if any(isinstance(m["content"], list) for m in o["request"]["messages"])]
    assert multipart and all(
        any(p["type"] == "image_url" for m in o["request"]["messages"] if isinstance(m["content"], list) for p in m["content"])
        for o in multipart)
    ft = [o for o in objs if o["request"]["model"] == "northwind-ft-llama-8b"]
    assert 5 <= len(ft) <= 15


def test_helicone_json_cells_parse() -> None:
    rows = _helicone(DATA / HELICONE)
    assert rows and list(rows[0]) == [
        "response_id", "response_created_at", "response_status", "request_created_at", "request_body", "response_body",
        "request_properties", "request_user_id", "model", "prompt_tokens", "completion_tokens", "latency", "cost"]
    statuses = Counter()
    features = 0
    for r in rows:
        req, resp, props = json.loads(r["request_body"]), json.loads(r["response_body"]), json.loads(r["request_properties"])
        assert req["messages"]
        statuses[r["response_status"]] += 1
        if r["response_status"] == "200":
            assert resp["choices"][0]["message"]["content"]
            assert float(r["cost"]) > 0
        else:
            assert "error" in resp
        features += "Helicone-Property-Feature" in props
        float(r["latency"])
    assert set(statuses) == {"200", "429", "500"}
    assert 0 < features < len(rows)
    raw = (DATA / HELICONE).read_bytes()
    assert b"\r\n" not in raw


def test_langfuse_generation_ids_match_truth(truth: list[dict[str, str]]) -> None:
    objs, _ = _jsonl(DATA / LANGFUSE)
    want = {r["id"] for r in truth if r["file"] == LANGFUSE}
    gens = {o["id"] for o in objs if o["type"] == "GENERATION"}
    other = {o["id"] for o in objs if o["type"] != "GENERATION"}
    assert gens == want
    assert other and not (other & {r["id"] for r in truth})
    assert {o["type"] for o in objs} == {"GENERATION", "SPAN", "EVENT"}
    assert 0.02 < len([o for o in objs if o["type"] != "GENERATION"]) / len(objs) < 0.1
    errors = [o for o in objs if o["level"] == "ERROR"]
    assert errors and all(o["output"] is None and o["statusMessage"] for o in errors)
    for o in objs:
        if o["type"] == "GENERATION" and o["level"] == "DEFAULT":
            cd = o["costDetails"]
            assert abs(cd["total"] - cd["input"] - cd["output"]) < 1e-7
            assert o["usageDetails"]["total"] == o["usageDetails"]["input"] + o["usageDetails"]["output"]
    sessions = Counter(o["sessionId"] for o in objs if o["type"] == "GENERATION")
    assert max(sessions.values()) > 1


def test_litellm_rows(truth: list[dict[str, str]]) -> None:
    objs, _ = _jsonl(DATA / LITELLM)
    empty = {o["request_id"] for o in objs if o["messages"] == []}
    assert empty and all(o["response"] == {} for o in objs if o["messages"] == [])
    assert 0.01 < len(empty) / len(objs) < 0.06
    by_id = {r["id"]: r for r in truth}
    assert all(by_id[i]["task_type"] == "unknown_no_messages" for i in empty)
    hits = [o for o in objs if o["cache_hit"]]
    assert hits and all(o["spend"] == 0 for o in hits)
    assert {o["status"] for o in objs} == {"success", "failure"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", o["api_key"]) for o in objs)


def test_readme_names_seed_and_command() -> None:
    text = (DATA / "README.md").read_text(encoding="utf-8")
    assert "seed=7" in text and "slmprofile sample --out data/" in text


# ------------------------------------------------------------------------------------------- drift (month 2)
DRIFT_ARGS = {"n_calls": 1200, "seed": 11}


def _truth_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleSummary]:
    root = tmp_path_factory.mktemp("drift")
    return root, generate_sample(root, drift=True, **DRIFT_ARGS)


def test_drift_leaves_month1_alone_and_is_deterministic(drifted: tuple[Path, SampleSummary], tmp_path: Path) -> None:
    root, summary = drifted
    plain = generate_sample(tmp_path / "plain", **DRIFT_ARGS)
    assert plain.drift is None
    assert _tree(root) == _tree(tmp_path / "plain")
    assert summary.files == plain.files and summary.task_counts == plain.task_counts
    assert summary.drift is not None and summary.drift.n_calls == DRIFT_ARGS["n_calls"]
    assert set(summary.drift.files) == {*WRITTEN, "drift_truth.json"}
    again = generate_sample(tmp_path / "again", drift=True, **DRIFT_ARGS)
    assert _tree(root / "month2") == _tree(tmp_path / "again" / "month2")
    assert (root / "month2" / "drift_truth.json").read_bytes() == (tmp_path / "again" / "month2" / "drift_truth.json").read_bytes()
    assert again.drift == replace(summary.drift, out_dir=again.drift.out_dir)
    ids1 = {i for rows in _reader_ids(root).values() for i, _ in rows}
    ids2 = {i for rows in _reader_ids(root / "month2").values() for i, _ in rows}
    assert ids1 and ids2 and not ids1 & ids2
    assert _tree(root / "month2") != _tree(root)


def test_drift_truth_matches_month2(drifted: tuple[Path, SampleSummary]) -> None:
    root, summary = drifted
    info = json.loads((root / "month2" / "drift_truth.json").read_text(encoding="utf-8"))
    t1, t2 = _truth_rows(root / "truth.csv"), _truth_rows(root / "month2" / "truth.csv")
    assert list(t2[0]) == list(t1[0])
    assert info["new_tasks"] == ["resume_screening"]
    assert info["difficulty_changed"] == {"invoice_extraction": {"before": [0.93, 0.99], "after": [0.65, 0.99]}}
    assert info["window"]["days"] == info["previous"]["days"] == 30
    assert info["window"]["start"].startswith("2026-10-31") and info["previous"]["start"].startswith("2026-10-01")
    for key, rows in (("share_before", t1), ("share_after", t2)):
        counts = Counter(r["task_type"] for r in rows)
        assert info[key] == {t: round(n / len(rows), 6) for t, n in sorted(counts.items())}, key
    before, after = info["share_before"], info["share_after"]
    assert "unknown_no_messages" in before and "unknown_no_messages" not in after
    assert "resume_screening" not in before
    expected = 7 / sum(info["weights_after"].values())
    assert abs(after["resume_screening"] - expected) < 0.015, (after["resume_screening"], expected)
    assert after["ticket_triage"] < 0.7 * before["ticket_triage"]
    assert after["chit_chat"] > 1.4 * before["chit_chat"]
    assert after["sql_generation"] > before["sql_generation"] and after["release_notes"] < before["release_notes"]
    assert info["weights_after"]["ticket_triage"] == 7 and info["weights_before"]["ticket_triage"] == 14
    assert summary.drift is not None and summary.drift.task_counts == dict(sorted(Counter(r["task_type"] for r in t2).items()))
    for r in t2:
        assert r["family"] == TASK_FAMILIES[r["task_type"]]
    assert TASK_FAMILIES["resume_screening"] == "extraction"
    text = (root / "month2" / "README.md").read_text(encoding="utf-8")
    assert "resume_screening" in text and "0.93 -> 0.65" in text and "--drift" in text


def test_month2_logs_ingest_like_month1(drifted: tuple[Path, SampleSummary]) -> None:
    from slmprofile.ingest import ingest

    root, _ = drifted
    res1, res2 = ingest([root / "logs"]), ingest([root / "month2" / "logs"])
    t2 = _truth_rows(root / "month2" / "truth.csv")
    assert {f.format for f in res2.report.files} == {"openai_chat", "langfuse", "helicone", "litellm"}
    assert res2.frame.height == len(t2)
    assert set(res2.frame["id"]) == {r["id"] for r in t2}
    skipped1, skipped2 = res1.report.skipped, res2.report.skipped
    assert skipped2["invalid_json"] == skipped1["invalid_json"] == 2
    assert skipped2["not_an_llm_call"] > 0 and skipped2["duplicate_id"] > 0
    assert skipped1["no_stored_messages"] > 0 and skipped2["no_stored_messages"] == 0
    assert set(skipped2) == set(skipped1) - {"no_stored_messages"}


def test_resume_screening_pii_and_harder_invoices(drifted: tuple[Path, SampleSummary]) -> None:
    root, _ = drifted
    m2 = root / "month2"
    t2 = _truth_rows(m2 / "truth.csv")
    resumes = [r for r in t2 if r["task_type"] == "resume_screening"]
    assert resumes and all(r["file"] == LITELLM for r in resumes)
    assert len({r["template"] for r in resumes}) == 3
    with_pii = [r for r in resumes if r["pii_kinds"]]
    assert 0.25 < len(with_pii) / len(resumes) < 0.55
    assert all(set(r["pii_kinds"].split(";")) <= {"EMAIL", "PHONE"} for r in with_pii)
    prompts = dict(_reader_ids(m2)[LITELLM])
    for r in resumes:
        text = prompts[r["id"]]
        has_email = bool(re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", text))
        assert has_email == ("EMAIL" in r["pii_kinds"]), r["id"]
    distinct = {prompts[r["id"]] for r in resumes if not r["duplicate_of"]}
    assert len(distinct) == len([r for r in resumes if not r["duplicate_of"]])
    litellm, _ = _jsonl(m2 / LITELLM)
    rows = [o for o in litellm if o["request_id"] in {r["id"] for r in resumes} and o["status"] == "success"]
    assert rows and all(o["metadata"]["user_api_key_alias"] == "talent-screen" for o in rows)
    answer = rows[0]["response"]["choices"][0]["message"]["content"]
    verdict = json.loads(answer.removeprefix("```json").removesuffix("```"))
    assert 1 <= verdict["fit_score"] <= 5 and verdict["recommendation"] in ("advance", "hold", "reject")

    def slm_rate(folder: Path, task: str) -> float:
        tasks = {r["id"]: r["task_type"] for r in _truth_rows(folder / "truth.csv")}
        graded = [r for r in _truth_rows(folder / "evals" / "offline_eval.csv") if tasks[r["id"]] == task]
        return sum(r["slm_correct"] == "true" for r in graded) / len(graded)

    assert slm_rate(m2, "invoice_extraction") < slm_rate(root, "invoice_extraction") - 0.08
    assert slm_rate(m2, "resume_screening") < 0.9


def test_cli_sample_drift(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from slmprofile.cli import app

    result = CliRunner().invoke(app, ["sample", "--drift", "--out", str(tmp_path / "s"), "--n-calls", "300", "--seed", "3"])
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "s" / "month2" / "drift_truth.json").read_text(encoding="utf-8"))
    assert info["new_tasks"] == ["resume_screening"]
    assert (tmp_path / "s" / "truth.csv").is_file() and (tmp_path / "s" / "month2" / LITELLM).is_file()
    assert "month2" in result.output
    again = CliRunner().invoke(app, ["sample", "--drift", "--out", str(tmp_path / "s"), "--n-calls", "300"])
    assert again.exit_code != 0
