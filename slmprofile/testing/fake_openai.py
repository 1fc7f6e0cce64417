"""A local, scriptable fake of the OpenAI Chat Completions API, for tests and offline demos.

:class:`FakeOpenAI` serves ``POST /v1/chat/completions`` (and ``GET /v1/models``) on ``127.0.0.1`` from a thread,
on a free port, with the standard library only. It answers deterministically through an *answerer* (a function of
the request's messages), records every request it receives (so a test can assert that nothing was sent twice and
that only redacted text left the runner), and injects faults on demand: HTTP 429 with ``Retry-After``, 500/503,
400, responses slower than the client's timeout, malformed JSON bodies and dropped connections.

>>> from slmprofile.testing import FakeOpenAI, Fault
>>> with FakeOpenAI(script=[Fault("429", retry_after=0.1), "500"]) as server:   # doctest: +SKIP
...     ...  # point an OpenAI client at server.base_url; the first request gets 429, the second 500, then answers

Answerers shipped here: :func:`rule_based_answer` (a rule-based "small model" that gets label-set classification
and simple arithmetic right some of the time), :func:`reference_answerer` (repeats a known reference answer for a
deterministic share of prompts, for checks against a known agreement rate) and :func:`judge_rule` (answers the
LLM-judge prompt of :mod:`slmprofile.agreement`). Run ``python -m slmprofile.testing.fake_openai --port 8000`` to
serve the rule-based model for a demo.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping, Union

#: What an answerer returns: the text, or (text, confidence in (0, 1]) to shape the returned logprobs.
Answer = Union[str, "tuple[str, float]"]
Answerer = Callable[[list, dict], Answer]

FAULT_KINDS = ("429", "500", "503", "400", "timeout", "malformed", "drop")


@dataclass(frozen=True)
class Fault:
    """One injected failure.

    Attributes:
        kind: ``"429"`` / ``"503"`` (with ``retry_after``), ``"500"``, ``"400"`` (not retryable), ``"timeout"``
            (answer only after ``sleep_s``: longer than the client's timeout), ``"malformed"`` (HTTP 200 with a
            truncated JSON body) or ``"drop"`` (close the connection without answering).
        retry_after: seconds sent in the ``Retry-After`` header (429/503 only; None sends no header).
        sleep_s: how long a ``"timeout"`` fault holds the request.
    """

    kind: str
    retry_after: float | None = None
    sleep_s: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"The 'kind' parameter of Fault must be one of {', '.join(FAULT_KINDS)}; "
                             f"got {self.kind!r} instead.")


@dataclass
class RecordedRequest:
    """A request the server received: its order, path, JSON body (None when unparseable) and what it got."""

    n: int
    path: str
    body: dict | None
    outcome: str  # "ok" or the fault kind
    at: float = field(default_factory=time.time)

    @property
    def texts(self) -> list[str]:
        """Every message content string in the request."""
        return [_content_text(m.get("content")) for m in (self.body or {}).get("messages", [])]

    @property
    def last_user(self) -> str:
        """The last user message's text ("" when none)."""
        users = [m for m in (self.body or {}).get("messages", []) if m.get("role") == "user"]
        return _content_text(users[-1].get("content")) if users else ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _as_fault(item: Fault | str | None) -> Fault | None:
    if item is None or isinstance(item, Fault):
        return item
    return Fault(str(item))


class FakeOpenAI:
    """A fake OpenAI-compatible server on ``127.0.0.1`` (a free port), started in a background thread.

    Args:
        answer: ``answer(messages, body) -> text`` or ``(text, confidence)``; default :func:`rule_based_answer`.
        script: faults for the next requests, in order (``Fault`` objects or kind strings; ``None`` = answer
            normally); once used up, requests are answered.
        rule: ``rule(body, attempt) -> Fault | str | None`` consulted when the script is empty; ``attempt`` counts
            earlier requests with the same messages (0 for the first), e.g. fail each prompt's first attempt.
        latency_s: delay before every answer.
        models: model ids listed by ``GET /v1/models`` (any model name is answered).
        stream_delay_s: pause between the events of a streamed answer (``"stream": true`` requests are answered
            as server-sent events, see :func:`stream_events`).

    Use as a context manager, or call :meth:`start` / :meth:`stop`. ``requests`` holds every
    :class:`RecordedRequest` received.
    """

    def __init__(self, *, answer: Answerer | None = None, script: Iterable[Fault | str | None] = (),
                 rule: Callable[[dict, int], Fault | str | None] | None = None, latency_s: float = 0.0,
                 models: Iterable[str] = ("fake-slm",), stream_delay_s: float = 0.0) -> None:
        self.answer = answer or rule_based_answer
        self.stream_delay_s = stream_delay_s
        self.script = [_as_fault(x) for x in script]
        self.rule = rule
        self.latency_s = latency_s
        self.models = list(models)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._server is not None:
            return self
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (requests held by a ``timeout`` fault are released)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake server is not started; call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: pass it as ``base_url`` to an OpenAI client."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- inspection ----------------------------------------------------------------------------------------------
    def add_faults(self, *faults: Fault | str | None) -> None:
        """Append faults to the script (used by the next requests once earlier ones are consumed)."""
        with self._lock:
            self.script.extend(_as_fault(f) for f in faults)

    def completions(self) -> list[RecordedRequest]:
        """Requests that were answered normally (HTTP 200 with a valid body)."""
        return [r for r in self.requests if r.outcome == "ok"]

    def sent_texts(self) -> list[str]:
        """Every message text of every request received."""
        return [t for r in self.requests for t in r.texts]

    # -- request handling (called from handler threads) ----------------------------------------------------------
    def _decide(self, body: dict | None) -> tuple[int, Fault | None]:
        key = json.dumps((body or {}).get("messages"), sort_keys=True)
        with self._lock:
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
            n = len(self.requests)
            fault = self.script.pop(0) if self.script else None
        if fault is None and self.rule is not None and body is not None:
            fault = _as_fault(self.rule(body, attempt))
        return n, fault

    def _record(self, n: int, path: str, body: dict | None, outcome: str) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(n=n, path=path, body=body, outcome=outcome))

    def _completion(self, n: int, body: dict) -> dict:
        messages = body.get("messages") or []
        result = self.answer(messages, body)
        text, confidence = (result if isinstance(result, tuple) else (result, None))
        words = text.split()
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        finish = "stop"
        if max_tokens is not None and len(words) > int(max_tokens):
            text, finish = " ".join(words[: int(max_tokens)]), "length"
            words = text.split()
        prompt_tokens = sum(len(_content_text(m.get("content")).split()) for m in messages) + 3 * len(messages) + 3
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text},
                                  "finish_reason": finish}
        if body.get("logprobs"):
            lp = math.log(confidence) if confidence else -0.05
            choice["logprobs"] = {"content": [{"token": w, "logprob": lp, "bytes": None, "top_logprobs": []}
                                              for w in words or [""]]}
        return {"id": f"chatcmpl-fake-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"), "choices": [choice],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                          "total_tokens": prompt_tokens + len(words)}}


def stream_events(completion: Mapping[str, Any], *, include_usage: bool = False) -> list[bytes]:
    """A chat completion as the ``data: ...`` events of a streamed answer (``chat.completion.chunk`` objects: the
    role, then one chunk per word, then the finish reason, the usage when asked for, and ``[DONE]``)."""
    choice = completion["choices"][0]
    base = {"id": completion["id"], "object": "chat.completion.chunk", "created": completion["created"],
            "model": completion["model"]}

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> bytes:
        data = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    words = re.findall(r"\S+\s*|\s+", choice["message"]["content"] or "")
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": w}) for w in words]
    events.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        events.append(b"data: " + json.dumps({**base, "choices": [], "usage": completion["usage"]}).encode()
                      + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


class _Server(ThreadingHTTPServer):
    """The stdlib threading server with a listen backlog fit for load tests: its default of 5 drops bursts of new
    connections, which the clients then retry after a one-second SYN timeout."""

    request_queue_size = 1024
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    server_owner: FakeOpenAI
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK
    # hold the body back ~40 ms on keep-alive connections, which would swamp any latency measured against the fake
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the stdlib access log
        return

    def _send(self, status: int, payload: bytes, headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client gave up (its timeout): that is the point of a timeout fault

    def _stream(self, completion: dict, body: dict, delay_s: float) -> None:
        """Send ``completion`` as server-sent events, one chunk per word, with chunked transfer encoding."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in stream_events(completion, include_usage=bool((body.get("stream_options") or {})
                                                                     .get("include_usage"))):
                self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
                if delay_s:
                    time.sleep(delay_s)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    def _error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        err = {"error": {"message": message, "type": "fake_error", "code": status}}
        self._send(status, json.dumps(err).encode(), headers)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.server_owner
        if self.path.rstrip("/").endswith("/models"):
            data = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in owner.models]}
            self._send(200, json.dumps(data).encode())
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.server_owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        n, fault = owner._decide(body)
        if body is None or not isinstance(body.get("messages"), list):
            owner._record(n, self.path, body, "400")
            self._error(400, "request body must be JSON with a 'messages' list")
            return
        kind = fault.kind if fault else "ok"
        owner._record(n, self.path, body, kind)  # recorded on arrival: a request the client gave up on still counts
        if owner.latency_s:
            time.sleep(owner.latency_s)
        if fault is None and body.get("stream"):
            self._stream(owner._completion(n, body), body, owner.stream_delay_s)
        elif fault is None:
            self._send(200, json.dumps(owner._completion(n, body)).encode())
        elif kind in ("429", "503"):
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            self._error(int(kind), "rate limited" if kind == "429" else "overloaded", headers)
        elif kind in ("500", "400"):
            self._error(int(kind), "internal error" if kind == "500" else "bad request")
        elif kind == "timeout":
            end = time.monotonic() + fault.sleep_s
            while time.monotonic() < end and not owner._stopping.is_set():
                time.sleep(0.02)
            self._send(200, json.dumps(owner._completion(n, body)).encode())
        elif kind == "malformed":
            self._send(200, b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "mess')
        elif kind == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass


# -- answerers -------------------------------------------------------------------------------------------------------

_OPTION_LIST = re.compile(r"(?:\bone of\s*:?|\b(?:categories|category|labels?|options|classes)\s*[:(])\s*"
                          r"([^\n.?]{3,300})", re.I)
_POSITIVE = ("love", "great", "excellent", "amazing", "good", "happy", "perfect", "fast", "helpful", "recommend")
_NEGATIVE = ("hate", "terrible", "awful", "bad", "broken", "slow", "refund", "angry", "worst", "disappoint")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
JUDGE_MARKERS = ("Reference answer:", "Candidate answer:")


def _normalise(text: str) -> str:
    return re.sub(r"[\s\"'`.,;:!]+", " ", text.lower()).strip()


def judge_rule(messages: list, body: dict | None = None) -> str:
    """Answer an agreement-judge prompt: ``YES`` when the candidate and reference answers are the same once case,
    spacing and punctuation are ignored, else ``NO``."""
    text = _content_text((messages or [{}])[-1].get("content"))
    ref = text.split(JUDGE_MARKERS[0], 1)[1].split(JUDGE_MARKERS[1], 1)[0]
    cand = text.split(JUDGE_MARKERS[1], 1)[1].split("\n\nDo the", 1)[0]
    return "YES" if _normalise(ref) == _normalise(cand) else "NO"


def rule_based_answer(messages: list, body: dict | None = None) -> Answer:
    """A deterministic rule-based "small model".

    * judge prompts (see :data:`JUDGE_MARKERS`) -> :func:`judge_rule`;
    * a prompt listing labels ("one of: a, b, c", "categories: ...") -> the label whose words occur in the text
      (sentiment by positive/negative word counts), else the first label;
    * arithmetic questions ("how many", "total", "calculate", "sum") -> the sum of the numbers in the question;
    * anything else -> the first sentence of the user's message.
    """
    system = " ".join(_content_text(m.get("content")) for m in messages if m.get("role") == "system")
    users = [_content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    user = users[-1] if users else ""
    if all(marker in user for marker in JUDGE_MARKERS):
        return judge_rule(messages, body)
    found = _OPTION_LIST.search(system) or _OPTION_LIST.search(user)
    if found:
        options = [o.strip(" '\"`*-") for o in re.split(r",|/|\||\bor\b", found.group(1)) if o.strip(" '\"`*-")]
        options = [o for o in options if len(o.split()) <= 3]
        if options:
            lower = user.lower()
            if {"positive", "negative"} & {o.lower() for o in options}:
                score = sum(w in lower for w in _POSITIVE) - sum(w in lower for w in _NEGATIVE)
                want = "positive" if score > 0 else "negative" if score < 0 else "neutral"
                match = [o for o in options if o.lower() == want]
                if match:
                    return match[0], 0.9 if score else 0.5
            rest = lower.replace(found.group(1).lower(), " ")
            for option in options:
                words = [w for w in re.split(r"[\s_-]+", option.lower()) if len(w) > 2]
                if words and any(w in rest for w in words):
                    return option, 0.85
            return options[0], 0.4
    if re.search(r"how many|total|calculate|sum of|how much", user, re.I):
        numbers = [float(x) for x in _NUMBER.findall(user)]
        if numbers:
            total = sum(numbers)
            return f"The answer is {total:g}.", 0.6
    first = re.split(r"(?<=[.!?])\s+", user.strip(), maxsplit=1)[0] if user.strip() else "OK."
    return first, 0.5


def _unit_hash(text: str, salt: str = "") -> float:
    digest = hashlib.sha256((salt + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def reference_answerer(reference: Mapping[str, str], *, agree: float | Callable[[str], float] = 0.9,
                       wrong: str = "I am not sure about this one.", salt: str = "") -> Answerer:
    """An answerer that repeats ``reference[prompt]`` (the logged frontier answer, keyed by the last user message)
    for a deterministic share ``agree`` of prompts (a hash of the prompt decides) and answers ``wrong`` otherwise.

    ``agree`` may be a function of the prompt (e.g. a rate per task type); prompts missing from ``reference`` get
    ``wrong``. Judge prompts are answered by :func:`judge_rule`. Agreeing answers come with confidence 0.95,
    wrong ones with 0.3 (as logprobs when requested).
    """

    def answer(messages: list, body: dict | None = None) -> Answer:
        users = [_content_text(m.get("content")) for m in messages if m.get("role") == "user"]
        prompt = users[-1] if users else ""
        if all(marker in prompt for marker in JUDGE_MARKERS):
            return judge_rule(messages, body)
        rate = agree(prompt) if callable(agree) else agree
        if prompt in reference and _unit_hash(prompt, salt) < rate:
            return reference[prompt], 0.95
        return wrong, 0.3

    return answer


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual demo entry point
    """Serve the rule-based fake model until interrupted: ``python -m slmprofile.testing.fake_openai``."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    owner = FakeOpenAI()

    class Handler(_Handler):
        server_owner = owner

    server = _Server(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"fake OpenAI-compatible server on http://127.0.0.1:{args.port}/v1 (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":  # pragma: no cover
    main()
