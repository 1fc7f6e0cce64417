"""PII redaction: the generated evaluation set, hand-written sentences, and the API's contracts."""

from __future__ import annotations

import collections
import itertools
import json

import pytest

from slmprofile.pii_eval import LabelledText, make_pii_eval_set, make_pii_eval_set_intl, score_redaction
from slmprofile.redact import PII_KINDS, Finding, find_pii, redact, redact_frame, redact_many


def kinds_found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_pii(text)]


# --------------------------------------------------------------------------------------------------------------
# Generated evaluation set


@pytest.mark.parametrize("seed", [0, 7])
def test_eval_set_precision_recall(seed: int) -> None:
    samples = make_pii_eval_set(n_instances=400, seed=seed)
    assert len(samples) == 400
    n_true = sum(len(s.spans) for s in samples)
    assert n_true >= 300
    by_kind = collections.Counter(k for s in samples for _, _, k in s.spans)
    assert set(by_kind) == set(PII_KINDS)
    assert min(by_kind.values()) >= 0.6 * max(by_kind.values())  # roughly even coverage

    scores = score_redaction(samples)
    assert scores["n_true"] == n_true
    assert scores["recall"] >= 0.95, scores["false_negatives"]
    assert scores["precision"] >= 0.95, scores["false_positives"]
    for kind in PII_KINDS:
        assert scores["per_kind"][kind]["recall"] >= 0.9, (kind, scores["false_negatives"])


def test_eval_set_is_deterministic_and_labels_are_consistent() -> None:
    a = make_pii_eval_set(n_instances=60, seed=3)
    assert a == make_pii_eval_set(n_instances=60, seed=3)
    assert a != make_pii_eval_set(n_instances=60, seed=4)
    for sample in a:
        assert isinstance(sample, LabelledText)
        previous_end = 0
        for start, end, kind in sample.spans:
            assert previous_end <= start < end <= len(sample.text)
            assert kind in PII_KINDS
            assert sample.text[start:end].strip() == sample.text[start:end]
            previous_end = end


def test_eval_set_contains_hard_negatives() -> None:
    text = "\n".join(s.text for s in make_pii_eval_set(n_instances=400, seed=0))
    for marker in ("INV-", "%", "ORD-", "Membership no.", "failed validation", "Trace id", "Barcode"):
        assert marker in text


def test_score_redaction_overlap_rule() -> None:
    sample = LabelledText("call 415-555-0132 now", ((5, 17, "PHONE"),))
    perfect = score_redaction([sample], find=lambda t: [(5, 17, "PHONE")])
    assert perfect["precision"] == perfect["recall"] == 1.0
    partial = score_redaction([sample], find=lambda t: [(9, 17, "PHONE")])  # overlap counts
    assert partial["recall"] == 1.0
    wrong_kind = score_redaction([sample], find=lambda t: [(5, 17, "CARD")])
    assert wrong_kind["recall"] == 0.0 and wrong_kind["precision"] == 0.0
    assert wrong_kind["per_kind"]["CARD"]["n_pred"] == 1


# --------------------------------------------------------------------------------------------------------------
# Hand-written sentences, in a different style from the generator

POSITIVES: list[tuple[str, list[tuple[str, str]]]] = [
    ("yo can u txt me at 212.555.0187 l8r", [("PHONE", "212.555.0187")]),
    ("Büro: +49 (0)30 1234567 | Handy 0171 2345678", [("PHONE", "+49 (0)30 1234567"), ("PHONE", "0171 2345678")]),
    (
        "Mon numéro : 06 12 34 56 78, sinon le standard au 01.23.45.67.89",
        [("PHONE", "06 12 34 56 78"), ("PHONE", "01.23.45.67.89")],
    ),
    (
        "| Alice | alice.w@sub.example.co.uk | +61 2 9876 5432 |",
        [("EMAIL", "alice.w@sub.example.co.uk"), ("PHONE", "+61 2 9876 5432")],
    ),
    (
        "Pay by Mastercard 5500-0000-0000-0004 exp 12/26 or Amex 378282246310005",
        [("CARD", "5500-0000-0000-0004"), ("CARD", "378282246310005")],
    ),
    ("Überweisung bitte an DE89370400440532013000, Verwendungszweck 2024-0815", [("IBAN", "DE89370400440532013000")]),
    (
        "Swiss acct CH93 0076 2011 6238 5295 7; Dutch one NL91ABNA0417164300.",
        [("IBAN", "CH93 0076 2011 6238 5295 7"), ("IBAN", "NL91ABNA0417164300")],
    ),
    (
        "nginx: upstream 172.31.4.19:8080 reset; peer [2001:db8:85a3::8a2e:370:7334]:443 closed",
        [("IP", "172.31.4.19"), ("IP", "2001:db8:85a3::8a2e:370:7334")],
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        [("API_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), ("API_KEY", "AKIAIOSFODNN7EXAMPLE")],
    ),
    (
        'curl https://gw.internal/v1 -H "x-api-key: sk-ant-api03-Zq9vK2mP7xR4tL8wN3bF6hJ1cD5gS0aE"',
        [("API_KEY", "sk-ant-api03-Zq9vK2mP7xR4tL8wN3bF6hJ1cD5gS0aE")],
    ),
    ("SLACK_BOT=xoxb-2048-4096-AbCdEfGhIjKlMnOp1234", [("API_KEY", "xoxb-2048-4096-AbCdEfGhIjKlMnOp1234")]),
    ("redirected to https://idp.example/cb#id_token=abc.def-123_XYZ&state=ok", [("URL_TOKEN", "abc.def-123_XYZ")]),
    (
        "the signed link …/invoice.pdf?Expires=1716&Signature=Zk9vYmFyYmF6cXV4 expired",
        [("URL_TOKEN", "Zk9vYmFyYmF6cXV4")],
    ),
    (
        "W-2 shows SSN 078-05-1120 and spouse 219-09-9999",
        [("NATIONAL_ID", "078-05-1120"), ("NATIONAL_ID", "219-09-9999")],
    ),
    ("NINO QQ? no: it's JG 10 37 59 B", [("NATIONAL_ID", "JG 10 37 59 B")]),
    ("DB_PASSWORD=Tr0ub4dor&3", [("API_KEY", "Tr0ub4dor&3")]),
]

NEGATIVES = [
    "The meeting moved from 2023-11-14 09:30 to 2023-11-15 10:00 (CET).",
    "Revenue grew 12.5% to $1,234,567.89 in FY2024; headcount is 1 204.",
    "pip install numpy==1.26.4 torch==2.3.0+cu121 on python 3.11.7",
    "See RFC 7231 §6.5.1, ISBN 978-3-16-148410-0, DOI 10.1000/182",
    "Coordinates 52.520008, 13.404954 (Berlin)",
    "UPS 1Z999AA10123456784 and USPS 9400 1000 0000 0000 0000 00",
    "ORDER-88231-XL shipped; PO 4500012345; SO# 100023456; ref 2024/05/0012",
    "x = 0.000123456789 and y = 3.14159265358979",
    "git show 3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f; docker run -p 8080:80 nginx:1.25.3",
    "request 550e8400-e29b-41d4-a716-446655440000 traced",
    "In 1999, 2000 and 2001 we sold 1,000,000 units",
    "epoch 1714572727, or 1714572727123 in ms; took 00:01:23.456",
    "MAC 00:1A:2B:3C:4D:5E, std::vector<int>, 12:34:56",
    "Account 123456789 has balance 4 500,00 €; sort code 12-34-56",
    "Windows version 10.0.19045.3803, build 22631.2861",
    "We need 3 of the 415 units in room 555 by 0132 hours.",
    "max_tokens: 1024, temperature: 0.7, top_p=0.95",
    "The password must be at least 12 characters long.",
    "use sk-learn-style-estimators-are-great",
    "Test card 4111 1111 1111 1112 is rejected (Luhn).",
    "IBAN DE89 3704 0044 0532 0130 01 bounced: bad check digits",
    "#48213 INV-2024-00123 2024-05-01 $1,234.56 v2.10.4.1 1.2.3 45%",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES)
def test_hand_written_positives(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_found(text) == expected


@pytest.mark.parametrize("text", NEGATIVES)
def test_hand_written_negatives(text: str) -> None:
    assert kinds_found(text) == []


# --------------------------------------------------------------------------------------------------------------
# Targeted behaviour


def test_luhn_invalid_card_left_alone() -> None:
    assert kinds_found("card 4111 1111 1111 1111") == [("CARD", "4111 1111 1111 1111")]
    for bad in ("4111 1111 1111 1112", "4111111111111112", "5500-0000-0000-0005"):
        assert kinds_found(f"card {bad} please") == []


def test_iban_bad_checksum_left_alone() -> None:
    assert kinds_found("to GB82 WEST 1234 5698 7654 32") == [("IBAN", "GB82 WEST 1234 5698 7654 32")]
    assert kinds_found("to GB83 WEST 1234 5698 7654 32") == []
    assert kinds_found("to NL92 ABNA 0417 1643 00 now") == []  # no PHONE from its "0417 1643 00" either


def test_url_token_keeps_url_and_param_name() -> None:
    out, counts = redact("see https://x.example.com/reset?user=7&token=Zx81kLq0pW2e&lang=de.")
    assert out == "see https://x.example.com/reset?user=7&token=<URL_TOKEN>&lang=de."
    assert counts == {"URL_TOKEN": 1}


def test_bearer_keeps_the_word() -> None:
    out, counts = redact("Authorization: Bearer 9f8e7d6c5b4a39281706aBcDeF")
    assert out == "Authorization: Bearer <API_KEY>"
    assert counts == {"API_KEY": 1}
    assert redact("Bearer tokens are described in RFC 6750")[1] == {}


def test_overlaps_resolved_to_the_specific_kind() -> None:
    # an IBAN is never also a PHONE or CARD, an API key with digits never a PHONE, an e-mail never an IP
    assert kinds_found("IBAN FR14 2004 1010 0505 0001 3M02 606") == [("IBAN", "FR14 2004 1010 0505 0001 3M02 606")]
    assert kinds_found("key=sk-proj-4155550132x0207946095812345") == [
        ("API_KEY", "sk-proj-4155550132x0207946095812345")
    ]
    assert kinds_found("ops@10.0.0.1.example.com") == [("EMAIL", "ops@10.0.0.1.example.com")]
    spans = find_pii("x DE89 3704 0044 0532 0130 00, +44 20 7946 0958 y")
    assert [f.kind for f in spans] == ["IBAN", "PHONE"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_counts_and_placeholders() -> None:
    text = "a@b.com, c@d.org; 415-555-0132; 10.1.2.3 and 10.1.2.4"
    out, counts = redact(text)
    assert out == "<EMAIL>, <EMAIL>; <PHONE>; <IP> and <IP>"
    assert counts == collections.Counter({"EMAIL": 2, "IP": 2, "PHONE": 1})
    only_ip, ip_counts = redact(text, kinds=["IP"])
    assert only_ip == "a@b.com, c@d.org; 415-555-0132; <IP> and <IP>"
    assert ip_counts == {"IP": 2}
    assert redact("nothing here") == ("nothing here", collections.Counter())


def test_find_pii_returns_sorted_findings() -> None:
    text = "ip 8.8.8.8, mail x@y.io"
    found = find_pii(text)
    assert found == [Finding("IP", 3, 10, "8.8.8.8"), Finding("EMAIL", 17, 23, "x@y.io")]
    assert all(text[f.start : f.end] == f.text for f in found)
    assert find_pii("") == []


def test_redact_many_passes_none_through() -> None:
    out, counts = redact_many(["mail x@y.io", None, "", "SSN 123-45-6789"])
    assert out == ["mail <EMAIL>", None, "", "SSN <NATIONAL_ID>"]
    assert counts == {"EMAIL": 1, "NATIONAL_ID": 1}


def test_unknown_kind_raises() -> None:
    with pytest.raises(ValueError, match="EMAIL") as info:
        find_pii("x", kinds=["EMAIL", "PERSON"])
    assert "PERSON" in str(info.value)
    with pytest.raises(ValueError):
        redact("x", kinds=["names"])
    assert redact("x@y.io", kinds="email")[0] == "<EMAIL>"  # one name, any case


def test_redact_frame_strings_and_messages() -> None:
    pl = pytest.importorskip("polars")
    message = pl.Struct({"role": pl.Utf8, "content": pl.Utf8, "name": pl.Utf8})
    df = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "prompt_text": ["call 415-555-0132", None, "fine"],
            "messages": [
                [
                    {"role": "user", "content": "I am x@y.io", "name": None},
                    {"role": "assistant", "content": "noted", "name": "bot"},
                ],
                None,
                [{"role": "user", "content": None, "name": None}],
            ],
        },
        schema={"id": pl.Utf8, "prompt_text": pl.Utf8, "messages": pl.List(message)},
    )
    out, counts = redact_frame(df, ["prompt_text", "messages"])
    assert out.schema == df.schema
    assert out["id"].to_list() == ["a", "b", "c"]
    assert out["prompt_text"].to_list() == ["call <PHONE>", None, "fine"]
    msgs = out["messages"].to_list()
    assert msgs[0][0] == {"role": "user", "content": "I am <EMAIL>", "name": None}
    assert msgs[0][1]["content"] == "noted" and msgs[0][1]["name"] == "bot"
    assert msgs[1] is None and msgs[2][0]["content"] is None
    assert counts == {k: (1 if k in ("PHONE", "EMAIL") else 0) for k in PII_KINDS}
    assert list(counts) == list(PII_KINDS)
    assert df["prompt_text"][0] == "call 415-555-0132"  # the input frame is untouched

    with pytest.raises(ValueError):
        redact_frame(df, ["nope"])
    with pytest.raises(TypeError):
        redact_frame(pl.DataFrame({"n": [1, 2]}), ["n"])


# --------------------------------------------------------------------------------------------------------------
# Part two of the evaluation set: European phone and id formats, obfuscated e-mails (issue 18)

INTL_KINDS = ("PHONE", "NATIONAL_ID", "EMAIL")


@pytest.mark.parametrize("seed", [0, 5])
def test_intl_eval_set_precision_recall(seed: int) -> None:
    samples = make_pii_eval_set_intl(n_instances=400, seed=seed)
    by_kind = collections.Counter(k for s in samples for _, _, k in s.spans)
    assert set(by_kind) == set(INTL_KINDS) and min(by_kind.values()) >= 100
    scores = score_redaction(samples)
    assert scores["recall"] >= 0.95, scores["false_negatives"]
    for kind in INTL_KINDS:
        assert scores["per_kind"][kind]["recall"] >= 0.95, (kind, scores["false_negatives"])
    # every frame is full of prices, dates, order numbers, sums, counts and ISBNs: none of them is redacted
    assert scores["false_positives"] == []
    assert all(find_pii(s.text) == [] for s in samples if not s.spans)


def test_intl_eval_set_is_deterministic_and_varied() -> None:
    a = make_pii_eval_set_intl(n_instances=300, seed=2)
    assert a == make_pii_eval_set_intl(n_instances=300, seed=2)
    assert a != make_pii_eval_set_intl(n_instances=300, seed=3)
    for sample in a:
        previous_end = 0
        for start, end, kind in sample.spans:
            assert previous_end <= start < end <= len(sample.text) and kind in INTL_KINDS
            previous_end = end
    values = [s.text[b:e] for s in a for b, e, k in s.spans]
    text = "\n".join(s.text for s in a)
    # local numbers with and without country codes, several countries' ids, several obfuscations
    assert any(v.startswith("+") for v in values) and sum(v[0].isdigit() for v in values) >= 50
    for marker in ("(at)", "[at]", " dot ", " arroba ", "ISBN 978-", " + ", "habitants", "€", "zł"):
        assert marker in text, marker


# Written by hand, in other styles than the generator: the forms issue 18 found missed, and their neighbours.
POSITIVES_INTL: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Mi móvil: 612 34 56 78, o en la oficina 91 123 45 67.",
        [("PHONE", "612 34 56 78"), ("PHONE", "91 123 45 67")],
    ),
    ("se non rispondo riprova al 347 1234567", [("PHONE", "347 1234567")]),
    ("Numero di cellulare 347-1234567 (solo WhatsApp)", [("PHONE", "347-1234567")]),
    ("Ligue-me: 912 345 678 ou +351 21 123 4567", [("PHONE", "912 345 678"), ("PHONE", "+351 21 123 4567")]),
    ("Proszę dzwonić: 512 345 678 albo 22 123 45 67", [("PHONE", "512 345 678"), ("PHONE", "22 123 45 67")]),
    ("Llámame al 612345678 cuando llegues", [("PHONE", "612345678")]),
    ("Bel me even op 06-12345678 of mail hans dot mueller at firma dot de",
     [("PHONE", "06-12345678"), ("EMAIL", "hans dot mueller at firma dot de")]),
    (
        "ping jo [at] example [dot] com, or jo(at)example.com",
        [("EMAIL", "jo [at] example [dot] com"), ("EMAIL", "jo(at)example.com")],
    ),
    ("write to jo at example dot com if the form fails", [("EMAIL", "jo at example dot com")]),
    ("Intestatario: Mario Rossi, CF RSSMRA85T10A562S", [("NATIONAL_ID", "RSSMRA85T10A562S")]),
    ("Sécu : 2 55 08 14 168 025 38 — mutuelle à jour", [("NATIONAL_ID", "2 55 08 14 168 025 38")]),
    ("Steuer-ID 86 095 742 719 bitte nicht weitergeben", [("NATIONAL_ID", "86 095 742 719")]),
    ("Mijn BSN: 111222333.", [("NATIONAL_ID", "111222333")]),
    ("PESEL 44051401359, dowód w załączniku", [("NATIONAL_ID", "44051401359")]),
    ('{"nif": "123456789", "nome": "João"}', [("NATIONAL_ID", "123456789")]),
    ("Handy +49 171 2345678, Festnetz (030) 1234 5678", [("PHONE", "+49 171 2345678"), ("PHONE", "(030) 1234 5678")]),
]

NEGATIVES_INTL = [
    "Quanto fa 347 + 1234567? E 612 - 34 + 56?",
    "Oblicz 512 * 345 oraz 678 / 3.",
    "Le total est de 1 234,56 € TTC, soit 612 345 678 centimes sur l'année.",
    "La ville comptait 512 345 678 habitants en 2020 ; source ISBN 978-2-07-036822-8.",
    "Bestellnummer 612 345 678 vom 12.03.2024, Lieferung 14:30 Uhr, 1.234,56 €",
    "pedido n.º 612345678 del 3 de marzo de 2024 por 49,90 €",
    "ordine n. 347 1234567 del 05/06/2023, consegna ore 18:45",
    "Versão 10.0.19045 lançada em 2023; ISBN 978-85-359-0277-5",
    "Zakres lat 1999, 2004 i 2011; kod 00-950 Warszawa; 349,00 zł",
    "Steuernummer 21/815/08150 und Artikel 4711-0815",
    "We met at the dot com bubble talk; look at example.com; it's at one point in time",
    "Population 67 390 000; budget 1 234 567 890 EUR; 91 123 jobs",
    "Postleitzahl 10115 Berlin, Tel.-Durchwahl -204, Raum 3.14",
    "Codice articolo ABCDEF12G34H567I non valido",  # codice-fiscale shape, wrong check letter
    "Compact 11-digit ids need their word: 44051401359 and 86095742719 are just numbers here.",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES_INTL)
def test_hand_written_intl_positives(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_found(text) == expected


@pytest.mark.parametrize("text", NEGATIVES_INTL)
def test_hand_written_intl_negatives(text: str) -> None:
    assert kinds_found(text) == []


def test_redact_frame_tool_call_arguments_with_local_numbers() -> None:
    pl = pytest.importorskip("polars")
    message = pl.Struct({"role": pl.Utf8, "content": pl.Utf8, "tool_calls": pl.Utf8})
    arguments = json.dumps({"phone": "612 34 56 78", "cf": "RSSMRA85T10A562S"})
    args = json.dumps([{"function": {"name": "crm_update", "arguments": arguments}}])
    content = "scrivi a maria dot rossi at libero dot it"
    df = pl.DataFrame(
        {"messages": [[{"role": "assistant", "content": content, "tool_calls": args}]]},
        schema={"messages": pl.List(message)},
    )
    out, counts = redact_frame(df, ["messages"])
    msg = out["messages"].to_list()[0][0]
    assert msg["content"] == "scrivi a <EMAIL>"
    assert "612 34 56 78" not in msg["tool_calls"] and "RSSMRA85T10A562S" not in msg["tool_calls"]
    assert "<PHONE>" in msg["tool_calls"] and "<NATIONAL_ID>" in msg["tool_calls"]
    assert counts["EMAIL"] == counts["PHONE"] == counts["NATIONAL_ID"] == 1


def test_no_findings_on_public_sets() -> None:
    """Real prompts (maths, trivia, banking questions) are full of digit groups: not one may be redacted."""
    datasets = pytest.importorskip("slmprofile.datasets")
    if datasets.shared_data_dir() is None:
        pytest.skip("public data sets not found (../shared/data)")
    texts: list[str] = []
    for split in ("train", "val", "test", "oos_train", "oos_val", "oos_test"):
        texts += datasets.load_clinc150(split=split)["text"].to_list()
    for split in ("train", "test"):
        texts += datasets.load_banking77(split=split)["text"].to_list()
    texts += datasets.load_routellm()["text"].to_list() + datasets.load_mt_bench()["text"].to_list()
    assert len(texts) > 40_000
    found = [(f.kind, f.text) for t in texts for f in find_pii(t)]
    assert found == []


def test_the_cheap_gates_never_change_a_finding(monkeypatch) -> None:
    """Recognizers skipped on a text without a digit, and key patterns skipped on a text without their literal
    prefix, must find exactly what running every recognizer finds: on the seeded sets, the sample's prompts and
    responses, and each of those texts with its digits removed."""
    from pathlib import Path

    import slmprofile.redact.patterns as patterns
    import slmprofile.redact.text as text_mod
    from slmprofile.ingest import ingest

    texts = [t.text for seed in (0, 1) for t in make_pii_eval_set(seed=seed) + make_pii_eval_set_intl(seed=seed)]
    frame = ingest([Path(__file__).resolve().parents[1] / "data" / "logs"]).frame
    texts += [t for c in ("prompt_text", "response_text") for t in frame[c].to_list() if t][:1500]
    texts += ["".join(c for c in t if not c.isdigit()) for t in texts[:800]]
    gated = [find_pii(t) for t in texts]
    assert sum(map(len, gated)) > 500
    monkeypatch.setattr(text_mod, "_NEED_DIGITS", frozenset())
    monkeypatch.setattr(patterns, "_KEY_PATTERNS", tuple((p, mixed, ("",)) for p, mixed, _ in patterns._KEY_PATTERNS))
    assert [find_pii(t) for t in texts] == gated


def _variants(texts: list[str]) -> list[str]:
    """Each text as written, and shapes a trigger could miss if it were too narrow: digits gone, case swapped,
    spaces as tabs, no-break spaces or the separators Python counts as whitespace (\\x1c-\\x1f)."""
    out = list(texts)
    for i, t in enumerate(texts):
        out.append("".join(c for c in t if not c.isdigit()))
        out.append(t.swapcase())
        out.append(t.replace(" ", ("\t", "\u00a0", "\x1c", "\x1f", "  ")[i % 5]))
    return out


def test_batch_redaction_equals_text_by_text() -> None:
    """The Rust-regex prefilter of :mod:`slmprofile.redact.batch` may only skip work: on the seeded sets, the
    hand-written sentences, the sample's prompts and responses (and the public sets when present), each with its
    variants, ``redact_many`` writes exactly what ``redact`` writes text by text, and every recognizer's trigger
    fires on every text it yields a candidate for (blocking shapes included)."""
    from pathlib import Path

    from slmprofile.ingest import ingest
    from slmprofile.redact.batch import TRIGGERS, triggered
    from slmprofile.redact.text import RECOGNIZERS

    texts = [t.text for seed in (0, 1, 2) for t in make_pii_eval_set(seed=seed) + make_pii_eval_set_intl(seed=seed)]
    texts += [t for t, _ in POSITIVES + POSITIVES_INTL] + NEGATIVES + NEGATIVES_INTL
    frame = ingest([Path(__file__).resolve().parents[1] / "data" / "logs"]).frame
    texts += [t for c in ("prompt_text", "response_text") for t in frame[c].to_list() if t][::3]
    datasets = pytest.importorskip("slmprofile.datasets")
    if datasets.shared_data_dir() is not None:
        texts += datasets.load_routellm()["text"].to_list()[::4] + datasets.load_mt_bench()["text"].to_list()
    texts = _variants(texts) + [None, ""]
    one_by_one = [None if t is None else redact(t) for t in texts]
    batch, counts = redact_many(texts)
    assert batch == [None if r is None else r[0] for r in one_by_one]
    assert counts == sum((r[1] for r in one_by_one if r is not None), collections.Counter())
    assert sum(counts.values()) > 1000
    masks = triggered(texts)
    for k, recognizer in enumerate(RECOGNIZERS):
        missed = [t for t, m in zip(texts, masks) if t and not m >> k & 1 and next(recognizer(t), None)]
        assert missed == [], f"{recognizer.__name__}: trigger {TRIGGERS[recognizer]!r} misses {missed[:3]}"
    assert sum(1 for m in masks if m) < 0.9 * len(texts)  # and it does skip work
