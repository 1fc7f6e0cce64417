"""What an attempt may cost and the cap on it: :class:`SpendCap` (reserve a worst case, settle to what was spent),
the upper bound on a prompt's tokens, and model prices."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..params import Interval, check_params
from .records import text_of

if TYPE_CHECKING:  # pragma: no cover
    from .cache import ResponseCache

#: Worst-case tokens the chat format adds: per request (reply priming, a provider's default system text) and per
#: message (role markers).
REQUEST_OVERHEAD_TOKENS = 32
MESSAGE_OVERHEAD_TOKENS = 8


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


def known_tokenizer(model: str | None) -> bool:
    """Whether ``model``'s tokenizer is one ``bpe-openai`` has (OpenAI's GPT-3.5 / 4 / 4o / 4.1 / 5 and o-series,
    fine-tunes and ``provider/`` prefixes included), so that its prompt tokens can be counted exactly."""
    from ..tokens import O200K_PREFIXES

    name = (model or "").lower().rsplit("/", 1)[-1].removeprefix("ft:")
    return name.startswith(O200K_PREFIXES + ("gpt-4", "gpt-3.5", "gpt-35"))


def prompt_token_bound(messages: Sequence[Mapping[str, Any]], *, model: str | None = None) -> int:
    """An upper bound on the prompt tokens of ``messages`` plus chat-format overhead
    (:data:`REQUEST_OVERHEAD_TOKENS`, :data:`MESSAGE_OVERHEAD_TOKENS` per message).

    For a ``model`` whose tokenizer is known (:func:`known_tokenizer`) the texts are counted with it; otherwise
    their UTF-8 bytes are (a byte-level BPE tokenizer never produces more tokens than bytes), which is about four
    times the count for English text - the price of a bound that holds for any tokenizer.
    """
    texts = [text_of(m.get("content")) for m in messages] + [str(m.get("name") or "") for m in messages]
    if known_tokenizer(model):
        from ..tokens import count_tokens

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
    from ..tokens import price_per_million

    return price_per_million(model, datetime.now(timezone.utc).strftime("%Y-%m-%d"))


def usage_cost(price: tuple[float, float] | None, prompt_tokens: int | None,
               completion_tokens: int | None) -> float | None:
    """USD for these token counts at ``price`` ((input, output) USD per million tokens); None when any is unknown."""
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6
