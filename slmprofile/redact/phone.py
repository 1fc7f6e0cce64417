"""The ``PHONE`` recognizer: digit runs with the shape of a phone number, checked against numbering plans.

What it matches is documented in :mod:`slmprofile.redact.text`; :func:`phones` yields ``(start, end,
"PHONE")`` candidates for :func:`slmprofile.redact.text.find_pii` to resolve against the other kinds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from types import ModuleType

from .patterns import Cand

# A "run" is a sequence of digit groups joined by single separators (space, or - . / with optional
# spaces), optionally with a leading + and parenthesized groups. Each run is split into groups and the
# longest sub-run (cut only at spaces) with a phone shape is reported.

_PHONE_RUN = re.compile(r"(?:\(\+?|\+ ?)?\d+\)?(?:(?:[-./]|[ \u00a0]|(?<=\)))\(?\d+\)?)*")
_GROUP = re.compile(r"\d+")
_AFTER_NOT_PHONE = re.compile(
    r"[ \u00a0]?(?:[%‰€$£¥₹]|(?:EUR|USD|GBP|CHF|JPY|INR|CAD|AUD|ms|sec|s|min|h|kb|mb|gb|tb|px|km|kg)\b)",
    re.IGNORECASE,
)
_PHONE_KEYWORD = re.compile(
    r"(?i)\b(?:phone|telephone|tel|mobile|mob|cell|cellphone|fax|call|ring|sms|text|whatsapp|hotline|dial)\b"
    r"(?![^\n]*\b(?:id|ref|order|ticket|case|invoice|account|acct)\b)[^\d\n]{0,20}$"
)
_NANP_SEPS = {("-", "-"), (".", "."), (" ", " "), (" ", "-")}


def _datey(groups: list[str], seps: list[str]) -> bool:
    """Three groups like 2024-05-01, 01.05.2024 or 05/01/24 joined by the same separator."""
    for i in range(len(groups) - 2):
        a, b, c = (len(g) for g in groups[i : i + 3])
        s1, s2 = seps[i], seps[i + 1]
        if s1 != s2 or s1 not in "-./":
            continue
        if (a == 4 and b <= 2 and c <= 2) or (a <= 2 and b <= 2 and c == 4):
            return True
        if len(groups) == 3 and a <= 2 and b <= 2 and c == 2:  # 05/01/24, but not 06.12.34.56.78
            return True
    return False


def _phone_shape(groups: list[str], seps: list[str], plus: bool, paren: list[bool]) -> bool:
    """Does this group sequence look like a phone number (see :mod:`slmprofile.redact.text`)?"""
    # "(0)" in "+44 (0)20 ..." is the trunk prefix written for national callers: not part of the number
    keep = [i for i, g in enumerate(groups) if not (paren[i] and g == "0" and i > 0)]
    if len(keep) != len(groups):
        groups = [groups[i] for i in keep]
        seps = [" "] * (len(groups) - 1)
        paren = [paren[i] for i in keep]
    n_digits = sum(len(g) for g in groups)
    if plus:
        if not 9 <= n_digits <= 15 or groups[0][0] == "0":
            return False
        return len(groups) == 1 or (len(groups[0]) <= 3 and not _datey(groups, seps))
    if len(groups) < 2 or _datey(groups, seps):
        return False
    if groups[0] == "00":  # international prefix written as 00: "00 44 20 ..."
        return _phone_shape(groups[1:], seps[1:], True, paren[1:])
    if groups[0].startswith("00") and 3 <= len(groups[0]) <= 5:  # "0044 20 ..."
        return _phone_shape([groups[0][2:], *groups[1:]], seps, True, paren)
    # North American: [1] NXX NXX XXXX
    g, s, p = groups, seps, paren
    if len(g) == 4 and g[0] == "1" and s[0] in " -.":
        g, s, p = g[1:], s[1:], p[1:]
    if [len(x) for x in g] == [3, 3, 4] and g[0][0] in "23456789" and g[1][0] in "23456789":
        if p[0]:
            return s[1] in "-. " and s[0] in ("", " ", "-")
        return (s[0], s[1]) in _NANP_SEPS and not any(p)
    # national with a trunk 0: 020 7946 0958, 030 901820, 01 23 45 67 89, 07700 900123, (030) 901820
    real_seps = {x for x in seps if x not in ("", " ")}
    return (
        groups[0][0] == "0"
        and groups[0][1:2] != "0"
        and 2 <= len(groups[0]) <= 5
        and 9 <= n_digits <= 12
        and all(2 <= len(x) <= 8 for x in groups[1:])
        and len(real_seps) <= 1
        and not any(paren[1:])
    )


#: Trigger (:mod:`slmprofile.redact.batch`): every phone candidate holds 9 digits of one ``_PHONE_RUN``, and at most
#: ``)``, one separator and ``(`` lie between two of its digits.
PHONE_TRIGGER = "\\d(?:[-./ \u00a0()]{0,3}\\d){8}"


def phones(text: str) -> Iterator[Cand]:
    for m in _PHONE_RUN.finditer(text):
        start, end = m.span()
        run = m.group()
        if sum(map(str.isdigit, run)) < 9 and "+" not in run:
            continue
        # the run must not be glued to a word, an id or an amount on either side
        before = text[start - 1] if start else " "
        before2 = text[start - 2] if start > 1 else " "
        if before.isalnum() or before in "_#$€£¥₹@\\" or (before in "-./,+:" and before2.isalnum()):
            continue
        after = text[end] if end < len(text) else " "
        after2 = text[end + 1] if end + 1 < len(text) else " "
        if after.isalnum() or after in "_%" or (after in "-./,:" and after2.isalnum()):
            continue
        # groups with their spans (parentheses included) and the separators between them
        groups: list[str] = []
        spans: list[tuple[int, int]] = []
        paren: list[bool] = []
        seps: list[str] = []
        for g in _GROUP.finditer(run):
            gs, ge = g.span()
            is_paren = (gs > 0 and run[gs - 1] == "(") or (gs > 1 and run[gs - 2 : gs] == "(+")
            if is_paren and ge < len(run) and run[ge] == ")":
                s0, e0 = gs - (2 if run[gs - 1] == "+" else 1), ge + 1
            else:
                is_paren = False
                s0, e0 = gs, ge
            if spans:
                between = run[spans[-1][1] : s0]
                stripped = between.replace(" ", "").replace("\u00a0", "").replace("(", "").replace("+", "")
                seps.append(stripped or (" " if between.strip("(+") else ""))
            groups.append(g.group())
            spans.append((s0, e0))
            paren.append(is_paren)
        plus = run.lstrip("(").startswith("+")
        if plus:
            spans[0] = (0, spans[0][1])
        # every sub-run cut at spaces with a phone shape; the longest ones win
        n = len(groups)
        valid: list[tuple[int, int, int]] = []
        for i in range(n):
            if i > 0 and seps[i - 1] != " ":
                continue
            n_digits = 0
            for j in range(i, n):
                n_digits += len(groups[j])
                if n_digits > 15:  # longer than any phone number
                    break
                if j < n - 1 and seps[j] != " ":
                    continue
                if (i > 0 or j < n - 1) and not (plus and i == 0) and all(x == " " for x in seps[i:j]):
                    continue  # "250 300 1200" inside a longer list of numbers is not a phone
                if _phone_shape(groups[i : j + 1], seps[i:j], plus and i == 0, paren[i : j + 1]):
                    valid.append((-sum(len(g) for g in groups[i : j + 1]), i, j))
        taken: list[tuple[int, int]] = []
        for _, i, j in sorted(valid):
            if any(not (j < ti or i > tj) for ti, tj in taken):
                continue
            s_abs, e_abs = start + spans[i][0], start + spans[j][1]
            if _AFTER_NOT_PHONE.match(text, e_abs):
                continue
            taken.append((i, j))
            yield s_abs, e_abs, "PHONE"
        if taken:
            continue
        n_digits = sum(len(g) for g in groups)
        if n_digits < 9 or n_digits > 15 or _datey(groups, seps) or _AFTER_NOT_PHONE.match(text, end):
            continue
        if _PHONE_KEYWORD.search(text, max(0, start - 40), start):
            yield start, end, "PHONE"
        elif not plus and _national_phone(text, start, end, groups):
            yield start, end, "PHONE"


# National numbers without a trunk 0 or country code (Spain, Italy, Portugal, Poland), and any national
# number after a phone word in a European language, checked against the numbering plans by ``phonenumbers``.
_NO_TRUNK_REGIONS = ("ES", "IT", "PT", "PL")
# (number of digits, first digit) -> the countries above with national numbers of that shape: Spain 9 digits
# from 6-9, Portugal 9 from 2 or 9, Poland 9 from 1-9, Italian mobiles 10 (rarely 9) from 3
_NO_TRUNK_BY_SHAPE: dict[tuple[int, str], tuple[str, ...]] = {
    (9, d): tuple(r for r, first in (("ES", "6789"), ("PT", "29"), ("PL", "123456789"), ("IT", "3")) if d in first)
    for d in "123456789"
} | {(10, "3"): ("IT",)}
_KEYWORD_REGIONS = (
    *_NO_TRUNK_REGIONS, "FR", "DE", "NL", "BE", "AT", "CH", "GB", "IE", "SE", "DK", "NO", "FI", "CZ", "GR", "US",
)
_PHONE_WORD = re.compile(
    r"(?i)(?<!\w)(?:tel|tél|tlf|tfn|telf|tfno|fon|phone|telephone|téléphone|telefon\w*|telefono|teléfono|telefone"
    r"|telefoon|mobile?|mobil|mobiel|móvil|movil|cel|cell|cellulare|cellular|handy|portable|rufnummer|whatsapp"
    r"|fax|call|ring|sms|text|anrufen|ruf|appel\w*|llám\w*|llama\w*|chiama\w*|bel|zadzwoń|komórka|kom"
    r"|telemóvel|telemovel|ligue|ligar)(?!\w)"
    r"(?![^\n]*\b(?:id|ref|order|ticket|case|invoice|account|acct|nr|no|n[°º])\b)[^\d\n]{0,24}$"
)
# a cheap test before _PHONE_WORD: every phone word contains one of these
_PHONE_WORD_STEMS = (
    "tel", "tél", "tlf", "tfn", "fon", "phon", "fax", "mob", "móv", "mov", "cel", "handy", "port", "whats", "call",
    "ring", "sms", "text", "ruf", "appel", "llam", "llám", "chiam", "bel", "zadz", "kom", "lig",
)
# arithmetic and lists of numbers ("347 + 1234567", "12, 612 345 678, 7") are not phone numbers
_MATH_BEFORE = re.compile(r"(?:[=+*×÷^<>−–/-]|\d\s*[,;:]|\b(?:plus|minus|times|sum|product))\s*$")
_MATH_AFTER = re.compile(r"\s*(?:[=+*×÷^<>−–/%-]|[,;:]\s*\d|(?:plus|minus|times)\b)")
_WORD_AFTER = re.compile(r"[ \u00a0]+([^\W\d_]+)")
# words of five letters or more that follow a phone number rather than a count ("612 345 678 abends")
_PHONE_FOLLOWERS = frozenset(
    "after before anytime evenings mornings abends morgens mittags nachmittags tagsüber bitte werktags "
    "tarde tardes mañana mañanas noche entre desde hasta después antes sera mattina pomeriggio oppure "
    "soir matin après avant jusqu entre wieczorem rano albo depois antes whatsapp signal telegram".split()
)
# nor are the numbers of orders, invoices, tickets, books, parcels...
_NOT_PHONE_BEFORE = re.compile(
    r"(?i)(?:\b(?:order|bestell\w*|auftrag\w*|pedido|ordine|commande|invoice|rechnung\w*|factura|fattura|facture"
    r"|ref\w*|ticket|case|id|isbn|ean|sku|art(?:ikel)?|kunden\w*|customer|account|konto|cuenta|conto|compte|tracking"
    r"|sendung\w*|po|nr|no|n[°º]|num(?:ber|ero|éro|ero)?|number)\b|#)[^\w\n]{0,6}(?:\w+[^\w\n]{1,3}){0,2}$"
)


@functools.cache
def _phonenumbers() -> ModuleType:
    """The ``phonenumbers`` module, imported on first use: most texts never need it."""
    import phonenumbers

    return phonenumbers


def _valid_in(number: str, regions: Sequence[str], *, strict_grouping: bool) -> bool:
    """Is the whole of ``number`` a valid national number of one of ``regions`` (grouped the way that
    country groups its numbers, when ``strict_grouping``)?"""
    pn = _phonenumbers()
    for region in regions:
        try:  # parsing alone is cheap; the matcher (which checks the grouping) runs only on valid numbers
            if not pn.is_valid_number(pn.parse(number, region)):
                continue
        except pn.NumberParseException:
            return False
        leniency = pn.Leniency.STRICT_GROUPING if strict_grouping else pn.Leniency.VALID
        for m in pn.PhoneNumberMatcher(number, region, leniency=leniency):
            if m.start == 0 and m.end == len(number):
                return True
            break
    return False


def _national_phone(text: str, start: int, end: int, groups: list[str]) -> bool:
    """A digit run that no other rule took: after a phone word, any valid national grouping of 8-15 digits
    in :data:`_KEYWORD_REGIONS`; otherwise 9-11 digits in at least two groups, not part of arithmetic or a
    list of numbers, strictly grouped and valid in a country whose numbers have no trunk 0."""
    number = text[start:end]
    before = text[max(0, start - 40) : start].lower()
    if any(stem in before for stem in _PHONE_WORD_STEMS) and _PHONE_WORD.search(text, max(0, start - 40), start):
        return _valid_in(number, _KEYWORD_REGIONS, strict_grouping=False)
    n_digits = sum(map(len, groups))
    regions = _NO_TRUNK_BY_SHAPE.get((n_digits, groups[0][0]), ())
    if len(groups) < 2 or not regions or not 2 <= len(groups[0]) <= 3:
        return False
    if _MATH_BEFORE.search(text, max(0, start - 10), start) or _MATH_AFTER.match(text, end):
        return False
    if _NOT_PHONE_BEFORE.search(text, max(0, start - 40), start):
        return False
    if all(len(g) == 3 for g in groups[1:]):  # thousands grouping: "512 345 678 habitants" is a count
        word = _WORD_AFTER.match(text, end)
        if word and len(word.group(1)) >= 5 and word.group(1).lower() not in _PHONE_FOLLOWERS:
            return False
    # four or more groups ("345 378 24 52") are not how numbers in prose are written: any valid grouping
    return _valid_in(number, regions, strict_grouping=len(groups) < 4)
