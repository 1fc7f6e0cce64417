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

from slmprofile.llm import (INITIAL_RETRY_DELAY_S, MAX_RETRY_DELAY_S, LLMRequest, LLMRunner, ResponseCache,
                            SpendCap, parse_retry_after, prompt_token_bound, retry_delay, should_retry)
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


def test_the_prompt_bound_uses_the_model_tokenizer_when_known() -> None:
    from slmprofile.llm import known_tokenizer
    from slmprofile.tokens import count_tokens

    messages = [{"role": "system", "content": "Triage support tickets."},
                {"role": "user", "content": "Mir wurde die Rechnung doppelt berechnet, bitte prüfen. 请尽快处理。"}]
    assert known_tokenizer("gpt-4o-mini") and known_tokenizer("openai/gpt-4.1") and known_tokenizer("ft:gpt-4o:acme")
    assert not known_tokenizer("llama-3.1-8b") and not known_tokenizer("fake-slm")
    exact = prompt_token_bound(messages, model="gpt-4o-mini")
    by_bytes = prompt_token_bound(messages, model="llama-3.1-8b")
    overhead = sum(len(m["role"]) for m in messages) + 8 * 2 + 32
    assert by_bytes == prompt_token_bound(messages) == sum(len(m["content"].encode()) for m in messages) + overhead
    # counted with o200k: the count plus the same generous chat overhead, far below the byte bound
    assert exact == sum(count_tokens([m["content"] for m in messages], model="gpt-4o-mini")) + overhead
    assert exact - overhead < (by_bytes - overhead) / 3


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


def _tickets(n: int, seed: int = 0) -> list[LLMRequest]:
    """Support-ticket triage requests of varied length (20-120 words), like a shadow run's sample."""
    import random

    rng = random.Random(seed)
    words = ("invoice", "charged", "twice", "login", "fails", "export", "dashboard", "refund", "slow", "account")
    system = "Triage support tickets. Answer with one of: billing, bug_report, feature_request, account."
    return [LLMRequest.from_prompt(f"Ticket {i}: " + " ".join(rng.choice(words) for _ in range(rng.randint(20, 120)))
                                   + ".", system=system, key=f"t{i}") for i in range(n)]


def _worst_usd(runner: LLMRunner, reqs: list[LLMRequest]) -> list[float]:
    return [runner.worst_case(runner.prepare(r)[0])[1] for r in reqs]


def _assert_refusals_did_not_fit(results: list, worst: list[float], cap: SpendCap) -> None:
    """Spending only grows, so a refused request's worst case exceeded the budget left at the end as well."""
    left = cap.max_usd - cap.spent_usd
    refused = [w for r, w in zip(results, worst) if r.status == "over_budget"]
    assert all(w > left for w in refused), (left, min(refused))


def test_a_small_dollar_cap_admits_every_request_that_fits(tmp_path: Path) -> None:
    # the shape: 210 short shadow requests and --max-usd 0.01 at gpt-4o-mini's price (0.15 / 0.60 USD per
    # million tokens); reserving every worst case up front had refused 199 of them after $0.0031 was spent
    reqs = _tickets(210)
    price = (0.15, 0.60)
    with FakeOpenAI(latency_s=0.01) as server:
        cap = SpendCap(max_usd=0.01)
        runner = LLMRunner("gpt-4o-mini", base_url=server.base_url, price=price, concurrency=8, spend_cap=cap,
                           cache=tmp_path / "a.sqlite", progress=False)
        results = runner.run(reqs)
        actual = sum(r.cost_usd for r in results if r.status == "ok")
        assert [r.status for r in results] == ["ok"] * 210 and len(server.requests) == 210
        assert runner.stats_.over_budget == 0 and cap.spent_usd == pytest.approx(actual) and cap.spent_usd <= 0.01
        assert runner.stats_.spent_usd == pytest.approx(actual) and cap.reserved_usd == 0

        # a cap that fits about a third of them at their actual cost: about a third go out, the rest are refused
        # only once their worst case exceeds what is left
        small = SpendCap(max_usd=actual / 3)
        runner = LLMRunner("gpt-4o-mini", base_url=server.base_url, price=price, concurrency=8, spend_cap=small,
                           cache=tmp_path / "b.sqlite", progress=False)
        before = len(server.requests)
        results = runner.run(reqs)
        sent = len(server.requests) - before
    ok = [r for r in results if r.status == "ok"]
    worst = _worst_usd(runner, reqs)
    assert small.spent_usd == pytest.approx(sum(r.cost_usd for r in ok)) and small.spent_usd <= small.max_usd
    assert sent == len(ok) == 210 - runner.stats_.over_budget  # a refused request is never sent
    _assert_refusals_did_not_fit(results, worst, small)
    assert small.max_usd - small.spent_usd < max(worst)  # the budget was used up to less than one worst case
    assert len(ok) >= 60  # 70 fit at their actual cost; the last worst case keeps a few back


def test_a_dollar_cap_needs_a_price(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        with pytest.raises(ValueError, match="no price known"):
            LLMRunner("no-such-model-xyz", base_url=server.base_url, spend_cap=SpendCap(max_usd=1.0),
                      cache=tmp_path / "c.sqlite", progress=False).run(_requests(3))
        assert server.requests == []  # nothing sent before the error


def test_a_resumed_run_continues_the_budget_and_resends_nothing(tmp_path: Path) -> None:
    reqs = _tickets(60, seed=1)
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI() as server:
        def runner(max_usd: float) -> LLMRunner:
            # expensive (100 / 200 USD per million tokens), so that the cap bites quickly
            return LLMRunner("fake-slm", base_url=server.base_url, price=(100.0, 200.0), max_tokens=16,
                             concurrency=4, cache=cache, spend_cap=SpendCap(max_usd=max_usd), progress=False)

        first = runner(0.3)
        out1 = first.run(reqs)
        spent1 = first.spend_cap.spent_usd
        answered1 = sum(r.status == "ok" for r in out1)
        assert 5 <= answered1 < 60 and first.stats_.carried_usd == 0.0
        assert ResponseCache(cache).spent() == (first.spend_cap.spent_tokens, pytest.approx(spent1))

        # the same cap again on the same cache: the budget is what is left of it, not a fresh $0.30
        again = runner(0.3)
        out2 = again.run(reqs)
        cap2 = again.spend_cap
        assert again.stats_.carried_usd == pytest.approx(spent1) and again.stats_.cached == answered1
        assert again.stats_.spent_usd <= 0.3 - spent1 + 1e-12 and cap2.spent_usd <= 0.3
        assert again.stats_.sent == sum(r.status == "ok" for r in out2)
        _assert_refusals_did_not_fit(out2, _worst_usd(again, reqs), cap2)

        # a raised cap allows the new cap minus what was spent, and finishes the rest
        more = runner(5.0)
        out3 = more.run(reqs)
        sent = Counter(r.last_user for r in server.requests)
    assert all(r.ok for r in out3) and more.stats_.cached == sum(r.ok for r in out2)
    assert more.stats_.carried_usd == pytest.approx(cap2.spent_usd)
    total = sum(r.cost_usd for r in out3)  # every answer's actual cost, once
    assert more.spend_cap.spent_usd == pytest.approx(total) and total <= 5.0
    assert set(sent.values()) == {1} and len(sent) == 60  # every prompt sent exactly once over the three runs


def test_a_request_that_fits_the_remaining_budget_waits_for_requests_in_flight(tmp_path: Path) -> None:
    reqs = _requests(40)
    worst = prompt_token_bound(list(reqs[0].messages)) + 16
    with FakeOpenAI(latency_s=0.05) as server:
        # room for one and a half worst cases: one request at a time may be on the wire, but each costs far less
        # than its worst case, so many fit one after the other
        cap = SpendCap(max_tokens=worst * 3 // 2)
        runner = LLMRunner("fake-slm", base_url=server.base_url, max_tokens=16, concurrency=8, spend_cap=cap,
                           progress=False)
        results = runner.run(reqs)
        n_sent = len(server.requests)
    ok = [r for r in results if r.status == "ok"]
    actual = ok[0].prompt_tokens + ok[0].completion_tokens
    assert cap.spent_tokens == sum(r.prompt_tokens + r.completion_tokens for r in ok) <= cap.max_tokens
    assert n_sent == len(ok) and runner.stats_.waited > 0 and cap.peak_reserved_tokens <= cap.max_tokens
    # sent until what is left is below one worst case, and not one request earlier
    assert cap.max_tokens - cap.spent_tokens < worst <= cap.max_tokens - cap.spent_tokens + actual
    assert len(ok) == (cap.max_tokens - worst) // actual + 1
    assert runner.stats_.over_budget == 40 - len(ok) > 0
    assert all("does not fit the remaining budget" in (r.error or "") for r in results if not r.ok)


def test_concurrent_runners_sharing_a_cap_never_exceed_it(tmp_path: Path) -> None:
    import threading
    import zlib

    reqs = _tickets(120, seed=2)
    by_text = {r.messages[-1]["content"]: r for r in reqs}
    price = (50.0, 100.0)
    seen: set[tuple[str, str]] = set()
    timed_out: list[tuple[str, str]] = []
    lock = threading.Lock()

    def rule(body: dict, attempt: int) -> Fault | str | None:
        # each model's first attempt at every 7th prompt times out (an unknown outcome: its worst case counts) and
        # at every other 7th gets a 429 (not billed: counts nothing)
        text = body["messages"][-1]["content"]
        with lock:
            first = (body["model"], text) not in seen
            seen.add((body["model"], text))
            kind = zlib.crc32(text.encode()) % 7 if first else None
            if kind == 0:
                timed_out.append((body["model"], text))
        return Fault("timeout", sleep_s=1.5) if kind == 0 else "429" if kind == 1 else None

    with FakeOpenAI(rule=rule, latency_s=0.02) as server:
        cap = SpendCap(max_usd=0.25)
        runners = {m: LLMRunner(m, base_url=server.base_url, price=price, max_tokens=16, concurrency=16, timeout=1.0,
                                max_retries=3, spend_cap=cap, cache=tmp_path / f"{m}.sqlite", progress=False)
                   for m in ("slm-a", "slm-b")}
        outs: dict[str, list] = {}
        threads = [threading.Thread(target=lambda r=r: outs.__setitem__(r.model, r.run(reqs)))
                   for r in runners.values()]  # two event loops, one cap
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert set(outs) == {"slm-a", "slm-b"}
    answered = sum(r.cost_usd for out in outs.values() for r in out if r.status == "ok")
    # attempts with an unknown outcome (the forced timeouts, and any other that a loaded machine let time out)
    # are in the ledgers at exactly their request's worst case
    unknown: list[tuple[str, str, float]] = []
    for m in outs:
        with sqlite3.connect(tmp_path / f"{m}.sqlite") as db:
            unknown += [(m, k, usd) for k, usd in db.execute("SELECT request_key, usd FROM spend WHERE state = "
                                                                "'unknown'")]
    worst_by_key = {(m, runners[m].prepare(r)[1]): runners[m].worst_case(runners[m].prepare(r)[0])[1]
                    for m in outs for r in reqs}
    assert all(usd == pytest.approx(worst_by_key[(m, k)]) for m, k, usd in unknown)
    forced = {(m, runners[m].prepare(by_text[t])[1]) for m, t in timed_out}
    assert forced and forced <= {(m, k) for m, k, _ in unknown}
    assert cap.spent_usd == pytest.approx(answered + sum(usd for _, _, usd in unknown))
    assert cap.spent_usd <= cap.max_usd and cap.reserved_usd == 0 and cap.peak_reserved_usd <= cap.max_usd
    ledgers = sum(ResponseCache(tmp_path / f"{m}.sqlite").spent()[1] for m in outs)
    assert ledgers == pytest.approx(cap.spent_usd)  # what the cap counted is what the caches recorded
    refused = sum(r.stats_.over_budget for r in runners.values())
    # both runners made progress until the shared cap refused them (how the budget splits between the two depends
    # on scheduling: on a loaded machine more attempts time out and count their worst case, so no per-runner floor)
    assert refused > 0 and sum(r.status == "ok" for out in outs.values() for r in out) >= 5
    assert all(any(r.status in ("ok", "over_budget") for r in out) for out in outs.values())
    worst = {m: _worst_usd(runners[m], reqs) for m in outs}
    left = cap.max_usd - cap.spent_usd
    assert all(w > left for m, out in outs.items() for r, w in zip(out, worst[m]) if r.status == "over_budget")


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
        # the spend ledger: answered attempts at their usage, those on the wire at the kill at their worst case
        with sqlite3.connect(cache) as db:
            answered_tokens = db.execute("SELECT SUM(prompt_tokens + completion_tokens) FROM answers").fetchone()[0]
            n_open = db.execute("SELECT COUNT(*) FROM spend WHERE state = 'open'").fetchone()[0]
        ledger_tokens = ResponseCache(cache).spent()[0]
        assert n_open <= 3 and ledger_tokens >= answered_tokens
        reqs = [LLMRequest.from_prompt(f"Classify sentiment, one of: positive, negative. I love item {i}")
                for i in range(40)]
        runner = LLMRunner("fake-slm", base_url=server.base_url, concurrency=3, cache=cache, progress=False,
                           spend_cap=SpendCap(max_tokens=1_000_000))
        results = runner.run(reqs)
        assert runner.stats_.carried_tokens == ledger_tokens  # the resumed cap starts from what was spent
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
