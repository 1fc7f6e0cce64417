"""Readers of OpenAI's own log shapes: Chat Completions request/response pairs and the Batch API input and output
files (joined on ``custom_id`` by :mod:`slmprofile.ingest.core`)."""

from __future__ import annotations

from typing import Any, Mapping

from .common import (
    MISSING_FIELD,
    Skip,
    as_amount,
    as_count,
    as_int,
    as_str,
    compact_json,
    drop_none,
    first_of,
    get_path,
    infer_provider,
    maybe_json,
    parse_timestamp,
)
from .format_base import (
    LogFormat,
    chat_request_meta,
    conversation_fields,
    error_text,
    new_row,
    object_field,
    register,
)
from .messages import response_text


def _completion_fields(resp: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fields of an OpenAI chat completion object (response text, usage, model, created, finish reason)."""
    if not isinstance(resp, dict):
        return {}
    text, n_tools = response_text(resp)
    usage = resp.get("usage") or {}
    return {
        "response_text": text,
        "n_tool_calls": n_tools,
        "prompt_tokens": as_count(first_of(usage, "prompt_tokens", "input_tokens"), "usage.prompt_tokens"),
        "completion_tokens": as_count(first_of(usage, "completion_tokens", "output_tokens"),
                                    "usage.completion_tokens"),
        "model": as_str(resp.get("model")),
        "created": parse_timestamp(resp.get("created"), "response.created"),
        "finish_reason": get_path(resp, "choices.0.finish_reason"),
        "cached_tokens": get_path(usage, "prompt_tokens_details.cached_tokens"),
    }


@register
class OpenAIChat(LogFormat):
    """OpenAI Chat Completions logged as request/response pairs (one JSON object per line)."""

    name = "openai_chat"
    title = "OpenAI Chat Completions request/response pairs"
    example = {
        "timestamp": "2026-10-03T14:22:05Z", "latency_ms": 812,
        "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Classify: my card was charged twice"}]},
        "response": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1790000000, "model": "gpt-4o-2024-08-06",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "billing"},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 21, "completion_tokens": 1, "total_tokens": 22}},
    }

    def detect(self, record: Mapping[str, Any]) -> bool:
        request = maybe_json(record.get("request"))
        return isinstance(request, dict) and "messages" in request and "custom_id" not in record

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        request = object_field(record, "request", required=True, detail="no request object (model and messages)")
        response = object_field(record, "response")
        comp = _completion_fields(response)
        error = error_text(record.get("error")) or error_text((response or {}).get("error"))
        model = comp.get("model") or as_str(request.get("model"))
        timestamp = parse_timestamp(first_of(record, "timestamp", "created_at", "start_time"), "timestamp") \
            or comp.get("created")
        meta = chat_request_meta(request)
        meta.update(drop_none([("finish_reason", comp.get("finish_reason")),
                               ("cached_tokens", comp.get("cached_tokens")),
                               ("requested_model", request.get("model"))]))
        # what the routing gateway (slmprofile serve) adds to each line: its decision and the client's task type
        meta.update(drop_none([("routing", record.get("routing") if isinstance(record.get("routing"), dict)
                                 else None),
                               ("task_type", as_str(record.get("task_type")))]))
        return new_row(
            id=as_str(first_of(record, "id", "response.id", "request_id")),
            timestamp=timestamp,
            model=model,
            provider=infer_provider(model, record.get("provider")),
            **conversation_fields(request.get("messages"), "request.messages"),
            response_text=comp.get("response_text"),
            n_tool_calls=comp.get("n_tool_calls", 0),
            prompt_tokens=comp.get("prompt_tokens"),
            completion_tokens=comp.get("completion_tokens"),
            cost_usd=as_amount(first_of(record, "cost_usd", "cost"), "cost_usd"),
            latency_ms=as_amount(first_of(record, "latency_ms", "duration_ms"), "latency_ms"),
            status="error" if error or response is None else "ok",
            error=error or (None if response is not None else "no response logged"),
            user_id=as_str(first_of(record, "user_id", "request.user")),
            session_id=as_str(first_of(record, "session_id")),
            metadata=compact_json(meta),
        )


@register
class OpenAIBatchInput(LogFormat):
    """OpenAI Batch API input file; joined with its output file on ``custom_id``."""

    name = "openai_batch_input"
    title = "OpenAI Batch API input (joined with the output file on custom_id)"
    example = {"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Summarise: ..."}]}}

    def detect(self, record: Mapping[str, Any]) -> bool:
        return "custom_id" in record and "body" in record

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        custom_id = as_str(record.get("custom_id"))
        if not custom_id:
            raise Skip(MISSING_FIELD, "custom_id")
        body = object_field(record, "body", required=True, detail="no request body")
        model = as_str(body.get("model"))
        meta = chat_request_meta(body)
        meta["url"] = record.get("url")
        return new_row(
            id=custom_id,
            model=model,
            provider=infer_provider(model),
            **conversation_fields(body.get("messages") or body.get("input"), "body.messages"),
            status="pending",
            error="no batch output line for this custom_id",
            user_id=as_str(body.get("user")),
            metadata=compact_json(meta),
        )


@register
class OpenAIBatchOutput(LogFormat):
    """OpenAI Batch API output (or error) file; needs the input file for the prompts."""

    name = "openai_batch_output"
    title = "OpenAI Batch API output (needs its input file)"
    example = {"id": "batch_req_1", "custom_id": "req-1",
               "response": {"status_code": 200, "request_id": "r1", "body": {
                   "id": "chatcmpl-2", "object": "chat.completion", "created": 1790000000, "model": "gpt-4o-mini",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "..."}}],
                   "usage": {"prompt_tokens": 40, "completion_tokens": 12}}},
               "error": None}

    def detect(self, record: Mapping[str, Any]) -> bool:
        return "custom_id" in record and ("response" in record or "error" in record) and "body" not in record

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        custom_id = as_str(record.get("custom_id"))
        if not custom_id:
            raise Skip(MISSING_FIELD, "custom_id")
        response = object_field(record, "response") or {}
        status_code = as_int(response.get("status_code"), "response.status_code")
        body = maybe_json(response.get("body"))
        comp = _completion_fields(body if isinstance(body, dict) and "choices" in body else None)
        error = error_text(record.get("error"))
        if not error and status_code is not None and status_code >= 400:
            error = f"HTTP {status_code}: " + (error_text(body) or "")
        meta = drop_none([("batch_request_id", record.get("id")), ("request_id", response.get("request_id")),
                          ("status_code", status_code), ("finish_reason", comp.get("finish_reason"))])
        return new_row(
            id=custom_id,
            timestamp=comp.get("created"),
            model=comp.get("model"),
            response_text=comp.get("response_text"),
            n_tool_calls=comp.get("n_tool_calls", 0),
            prompt_tokens=comp.get("prompt_tokens"),
            completion_tokens=comp.get("completion_tokens"),
            status="error" if error else "ok",
            error=error,
            metadata=compact_json(meta),
        )
