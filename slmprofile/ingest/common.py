"""Shared helpers for the format readers: skips, field access, messages, timestamps, numbers."""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
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


# --------------------------------------------------------------------------- messages

_LC_ROLES = {
    "HumanMessage": "user",
    "HumanMessageChunk": "user",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "function",
    "ChatMessage": None,  # carries its own role
}
_ROLE_ALIASES = {"human": "user", "ai": "assistant", "model": "assistant", "bot": "assistant"}
_TEXT_PART_TYPES = {"text", "input_text", "output_text"}


@dataclass
class Conversation:
    """Normalized request messages plus what the readers derive from them."""

    messages: list[dict[str, str | None]]
    system_prompt: str | None
    prompt_text: str | None
    n_non_text_parts: int


def content_text(content: Any) -> tuple[str | None, int]:
    """Text of a message ``content`` (string or list of parts) and the number of non-text parts."""
    if content is None:
        return None, 0
    if isinstance(content, str):
        return content, 0
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        texts: list[str] = []
        non_text = 0
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                kind = str(part.get("type", "text"))
                if kind in _TEXT_PART_TYPES and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif "text" in part and isinstance(part["text"], str) and kind == "text":
                    texts.append(part["text"])
                else:
                    non_text += 1
            else:
                non_text += 1
        return ("\n".join(texts) if texts else None), non_text
    return str(content), 0


def normalize_message(raw: Any) -> tuple[dict[str, str | None], int]:
    """One message in the schema's ``{role, content, name, tool_calls, tool_call_id}`` shape."""
    if isinstance(raw, str):
        return {"role": "user", "content": raw, "name": None, "tool_calls": None, "tool_call_id": None}, 0
    if not isinstance(raw, dict):
        raise Skip(WRONG_TYPE, "messages", f"a message must be an object, got {type(raw).__name__}")
    msg: Mapping[str, Any] = raw
    role = msg.get("role")
    if msg.get("lc") == 1 and isinstance(msg.get("kwargs"), dict):  # LangChain-serialized message
        ids = msg.get("id")
        cls = str(ids[-1]) if isinstance(ids, list) and ids else "?"
        msg = msg["kwargs"]
        role = _LC_ROLES.get(cls) or msg.get("role") or "user"
    elif role is None and "type" in msg and msg.get("type") in ("human", "ai", "system", "tool"):
        role = msg.get("type")  # LangChain message dicts use "type"
    role = _ROLE_ALIASES.get(str(role), str(role) if role else "user")
    text, non_text = content_text(msg.get("content"))
    tool_calls = _tool_calls(msg)
    if not tool_calls and msg.get("function_call"):
        tool_calls = [{"type": "function", "function": msg["function_call"]}]
    return {
        "role": role,
        "content": text,
        "name": as_str(msg.get("name")),
        "tool_calls": json.dumps(tool_calls, ensure_ascii=False) if tool_calls else None,
        "tool_call_id": as_str(msg.get("tool_call_id")),
    }, non_text


def _tool_calls(msg: Mapping[str, Any]) -> list[Any]:
    """A message's tool calls (OpenAI ``tool_calls`` or LangChain ``additional_kwargs.tool_calls``); a value that is
    not a list counts as one call."""
    calls = msg.get("tool_calls") or get_path(msg, "additional_kwargs.tool_calls")
    if not calls:
        return []
    return calls if isinstance(calls, list) else [calls]


def normalize_conversation(raw: Any, *, field: str = "messages", system: Any = None) -> Conversation:
    """Normalize a request's messages from any of the shapes the formats use.

    Accepts a list of messages, a single message, a plain string (one user message), LangSmith's
    ``{"messages": [[...]]}`` / ``{"prompts": [...]}`` and Anthropic-style ``system`` given apart.
    ``prompt_text`` is the text of the last user message (the task the call was made for); when there is no
    user message it falls back to the other non-system text.
    """
    raw = maybe_json(raw)
    if isinstance(raw, dict):
        if "messages" in raw:
            raw = raw["messages"]
        elif "prompts" in raw:
            raw = raw["prompts"]
        elif "prompt" in raw and isinstance(raw["prompt"], (str, list)):
            raw = raw["prompt"]
        elif "role" in raw or "lc" in raw:
            raw = [raw]
        elif "input" in raw and isinstance(raw["input"], (str, list)):
            raw = raw["input"]
        else:
            raise Skip(MISSING_FIELD, field, f"no messages in object with keys {sorted(raw)[:8]}")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise Skip(WRONG_TYPE, field, f"expected a list of messages, got {type(raw).__name__}")
    if raw and all(isinstance(item, list) for item in raw):  # LangSmith batches: [[...messages...]]
        raw = raw[0]
    messages: list[dict[str, str | None]] = []
    non_text = 0
    if system:
        sys_text, sys_non_text = content_text(system)
        non_text += sys_non_text
        messages.append({"role": "system", "content": sys_text, "name": None, "tool_calls": None,
                         "tool_call_id": None})
    for item in raw:
        msg, n = normalize_message(item)
        messages.append(msg)
        non_text += n
    systems = [m["content"] for m in messages if m["role"] in ("system", "developer") and m["content"]]
    users = [m["content"] for m in messages if m["role"] == "user" and m["content"]]
    others = [m["content"] for m in messages if m["role"] not in ("system", "developer") and m["content"]]
    prompt = users[-1] if users else ("\n".join(others) if others else None)
    return Conversation(
        messages=messages,
        system_prompt="\n\n".join(systems) if systems else None,
        prompt_text=prompt,
        n_non_text_parts=non_text,
    )


def response_text(raw: Any) -> tuple[str | None, int]:
    """Text of a response in any of the shapes formats log, and its number of tool calls.

    Accepts a string, a chat completion (``choices[0].message``), a message object, LangChain
    ``generations``, Langfuse/LangSmith ``{"output": ...}`` / ``{"completion": ...}`` wrappers. A response that is
    only tool calls is rendered as their JSON so it stays comparable.
    """
    raw = maybe_json(raw)
    if raw is None:
        return None, 0
    if isinstance(raw, str):
        return raw, 0
    if isinstance(raw, list):
        if raw and isinstance(raw[0], dict) and ("message" in raw[0] or "role" in raw[0]):
            return response_text(raw[0])  # choices list or message list
        return json.dumps(raw, ensure_ascii=False), 0
    if not isinstance(raw, dict):
        return str(raw), 0
    if "choices" in raw:
        choices = raw.get("choices") or []
        if isinstance(choices, list):
            return response_text(choices[0]) if choices else (None, 0)
        return response_text(choices)
    if "generations" in raw:
        gens = raw["generations"]
        while isinstance(gens, list) and gens and isinstance(gens[0], list):
            gens = gens[0]
        if isinstance(gens, list):
            return response_text(gens[0]) if gens else (None, 0)
        return response_text(gens)
    if "message" in raw and isinstance(raw["message"], dict):
        return response_text(raw["message"])
    if raw.get("lc") == 1 and isinstance(raw.get("kwargs"), dict):
        return response_text(raw["kwargs"])
    if "content" in raw or "tool_calls" in raw:
        text, _ = content_text(raw.get("content"))
        tool_calls = _tool_calls(raw)
        if not text and tool_calls:
            return json.dumps(tool_calls, ensure_ascii=False), len(tool_calls)
        return text, len(tool_calls)
    for key in ("text", "output", "completion", "response", "answer"):
        if key in raw:
            return response_text(raw[key])
    return json.dumps(raw, ensure_ascii=False, sort_keys=True), 0


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
