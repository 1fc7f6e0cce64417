"""The routing gateway (slmprofile serve) on localhost against the package's fake OpenAI upstreams: both modes,
streaming, escalation for each reason, retries, auth, limits, the call log and its summary."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("starlette", reason="the gateway needs the 'serve' extra")
import httpx  # noqa: E402

from slmprofile.gateway import (CALLS_FILE, SHADOW_FILE, BackgroundGateway, GatewaySettings, Upstream,  # noqa: E402
                                load_router, read_log)
from slmprofile.gateway.retry import retry_after_s, retry_delay_s, should_retry  # noqa: E402
from slmprofile.gateway.summary import calls_needed, gateway_outcomes, summarise  # noqa: E402
from slmprofile.testing import FakeOpenAI, Fault, reference_answerer  # noqa: E402
from slmprofile.testing.tiny_router import build_tiny_router  # noqa: E402

CLIENT_KEY = "gw-client-key-0123456789"
FRONTIER_KEY = "sk-frontier-secret-4f9Qx2LmZ7aB1cD3"
SLM_KEY = "sk-slm-secret-8h7Gf6Ed5Cb4Aa3Zz2"
TO_SLM = "Classify this ticket: one of billing, technical. I was charged twice"  # tiny router: p_slm 0.92
TO_FRONTIER = "Prove the strategy is optimal for the game"  # tiny router: p_slm 0.01


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    return load_router(build_tiny_router(tmp_path_factory.mktemp("gw") / "router"), variant="fp32")


@pytest.fixture(autouse=True)
def upstream_keys(monkeypatch):
    monkeypatch.setenv("FRONTIER_TEST_KEY", FRONTIER_KEY)
    monkeypatch.setenv("SLM_TEST_KEY", SLM_KEY)


def settings(frontier, slm, tmp_path, **kwargs) -> GatewaySettings:
    front = frontier if isinstance(frontier, Upstream) else Upstream(frontier.base_url, api_key_env="FRONTIER_TEST_KEY",
                                                                    timeout_s=5.0, retries=2)
    small = slm if isinstance(slm, Upstream) else Upstream(slm.base_url, api_key_env="SLM_TEST_KEY", timeout_s=2.0,
                                                           retries=0)
    kwargs.setdefault("log_dir", tmp_path / "logs")
    kwargs.setdefault("api_key", CLIENT_KEY)
    return GatewaySettings(frontier=front, slm=small, seed=0, **kwargs)


def chat(gw, text, *, stream=False, key=CLIENT_KEY, timeout=10.0, **extra):
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": text}], **extra}
    if stream:
        body["stream"] = True
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{gw.base_url}/chat/completions", json=body, headers=headers, timeout=timeout)


def content(response) -> str:
    return response.json()["choices"][0]["message"]["content"]


def streamed_text(response) -> str:
    parts = []
    for line in response.text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            chunk = json.loads(line[6:])
            parts += [c["delta"].get("content") or "" for c in chunk["choices"]]
    return "".join(parts)


def calls(tmp_path):
    records, bad = read_log(tmp_path / "logs" / CALLS_FILE)
    assert bad == 0
    return records


# --------------------------------------------------------------------------------------------------- shadow mode
def test_shadow_mode_answers_from_the_frontier_and_never_waits_for_the_small_model(router, tmp_path):
    with FakeOpenAI() as frontier, FakeOpenAI(latency_s=4.0) as slm:
        # the small model answers slowly but well inside its timeout: the answer must not wait for it (the margin
        # leaves room for a first request on two busy cores: router session warm-up, connections)
        small = Upstream(slm.base_url, api_key_env="SLM_TEST_KEY", timeout_s=20.0, retries=0)
        with BackgroundGateway(settings(frontier, small, tmp_path), router) as gw:
            started = time.perf_counter()
            reply = chat(gw, TO_SLM)
            elapsed = time.perf_counter() - started
            assert reply.status_code == 200 and content(reply) == "billing"
            assert elapsed < 2.5, f"the answer waited for the shadow call ({elapsed:.2f} s)"
            assert reply.headers["x-slmprofile-served-by"] == "frontier"
            streamed = chat(gw, TO_FRONTIER + ". How many is 2 and 3 in total?", stream=True)
            assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
            assert streamed_text(streamed) == "The answer is 5."
            assert len(frontier.requests) == 2
        # stopping drains the running shadow calls into shadow.jsonl
        assert len(slm.requests) == 2 and all(not r.body.get("stream") for r in slm.requests)
        assert all(r.body["messages"][-1]["content"] in (TO_SLM, TO_FRONTIER + ". How many is 2 and 3 in total?")
                   for r in slm.requests)
    records = calls(tmp_path)
    assert [r["routing"]["decision"] for r in records] == ["slm", "frontier"]
    assert all(r["routing"]["served_by"] == "frontier" and r["routing"]["shadowed"] for r in records)
    assert records[1]["response"]["choices"][0]["message"]["content"] == "The answer is 5."  # assembled stream
    shadows, bad = read_log(tmp_path / "logs" / SHADOW_FILE)
    assert bad == 0 and sorted(s["id"] for s in shadows) == sorted(r["id"] for r in records)
    assert all(s["error"] is None and s["response"]["choices"][0]["message"]["content"] for s in shadows), shadows


def test_answers_pass_through_byte_for_byte(router, tmp_path):
    """A frontier body with its own spacing and field order, and a stream, reach the client unchanged."""
    whole = b'{"id":"x-1",  "object":"chat.completion","created":1,"model":"m",\n "choices":[{"index":0,' \
            b'"message":{"role":"assistant","content":"caf\\u00e9 ok"},"finish_reason":"stop"}],"zzz":[1,2]}'
    events = (b'data: {"id":"x-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
              b'"delta":{"role":"assistant","content":"he"},"finish_reason":null}]}\n\n'
              b'data: {"id":"x-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
              b'"delta":{"content":"llo"},"finish_reason":"stop"}]}\n\n: keep-alive comment\n\ndata: [DONE]\n\n')

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.headers["authorization"] == f"Bearer {FRONTIER_KEY}"
        if body.get("stream"):
            return httpx.Response(200, content=events, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, content=whole, headers={"content-type": "application/json"})

    front = Upstream("http://frontier.invalid/v1", api_key_env="FRONTIER_TEST_KEY")
    with FakeOpenAI() as slm:
        gw = BackgroundGateway(settings(front, slm, tmp_path, shadow_rate=0.0), router,
                               transports={"frontier": httpx.MockTransport(handler)})
        with gw:
            assert chat(gw, TO_SLM).content == whole
            assert chat(gw, TO_SLM, stream=True).content == events
    records = calls(tmp_path)
    assert records[1]["response"]["choices"][0]["message"]["content"] == "hello"
    assert not any(r["routing"]["shadowed"] for r in records)


# ---------------------------------------------------------------------------------------------------- route mode
def test_route_mode_sends_what_the_router_picks_to_the_small_model(router, tmp_path):
    with FakeOpenAI() as frontier, FakeOpenAI() as slm:
        with BackgroundGateway(settings(frontier, slm, tmp_path, mode="route"), router) as gw:
            assert chat(gw, TO_SLM).headers["x-slmprofile-served-by"] == "slm"
            assert chat(gw, TO_FRONTIER).headers["x-slmprofile-served-by"] == "frontier"
            streamed = chat(gw, TO_SLM, stream=True)
            assert streamed.headers["x-slmprofile-served-by"] == "slm" and streamed_text(streamed) == "billing"
        assert len(slm.requests) == 2 and len(frontier.requests) == 1
    routing = [r["routing"] for r in calls(tmp_path)]
    assert [r["served_by"] for r in routing] == ["slm", "frontier", "slm"]
    assert not any(r["escalated"] for r in routing)
    assert routing[0]["p_slm"] > 0.9 > routing[0]["threshold"] > routing[1]["p_slm"]


ESCALATIONS = [
    ("http_error", dict(script=["500"])),
    ("timeout", dict(script=[Fault("timeout", sleep_s=3.0)])),
    ("unreachable", dict(script=["drop"])),
    ("malformed", dict(script=["malformed"])),
    ("empty_answer", dict(answer=lambda messages, body: "")),
    ("invalid_json", dict(answer=lambda messages, body: "billing, I think")),
]


@pytest.mark.parametrize("reason,fake", ESCALATIONS, ids=[e[0] for e in ESCALATIONS])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_route_mode_escalates_to_the_frontier_for_each_reason(router, tmp_path, reason, fake, stream):
    if stream and reason == "malformed":
        pytest.skip("a malformed body is a non-streamed answer's fault")
    json_format = {"response_format": {"type": "json_object"}} if reason == "invalid_json" else {}
    small = lambda slm: Upstream(slm.base_url, api_key_env="SLM_TEST_KEY", timeout_s=0.5, retries=0)  # noqa: E731
    with FakeOpenAI(answer=lambda m, b: '{"label": "billing"}') as frontier, FakeOpenAI(**fake) as slm:
        with BackgroundGateway(settings(frontier, small(slm), tmp_path, mode="route"), router) as gw:
            started = time.perf_counter()
            reply = chat(gw, TO_SLM, stream=stream, **json_format)
            assert time.perf_counter() - started < 2.5
        assert reply.status_code == 200 and reply.headers["x-slmprofile-served-by"] == "frontier"
        text = streamed_text(reply) if stream else content(reply)
        assert json.loads(text) == {"label": "billing"}
        assert len(slm.requests) == 1 and len(frontier.requests) == 1
    (record,) = calls(tmp_path)
    assert record["routing"]["decision"] == "slm" and record["routing"]["escalated"]
    assert record["routing"]["escalation_reason"] == reason
    assert record["response"]["choices"][0]["message"]["content"] == '{"label": "billing"}'


def test_a_valid_json_answer_from_the_small_model_is_served(router, tmp_path):
    with FakeOpenAI() as frontier, FakeOpenAI(answer=lambda m, b: ' {"label": "billing"}') as slm:
        with BackgroundGateway(settings(frontier, slm, tmp_path, mode="route"), router) as gw:
            for stream in (False, True):
                reply = chat(gw, TO_SLM, stream=stream, response_format={"type": "json_object"})
                assert reply.headers["x-slmprofile-served-by"] == "slm"
                assert json.loads(streamed_text(reply) if stream else content(reply)) == {"label": "billing"}
        assert not frontier.requests


# ------------------------------------------------------------------------------------------------ upstream faults
def test_frontier_faults_are_retried_or_passed_on(router, tmp_path):
    with FakeOpenAI(script=[Fault("429", retry_after=0.05), "503"]) as frontier, FakeOpenAI() as slm:
        with BackgroundGateway(settings(frontier, slm, tmp_path, shadow_rate=0.0), router) as gw:
            reply = chat(gw, TO_FRONTIER)
            assert reply.status_code == 200 and len(frontier.requests) == 3  # 429, 503, answer
            frontier.add_faults("400")
            assert chat(gw, TO_FRONTIER).status_code == 400  # the client's fault: passed on, not retried
            assert len(frontier.requests) == 4
            frontier.add_faults("drop", "drop", "drop")
            failed = chat(gw, TO_FRONTIER)
            assert failed.status_code == 502 and "unreachable after 3 attempt" in failed.json()["error"]["message"]
            frontier.add_faults(Fault("timeout", sleep_s=6.0), Fault("timeout", sleep_s=6.0),
                                Fault("timeout", sleep_s=6.0))
            assert chat(gw, TO_FRONTIER, timeout=30).status_code == 504
    records = calls(tmp_path)
    assert [r["http_status"] for r in records] == [200, 400, 502, 504]
    assert [r["error"] for r in records] == [None, "http_error 400", "unreachable", "timeout"]


@pytest.mark.parametrize("transport", ["default", "httpx"])
def test_upstream_failures_are_named_alike_behind_either_transport(transport):
    """The default transport is aiohttp's pool behind httpx's API, whose own error mapping calls a dropped or refused
    connection a connect timeout; the gateway must still tell a timeout (504) from an unreachable upstream (502)."""
    import asyncio

    from slmprofile.gateway.upstream import UpstreamClient

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{free.getsockname()[1]}/v1"  # bound, never listening: connection refused

    async def failures(url: str) -> list[str | None]:
        client = UpstreamClient(Upstream(url, timeout_s=0.5, retries=0), name="frontier",
                                transport=httpx.AsyncHTTPTransport() if transport == "httpx" else None)
        try:
            return [(await client.complete({"messages": [{"role": "user", "content": "hi"}]})).failure
                    for _ in range(4)]
        finally:
            await client.aclose()

    with FakeOpenAI(script=["drop", Fault("timeout", sleep_s=2.0), "500"]) as fake:
        assert asyncio.run(failures(fake.base_url)) == ["unreachable", "timeout", "http_error", None]
    assert asyncio.run(failures(refused)) == ["unreachable"] * 4


def test_the_listening_socket_lets_asyncio_turn_nagle_off():
    """asyncio sets TCP_NODELAY only on sockets created as IPPROTO_TCP; without it each keep-alive answer waits
    ~40 ms for the client's delayed ACK (seen in benchmarks/gateway.py before the fix)."""
    import asyncio

    from slmprofile.gateway.server import bind

    async def nodelay_of_accepted() -> int:
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listener = bind("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(nodelay_of_accepted()) != 0


# -------------------------------------------------------------------------------------------- auth, limits, keys
def test_auth_limits_and_no_key_in_any_log(router, tmp_path):
    secret_prompt = f"Classify this: my key is {FRONTIER_KEY[:-2]}Xy, mail me at ana.lopez@example.org"
    with FakeOpenAI() as frontier, FakeOpenAI() as slm:
        with BackgroundGateway(settings(frontier, slm, tmp_path, max_body_bytes=4096), router) as gw:
            assert chat(gw, TO_SLM, key=None).status_code == 401
            assert chat(gw, TO_SLM, key="wrong-key-123456").status_code == 401
            assert httpx.get(f"{gw.base_url}/models").status_code == 401
            assert chat(gw, "x" * 5000).status_code == 413
            bad = httpx.post(f"{gw.base_url}/chat/completions", content=b"{not json",
                             headers={"Authorization": f"Bearer {CLIENT_KEY}"})
            assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
            assert chat(gw, secret_prompt).status_code == 200
            models = httpx.get(f"{gw.base_url}/models", headers={"Authorization": f"Bearer {CLIENT_KEY}"})
            assert models.json()["data"][0]["id"] == "fake-slm"
            assert httpx.get(f"{gw.url}/health").json()["mode"] == "shadow"
            metrics = httpx.get(f"{gw.url}/metrics").text
        # upstreams got their own keys, never the client's
        assert all(r.body is not None for r in frontier.requests)
    assert 'slmprofile_gateway_rejected_total{reason="unauthorised"} 3.0' in metrics
    assert 'slmprofile_gateway_rejected_total{reason="too_large"} 1.0' in metrics
    assert 'slmprofile_gateway_requests_total{decision="slm",mode="shadow",served_by="frontier",status="200"} 1.0' \
        in metrics
    logged = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    for secret in (CLIENT_KEY, FRONTIER_KEY, SLM_KEY, FRONTIER_KEY[:-2] + "Xy", "ana.lopez@example.org"):
        assert secret not in logged
    assert "<API_KEY>" in logged and "<EMAIL>" in logged
    assert len(calls(tmp_path)) == 1  # rejected requests are counted in the metrics, not logged as calls


def test_serving_beyond_loopback_needs_a_key(router, tmp_path):
    with pytest.raises(ValueError, match="without authentication"):
        GatewaySettings(frontier=Upstream("http://127.0.0.1:1/v1"), slm=Upstream("http://127.0.0.1:2/v1"),
                        host="0.0.0.0").check()
    with pytest.raises(ValueError, match="'base_url' parameter of Upstream"):
        GatewaySettings(frontier=Upstream("127.0.0.1:1"), slm=Upstream("http://127.0.0.1:2/v1")).check()
    result = subprocess.run([sys.executable, "-m", "slmprofile", "serve", str(router.directory), "--host", "0.0.0.0",
                             "--frontier-base-url", "http://127.0.0.1:1/v1", "--slm-base-url", "http://127.0.0.1:2/v1"],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "SLMPROFILE_API_KEY": ""})
    assert result.returncode == 2 and result.stderr.startswith("error: refusing to serve on 0.0.0.0")
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------------- the log, read back
def test_gateway_logs_ingest_back_with_routing_fields(router, tmp_path):
    from slmprofile.ingest import ingest

    with FakeOpenAI() as frontier, FakeOpenAI(script=["500"]) as slm:
        with BackgroundGateway(settings(frontier, slm, tmp_path, mode="route"), router) as gw:
            chat(gw, TO_SLM)  # escalated (500)
            chat(gw, TO_SLM)
            chat(gw, TO_FRONTIER, stream=True)
    result = ingest([tmp_path / "logs" / CALLS_FILE])
    logs = result.frame
    assert result.report.rows_kept == 3 and logs["format"].to_list() == ["openai_chat"] * 3
    assert logs["id"].to_list() == [r["id"] for r in calls(tmp_path)]
    routing = [json.loads(m)["routing"] for m in logs["metadata"].to_list()]
    assert [(r["served_by"], r["escalation_reason"]) for r in routing] == [
        ("frontier", "http_error"), ("slm", None), ("frontier", None)]
    assert logs["response_text"].to_list() == ["billing", "billing", "Prove the strategy is optimal for the game"]
    assert (logs["status"] == "ok").all()
    # the escalated call is a small-model failure: an outcome for retraining the router; the others are unknown
    outcomes = gateway_outcomes(tmp_path / "logs")
    assert outcomes.select("id", "slm_correct", "outcome_source").rows() == [
        (logs["id"][0], False, "escalation: http_error")]


def test_serve_report_recommends_route_only_where_agreement_holds(router, tmp_path):
    """Two task types shadowed: one where the small model repeats the frontier's answer every time (routed), one
    where it agrees half the time (kept on the frontier); the report's counts and recommendation follow."""
    reference = {f"Classify this ticket {i}: one of billing, technical": "billing" for i in range(80)}
    reference.update({f"Classify the refund ticket {i}: one of refund, other": "refund" for i in range(40)})
    agree = lambda prompt: 1.0 if "refund" not in prompt else 0.5  # noqa: E731
    with FakeOpenAI(answer=reference_answerer(reference, agree=1.0)) as frontier, \
            FakeOpenAI(answer=reference_answerer(reference, agree=agree, wrong="other")) as slm:
        with BackgroundGateway(settings(frontier, slm, tmp_path), router) as gw:
            with ThreadPoolExecutor(8) as pool:
                replies = list(pool.map(lambda p: httpx.post(
                    f"{gw.base_url}/chat/completions", timeout=10,
                    json={"model": "m", "messages": [{"role": "user", "content": p}]},
                    headers={"Authorization": f"Bearer {CLIENT_KEY}",
                             "x-slmprofile-task-type": "refunds" if "refund" in p else "tickets"}), reference))
    assert all(r.status_code == 200 for r in replies)
    summary = summarise(tmp_path / "logs")
    rows = {row.task_type: row for row in summary.task_types}
    assert summary.calls == 120 and summary.shadow_calls == 120
    assert rows["tickets"].measure == "label" and rows["tickets"].agree_rate == 1.0
    assert rows["tickets"].routed == 80 and rows["tickets"].recommendation == "route"
    assert 0.3 < rows["refunds"].agree_rate < 0.7 and rows["refunds"].recommendation == "keep on frontier"
    cli = subprocess.run([sys.executable, "-m", "slmprofile", "serve-report", str(tmp_path / "logs"), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert {r["task_type"]: r["recommendation"] for r in json.loads(cli.stdout)["task_types"]} == {
        "tickets": "route", "refunds": "keep on frontier"}
    # the same agreement, per call, as an outcome table that joins back onto the ingested log
    cli = subprocess.run([sys.executable, "-m", "slmprofile", "serve-report", str(tmp_path / "logs"), "--json",
                          "--outcomes-out", str(tmp_path / "outcomes.csv")], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    import polars as pl

    from slmprofile.ingest import ingest

    logs = ingest([tmp_path / "logs" / CALLS_FILE], outcomes=tmp_path / "outcomes.csv").frame
    assert logs["slm_correct"].null_count() == 0 and logs.height == 120
    tickets = logs.filter(pl.col("prompt_text").str.contains("billing, technical"))
    refunds = logs.filter(pl.col("prompt_text").str.contains("refund, other"))
    assert tickets["slm_correct"].all() and 0.3 < refunds["slm_correct"].mean() < 0.7


# ------------------------------------------------------------------------------------ load, stop and kill mid-run
def _start_cli_gateway(router, frontier, slm, log_dir):
    env = {**os.environ, "FRONTIER_TEST_KEY": FRONTIER_KEY, "SLM_TEST_KEY": SLM_KEY, "SLMPROFILE_API_KEY": CLIENT_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "slmprofile", "serve", str(router.directory), "--port", "0", "--log-dir", str(log_dir),
         "--frontier-base-url", frontier.base_url, "--slm-base-url", slm.base_url, "--variant", "fp32",
         "--frontier-key-env", "FRONTIER_TEST_KEY", "--slm-key-env", "SLM_TEST_KEY"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    assert " on http://127.0.0.1:" in line, line + process.stderr.read()
    return process, line.split(" on ", 1)[1].split(",")[0].strip()


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_bounded_load_loses_no_request_or_log_line_when_stopped_mid_run(router, tmp_path, stop):
    """200 requests from 16 clients (time-bounded), the gateway stopped after about half: with SIGTERM every
    answered request has its log line; with SIGKILL the log stays readable line by line."""
    with FakeOpenAI(latency_s=0.01) as frontier, FakeOpenAI(latency_s=0.05) as slm:
        process, base_url = _start_cli_gateway(router, frontier, slm, tmp_path / "logs")
        answered, failed = [], []
        lock = threading.Lock()

        def one(i: int) -> None:
            try:
                reply = httpx.post(f"{base_url}/chat/completions", timeout=10,
                                   headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                                   json={"model": "m", "messages": [{"role": "user", "content": f"{TO_SLM} #{i}"}]})
                with lock:
                    (answered if reply.status_code == 200 else failed).append(reply.headers.get(
                        "x-slmprofile-request-id"))
            except httpx.HTTPError:
                with lock:
                    failed.append(None)

        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(one, i) for i in range(200)]
            while len(answered) < 100 and time.monotonic() < deadline:
                time.sleep(0.005)
            process.send_signal(signal.SIGTERM if stop == "sigterm" else signal.SIGKILL)
            for future in futures:
                future.result(timeout=60)
        process.wait(timeout=60)
    assert 100 <= len(answered) < 200 and len(answered) + len(failed) == 200
    records, bad = read_log(tmp_path / "logs" / CALLS_FILE)
    shadows, bad_shadow = read_log(tmp_path / "logs" / SHADOW_FILE)
    assert bad <= 1 and bad_shadow <= 1  # at most a torn last line
    if stop == "sigterm":
        assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its graceful stop
        assert bad == 0 and bad_shadow == 0
        assert set(answered) <= {r["id"] for r in records}  # every answered request was logged
        assert {s["id"] for s in shadows} <= {r["id"] for r in records}
        assert len(shadows) == len(records)  # shadow calls running at the stop were finished, not dropped
    else:
        assert len(records) >= 1


# ------------------------------------------------------------------------------------------------- small helpers
def test_retry_helpers():
    assert should_retry(None) and should_retry(429) and should_retry(503) and not should_retry(400)
    assert not should_retry(500, {"x-should-retry": "false"}) and should_retry(400, {"x-should-retry": "true"})
    assert retry_after_s({"retry-after-ms": "1500"}) == 1.5 and retry_after_s({"retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after": "soon"}) is None and retry_after_s(None) is None
    assert 0 <= retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_delay_s(0, {"retry-after": "0.5"}) == 0.5
    delays = [retry_delay_s(a) for a in range(8)]
    assert all(0.75 * min(0.25 * 2**a, 4.0) <= d <= min(0.25 * 2**a, 4.0) for a, d in enumerate(delays))
    assert retry_delay_s(0, {"retry-after": "60"}) <= 4.0  # an over-long ask falls back to backoff


def test_calls_needed_is_the_smallest_sample_that_settles_it():
    from slmprofile.suitability import wilson_interval

    n = 40 + calls_needed(0.99, 40, 0.95, 0.95)
    assert wilson_interval(0.99 * n, n)[0] >= 0.95 > wilson_interval(0.99 * (n - 1), n - 1)[0]
    assert calls_needed(0.94, 40, 0.95, 0.95) is None


def test_concurrent_routing_is_batched_without_waiting():
    """The first prompt is routed alone and at once; those that arrive while the router runs share the next call;
    each request gets its own row; a prompt the router fails on is kept on the frontier, alone."""
    import asyncio
    from types import SimpleNamespace

    from slmprofile.gateway.batching import RouteBatcher

    class SlowRouter:
        def __init__(self):
            self.calls: list[list[str]] = []

        def route(self, texts):
            self.calls.append(list(texts))
            time.sleep(0.05)
            if "boom" in texts:
                raise RuntimeError("router failed")
            p = [len(t) / 100 for t in texts]
            return SimpleNamespace(p_slm=p, decisions=["slm" if x >= 0.05 else "frontier" for x in p],
                                   reasons=["ok"] * len(texts))

    async def scenario(router):
        batcher = RouteBatcher(router, max_batch=8)
        first = asyncio.create_task(batcher.route("a"))
        await asyncio.sleep(0.01)  # the router is busy with "a"; the next 20 queue up meanwhile
        texts = ["x" * (i + 1) for i in range(20)]
        rest = await asyncio.gather(*(batcher.route(t) for t in texts))
        failed = await asyncio.gather(batcher.route("boom"), batcher.route("fine"))
        return await first, rest, failed, batcher

    router = SlowRouter()
    first, rest, failed, batcher = asyncio.run(scenario(router))
    assert router.calls[0] == ["a"] and first.p_slm == 0.01 and first.decision == "frontier"
    assert [r.p_slm for r in rest] == [(i + 1) / 100 for i in range(20)]
    assert [r.decision for r in rest] == ["frontier"] * 4 + ["slm"] * 16
    assert [len(c) for c in router.calls[1:4]] == [8, 8, 4]  # 20 waiting prompts in 3 calls, not 20
    # a batch the router fails on is routed prompt by prompt: only the prompt that breaks it goes to the frontier
    assert router.calls[-3:] == [["boom", "fine"], ["boom"], ["fine"]]
    assert (failed[0].decision, failed[0].reason) == ("frontier", "router_error") and failed[1].p_slm == 0.04
    assert batcher.routed == 23 and batcher.batches == 5 and batcher.errors == 1
