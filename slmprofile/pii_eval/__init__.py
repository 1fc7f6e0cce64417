"""A seeded, labelled PII evaluation set, and a scorer for PII finders such as :func:`slmprofile.redact.find_pii`.

The texts read like prompts sent to a company's assistant: support tickets, invoices, e-mails, config
snippets, logs and debugging questions. Each carries zero to two PII values (the kinds of
:data:`slmprofile.redact.PII_KINDS`, drawn round-robin so that they are covered evenly) and hard
negatives that must *not* be redacted: order/ticket/invoice numbers, dates, times, amounts, versions,
percentages, 16-digit numbers failing the Luhn check, IBAN-shaped strings with a wrong checksum, commit
hashes, UUIDs (not PII here), EAN barcodes, epoch timestamps.

Card numbers pass Luhn, IBANs pass mod-97, SSNs avoid the never-issued areas, UK National Insurance
numbers use allowed prefix letters, Spanish DNIs carry their check letter.

Modules: :mod:`.generate` (part one, English), :mod:`.generate_intl` (part two, seven European
languages), :mod:`.values` and :mod:`.generate_data` (the values and tables of part one), :mod:`.score`.

>>> samples = make_pii_eval_set(n_instances=50, seed=1)
>>> round(score_redaction(samples)["recall"], 1)
1.0
"""

from .generate import LabelledText, make_pii_eval_set
from .generate_intl import make_pii_eval_set_intl
from .score import score_redaction

__all__ = ["LabelledText", "make_pii_eval_set", "make_pii_eval_set_intl", "score_redaction"]
