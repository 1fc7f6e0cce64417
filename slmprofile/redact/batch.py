"""Redacting many texts at once (a column of a logs frame): a prefilter in polars' Rust regex engine, then the Python
recognizers only where they can find something.

Each recognizer has a trigger (:data:`TRIGGERS`, written beside its patterns): a Rust-syntax pattern that matches
every text the recognizer yields a candidate for (its patterns with the lookarounds and the checks dropped). All
triggers run over the whole column in Rust, in parallel; a text is then redacted by :func:`~.text.redact` with only
the recognizers whose trigger fired, and a text none fired for is left as it is without entering Python. As a
recognizer whose trigger did not fire yields nothing, the result is the same as :func:`~.text.redact` text by text:
``tests/test_redact.py`` checks it on the seeded sets, the hand-written sentences, the sample and the public sets.
The Python checks (Luhn, mod-97, national-id rules, numbering plans, the overlap rules) run on the few texts left.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator

from .patterns import (API_KEY_TRIGGER, CARD_TRIGGER, EMAIL_TRIGGER, IBAN_TRIGGER, IP_RECOGNIZERS,
                       NATIONAL_ID_RECOGNIZERS, URL_TOKEN_TRIGGER, Cand, api_keys, cards, emails, ibans, url_tokens)
from .phone import PHONE_TRIGGER, phones
from .text import RECOGNIZERS, check_kinds, redact

Recognizer = Callable[[str], Iterator[Cand]]

#: Each recognizer's trigger (see the module docstring).
TRIGGERS: dict[Recognizer, str] = {
    api_keys: API_KEY_TRIGGER,
    url_tokens: URL_TOKEN_TRIGGER,
    emails: EMAIL_TRIGGER,
    ibans: IBAN_TRIGGER,
    cards: CARD_TRIGGER,
    **dict(NATIONAL_ID_RECOGNIZERS),
    **dict(IP_RECOGNIZERS),
    phones: PHONE_TRIGGER,
}
assert set(TRIGGERS) == set(RECOGNIZERS), "every recognizer needs a trigger"


def triggered(texts: list[str | None]) -> list[int]:
    """Per text, a bit mask of the recognizers (bit ``k``: ``RECOGNIZERS[k]``) whose trigger matches it (0 for
    ``None``)."""
    import polars as pl

    if not texts:
        return []
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.Utf8)})
    bits = [pl.col("text").str.contains(TRIGGERS[r]).fill_null(False).cast(pl.Int32) * (1 << k)
            for k, r in enumerate(RECOGNIZERS)]
    return frame.select(pl.sum_horizontal(bits)).to_series().to_list()


def redact_many(
    texts: Iterable[str | None], *, kinds: Iterable[str] | None = None
) -> tuple[list[str | None], collections.Counter[str]]:
    """:func:`~.text.redact` each text (``None`` passes through); return the texts and the summed counts."""
    wanted = check_kinds(kinds)
    texts = list(texts)
    total: collections.Counter[str] = collections.Counter()
    out: list[str | None] = list(texts)
    by_mask: dict[int, tuple[Recognizer, ...]] = {}
    for i, mask in enumerate(triggered(texts)):
        if not mask:
            continue
        recognizers = by_mask.get(mask)
        if recognizers is None:
            recognizers = by_mask[mask] = tuple(r for k, r in enumerate(RECOGNIZERS) if mask >> k & 1)
        red, counts = redact(texts[i], kinds=wanted, recognizers=recognizers)  # type: ignore[arg-type]
        total.update(counts)
        out[i] = red
    return out, total
