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
* **Spend cap** (:class:`SpendCap`: tokens and/or dollars, shareable between runners) that is never exceeded and
  counts what was actually spent. When an attempt gets a concurrency slot, its worst case is *reserved* - an upper
  bound on the prompt's tokens (:func:`prompt_token_bound`: counted with the model's tokenizer when ``bpe-openai``
  has it, else the UTF-8 byte count) plus ``max_tokens``, at the model's price. A request is refused
  (``status="over_budget"``, never sent) only when that worst case exceeds the remaining budget (cap minus spent);
  when only the reservations of requests in flight are in the way it waits for them to settle. After the attempt
  the reservation is *settled*: to the reported usage on success, to nothing for an HTTP error answer (providers do
  not bill those), and to the full reservation when the outcome is unknown (timeout, dropped connection, malformed
  body, cancelled). With a cache, every attempt is also written to the cache's spend ledger, and the cap starts
  from what earlier runs on that cache spent: a resumed run continues the same budget (raise the cap to go on).
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

from .params import Interval, Options, Rule, check_params

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
    over_budget: int = 0  # requests refused: their worst case did not fit the remaining budget
    waited: int = 0  # attempts that waited for requests in flight to settle before their worst case fitted
    spent_usd: float = 0.0  # by this run's attempts (answers replayed from the cache cost nothing)
    spent_tokens: int = 0
    carried_usd: float = 0.0  # spent against the cap before this run (earlier runs on its cache, earlier rounds)
    carried_tokens: int = 0
    left_usd: float | None = None  # budget left after the run (None: no such limit)
    left_tokens: int | None = None
    peak_reserved_usd: float = 0.0  # the most reserved at once for attempts in flight (cap-wide)
    peak_reserved_tokens: int = 0
    redactions: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0


class SpendCap:
    """A hard limit on what requests may cost, in tokens and/or US dollars (None = no limit on that axis).

    **What counts.** ``spent_*`` is what settled attempts cost: the usage a response reports (priced at the
    model's price), nothing for an HTTP error answer, the worst case for an attempt whose outcome is unknown. While
    an attempt is on the wire its worst case is *reserved*; ``spent + reserved`` never exceeds the limits.

    **When a request is refused.** Only when its worst case does not fit the *remaining budget* (limit minus
    spent): then it never can, since spending only grows. A request whose worst case fits the remaining budget but
    not next to the reservations of requests in flight *waits* (:meth:`reserve`) until they settle - usually far
    below their worst case - and is then sent. So with a cap that fits ``N`` requests at their actual cost, about
    ``N`` are sent, whatever the concurrency.

    **Persistence.** A runner with a :class:`ResponseCache` records every attempt in the cache's ledger and
    attaches its cap to it (:meth:`attach`) before sending: what earlier runs on that cache spent counts against
    this cap (``carried_*``), so a resumed run continues the same budget instead of starting from zero. The cap is a
    limit on the total recorded in the cache: raising it on a resumed run allows the new limit minus what was
    already spent, lowering it below that sends nothing new. Answers replayed from the cache cost nothing. (The
    ledger is read when the cap is attached: two processes spending on one cache at the same time do not see each
    other's spending until their next run.)

    Share one instance between runners to cap them together (thread-safe; runners may run in different event
    loops).
    """

    def __init__(self, *, max_usd: float | None = None, max_tokens: int | None = None) -> None:
        self.max_usd = max_usd
        self.max_tokens = max_tokens
        self.spent_usd = 0.0
        self.spent_tokens = 0
        self.reserved_usd = 0.0
        self.reserved_tokens = 0
        self.carried_usd = 0.0  # spent by earlier runs on an attached cache (included in spent_*)
        self.carried_tokens = 0
        self.peak_reserved_usd = 0.0
        self.peak_reserved_tokens = 0
        self._open = 0  # reservations not yet settled
        self._ledgers: set[str] = set()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._lock = threading.Lock()

    def check(self) -> None:
        """Validate the limits (raises ValueError)."""
        check_params(self, {name: [None, Interval(float, 0, None)] for name in ("max_usd", "max_tokens")})

    def attach(self, ledger: ResponseCache) -> bool:
        """Count what ``ledger`` (a cache) records as spent by earlier runs against this cap, once per cache file;
        True the first time."""
        name = ledger.ledger_id
        with self._lock:
            if name in self._ledgers:
                return False
            self._ledgers.add(name)
        tokens, usd = ledger.spent()
        with self._lock:
            self.carried_tokens += tokens
            self.carried_usd += usd
            self.spent_tokens += tokens
            self.spent_usd += usd
        return True

    def fits(self, tokens: int, usd: float) -> bool:
        """Whether an attempt with this worst case fits the remaining budget (limits minus spent, reservations
        not counted)."""
        with self._lock:
            return self._fits(tokens, usd, reserved=False)

    def _fits(self, tokens: int, usd: float, *, reserved: bool) -> bool:
        t = self.spent_tokens + (self.reserved_tokens if reserved else 0) + tokens
        u = self.spent_usd + (self.reserved_usd if reserved else 0.0) + usd
        return ((self.max_tokens is None or t <= self.max_tokens)
                and (self.max_usd is None or u <= self.max_usd + 1e-12))

    def _take(self, tokens: int, usd: float) -> None:
        self._open += 1
        self.reserved_tokens += tokens
        self.reserved_usd += usd
        self.peak_reserved_tokens = max(self.peak_reserved_tokens, self.reserved_tokens)
        self.peak_reserved_usd = max(self.peak_reserved_usd, self.reserved_usd)

    def try_reserve(self, tokens: int, usd: float) -> bool:
        """Reserve ``tokens`` and ``usd`` if they fit next to what is spent and reserved; False (nothing reserved)
        otherwise. Does not wait: see :meth:`reserve`."""
        with self._lock:
            if not self._fits(tokens, usd, reserved=True):
                return False
            self._take(tokens, usd)
            return True

    async def reserve(self, tokens: int, usd: float) -> bool:
        """Reserve an attempt's worst case: True once reserved; False (nothing reserved) when it does not fit the
        remaining budget. When it fits that but not next to the current reservations, waits for them to settle."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if not self._fits(tokens, usd, reserved=False):
                    return False
                if self._open == 0 or self._fits(tokens, usd, reserved=True):
                    self._take(tokens, usd)
                    return True
                waiter = loop.create_future()
                self._waiters.append((loop, waiter))
            await waiter

    def settle(self, reserved_tokens: int, reserved_usd: float, used_tokens: int, used_usd: float) -> None:
        """Release a reservation, record what the attempt actually used, and wake reservations waiting for room."""
        with self._lock:
            self._open -= 1
            self.reserved_tokens -= reserved_tokens
            self.reserved_usd -= reserved_usd
            if self._open <= 0:  # no float residue once nothing is in flight
                self._open, self.reserved_tokens, self.reserved_usd = 0, 0, 0.0
            self.spent_tokens += used_tokens
            self.spent_usd += used_usd
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            try:
                loop.call_soon_threadsafe(_wake, waiter)
            except RuntimeError:  # pragma: no cover - that loop is closed: its waiter is gone with it
                pass

    @property
    def remaining_usd(self) -> float | None:
        """Dollars left for new attempts (limit minus spent minus reserved); None without a dollar limit."""
        return None if self.max_usd is None else max(self.max_usd - self.spent_usd - self.reserved_usd, 0.0)

    @property
    def remaining_tokens(self) -> int | None:
        """Tokens left for new attempts (limit minus spent minus reserved); None without a token limit."""
        return None if self.max_tokens is None else max(self.max_tokens - self.spent_tokens - self.reserved_tokens, 0)

    def describe(self) -> str:
        """One line for a summary: limits, spent (and how much of it by earlier runs), left."""
        parts = []
        if self.max_usd is not None:
            parts.append(f"${self.spent_usd:.4g} of ${self.max_usd:g} spent (${self.carried_usd:.4g} by earlier runs)")
        if self.max_tokens is not None:
            parts.append(f"{self.spent_tokens:,} of {self.max_tokens:,} tokens spent ({self.carried_tokens:,} by "
                         "earlier runs)")
        return "; ".join(parts) or f"no limit; ${self.spent_usd:.4f}, {self.spent_tokens:,} tokens spent"

    def __repr__(self) -> str:
        return (f"SpendCap(max_usd={self.max_usd}, max_tokens={self.max_tokens}; spent ${self.spent_usd:.4f}, "
                f"{self.spent_tokens:,} tokens; reserved ${self.reserved_usd:.4f}, {self.reserved_tokens:,} tokens)")


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ResponseCache:
    """Answers on disk (SQLite), one committed row per answer: a killed run loses nothing it had received.

    The same file keeps the **spend ledger** (table ``spend``): one row per attempt that went on the wire, written
    with the attempt's worst case before it is sent and updated to what it cost once it settles. :meth:`spent` sums
    it - an attempt still ``open`` (its process was killed with it on the wire) counts at its worst case - and a
    :class:`SpendCap` attached to the cache starts from that sum, so the budget survives resumes. Keeping it in the
    cache file (not beside it) means the answers and what they cost are copied, moved and deleted together.

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
            conn.execute("CREATE TABLE IF NOT EXISTS spend (id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT, "
                         "request_key TEXT, state TEXT, tokens INTEGER, usd REAL, opened REAL, settled REAL)")
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

    # -- the spend ledger ----------------------------------------------------------------------------------------
    @property
    def ledger_id(self) -> str:
        """Identifies the ledger (the cache file's resolved path): a cap counts each ledger once."""
        return str(self.path.resolve())

    def open_attempt(self, *, model: str, request_key: str, tokens: int, usd: float) -> int:
        """Record an attempt about to go on the wire at its worst case (committed); its ledger row id."""
        with self._lock:
            cur = self._db().execute("INSERT INTO spend (model, request_key, state, tokens, usd, opened) "
                                     "VALUES (?,?,'open',?,?,?)", (model, request_key, tokens, usd, time.time()))
            return int(cur.lastrowid)

    def settle_attempt(self, row: int, *, tokens: int, usd: float, state: str) -> None:
        """Record what attempt ``row`` cost (``state``: ``answered``, ``error`` - not billed - or ``unknown``)."""
        with self._lock:
            self._db().execute("UPDATE spend SET state=?, tokens=?, usd=?, settled=? WHERE id=?",
                               (state, tokens, usd, time.time(), row))

    def spent(self) -> tuple[int, float]:
        """(tokens, USD) spent by every attempt recorded in this cache; open attempts at their worst case."""
        with self._lock:
            tokens, usd = self._db().execute("SELECT COALESCE(SUM(tokens), 0), COALESCE(SUM(usd), 0.0) "
                                             "FROM spend").fetchone()
        return int(tokens), float(usd)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def known_tokenizer(model: str | None) -> bool:
    """Whether ``model``'s tokenizer is one ``bpe-openai`` has (OpenAI's GPT-3.5 / 4 / 4o / 4.1 / 5 and o-series,
    fine-tunes and ``provider/`` prefixes included), so that its prompt tokens can be counted exactly."""
    from .tokens import O200K_PREFIXES

    name = (model or "").lower().rsplit("/", 1)[-1].removeprefix("ft:")
    return name.startswith(O200K_PREFIXES + ("gpt-4", "gpt-3.5", "gpt-35"))


def prompt_token_bound(messages: Sequence[Mapping[str, Any]], *, model: str | None = None) -> int:
    """An upper bound on the prompt tokens of ``messages`` plus chat-format overhead
    (:data:`REQUEST_OVERHEAD_TOKENS`, :data:`MESSAGE_OVERHEAD_TOKENS` per message).

    For a ``model`` whose tokenizer is known (:func:`known_tokenizer`) the texts are counted with it; otherwise
    their UTF-8 bytes are (a byte-level BPE tokenizer never produces more tokens than bytes), which is about four
    times the count for English text - the price of a bound that holds for any tokenizer.
    """
    texts = [_text_of(m.get("content")) for m in messages] + [str(m.get("name") or "") for m in messages]
    if known_tokenizer(model):
        from .tokens import count_tokens

        text_tokens = sum(count_tokens([t for t in texts if t], model=model))
    else:
        text_tokens = sum(len(t.encode("utf-8")) for t in texts)
    roles = sum(len(str(m.get("role", ""))) for m in messages)
    return text_tokens + roles + MESSAGE_OVERHEAD_TOKENS * len(messages) + REQUEST_OVERHEAD_TOKENS


def resolve_price(model: str, price: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens: ``price`` if given, else today's ``genai-prices`` entry for
    ``model``; None when unknown."""
    if price is not None:
        return float(price[0]), float(price[1])
    from .tokens import price_per_million

    return price_per_million(model, datetime.now(timezone.utc).strftime("%Y-%m-%d"))


# -- the runner ------------------------------------------------------------------------------------------------------

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
    _parameter_constraints = {
        "model": [Rule(lambda v: isinstance(v, str) and bool(v), "a non-empty str")],
        "concurrency": [Interval(int, 1, None)],
        "timeout": [Interval(float, 0, None, closed="neither")],
        "max_retries": [Interval(int, 0, None)],
        "max_tokens": [Interval(int, 1, None)],
        "temperature": [Interval(float, 0, 2)],
        "max_tokens_param": [Options("max_tokens", "max_completion_tokens")],
    }

    def _check(self) -> None:
        check_params(self)
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
        from .deps import require

        openai = require("openai", purpose="calling LLM APIs")
        key = self.api_key or os.environ.get("OPENAI_API_KEY") or ("not-needed" if self.base_url else None)
        if key is None:
            raise ValueError("no API key: pass api_key=..., set OPENAI_API_KEY, or give the base_url of a server "
                             "that needs none")
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)

    def worst_case(self, messages: Sequence[Mapping[str, Any]],
                   price: tuple[float, float] | None = None) -> tuple[int, float]:
        """(tokens, USD) an attempt with these (as sent) ``messages`` can cost at most: the prompt's token bound
        (:func:`prompt_token_bound`) plus ``max_tokens``, at ``price`` (default: the model's; USD 0 when unknown)."""
        bound = prompt_token_bound(messages, model=self.model)
        price = price if price is not None else resolve_price(self.model, self.price)
        return bound + self.max_tokens, _cost(price, bound, self.max_tokens) or 0.0

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
        if cap is not None:
            if cache is not None:
                cap.attach(cache)  # earlier runs on this cache spent part of the budget already
            stats.carried_usd, stats.carried_tokens = cap.spent_usd, cap.spent_tokens
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
                    except Exception:  # noqa: BLE001  # pragma: no cover - closing is best effort
                        pass
                _close_stats(stats, cap, started)
        _close_stats(stats, cap, started)
        return [_for(done[key], prepared_keys[i]) for i, (_, key, _) in enumerate(prepared)]

    async def _attempts(self, client: Any, key: str, messages: list[dict[str, Any]], sem: asyncio.Semaphore,
                        rng: random.Random, price: tuple[float, float] | None, cache: ResponseCache | None,
                        stats: RunStats) -> LLMResult:
        import openai

        cap = self.spend_cap
        bound = prompt_token_bound(messages, model=self.model)
        reserve_tokens = bound + self.max_tokens
        reserve_usd = _cost(price, bound, self.max_tokens) or 0.0
        params = self.generation_params()
        attempts = 0
        last_error = ""
        while True:
            retry_after: float | None = None
            kind, status = "", None
            interrupted = False
            # the worst case is reserved only once a slot is free, right before sending: requests queued behind
            # the concurrency limit hold nothing, so they cannot crowd each other out of the budget
            async with sem:
                if cap is not None and not await _reserve(cap, reserve_tokens, reserve_usd, stats):
                    stats.over_budget += 1
                    return LLMResult(key="", model=self.model, status="over_budget", attempts=attempts,
                                     cache_key=key,
                                     error=f"worst case {reserve_tokens:,} tokens / ${reserve_usd:.6f} does not fit "
                                           f"the remaining budget ({cap.describe()})"
                                           + (f"; last error: {last_error}" if last_error else ""))
                attempts += 1
                stats.sent += 1
                used_tokens, used_usd, state = reserve_tokens, reserve_usd, "unknown"  # unknown outcome = worst case
                row: int | None = None
                try:
                    if cache is not None:
                        row = cache.open_attempt(model=self.model, request_key=key, tokens=reserve_tokens,
                                                 usd=reserve_usd)
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
                        state = "answered"
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
                                      completion_tokens=ct, cost_usd=cost, confidence=confidence,
                                      finish_reason=finish)
                        stats.answered += 1
                        if interrupted:
                            raise asyncio.CancelledError
                        return LLMResult(key="", model=self.model, status="ok", content=content, prompt_tokens=pt,
                                         completion_tokens=ct, cost_usd=cost, attempts=attempts, cache_key=key,
                                         confidence=confidence, finish_reason=finish)
                except openai.APIStatusError as exc:
                    kind, status = "status", exc.status_code
                    used_tokens, used_usd, state = 0, 0.0, "error"  # an error answer is not billed
                    retry_after = parse_retry_after(getattr(exc.response, "headers", None))
                    last_error = f"HTTP {status}: {str(exc)[:160]}"
                except openai.APITimeoutError:
                    kind, last_error = "timeout", f"no answer within {self.timeout:g} s"
                except openai.APIConnectionError as exc:
                    kind, last_error = "connection", f"connection error: {exc}"
                finally:
                    if cap is not None:
                        cap.settle(reserve_tokens, reserve_usd, used_tokens, used_usd)
                    if row is not None and cache is not None:
                        cache.settle_attempt(row, tokens=used_tokens, usd=used_usd, state=state)
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


async def _reserve(cap: SpendCap, tokens: int, usd: float, stats: RunStats) -> bool:
    """Reserve an attempt's worst case on ``cap``, waiting for attempts in flight when only they are in the way;
    False when it does not fit the remaining budget (counts the waits in ``stats``)."""
    if cap.try_reserve(tokens, usd):
        return True
    if not cap.fits(tokens, usd):
        return False
    stats.waited += 1
    return await cap.reserve(tokens, usd)


def _close_stats(stats: RunStats, cap: SpendCap | None, started: float) -> None:
    stats.seconds = time.perf_counter() - started
    if cap is not None:
        stats.left_usd, stats.left_tokens = cap.remaining_usd, cap.remaining_tokens
        stats.peak_reserved_usd, stats.peak_reserved_tokens = cap.peak_reserved_usd, cap.peak_reserved_tokens


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
