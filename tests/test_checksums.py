"""Tests for slmprofile.checksums (Luhn, ISO 13616 IBAN mod-97, national id check characters)."""

from __future__ import annotations

import random

import pytest

from slmprofile.checksums import (
    IBAN_LENGTHS,
    bsn_check_digit,
    bsn_ok,
    codice_fiscale_check_char,
    codice_fiscale_ok,
    iban_check_digits,
    iban_ok,
    luhn_check_digit,
    luhn_ok,
    nif_pt_check_digit,
    nif_pt_ok,
    nir_key,
    nir_ok,
    pesel_check_digit,
    pesel_ok,
    steuer_id_check_digit,
    steuer_id_ok,
)
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


# --------------------------------------------------------------------------------------------------------------
# National identification numbers: published examples, corrupted ones, and generated round trips


def test_national_id_published_examples() -> None:
    assert codice_fiscale_ok("RSSMRA85T10A562S")  # the Agenzia delle Entrate's "Mario Rossi"
    assert codice_fiscale_ok("rssmra85t10a562s")
    assert nir_ok("2 55 08 14 168 025 38") and nir_ok("255081416802538")  # the INSEE's example
    assert steuer_id_ok("86095742719")  # the Bundeszentralamt's example
    assert bsn_ok("111222333") and bsn_ok("1112.22.333")
    assert pesel_ok("44051401359")
    assert nif_pt_ok("123456789")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (codice_fiscale_ok, "RSSMRA85T10A562T"),  # wrong check letter
        (codice_fiscale_ok, "RSSMRA85X10A562S"),  # no month X
        (codice_fiscale_ok, "RSSMRA85T10A562"),  # too short
        (nir_ok, "255081416802539"),  # wrong key
        (nir_ok, "355081416802538"),  # sex digit 3
        (nir_ok, "2 55 13 14 168 025 38"),  # month 13
        (steuer_id_ok, "86095742710"),  # wrong check digit
        (steuer_id_ok, "06095742719"),  # leading zero
        (steuer_id_ok, "12345678903"),  # no digit repeated: not a Steuer-ID whatever the check digit
        (bsn_ok, "111222334"),
        (bsn_ok, "000000000"),
        (pesel_ok, "44051401358"),  # wrong check digit
        (pesel_ok, "44133101359"),  # month 13 of 1944
        (pesel_ok, "44023001350"),  # 30 February
        (nif_pt_ok, "123456780"),
        (nif_pt_ok, "423456789"),  # no NIF starts with 4
    ],
)
def test_national_id_invalid(check, value: str) -> None:
    assert not check(value)


def test_national_id_round_trips() -> None:
    rng = random.Random(2024)
    upper, digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
    for _ in range(300):
        body = "".join(rng.choice(upper) for _ in range(6)) + f"{rng.randint(0, 99):02d}{rng.choice('ABCDEHLMPRST')}"
        body += f"{rng.randint(1, 71):02d}{rng.choice(upper)}{rng.randint(0, 999):03d}"
        check = codice_fiscale_check_char(body)
        assert codice_fiscale_ok(body + check)
        assert not codice_fiscale_ok(body + chr((ord(check) - 65 + rng.randint(1, 25)) % 26 + 65))

        nir13 = f"{rng.choice('12')}{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}"
        nir13 += rng.choice(("75", "2A", "2B", "69")) + "".join(rng.choice(digits) for _ in range(6))
        key = nir_key(nir13)
        assert nir_ok(nir13 + key)
        assert not nir_ok(nir13 + f"{(int(key) + rng.randint(1, 96)) % 97:02d}")

        first10 = f"{rng.randint(0, 99):02d}{rng.randint(1, 12) + rng.choice((0, 20)):02d}{rng.randint(1, 28):02d}"
        first10 += "".join(rng.choice(digits) for _ in range(4))
        check = pesel_check_digit(first10)
        assert pesel_ok(first10 + check)
        assert not pesel_ok(first10 + str((int(check) + rng.randint(1, 9)) % 10))

        first8 = "".join(rng.choice(digits) for _ in range(8))
        bsn_check = bsn_check_digit(first8)
        if bsn_check is not None and first8 != "00000000":
            assert bsn_ok(first8 + bsn_check)
        assert sum(bsn_ok(first8 + d) for d in digits) == (0 if bsn_check is None or first8 == "00000000" else 1)
        nif8 = rng.choice("1235689") + first8[1:]
        assert nif_pt_ok(nif8 + nif_pt_check_digit(nif8))
        assert sum(nif_pt_ok(nif8 + d) for d in digits) == 1

    for _ in range(300):
        picked = rng.sample(digits, 9)
        picked.insert(rng.randrange(10), rng.choice(picked))
        first10 = "".join(picked)
        if first10[0] == "0" or any(first10[i] == first10[i + 1] == first10[i + 2] for i in range(8)):
            continue
        check = steuer_id_check_digit(first10)
        assert steuer_id_ok(first10 + check)
        assert not steuer_id_ok(first10 + str((int(check) + rng.randint(1, 9)) % 10))


@pytest.mark.parametrize(
    ("first6", "valid"),
    [
        ("020229", False),  # 29 Feb 1902
        ("002229", True),  # 29 Feb 2000 (month + 20: the 2000s)
        ("042229", True),
        ("032229", False),
        ("008229", False),  # month + 80: the 1800s; 1800 was no leap year
        ("968229", True),  # 29 Feb 1896
        ("994101", True),  # 1 Jan 2199 (month + 40)
        ("990001", False),  # month 0
    ],
)
def test_pesel_birth_date_across_centuries(first6: str, valid: bool) -> None:
    first10 = first6 + "1234"
    assert pesel_ok(first10 + pesel_check_digit(first10)) == valid
