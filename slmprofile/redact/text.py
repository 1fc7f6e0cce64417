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

>>> redact("Mail jane.doe@example.com or call +44 20 7946 0958.")
('Mail <EMAIL> or call <PHONE>.', Counter({'EMAIL': 1, 'PHONE': 1}))
"""

from __future__ import annotations

import bisect
import collections
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

from ..checksums import IBAN_LENGTHS
from ..checksums import bsn_ok, codice_fiscale_ok, nif_pt_ok, nir_ok, pesel_ok, steuer_id_ok
from ..checksums import iban_ok as iban_ok  # re-exported: public API
from ..checksums import luhn_ok

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
_BLOCK_IBAN = "_BLOCK_IBAN"
_BLOCK_CARD = "_BLOCK_CARD"
_BLOCKS = {_BLOCK_IBAN: ("CARD", "PHONE"), _BLOCK_CARD: ("PHONE",)}
_TIE_ORDER = {k: i for i, k in enumerate(("URL_TOKEN", "API_KEY", "EMAIL", "IBAN", "CARD", "NATIONAL_ID", "IP"))}

_Cand = tuple[int, int, str]  # start, end, kind

# --------------------------------------------------------------------------------------------------
# EMAIL

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


def _emails(text: str) -> Iterator[_Cand]:
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


def _obfuscated_emails(text: str) -> Iterator[_Cand]:
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


def _cards(text: str) -> Iterator[_Cand]:
    for m in _CARD.finditer(text):
        if _NOT_CARD_BEFORE.search(text, max(0, m.start() - 16), m.start()):
            continue
        digits = re.sub(r"\D", "", m.group())
        ok = 13 <= len(digits) <= 19 and _card_prefix_ok(digits) and luhn_ok(digits)
        yield m.start(), m.end(), _BLOCK_CARD
        if ok:
            yield m.start(), m.end(), "CARD"


# --------------------------------------------------------------------------------------------------
# IBAN

_IBAN = re.compile(r"(?<![A-Za-z0-9])(?=([A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,32}))")  # overlapping starts
_IBAN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:(?: ?[A-Z0-9]{4}){3,8}(?: ?[A-Z0-9]{1,3})?)(?![A-Za-z0-9])")


def _ibans(text: str) -> Iterator[_Cand]:
    for m in _IBAN_SHAPE.finditer(text):
        yield m.start(), m.end(), _BLOCK_IBAN
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


def _ips(text: str) -> Iterator[_Cand]:
    if "." in text:
        for m in _IPV4.finditer(text):
            if not _VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start()):
                yield m.start(), m.end(), "IP"
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


# --------------------------------------------------------------------------------------------------
# API_KEY


def _mixed(tok: str) -> bool:
    """Has a digit and a letter: real keys do, words, placeholders and ``sk-learn`` do not."""
    return any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)


_KEY_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = tuple(
    (re.compile(p), need_mixed)
    for p, need_mixed in (
        (r"(?<![\w-])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", True),  # OpenAI, Anthropic
        (r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}(?![A-Za-z0-9])", False),  # AWS key id
        (r"(?<![\w-])gh[pousr]_[A-Za-z0-9]{30,255}(?![\w-])", False),  # GitHub
        (r"(?<![\w-])github_pat_[A-Za-z0-9_]{22,255}", False),
        (r"(?<![\w-])glpat-[A-Za-z0-9_-]{20,}", False),  # GitLab
        (r"(?<![\w-])xox[abeoprs]-[A-Za-z0-9-]{10,}", True),  # Slack
        (r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])", False),  # Google
        (r"(?<![\w-])(?:sk|rk|pk|whsec)_(?:live|test)_[0-9A-Za-z]{16,}", False),  # Stripe
        (r"(?<![\w-])hf_[A-Za-z0-9]{30,}(?![\w-])", False),  # Hugging Face
        (r"(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])", False),
        (r"(?<![\w-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", False),  # JWT
        (r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----", False),
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


def _keys(text: str) -> Iterator[_Cand]:
    lower = text.lower()  # cheap keyword checks skip the costly assignment patterns on most texts
    for pattern, need_mixed in _KEY_PATTERNS:
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


def _url_tokens(text: str) -> Iterator[_Cand]:
    if "=" not in text:
        return
    for m in _URL_PARAM.finditer(text):
        val = m.group("val").rstrip(".,;:!?)]}")
        if len(val) >= 6:
            yield m.start("val"), m.start("val") + len(val), "URL_TOKEN"


# --------------------------------------------------------------------------------------------------
# NATIONAL_ID

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


def _national_ids(text: str) -> Iterator[_Cand]:
    for m in _SSN.finditer(text):
        yield m.start(), m.end(), "NATIONAL_ID"
    for m in _SSN_KEYWORD.finditer(text):
        yield m.start("tok"), m.end("tok"), "NATIONAL_ID"
    for m in _NINO.finditer(text):
        yield m.start(), m.end(), "NATIONAL_ID"
    for m in _DNI.finditer(text):
        if _dni_ok(m.group()):
            yield m.start(), m.end(), "NATIONAL_ID"
    for m in _SIN.finditer(text):
        digits = re.sub(r"\D", "", m.group("tok"))
        if digits[0] not in "08" and luhn_ok(digits):
            yield m.start("tok"), m.end("tok"), "NATIONAL_ID"
    for m in _CODICE_FISCALE.finditer(text):
        start = m.start() - 6
        if start >= 0 and text[start : m.start()].isalpha() and not (start and text[start - 1].isalnum()):
            if text[start : m.start()].isascii() and codice_fiscale_ok(text[start : m.end()]):
                yield start, m.end(), "NATIONAL_ID"
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


# Italian codice fiscale: surname and name letters, birth year, month letter, day (+40 for women),
# municipality code, check letter; digits may be replaced by L-V (omocodia). Checked in codice_fiscale_ok.
# The pattern starts at the birth year (two digits: omocodia reaches them last), which regex search finds
# much faster than a run of six letters; the letters are checked by hand.
_OMO = "[0-9LMNP-Vlmnp-v]"
_CODICE_FISCALE = re.compile(rf"\d\d[ABCDEHLMPRSTabcdehlmprst]{_OMO}{{2}}[A-Za-z]{_OMO}{{3}}[A-Za-z](?![A-Za-z0-9])")
# Digit runs that could be a European id number: a French NIR (15 characters, 2A/2B for Corsica) or 9-11
# digits, with single spaces or dots between; _european_id_ok decides by length, grouping and keyword.
_ID_RUN = re.compile(r"\d(?:[ .]?(?:\d|2[AB])){8,14}")  # the neighbours are checked by hand (faster than lookarounds)
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


# --------------------------------------------------------------------------------------------------
# PHONE
#
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
    """Does this group sequence look like a phone number (see the module docstring)?"""
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


def _phones(text: str) -> Iterator[_Cand]:
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


# --------------------------------------------------------------------------------------------------

_RECOGNIZERS: tuple[Callable[[str], Iterator[_Cand]], ...] = (
    _keys,
    _url_tokens,
    _emails,
    _ibans,
    _cards,
    _national_ids,
    _ips,
    _phones,
)


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


def find_pii(text: str, *, kinds: Iterable[str] | None = None) -> list[Finding]:
    """Detect PII/secret spans in ``text``: non-overlapping, sorted by start.

    All recognizers always run, so that overlaps are resolved the same way whatever ``kinds`` is; only
    findings of ``kinds`` (default: all of :data:`PII_KINDS`, case-insensitive) are returned.
    Raises ``ValueError`` for an unknown kind name.
    """
    wanted = check_kinds(kinds)
    if not text:
        return []
    cands: list[_Cand] = []
    for recognizer in _RECOGNIZERS:
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
    chosen: list[_Cand] = []  # kept sorted by start; its spans never overlap
    for cand in cands:
        s, e, _ = cand
        i = bisect.bisect_left(chosen, (s,))
        if (i == len(chosen) or chosen[i][0] >= e) and (i == 0 or chosen[i - 1][1] <= s):
            chosen.insert(i, cand)
    return [Finding(k, s, e, text[s:e]) for s, e, k in chosen if k in wanted]


def redact(text: str, *, kinds: Iterable[str] | None = None) -> tuple[str, collections.Counter[str]]:
    """Replace every finding of :func:`find_pii` with its placeholder; return the text and counts per kind.

    >>> redact("key sk-proj-4f9Qx2LmZ7aB1cD3eF5gH7jK", kinds=["API_KEY"])
    ('key <API_KEY>', Counter({'API_KEY': 1}))
    """
    findings = find_pii(text, kinds=kinds)
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


def redact_many(
    texts: Iterable[str | None], *, kinds: Iterable[str] | None = None
) -> tuple[list[str | None], collections.Counter[str]]:
    """:func:`redact` each text (``None`` passes through); return the texts and the summed counts."""
    wanted = check_kinds(kinds)
    total: collections.Counter[str] = collections.Counter()
    out: list[str | None] = []
    for text in texts:
        if text is None:
            out.append(None)
            continue
        red, counts = redact(text, kinds=wanted)
        total.update(counts)
        out.append(red)
    return out, total
