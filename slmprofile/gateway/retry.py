"""When to try an upstream call again and how long to wait: small pure functions, in the manner of the OpenAI
client's retry helpers."""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime
from typing import Mapping

#: Statuses worth another attempt: request timeout, conflict, rate limit and server-side failures.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
INITIAL_DELAY_S = 0.25
MAX_DELAY_S = 4.0


def should_retry(status: int | None, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a response with ``status`` (None: no response at all, e.g. a dropped connection or a timeout) is
    worth another attempt. The upstream's ``x-should-retry`` header wins when present."""
    if headers:
        hint = headers.get("x-should-retry")
        if hint in ("true", "false"):
            return hint == "true"
    return status is None or status in RETRYABLE_STATUS


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the upstream asked to wait (``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date);
    None when it did not ask or asked for something unreadable."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import time

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def retry_delay_s(attempt: int, headers: Mapping[str, str] | None = None, *, rng: random.Random | None = None,
                  initial_s: float = INITIAL_DELAY_S, max_s: float = MAX_DELAY_S) -> float:
    """How long to wait before retry number ``attempt`` (0 for the first retry): the upstream's own request when
    it is at most ``max_s``, else exponential backoff from ``initial_s`` capped at ``max_s``, with up to 25 %
    jitter taken off so that clients retrying together spread out."""
    asked = retry_after_s(headers)
    if asked is not None and asked <= max_s:
        return asked
    delay = min(initial_s * 2.0**attempt, max_s)
    jitter = (rng or random).random() * 0.25
    return delay * (1.0 - jitter)
