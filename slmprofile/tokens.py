"""Token counts and prices for calls whose logs lack them.

Logged usage and cost always win. Missing token counts are counted offline with ``bpe-openai``
(``o200k_base`` for the GPT-4o / 4.1 / 5 and o-series families, ``cl100k_base`` otherwise - an approximation for
non-OpenAI models, flagged as estimated). Missing costs are priced offline with the ``genai-prices`` snapshot at the
call's date; a model it does not know stays unpriced (null, reported), never zero.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: Tokens added per message and per reply by the chat format (OpenAI's published rule of thumb).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")


def encoding_name_for(model: str | None) -> str:
    """The bpe-openai encoding used to count ``model``'s tokens."""
    name = (model or "").lower().rsplit("/", 1)[-1]
    return "o200k_base" if name.startswith(O200K_PREFIXES) else "cl100k_base"


@lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    import bpe_openai

    return bpe_openai.get_encoding(name)


def count_tokens(texts: Sequence[str], *, model: str | None = None) -> list[int]:
    """Token count of each text with the encoding of ``model`` (special tokens counted as text)."""
    enc = _encoding(encoding_name_for(model))
    return [len(tokens) for tokens in enc.encode_ordinary_batch(list(texts))]


def estimate_missing_tokens(df: pl.DataFrame) -> pl.DataFrame:
    """Fill null ``prompt_tokens`` / ``completion_tokens`` by counting; set ``tokens_estimated``.

    The prompt count covers every request message plus the chat format's per-message overhead; the completion
    count covers ``response_text`` (only when there is a response).
    """
    import polars as pl

    need_prompt = df["prompt_tokens"].is_null()
    need_completion = df["completion_tokens"].is_null() & df["response_text"].is_not_null()
    flags = (need_prompt | need_completion).to_list()
    if not any(flags):
        return df.with_columns(tokens_estimated=pl.lit(False))
    prompt = df["prompt_tokens"].to_list()
    completion = df["completion_tokens"].to_list()
    rows_needed = [i for i, flag in enumerate(flags) if flag]
    sub = df[rows_needed]  # only the rows to count are materialized as Python objects
    models = sub["model"].to_list()
    messages = sub["messages"].to_list()
    responses = sub["response_text"].to_list()
    need_p = sub["prompt_tokens"].is_null().to_list()
    need_c = (sub["completion_tokens"].is_null() & sub["response_text"].is_not_null()).to_list()
    by_encoding: dict[str, list[int]] = {}
    for j, model in enumerate(models):
        by_encoding.setdefault(encoding_name_for(model), []).append(j)
    for enc_name, rows in by_encoding.items():
        enc = _encoding(enc_name)
        p_rows = [j for j in rows if need_p[j]]
        p_texts = ["\n".join((m.get("content") or "") + (m.get("tool_calls") or "") for m in (messages[j] or []))
                   for j in p_rows]
        for j, toks in zip(p_rows, enc.encode_ordinary_batch(p_texts)):
            prompt[rows_needed[j]] = len(toks) + TOKENS_PER_MESSAGE * len(messages[j] or []) + TOKENS_PER_REPLY
        c_rows = [j for j in rows if need_c[j]]
        for j, toks in zip(c_rows, enc.encode_ordinary_batch([responses[j] for j in c_rows])):
            completion[rows_needed[j]] = len(toks)
    return df.with_columns(
        prompt_tokens=pl.Series(prompt, dtype=pl.Int64),
        completion_tokens=pl.Series(completion, dtype=pl.Int64),
        tokens_estimated=pl.Series(flags, dtype=pl.Boolean),
    )


@lru_cache(maxsize=4096)
def price_per_million(model: str, day: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for ``model`` on ``day`` (``YYYY-MM-DD``), or None if unknown."""
    from genai_prices import Usage, calc_price

    when = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    try:
        p_in = calc_price(Usage(input_tokens=1_000_000, output_tokens=0), model, genai_request_timestamp=when)
        p_out = calc_price(Usage(input_tokens=0, output_tokens=1_000_000), model, genai_request_timestamp=when)
    except LookupError:
        return None
    return float(p_in.total_price), float(p_out.total_price)


def price_missing_costs(df: pl.DataFrame) -> tuple[pl.DataFrame, Counter[str]]:
    """Fill null ``cost_usd`` of successful calls from token counts; set ``cost_estimated``.

    Returns the frame and the number of calls per model that could not be priced. Failed calls without usage
    stay null (nothing was billed that the log shows).
    """
    import polars as pl

    need = (df["cost_usd"].is_null() & df["prompt_tokens"].is_not_null() & df["model"].is_not_null()
            & (df["status"] == "ok")).to_list()
    costs = df["cost_usd"].to_list()
    estimated = [False] * df.height
    unpriced: Counter[str] = Counter()
    if any(need):
        models = df["model"].to_list()
        days = df["timestamp"].dt.strftime("%Y-%m-%d").to_list()
        pts = df["prompt_tokens"].to_list()
        cts = df["completion_tokens"].to_list()
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        for i, flag in enumerate(need):
            if not flag:
                continue
            prices = price_per_million(models[i], days[i] or today)
            if prices is None:
                unpriced[models[i]] += 1
                continue
            costs[i] = (pts[i] * prices[0] + (cts[i] or 0) * prices[1]) / 1e6
            estimated[i] = True
    return df.with_columns(
        cost_usd=pl.Series(costs, dtype=pl.Float64), cost_estimated=pl.Series(estimated, dtype=pl.Boolean)
    ), unpriced
