"""The runner itself: :class:`LLMRunner` sends chat requests to one OpenAI-compatible model, concurrently, with
retries, a spend cap, redaction and a resumable cache (see :mod:`slmprofile.llm` for the whole contract)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..params import Interval, Options, Rule, check_params
from .cache import ResponseCache
from .records import LLMRequest, LLMResult, RunStats, text_of
from .retry import parse_retry_after, retry_delay, should_retry
from .spend import SpendCap, prompt_token_bound, resolve_price, usage_cost

if TYPE_CHECKING:  # pragma: no cover
    from openai import AsyncOpenAI

log = logging.getLogger(__package__)  # "slmprofile.llm", the logger's name before the module became a package

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_TOKENS = 256
#: Requests above this many show a progress bar when ``progress`` is left at None.
PROGRESS_MIN_REQUESTS = 20


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
        from ..redact import redact as redact_text

        messages = request.messages if isinstance(request, LLMRequest) else request["messages"]
        sent: list[dict[str, Any]] = []
        counts: Counter = Counter()
        for m in messages:
            msg = {"role": m.get("role", "user"), "content": text_of(m.get("content"))}
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
        from ..deps import require

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
        return bound + self.max_tokens, usage_cost(price, bound, self.max_tokens) or 0.0

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
        reserve_usd = usage_cost(price, bound, self.max_tokens) or 0.0
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
                            used_tokens, used_usd = int(pt) + int(ct), usage_cost(price, int(pt), int(ct)) or 0.0
                            if used_tokens > reserve_tokens:
                                log.warning("%s reported %d tokens, above the reserved worst case %d", self.model,
                                            used_tokens, reserve_tokens)
                        cost = usage_cost(price, pt, ct) if pt is not None and ct is not None else (
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
