"""Readers of logs that no tool wrote: chat transcripts in the OpenAI fine-tuning format, and any table (CSV /
Parquet / JSONL) with a prompt column, mapped with ``--map``."""

from __future__ import annotations

from typing import Any, Mapping

from .common import (
    MISSING_FIELD,
    WRONG_TYPE,
    Skip,
    as_amount,
    as_count,
    as_str,
    compact_json,
    drop_none,
    first_of,
    get_path,
    infer_provider,
    maybe_json,
    parse_timestamp,
)
from .format_base import LogFormat, conversation_fields, new_row, register
from .messages import response_text

#: Column names the generic table reader tries, in order, when no ``prompt=`` mapping is given.
PROMPT_COLUMN_GUESSES = ("prompt", "prompt_text", "question", "input", "query", "text", "instruction", "utterance")

#: ``--map`` target names accepted for the table format's core fields, and their schema column.
TABLE_FIELDS = {
    "prompt": "prompt_text", "response": "response_text", "system": "system_prompt", "id": "id",
    "model": "model", "timestamp": "timestamp", "user_id": "user_id", "session_id": "session_id",
    "prompt_tokens": "prompt_tokens", "completion_tokens": "completion_tokens", "cost": "cost_usd",
    "cost_usd": "cost_usd", "latency_ms": "latency_ms", "status": "status", "error": "error",
    "provider": "provider", "messages": "messages",
}


@register
class ChatTranscript(LogFormat):
    """Chat transcripts in the OpenAI fine-tuning format, one ``{"messages": [...]}`` a line: the last message, when
    it is the assistant's, is the answer (``slmprofile export finetune`` writes these; so do many eval sets)."""

    name = "chat_transcript"
    title = "Chat transcripts in the OpenAI fine-tuning format (the last assistant turn is the answer)"
    example = {"messages": [{"role": "system", "content": "Sort support tickets into billing or technical."},
                            {"role": "user", "content": "Classify: my card was charged twice"},
                            {"role": "assistant", "content": "billing"}]}

    def detect(self, record: Mapping[str, Any]) -> bool:
        # a transcript ends with the assistant's turn and carries no answer elsewhere (a record with ``choices`` or
        # ``response`` beside its messages is some other log, and must not lose its answer here)
        messages = maybe_json(record.get("messages"))
        return (isinstance(messages, list) and bool(messages) and isinstance(messages[-1], dict)
                and messages[-1].get("role") == "assistant"
                and not any(k in record for k in ("request", "custom_id", "choices", "response", "output",
                                                   "completion")))

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        messages = maybe_json(record.get("messages"))
        if not isinstance(messages, list):
            raise Skip(WRONG_TYPE, "messages", "messages is not a list")
        answer, n_tools = None, 0
        if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
            answer, n_tools = response_text(messages[-1])
            messages = messages[:-1]
        model = as_str(record.get("model"))
        return new_row(
            id=as_str(first_of(record, "id", "custom_id")),
            timestamp=parse_timestamp(first_of(record, "timestamp", "created_at"), "timestamp"),
            model=model,
            provider=infer_provider(model, record.get("provider")),
            **conversation_fields(messages, "messages"),
            response_text=answer,
            n_tool_calls=n_tools,
            status="ok" if answer else "pending",
            error=None,
            metadata=compact_json(drop_none([("tools", [get_path(t, "function.name") for t in record["tools"]
                                                        if isinstance(t, dict)]
                                              if isinstance(record.get("tools"), list) else None)])),
        )


@register
class Table(LogFormat):
    """Any CSV / Parquet / JSONL table with a prompt column, mapped with ``--map prompt=COL,...``.

    Columns that are not mapped are kept in ``metadata``. Without a ``prompt=`` mapping the first column named
    like a prompt (:data:`PROMPT_COLUMN_GUESSES`) is used.
    """

    name = "table"
    title = "Generic table (CSV / Parquet / JSONL) with a column mapping"
    example = {"question": "How do I reset my password?", "answer": "Go to Settings > Security ...",
               "model": "gpt-4o", "ts": "2026-10-03T14:22:05Z"}

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self.mapping = dict(mapping or {})

    def detect(self, record: Mapping[str, Any]) -> bool:
        if "prompt" in self.mapping:
            return get_path(record, self.mapping["prompt"]) is not None
        return self.prompt_column(record) is not None

    @staticmethod
    def prompt_column(record: Mapping[str, Any]) -> str | None:
        for name in PROMPT_COLUMN_GUESSES:
            if isinstance(record.get(name), str):
                return name
        return None

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        mapping = dict(self.mapping)
        if "prompt" not in mapping and "messages" not in mapping:
            guessed = self.prompt_column(record)
            if guessed is None:
                raise Skip(MISSING_FIELD, "prompt", "no prompt column (use --map prompt=COLUMN)")
            mapping["prompt"] = guessed
        used: set[str] = set()
        values: dict[str, Any] = {}
        for target, path in mapping.items():
            column = TABLE_FIELDS.get(target)
            if column is None:
                continue  # outcome / custom columns are applied by the driver
            values[column] = get_path(record, path)
            used.add(path.split(".")[0])
        if values.get("messages") not in (None, "", []):
            conv = conversation_fields(values.pop("messages"), mapping["messages"], system=values.pop("system_prompt", None))
            if values.get("prompt_text"):
                conv["prompt_text"] = as_str(values["prompt_text"])
            values.update(conv)
        else:
            values.pop("messages", None)
            prompt = as_str(values.get("prompt_text"))
            system = as_str(values.get("system_prompt"))
            msgs = [{"role": "system", "content": system}] if system else []
            msgs.append({"role": "user", "content": prompt})
            values["messages"] = [dict(m, name=None, tool_calls=None, tool_call_id=None) for m in msgs]
            values["prompt_text"] = prompt
            values["system_prompt"] = system
        used.update(v.split(".")[0] for k, v in self.mapping.items() if k not in TABLE_FIELDS)
        status = as_str(values.get("status"))
        error = as_str(values.get("error"))
        meta = {k: v for k, v in record.items() if k not in used and v not in (None, "")}
        model = as_str(values.get("model"))
        return new_row(
            id=as_str(values.get("id")),
            timestamp=parse_timestamp(values.get("timestamp"), mapping.get("timestamp", "timestamp")),
            model=model,
            provider=as_str(values.get("provider")) or infer_provider(model),
            system_prompt=values.get("system_prompt"),
            messages=values["messages"],
            prompt_text=values["prompt_text"],
            n_non_text_parts=values.get("n_non_text_parts", 0),
            response_text=as_str(values.get("response_text")),
            prompt_tokens=as_count(values.get("prompt_tokens"), mapping.get("prompt_tokens", "prompt_tokens")),
            completion_tokens=as_count(values.get("completion_tokens"),
                                     mapping.get("completion_tokens", "completion_tokens")),
            cost_usd=as_amount(values.get("cost_usd"), mapping.get("cost", "cost")),
            latency_ms=as_amount(values.get("latency_ms"), mapping.get("latency_ms", "latency_ms")),
            status="error" if error or (status and status.lower() in ("error", "failure", "failed")) else "ok",
            error=error,
            user_id=as_str(values.get("user_id")),
            session_id=as_str(values.get("session_id")),
            metadata=compact_json(meta),
        )
