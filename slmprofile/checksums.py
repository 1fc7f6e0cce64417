"""Check-digit schemes used by the PII recognizers and the synthetic-data generators.

``luhn_ok`` / ``luhn_check_digit``
    The Luhn (mod-10) check used by payment card numbers and Canadian SINs.
``iban_ok`` / ``iban_check_digits``
    The ISO 13616 / ISO 7064 mod-97 check of an IBAN, plus the per-country length table.

Stdlib only; no I/O.
"""

from __future__ import annotations

__all__ = ["IBAN_LENGTHS", "iban_check_digits", "iban_ok", "luhn_check_digit", "luhn_ok"]

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
