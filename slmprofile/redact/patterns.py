"""Recognizers for every PII kind but ``PHONE``: the compiled patterns and the checks behind them.

Each recognizer takes a text and yields ``(start, end, kind)`` candidates; the overlap rules and the
documentation of what each kind matches are in :mod:`slmprofile.redact.text`. ``BLOCK_IBAN`` and
``BLOCK_CARD`` candidates are shapes that are never reported but suppress weaker candidates inside them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

from ..checksums import (
    IBAN_LENGTHS,
    bsn_ok,
    codice_fiscale_ok,
    iban_ok,
    luhn_ok,
    nif_pt_ok,
    nir_ok,
    pesel_ok,
    steuer_id_ok,
)

Cand = tuple[int, int, str]  # start, end, kind

# Shapes that are never reported but suppress weaker candidates overlapping them: any IBAN-shaped string
# (valid or not) suppresses CARD and PHONE inside it; any card-shaped digit string suppresses PHONE.
BLOCK_IBAN = "_BLOCK_IBAN"
BLOCK_CARD = "_BLOCK_CARD"

# --------------------------------------------------------------------------------------------------
# EMAIL

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


#: Triggers (:mod:`slmprofile.redact.batch`): for each recognizer, a pattern in the syntax of polars' Rust regex
#: engine that matches every text the recognizer yields anything for (its patterns with lookarounds and checks
#: dropped, ``\s`` widened to Python's). ``[\s\x1c-\x1f]`` is Python's ``\s``; ``\d`` is Unicode in both.
#: E-mail: an "@", or a written-out one followed by a domain label and a dot in any form (see _OB_DOMAIN).
EMAIL_TRIGGER = (r"@|(?i:(?:[\[({<][ \t]*at[ \t]*[\])}>][ \t]*| (?:at|arroba|arobase|chiocciola|klammeraffe) )"
                 r"[a-z0-9][a-z0-9-]{0,62}(?:\.|[\s\x1c-\x1f]*[\[({<]|[ \t]+(?:dot|punkt|point|punto|ponto|kropka|punt)"
                 r"[ \t]))")


def emails(text: str) -> Iterator[Cand]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield m.start(), m.end(), "EMAIL"
    yield from _obfuscated_emails(text)


# Obfuscated: the "@" written as a word or in brackets, dots as words or in brackets. Found from each "at"
# outwards: the domain is matched after it, the local part backwards from it.
_OB_DOT_WORDS = frozenset(("dot", "punkt", "point", "punto", "ponto", "kropka", "punt"))
_OB_DOT_WORDS_EN = frozenset({"dot"})
_OB_DOT_WORD = "(?:" + "|".join(sorted(_OB_DOT_WORDS)) + ")"
_OB_DOT = rf"(?:\s*[\[({{<]\s*{_OB_DOT_WORD}\s*[\])}}>]\s*|[ \t]+{_OB_DOT_WORD}[ \t]+|\.)"
_OB_AT_BRACKETED = re.compile(r"(?i)[\[({<][ \t]*(?:at|@)[ \t]*[\])}>]")
_OB_AT_WORDS = (" at ", " @ ", " arroba ", " arobase ", " chiocciola ", " klammeraffe ")
_OB_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OB_DOMAIN = re.compile(rf"(?i){_OB_LABEL}(?:{_OB_DOT}{_OB_LABEL}){{1,5}}(?![\w@-]|\.\w)")
_OB_LOCAL = re.compile(
    rf"(?i)(?<![\w.%+@-])[A-Za-z0-9](?:[A-Za-z0-9_%+-]{{0,62}}[A-Za-z0-9])?"
    rf"(?:{_OB_DOT}[A-Za-z0-9](?:[A-Za-z0-9_%+-]{{0,62}}[A-Za-z0-9])?){{0,4}}$"
)
_OB_DOT_SPLIT = re.compile(rf"(?i){_OB_DOT}")
# "met at the dot com bubble": after a bare "at", a domain does not start with an article or pronoun
_NOT_A_HOST = frozenset("the a an this that these those my your his her our their its one some any".split())
#: Top-level domains accepted after a bare "at" (with a bracketed "(at)" any 2-24 letters will do).
_COMMON_TLDS = frozenset(
    "com net org edu gov info biz io co ai app dev me tv eu uk de fr es it nl be at ch pl pt se dk no fi ie lu "
    "cz sk hu ro gr bg hr si ee lv lt ru ua tr us ca mx br ar cl au nz jp cn in za cat gal".split()
)


def _ob_at_spans(text: str) -> Iterator[tuple[int, int, str | None]]:
    """``(start, end, word)`` of each written-out "@": ``word`` is the bare word ("at", "arroba", ...), or None
    for a bracketed ``(at)`` / ``[at]`` or a spaced `` @ ``. Plain substring search: this runs on every text."""
    lower = text.lower()
    if "at" in lower and any(b in lower for b in ("(", "[", "{", "<")):
        for m in _OB_AT_BRACKETED.finditer(text):
            start, end = m.span()
            while start and text[start - 1] in " \t":
                start -= 1
            while end < len(text) and text[end] in " \t":
                end += 1
            yield start, end, None
    for word in _OB_AT_WORDS:
        pos = lower.find(word)
        while pos >= 0:
            yield pos, pos + len(word), (None if word == " @ " else word.strip())
            pos = lower.find(word, pos + len(word) - 1)


def _obfuscated_emails(text: str) -> Iterator[Cand]:
    for at_start, at_end, word in _ob_at_spans(text):
        dom = _OB_DOMAIN.match(text, at_end)
        if dom is None:
            continue
        local = _OB_LOCAL.search(text, max(0, at_start - 120), at_start)
        if local is None:
            continue
        labels = _OB_DOT_SPLIT.split(dom.group())
        tld = labels[-1].lower()
        if not (tld.isalpha() and 2 <= len(tld) <= 24):
            continue
        if word:
            # a bare English "at" needs "dot" itself (not "point": "at one point in" is prose)
            dot_words = _OB_DOT_WORDS_EN if word == "at" else _OB_DOT_WORDS
            dots = _OB_DOT_SPLIT.findall(dom.group()) + _OB_DOT_SPLIT.findall(local.group())
            spelled_dot = any(w.strip(" \t[](){}<>").lower() in dot_words for w in dots)
            dotted_local = any(c in local.group() for c in "._+") or any(c.isdigit() for c in local.group())
            if tld not in _COMMON_TLDS or not (spelled_dot or dotted_local) or labels[0].lower() in _NOT_A_HOST:
                continue
        yield local.start(), dom.end(), "EMAIL"


# --------------------------------------------------------------------------------------------------
# CARD


_CARD = re.compile(
    r"(?<![\w.,/+-])(?<!\d{4}[ -])"  # not the middle of a longer list of 4-digit numbers
    r"(?:\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"  # 4-4-4-4(-3), 13-19 digits
    r"|\d{4}([ -])\d{6}\2\d{4,5})"  # Amex 4-6-5, Diners 4-6-4
    r"(?![\w]|[.,/-]\d|[ -]\d{4})"
)


def _card_prefix_ok(d: str) -> bool:
    """A card-network prefix: Visa 4, Mastercard 51-55/2221-2720 (16 digits), Amex/Diners/JCB 3,
    Discover/Maestro 5/6. (So a 15-digit French NIR of a woman born in 1922-72 is not a card.)"""
    if d[0] in "3456":
        return True
    return len(d) == 16 and 2221 <= int(d[:4]) <= 2720


_NOT_CARD_BEFORE = re.compile(r"(?i)\b(?:EAN|GTIN|UPC|ISBN|barcode|SKU|IMEI)\b\W{0,5}$")


CARD_TRIGGER = r"\d{13}|\d{4}[ -]\d{4}"


def cards(text: str) -> Iterator[Cand]:
    for m in _CARD.finditer(text):
        if _NOT_CARD_BEFORE.search(text, max(0, m.start() - 16), m.start()):
            continue
        digits = re.sub(r"\D", "", m.group())
        ok = 13 <= len(digits) <= 19 and _card_prefix_ok(digits) and luhn_ok(digits)
        yield m.start(), m.end(), BLOCK_CARD
        if ok:
            yield m.start(), m.end(), "CARD"


# --------------------------------------------------------------------------------------------------
# IBAN

_IBAN = re.compile(r"(?<![A-Za-z0-9])(?=([A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,32}))")  # overlapping starts
_IBAN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:(?: ?[A-Z0-9]{4}){3,8}(?: ?[A-Z0-9]{1,3})?)(?![A-Za-z0-9])")


IBAN_TRIGGER = r"[A-Z]{2}\d{2}"


def ibans(text: str) -> Iterator[Cand]:
    for m in _IBAN_SHAPE.finditer(text):
        yield m.start(), m.end(), BLOCK_IBAN
    for m in _IBAN.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1)[:2])
        if length is None:
            continue
        # map the length-th alphanumeric character back to a text position
        count, end = 0, None
        for pos in range(m.start(1), m.end(1)):
            if text[pos] != " ":
                count += 1
                if count == length:
                    end = pos + 1
                    break
        if end is None or (end < len(text) and text[end].isalnum()):
            continue
        if iban_ok(text[m.start() : end]):
            yield m.start(), end, "IBAN"


# --------------------------------------------------------------------------------------------------
# IP

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
_VERSION_BEFORE = re.compile(r"(?i)(?:\bv|\bver\.?|\bversion|\brelease|\bbuild|\bfirmware|\bmodel)\s*$")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\w)")


def ipv4s(text: str) -> Iterator[Cand]:
    if "." in text:
        for m in _IPV4.finditer(text):
            if not _VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start()):
                yield m.start(), m.end(), "IP"


def ipv6s(text: str) -> Iterator[Cand]:
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            s = m.group()
            hextets = [h for h in re.split(r"[:.]", s) if h]
            if len(hextets) < 2 or not any(ch.isdigit() for ch in s):
                continue
            try:
                ipaddress.IPv6Address(s)
            except ValueError:
                continue
            yield m.start(), m.end(), "IP"


#: The ``IP`` recognizers with their triggers.
IP_RECOGNIZERS: tuple[tuple[Callable[[str], Iterator[Cand]], str], ...] = (
    (ipv4s, r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"),
    (ipv6s, r":[0-9A-Fa-f]{0,4}:"),
)


def ips(text: str) -> Iterator[Cand]:
    """Every ``IP`` candidate (IPv4, then IPv6)."""
    yield from ipv4s(text)
    yield from ipv6s(text)


# --------------------------------------------------------------------------------------------------
# API_KEY


def _mixed(tok: str) -> bool:
    """Has a digit and a letter: real keys do, words, placeholders and ``sk-learn`` do not."""
    return any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)


#: (pattern, whether the key needs a digit and a letter, literals one of which every match contains): a text
#: holding none of a pattern's literals is not searched with it (a substring test is far cheaper than the regex).
_KEY_PATTERNS: tuple[tuple[re.Pattern[str], bool, tuple[str, ...]], ...] = tuple(
    (re.compile(p), need_mixed, needles)
    for p, need_mixed, needles in (
        (r"(?<![\w-])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", True, ("sk-",)),  # OpenAI, Anthropic
        (r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}(?![A-Za-z0-9])", False,
         ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA")),  # AWS key id
        (r"(?<![\w-])gh[pousr]_[A-Za-z0-9]{30,255}(?![\w-])", False,
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),  # GitHub
        (r"(?<![\w-])github_pat_[A-Za-z0-9_]{22,255}", False, ("github_pat_",)),
        (r"(?<![\w-])glpat-[A-Za-z0-9_-]{20,}", False, ("glpat-",)),  # GitLab
        (r"(?<![\w-])xox[abeoprs]-[A-Za-z0-9-]{10,}", True, ("xox",)),  # Slack
        (r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])", False, ("AIza",)),  # Google
        (r"(?<![\w-])(?:sk|rk|pk|whsec)_(?:live|test)_[0-9A-Za-z]{16,}", False, ("_live_", "_test_")),  # Stripe
        (r"(?<![\w-])hf_[A-Za-z0-9]{30,}(?![\w-])", False, ("hf_",)),  # Hugging Face
        (r"(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])", False, ("npm_",)),
        (r"(?<![\w-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", False, ("eyJ",)),  # JWT
        (r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----", False,
         ("-----BEGIN ",)),
    )
)
# ``Authorization: Bearer <token>``: only the token is replaced.
_BEARER = re.compile(r"\b(?:Bearer|Basic|bearer|BEARER)\s+(?P<tok>[A-Za-z0-9\-._~+/]{16,}=*)")
# ``api_key = "..."``, ``"password": "..."``, ``SECRET_KEY=...``: the value is replaced.
_ASSIGNED = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:[a-z0-9]{1,30}[_-]){0,6}(?:api[_-]?key|apikey|secret[_-]?key|client[_-]?secret|secret"
    r"|access[_-]?key|signing[_-]?key|encryption[_-]?key|master[_-]?key|private[_-]?key"
    r"|access[_-]?token|auth[_-]?token|refresh[_-]?token|token)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<tok>[A-Za-z0-9_\-+/.=~]{12,})"
)
# ``password: ...``, ``DB_PASSWORD=...``: shorter values count, if quoted or with a digit or symbol in them.
_PASSWORD = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:[a-z0-9]{1,30}[_-]){0,6}(?:password|passwd|passphrase|pwd)[\"']?\s*[:=]\s*"
    r"(?:(?P<q>[\"'])(?P<qtok>[^\s\"']{6,128})(?P=q)|(?P<tok>[^\s\"',;]{6,128}))"
)
_NOT_A_PASSWORD = re.compile(r"(?i)^(?:[$<{%*]|null$|none$|true$|false$|required$|optional$|string$|\*+$|x+$)")


_WS = r"[\s\x1c-\x1f]"
API_KEY_TRIGGER = "|".join([
    *(needle for _, _, needles in _KEY_PATTERNS for needle in needles),  # letters, digits, "_", "-", " " only
    rf"(?:Bearer|Basic|bearer|BEARER){_WS}+[A-Za-z0-9._~+/-]{{16}}",
    rf"(?i:password|passwd|passphrase|pwd)[\x22']?{_WS}*[:=]",
    rf"(?i:key|secret|token)[\x22']?{_WS}*[:=]",
])


def api_keys(text: str) -> Iterator[Cand]:
    lower = text.lower()  # cheap keyword checks skip the costly assignment patterns on most texts
    for pattern, need_mixed, needles in _KEY_PATTERNS:
        if not any(needle in text for needle in needles):
            continue
        for m in pattern.finditer(text):
            if not need_mixed or _mixed(m.group()[3:]):
                yield m.start(), m.end(), "API_KEY"
    for m in (_BEARER.finditer(text) if ("bearer" in lower or "basic" in lower) else ()):
        tok = m.group("tok")
        if any(c.isdigit() for c in tok) or (tok.lower() != tok and tok.upper() != tok):
            yield m.start("tok"), m.end("tok"), "API_KEY"
    for m in (_PASSWORD.finditer(text) if ("pass" in lower or "pwd" in lower) else ()):
        group = "qtok" if m.group("qtok") else "tok"
        tok = m.group(group)
        if group == "tok":
            tok = tok.rstrip(".")
        if _NOT_A_PASSWORD.match(tok) or len(tok) < 6:
            continue
        if group == "qtok" or any(not c.isalpha() for c in tok):
            yield m.start(group), m.start(group) + len(tok), "API_KEY"
    has_keyword = "key" in lower or "secret" in lower or "token" in lower
    for m in (_ASSIGNED.finditer(text) if has_keyword else ()):
        tok = m.group("tok").rstrip(".,")
        if len(tok) >= 12 and _mixed(tok):
            yield m.start("tok"), m.start("tok") + len(tok), "API_KEY"


# --------------------------------------------------------------------------------------------------
# URL_TOKEN

_URL_PARAM = re.compile(
    r"(?i)[?&;#](?:access_token|refresh_token|id_token|auth_token|token|api_key|api-key|apikey|key|sig|signature"
    r"|x-amz-signature|x-amz-security-token|x-goog-signature|password|passwd|pwd|secret|client_secret|code|auth"
    r"|jwt|session|sessionid|session_id)=(?P<val>[^&#\s\"'<>]+)"
)


URL_TOKEN_TRIGGER = _URL_PARAM.pattern  # no lookaround in it: the pattern itself


def url_tokens(text: str) -> Iterator[Cand]:
    if "=" not in text:
        return
    for m in _URL_PARAM.finditer(text):
        val = m.group("val").rstrip(".,;:!?)]}")
        if len(val) >= 6:
            yield m.start("val"), m.start("val") + len(val), "URL_TOKEN"


# --------------------------------------------------------------------------------------------------
# NATIONAL_ID

# Digit runs that could be a European id number: a French NIR (15 characters, 2A/2B for Corsica) or 9-11
# digits, with single spaces or dots between; _european_id_ok decides by length, grouping and keyword.
_ID_RUN_PATTERN = r"\d(?:[ .]?(?:\d|2[AB])){8,14}"
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|\.\d)")
_SSN_KEYWORD = re.compile(
    r"(?i)\b(?:ssn|ss#|social security(?: number| no\.?| #)?)\W{0,6}"
    r"(?P<tok>(?!000|666|9\d\d)\d{3}(?P<sep> ?)(?!00)\d{2}(?P=sep)(?!0000)\d{4})(?![\w-])"
)
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"(?:\d{6} ?|(?: \d\d){3} ?)[A-D](?![A-Za-z0-9])"
)
_DNI = re.compile(r"(?<![A-Za-z0-9])[XYZ]?\d{7,8}-?[A-Z](?![A-Za-z0-9])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_SIN = re.compile(
    r"(?i)\b(?:SIN|social insurance(?: number| no\.?)?)\W{0,6}(?P<tok>\d{3}(?P<sep>[ -]?)\d{3}(?P=sep)\d{3})(?![\w-])"
)


def _dni_ok(s: str) -> bool:
    s = s.replace("-", "")
    body, letter = s[:-1], s[-1]
    if body[0] in "XYZ":
        body = str("XYZ".index(body[0])) + body[1:]
    return len(body) == 8 and _DNI_LETTERS[int(body) % 23] == letter


def ssns(text: str) -> Iterator[Cand]:
    for m in _SSN.finditer(text):
        yield m.start(), m.end(), "NATIONAL_ID"


def ssns_after_keyword(text: str) -> Iterator[Cand]:
    for m in _SSN_KEYWORD.finditer(text):
        yield m.start("tok"), m.end("tok"), "NATIONAL_ID"


def ninos(text: str) -> Iterator[Cand]:
    for m in _NINO.finditer(text):
        yield m.start(), m.end(), "NATIONAL_ID"


def dnis(text: str) -> Iterator[Cand]:
    for m in _DNI.finditer(text):
        if _dni_ok(m.group()):
            yield m.start(), m.end(), "NATIONAL_ID"


def sins(text: str) -> Iterator[Cand]:
    for m in _SIN.finditer(text):
        digits = re.sub(r"\D", "", m.group("tok"))
        if digits[0] not in "08" and luhn_ok(digits):
            yield m.start("tok"), m.end("tok"), "NATIONAL_ID"


def codici_fiscali(text: str) -> Iterator[Cand]:
    for m in _CODICE_FISCALE.finditer(text):
        start = m.start() - 6
        if start >= 0 and text[start : m.start()].isalpha() and not (start and text[start - 1].isalnum()):
            if text[start : m.start()].isascii() and codice_fiscale_ok(text[start : m.end()]):
                yield start, m.end(), "NATIONAL_ID"


def european_ids(text: str) -> Iterator[Cand]:
    for m in _ID_RUN.finditer(text):
        start, end = m.span()
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if before.isalnum() or before in "_./+-" or after.isalnum() or after in "_/-":
            continue
        if after in ".," and text[end + 1 : end + 2].isdigit():
            continue
        if _european_id_ok(text, start, m.group()):
            yield start, end, "NATIONAL_ID"


#: The ``NATIONAL_ID`` recognizers, each with its trigger (see :data:`EMAIL_TRIGGER`).
NATIONAL_ID_RECOGNIZERS: tuple[tuple[Callable[[str], Iterator[Cand]], str], ...] = (
    (ssns, r"\d{3}-\d{2}-\d{4}"),
    (ssns_after_keyword, r"(?i:ssn|ss#|social security)"),
    (ninos, r"[A-Z][A-Z](?:\d{6}|(?: \d\d){3})"),
    (dnis, r"\d{7}-?[A-Z]"),
    (sins, r"(?i:sin|social insurance)(?i: number| no\.?)?[^0-9A-Za-z_]{0,6}\d{3}"),
    (codici_fiscali, r"\d\d[ABCDEHLMPRSTabcdehlmprst][0-9LMNP-Vlmnp-v]{2}[A-Za-z][0-9LMNP-Vlmnp-v]{3}[A-Za-z]"),
    (european_ids, _ID_RUN_PATTERN),
)


def national_ids(text: str) -> Iterator[Cand]:
    """Every ``NATIONAL_ID`` candidate (the recognizers of :data:`NATIONAL_ID_RECOGNIZERS` in turn)."""
    for recognizer, _ in NATIONAL_ID_RECOGNIZERS:
        yield from recognizer(text)


# Italian codice fiscale: surname and name letters, birth year, month letter, day (+40 for women),
# municipality code, check letter; digits may be replaced by L-V (omocodia). Checked in codice_fiscale_ok.
# The pattern starts at the birth year (two digits: omocodia reaches them last), which regex search finds
# much faster than a run of six letters; the letters are checked by hand.
_OMO = "[0-9LMNP-Vlmnp-v]"
_CODICE_FISCALE = re.compile(rf"\d\d[ABCDEHLMPRSTabcdehlmprst]{_OMO}{{2}}[A-Za-z]{_OMO}{{3}}[A-Za-z](?![A-Za-z0-9])")
_ID_RUN = re.compile(_ID_RUN_PATTERN)  # the neighbours are checked by hand (faster than lookarounds)
_NIR_SPACED = re.compile(r"[12] \d\d \d\d (?:\d\d|2[ABab]) \d{3} \d{3} \d\d")
_STEUER_SPACED = re.compile(r"\d\d \d{3} \d{3} \d{3}")
_BSN_DOTTED = re.compile(r"\d{4}\.\d\d\.\d{3}")
_GROUPED_9 = re.compile(r"\d{9}|\d{3} \d{3} \d{3}")
_ID_KEYWORD = re.compile(
    r"(?i)\b(?:(?P<nir>nir|insee|s[ée]cu|s[ée]curit[ée] sociale|carte vitale)"
    r"|(?P<steuer>steuer[-_ ]?id(?:nr)?|steuer[-_ ]?identifikationsnummer|steueridentifikationsnummer|idnr|"
    r"identifikationsnummer)"
    r"|(?P<bsn>bsn|burgerservicenummer|sofi-?nummer)"
    r"|(?P<pesel>pesel)"
    r"|(?P<nif>nif|contribuinte|n[úu]mero de identifica[çc][ãa]o fiscal))"
    r"\b[^\d\n]{0,30}$"
)


def _id_keyword(text: str, start: int) -> str | None:
    """The id scheme ("nir", "steuer", "bsn", "pesel", "nif") named just before ``start``, if any."""
    m = _ID_KEYWORD.search(text, max(0, start - 48), start)
    return m.lastgroup if m else None


def _european_id_ok(text: str, start: int, tok: str) -> bool:
    """A digit run that is a valid NIR, Steuer-ID, BSN, PESEL or Portuguese NIF, written in that scheme's
    distinctive grouping, or in any common form right after a word naming the scheme."""
    compact = tok.replace(" ", "").replace(".", "")
    n = len(compact)
    if n == 15:
        if _NIR_SPACED.fullmatch(tok):
            return nir_ok(compact)
        return tok == compact and _id_keyword(text, start) == "nir" and nir_ok(compact)
    if not compact.isdigit():
        return False
    if n == 11:
        if _STEUER_SPACED.fullmatch(tok) and steuer_id_ok(compact):
            return True
        kw = _id_keyword(text, start) if tok == compact else None
        return (kw == "steuer" and steuer_id_ok(compact)) or (kw == "pesel" and pesel_ok(compact))
    if n == 9:
        if _BSN_DOTTED.fullmatch(tok):
            return bsn_ok(compact)
        kw = _id_keyword(text, start) if _GROUPED_9.fullmatch(tok) else None
        return (kw == "bsn" and bsn_ok(compact)) or (kw == "nif" and nif_pt_ok(compact))
    return False
