"""Part two: European languages, written separately from part one (and from the recognizers' patterns)

Chat messages, e-mails and form dumps in German, French, Spanish, Italian, Dutch, Polish and Portuguese.
Phone numbers in each country's own grouping, with and without the country code; national ids with their
check characters (Italian codice fiscale, French NIR, German Steuer-ID, Dutch BSN, Polish PESEL, Portuguese
NIF, Spanish DNI/NIE), named the way people name them; e-mails spelled out to dodge scrapers. Every text
also carries local-format negatives: prices, dates, times, postcodes, order numbers, sums, years,
versions and ISBNs.
"""

from __future__ import annotations

import random
import re
import string

from ..checksums import (
    bsn_check_digit,
    codice_fiscale_check_char,
    nif_pt_check_digit,
    nir_key,
    pesel_check_digit,
    steuer_id_check_digit,
)
from .generate import LabelledText, split_template
from .values import email_address, person_name


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
    value = _obfuscated_email(rng) if rng.random() < 0.8 else email_address(rng)
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
        for literal, field in split_template(frame):
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
                pieces.append((person_name(rng), None))
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
