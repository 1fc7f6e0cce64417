"""One simulated call (:class:`Call`) and what is derived from it: ids, timestamps, token counts, cost, latency."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..sample_content import ALNUM, Draft
from .mix import MODELS

_OFFICE_HOURS = (1, .5, .3, .3, .3, .5, 1.5, 4, 7, 9, 9, 8, 7, 8, 10, 11, 11, 10, 9, 7, 6, 4, 3, 2)
_SUPPORT_HOURS = (2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8, 8, 8, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2.5)


@dataclass
class Call:
    """One call as the generator builds it, before a log format writes it."""

    seq: int
    task: str
    service: str
    model: str
    when: datetime
    draft: Draft
    user: str
    ttft_ms: int = 0
    latency_ms: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: int | None = None  # HTTP status of a failed attempt
    cache_hit: bool = False
    hidden: bool = False  # LiteLLM row written before prompt storage was turned on
    truth: bool = True  # False for the deliberately truncated lines
    id: str = ""
    resp_id: str = ""  # the provider's chat-completion id, where the logger keeps it separately
    trace_id: str = ""
    duplicate_of: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------------ helpers
def iso(t: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``, as the loggers write it."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng``."""
    h = f"{rng.getrandbits(128):032x}"
    h = h[:12] + "4" + h[13:16] + "89ab"[int(h[16], 16) % 4] + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def alnum(rng: random.Random, n: int) -> str:
    """``n`` random letters and digits, as in provider ids."""
    return "".join(rng.choice(ALNUM) for _ in range(n))


def pick(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    """One value of ``(value, weight)`` pairs, drawn by weight."""
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def quotas(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``total`` by ``weights`` (deterministic, in key order)."""
    s = sum(weights.values())
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    left = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))[:left]:
        out[k] += 1
    return out


def _text_tokens(s: str) -> int:
    ascii_chars = sum(1 for c in s if ord(c) < 128)
    return max(1, round(ascii_chars / 4 + (len(s) - ascii_chars) * 0.75))


def _prompt_tokens(d: Draft) -> int:
    n = 3
    for m in d.messages:
        n += 4
        c = m.get("content")
        if isinstance(c, str):
            n += _text_tokens(c)
        elif isinstance(c, list):
            for part in c:
                if part.get("type") == "text":
                    n += _text_tokens(part["text"])
                else:
                    n += 765  # one high-detail image tile set
    if d.tools:
        n += _text_tokens(json.dumps(d.tools)) + 10
    return n


def _completion_tokens(d: Draft) -> int:
    if d.tool_calls:
        return sum(_text_tokens(tc["function"]["arguments"]) + 8 for tc in d.tool_calls)
    return _text_tokens(d.response or "") + 1


def call_cost(model: str, pt: int, ct: int) -> tuple[float, float] | None:
    """(input $, output $) at list price; None for a model without one (the fine-tune)."""
    _, _, pin, pout, _, _ = MODELS[model]
    if pin is None or pout is None:
        return None
    return pt * pin / 1e6, ct * pout / 1e6


def r8(x: float) -> float:
    """Rounded to 8 decimals, as the loggers write dollar amounts."""
    return round(x, 8)


# ------------------------------------------------------------------------------------------------------ timing
def _day_weights(task: str, service: str, start: datetime, days: int) -> list[float]:
    out = []
    for d in range(days):
        wd = (start + timedelta(days=d)).weekday()
        frac = d / max(1, days - 1)
        if service == "batch" and task != "sql_generation":
            w = 1.0 if (task != "invoice_extraction" or wd < 5) else 0.15
        elif service == "support":
            w = (1.0, 1.0, 1.0, 1.0, 0.95, 0.35, 0.3)[wd]
        else:
            w = (1.0, 1.0, 1.0, 1.0, 0.9, 0.12, 0.08)[wd]
        if task == "sql_generation":  # the copilot is catching on
            w *= 0.35 + 1.3 * frac
        if task == "translation" and 0.43 <= frac < 0.67:  # Q4 launch localization push
            w *= 4.0
        if task == "strategy_question" and 0.75 <= frac < 0.87:  # board-meeting prep
            w *= 2.5
        if task == "release_notes" and wd == 1:  # releases ship on Tuesdays
            w *= 4.0
        if task == "ticket_triage" and wd == 0:
            w *= 1.35
        if task == "chit_chat" and wd == 4:
            w *= 1.3
        out.append(w)
    return out


def sample_time(rng: random.Random, task: str, service: str, start: datetime, days: int,
                cache: dict[tuple[str, str], list[float]]) -> datetime:
    key = (task, service)
    if key not in cache:
        cache[key] = _day_weights(task, service, start, days)
    day = rng.choices(range(days), weights=cache[key])[0]
    nightly = {"invoice_extraction": 0.85, "review_sentiment": 0.9, "keyword_extraction": 0.7}.get(task, 0.0)
    if service == "batch" and rng.random() < nightly:
        secs = 2 * 3600 + rng.randrange(7200) + (0 if task == "invoice_extraction" else 1800)
    else:
        hours = _SUPPORT_HOURS if service == "support" else _OFFICE_HOURS
        secs = rng.choices(range(24), weights=hours)[0] * 3600 + rng.randrange(3600)
    return start + timedelta(days=day, seconds=secs, milliseconds=rng.randrange(1000))


def time_call(rng: random.Random, c: Call) -> None:
    """Draw ``c``'s token counts, time to first token and latency."""
    c.prompt_tokens = max(1, round(_prompt_tokens(c.draft) * rng.uniform(0.97, 1.03)))
    c.completion_tokens = max(1, round(_completion_tokens(c.draft) * rng.uniform(0.97, 1.03)))
    _, _, _, _, ttft, per_tok = MODELS[c.model]
    c.ttft_ms = int(max(60.0, rng.gauss(ttft, ttft * 0.3)) + c.prompt_tokens * 0.04)
    c.latency_ms = int(c.ttft_ms + c.completion_tokens * per_tok * rng.lognormvariate(0.0, 0.2))
