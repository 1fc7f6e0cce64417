"""Chat examples in the OpenAI fine-tuning format, from logged calls: the request as messages
(:func:`conversation`), the logged answer as an assistant turn (:func:`assistant_message`, tool calls in the OpenAI
shape), PII redaction inside messages and tool-call arguments (:func:`redact_messages`), the keys that find near
duplicates and the same prompt across splits (:func:`near_key`, :func:`prompt_key`) and the format check
(:func:`check_example`). Used by :mod:`slmprofile.loop.training_data`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable


def tool_call(raw: Any, i: int) -> dict | None:
    """One tool call in the OpenAI shape ``{id, type, function: {name, arguments (a JSON string)}}``, from the
    OpenAI or the LangChain shape (``{name, args, id}``); None when it is neither."""
    if not isinstance(raw, dict):
        return None
    function = raw.get("function") if isinstance(raw.get("function"), dict) else None
    name = (function or {}).get("name") if function is not None else raw.get("name")
    if not isinstance(name, str) or not name:
        return None
    arguments = (function or {}).get("arguments") if function is not None else raw.get("args", raw.get("arguments"))
    return {"id": str(raw.get("id") or f"call_{i}"), "type": "function",
            "function": {"name": name, "arguments": _arguments(arguments)}}


def _tool_calls(raw: Any) -> list[dict] | None:
    calls = [tool_call(c, i) for i, c in enumerate(raw)] if isinstance(raw, list) and raw else []
    return calls if calls and all(c is not None for c in calls) else None  # type: ignore[return-value]


def assistant_message(response_text: str | None, n_tool_calls: int | None) -> dict | None:
    """The logged answer as an assistant message: its text, or its tool calls (ingestion keeps an answer that is
    only tool calls as their JSON list); None when there is no answer."""
    if not response_text or not response_text.strip():
        return None
    if n_tool_calls:
        try:
            calls = _tool_calls(json.loads(response_text))
        except ValueError:
            calls = None
        if calls:
            return {"role": "assistant", "tool_calls": calls}
    return {"role": "assistant", "content": response_text}


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value if value is not None else {}, ensure_ascii=False)


def conversation(messages: Iterable[dict] | None, system_prompt: str | None) -> list[dict]:
    """The logged request as fine-tuning messages: roles and contents, tool calls (in the OpenAI shape) and tool
    results kept (a legacy ``function`` result becomes a ``tool`` one), the system prompt first when the messages
    do not carry it."""
    out: list[dict] = []
    for message in messages or []:
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool", "function"):
            continue
        entry: dict[str, Any] = {"role": {"developer": "system", "function": "tool"}.get(role, role)}
        content = message.get("content")
        if message.get("tool_calls"):
            try:
                calls = _tool_calls(json.loads(message["tool_calls"]))
            except (TypeError, ValueError):
                calls = None
            if calls:
                entry["tool_calls"] = calls
        if content is not None or "tool_calls" not in entry:
            entry["content"] = content or ""
        if entry["role"] == "tool":
            entry["tool_call_id"] = message.get("tool_call_id") or message.get("name") or ""
        if message.get("name") and role in ("user", "assistant"):
            entry["name"] = message["name"]
        out.append(entry)
    if system_prompt and not any(m["role"] == "system" for m in out):
        out.insert(0, {"role": "system", "content": system_prompt})
    return out


def redact_messages(messages: list[dict]) -> list[dict]:
    """``messages`` with PII redacted in every content and in tool-call arguments, redacted as parsed JSON values
    (redacting the JSON text would turn ``{"card": 4111...}`` into invalid JSON)."""
    from ..redact import redact_json

    out = []
    for message in messages:
        entry = dict(message)
        if isinstance(entry.get("content"), str):
            entry["content"] = redact_json(entry["content"])
        if entry.get("tool_calls"):
            calls = []
            for call in entry["tool_calls"]:
                arguments = call["function"]["arguments"]
                try:
                    arguments = json.dumps(_redact_value(json.loads(arguments)), ensure_ascii=False)
                except ValueError:
                    arguments = redact_json(arguments)
                calls.append({**call, "function": {**call["function"], "arguments": arguments}})
            entry["tool_calls"] = calls
        out.append(entry)
    return out


def _redact_value(value: Any) -> Any:
    """A parsed JSON value with PII redacted in its strings and in numbers that read as PII (a card number sent as
    a JSON number becomes the placeholder string)."""
    from ..redact import redact_json

    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
        redacted = redact_json(text)
        return value if redacted == text else redacted
    return redact_json(value)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def near_key(messages: list[dict], roles: tuple[str, ...] = ("system", "user", "assistant", "tool")) -> str:
    """The request (the messages before the answer, of ``roles``) with case and spacing set aside: equal keys
    are near duplicates. (Punctuation is kept: ``2+3`` and ``2*3`` are different requests.)"""
    text = " ".join(str(m.get("content") or "") for m in messages[:-1] if m["role"] in roles)
    return hashlib.sha256(_normal(text).encode()).hexdigest()


#: A user message of at least this many words is distinctive enough to stand for the request: the same one under
#: another system prompt counts as the same prompt between splits. A shorter one ("Classify the ticket above.")
#: does not, and the whole request is compared instead.
DISTINCTIVE_WORDS = 8


def prompt_key(messages: list[dict]) -> str:
    """What "the same prompt" means between splits: the user messages when they are distinctive, else the whole
    request (see :data:`DISTINCTIVE_WORDS`)."""
    user = " ".join(str(m.get("content") or "") for m in messages[:-1] if m["role"] == "user")
    return near_key(messages, ("user",)) if len(user.split()) >= DISTINCTIVE_WORDS else near_key(messages)


def check_example(example: dict) -> str | None:
    """Why a line breaks the OpenAI chat fine-tuning format (None: it does not): a ``messages`` list of known roles,
    at most one system message and first, a user turn before the last message, the last message an assistant turn
    with content or tool calls, no empty assistant turn, tool calls in the OpenAI shape with JSON arguments."""
    messages = example.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return "no messages"
    roles = [m.get("role") for m in messages]
    if any(r not in ("system", "user", "assistant", "tool") for r in roles):
        return "unknown role"
    if roles.count("system") > 1 or ("system" in roles and roles.index("system") != 0):
        return "system message not first, or more than one"
    if "user" not in roles[:-1]:
        return "no user turn"
    if roles[-1] != "assistant":
        return "last message is not the assistant's"
    for m in messages:
        if m["role"] == "assistant" and not (str(m.get("content") or "").strip() or m.get("tool_calls")):
            return "empty assistant turn"
        for call in m.get("tool_calls") or []:
            try:
                json.loads(call["function"]["arguments"])
            except (KeyError, TypeError, ValueError):
                return "tool call without JSON arguments"
            if not call.get("id") or not call["function"].get("name"):
                return "tool call without an id or a name"
    return None
