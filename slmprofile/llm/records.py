"""What goes into and comes out of :class:`slmprofile.llm.LLMRunner`: one request (:class:`LLMRequest`), one
result (:class:`LLMResult`), what a run did (:class:`RunStats`), and the text of a message's content."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

STATUSES = ("ok", "cached", "failed", "over_budget")


def text_of(content: Any) -> str:
    """The text of a message's ``content``: a string as it is, the text parts of a content list joined by
    newlines, None as an empty string."""
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
