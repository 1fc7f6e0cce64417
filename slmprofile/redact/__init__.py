"""PII redaction: :mod:`.text` finds and replaces PII in one text, :mod:`.batch` in many at once (a Rust-regex
prefilter first); :mod:`.frames` redacts logs frames and files."""

from .frames import (REDACT_COLUMNS, STRUCTURAL_COLUMNS, pseudonymise_structural, redact_columns, redact_frame,
                     redact_json, redact_logs, redact_part, redact_parts)
from .batch import redact_many
from .text import PII_KINDS, Finding, check_kinds, find_pii, iban_ok, redact

__all__ = ["PII_KINDS", "REDACT_COLUMNS", "STRUCTURAL_COLUMNS", "Finding", "check_kinds", "find_pii", "iban_ok",
           "pseudonymise_structural", "redact", "redact_columns", "redact_frame", "redact_json", "redact_logs",
           "redact_many", "redact_part", "redact_parts"]
