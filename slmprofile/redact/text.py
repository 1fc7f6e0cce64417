"""Replace PII and secrets in text with typed placeholders, and count what was replaced.

Each recognizer is a regular expression plus, where a format has one, a validity check, so that
shape alone is never enough where a checksum exists:

``EMAIL``
    ``local@domain.tld``, and the usual obfuscations: ``jo(at)example.com``, ``jo [at] example [dot] com``,
    ``hans dot mueller at firma dot de`` (also "arroba", "punkt", "point", "punto"). A bare word "at"
    counts only with a common top-level domain and a spelled-out dot (or a dotted local part), so "look
    at example.com" stays.
``PHONE``
    ``+CC ...`` international numbers (``00CC`` too); national forms with a trunk ``0`` (UK, DE, FR, ...)
    and North American ``(415) 555-0132`` / ``415-555-0132`` / ``415.555.0132``; 9-15 digits. Bare digit
    strings only right after a word such as "phone" or "call". National forms without a trunk ``0``
    (Spain ``612 34 56 78`` / ``91 123 45 67``, Italian mobiles ``347 1234567``, Portugal, Poland) when
    written in groups the way that country groups them and valid there (``phonenumbers``, strict
    grouping), and not inside arithmetic or a list of numbers; after a phone word in one of several
    languages ("Telefon", "móvil", "cellulare", "tél.", ...) any grouping valid in a European or North
    American numbering plan, 8-15 digits.
``CARD``
    13-19 digits, unseparated or in card groupings, with a card-network prefix and a passing Luhn check.
``IBAN``
    Upper-case country code + check digits + BBAN, compact or in groups of 4, with the country's IBAN
    length and a passing ISO 13616 mod-97 check.
``IP``
    IPv4 with octets <= 255 (not right after "version"/"v"), IPv6 including ``::`` forms.
``API_KEY``
    OpenAI / Anthropic ``sk-...``, AWS ``AKIA...``, GitHub, GitLab, Slack, Google ``AIza...``, Stripe,
    Hugging Face, npm, JWTs, PEM private keys, the token after ``Bearer``/``Basic`` (the word is kept),
    and the values of ``api_key=`` / ``password:`` style assignments.
``URL_TOKEN``
    The value of secret-bearing query parameters (``token=``, ``access_token=``, ``api_key=``, ``key=``,
    ``sig=``, ``signature=``, ``password=``, ``secret=``, ``code=``, ...); the URL and the parameter name
    are kept.
``NATIONAL_ID``
    US SSN ``ddd-dd-dddd`` (areas 000/666/9xx excluded; spaced or unseparated only after "SSN"), UK
    National Insurance numbers, Spanish DNI/NIE (check letter verified), Canadian SIN (Luhn, after "SIN"),
    and, each with its check verified (:mod:`slmprofile.checksums`): the Italian codice fiscale; the
    French NIR in its spaced form ``1 85 05 78 006 084 36`` (unseparated after "NIR"/"sécu"/"INSEE"); the
    German Steuer-ID as ``12 345 678 903`` (unseparated after "Steuer-ID"/"IdNr"); the Dutch BSN as
    ``1234.56.782`` (otherwise after "BSN"); the Polish PESEL after "PESEL"; the Portuguese NIF after
    "NIF"/"contribuinte". A keyword is needed where a bare digit string of that length is common.

Not redacted on purpose: personal names and postal addresses (they need a language model, not a
regex), UUIDs, commit hashes, dates, times, amounts, versions, order/invoice/ticket numbers.

When recognizers overlap, the more specific one wins (keys, URL tokens, e-mails, IBANs and cards
over IPs and national ids, those over phone numbers), then the longer span: an IBAN never also
yields a PHONE, an API key with digits in it never yields a PHONE. IBAN- and card-shaped strings
that fail their checksum are left alone, and they also stop the digits inside them from being
read as a phone number.

The recognizers are in :mod:`.patterns` (every kind but ``PHONE``) and :mod:`.phone`; this module
resolves their overlaps and writes the placeholders.

>>> redact("Mail jane.doe@example.com or call +44 20 7946 0958.")
('Mail <EMAIL> or call <PHONE>.', Counter({'EMAIL': 1, 'PHONE': 1}))
"""

from __future__ import annotations

import bisect
import collections
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..checksums import iban_ok as iban_ok  # re-exported: public API
from .patterns import (BLOCK_CARD, BLOCK_IBAN, IP_RECOGNIZERS, NATIONAL_ID_RECOGNIZERS, Cand, api_keys, cards, emails,
                       ibans, url_tokens)
from .phone import phones

#: Every kind name :func:`find_pii` can report; the placeholder of kind ``K`` is ``<K>``.
PII_KINDS: tuple[str, ...] = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "API_KEY", "URL_TOKEN", "NATIONAL_ID")


@dataclass(frozen=True)
class Finding:
    """One detected span: ``text[start:end]`` is of ``kind`` (one of :data:`PII_KINDS`)."""

    kind: str
    start: int
    end: int
    text: str

    @property
    def placeholder(self) -> str:
        """What :func:`redact` writes in place of the span, e.g. ``<EMAIL>``."""
        return f"<{self.kind}>"


# --------------------------------------------------------------------------------------------------
# Overlap resolution: a candidate with a higher tier wins, then the longer one, then PII_KINDS order
# (with URL_TOKEN before API_KEY, so that a key passed in a URL counts as a URL token).

_TIER = {"API_KEY": 3, "URL_TOKEN": 3, "EMAIL": 3, "IBAN": 3, "CARD": 3, "NATIONAL_ID": 2, "IP": 2, "PHONE": 0}
# Shapes that are never reported but suppress weaker candidates overlapping them: any IBAN-shaped string
# (valid or not) suppresses CARD and PHONE inside it; any card-shaped digit string suppresses PHONE.
_BLOCKS = {BLOCK_IBAN: ("CARD", "PHONE"), BLOCK_CARD: ("PHONE",)}
_TIE_ORDER = {k: i for i, k in enumerate(("URL_TOKEN", "API_KEY", "EMAIL", "IBAN", "CARD", "NATIONAL_ID", "IP"))}

# --------------------------------------------------------------------------------------------------

#: Every recognizer, each yielding ``(start, end, kind)`` candidates for a text.
RECOGNIZERS: tuple[Callable[[str], Iterator[Cand]], ...] = (
    api_keys,
    url_tokens,
    emails,
    ibans,
    cards,
    *(recognizer for recognizer, _ in NATIONAL_ID_RECOGNIZERS),
    *(recognizer for recognizer, _ in IP_RECOGNIZERS),
    phones,
)
#: Recognizers that find nothing in a text without a digit: every IBAN, card, national id, IP (an IPv6 address
#: counts only with a digit in it) and phone number has one. Most prompts have none, and these are skipped there.
_NEED_DIGITS = frozenset({ibans, cards, *(r for r, _ in NATIONAL_ID_RECOGNIZERS), *(r for r, _ in IP_RECOGNIZERS),
                          phones})
_DIGIT = re.compile(r"\d")


def check_kinds(kinds: Iterable[str] | None) -> frozenset[str]:
    if kinds is None:
        return frozenset(PII_KINDS)
    if isinstance(kinds, str):
        kinds = (kinds,)
    wanted = frozenset(k.upper() for k in kinds)
    unknown = sorted(wanted - set(PII_KINDS))
    if unknown:
        raise ValueError(f"unknown PII kind(s) {unknown}; valid kinds are {list(PII_KINDS)}")
    return wanted


def find_pii(text: str, *, kinds: Iterable[str] | None = None,
             recognizers: Iterable[Callable[[str], Iterator[Cand]]] | None = None) -> list[Finding]:
    """Detect PII/secret spans in ``text``: non-overlapping, sorted by start.

    All recognizers always run, so that overlaps are resolved the same way whatever ``kinds`` is; only
    findings of ``kinds`` (default: all of :data:`PII_KINDS`, case-insensitive) are returned.
    ``recognizers`` runs only those of :data:`RECOGNIZERS` (for a caller that knows the others find nothing in
    ``text``: :mod:`.batch`). Raises ``ValueError`` for an unknown kind name.
    """
    wanted = check_kinds(kinds)
    if not text:
        return []
    cands: list[Cand] = []
    if recognizers is None:
        digits = _DIGIT.search(text) is not None
        recognizers = [r for r in RECOGNIZERS if digits or r not in _NEED_DIGITS]
    for recognizer in recognizers:
        cands.extend(recognizer(text))
    blocks = [c for c in cands if c[2] in _BLOCKS]
    if blocks:
        cands = [
            c
            for c in cands
            if c[2] not in _BLOCKS and not any(c[2] in _BLOCKS[bk] and c[0] < be and bs < c[1] for bs, be, bk in blocks)
        ]
    if not cands:
        return []
    cands.sort(key=lambda c: (-_TIER[c[2]], -(c[1] - c[0]), _TIE_ORDER.get(c[2], 99), c[0]))
    chosen: list[Cand] = []  # kept sorted by start; its spans never overlap
    for cand in cands:
        s, e, _ = cand
        i = bisect.bisect_left(chosen, (s,))
        if (i == len(chosen) or chosen[i][0] >= e) and (i == 0 or chosen[i - 1][1] <= s):
            chosen.insert(i, cand)
    return [Finding(k, s, e, text[s:e]) for s, e, k in chosen if k in wanted]


def redact(text: str, *, kinds: Iterable[str] | None = None,
           recognizers: Iterable[Callable[[str], Iterator[Cand]]] | None = None) -> tuple[str, collections.Counter[str]]:
    """Replace every finding of :func:`find_pii` with its placeholder; return the text and counts per kind.

    >>> redact("key sk-proj-4f9Qx2LmZ7aB1cD3eF5gH7jK", kinds=["API_KEY"])
    ('key <API_KEY>', Counter({'API_KEY': 1}))
    """
    findings = find_pii(text, kinds=kinds, recognizers=recognizers)
    counts: collections.Counter[str] = collections.Counter(f.kind for f in findings)
    if not findings:
        return text, counts
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos : f.start])
        parts.append(f.placeholder)
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts), counts
