"""Tests for slmprofile.checksums (Luhn and ISO 13616 IBAN mod-97)."""

from __future__ import annotations

import random

import pytest

from slmprofile.checksums import IBAN_LENGTHS, iban_check_digits, iban_ok, luhn_check_digit, luhn_ok
from slmprofile.redact import iban_ok as redact_iban_ok


@pytest.mark.parametrize("number", ["4111111111111111", "5500000000000004", "378282246310005", "79927398713"])
def test_luhn_valid(number: str) -> None:
    assert luhn_ok(number)


@pytest.mark.parametrize("number", ["4111111111111112", "5500000000000005", "378282246310006", "79927398710"])
def test_luhn_invalid(number: str) -> None:
    assert not luhn_ok(number)


def test_luhn_check_digit_known() -> None:
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_check_digit("") == "0"


def test_luhn_round_trip() -> None:
    rng = random.Random(1234)
    for _ in range(500):
        payload = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22)))
        check = luhn_check_digit(payload)
        assert len(check) == 1 and check.isdigit()
        assert luhn_ok(payload + check)
        wrong = str((int(check) + rng.randint(1, 9)) % 10)
        assert not luhn_ok(payload + wrong)


@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "gb82 west 1234 5698 7654 32",
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91 ABNA 0417 1643 00",
    ],
)
def test_iban_valid(iban: str) -> None:
    assert iban_ok(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "GB83 WEST 1234 5698 7654 32",  # wrong check digits
        "GB82 WEST 1234 5698 7654 33",  # altered BBAN
        "DE89 3704 0044 0532 0130 0",  # wrong length for DE
        "XX82 WEST 1234 5698 7654 32",  # unknown country
        "GBAB WEST 1234 5698 7654 32",  # non-digit check digits
        "GB82-WEST-1234-5698-7654-32",  # separators other than spaces
        "",
    ],
)
def test_iban_invalid(iban: str) -> None:
    assert not iban_ok(iban)


def test_iban_check_digits_known() -> None:
    assert iban_check_digits("GB", "WEST12345698765432") == "82"
    assert iban_check_digits("DE", "370400440532013000") == "89"


def test_iban_round_trip() -> None:
    rng = random.Random(97)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for _ in range(300):
        country = rng.choice(sorted(IBAN_LENGTHS))
        bban = "".join(rng.choice(alnum) for _ in range(IBAN_LENGTHS[country] - 4))
        check = iban_check_digits(country, bban)
        assert len(check) == 2 and check.isdigit() and 2 <= int(check) <= 98
        assert iban_ok(country + check + bban)
        assert not iban_ok(country + f"{(int(check) + 1) % 100:02d}" + bban)


def test_redact_reexports_iban_ok() -> None:
    assert redact_iban_ok is iban_ok
