"""The gateway's ASGI app: ``POST /v1/chat/completions`` routed by the exported router, ``GET /v1/models``,
``GET /health`` and ``GET /metrics``.

shadow mode: the frontier upstream answers every request; the router's decision is recorded, and a sampled share
of requests also goes to the small model in a background task that never delays the answer (``shadow.jsonl``).

route mode: a request whose ``p_slm`` reaches the router's threshold goes to the small model; when the small model
fails (an HTTP error, a timeout, a dropped connection, a malformed body) or its answer fails its check (valid JSON
when ``response_format`` asks for JSON; not empty), the request is escalated to the frontier model and the reason is
recorded. A streamed answer is checked before its first byte reaches the client when it must be JSON; otherwise the
small model's stream is passed through as it comes.

Answers reach the client as the upstream sent them (status and body bytes); the gateway adds only
``x-slmprofile-*`` headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator

from .batching import RouteBatcher
from .calllog import CALLS_FILE, SHADOW_FILE, CallLog
from .metrics import Metrics
from .settings import GatewaySettings
from .upstream import EventReader, Reply, UpstreamClient, error_body, failure_of, iter_bytes, transport_errors

if TYPE_CHECKING:  # pragma: no cover
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

#: Header a client may set to tag a request with its task type (kept in the log; ``serve-report`` groups by it).
TASK_TYPE_HEADER = "x-slmprofile-task-type"
#: Why a request routed to the small model was answered by the frontier model instead.
ESCALATION_REASONS = ("timeout", "unreachable", "http_error", "malformed", "invalid_json", "empty_answer")


def prompt_text(messages: Any) -> str:
    """The text the router scores: the last user message, as ingestion computes ``prompt_text``."""
    from ..ingest.common import Skip
    from ..ingest.messages import normalize_conversation

    try:
        return normalize_conversation(messages).prompt_text or ""
    except Skip:
        return ""


def wants_json(body: dict) -> bool:
    """Whether the request asks for a JSON answer (``response_format`` of type ``json_object`` or ``json_schema``)."""
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")


def answer_problem(body: dict, completion: dict | None) -> str | None:
    """Why a small model's answer may not be served (``invalid_json``, ``empty_answer``), or None when it may."""
    if completion is None:
        return "malformed"
    message = ((completion.get("choices") or [{}])[0] or {}).get("message") or {}
    content = message.get("content")
    if message.get("tool_calls"):
        return None
    if not isinstance(content, str) or not content.strip():
        return "empty_answer"
    if wants_json(body):
        try:
            json.loads(content)
        except ValueError:
            return "invalid_json"
    return None


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Call:
    """One request on its way through the gateway."""

    id: str
    body: dict
    prompt: str
    p_slm: float
    decision: str
    reason: str
    task_type: str | None
    started: float = field(default_factory=time.perf_counter)
    timestamp: str = field(default_factory=_now_iso)
    upstream_s: float = 0.0
    shadowed: bool = False

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


class Gateway:
    """The gateway's state: settings, router, upstream clients, call log, metrics and running shadow calls.

    ``transports`` (tests only) maps ``"frontier"`` / ``"slm"`` to an httpx transport to use instead of the network.
    """

    def __init__(self, settings: GatewaySettings, router: Any, *, transports: dict[str, Any] | None = None,
                 settle_gc: bool = False) -> None:
        self.settings = settings.check()
        self.router = router
        self.batcher = RouteBatcher(router)
        self.batcher.calibrate()
        self.metrics = Metrics()
        self.log: CallLog | None = None
        self.frontier: UpstreamClient | None = None
        self.slm: UpstreamClient | None = None
        self._transports = transports or {}
        self._rng = random.Random(settings.seed)
        self._shadow_tasks: set[asyncio.Task] = set()
        self.settle_gc = settle_gc

    # -- lifecycle -----------------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        self.frontier = UpstreamClient(self.settings.frontier, name="frontier",
                                       transport=self._transports.get("frontier"))
        self.slm = UpstreamClient(self.settings.slm, name="slm", transport=self._transports.get("slm"))
        if self.settings.log_dir is not None:
            self.log = CallLog(self.settings.log_dir, redact=self.settings.redact)
        if self.settle_gc:
            settle_gc()
        try:
            yield
        finally:
            await self.drain()
            await self.frontier.aclose()
            await self.slm.aclose()
            if self.log is not None:
                self.log.close()

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait for running shadow calls (each is bounded by the small model's timeout)."""
        if self._shadow_tasks:
            await asyncio.wait(set(self._shadow_tasks), timeout=timeout_s)

    # -- endpoints -----------------------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok", "mode": self.settings.mode, "router": str(self.router.directory),
                             "threshold": self.router.threshold, "shadow_rate": self.settings.shadow_rate,
                             "shadow_in_flight": len(self._shadow_tasks),
                             "routed": self.batcher.routed, "router_calls": self.batcher.batches,
                             "router_ms": round((self.batcher.call_s or 0) * 1e3, 3),
                             "router_inline": self.batcher.inline,
                             "logging": self.settings.log_dir is not None})

    async def metrics_endpoint(self, request: Request) -> Response:
        from starlette.responses import Response

        content, media_type = self.metrics.render()
        return Response(content, media_type=media_type)

    async def models(self, request: Request) -> Response:
        from starlette.responses import JSONResponse, Response

        if (denied := self._authorise(request)) is not None:
            return denied
        reply = await self.frontier.get("models")
        if reply.status == 200:
            return Response(reply.content, media_type=reply.headers.get("content-type", "application/json"))
        names = [m for m in (self.settings.frontier.model, self.settings.slm.model) if m]
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model", "owned_by": "slmprofile"}
                                                         for m in names]})

    async def chat(self, request: Request) -> Response:
        started = time.perf_counter()
        if (denied := self._authorise(request)) is not None:
            return denied
        body = await self._read_body(request)
        if not isinstance(body, dict):
            return body
        call = await self._route(request, body, started)
        if self.settings.mode == "route" and call.decision == "slm":
            return await self._to_slm(call)
        if self.settings.mode == "shadow":
            self._maybe_shadow(call)
        return await self._serve(call, self.frontier, served_by="frontier")

    # -- request checks ------------------------------------------------------------------------------------------
    def _reject(self, status: int, reason: str, message: str, kind: str = "invalid_request_error") -> Response:
        from starlette.responses import Response

        self.metrics.rejected.labels(reason).inc()
        return Response(error_body(message, kind, reason), status_code=status, media_type="application/json")

    def _authorise(self, request: Request) -> Response | None:
        key = self.settings.api_key
        if key is None:
            return None
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), key.encode()):
            return None
        return self._reject(401, "unauthorised", "missing or wrong API key: send 'Authorization: Bearer <key>' "
                            "with the gateway's key", "authentication_error")

    async def _read_body(self, request: Request) -> dict | Response:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return self._reject(413, "too_large", f"request body of {int(declared)} bytes is over the gateway's "
                                f"limit of {limit} bytes")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                return self._reject(413, "too_large", f"request body is over the gateway's limit of {limit} bytes")
        try:
            body = json.loads(bytes(data))
        except ValueError:
            return self._reject(400, "bad_json", "request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            return self._reject(400, "no_messages", "request body must be a JSON object with a non-empty "
                                "'messages' list")
        return body

    async def _route(self, request: Request, body: dict, started: float) -> Call:
        text = prompt_text(body["messages"])
        queued = time.perf_counter()
        routed = await self.batcher.route(text)
        self.metrics.route_seconds.observe(time.perf_counter() - queued)
        p_slm = routed.p_slm
        self.metrics.p_slm.observe(p_slm)
        task_type = request.headers.get(TASK_TYPE_HEADER)
        metadata = body.get("metadata")
        if not task_type and isinstance(metadata, dict) and isinstance(metadata.get("task_type"), str):
            task_type = metadata["task_type"]
        return Call(id=f"gw-{uuid.uuid4().hex}", body=body, prompt=text, p_slm=p_slm,
                    decision=routed.decision, reason=routed.reason, task_type=task_type or None, started=started)

    # -- answering -------------------------------------------------------------------------------------------------
    def _headers(self, call: Call, served_by: str) -> dict[str, str]:
        return {"x-slmprofile-request-id": call.id, "x-slmprofile-served-by": served_by,
                "x-slmprofile-p-slm": f"{call.p_slm:.4f}"}

    async def _serve(self, call: Call, upstream: UpstreamClient, *, served_by: str,
                     escalation: tuple[str, str] | None = None) -> Response:
        """Answer from ``upstream`` (the frontier model, or the small model once its reply is known to be good)."""
        if call.stream:
            reply = await upstream.open_stream(call.body)
            self._observe(call, upstream, reply)
            if reply.ok:
                return self._pipe(call, reply, served_by=served_by, escalation=escalation)
        else:
            reply = await upstream.complete(call.body)
            self._observe(call, upstream, reply)
        return self._answer(call, reply, served_by=served_by, escalation=escalation)

    def _observe(self, call: Call, upstream: UpstreamClient, reply: Reply) -> None:
        call.upstream_s += reply.seconds
        self.metrics.upstream_seconds.labels(upstream.name).observe(reply.seconds)

    def _answer(self, call: Call, reply: Reply, *, served_by: str, escalation: tuple[str, str] | None) -> Response:
        """A whole (non-streamed) answer, or the upstream's failure as an HTTP error."""
        from starlette.responses import Response

        if reply.ok or reply.failure == "http_error":
            status, content = reply.status or 502, reply.content
            media_type = reply.headers.get("content-type", "application/json")
        else:
            status = 504 if reply.failure == "timeout" else 502
            content = error_body(f"the {served_by} upstream failed: {reply.describe()} "
                                 f"after {reply.attempts} attempt(s)", "upstream_error", reply.failure)
            media_type = "application/json"
        self._finish(call, served_by=served_by, status=status, completion=reply.completion,
                     error=None if reply.ok else reply.describe(), escalation=escalation)
        return Response(content, status_code=status, media_type=media_type, headers=self._headers(call, served_by))

    def _pipe(self, call: Call, reply: Reply, *, served_by: str, escalation: tuple[str, str] | None,
              prefix: list[bytes] | None = None, rest: AsyncIterator[bytes] | None = None) -> Response:
        """Stream to the client: the chunks already read (``prefix``), then the rest of the upstream's stream as
        it comes (``rest``; by default the whole open response)."""
        from starlette.responses import StreamingResponse

        reader = EventReader()
        source = rest if rest is not None or prefix is not None else iter_bytes(reply.response)

        async def relay() -> AsyncIterator[bytes]:
            error = None
            try:
                for chunk in prefix or ():
                    reader.feed(chunk)
                    yield chunk
                if source is not None:
                    async for chunk in source:
                        reader.feed(chunk)
                        yield chunk
                if not reader.done:
                    error = "stream ended without [DONE]"
            except transport_errors() as exc:
                error = f"stream broken: {type(exc).__name__}"
            except asyncio.CancelledError:
                error = "client disconnected"
                raise
            finally:
                try:
                    if source is not None:
                        await source.aclose()
                finally:  # the call's log line is written even when closing the upstream stream fails
                    self._finish(call, served_by=served_by, status=200, completion=reader.completion(), error=error,
                                 escalation=escalation)

        media_type = reply.headers.get("content-type", "text/event-stream")
        return StreamingResponse(relay(), status_code=200, media_type=media_type,
                                 headers=self._headers(call, served_by))

    async def _to_slm(self, call: Call) -> Response:
        """route mode, the router chose the small model: serve its answer or escalate to the frontier model.

        A stream is read until its first piece of answer (or, when JSON is asked for, to its end) before the
        client sees a byte, so that a failed or empty answer can still be escalated; the rest is passed on as it
        comes."""
        if not call.stream:
            reply = await self.slm.complete(call.body)
            self._observe(call, self.slm, reply)
            problem = reply.failure or answer_problem(call.body, reply.completion)
            if problem is None:
                return self._answer(call, reply, served_by="slm", escalation=None)
            return await self._escalate(call, problem, reply.describe() if reply.failure else problem)
        reply = await self.slm.open_stream(call.body)
        self._observe(call, self.slm, reply)
        if not reply.ok:
            return await self._escalate(call, reply.failure or "unreachable", reply.describe())
        whole = wants_json(call.body)
        chunks: list[bytes] = []
        reader = EventReader()
        source = iter_bytes(reply.response)
        ended = True
        try:
            async for chunk in source:
                chunks.append(chunk)
                reader.feed(chunk)
                if not whole and reader.has_output:
                    ended = False
                    break
        except transport_errors() as exc:
            await source.aclose()
            return await self._escalate(call, failure_of(exc), f"stream broken: {type(exc).__name__}")
        if ended:
            problem = answer_problem(call.body, reader.completion()) if reader.done else "malformed"
            if problem is not None:
                return await self._escalate(call, problem, problem)
        return self._pipe(call, reply, served_by="slm", escalation=None, prefix=chunks,
                          rest=None if ended else source)

    async def _escalate(self, call: Call, reason: str, detail: str) -> Response:
        self.metrics.escalations.labels(reason).inc()
        return await self._serve(call, self.frontier, served_by="frontier", escalation=(reason, detail))

    # -- shadow calls ----------------------------------------------------------------------------------------------
    def _maybe_shadow(self, call: Call) -> None:
        if self._rng.random() >= self.settings.shadow_rate:
            self.metrics.shadow.labels("not_sampled").inc()
            return
        if len(self._shadow_tasks) >= self.settings.max_shadow_in_flight:
            self.metrics.shadow.labels("skipped_busy").inc()
            return
        call.shadowed = True
        task = asyncio.get_running_loop().create_task(self._shadow(call))
        self._shadow_tasks.add(task)
        self.metrics.shadow_in_flight.set(len(self._shadow_tasks))
        task.add_done_callback(self._shadow_done)

    def _shadow_done(self, task: asyncio.Task) -> None:
        self._shadow_tasks.discard(task)
        self.metrics.shadow_in_flight.set(len(self._shadow_tasks))

    async def _shadow(self, call: Call) -> None:
        started, timestamp = time.perf_counter(), _now_iso()
        reply = await self.slm.complete(call.body)
        self.metrics.upstream_seconds.labels("slm").observe(reply.seconds)
        self.metrics.shadow.labels("ok" if reply.ok else "failed").inc()
        if self.log is not None:
            self.log.write(SHADOW_FILE, {
                "id": call.id, "timestamp": timestamp, "latency_ms": round((time.perf_counter() - started) * 1e3, 3),
                "model": (reply.completion or {}).get("model") or self.settings.slm.model,
                "response": reply.completion, "error": None if reply.ok else reply.describe(),
                "p_slm": round(call.p_slm, 6), "decision": call.decision, "task_type": call.task_type})

    # -- the call's log line -------------------------------------------------------------------------------------
    def _finish(self, call: Call, *, served_by: str, status: int, completion: dict | None, error: str | None,
                escalation: tuple[str, str] | None) -> None:
        elapsed = time.perf_counter() - call.started
        self.metrics.overhead_seconds.observe(max(0.0, elapsed - call.upstream_s))
        self.metrics.requests.labels(self.settings.mode, call.decision, served_by, str(status)).inc()
        if self.log is None:
            return
        self.log.write(CALLS_FILE, {
            "id": call.id, "timestamp": call.timestamp, "latency_ms": round(elapsed * 1e3, 3),
            "request": call.body, "response": completion, "error": error, "http_status": status,
            "task_type": call.task_type,
            "routing": {"mode": self.settings.mode, "decision": call.decision, "reason": call.reason,
                        "p_slm": round(call.p_slm, 6), "threshold": self.router.threshold, "served_by": served_by,
                        "escalated": escalation is not None,
                        "escalation_reason": escalation[0] if escalation else None,
                        "escalation_detail": escalation[1] if escalation else None,
                        "shadowed": call.shadowed}})


def settle_gc() -> None:
    """Import what requests will need, then move every object alive now (libraries, router, tokenizer, clients)
    out of the garbage collector's reach (``gc.freeze``). Without it, the periodic full collections walk them all
    and pause the event loop 7-25 ms on this project's machine, which set the gateway's p99."""
    import gc

    import starlette.responses  # noqa: F401 - imported lazily by the endpoints

    from ..redact import redact_json

    redact_json([{"role": "user", "content": "warm up: dana@example.com"}])
    gc.collect()
    gc.freeze()


def create_app(settings: GatewaySettings, router: Any, *, transports: dict[str, Any] | None = None,
               settle_gc: bool = False) -> Starlette:
    """The gateway as a Starlette app (``app.state.gateway`` is its :class:`Gateway`); ``settle_gc``: see
    :func:`settle_gc` (for a process that only serves)."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    gateway = Gateway(settings, router, transports=transports, settle_gc=settle_gc)
    app = Starlette(routes=[Route("/v1/chat/completions", gateway.chat, methods=["POST"]),
                            Route("/v1/models", gateway.models, methods=["GET"]),
                            Route("/health", gateway.health, methods=["GET"]),
                            Route("/metrics", gateway.metrics_endpoint, methods=["GET"])],
                    lifespan=gateway.lifespan)
    app.state.gateway = gateway
    return app
