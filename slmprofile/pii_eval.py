"""A seeded, labelled PII evaluation set, and a scorer for PII finders such as :func:`slmprofile.redact.find_pii`.

The texts read like prompts sent to a company's assistant: support tickets, invoices, e-mails, config
snippets, logs and debugging questions. Each carries zero to two PII values (the kinds of
:data:`slmprofile.redact.PII_KINDS`, drawn round-robin so that they are covered evenly) and hard
negatives that must *not* be redacted: order/ticket/invoice numbers, dates, times, amounts, versions,
percentages, 16-digit numbers failing the Luhn check, IBAN-shaped strings with a wrong checksum, commit
hashes, UUIDs (not PII here), EAN barcodes, epoch timestamps.

Card numbers pass Luhn, IBANs pass mod-97, SSNs avoid the never-issued areas, UK National Insurance
numbers use allowed prefix letters, Spanish DNIs carry their check letter.

>>> samples = make_pii_eval_set(n_instances=50, seed=1)
>>> round(score_redaction(samples)["recall"], 1)
1.0
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import re
import string
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .checksums import (
    bsn_check_digit,
    codice_fiscale_check_char,
    iban_check_digits,
    luhn_check_digit,
    nif_pt_check_digit,
    nir_key,
    pesel_check_digit,
    steuer_id_check_digit,
)
from .redact import PII_KINDS, find_pii


@dataclass(frozen=True)
class LabelledText:
    """A text and the true ``(start, end, kind)`` of every PII value in it (``text[start:end]`` is the value)."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


# ----------------------------------------------------------------------------------------------------------
# Filler vocabulary

_FIRST = (
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farah",
    "Giulia",
    "Hiro",
    "Ines",
    "Jonas",
    "Kwame",
    "Lena",
    "Marta",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yusuf",
)
_LAST = (
    "Schmidt",
    "Okafor",
    "García",
    "Nguyen",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Müller",
    "Brown",
    "Silva",
    "Jensen",
    "Haddad",
    "Petrov",
    "Smith",
    "Kaur",
    "O'Neill",
    "van Dijk",
    "Lindqvist",
    "Moreau",
)
_DOMAINS = (
    "example.com",
    "acme-corp.com",
    "mail.example.org",
    "northwind.co.uk",
    "contoso.de",
    "globex.io",
    "initech.fr",
    "gmail.com",
    "outlook.com",
    "proton.me",
    "umbrella-health.nl",
    "shop.example.es",
)
_PRODUCTS = (
    "the billing API",
    "Checkout",
    "the mobile app",
    "DataSync",
    "the reporting service",
    "Helpdesk",
    "the payments gateway",
    "InvoiceBot",
    "the CRM export",
    "the SSO login",
)
_CITIES = ("Berlin", "London", "Lyon", "Madrid", "Amsterdam", "Austin", "Toronto", "Dublin")

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    """Random string that mixes letters and digits when the alphabet has both (as real keys do)."""
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if not (set(alphabet) & set(string.digits)) or not (set(alphabet) & set(string.ascii_letters)):
            return s
        if any(c.isdigit() for c in s) and any(c.isalpha() for c in s):
            return s


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


# ----------------------------------------------------------------------------------------------------------
# PII value generators: each returns the value as it appears in the text


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _ascii(s: str) -> str:
    table = str.maketrans("éüíáóç'", "euiaoc-")
    return s.translate(table).replace(" ", "")


def _email(rng: random.Random) -> str:
    first, last = _ascii(rng.choice(_FIRST)).lower(), _ascii(rng.choice(_LAST)).lower()
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first}_{last}",
            f"{first}+{rng.choice(('billing', 'news', 'work'))}",
            f"{last}.{first[0]}",
            rng.choice(("support", "billing", "accounts.payable", "no-reply", "ops-team")),
        )
    )
    email = f"{local}@{rng.choice(_DOMAINS)}"
    return email.title() if rng.random() < 0.1 else email


def _nanp(rng: random.Random) -> tuple[str, str, str]:
    area = f"{rng.randint(2, 9)}{_digits(rng, 2)}"
    if rng.random() < 0.5:
        return area, "555", f"01{_digits(rng, 2)}"
    return area, f"{rng.randint(2, 9)}{_digits(rng, 2)}", _digits(rng, 4)


def _phone(rng: random.Random) -> str:
    style = rng.randrange(8)
    if style <= 2:  # North America
        a, b, c = _nanp(rng)
        return rng.choice(
            (
                f"({a}) {b}-{c}",
                f"{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"+1 {a} {b} {c}",
                f"+1-{a}-{b}-{c}",
                f"1-800-{b}-{c}",
                f"+1 ({a}) {b}-{c}",
                f"{a} {b} {c}",
            )
        )
    if style <= 4:  # UK
        return rng.choice(
            (
                f"020 7946 0{_digits(rng, 3)}",
                f"+44 20 7946 0{_digits(rng, 3)}",
                f"07700 900{_digits(rng, 3)}",
                f"+44 7700 900{_digits(rng, 3)}",
                f"0161 496 0{_digits(rng, 3)}",
                f"+44 (0)20 7946 0{_digits(rng, 3)}",
                f"0113 496 0{_digits(rng, 3)}",
            )
        )
    if style == 5:  # Germany
        return rng.choice(
            (
                f"+49 30 {_digits(rng, 6)}",
                f"+49 30 {_digits(rng, 8)}",
                f"+49 151 {_digits(rng, 8)}",
                f"030 {_digits(rng, 8)}",
                f"0151 {_digits(rng, 8)}",
                f"+49 (0)89 {_digits(rng, 7)}",
                f"089/{_digits(rng, 7)}",
            )
        )
    if style == 6:  # France
        pairs = " ".join(_digits(rng, 2) for _ in range(4))
        return rng.choice(
            (f"+33 1 {pairs}", f"01 {pairs}", f"06.{pairs.replace(' ', '.')}", f"+33 6 {pairs}", f"07 {pairs}")
        )
    return rng.choice(  # elsewhere
        (
            f"+61 2 {_digits(rng, 4)} {_digits(rng, 4)}",
            f"+81 3-{_digits(rng, 4)}-{_digits(rng, 4)}",
            f"+91 9{_digits(rng, 4)} {_digits(rng, 5)}",
            f"+34 91{_digits(rng, 1)} {_digits(rng, 3)} {_digits(rng, 3)}",
            f"+31 20 {_digits(rng, 3)} {_digits(rng, 4)}",
            f"+353 1 {_digits(rng, 3)} {_digits(rng, 4)}",
            f"+4915{_digits(rng, 9)}",
        )
    )


def _card_digits(rng: random.Random) -> str:
    brand = rng.randrange(4)
    if brand == 0:  # Visa
        body = "4" + _digits(rng, 14)
    elif brand == 1:  # Mastercard 51-55
        body = f"5{rng.randint(1, 5)}" + _digits(rng, 13)
    elif brand == 2:  # Mastercard 2-series
        body = str(rng.randint(2221, 2720)) + _digits(rng, 11)
    else:  # Amex, 15 digits
        body = rng.choice(("34", "37")) + _digits(rng, 12)
    return body + luhn_check_digit(body)


def _format_card(rng: random.Random, d: str) -> str:
    style = rng.randrange(3)
    if style == 2:
        return d
    sep = " " if style == 0 else "-"
    if len(d) == 15:
        return sep.join((d[:4], d[4:10], d[10:]))
    return sep.join(d[i : i + 4] for i in range(0, len(d), 4))


def _card(rng: random.Random) -> str:
    return _format_card(rng, _card_digits(rng))


def _bban(rng: random.Random, country: str) -> str:
    if country == "DE":
        return _digits(rng, 18)
    if country == "GB":
        return rng.choice(("NWBK", "WEST", "BARC", "LOYD", "MIDL", "HBUK")) + _digits(rng, 14)
    if country == "FR":
        return _digits(rng, 23)
    if country == "NL":
        return rng.choice(("ABNA", "RABO", "INGB", "TRIO", "KNAB")) + _digits(rng, 10)
    return _digits(rng, 20)  # ES


def _format_iban(rng: random.Random, compact: str) -> str:
    if rng.random() < 0.35:
        return compact
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _iban_parts(rng: random.Random) -> tuple[str, str, str]:
    country = rng.choice(("DE", "GB", "FR", "NL", "ES"))
    bban = _bban(rng, country)
    return country, iban_check_digits(country, bban), bban


def _iban(rng: random.Random) -> str:
    country, check, bban = _iban_parts(rng)
    return _format_iban(rng, country + check + bban)


def _ip(rng: random.Random) -> str:
    style = rng.randrange(5)
    if style == 0:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if style == 1:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if style == 2:
        return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    hextets = [rng.randrange(0x10000) for _ in range(8)]
    hextets[0] = rng.choice((0x2001, 0x2A00, 0xFE80, 0x2604))
    if style == 3:  # compressed: a run of zeros
        zero_from = rng.randint(2, 5)
        for i in range(zero_from, zero_from + rng.randint(2, 3)):
            hextets[i] = 0
        return ipaddress.IPv6Address(sum(h << (16 * (7 - i)) for i, h in enumerate(hextets))).compressed
    return ":".join(f"{h:04x}" for h in hextets)


def _jwt(rng: random.Random) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

    header = b64({"alg": rng.choice(("HS256", "RS256")), "typ": "JWT"})
    payload = b64({"sub": _digits(rng, 8), "name": _name(rng), "iat": rng.randint(1_600_000_000, 1_750_000_000)})
    return f"{header}.{payload}.{_rand(rng, _URLSAFE, 43)}"


def _api_key(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: "sk-proj-" + _rand(rng, _URLSAFE, rng.randint(48, 120)),
            lambda: "sk-" + _rand(rng, _ALNUM, 48),
            lambda: "sk-ant-api03-" + _rand(rng, _URLSAFE, 93) + "AA",
            lambda: "AKIA" + _rand(rng, string.ascii_uppercase + string.digits, 16),
            lambda: "ghp_" + _rand(rng, _ALNUM, 36),
            lambda: "github_pat_" + _rand(rng, _ALNUM, 22) + "_" + _rand(rng, _ALNUM, 59),
            lambda: f"xoxb-{_digits(rng, 12)}-{_digits(rng, 13)}-{_rand(rng, _ALNUM, 24)}",
            lambda: "AIza" + _rand(rng, _URLSAFE, 35),
            lambda: rng.choice(("sk_live_", "rk_live_", "pk_live_")) + _rand(rng, _ALNUM, rng.randint(24, 60)),
            lambda: _jwt(rng),
        )
    )()


def _bearer_token(rng: random.Random) -> str:
    return _jwt(rng) if rng.random() < 0.5 else _rand(rng, _URLSAFE + ".~", rng.randint(28, 64))


def _national_id(rng: random.Random) -> str:
    style = rng.randrange(5)
    if style <= 2:  # US SSN (never-issued areas 000, 666, 900-999 avoided)
        area = rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    if style == 3:  # UK National Insurance number
        first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        while first + second in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        d = _digits(rng, 6)
        suffix = rng.choice("ABCD")
        if rng.random() < 0.5:
            return f"{first}{second}{d}{suffix}"
        return f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {suffix}"
    number = rng.randint(0, 99_999_999)  # Spanish DNI with its check letter
    return f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"


# ----------------------------------------------------------------------------------------------------------
# Hard negatives: look like numbers/ids, must be left alone


def _bad_card(rng: random.Random) -> str:
    d = _card_digits(rng)
    d = d[:-1] + str((int(d[-1]) + rng.randint(1, 9)) % 10)  # breaks Luhn
    return _format_card(rng, d)


def _bad_iban(rng: random.Random) -> str:
    country, check, bban = _iban_parts(rng)
    k = rng.randint(1, 40)
    bad = int(check) + k if int(check) + k <= 98 else int(check) - k
    return _format_iban(rng, f"{country}{bad:02d}{bban}")


def _ean13(rng: random.Random) -> str:
    body = rng.choice(("400", "401", "590", "761", "871")) + _digits(rng, 9)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


_NEGATIVES: dict[str, Callable[[random.Random], str]] = {
    "ORDER": lambda r: r.choice(
        (
            f"#{r.randint(10000, 99999)}",
            f"ORD-{r.randint(2021, 2025)}-{r.randint(100000, 999999)}",
            f"{r.randint(1000000, 9999999)}",
            f"{r.randint(1_000_000_000, 9_999_999_999)}",
        )
    ),
    "TICKET": lambda r: r.choice(
        (
            f"TCK-{r.randint(1000, 99999)}",
            f"INC{r.randint(0, 9999999):07d}",
            f"#{r.randint(100, 99999)}",
            f"JIRA-{r.randint(10, 9999)}",
            f"case {r.randint(1000000, 99999999):08d}",
        )
    ),
    "INVOICE": lambda r: r.choice(
        (
            f"INV-{r.randint(2020, 2025)}-{r.randint(1, 99999):05d}",
            f"{r.randint(2020, 2025)}-{r.randint(1, 9999):04d}",
            f"F{r.randint(2020, 2025)}/{r.randint(1, 99999):05d}",
        )
    ),
    "DATE": lambda r: r.choice(
        (
            f"{r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(2019, 2025)}",
            f"{r.randint(1, 28)} {r.choice(('May', 'June', 'Oct', 'January'))} {r.randint(2019, 2025)}",
            f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(2019, 2025)}",
        )
    ),
    "ISODATE": lambda r: f"{r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "TIME": lambda r: r.choice(
        (
            f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
            f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
            f"{r.randint(1, 12)}:{r.randint(0, 59):02d} {r.choice(('AM', 'PM'))}",
        )
    ),
    "AMOUNT": lambda r: r.choice(
        (
            f"${r.randint(1, 9)},{r.randint(0, 999):03d}.{r.randint(0, 99):02d}",
            f"€{r.randint(1, 999)}.{r.randint(0, 99):02d}",
            f"{r.randint(1, 9)}.{r.randint(0, 999):03d},{r.randint(0, 99):02d} EUR",
            f"USD {r.randint(1, 99)},{r.randint(0, 999):03d}",
            f"£{r.randint(1, 9999)}",
            f"{r.randint(100, 999)} {r.randint(100, 999)} {r.randint(100, 999)} JPY",
        )
    ),
    "VERSION": lambda r: r.choice(
        (
            f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
            f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
            f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}.{r.randint(0, 200)}",
            f"{r.randint(1, 9)}.{r.randint(0, 9)}",
        )
    ),
    "PCT": lambda r: r.choice(
        (f"{r.randint(1, 99)}.{r.randint(0, 9)}%", f"{r.randint(1, 100)}%", f"99.{r.randint(90, 99)}%")
    ),
    "HASH": lambda r: r.choice((f"{r.getrandbits(28):07x}", f"{r.getrandbits(160):040x}", f"{r.getrandbits(48):012x}")),
    "UUID": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "BADCARD": _bad_card,
    "BADIBAN": _bad_iban,
    "EAN": _ean13,
    "EPOCH": lambda r: str(r.randint(1_600_000_000, 1_750_000_000)) + r.choice(("", _digits(r, 3))),
    "DURATION": lambda r: r.choice((f"{r.randint(100, 30000)} ms", f"{r.randint(1, 90)}s", f"{r.randint(1, 59)} min")),
    "SIZE": lambda r: r.choice((f"{r.randint(1, 999)} MB", f"{r.randint(1, 64)}GB", f"{r.randint(100, 99999)} tokens")),
    "PORT": lambda r: str(r.choice((443, 5432, 6379, 8080, 8443, 9200, 27017))),
    "QTY": lambda r: str(r.randint(2, 250)),
}

#: Short sentences made only of hard negatives, appended to some texts.
_NEGATIVE_SENTENCES = (
    "Build {VERSION} went out on {DATE} at {TIME}.",
    "Commit {HASH} touched {QTY} files.",
    "Trace id {UUID}.",
    "Membership no. {BADCARD} (not a payment card).",
    "The IBAN on the old form ({BADIBAN}) failed validation.",
    "Latency p99 was {DURATION} and the error rate {PCT}.",
    "Order number {ORDER} ships from {CITY}.",
    "Event timestamp {EPOCH}.",
    "Barcode {EAN}, qty {QTY}.",
    "Quote {INVOICE} totals {AMOUNT}.",
    "Upload limit is {SIZE}; we used {PCT} of it.",
)

# ----------------------------------------------------------------------------------------------------------
# How each kind is mentioned. {V} is the value; "prose" for sentences, "kv" for config/log style.

_URLS = (
    "https://app.{d}/reset-password?token={V}&utm_source=email",
    "https://{d}/oauth/callback?code={V}&state={S}",
    "https://storage.{d}/exports/report-{Q}.csv?X-Amz-Expires=3600&X-Amz-Signature={V}",
    "https://api.{d}/v2/orders?api_key={V}&page={Q}",
    "https://maps.{d}/staticmap?center={C}&zoom=12&key={V}",
    "https://files.{d}/download?file=invoice-{Q}.pdf&sig={V}",
    "https://{d}/#access_token={V}&token_type=bearer&expires_in=3600",
    "https://portal.{d}/login?user=ops&password={V}",
    "https://hooks.{d}/ingest?source=crm&secret={V}",
)

_MENTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "EMAIL": {
        "prose": (
            "reach me at {V}",
            "the customer ({V}) asked for a refund",
            "cc {V} on the reply",
            "send the receipt to <{V}>",
            "her address is {V}.",
            "forwarded from {V}",
        ),
        "kv": ("email: {V}", '"contact_email": "{V}"', "from={V}", "reply_to = {V}"),
    },
    "PHONE": {
        "prose": (
            "call me on {V}",
            "my number is {V}.",
            "(mobile {V})",
            "you can ring the office at {V}, ext. 204",
            "she left a voicemail from {V}",
            "text {V} when it ships",
        ),
        "kv": ("phone: {V}", '"phone": "{V}"', "tel={V}", "callback_number = {V}"),
    },
    "CARD": {
        "prose": (
            "the card on file is {V}",
            "charged to {V} (exp 09/27)",
            "paid with {V}.",
            "card number {V}, CVV withheld",
            "the customer read out {V} over chat",
        ),
        "kv": ("card_number: {V}", '"pan": "{V}"', "card={V}"),
    },
    "IBAN": {
        "prose": (
            "please wire it to {V} (BIC COBADEFFXXX)",
            "refund to IBAN {V}.",
            "our account is {V}",
            "new bank details: {V}, same holder",
        ),
        "kv": ("iban: {V}", '"iban": "{V}"', "payout_account={V}"),
    },
    "IP": {
        "prose": (
            "login attempts from {V} were blocked",
            "the VPN assigned {V}.",
            "ping {V} times out",
            "user connected from {V} at {TIME}",
        ),
        "kv": ("client_ip={V}", "remote_addr: {V}", "host = {V}", '"ip": "{V}"'),
    },
    "API_KEY": {
        "prose": (
            "I pasted my key {V} by mistake",
            "the key {V} is in the repo, rotate it",
            "it fails with key {V}.",
            "use {V} for staging",
        ),
        "kv": (
            "OPENAI_API_KEY={V}",
            'api_key = "{V}"',
            "Authorization: Bearer {B}",
            "aws_access_key_id={V}",
            "headers: {{'Authorization': 'Bearer {B}'}}",
            "export SERVICE_TOKEN={V}",
        ),
    },
    "URL_TOKEN": {
        "prose": ("the link {U} returns 403", "open {U} to confirm", "I clicked {U}.", "webhook target: {U}"),
        "kv": ("url: {U}", "GET {U} HTTP/1.1", '"callback": "{U}"'),
    },
    "NATIONAL_ID": {
        "prose": (
            "my SSN is {V}",
            "employee social security number {V} on file",
            "NI number {V}.",
            "national id {V} (scanned copy attached)",
            "her DNI is {V}",
        ),
        "kv": ("ssn: {V}", '"national_id": "{V}"', "nino={V}", "tax_id = {V}"),
    },
}

_VALUE: dict[str, Callable[[random.Random], str]] = {
    "EMAIL": _email,
    "PHONE": _phone,
    "CARD": _card,
    "IBAN": _iban,
    "IP": _ip,
    "API_KEY": _api_key,
    "NATIONAL_ID": _national_id,
}

# Scenario frames. {P1}/{P2}: PII mentions (None → a negative sentence); other fields are fillers/negatives.
_FRAMES: tuple[tuple[str, str], ...] = (
    ("prose", "Ticket {TICKET} opened {DATE} {TIME}: {FIRST} says order {ORDER} ({AMOUNT}) never arrived; {P1}. {P2}"),
    ("prose", "Invoice {INVOICE} dated {DATE}, total {AMOUNT} incl. VAT {PCT}. {P1}. Reference {ORDER}. {P2}"),
    ("prose", "Hi {FIRST},\n\nthanks for your note about order {ORDER} from {DATE}. {P1}. {P2}\n\nBest,\n{NAME}"),
    (
        "prose",
        "Can you draft a polite reply to {NAME}? {P1}. "
        "They also mention invoice {INVOICE} and a refund of {AMOUNT}. {P2}",
    ),
    (
        "prose",
        "Summarize this thread: {NAME} reported on {DATE} that {P1}; "
        "ops replied that build {VERSION} fixes it ({PCT} rollout). {P2}",
    ),
    (
        "prose",
        "Getting errors from {PRODUCT} {VERSION} since commit {HASH}: "
        "{PCT} of requests fail after {DURATION}. {P1}. {P2}",
    ),
    ("prose", 'Translate to German: "Dear {NAME}, your order {ORDER} of {DATE} is delayed; {P1}." {P2}'),
    ("prose", "Classify the urgency of: '{P1}. It has been {QTY} days since ticket {TICKET}.' {P2}"),
    (
        "kv",
        "```yaml\n# {PRODUCT} {VERSION}, generated {DATE}\nregion: eu-west-1\n{P1}\n"
        "max_tokens: {QTY}\ntimeout_ms: {PORT}\n{P2}\n```",
    ),
    ("kv", "{ISODATE}T{TIME}Z ERROR [worker-{QTY}] request {UUID} failed after {DURATION} {P1} {P2}"),
    (
        "kv",
        "Why does this fail?\n```\nDEBUG session={UUID} version={VERSION}\n{P1}\nretry 3/5 in {DURATION}\n{P2}\n```",
    ),
    (
        "kv",
        'Extract the fields as JSON from this record: {{"order": "{ORDER}", "created": "{DATE}", {P1}, '
        '"total": "{AMOUNT}"}} {P2}',
    ),
)


def _mention(rng: random.Random, kind: str, style: str) -> list[tuple[str, str | None]]:
    """One mention of ``kind`` as (text, kind-or-None) pieces."""
    template = rng.choice(_MENTIONS[kind][style])
    pieces: list[tuple[str, str | None]] = []
    for literal, field in _split(template):
        if literal:
            pieces.append((literal, None))
        if field is None:
            continue
        if field == "V":
            pieces.append((_VALUE[kind](rng), kind))
        elif field == "B":
            pieces.append((_bearer_token(rng), "API_KEY"))
        elif field == "U":
            pieces.extend(_url(rng))
        else:
            pieces.append((_filler(rng, field), None))
    return pieces


def _url(rng: random.Random) -> list[tuple[str, str | None]]:
    template = rng.choice(_URLS)
    fill = {
        "d": rng.choice(_DOMAINS),
        "S": _rand(rng, _ALNUM, 10),
        "Q": str(rng.randint(2, 40)),
        "C": rng.choice(_CITIES),
    }
    before, after = template.split("{V}")
    value = f"{rng.getrandbits(256):064x}" if "Signature" in before else _rand(rng, _URLSAFE, rng.randint(16, 40))
    return [(before.format(**fill), None), (value, "URL_TOKEN"), (after.format(**fill), None)]


_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def _split(template: str) -> list[tuple[str, str | None]]:
    """``"a {X} b"`` -> ``[("a ", "X"), (" b", None)]``; ``{{``/``}}`` are literal braces."""
    out: list[tuple[str, str | None]] = []
    literal = []
    pos = 0
    for m in _FIELD.finditer(template):
        literal.append(template[pos : m.start()])
        pos = m.end()
        if m.group(1) is None:
            literal.append(m.group()[0])
            continue
        out.append(("".join(literal), m.group(1)))
        literal = []
    literal.append(template[pos:])
    out.append(("".join(literal), None))
    return out


def _filler(rng: random.Random, field: str) -> str:
    if field in _NEGATIVES:
        return _NEGATIVES[field](rng)
    if field == "NAME":
        return _name(rng)
    if field == "FIRST":
        return rng.choice(_FIRST)
    if field == "PRODUCT":
        return rng.choice(_PRODUCTS)
    if field == "CITY":
        return rng.choice(_CITIES)
    raise KeyError(field)


def _negative_sentence(rng: random.Random) -> list[tuple[str, str | None]]:
    return [("".join(lit + (_filler(rng, f) if f else "") for lit, f in _split(rng.choice(_NEGATIVE_SENTENCES))), None)]


def make_pii_eval_set(*, n_instances: int = 400, seed: int = 0) -> list[LabelledText]:
    """``n_instances`` labelled texts, deterministic for ``seed``.

    About 70% of the texts carry one PII value, 20% two, 10% none (negatives only); kinds are drawn
    round-robin over :data:`~slmprofile.redact.PII_KINDS` (shuffled each round), so 400 texts hold
    about 440 PII values, 55 per kind.
    """
    rng = random.Random(seed)
    queue: list[str] = []

    def next_kind() -> str:
        if not queue:
            queue.extend(rng.sample(PII_KINDS, len(PII_KINDS)))
        return queue.pop()

    samples: list[LabelledText] = []
    for _ in range(n_instances):
        style, frame = rng.choice(_FRAMES)
        u = rng.random()
        n_pii = 0 if u < 0.1 else (2 if u > 0.8 else 1)
        slots: dict[str, list[tuple[str, str | None]]] = {}
        for i, slot in enumerate(("P1", "P2")):
            if i < n_pii:
                slots[slot] = _mention(rng, next_kind(), style)
            elif slot == "P1" or rng.random() < 0.6:
                slots[slot] = _negative_sentence(rng)
            else:
                slots[slot] = []
        text_parts: list[str] = []
        spans: list[tuple[int, int, str]] = []
        pos = 0
        for literal, field in _split(frame):
            pieces: list[tuple[str, str | None]] = [(literal, None)]
            if field in slots:
                pieces += slots[field]
            elif field is not None:
                pieces.append((_filler(rng, field), None))
            for piece, kind in pieces:
                if piece[:1] in ".;," and text_parts and text_parts[-1][-1:] in ".;,":
                    piece = piece[1:]  # no ".." where a mention ends a sentence the frame also ends
                if kind is not None:
                    spans.append((pos, pos + len(piece), kind))
                text_parts.append(piece)
                pos += len(piece)
        samples.append(LabelledText("".join(text_parts).rstrip(), tuple(spans)))
    return samples


# ----------------------------------------------------------------------------------------------------------
# Scoring


def _as_span(pred: Any) -> tuple[int, int, str]:
    if isinstance(pred, tuple):
        return pred[0], pred[1], pred[2]
    return pred.start, pred.end, pred.kind


def score_redaction(samples: Iterable[LabelledText], find: Callable[[str], Iterable[Any]] = find_pii) -> dict[str, Any]:
    """Precision, recall and F1 of a PII finder on labelled samples, overall and per kind.

    ``find(text)`` returns findings with ``start``/``end``/``kind`` (like :class:`~slmprofile.redact.Finding`)
    or ``(start, end, kind)`` tuples. Matching rule: a prediction is a true positive when its span
    **overlaps** a true span of the **same kind** (so boundary differences, e.g. a phone found without its
    ``+``, do not count against it); a true span is recalled when some prediction of its kind overlaps it.
    Precision/recall of a kind with no predictions/no true spans is 1.0.

    Returns ``{"precision", "recall", "f1", "n_true", "n_pred", "per_kind": {kind: {"precision",
    "recall", "n_true", "n_pred"}}, "false_positives", "false_negatives"}``; the last two list up to 50
    ``(kind, text of the span, sample index)`` for inspection.
    """
    n_true: dict[str, int] = {}
    n_found: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_tp: dict[str, int] = {}
    false_pos: list[tuple[str, str, int]] = []
    false_neg: list[tuple[str, str, int]] = []
    for idx, sample in enumerate(samples):
        preds = [_as_span(p) for p in find(sample.text)]
        for ts, te, tk in sample.spans:
            n_true[tk] = n_true.get(tk, 0) + 1
            if any(pk == tk and ps < te and ts < pe for ps, pe, pk in preds):
                n_found[tk] = n_found.get(tk, 0) + 1
            elif len(false_neg) < 50:
                false_neg.append((tk, sample.text[ts:te], idx))
        for ps, pe, pk in preds:
            n_pred[pk] = n_pred.get(pk, 0) + 1
            if any(pk == tk and ps < te and ts < pe for ts, te, tk in sample.spans):
                n_tp[pk] = n_tp.get(pk, 0) + 1
            elif len(false_pos) < 50:
                false_pos.append((pk, sample.text[ps:pe], idx))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    total_true, total_pred = sum(n_true.values()), sum(n_pred.values())
    precision = ratio(sum(n_tp.values()), total_pred)
    recall = ratio(sum(n_found.values()), total_true)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kinds = list(PII_KINDS) + sorted((set(n_true) | set(n_pred)) - set(PII_KINDS))
    per_kind = {
        k: {
            "precision": ratio(n_tp.get(k, 0), n_pred.get(k, 0)),
            "recall": ratio(n_found.get(k, 0), n_true.get(k, 0)),
            "n_true": n_true.get(k, 0),
            "n_pred": n_pred.get(k, 0),
        }
        for k in kinds
    }
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "n_true": total_true,
        "n_pred": total_pred,
        "per_kind": per_kind,
        "false_positives": false_pos,
        "false_negatives": false_neg,
    }


# ==========================================================================================================
# Part two: European languages, written separately from part one (and from the recognizers' patterns)
#
# Chat messages, e-mails and form dumps in German, French, Spanish, Italian, Dutch, Polish and Portuguese.
# Phone numbers in each country's own grouping, with and without the country code; national ids with their
# check characters (Italian codice fiscale, French NIR, German Steuer-ID, Dutch BSN, Polish PESEL, Portuguese
# NIF, Spanish DNI/NIE), named the way people name them; e-mails spelled out to dodge scrapers. Every text
# also carries local-format negatives: prices, dates, times, postcodes, order numbers, sums, years,
# versions and ISBNs.


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _nz(rng: random.Random) -> str:
    return rng.choice("123456789")


def _intl_phone(rng: random.Random, country: str) -> str:
    """A phone number as people in ``country`` write it (prefixes from each national numbering plan)."""
    if country == "ES":
        mobile = rng.choice(("6", "7" + rng.choice("1234")))
        mobile += _d(rng, 9 - len(mobile))
        land = rng.choice(("91", "93", "96", "95", "94")) + _d(rng, 7)
        n = mobile if rng.random() < 0.6 else land
        if n.startswith("9") and rng.random() < 0.5:
            local = f"{n[:2]} {n[2:5]} {n[5:7]} {n[7:]}"
        else:
            local = rng.choice((f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}", f"{n[:3]} {n[3:6]} {n[6:]}"))
        return rng.choice((local, local, f"+34 {local}", f"+34{n}", f"0034 {local}"))
    if country == "IT":
        if rng.random() < 0.7:
            n = "3" + rng.choice(("20", "28", "29", "33", "35", "38", "39", "40", "45", "47", "48", "66")) + _d(rng, 7)
            a, b = n[:3], n[3:]
            local = rng.choice((f"{a} {b}", f"{a} {b[:3]} {b[3:]}", f"{a}-{b}", f"{a} {b[:3]} {b[3:5]} {b[5:]}"))
        else:
            n = rng.choice(("06", "02")) + _d(rng, 8)
            local = f"{n[:2]} {n[2:6]} {n[6:]}"
        return rng.choice((local, local, f"+39 {local}", f"+39 {n}"))
    if country == "PT":
        n = rng.choice(("91", "92", "93", "96")) + _d(rng, 7) if rng.random() < 0.7 else "21" + _d(rng, 7)
        local = f"{n[:3]} {n[3:6]} {n[6:]}" if n[0] == "9" else f"{n[:2]} {n[2:5]} {n[5:]}"
        return rng.choice((local, local, f"+351 {local}", f"00351 {local}"))
    if country == "PL":
        if rng.random() < 0.7:
            n = rng.choice(("50", "51", "53", "57", "60", "66", "69", "72", "79", "88")) + _d(rng, 7)
            local = f"{n[:3]} {n[3:6]} {n[6:]}"
        else:
            n = rng.choice(("22", "12", "61", "71", "58")) + _d(rng, 7)
            local = f"{n[:2]} {n[2:5]} {n[5:7]} {n[7:]}"
        return rng.choice((local, local, f"+48 {local}", f"+48 {n}"))
    if country == "DE":
        if rng.random() < 0.5:
            n = rng.choice(("151", "160", "170", "171", "176", "152")) + _d(rng, 7 + rng.randint(0, 1))
            a, b = n[:3], n[3:]
            return rng.choice((f"0{a} {b}", f"0{a}/{b}", f"+49 {a} {b}", f"+49 (0){a} {b}"))
        n = rng.choice(("30", "40", "89", "221", "69")) + _nz(rng) + _d(rng, rng.randint(5, 6))
        a, b = n[:2], n[2:]
        return rng.choice((f"0{a} {b}", f"(0{a}) {b}", f"+49 {a} {b}", f"0{a}-{b}"))
    if country == "FR":
        n = rng.choice("1234567") + "".join(_d(rng, 2) for _ in range(4))
        pairs = [n[i : i + 2] for i in range(1, 9, 2)]
        return rng.choice(
            (f"0{n[0]} {' '.join(pairs)}", f"0{n[0]}.{'.'.join(pairs)}", f"+33 {n[0]} {' '.join(pairs)}",
             f"+33 (0){n[0]} {' '.join(pairs)}", f"0{n[0]}-{'-'.join(pairs)}")
        )
    if country == "NL":
        if rng.random() < 0.6:
            n = "6" + _nz(rng) + _d(rng, 7)
            b = n[1:]
            return rng.choice((f"06-{b}", f"06 {b}", f"+31 6 {b}", f"06 {b[:2]} {b[2:4]} {b[4:6]} {b[6:]}"))
        n = rng.choice(("20", "10", "70", "30")) + _nz(rng) + _d(rng, 6)
        return rng.choice((f"0{n[:2]} {n[2:5]} {n[5:]}", f"0{n[:2]}-{n[2:]}", f"+31 {n[:2]} {n[2:5]} {n[5:]}"))
    if country == "BE":
        n = "4" + rng.choice("789") + _nz(rng) + _d(rng, 6)
        return rng.choice((f"0{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}", f"+32 {n[:3]} {n[3:5]} {n[5:7]} {n[7:]}"))
    if country == "AT":
        n = rng.choice(("664", "660", "676", "699")) + _d(rng, 7)
        return rng.choice((f"0{n[:3]} {n[3:]}", f"+43 {n[:3]} {n[3:]}", f"0{n[:3]}/{n[3:]}"))
    n = rng.choice(("79", "78", "76", "44")) + _nz(rng) + _d(rng, 6)  # Switzerland
    return rng.choice((f"0{n[:2]} {n[2:5]} {n[5:7]} {n[7:]}", f"+41 {n[:2]} {n[2:5]} {n[5:7]} {n[7:]}"))


_CF_MONTHS = "ABCDEHLMPRST"


def _codice_fiscale(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    body = f"{letters}{_d(rng, 2)}{rng.choice(_CF_MONTHS)}{day:02d}{rng.choice('ABCDEFGHILM')}{_d(rng, 3)}"
    code = body + codice_fiscale_check_char(body)
    return code.lower() if rng.random() < 0.1 else code


def _nir(rng: random.Random) -> tuple[str, bool]:
    """A French NIR and whether it is written spaced."""
    dept = rng.choice(("75", "69", "13", "33", "59", "2A", "2B", "44", "31", "67"))
    body = f"{rng.choice('12')}{_d(rng, 2)}{rng.randint(1, 12):02d}{dept}{_d(rng, 3)}{rng.randint(1, 999):03d}"
    key = nir_key(body)
    spaced = rng.random() < 0.6
    if spaced:
        return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key}", True
    return body + key, False


def _steuer_id(rng: random.Random) -> str:
    while True:
        digits = rng.sample("0123456789", 9)
        digits.insert(rng.randrange(10), rng.choice(digits))
        first10 = "".join(digits)
        if first10[0] != "0":
            break
    n = first10 + steuer_id_check_digit(first10)
    return rng.choice((n, f"{n[:2]} {n[2:5]} {n[5:8]} {n[8:]}"))


def _bsn(rng: random.Random) -> str:
    while True:
        first8 = _nz(rng) + _d(rng, 7)
        check = bsn_check_digit(first8)
        if check is not None:
            n = first8 + check
            return rng.choice((n, n, f"{n[:4]}.{n[4:6]}.{n[6:]}"))


def _pesel(rng: random.Random) -> str:
    year = rng.randint(1940, 2012)
    month = rng.randint(1, 12) + (20 if year >= 2000 else 0)
    first10 = f"{year % 100:02d}{month:02d}{rng.randint(1, 28):02d}{_d(rng, 4)}"
    return first10 + pesel_check_digit(first10)


def _nif_pt(rng: random.Random) -> str:
    first8 = rng.choice("12") + _d(rng, 7)
    return first8 + nif_pt_check_digit(first8)


def _dni_nie(rng: random.Random) -> str:
    if rng.random() < 0.5:
        n = rng.randint(1_000_000, 99_999_999)
        return f"{n:08d}{_DNI_LETTERS[n % 23]}" if rng.random() < 0.7 else f"{n:08d}-{_DNI_LETTERS[n % 23]}"
    prefix = rng.choice("XYZ")
    body = rng.randint(0, 9_999_999)
    return f"{prefix}{body:07d}{_DNI_LETTERS[int(str('XYZ'.index(prefix)) + f'{body:07d}') % 23]}"


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

# (scheme, how it is mentioned): {V} is the id
_INTL_ID_MENTIONS: dict[str, tuple[str, ...]] = {
    "CF": ("il mio codice fiscale è {V}", "C.F. {V}", "codice fiscale: {V}", "intestato a Rossi ({V})", '"cf": "{V}"'),
    "NIR": (
        "mon numéro de sécurité sociale : {V}", "n° de sécu {V}", "NIR {V}", "carte Vitale {V}", '"nir": "{V}"',
    ),
    "NIR_SPACED": ("voici mon numéro {V}", "assuré {V}", "N° {V} (régime général)"),
    "STEUER": (
        "meine Steuer-ID lautet {V}", "Steuer-IdNr.: {V}", "Steueridentifikationsnummer {V}", '"steuer_id": "{V}"',
    ),
    "BSN": ("mijn BSN is {V}", "burgerservicenummer: {V}", "BSN {V}", '"bsn": "{V}"'),
    "PESEL": ("mój PESEL to {V}", "PESEL: {V}", "nr PESEL {V}", '"pesel": "{V}"'),
    "NIF": ("o meu NIF é {V}", "contribuinte n.º {V}", "NIF {V}", '"nif": "{V}"'),
    "DNI": ("mi DNI es el {V}", "NIE {V}", "con documento {V}", '"dni": "{V}"'),
}

# (country of the number, how it is mentioned): with a phone word, without one, and as a form field
_INTL_PHONE_MENTIONS: tuple[tuple[str, str], ...] = (
    ("ES", "llámame al {V}"), ("ES", "mi móvil es {V}"), ("ES", "escríbeme al {V} por la tarde"),
    ("ES", "Contacto: {V}"), ("ES", "Tel. {V}"), ("ES", '"telefono": "{V}"'),
    ("IT", "chiamami al {V}"), ("IT", "cellulare {V}"), ("IT", "mi trovi al {V} dopo le 18"), ("IT", "Recapito: {V}"),
    ("IT", "scrivimi su WhatsApp al {V}"), ("IT", '"cellulare": "{V}"'),
    ("PT", "ligue para o {V}"), ("PT", "telemóvel {V}"), ("PT", "contacto {V}"),
    ("PL", "zadzwoń pod {V}"), ("PL", "tel. kom. {V}"), ("PL", "kontakt: {V}"),
    ("DE", "ruf mich unter {V} an"), ("DE", "Handy: {V}"), ("DE", "erreichbar unter {V}"), ("DE", "Tel.: {V}"),
    ("FR", "appelez-moi au {V}"), ("FR", "mon portable : {V}"), ("FR", "joignable au {V}"), ("FR", "Tél. {V}"),
    ("NL", "bel me op {V}"), ("NL", "mobiel: {V}"), ("NL", "bereikbaar op {V}"),
    ("BE", "GSM {V}"), ("BE", "bel gerust naar {V}"),
    ("AT", "Mobil {V}"), ("AT", "erreichbar unter {V}"),
    ("CH", "Natel {V}"), ("CH", "Telefon {V}"),
)

_OB_PEOPLE = (("hans", "mueller"), ("maria", "rossi"), ("jean", "dupont"), ("ana", "garcia"), ("piet", "jansen"),
              ("jan", "kowalski"), ("joao", "silva"), ("lena", "fischer"), ("luca", "bianchi"), ("sofie", "peeters"))
_OB_DOMAINS = (("firma", "de"), ("gmx", "de"), ("libero", "it"), ("orange", "fr"), ("telefonica", "es"),
               ("ziggo", "nl"), ("wp", "pl"), ("sapo", "pt"), ("example", "com"), ("posteo", "net"), ("web", "de"))


def _obfuscated_email(rng: random.Random) -> str:
    first, last = rng.choice(_OB_PEOPLE)
    host, tld = rng.choice(_OB_DOMAINS)
    style = rng.randrange(8)
    if style == 0:
        return f"{first} dot {last} at {host} dot {tld}"
    if style == 1:
        return f"{first}.{last} [at] {host} [dot] {tld}"
    if style == 2:
        return f"{first}.{last}(at){host}.{tld}"
    if style == 3:
        return f"{first[0]}{last} at {host} dot {tld}"
    if style == 4:
        return f"{first}_{last} (at) {host} (dot) {tld}"
    if style == 5:
        return f"{first.upper()} DOT {last.upper()} AT {host.upper()} DOT {tld.upper()}"
    if style == 6:
        return f"{first}{rng.randint(1, 99)}{{at}}{host}.{tld}"
    return f"{first}.{last} arroba {host} punto {tld}"


_INTL_EMAIL_MENTIONS = (
    "schreib mir an {V}", "écrivez-moi : {V}", "mi correo es {V}", "la mia mail: {V}", "mail naar {V}",
    "mój adres to {V}", "o meu email é {V}", "(e-mail {V})", "Kontakt per Mail {V}", "{V}",
)


def _isbn13(rng: random.Random) -> str:
    group = rng.choice(("3", "88", "84", "2", "90", "83", "972"))
    publisher = _d(rng, 7 - len(group) if len(group) < 3 else 4)
    title = _d(rng, 9 - len(group) - len(publisher))
    body = "978" + group + publisher + title
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    return f"978-{group}-{publisher}-{title}-{check}"


#: Local-format values that are not PII, for the {N_...} fields of the frames below. In these templates
#: ``{3}`` is a 3-digit number (no leading zero), ``{D}``/``{M}``/``{Y}`` a day, month and recent year,
#: ``{h}``/``{m}`` an hour and minute, ``{y}`` a year since 1990.
_INTL_NEGATIVES: dict[str, tuple[str, ...]] = {
    "PRICE": ("{1}.{3},{2} €", "€ {3},{2}", "{3},{2} zł", "CHF {1}'{3}.–", "{2} {3},00 EUR", "R$ {3},{2}"),
    "DATE": ("{D}.{M}.{Y}", "{D}/{M}/{Y}", "{D} de marzo de {Y}", "{D} septembre {Y}", "{Y}-{M}-{D}"),
    "TIME": ("{h}h30", "{h}:{m} Uhr", "ore {h}:{m}", "{h}.{m}"),
    "ORDER": (
        "Bestellnummer {6}-{Y}", "pedido n.º {9}", "ordine n. {9}", "commande n° {10}", "zamówienie nr {6}/{Y}",
        "Rechnung Nr. {Y}-{5}", "encomenda #{9}", "Auftrag {3} {3} {3}", "factura F{Y}-{4}",
    ),
    "SUM": ("{3} + {7}", "{3} × {3} = {6}", "{2} {3} - {2} {3}", "({3} - {2}) * {3}", "{9} / 7"),
    "YEARS": ("{y}, {y} e {y}", "im Jahr {y}", "entre {y} y {Y}"),
    "VERSION": ("v{1}.{2}.{1}", "Version 10.0.{5}", "versão {1}.{1}", "build {Y}.{M}.{D}"),
    "ISBN": ("ISBN {ISBN}",),
    "POSTCODE": ("{5} Berlin", "280{2} Madrid", "00{3} Roma", "{2}-{3} Kraków", "{4} KL Utrecht", "{4}-{3} Lisboa"),
    "COUNT": ("{3} {3} {3} habitants", "{2} {3} {3} visitatori", "{2}.{3}.{3} Einwohner", "{2},{1} %"),
}
_NEG_FIELD = re.compile(r"\{(\w+)\}")


def _intl_negative(rng: random.Random, kind: str) -> str:
    def fill(m: re.Match[str]) -> str:
        f = m.group(1)
        if f.isdigit():
            return _nz(rng) + _d(rng, int(f) - 1)
        return {
            "D": lambda: f"{rng.randint(1, 28):02d}",
            "M": lambda: f"{rng.randint(1, 12):02d}",
            "Y": lambda: str(rng.randint(2019, 2025)),
            "y": lambda: str(rng.randint(1990, 2024)),
            "h": lambda: str(rng.randint(8, 20)),
            "m": lambda: f"{rng.randint(0, 59):02d}",
            "ISBN": lambda: _isbn13(rng),
        }[f]()

    return _NEG_FIELD.sub(fill, rng.choice(_INTL_NEGATIVES[kind]))


# Frames: {P1}/{P2} are PII mentions (or nothing), {N_KIND} a negative of _INTL_NEGATIVES, {NAME} a name.
_INTL_FRAMES: tuple[str, ...] = (
    "Hallo zusammen, hier {NAME}. Meine {N_ORDER} vom {N_DATE} ({N_PRICE}) ist nicht angekommen. {P1}. {P2} Danke!",
    "Bonjour, je vous écris au sujet de la {N_ORDER} du {N_DATE}, livraison prévue à {N_TIME}. {P1}. {P2}\n"
    "Cordialement,\n{NAME}",
    "Buenas tardes: el {N_ORDER} por {N_PRICE} sigue sin llegar a {N_POSTCODE}. {P1}. {P2}",
    "Salve, riguardo all'{N_ORDER} del {N_DATE} alle {N_TIME}: {P1}. Grazie, {NAME}. {P2}",
    "Goedemiddag, mijn pakket ({N_ORDER}) voor {N_POSTCODE} is zoek. {P1}. {P2}",
    "Dzień dobry, {N_ORDER} na kwotę {N_PRICE} nie dotarło. {P1}. {P2} Pozdrawiam, {NAME}",
    "Olá! A {N_ORDER} de {N_DATE} ficou em {N_PRICE}. {P1}. {P2}",
    "Übersetze ins Englische: „{P1}. Die Lieferung nach {N_POSTCODE} kostet {N_PRICE}.“ {P2}",
    "Fasse zusammen: Kunde {NAME} meldet am {N_DATE}, dass {N_VERSION} abstürzt; {P1}. {P2}",
    "Rechne bitte {N_SUM} aus und erkläre den Weg. {P1}",
    "Calcola {N_SUM} e poi {N_SUM}. {P1}; {P2}",
    "¿Cuánto es {N_SUM}? Lo necesito para el informe de {N_YEARS}. {P1}",
    "La ville compte {N_COUNT} ; le rapport ({N_ISBN}) date de {N_YEARS}. {P1}. {P2}",
    "Résume ce livre ({N_ISBN}, édition {N_YEARS}). {P1}",
    'Extrahiere JSON: {{"kunde": "{NAME}", {P1}, "plz": "{N_POSTCODE}", "betrag": "{N_PRICE}"}} {P2}',
    'Converti in CSV: {{"nome": "{NAME}", "ordine": "{N_ORDER}", {P1}, "data": "{N_DATE}"}} {P2}',
    "[{N_DATE} {N_TIME}] agent: {P1} | client: ok, {N_ORDER} | agent: {P2}",
    "Stan na {N_DATE}: {N_COUNT}, wzrost o {N_COUNT}. {P1}. {P2}",
)

_INTL_KINDS = ("PHONE", "NATIONAL_ID", "EMAIL")


def _intl_value(rng: random.Random, kind: str, kv: bool) -> tuple[str, str]:
    """(mention template, value) for ``kind``; ``kv`` picks the form-field templates (those with quotes)."""
    if kind == "PHONE":
        choices = [m for m in _INTL_PHONE_MENTIONS if m[1].startswith('"') == kv] or list(_INTL_PHONE_MENTIONS)
        country, template = rng.choice(choices)
        return template, _intl_phone(rng, country)
    if kind == "NATIONAL_ID":
        scheme = rng.choice(("CF", "NIR", "STEUER", "BSN", "PESEL", "NIF", "DNI"))
        if scheme == "NIR":
            value, spaced = _nir(rng)
            scheme = "NIR_SPACED" if spaced and rng.random() < 0.5 else "NIR"
        else:
            value = {"CF": _codice_fiscale, "STEUER": _steuer_id, "BSN": _bsn, "PESEL": _pesel, "NIF": _nif_pt,
                     "DNI": _dni_nie}[scheme](rng)
        choices = [t for t in _INTL_ID_MENTIONS[scheme] if t.startswith('"') == kv] or list(_INTL_ID_MENTIONS[scheme])
        return rng.choice(choices), value
    value = _obfuscated_email(rng) if rng.random() < 0.8 else _email(rng)
    if kv:
        return '"email": "{V}"', value
    return rng.choice(_INTL_EMAIL_MENTIONS), value


def make_pii_eval_set_intl(*, n_instances: int = 300, seed: int = 0) -> list[LabelledText]:
    """Part two of the evaluation set: ``n_instances`` labelled texts in seven European languages.

    About 75% of the texts carry one or two values of PHONE, NATIONAL_ID or EMAIL (round-robin), the rest
    only the negatives every frame holds (prices, dates, order numbers, sums, counts, ISBNs, ...).
    Deterministic for ``seed``.
    """
    rng = random.Random(seed)
    queue: list[str] = []
    samples: list[LabelledText] = []
    for _ in range(n_instances):
        frame = rng.choice(_INTL_FRAMES)
        kv = frame.startswith(("Extrahiere JSON", "Converti in CSV"))
        u = rng.random()
        n_pii = 0 if u < 0.25 else (2 if u > 0.75 else 1)
        pieces: list[tuple[str, str | None]] = []
        slot = 0
        for literal, field in _split(frame):
            pieces.append((literal, None))
            if field is None:
                continue
            if field in ("P1", "P2"):
                slot += 1
                if slot > n_pii:
                    if kv:  # keep the JSON well formed
                        pieces.append(('"note": "-"', None))
                    continue
                if not queue:
                    queue.extend(rng.sample(_INTL_KINDS, len(_INTL_KINDS)))
                kind = queue.pop()
                template, value = _intl_value(rng, kind, kv)
                before, after = template.split("{V}")
                pieces += [(before, None), (value, kind), (after, None)]
            elif field.startswith("N_"):
                pieces.append((_intl_negative(rng, field[2:]), None))
            elif field == "NAME":
                pieces.append((_name(rng), None))
            else:
                raise KeyError(field)
        text_parts: list[str] = []
        spans: list[tuple[int, int, str]] = []
        pos = 0
        for piece, kind in pieces:
            if kind is not None:
                spans.append((pos, pos + len(piece), kind))
            text_parts.append(piece)
            pos += len(piece)
        samples.append(LabelledText("".join(text_parts).rstrip(), tuple(spans)))
    return samples
