"""Optional LLM task-type names through a local fake OpenAI-compatible server: redacted, capped, cached."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from slmprofile.cluster.llm_naming import name_with_llm, naming_request, parse_naming_answer
from slmprofile.llm import LLMRunner, SpendCap
from slmprofile.testing import FakeOpenAI


def _types() -> pl.DataFrame:
    return pl.DataFrame({
        "cluster_id": [0, 1, 2, -1],
        "task_type": ["00 ticket · billing", "01 invoice · total", "02 joke · lunch", "unassigned"],
        "keywords": [["ticket", "billing"], ["invoice", "total"], ["joke", "lunch"], []],
        "examples": [["Subject: charged twice. Reach me at jane.doe@example.com " + "x" * 2000],
                     ["Extract the total from invoice INV-1"], ["tell me a joke"], []],
    })


def _answer(messages: list, body: dict) -> str:
    user = messages[-1]["content"]
    if "joke" in user:
        return "Sure! Here is a name: small talk"  # not JSON: the type keeps its offline name
    word = user.split("Keywords: ")[1].split(",")[0]
    return "```json\n" + json.dumps({"name": f"{word} handling", "description": f"Handles {word} requests."}) + "\n```"


def test_llm_names_are_parsed_redacted_and_cached(tmp_path: Path) -> None:
    with FakeOpenAI(answer=_answer) as server:
        runner = LLMRunner("fake-namer", base_url=server.base_url, api_key="x", cache=tmp_path / "names.sqlite",
                           price=(1.0, 2.0), spend_cap=SpendCap(max_usd=1.0), timeout=5)
        named = name_with_llm(_types(), runner)
        assert named["llm_name"].to_list() == ["ticket handling", "invoice handling", None, None]
        assert named["llm_status"].to_list() == ["ok", "ok", "unparsed", "not sent"]
        assert named.filter(pl.col("cluster_id") == 1)["llm_description"].item() == "Handles invoice requests."
        sent = [t for r in server.completions() for t in r.texts]
        assert len(server.completions()) == 3
        assert not any("jane.doe@example.com" in t for t in sent)  # redacted before it left
        assert max(len(t) for t in sent) < 1200  # examples are cut short
        again = LLMRunner("fake-namer", base_url=server.base_url, api_key="x", cache=tmp_path / "names.sqlite",
                          price=(1.0, 2.0), timeout=5)
        assert name_with_llm(_types(), again)["llm_status"].to_list()[:2] == ["cached", "cached"]
        assert len(server.completions()) == 3  # nothing sent twice


def test_llm_naming_never_exceeds_the_spend_cap_and_a_rerun_continues_it(tmp_path: Path) -> None:
    cache = tmp_path / "names.sqlite"
    with FakeOpenAI(answer=_answer) as server:
        def runner() -> LLMRunner:
            return LLMRunner("fake-namer", base_url=server.base_url, api_key="x", cache=cache, max_tokens=256,
                             spend_cap=SpendCap(max_tokens=800), concurrency=3, timeout=5)

        first = runner()
        statuses = name_with_llm(_types(), first)["llm_status"].to_list()
        cap = first.spend_cap
        # type 0's worst case (898 tokens) never fits; types 1 and 2 (646, 621) fit one after the other, as each
        # request costs far less than its worst case
        assert statuses == ["over_budget", "ok", "unparsed", "not sent"]
        assert "over_budget" in statuses and statuses.count("ok") >= 1 and cap.spent_tokens <= 800
        assert len(server.completions()) == statuses.count("ok") + statuses.count("unparsed")
        # a type is refused only when its request's worst case exceeds what the cap has left
        rows = _types().filter(pl.col("cluster_id") >= 0).to_dicts()
        worst = [first.worst_case(first.prepare(naming_request(r["keywords"], r["examples"]))[0])[0] for r in rows]
        left = 800 - cap.spent_tokens
        assert all((w > left) == (st == "over_budget") for w, st in zip(worst, statuses))

        # the same cap on the same cache: the budget continues where it stopped (nothing new fits), answers replay
        sent = len(server.requests)
        again = runner()
        statuses2 = name_with_llm(_types(), again)["llm_status"].to_list()
        assert again.stats_.carried_tokens == cap.spent_tokens and len(server.requests) == sent
        assert statuses2 == [{"ok": "cached"}.get(st, st) for st in statuses]


def test_naming_request_and_answer_parsing() -> None:
    req = naming_request(["a", "b"], ["one", "two", "three", "four"], n_examples=2, max_chars=3)
    text = req.messages[-1]["content"]
    assert "Example 2: two" in text and "Example 3" not in text and "Keywords: a, b" in text
    assert parse_naming_answer('{"name": "  Ticket   triage ", "description": "Sorts tickets."}') == \
        ("Ticket triage", "Sorts tickets.")
    assert parse_naming_answer("no json here") is None
    assert parse_naming_answer('{"description": "x"}') is None


def test_cluster_cli_names_task_types_with_an_llm(tmp_path: Path, embedder) -> None:
    from typer.testing import CliRunner

    from slmprofile.cli import app
    from slmprofile.embed import embed_prompts
    from slmprofile.ingest import ingest
    from slmprofile.redact import redact_logs
    from slmprofile.sample import generate_sample

    generate_sample(tmp_path / "s", n_calls=300, seed=3)
    logs, _ = redact_logs(ingest(tmp_path / "s" / "logs").frame)
    logs.write_parquet(tmp_path / "logs.parquet")
    embed_prompts(logs, embedder=embedder).write_parquet(tmp_path / "emb.parquet")
    with FakeOpenAI(answer=_answer) as server:
        result = CliRunner().invoke(app, ["cluster", str(tmp_path / "logs.parquet"), str(tmp_path / "emb.parquet"),
                                          "--out", str(tmp_path / "out"), "--reducer", "pca",
                                          "--llm-model", "gpt-4o-mini", "--llm-base-url", server.base_url])
        assert result.exit_code == 0, result.output
        n_sent = len(server.completions())
    types = pl.read_parquet(tmp_path / "out" / "task_types.parquet").filter(pl.col("cluster_id") >= 0)
    assert n_sent == types.height >= 2
    assert types["llm_name"].null_count() < types.height
    assert (tmp_path / "out" / "llm_names.sqlite").is_file()
