"""Shared helpers for the format readers: skips, field access, timestamps, numbers.

Messages and responses are normalized in :mod:`slmprofile.ingest.messages`.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

# Skip reasons (the ingest report counts rows by these names).
INVALID_JSON = "invalid_json"
NON_UTF8 = "non_utf8"
NOT_AN_OBJECT = "not_an_object"
WRONG_COLUMN_COUNT = "wrong_column_count"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
EMPTY_PROMPT = "empty_prompt"
DUPLICATE_ID = "duplicate_id"
NOT_AN_LLM_CALL = "not_an_llm_call"
NO_STORED_MESSAGES = "no_stored_messages"
UNMATCHED_BATCH_OUTPUT = "batch_output_without_input"
TOO_DEEP = "too_deep"
DAMAGED_FILE = "damaged_file"
#: Not a skip: a value that cannot be right (a negative cost, a NaN, 10**30 tokens). The field is nulled and the row
#: kept; the report counts these apart from the skipped rows (``FileReport.nulled``).
INVALID_VALUE = "invalid_value"

#: More tokens than this in one call is not a real count (the largest context windows hold about 1e7).
MAX_TOKENS = 10**9

SKIP_HINTS: dict[str, str] = {
    INVALID_JSON: "the line is not valid JSON (often a truncated last write)",
    NON_UTF8: "the line is not valid UTF-8",
    NOT_AN_OBJECT: "the record is not a JSON object",
    WRONG_COLUMN_COUNT: "a CSV row has more or fewer cells than the header",
    MISSING_FIELD: "a required field is absent",
    WRONG_TYPE: "a field has the wrong type or an unparseable value",
    EMPTY_PROMPT: "the request has no user text to profile",
    DUPLICATE_ID: "the same id was already read (first occurrence kept)",
    NOT_AN_LLM_CALL: "a span/event/chain record, not a model call",
    NO_STORED_MESSAGES: "the log has no stored prompt (LiteLLM: enable store_prompts_in_spend_logs)",
    UNMATCHED_BATCH_OUTPUT: "a Batch API output line whose input file was not given",
    TOO_DEEP: "JSON nested deeper than the decoder allows (about 1,000 levels)",
    DAMAGED_FILE: "the file is cut off or corrupt (e.g. a truncated gzip): rows before the damage are kept, "
                  "the rest is lost",
    INVALID_VALUE: "a negative, NaN/infinite or impossibly large token count, cost or latency; the field is "
                   "nulled, the row kept",
}


class Skip(Exception):
    """Raised by a reader for a record it cannot keep; ingestion counts it (or raises it in strict mode)."""

    def __init__(self, reason: str, field: str | None = None, detail: str = "") -> None:
        self.reason = reason
        self.field = field
        self.detail = detail
        super().__init__(self.describe())

    def where(self) -> str:
        """Field and detail, without the reason: ``field 'usage.prompt_tokens': expected an integer``."""
        text = f"field '{self.field}'" if self.field else ""
        if self.detail:
            text = f"{text}: {self.detail}" if text else self.detail
        return text

    def describe(self) -> str:
        where = self.where()
        return f"{self.reason} ({where})" if where else self.reason


_INVALID_VALUES: ContextVar[list[Skip] | None] = ContextVar("slmprofile_invalid_values", default=None)


@contextmanager
def collect_invalid_values() -> Iterator[list[Skip]]:
    """Within this block :func:`invalid_value` appends to the yielded list (and the field is nulled) instead of
    raising. The ingestion driver reads one file inside one block and drains the list after each record."""
    found: list[Skip] = []
    token = _INVALID_VALUES.set(found)
    try:
        yield found
    finally:
        _INVALID_VALUES.reset(token)


def invalid_value(field: str | None, detail: str) -> None:
    """A value of ``field`` that cannot be right: recorded (the caller nulls the field, the row is kept) inside
    :func:`collect_invalid_values`, else raised as :class:`Skip` (``invalid_value``) so it is never dropped silently.
    Returns None, the value to store."""
    problem = Skip(INVALID_VALUE, field, detail)
    found = _INVALID_VALUES.get()
    if found is None:
        raise problem
    found.append(problem)


_MISSING = object()


def get_path(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Value at ``path`` in a nested record: an exact key first, then a dotted path (``a.b.0.c``).

    Anything that is not an object along the way (a string where an object was expected) gives ``default``.
    """
    if type(record) is dict or isinstance(record, Mapping):
        if path in record:
            return record[path]
    elif not isinstance(record, list):
        return default
    cur: Any = record
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part, _MISSING)
        elif isinstance(cur, list) and part.lstrip("-").isdigit():
            idx = int(part)
            cur = cur[idx] if -len(cur) <= idx < len(cur) else _MISSING
        else:
            return default
        if cur is _MISSING:
            return default
    return cur


def first_of(record: Mapping[str, Any], *paths: str) -> Any:
    """First non-null value among ``paths``."""
    for path in paths:
        value = get_path(record, path)
        if value is not None and value != "":
            return value
    return None


def maybe_json(value: Any) -> Any:
    """Decode a JSON-in-a-string cell (CSV exports); other values pass through unchanged."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{" and text[-1:] in "]}":
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return value
    return value


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_int(value: Any, field: str) -> int | None:
    """Integer field (token counts): accepts ints, integral floats and numeric strings; else :class:`Skip`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Skip(WRONG_TYPE, field, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = float(value)
            if number.is_integer():
                return int(number)
        except ValueError:
            pass
    raise Skip(WRONG_TYPE, field, f"expected an integer, got {value!r}")


def as_count(value: Any, field: str) -> int | None:
    """Token count: an integer (as :func:`as_int`) from 0 to :data:`MAX_TOKENS`. A negative or impossibly large
    count is an :func:`invalid_value` (nulled, so it is estimated like a missing count)."""
    number = as_int(value, field)
    if number is not None and not 0 <= number <= MAX_TOKENS:
        return invalid_value(field, f"{_short(number)} is not a token count (0 to {MAX_TOKENS:.0e})")
    return number


def as_amount(value: Any, field: str) -> float | None:
    """Cost or latency: a finite number >= 0 (as :func:`as_float`); a negative one is an :func:`invalid_value`."""
    number = as_float(value, field)
    if number is not None and number < 0:
        return invalid_value(field, f"negative value {number!r}")
    return number


def _short(number: int) -> str:
    """``number`` for a message; a huge one as its magnitude (``str`` refuses ints over 4,300 digits)."""
    if abs(number) < 10**24:
        return str(number)
    return f"{'-' if number < 0 else ''}about 1e{int(number.bit_length() * 0.30103)}"


def as_float(value: Any, field: str) -> float | None:
    """Float field (cost, latency, scores): accepts numbers and numeric strings; else :class:`Skip`. NaN and
    infinity are an :func:`invalid_value` (nulled, never silently replaced)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Skip(WRONG_TYPE, field, f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            return invalid_value(field, f"{_short(value)} is out of range")
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise Skip(WRONG_TYPE, field, f"expected a number, got {value!r}") from None
    else:
        raise Skip(WRONG_TYPE, field, f"expected a number, got {type(value).__name__}")
    if math.isnan(number) or math.isinf(number):
        return invalid_value(field, f"{value!r} is not a finite number")
    return number


def as_bool(value: Any, field: str) -> bool | None:
    """Boolean outcome field: true/false, 1/0, yes/no, correct/incorrect."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y", "t", "correct", "pass", "passed"}:
        return True
    if text in {"false", "0", "no", "n", "f", "incorrect", "fail", "failed"}:
        return False
    raise Skip(WRONG_TYPE, field, f"expected a boolean, got {value!r}")


def parse_timestamp(value: Any, field: str) -> datetime | None:
    """UTC datetime from ISO-8601 text or unix seconds / milliseconds / microseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if number > 1e14:
            number /= 1e6
        elif number > 1e11:
            number /= 1e3
        try:
            return datetime.fromtimestamp(number, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise Skip(WRONG_TYPE, field, f"timestamp out of range: {value!r}") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return parse_timestamp(float(text), field)
        if text.endswith(("+00", "-00")):  # PostgreSQL's short offset
            text += ":00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise Skip(WRONG_TYPE, field, f"not an ISO-8601 timestamp: {value!r}") from None
    else:
        raise Skip(WRONG_TYPE, field, f"expected a timestamp, got {type(value).__name__}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        raise Skip(WRONG_TYPE, field, f"timestamp out of range: {value!r}") from None


_PROVIDER_PREFIXES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-davinci", "davinci", "ft:gpt"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "palm", "gemma"), "google"),
    (("mistral", "mixtral", "codestral", "ministral", "open-mistral"), "mistral"),
    (("llama", "meta-llama"), "meta"),
    (("command",), "cohere"),
    (("deepseek",), "deepseek"),
    (("qwen",), "alibaba"),
    (("grok",), "xai"),
    (("phi-",), "microsoft"),
)


def infer_provider(model: str | None, hint: Any = None) -> str | None:
    """Provider from an explicit hint, a ``provider/model`` prefix, or the model family."""
    if hint:
        return str(hint).lower()
    if not model:
        return None
    name = model.lower()
    if "/" in name:
        prefix, _, rest = name.partition("/")
        if prefix in {"openai", "anthropic", "azure", "bedrock", "vertex_ai", "gemini", "mistral", "groq",
                      "together_ai", "fireworks_ai", "openrouter", "ollama", "vllm", "hosted_vllm"}:
            return prefix
        name = rest
    for prefixes, provider in _PROVIDER_PREFIXES:
        if name.startswith(prefixes):
            return provider
    return None


def compact_json(value: Any) -> str | None:
    """Deterministic compact JSON for the ``metadata`` column (None for empty)."""
    if value in (None, {}, [], ""):
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def drop_none(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in pairs if v not in (None, {}, [], "")}
