"""The LLM runner against the local fake OpenAI server: faults and retries, the spend cap, the resumable cache,
redaction, interruption (cancel and SIGKILL) and resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from slmprofile.llm import (INITIAL_RETRY_DELAY_S, MAX_RETRY_DELAY_S, LLMRequest, LLMRunner, SpendCap,
                            parse_retry_after, prompt_token_bound, retry_delay, should_retry)
from slmprofile.testing import FakeOpenAI, Fault

ROOT = Path(__file__).resolve().parents[1]


def _requests(n: int, prefix: str = "Classify sentiment, one of: positive, negative. I love item") -> list[LLMRequest]:
    return [LLMRequest.from_prompt(f"{prefix} {i}", key=f"k{i}") for i in range(n)]


def _cached_keys(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT key FROM answers")}


def test_retry_policy_functions() -> None:
    assert should_retry("status", 429) and should_retry("status", 503) and should_retry("timeout")
    assert should_retry("malformed") and should_retry("connection")
    assert not should_retry("status", 400) and not should_retry("status", 401)
    assert parse_retry_after({"Retry-After": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after({"Retry-After": later}) <= 31  # type: ignore[operator]
    assert parse_retry_after({"Retry-After": "soon"}) is None and parse_retry_after({}) is None
    import random

    rng = random.Random(1)
    delays = [retry_delay(a, rng=rng) for a in range(12)]
    assert all(0 < d <= MAX_RETRY_DELAY_S for d in delays)
    assert INITIAL_RETRY_DELAY_S * 0.5 <= delays[0] <= INITIAL_RETRY_DELAY_S
    assert delays[-1] >= MAX_RETRY_DELAY_S * 0.5  # backoff reached the cap
    # a server's Retry-After is honoured (never shortened), with at most 10 % jitter on top
    assert all(3.0 <= retry_delay(0, 3.0, rng=rng) <= 3.3 for _ in range(50))


def test_faults_are_retried_and_retry_after_is_honoured(tmp_path: Path) -> None:
    script = [Fault("429", retry_after=0.4), "500", "malformed", Fault("timeout", sleep_s=3.0), "drop", "503"]
    with FakeOpenAI(script=script) as server:
        runner = LLMRunner("fake-slm", base_url=server.base_url, timeout=0.6, concurrency=1, max_retries=6,
                           cache=tmp_path / "c.sqlite", progress=False)
        results = runner.run(_requests(3))
        got = [r.outcome for r in server.requests]
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert [r.content for r in results] == ["positive"] * 3
    assert got == ["429", "500", "malformed", "timeout", "drop", "503", "ok", "ok", "ok"]
    assert runner.stats_.retries == 6 and runner.stats_.failed == 0 and runner.stats_.answered == 3
    assert runner.stats_.errors["http_429"] == 1 and runner.stats_.errors["timeout"] == 1
    assert runner.stats_.errors["malformed"] == 1 and runner.stats_.errors["connection"] == 1
    limited = [r for r in server.requests if r.last_user == server.requests[0].last_user]
    assert limited[0].outcome == "429" and limited[1].at - limited[0].at >= 0.4  # waited at least Retry-After
    assert sum(r.attempts for r in results) == len(got)


def test_non_retryable_and_exhausted_retries_fail_with_a_reason() -> None:
    with FakeOpenAI(rule=lambda body, attempt: "400" if "bad" in body["messages"][-1]["content"] else "500") as server:
        runner = LLMRunner("fake-slm", base_url=server.base_url, max_retries=2, progress=False)
        bad, flaky = runner.run([LLMRequest.from_prompt("bad request"), LLMRequest.from_prompt("flaky")])
        by_prompt = Counter(r.last_user for r in server.requests)
    assert bad.status == "failed" and bad.attempts == 1 and "400" in (bad.error or "")
    assert flaky.status == "failed" and flaky.attempts == 3 and "500" in (flaky.error or "")
    assert by_prompt == {"bad request": 1, "flaky": 3}


def test_spend_cap_is_never_exceeded_and_a_rerun_resumes(tmp_path: Path) -> None:
    reqs = _requests(20)
    per_request = prompt_token_bound(list(reqs[0].messages)) + 16  # worst case reserved per request
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI() as server:
        cap = SpendCap(max_tokens=per_request * 6 + per_request // 2)
        runner = LLMRunner("fake-slm", base_url=server.base_url, max_tokens=16, concurrency=4, cache=cache,
                           spend_cap=cap, progress=False)
        first = runner.run(reqs)
        reported = sum(r.prompt_tokens + r.completion_tokens for r in first if r.status == "ok")
        assert cap.spent_tokens == reported <= cap.max_tokens
        assert cap.reserved_tokens == 0
        answered = [r for r in first if r.status == "ok"]
        assert len(answered) >= 6 and any(r.status == "over_budget" for r in first)
        assert len(server.requests) == len(answered)  # an over-budget request is never sent
        # a second run with room for the rest sends only what is missing
        runner2 = LLMRunner("fake-slm", base_url=server.base_url, max_tokens=16, concurrency=4, cache=cache,
                            spend_cap=SpendCap(max_tokens=per_request * 20), progress=False)
        second = runner2.run(reqs)
        sent = Counter(r.last_user for r in server.requests)
    assert all(r.ok for r in second)
    assert runner2.stats_.cached == len(answered)
    assert set(sent.values()) == {1} and len(sent) == 20  # every prompt sent exactly once over both runs


def test_dollar_cap_needs_a_price_and_holds(tmp_path: Path) -> None:
    reqs = _requests(10)
    with FakeOpenAI() as server:
        with pytest.raises(ValueError, match="no price known"):
            LLMRunner("no-such-model-xyz", base_url=server.base_url, spend_cap=SpendCap(max_usd=1.0),
                      progress=False).run(reqs)
        assert server.requests == []  # nothing sent before the error
        price = (100.0, 200.0)  # USD per million tokens: expensive, so the cap bites quickly
        worst = (prompt_token_bound(list(reqs[0].messages)) * price[0] + 16 * price[1]) / 1e6
        cap = SpendCap(max_usd=worst * 3.5)
        runner = LLMRunner("no-such-model-xyz", base_url=server.base_url, price=price, max_tokens=16,
                           concurrency=2, spend_cap=cap, progress=False)
        results = runner.run(reqs)
    spent = sum(r.cost_usd for r in results if r.status == "ok")
    assert cap.spent_usd == pytest.approx(spent) and spent <= cap.max_usd
    assert sum(r.status == "ok" for r in results) >= 3 and any(r.status == "over_budget" for r in results)


def test_timeouts_count_the_worst_case_against_the_cap() -> None:
    reqs = _requests(1)
    worst = prompt_token_bound(list(reqs[0].messages)) + 8
    with FakeOpenAI(script=[Fault("timeout", sleep_s=2.0)] * 3) as server:
        cap = SpendCap(max_tokens=worst * 2)  # room for two attempts' worst case, not three
        result = LLMRunner("fake-slm", base_url=server.base_url, max_tokens=8, timeout=0.3, max_retries=5,
                           spend_cap=cap, progress=False).run(reqs)[0]
        n_sent = len(server.requests)
    assert result.status == "over_budget" and "no answer within" in (result.error or "")
    assert n_sent == 2 and cap.spent_tokens == 2 * worst <= cap.max_tokens


def test_only_redacted_text_leaves_unless_opted_out() -> None:
    secret = "Contact jo.smith@example.com, card 4111 1111 1111 1111, key sk-proj-4f9Qx2LmZ7aB1cD3eF5gH7jK"
    reqs = [LLMRequest(messages=({"role": "system", "content": "Support bot. Mail ops@northwind.example"},
                                 {"role": "user", "content": secret}), key="a")]
    with FakeOpenAI() as server:
        runner = LLMRunner("fake-slm", base_url=server.base_url, progress=False)
        runner.run(reqs)
        sent = " ".join(server.sent_texts())
        assert "jo.smith@example.com" not in sent and "4111 1111 1111 1111" not in sent
        assert "sk-proj-4f9Qx2LmZ7aB1cD3eF5gH7jK" not in sent and "ops@northwind.example" not in sent
        assert "<EMAIL>" in sent and "<CARD>" in sent and "<API_KEY>" in sent
        assert runner.stats_.redactions["EMAIL"] == 2
        LLMRunner("fake-slm", base_url=server.base_url, redact=False, progress=False).run(reqs)
        assert "jo.smith@example.com" in server.requests[-1].texts[-1]


def test_identical_requests_are_sent_once_and_logprobs_give_confidence() -> None:
    reqs = [LLMRequest.from_prompt("Label one of: positive, negative. I love it", key=k) for k in ("a", "b", "c")]
    with FakeOpenAI() as server:
        results = LLMRunner("fake-slm", base_url=server.base_url, logprobs=True, progress=False).run(reqs)
        assert len(server.requests) == 1 and server.requests[0].body["logprobs"] is True
    assert [r.key for r in results] == ["a", "b", "c"] and {r.content for r in results} == {"positive"}
    assert results[0].confidence == pytest.approx(0.9)  # the fake's confidence for a keyword match


def test_cancel_mid_run_then_rerun_sends_nothing_twice(tmp_path: Path) -> None:
    reqs = _requests(30)
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI(latency_s=0.05) as server:
        runner = LLMRunner("fake-slm", base_url=server.base_url, concurrency=4, cache=cache, progress=False)

        async def interrupted() -> None:
            done = 0
            task: asyncio.Task | None = None

            def on_result(_r: object) -> None:
                nonlocal done
                done += 1
                if done == 10 and task is not None:
                    task.cancel()

            task = asyncio.ensure_future(runner.arun(reqs, on_result=on_result))
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(interrupted())
        time.sleep(0.3)  # let the server record requests that were on the wire at the cancel
        kept = _cached_keys(cache)
        first_wave = len(server.requests)
        assert 10 <= len(kept) < 30 and first_wave == len(kept)  # everything sent was answered and kept
        rerun = LLMRunner("fake-slm", base_url=server.base_url, concurrency=4, cache=cache, progress=False)
        results = rerun.run(reqs)
        second = server.requests[first_wave:]
        sent = Counter(r.last_user for r in server.requests)
    assert all(r.ok for r in results) and rerun.stats_.cached == len(kept)
    assert len(second) == 30 - len(kept)  # only what was missing went out again
    answered_before = {reqs[i].messages[0]["content"] for i, r in enumerate(results) if r.status == "cached"}
    assert not answered_before & {r.last_user for r in second}
    # requests on the wire at the interruption were allowed to finish and kept: nothing was sent twice
    assert set(sent.values()) == {1} and len(sent) == 30


_CHILD = """
import sys
from slmprofile.llm import LLMRunner, LLMRequest
reqs = [LLMRequest.from_prompt(f"Classify sentiment, one of: positive, negative. I love item {i}") for i in range(40)]
LLMRunner("fake-slm", base_url=sys.argv[1], concurrency=3, cache=sys.argv[2], progress=False).run(reqs)
"""


def test_sigkill_mid_run_then_rerun_loses_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI(latency_s=0.1) as server:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, server.base_url, str(cache)],
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cache.exists():
                try:
                    if len(_cached_keys(cache)) >= 8:
                        break
                except sqlite3.OperationalError:  # table not created yet
                    pass
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        time.sleep(0.3)
        kept = _cached_keys(cache)
        before = len(server.requests)
        assert 8 <= len(kept) < 40, "the child finished or never started before it was killed"
        reqs = [LLMRequest.from_prompt(f"Classify sentiment, one of: positive, negative. I love item {i}")
                for i in range(40)]
        runner = LLMRunner("fake-slm", base_url=server.base_url, concurrency=3, cache=cache, progress=False)
        results = runner.run(reqs)
        after = server.requests[before:]
        # a request cut off mid-body by the kill reaches the server unparseable (body None): it was never answered
        sent = Counter(r.last_user for r in server.requests if r.body is not None)
    assert all(r.ok for r in results) and runner.stats_.cached == len(kept)
    resent = {r.last_user for r in after}
    cached_prompts = {reqs[i].messages[0]["content"] for i, r in enumerate(results) if r.status == "cached"}
    assert not resent & cached_prompts  # nothing the killed run had received was asked again
    assert sum(n - 1 for n in sent.values()) <= 3  # at most the requests in flight at the kill
    assert len(sent) == 40


def test_runner_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="'concurrency' parameter of LLMRunner"):
        LLMRunner("m", concurrency=0, base_url="http://127.0.0.1:9").run(_requests(1))
    with pytest.raises(ValueError, match="'max_usd' parameter of SpendCap"):
        LLMRunner("m", base_url="http://127.0.0.1:9", spend_cap=SpendCap(max_usd=-1)).run(_requests(1))
    assert json.dumps(LLMRunner("m").generation_params()) == json.dumps({"max_tokens": 256, "temperature": 0.0})
