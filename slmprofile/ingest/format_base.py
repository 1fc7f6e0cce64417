"""What every log format reader builds on: the :class:`LogFormat` base class and its registry (:data:`FORMATS`,
:func:`register`), the row constructor :func:`new_row`, and the record helpers several formats share.

The readers themselves live in ``format_*`` modules (one per family of formats); :mod:`slmprofile.ingest.formats`
imports them all, so that every reader is registered, and holds the detection order.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Mapping

from .common import (
    MISSING_FIELD,
    WRONG_TYPE,
    Skip,
    drop_none,
    get_path,
    invalid_value,
    maybe_json,
)
from .messages import normalize_conversation

FORMATS: dict[str, type[LogFormat]] = {}


def register(cls: type[LogFormat]) -> type[LogFormat]:
    """Class decorator adding a reader to :data:`FORMATS` under its ``name``."""
    FORMATS[cls.name] = cls
    return cls


class LogFormat:
    """Base class of a log format reader (subclass, set the class attributes, decorate with ``@register``)."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: A minimal example record, shown in the docs and used by the detection tests.
    example: ClassVar[dict[str, Any]] = {}

    def detect(self, record: Mapping[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def error_text(value: Any) -> str | None:
    """A logged error (text, JSON text or an object, possibly under ``error``) as one line; None when there is none."""
    value = maybe_json(value)
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):
        inner = value.get("error", value)
        if isinstance(inner, dict):
            parts = [str(inner[k]) for k in ("code", "type", "message") if inner.get(k) not in (None, "")]
            return ": ".join(parts) if parts else json.dumps(inner, sort_keys=True)
        return str(inner)
    return str(value)


def elapsed_ms(start: Any, end: Any, field: str) -> float | None:
    """Milliseconds from ``start`` to ``end``; an end before the start is an invalid value of ``field``."""
    if start is None or end is None:
        return None
    ms = (end - start).total_seconds() * 1000.0
    return ms if ms >= 0 else invalid_value(field, f"ends {-ms:.0f} ms before it starts")


def object_field(record: Mapping[str, Any], field: str, *, required: bool = False,
                 detail: str = "") -> dict[str, Any] | None:
    """The JSON object at ``record[field]`` (decoded if it is JSON text). Absent: None, or a ``missing_field`` skip
    when ``required``; present but not an object (a string, a list): a ``wrong_type`` skip naming ``field``."""
    value = maybe_json(record.get(field))
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Skip(MISSING_FIELD, field, detail or "no such field")
        return None
    if not isinstance(value, dict):
        raise Skip(WRONG_TYPE, field, f"expected an object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """``a string``, ``a list``, ... for messages about a value of the wrong type."""
    names = {str: "a string", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def new_row(**values: Any) -> dict[str, Any]:
    """A row dict with every reader-filled column present (missing ones are None)."""
    row: dict[str, Any] = dict.fromkeys(ROW_KEYS)
    row["n_non_text_parts"] = 0
    row["n_tool_calls"] = 0
    row.update(values)
    return row


ROW_KEYS = (
    "id", "timestamp", "source", "format", "provider", "model", "system_prompt", "messages", "prompt_text",
    "response_text", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "status", "error", "user_id",
    "session_id", "metadata", "n_non_text_parts", "n_tool_calls",
)


def conversation_fields(conv_raw: Any, field: str, *, system: Any = None) -> dict[str, Any]:
    """The row's conversation columns from a request's messages at ``field``; none: a ``missing_field`` skip."""
    if conv_raw in (None, "", []):
        raise Skip(MISSING_FIELD, field, "no request messages")
    conv = normalize_conversation(conv_raw, field=field, system=system)
    return {
        "messages": conv.messages,
        "system_prompt": conv.system_prompt,
        "prompt_text": conv.prompt_text,
        "n_non_text_parts": conv.n_non_text_parts,
    }


def chat_request_meta(request: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata kept from a Chat Completions request: sampling settings, response format, tool names."""
    tools = request.get("tools") or request.get("functions") or []
    tools = tools if isinstance(tools, list) else []
    names = [get_path(t, "function.name") or t.get("name") for t in tools if isinstance(t, dict)]
    return drop_none([
        ("temperature", request.get("temperature")),
        ("max_tokens", request.get("max_tokens") or request.get("max_completion_tokens")),
        ("response_format", get_path(request, "response_format.type")),
        ("tools", names or None),
    ])
