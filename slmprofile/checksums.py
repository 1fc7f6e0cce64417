"""Check-digit schemes used by the PII recognizers and the synthetic-data generators.

``luhn_ok`` / ``luhn_check_digit``
    The Luhn (mod-10) check used by payment card numbers and Canadian SINs.
``iban_ok`` / ``iban_check_digits``
    The ISO 13616 / ISO 7064 mod-97 check of an IBAN, plus the per-country length table.
``codice_fiscale_ok`` / ``codice_fiscale_check_char``
    The check letter of an Italian tax code (odd/even position tables, sum mod 26).
``nir_ok`` / ``nir_key``
    The two-digit key of a French social-security number (NIR/INSEE): ``97 - n % 97``, Corsica's 2A/2B as 19/18.
``steuer_id_ok`` / ``steuer_id_check_digit``
    The German tax identification number (Steuer-ID): ISO 7064 MOD 11,10 plus the digit-repetition rule.
``bsn_ok`` / ``bsn_check_digit``
    The Dutch citizen service number (BSN): the "11-test" (weights 9..2 and -1).
``pesel_ok`` / ``pesel_check_digit``
    The Polish PESEL: weights 1-3-7-9, and a real birth date (the month encodes the century).
``nif_pt_ok`` / ``nif_pt_check_digit``
    The Portuguese tax number (NIF): weights 9..2, mod 11.

Stdlib only; no I/O.
"""

from __future__ import annotations

import calendar
import re

__all__ = [
    "IBAN_LENGTHS",
    "bsn_check_digit",
    "bsn_ok",
    "codice_fiscale_check_char",
    "codice_fiscale_ok",
    "iban_check_digits",
    "iban_ok",
    "luhn_check_digit",
    "luhn_ok",
    "nif_pt_check_digit",
    "nif_pt_ok",
    "nir_key",
    "nir_ok",
    "pesel_check_digit",
    "pesel_ok",
    "steuer_id_check_digit",
    "steuer_id_ok",
]

#: IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS: dict[str, int] = dict(
    (cc, int(n))
    for cc, n in (
        item.split(":")
        for item in (
            "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BR:29 BY:28 CH:21 CR:22 CY:28 CZ:24 "
            "DE:22 DK:18 DO:28 EE:20 EG:29 ES:24 FI:18 FO:18 FR:27 GB:22 GE:22 GI:23 GL:18 GR:27 GT:28 "
            "HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 IT:27 JO:30 KW:30 KZ:20 LB:28 LC:32 LI:21 LT:20 LU:20 "
            "LV:21 MC:27 MD:24 ME:22 MK:19 MR:27 MT:31 MU:30 NL:18 NO:15 PK:24 PL:28 PS:29 PT:25 QA:29 "
            "RO:24 RS:22 SA:24 SC:31 SE:24 SI:19 SK:24 SM:27 ST:25 SV:28 TL:23 TN:24 TR:26 UA:29 VA:22 "
            "VG:24 XK:20"
        ).split()
    )
)


def _luhn_sum(digits: str, double_even: bool) -> int:
    """Luhn digit sum, counting positions from the right (0-based); doubles the even or the odd ones."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if (i % 2 == 0) == double_even:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def luhn_ok(digits: str) -> bool:
    """True if the digit string (check digit last, no separators) passes the Luhn check."""
    return _luhn_sum(digits, double_even=False) % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The Luhn check digit to append to the digit string ``payload``."""
    return str((10 - _luhn_sum(payload, double_even=True) % 10) % 10)


def _mod97(s: str) -> int:
    """``s`` with letters as 10..35 (A=10), read as one integer, mod 97."""
    return int("".join(str(int(ch, 36)) for ch in s)) % 97


def iban_ok(iban: str) -> bool:
    """ISO 13616 check: the country's length and ``int(bban + country + check digits) % 97 == 1``.

    Spaces are ignored and letters may be in either case.
    """
    s = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum():
        return False
    return _mod97(s[4:] + s[:4]) == 1


def iban_check_digits(country: str, bban: str) -> str:
    """The two IBAN check digits for ``country`` (2 upper-case letters) and ``bban`` (upper-case alnum)."""
    return f"{98 - _mod97(bban + country + '00'):02d}"


# --------------------------------------------------------------------------------------------------
# National identification numbers. Each ``*_ok`` takes the value without separators (spaces, dots and
# dashes are ignored where the format has them) and never raises on malformed input: it returns False.

_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
)))
_CF_SHAPE = re.compile(r"[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]")


def _cf_even(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A")


def codice_fiscale_check_char(first15: str) -> str:
    """The check letter of an Italian codice fiscale from its first 15 characters (upper case).

    Characters at odd positions (1st, 3rd, ...) go through a fixed table, those at even positions count
    ``0-9`` / ``A-Z`` as 0-9 / 0-25; the sum mod 26 is the letter.
    """
    total = sum(_CF_ODD[ch] if i % 2 == 0 else _cf_even(ch) for i, ch in enumerate(first15))
    return chr(ord("A") + total % 26)


def codice_fiscale_ok(code: str) -> bool:
    """True for a 16-character Italian tax code of the right shape (omocodia letters allowed) whose check
    letter matches; case-insensitive."""
    s = code.upper()
    return bool(_CF_SHAPE.fullmatch(s)) and codice_fiscale_check_char(s[:15]) == s[15]


def _nir_number(first13: str) -> int:
    """The NIR's first 13 characters as an integer, Corsica's departments 2A/2B counted as 19/18."""
    s = first13.upper()
    if s[5:7] == "2A":
        return int(s[:5] + "19" + s[7:])
    if s[5:7] == "2B":
        return int(s[:5] + "18" + s[7:])
    return int(s)


def nir_key(first13: str) -> str:
    """The two-digit key of a French NIR (numéro de sécurité sociale) from its first 13 characters."""
    return f"{97 - _nir_number(first13) % 97:02d}"


def nir_ok(nir: str) -> bool:
    """True for a 15-character NIR: sex 1/2, birth year, month 01-12 or 20-42/50-99 (unknown), department
    (digits, 2A or 2B), commune, order number and a matching key."""
    s = re.sub(r"[ .]", "", nir).upper()
    if not re.fullmatch(r"[12]\d{4}(?:\d\d|2[AB])\d{8}", s):
        return False
    month = int(s[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return nir_key(s[:13]) == s[13:]


def steuer_id_check_digit(first10: str) -> str:
    """The check digit of a German Steuer-ID (ISO 7064 MOD 11,10) from its first 10 digits."""
    product = 10
    for ch in first10:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    return str((11 - product) % 10)


def steuer_id_ok(number: str) -> bool:
    """True for an 11-digit German tax id: no leading 0, in the first 10 digits exactly one digit repeated
    (twice, or three times but not three in a row) and every other digit at most once, and a matching
    check digit."""
    s = re.sub(r"[ /]", "", number)
    if not (len(s) == 11 and s.isdigit()) or s[0] == "0":
        return False
    counts = sorted((s[:10].count(d) for d in set(s[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] != 1):
        return False
    if counts[0] == 3 and any(s[i] == s[i + 1] == s[i + 2] for i in range(8)):
        return False
    return steuer_id_check_digit(s[:10]) == s[10]


_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def bsn_check_digit(first8: str) -> str | None:
    """The last digit that makes ``first8`` a valid Dutch BSN, or None when no digit does (the sum needs 10)."""
    d = sum(w * int(c) for w, c in zip(_BSN_WEIGHTS, first8, strict=True)) % 11
    return str(d) if d < 10 else None


def bsn_ok(number: str) -> bool:
    """True for a 9-digit Dutch BSN (dots allowed, as in ``1112.22.333``) passing the 11-test:
    ``9*d1 + 8*d2 + ... + 2*d8 - d9`` divisible by 11, and not all zeros."""
    s = number.replace(".", "").replace(" ", "")
    if not (len(s) == 9 and s.isdigit()) or s == "000000000":
        return False
    return bsn_check_digit(s[:8]) == s[8]


_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_PESEL_CENTURY = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}


def pesel_check_digit(first10: str) -> str:
    """The check digit of a Polish PESEL from its first 10 digits."""
    return str((10 - sum(w * int(c) for w, c in zip(_PESEL_WEIGHTS, first10, strict=True)) % 10) % 10)


def pesel_ok(number: str) -> bool:
    """True for an 11-digit PESEL whose first six digits are a real date (YYMMDD, month + 20/40/60/80 for
    the 2000s/2100s/2200s/1800s) and whose check digit matches."""
    if not (len(number) == 11 and number.isdigit()):
        return False
    yy, mm, dd = int(number[:2]), int(number[2:4]), int(number[4:6])
    offset = mm - (mm - 1) % 20 - 1 if mm else -1
    if offset not in _PESEL_CENTURY or not 1 <= mm - offset <= 12:
        return False
    year, month = _PESEL_CENTURY[offset] + yy, mm - offset
    if not 1 <= dd <= calendar.monthrange(year, month)[1]:
        return False
    return pesel_check_digit(number[:10]) == number[10]


def nif_pt_check_digit(first8: str) -> str:
    """The check digit of a Portuguese NIF from its first 8 digits (weights 9..2; 11 - sum mod 11, 10+ -> 0)."""
    r = 11 - sum(w * int(c) for w, c in zip(_BSN_WEIGHTS, first8, strict=True)) % 11
    return str(r if r < 10 else 0)


def nif_pt_ok(number: str) -> bool:
    """True for a 9-digit Portuguese NIF starting 1-3, 5, 6, 8 or 9 with a matching check digit."""
    s = number.replace(" ", "")
    return len(s) == 9 and s.isdigit() and s[0] in "1235689" and nif_pt_check_digit(s[:8]) == s[8]
