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

The parts: :mod:`~slmprofile.llm.records` (requests, results, run stats), :mod:`~slmprofile.llm.retry` (the retry
policy), :mod:`~slmprofile.llm.cache` (the response cache and spend ledger), :mod:`~slmprofile.llm.spend` (the spend
cap, prompt token bounds, prices) and :mod:`~slmprofile.llm.runner` (:class:`LLMRunner`); every public name is
re-exported here.

>>> runner = LLMRunner("gpt-4o-mini", cache="llm_cache.sqlite", spend_cap=SpendCap(max_usd=2.0))  # doctest: +SKIP
>>> results = runner.run([LLMRequest.from_prompt("Classify: charged twice", key="call-1")])      # doctest: +SKIP
>>> results[0].content, runner.stats_.spent_usd                                                  # doctest: +SKIP
"""

from __future__ import annotations

from .cache import ResponseCache
from .records import STATUSES, LLMRequest, LLMResult, RunStats
from .retry import (INITIAL_RETRY_DELAY_S, MAX_RETRY_AFTER_S, MAX_RETRY_DELAY_S, RETRY_STATUSES, parse_retry_after,
                    retry_delay, should_retry)
from .runner import (DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT_S,
                     PROGRESS_MIN_REQUESTS, LLMRunner, log)
from .spend import (MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS, SpendCap, known_tokenizer, prompt_token_bound,
                    resolve_price)

__all__ = [
    "DEFAULT_CONCURRENCY", "DEFAULT_MAX_RETRIES", "DEFAULT_MAX_TOKENS", "DEFAULT_TIMEOUT_S", "INITIAL_RETRY_DELAY_S",
    "MAX_RETRY_AFTER_S", "MAX_RETRY_DELAY_S", "MESSAGE_OVERHEAD_TOKENS", "PROGRESS_MIN_REQUESTS",
    "REQUEST_OVERHEAD_TOKENS", "RETRY_STATUSES", "STATUSES",
    "LLMRequest", "LLMResult", "LLMRunner", "ResponseCache", "RunStats", "SpendCap",
    "known_tokenizer", "parse_retry_after", "prompt_token_bound", "resolve_price", "retry_delay", "should_retry",
]
