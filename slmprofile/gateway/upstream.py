"""Calls to one OpenAI-compatible upstream with httpx: retries before the first byte, answers kept as bytes so that
they reach the client unchanged, streamed answers read as server-sent events.

The requests go out through aiohttp's connection pool (``httpx-aiohttp``'s transport, as the OpenAI SDK's
``[aiohttp]`` extra does) when it is installed: httpx's own pool costs about three times the CPU per request and,
past a few dozen connections, scans them all on every request, which on 2 cores is most of the gateway's time.
Without it, httpx's own transport is used unchanged."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator

from .retry import retry_delay_s, should_retry
from .settings import Upstream

if TYPE_CHECKING:  # pragma: no cover
    import httpx

#: Why an upstream call gave no usable answer (``http_error`` carries the status).
FAILURES = ("timeout", "unreachable", "http_error", "malformed")


@dataclass
class Reply:
    """What an upstream call ended with.

    ``status`` is None when no HTTP response came (``failure`` says why); ``content`` holds the body as received;
    ``completion`` the parsed chat completion (None when the body is not one); for a stream, ``response`` is the
    open httpx response positioned at its first byte.
    """

    status: int | None
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    completion: dict | None = None
    failure: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    response: Any = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def describe(self) -> str:
        """One line for a log: ``http_error 503``, ``timeout``..."""
        if self.failure == "http_error":
            return f"http_error {self.status}"
        return self.failure or "ok"


def error_body(message: str, kind: str = "upstream_error", code: str | int | None = None) -> bytes:
    """An OpenAI-shaped error body."""
    return json.dumps({"error": {"message": message, "type": kind, "code": code}}).encode()


def parse_completion(content: bytes) -> dict | None:
    """The chat completion in ``content``, or None when it is not one (a truncated or foreign body)."""
    try:
        value = json.loads(content)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("choices"), list):
        return None
    return value


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def fast_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """aiohttp's pool behind the httpx API when ``httpx-aiohttp`` is installed, else None (httpx's own). Also None
    when a proxy is set in the environment: httpx honours those variables only with its own transport."""
    import os

    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return None
    return AiohttpTransport(limits=limits)


@functools.cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "no usable HTTP answer came": httpx's, and aiohttp's that its transport leaves
    unmapped (a malformed status line, a bare timeout)."""
    import httpx

    errors: list[type[BaseException]] = [httpx.HTTPError, asyncio.TimeoutError]
    try:
        import aiohttp
    except ImportError:
        pass
    else:
        errors.append(aiohttp.ClientError)
    return tuple(errors)


def failure_of(exc: BaseException) -> str:
    """``timeout`` or ``unreachable`` for a transport error, from httpx's class or, behind the aiohttp transport
    (whose mapping calls a dropped or refused connection a connect timeout), from the aiohttp error it wraps."""
    import httpx

    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if type(cause).__module__.startswith("aiohttp") or isinstance(cause, asyncio.TimeoutError):
        return "timeout" if isinstance(cause, asyncio.TimeoutError) else "unreachable"
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"


class UpstreamClient:
    """One upstream: an ``httpx.AsyncClient`` with its key, its timeout and its retry budget."""

    def __init__(self, settings: Upstream, *, name: str, transport: Any = None) -> None:
        import httpx

        self.settings = settings
        self.name = name
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        limits = httpx.Limits(max_connections=settings.max_connections,
                              max_keepalive_connections=settings.max_connections)
        self.client = httpx.AsyncClient(base_url=settings.base_url.rstrip("/") + "/", headers=headers,
                                        timeout=httpx.Timeout(settings.timeout_s), limits=limits,
                                        transport=transport if transport is not None else fast_transport(limits))

    async def aclose(self) -> None:
        await self.client.aclose()

    def body_for(self, body: dict, *, stream: bool) -> dict:
        """The request body sent upstream: the client's, with this upstream's model when one is set."""
        out = dict(body)
        if self.settings.model:
            out["model"] = self.settings.model
        if stream:
            out["stream"] = True
        else:
            out.pop("stream", None)
            out.pop("stream_options", None)
        return out

    async def get(self, path: str) -> Reply:

        start = time.perf_counter()
        try:
            response = await self.client.get(path)
        except transport_errors() as exc:
            return Reply(None, failure=failure_of(exc), seconds=time.perf_counter() - start)
        return Reply(response.status_code, response.content, dict(response.headers),
                     failure=None if response.status_code == 200 else "http_error",
                     seconds=time.perf_counter() - start)

    async def complete(self, body: dict, *, retries: int | None = None) -> Reply:
        """POST ``chat/completions`` without streaming; retry what is worth retrying."""
        return await self._with_retries(self.body_for(body, stream=False), stream=False, retries=retries)

    async def open_stream(self, body: dict, *, retries: int | None = None) -> Reply:
        """POST ``chat/completions`` with ``stream: true``; on success the reply's ``response`` is open and must
        be read with :func:`iter_bytes` (which closes it). Failures before the first byte are retried."""
        return await self._with_retries(self.body_for(body, stream=True), stream=True, retries=retries)

    async def _with_retries(self, body: dict, *, stream: bool, retries: int | None) -> Reply:
        budget = self.settings.retries if retries is None else retries
        start = time.perf_counter()
        attempt = 0
        while True:
            reply = await self._attempt(body, stream=stream)
            reply.attempts = attempt + 1
            reply.seconds = time.perf_counter() - start
            if reply.ok or attempt >= budget or not should_retry(reply.status, reply.headers):
                return reply
            await asyncio.sleep(retry_delay_s(attempt, reply.headers))
            attempt += 1

    async def _attempt(self, body: dict, *, stream: bool) -> Reply:

        request = self.client.build_request("POST", "chat/completions", json=body)
        try:
            response = await self.client.send(request, stream=stream)
        except transport_errors() as exc:
            return Reply(None, failure=failure_of(exc))
        headers = {k.lower(): v for k, v in response.headers.items()}
        if stream and response.status_code == 200:
            return Reply(200, headers=headers, response=response)
        try:
            content = await response.aread()
        except transport_errors() as exc:
            return Reply(None, failure=failure_of(exc))
        finally:
            await response.aclose()
        if response.status_code != 200:
            return Reply(response.status_code, content, headers, failure="http_error")
        completion = parse_completion(content)
        if completion is None:
            return Reply(200, content, headers, failure="malformed")
        return Reply(200, content, headers, completion=completion)


async def iter_bytes(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body of an open streamed response as it arrives (decoded transfer, bytes unchanged); closes it."""
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    finally:
        await response.aclose()


class EventReader:
    """Reads server-sent events from a byte stream and assembles the streamed chat completion."""

    def __init__(self) -> None:
        self._buffer = b""
        self.chunks: list[dict] = []
        self.done = False

    def feed(self, data: bytes) -> None:
        self._buffer += data.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    self.done = True
                    continue
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    continue
                if isinstance(chunk, dict):
                    self.chunks.append(chunk)

    @property
    def has_output(self) -> bool:
        """Whether some answer text or a tool call has come."""
        return any((choice.get("delta") or {}).get("content") or (choice.get("delta") or {}).get("tool_calls")
                   for chunk in self.chunks for choice in chunk.get("choices") or [])

    def completion(self) -> dict | None:
        """The chunks put together as one ``chat.completion`` (None when nothing came)."""
        if not self.chunks:
            return None
        return assemble(self.chunks)


def assemble(chunks: list[dict]) -> dict:
    """``chat.completion.chunk`` objects put together as one ``chat.completion`` (content, tool calls, finish
    reason and usage of the first choice)."""
    first = chunks[0]
    content: list[str] = []
    tools: dict[int, dict] = {}
    finish = None
    usage = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                content.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                slot = tools.setdefault(call.get("index", 0), {"id": None, "type": "function",
                                                                "function": {"name": "", "arguments": ""}})
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["function"]["name"] += function.get("name") or ""
                slot["function"]["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
    if tools:
        message["tool_calls"] = [tools[i] for i in sorted(tools)]
    out = {"id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
           "model": first.get("model"), "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if usage:
        out["usage"] = usage
    return out
