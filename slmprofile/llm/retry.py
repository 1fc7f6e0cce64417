"""The retry policy of :class:`slmprofile.llm.LLMRunner` as small pure functions: which failures are retried, how
long a server asks to wait (``Retry-After``), and the backoff delay with jitter."""

from __future__ import annotations

import email.utils
import random
from datetime import datetime, timezone
from typing import Mapping

INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 30.0
#: A Retry-After longer than this is not waited for: the attempt counts as failed and backoff applies.
MAX_RETRY_AFTER_S = 120.0
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


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
