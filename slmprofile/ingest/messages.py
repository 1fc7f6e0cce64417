"""Request messages and responses in every shape the log formats use, normalized: :func:`normalize_conversation`
(the schema's message list, the system prompt, the prompt text) and :func:`response_text`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from .common import MISSING_FIELD, WRONG_TYPE, Skip, as_str, get_path, maybe_json

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
