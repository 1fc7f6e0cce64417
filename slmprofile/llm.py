"""A production-grade runner for OpenAI-compatible chat models: concurrency, retries, a hard spend cap, a resumable
cache, redaction.

:class:`LLMRunner` sends many chat requests to one model through the ``openai`` SDK's ``AsyncOpenAI`` client (any
``base_url``: OpenAI, vLLM, Ollama, LiteLLM, a fake server in tests) and returns one :class:`LLMResult` per request,
in order. It is generic: shadow runs use it to ask candidate small models, and anything else that needs an LLM (a
judge, a task-type namer) can reuse it.

* **Concurrency**: at most ``concurrency`` requests in flight (``asyncio.Semaphore``).
* **Retries**, done once, here (the SDK's own retries are switched off with ``max_retries=0`` so that every attempt
  is accounted against the spend cap): HTTP 408/409/429/5xx, timeouts, dropped connections and malformed bodies are
  retried up to ``max_retries`` times with exponential backoff and jitter (:func:`retry_delay`), honouring
  ``Retry-After`` / ``retry-after-ms``. Other 4xx fail at once.
* **Spend cap** (:class:`SpendCap`: tokens and/or dollars, shareable between runners) that is never exceeded: before
  each attempt the worst case is *reserved* - an upper bound on the prompt's tokens (its UTF-8 byte count plus chat
  overhead: byte-level BPE tokenizers never produce more tokens than bytes) plus ``max_tokens`` - and a request
  whose reservation does not fit is not sent (``status="over_budget"``). After the attempt the reservation is
  *settled*: to the reported usage on success, to nothing for an HTTP error answer (providers do not bill those),
  and to the full reservation when the outcome is unknown (timeout, dropped connection, malformed body, cancelled).
  A dollar cap needs the model's price: ``price=(input, output)`` USD per million tokens, else the offline
  ``genai-prices`` snapshot; an unknown model with a dollar cap is an error before anything is sent.
* **Redaction**: message texts pass through :func:`slmprofile.redact.redact` before they leave the machine
  (``redact=False`` opts out).
* **Resumable cache** (:class:`ResponseCache`, SQLite, one committed row per answer, ``synchronous=FULL``): keyed by
  a hash of the model, the sent (redacted) messages and the generation parameters. Re-run after an interruption,
  answers already received are read back and never requested again. An interruption (Ctrl-C, task cancellation)
  sends nothing new but lets the requests already on the wire finish (within ``timeout``) and keeps their answers,
  so nothing is sent twice; only a hard kill (SIGKILL, power loss) can lose the answers of requests in flight
  (at most ``concurrency``), which a re-run then sends again. Identical requests within a run are sent once.
* **Progress bar** (tqdm) for runs of more than a few requests.

>>> runner = LLMRunner("gpt-4o-mini", cache="llm_cache.sqlite", spend_cap=SpendCap(max_usd=2.0))  # doctest: +SKIP
>>> results = runner.run([LLMRequest.from_prompt("Classify: charged twice", key="call-1")])      # doctest: +SKIP
>>> results[0].content, runner.stats_.spent_usd                                                  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import math
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_TOKENS = 256
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 30.0
#: A Retry-After longer than this is not waited for: the attempt counts as failed and backoff applies.
MAX_RETRY_AFTER_S = 120.0
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Worst-case tokens the chat format adds: per request (reply priming, a provider's default system text) and per
#: message (role markers).
REQUEST_OVERHEAD_TOKENS = 32
MESSAGE_OVERHEAD_TOKENS = 8
#: Requests above this many show a progress bar when ``progress`` is left at None.
PROGRESS_MIN_REQUESTS = 20

STATUSES = ("ok", "cached", "failed", "over_budget")


# -- retry policy: small pure functions ------------------------------------------------------------------------------

def should_retry(kind: str, status: int | None = None) -> bool:
    """Whether an attempt that ended in ``kind`` (``"status"`` with an HTTP ``status``, ``"timeout"``,
    ``"connection"`` or ``"malformed"``) is worth retrying."""
    if kind == "status":
        return status in RETRY_STATUSES
    return kind in ("timeout", "connection", "malformed")


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date); None when absent or
    unreadable."""
    if not headers:
        return None
    lower = {str(k).lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return max((parsed - datetime.now(timezone.utc)).total_seconds(), 0.0)


def retry_delay(attempt: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` = 0 after the first failure).

    A server's ``retry_after`` (up to :data:`MAX_RETRY_AFTER_S`) is honoured, plus up to 10 % jitter so that
    clients told the same time do not return together; otherwise exponential backoff from
    :data:`INITIAL_RETRY_DELAY_S`, capped at :data:`MAX_RETRY_DELAY_S`, with "equal jitter" (half fixed, half
    random).
    """
    r = (rng or random).random()
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER_S:
        return retry_after * (1.0 + 0.1 * r)
    base = min(MAX_RETRY_DELAY_S, INITIAL_RETRY_DELAY_S * 2.0 ** max(attempt, 0))
    return base * (0.5 + 0.5 * r)


# -- requests, results, spend cap, cache -----------------------------------------------------------------------------

def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("text"))
    return "" if content is None else str(content)


@dataclass(frozen=True)
class LLMRequest:
    """One chat request: ``messages`` (``[{"role": ..., "content": ...}]``) and the caller's ``key`` (returned with
    the result; not part of the cache key)."""

    messages: tuple[Mapping[str, Any], ...]
    key: str = ""

    @classmethod
    def from_prompt(cls, prompt: str, *, system: str | None = None, key: str = "") -> LLMRequest:
        """A request with an optional system message and one user message."""
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return cls(messages=tuple(messages), key=key)


@dataclass
class LLMResult:
    """The outcome of one request.

    ``status``: ``ok`` (answered in this run), ``cached`` (answered earlier, read from the cache), ``failed``
    (retries exhausted or not retryable; ``error`` says why) or ``over_budget`` (not sent: its worst case did not
    fit the spend cap). ``confidence`` is ``exp(mean token logprob)`` when logprobs were requested.
    """

    key: str
    model: str
    status: str
    content: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    attempts: int = 0
    error: str | None = None
    cache_key: str = ""
    confidence: float | None = None
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether there is an answer (``ok`` or ``cached``)."""
        return self.status in ("ok", "cached")


@dataclass
class RunStats:
    """What one :meth:`LLMRunner.run` did."""

    requests: int = 0
    distinct: int = 0
    cached: int = 0
    sent: int = 0  # attempts that reached the network
    answered: int = 0
    retries: int = 0
    failed: int = 0
    over_budget: int = 0
    spent_usd: float = 0.0
    spent_tokens: int = 0
    redactions: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0


class SpendCap:
    """A hard limit on what requests may cost, in tokens and/or US dollars (None = no limit on that axis).

    Runners reserve an attempt's worst case before sending and settle it afterwards, so what is spent plus what is
    reserved never exceeds the limits. Share one instance between runners to cap them together. ``spent_usd`` /
    ``spent_tokens`` count settled attempts (worst case for those whose outcome is unknown).
    """

    def __init__(self, *, max_usd: float | None = None, max_tokens: int | None = None) -> None:
        self.max_usd = max_usd
        self.max_tokens = max_tokens
        self.spent_usd = 0.0
        self.spent_tokens = 0
        self.reserved_usd = 0.0
        self.reserved_tokens = 0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Validate the limits (raises ValueError)."""
        for name, value in (("max_usd", self.max_usd), ("max_tokens", self.max_tokens)):
            if value is not None and (not isinstance(value, (int, float)) or value < 0 or math.isnan(value)):
                raise ValueError(f"The {name!r} parameter of SpendCap must be a number >= 0 or None; got {value!r} "
                                 "instead.")

    def try_reserve(self, tokens: int, usd: float) -> bool:
        """Reserve ``tokens`` and ``usd`` if both fit under the limits; False (nothing reserved) otherwise."""
        with self._lock:
            if self.max_tokens is not None and self.spent_tokens + self.reserved_tokens + tokens > self.max_tokens:
                return False
            if self.max_usd is not None and self.spent_usd + self.reserved_usd + usd > self.max_usd + 1e-12:
                return False
            self.reserved_tokens += tokens
            self.reserved_usd += usd
            return True

    def settle(self, reserved_tokens: int, reserved_usd: float, used_tokens: int, used_usd: float) -> None:
        """Release a reservation and record what the attempt actually used."""
        with self._lock:
            self.reserved_tokens -= reserved_tokens
            self.reserved_usd -= reserved_usd
            self.spent_tokens += used_tokens
            self.spent_usd += used_usd

    @property
    def remaining_usd(self) -> float | None:
        return None if self.max_usd is None else max(self.max_usd - self.spent_usd - self.reserved_usd, 0.0)

    @property
    def remaining_tokens(self) -> int | None:
        return None if self.max_tokens is None else max(self.max_tokens - self.spent_tokens - self.reserved_tokens, 0)

    def __repr__(self) -> str:
        return (f"SpendCap(max_usd={self.max_usd}, max_tokens={self.max_tokens}; spent ${self.spent_usd:.4f}, "
                f"{self.spent_tokens:,} tokens)")


class ResponseCache:
    """Answers on disk (SQLite), one committed row per answer: a killed run loses nothing it had received.

    Opened on first use; safe to share between runners of one process (one writer at a time).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, request TEXT, "
                         "content TEXT, response TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, "
                         "cost_usd REAL, confidence REAL, finish_reason TEXT, created REAL)")
            self._conn = conn
        return self._conn

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cached answers by key (keys without one are absent)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            db = self._db()
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = db.execute("SELECT key, model, content, prompt_tokens, completion_tokens, cost_usd, confidence, "
                                  f"finish_reason FROM answers WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for row in rows:
                    out[row[0]] = dict(zip(("key", "model", "content", "prompt_tokens", "completion_tokens",
                                            "cost_usd", "confidence", "finish_reason"), row))
        return out

    def put(self, key: str, *, model: str, request: Any, content: str, response: Any, prompt_tokens: int | None,
            completion_tokens: int | None, cost_usd: float | None, confidence: float | None,
            finish_reason: str | None) -> None:
        """Store one answer and commit it to disk before returning."""
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (key, model, json.dumps(request, ensure_ascii=False), content, json.dumps(response, ensure_ascii=False),
                 prompt_tokens, completion_tokens, cost_usd, confidence, finish_reason, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def prompt_token_bound(messages: Sequence[Mapping[str, Any]]) -> int:
    """An upper bound on the prompt tokens of ``messages``: UTF-8 bytes of every text plus chat-format overhead
    (:data:`REQUEST_OVERHEAD_TOKENS`, :data:`MESSAGE_OVERHEAD_TOKENS` per message)."""
    text_bytes = sum(len(_text_of(m.get("content")).encode("utf-8")) + len(str(m.get("role", ""))) for m in messages)
    return text_bytes + MESSAGE_OVERHEAD_TOKENS * len(messages) + REQUEST_OVERHEAD_TOKENS


def resolve_price(model: str, price: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens: ``price`` if given, else today's ``genai-prices`` entry for
    ``model``; None when unknown."""
    if price is not None:
        return float(price[0]), float(price[1])
    from .tokens import price_per_million

    return price_per_million(model, datetime.now(timezone.utc).strftime("%Y-%m-%d"))


# -- the runner ------------------------------------------------------------------------------------------------------

_PARAMS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "concurrency": (lambda v: isinstance(v, int) and v >= 1, "an int >= 1"),
    "timeout": (lambda v: isinstance(v, (int, float)) and v > 0, "a number > 0 (seconds)"),
    "max_retries": (lambda v: isinstance(v, int) and v >= 0, "an int >= 0"),
    "max_tokens": (lambda v: isinstance(v, int) and v >= 1, "an int >= 1"),
    "temperature": (lambda v: isinstance(v, (int, float)) and 0 <= v <= 2, "a number in [0, 2]"),
    "max_tokens_param": (lambda v: v in ("max_tokens", "max_completion_tokens"),
                         "'max_tokens' or 'max_completion_tokens'"),
}


class LLMRunner:
    """Send chat requests to one OpenAI-compatible model, concurrently, with retries, a spend cap and a cache.

    Args:
        model: the model name sent in each request (also part of the cache key).
        base_url: the API's base URL (``http://localhost:8000/v1`` for vLLM, ...); None = the SDK's default.
        api_key: the key; None reads ``OPENAI_API_KEY`` (or sends a placeholder to a ``base_url`` without one).
        client: a ready ``AsyncOpenAI``-compatible client instead of ``base_url``/``api_key`` (its own retries
            should be off: this runner retries).
        cache: a :class:`ResponseCache` or the path of its SQLite file; None = no cache (not resumable).
        concurrency: requests in flight at most (typ. 4-32; more is faster until the server rate-limits).
        timeout: seconds per attempt before it is abandoned and retried.
        max_retries: retries per request after the first attempt.
        max_tokens: completion limit per request; also the completion part of each spend reservation.
        temperature: sampling temperature (0 = as deterministic as the server allows).
        params: further generation parameters sent as they are (part of the cache key), e.g. ``{"top_p": 1}``.
        spend_cap: a :class:`SpendCap` (shareable); None = no limit.
        price: ``(input, output)`` USD per million tokens; None = look ``model`` up in ``genai-prices``.
        redact: redact PII in message texts before sending (default True).
        logprobs: request token logprobs and report ``confidence`` = exp(mean logprob).
        progress: show a progress bar (None = when more than :data:`PROGRESS_MIN_REQUESTS` requests are sent).
        seed: seeds the retry jitter.
        max_tokens_param: ``"max_tokens"`` (most OpenAI-compatible servers) or ``"max_completion_tokens"`` (newer
            OpenAI models).

    After :meth:`run` / :meth:`arun`, ``stats_`` (:class:`RunStats`) says what was sent, cached, retried and spent.
    """

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 client: AsyncOpenAI | Any | None = None, cache: ResponseCache | str | Path | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, timeout: float = DEFAULT_TIMEOUT_S,
                 max_retries: int = DEFAULT_MAX_RETRIES, max_tokens: int = DEFAULT_MAX_TOKENS,
                 temperature: float = 0.0, params: Mapping[str, Any] | None = None,
                 spend_cap: SpendCap | None = None, price: tuple[float, float] | None = None, redact: bool = True,
                 logprobs: bool = False, progress: bool | None = None, seed: int = 0,
                 max_tokens_param: str = "max_tokens") -> None:
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.client = client
        self.cache = cache
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.params = params
        self.spend_cap = spend_cap
        self.price = price
        self.redact = redact
        self.logprobs = logprobs
        self.progress = progress
        self.seed = seed
        self.max_tokens_param = max_tokens_param

    # -- helpers -------------------------------------------------------------------------------------------------
    def _check(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"The 'model' parameter of LLMRunner must be a non-empty str; got {self.model!r} instead.")
        for name, (ok, what) in _PARAMS.items():
            value = getattr(self, name)
            if not ok(value):
                raise ValueError(f"The {name!r} parameter of LLMRunner must be {what}; got {value!r} instead.")
        if self.spend_cap is not None:
            self.spend_cap.check()

    def _cache(self) -> ResponseCache | None:
        if self.cache is None or isinstance(self.cache, ResponseCache):
            return self.cache
        self.cache = ResponseCache(self.cache)
        return self.cache

    def generation_params(self) -> dict[str, Any]:
        """The parameters sent with every request (and hashed into the cache key)."""
        out: dict[str, Any] = {self.max_tokens_param: self.max_tokens, "temperature": self.temperature}
        if self.logprobs:
            out["logprobs"] = True
        out.update(dict(self.params or {}))
        return out

    def prepare(self, request: LLMRequest | Mapping[str, Any]) -> tuple[list[dict[str, Any]], str, Counter]:
        """(messages as sent - redacted unless ``redact=False`` -, cache key, redaction counts) for a request."""
        from .redact import redact as redact_text

        messages = request.messages if isinstance(request, LLMRequest) else request["messages"]
        sent: list[dict[str, Any]] = []
        counts: Counter = Counter()
        for m in messages:
            msg = {"role": m.get("role", "user"), "content": _text_of(m.get("content"))}
            if m.get("name"):
                msg["name"] = m["name"]
            if self.redact:
                msg["content"], c = redact_text(msg["content"])
                counts.update(c)
            sent.append(msg)
        key = hashlib.sha256(json.dumps({"model": self.model, "messages": sent, "params": self.generation_params()},
                                        sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
        return sent, key, counts

    def _client(self) -> Any:
        if self.client is not None:
            return self.client
        from ._deps import require

        openai = require("openai", purpose="calling LLM APIs")
        key = self.api_key or os.environ.get("OPENAI_API_KEY") or ("not-needed" if self.base_url else None)
        if key is None:
            raise ValueError("no API key: pass api_key=..., set OPENAI_API_KEY, or give the base_url of a server "
                             "that needs none")
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)

    # -- running -------------------------------------------------------------------------------------------------
    def run(self, requests: Sequence[LLMRequest], *, on_result: Callable[[LLMResult], None] | None = None
            ) -> list[LLMResult]:
        """Blocking :meth:`arun`. Inside a running event loop (a Jupyter kernel, an async web app) the run gets its
        own loop in a worker thread, so notebooks can call it directly."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(requests, on_result=on_result))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slmprofile-llm") as pool:
            return pool.submit(asyncio.run, self.arun(requests, on_result=on_result)).result()

    async def arun(self, requests: Sequence[LLMRequest], *, on_result: Callable[[LLMResult], None] | None = None
                   ) -> list[LLMResult]:
        """Answer every request (cache first); one :class:`LLMResult` per request, in order.

        ``on_result`` is called with each result as it arrives (cached ones first). Cancelling the task stops the
        run: nothing new is sent, requests already on the wire finish (within ``timeout``) and are cached, then the
        cancellation propagates.
        """
        self._check()
        started = time.perf_counter()
        stats = RunStats(requests=len(requests))
        self.stats_ = stats
        prepared = [self.prepare(r) for r in requests]
        for _, _, counts in prepared:
            stats.redactions.update(counts)
        by_key: dict[str, list[dict[str, Any]]] = {}
        for sent, key, _ in prepared:
            by_key.setdefault(key, sent)
        stats.distinct = len(by_key)
        cache = self._cache()
        done: dict[str, LLMResult] = {}
        hits = cache.get_many(by_key) if cache is not None else {}
        for key, row in hits.items():
            done[key] = LLMResult(key="", model=self.model, status="cached", content=row["content"],
                                  prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
                                  cost_usd=row["cost_usd"], cache_key=key, confidence=row["confidence"],
                                  finish_reason=row["finish_reason"])
        stats.cached = len(hits)
        todo = [k for k in by_key if k not in done]
        price = resolve_price(self.model, self.price)
        cap = self.spend_cap
        if todo and cap is not None and cap.max_usd is not None and price is None:
            raise ValueError(f"cannot enforce a dollar spend cap: no price known for model {self.model!r}; pass "
                             "price=(input_usd, output_usd) per million tokens")
        owners: dict[str, list[int]] = {}
        for i, (_, key, _) in enumerate(prepared):
            owners.setdefault(key, []).append(i)

        prepared_keys = [r.key if isinstance(r, LLMRequest) else str(r.get("key", "")) for r in requests]

        def emit(result: LLMResult) -> None:
            if on_result is not None:
                for i in owners[result.cache_key]:
                    on_result(_for(result, prepared_keys[i]))

        for key in done:
            emit(done[key])
        if todo:
            client = self._client()
            own_client = self.client is None
            sem = asyncio.Semaphore(self.concurrency)
            rng = random.Random(self.seed)
            bar = None
            show = self.progress if self.progress is not None else len(todo) > PROGRESS_MIN_REQUESTS
            if show:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(todo), desc=f"{self.model}", unit="req")
            try:
                async def one(key: str) -> None:
                    result = await self._attempts(client, key, by_key[key], sem, rng, price, cache, stats)
                    done[key] = result
                    if bar is not None:
                        bar.update(1)
                    emit(result)

                # return_exceptions: when the run is cancelled, gather waits for every request (those on the wire
                # finish and are kept) instead of returning at the first cancelled one
                for outcome in await asyncio.gather(*(one(k) for k in todo), return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome
            finally:
                if bar is not None:
                    bar.close()
                if own_client:
                    try:
                        await client.close()
                    except Exception:  # pragma: no cover - closing is best effort
                        pass
                stats.seconds = time.perf_counter() - started
        stats.seconds = time.perf_counter() - started
        return [_for(done[key], prepared_keys[i]) for i, (_, key, _) in enumerate(prepared)]

    async def _attempts(self, client: Any, key: str, messages: list[dict[str, Any]], sem: asyncio.Semaphore,
                        rng: random.Random, price: tuple[float, float] | None, cache: ResponseCache | None,
                        stats: RunStats) -> LLMResult:
        import openai

        cap = self.spend_cap
        bound = prompt_token_bound(messages)
        reserve_tokens = bound + self.max_tokens
        reserve_usd = _cost(price, bound, self.max_tokens) or 0.0
        params = self.generation_params()
        attempts = 0
        last_error = ""
        while True:
            if cap is not None and not cap.try_reserve(reserve_tokens, reserve_usd):
                stats.over_budget += 1
                return LLMResult(key="", model=self.model, status="over_budget", attempts=attempts, cache_key=key,
                                 error=f"worst case {reserve_tokens:,} tokens / ${reserve_usd:.4f} does not fit "
                                       f"the spend cap ({cap!r})" + (f"; last error: {last_error}" if last_error else ""))
            used_tokens, used_usd = 0, 0.0  # nothing used until the request is on the wire
            retry_after: float | None = None
            kind, status = "", None
            interrupted = False
            try:
                async with sem:
                    attempts += 1
                    stats.sent += 1
                    used_tokens, used_usd = reserve_tokens, reserve_usd  # unknown outcome = worst case
                    call = asyncio.ensure_future(client.chat.completions.with_raw_response.create(
                        model=self.model, messages=messages, timeout=self.timeout, **params))
                    try:
                        raw = await asyncio.shield(call)
                    except asyncio.CancelledError:
                        # interrupted with the request on the wire: let its answer arrive (within the timeout) and
                        # keep it, so that a re-run does not send it again; then stop
                        interrupted = True
                        try:
                            raw = await asyncio.wait_for(call, self.timeout + 1.0)
                        except asyncio.TimeoutError:
                            raise asyncio.CancelledError from None
                    text = raw.http_response.text
                parsed = _parse_completion(text)
                if parsed is None:
                    kind, last_error = "malformed", f"malformed response body: {text[:120]!r}"
                else:
                    content, usage, confidence, finish = parsed
                    pt = usage.get("prompt_tokens")
                    ct = usage.get("completion_tokens")
                    if pt is not None and ct is not None:
                        used_tokens, used_usd = int(pt) + int(ct), _cost(price, int(pt), int(ct)) or 0.0
                        if used_tokens > reserve_tokens:
                            log.warning("%s reported %d tokens, above the reserved worst case %d", self.model,
                                        used_tokens, reserve_tokens)
                    cost = _cost(price, pt, ct) if pt is not None and ct is not None else (
                        reserve_usd if price else None)
                    if cache is not None:
                        cache.put(key, model=self.model, request={"messages": messages, "params": params},
                                  content=content, response=json.loads(text), prompt_tokens=pt,
                                  completion_tokens=ct, cost_usd=cost, confidence=confidence, finish_reason=finish)
                    stats.answered += 1
                    if interrupted:
                        raise asyncio.CancelledError
                    return LLMResult(key="", model=self.model, status="ok", content=content, prompt_tokens=pt,
                                     completion_tokens=ct, cost_usd=cost, attempts=attempts, cache_key=key,
                                     confidence=confidence, finish_reason=finish)
            except openai.APIStatusError as exc:
                kind, status = "status", exc.status_code
                used_tokens, used_usd = 0, 0.0  # an error answer is not billed
                retry_after = parse_retry_after(getattr(exc.response, "headers", None))
                last_error = f"HTTP {status}: {str(exc)[:160]}"
            except openai.APITimeoutError:
                kind, last_error = "timeout", f"no answer within {self.timeout:g} s"
            except openai.APIConnectionError as exc:
                kind, last_error = "connection", f"connection error: {exc}"
            finally:
                if cap is not None:
                    cap.settle(reserve_tokens, reserve_usd, used_tokens, used_usd)
                stats.spent_tokens += used_tokens
                stats.spent_usd += used_usd
            stats.errors[kind if kind != "status" else f"http_{status}"] += 1
            if interrupted:
                raise asyncio.CancelledError
            if not should_retry(kind, status) or attempts > self.max_retries:
                stats.failed += 1
                return LLMResult(key="", model=self.model, status="failed", attempts=attempts, cache_key=key,
                                 error=last_error)
            stats.retries += 1
            await asyncio.sleep(retry_delay(attempts - 1, retry_after, rng=rng))


def _for(result: LLMResult, key: str) -> LLMResult:
    from dataclasses import replace

    return replace(result, key=key)


def _cost(price: tuple[float, float] | None, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6


def _parse_completion(text: str) -> tuple[str, dict[str, Any], float | None, str | None] | None:
    """(content, usage, confidence, finish_reason) from a Chat Completions body; None when it is not one."""
    try:
        body = json.loads(text)
        choice = body["choices"][0]
        message = choice["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    content = message.get("content")
    if content is None and message.get("tool_calls"):
        content = json.dumps(message["tool_calls"], ensure_ascii=False)
    if not isinstance(content, str):
        return None
    usage = body.get("usage") or {}
    confidence = None
    tokens = ((choice.get("logprobs") or {}).get("content")) or []
    lps = [t.get("logprob") for t in tokens if isinstance(t, dict) and isinstance(t.get("logprob"), (int, float))]
    if lps:
        confidence = math.exp(sum(lps) / len(lps))
    return content, usage if isinstance(usage, dict) else {}, confidence, choice.get("finish_reason")
