"""Random PII values and hard negatives for the evaluation set, each as it appears in a text.

PII values pass their checks (Luhn, mod-97, SSN areas, NI prefixes, DNI letters); the hard negatives look
like numbers or ids but must be left alone (broken checksums, EANs, dates, versions, hashes, ...).
:data:`PII_VALUES` and :data:`NEGATIVES` map a kind or filler field to its generator.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

from ..checksums import iban_check_digits, luhn_check_digit
from .generate_data import CITIES, DOMAINS, FIRST_NAMES, LAST_NAMES, URL_TEMPLATES

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


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _ascii(s: str) -> str:
    table = str.maketrans("éüíáóç'", "euiaoc-")
    return s.translate(table).replace(" ", "")


def email_address(rng: random.Random) -> str:
    first, last = _ascii(rng.choice(FIRST_NAMES)).lower(), _ascii(rng.choice(LAST_NAMES)).lower()
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
    email = f"{local}@{rng.choice(DOMAINS)}"
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
    payload = b64({"sub": _digits(rng, 8), "name": person_name(rng), "iat": rng.randint(1_600_000_000, 1_750_000_000)})
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


def bearer_token(rng: random.Random) -> str:
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


NEGATIVES: dict[str, Callable[[random.Random], str]] = {
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

PII_VALUES: dict[str, Callable[[random.Random], str]] = {
    "EMAIL": email_address,
    "PHONE": _phone,
    "CARD": _card,
    "IBAN": _iban,
    "IP": _ip,
    "API_KEY": _api_key,
    "NATIONAL_ID": _national_id,
}


def url_with_token(rng: random.Random) -> list[tuple[str, str | None]]:
    """A URL with a secret in a query parameter, as (text, kind-or-None) pieces; the secret is the URL_TOKEN."""
    template = rng.choice(URL_TEMPLATES)
    fill = {
        "d": rng.choice(DOMAINS),
        "S": _rand(rng, _ALNUM, 10),
        "Q": str(rng.randint(2, 40)),
        "C": rng.choice(CITIES),
    }
    before, after = template.split("{V}")
    value = f"{rng.getrandbits(256):064x}" if "Signature" in before else _rand(rng, _URLSAFE, rng.randint(16, 40))
    return [(before.format(**fill), None), (value, "URL_TOKEN"), (after.format(**fill), None)]
