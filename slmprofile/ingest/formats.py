"""One reader per log format, registered by name.

A reader turns one decoded record (a JSON object, a CSV row, a Parquet row) into one normalized row, or raises
:class:`~slmprofile.ingest.common.Skip`. Readers never see files: :mod:`slmprofile.ingest.sources` streams records
and :mod:`slmprofile.ingest.core` drives detection, counting and strict mode.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Mapping

from .common import (
    MISSING_FIELD,
    NO_STORED_MESSAGES,
    NOT_AN_LLM_CALL,
    WRONG_TYPE,
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
    invalid_value,
    maybe_json,
    normalize_conversation,
    parse_timestamp,
    response_text,
)

FORMATS: dict[str, type[LogFormat]] = {}


def register(cls: type[LogFormat]) -> type[LogFormat]:
    """Class decorator adding a reader to :data:`FORMATS` under its ``name``."""
    FORMATS[cls.name] = cls
    return cls


def get_format(name: str) -> LogFormat:
    """The reader registered as ``name``; an unknown name lists the valid ones."""
    try:
        return FORMATS[name]()
    except KeyError:
        raise ValueError(f"unknown log format {name!r}; valid formats: {', '.join(sorted(FORMATS))}") from None


def _error_text(value: Any) -> str | None:
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


def _latency_ms(start: Any, end: Any, field: str) -> float | None:
    """Milliseconds from ``start`` to ``end``; an end before the start is an invalid value of ``field``."""
    if start is None or end is None:
        return None
    ms = (end - start).total_seconds() * 1000.0
    return ms if ms >= 0 else invalid_value(field, f"ends {-ms:.0f} ms before it starts")


def _object(record: Mapping[str, Any], field: str, *, required: bool = False,
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


def _conversation_row(conv_raw: Any, field: str, *, system: Any = None) -> dict[str, Any]:
    if conv_raw in (None, "", []):
        raise Skip(MISSING_FIELD, field, "no request messages")
    conv = normalize_conversation(conv_raw, field=field, system=system)
    return {
        "messages": conv.messages,
        "system_prompt": conv.system_prompt,
        "prompt_text": conv.prompt_text,
        "n_non_text_parts": conv.n_non_text_parts,
    }


def _chat_request_meta(request: Mapping[str, Any]) -> dict[str, Any]:
    tools = request.get("tools") or request.get("functions") or []
    tools = tools if isinstance(tools, list) else []
    names = [get_path(t, "function.name") or t.get("name") for t in tools if isinstance(t, dict)]
    return drop_none([
        ("temperature", request.get("temperature")),
        ("max_tokens", request.get("max_tokens") or request.get("max_completion_tokens")),
        ("response_format", get_path(request, "response_format.type")),
        ("tools", names or None),
    ])


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
        request = _object(record, "request", required=True, detail="no request object (model and messages)")
        response = _object(record, "response")
        comp = _completion_fields(response)
        error = _error_text(record.get("error")) or _error_text((response or {}).get("error"))
        model = comp.get("model") or as_str(request.get("model"))
        timestamp = parse_timestamp(first_of(record, "timestamp", "created_at", "start_time"), "timestamp") \
            or comp.get("created")
        meta = _chat_request_meta(request)
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
            **_conversation_row(request.get("messages"), "request.messages"),
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
        body = _object(record, "body", required=True, detail="no request body")
        model = as_str(body.get("model"))
        meta = _chat_request_meta(body)
        meta["url"] = record.get("url")
        return new_row(
            id=custom_id,
            model=model,
            provider=infer_provider(model),
            **_conversation_row(body.get("messages") or body.get("input"), "body.messages"),
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
        response = _object(record, "response") or {}
        status_code = as_int(response.get("status_code"), "response.status_code")
        body = maybe_json(response.get("body"))
        comp = _completion_fields(body if isinstance(body, dict) and "choices" in body else None)
        error = _error_text(record.get("error"))
        if not error and status_code is not None and status_code >= 400:
            error = f"HTTP {status_code}: " + (_error_text(body) or "")
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


def _usage_pair(record: Mapping[str, Any], inputs: tuple[str, ...], outputs: tuple[str, ...]) -> tuple[int | None, int | None]:
    return (as_count(first_of(record, *inputs), inputs[0]), as_count(first_of(record, *outputs), outputs[0]))


@register
class Langfuse(LogFormat):
    """Langfuse observations export (GENERATION rows are model calls; spans and events are skipped)."""

    name = "langfuse"
    title = "Langfuse observations / traces export"
    example = {"id": "obs-1", "traceId": "tr-1", "type": "GENERATION", "startTime": "2026-10-03T14:22:05.000Z",
               "endTime": "2026-10-03T14:22:06.200Z", "model": "gpt-4o",
               "input": [{"role": "user", "content": "Extract the invoice fields: ..."}],
               "output": {"role": "assistant", "content": "{\"total\": 120.5}"},
               "usageDetails": {"input": 310, "output": 42, "total": 352}, "costDetails": {"total": 0.00120},
               "level": "DEFAULT", "userId": "u-7", "sessionId": "s-3"}

    def detect(self, record: Mapping[str, Any]) -> bool:
        return "traceId" in record and "startTime" in record

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        kind = str(record.get("type") or "GENERATION").upper()
        if kind != "GENERATION":
            raise Skip(NOT_AN_LLM_CALL, "type", f"type {kind}")
        start = parse_timestamp(record.get("startTime"), "startTime")
        end = parse_timestamp(record.get("endTime"), "endTime")
        latency = as_amount(record.get("latency"), "latency")
        prompt_tokens, completion_tokens = _usage_pair(
            record,
            ("usageDetails.input", "usage.input", "usage.promptTokens", "promptTokens", "usageDetails.prompt_tokens"),
            ("usageDetails.output", "usage.output", "usage.completionTokens", "completionTokens",
             "usageDetails.completion_tokens"),
        )
        text, n_tools = response_text(record.get("output"))
        level = str(record.get("level") or "DEFAULT").upper()
        error = as_str(record.get("statusMessage")) if level == "ERROR" else None
        model = as_str(first_of(record, "providedModelName", "model", "modelParameters.model"))
        meta = drop_none([
            ("traceId", record.get("traceId")), ("name", record.get("name")),
            ("promptName", record.get("promptName")), ("promptVersion", record.get("promptVersion")),
            ("environment", record.get("environment")), ("modelParameters", record.get("modelParameters")),
            ("metadata", maybe_json(record.get("metadata"))), ("level", level if level != "DEFAULT" else None),
        ])
        return new_row(
            id=as_str(record.get("id")),
            timestamp=start,
            model=model,
            provider=infer_provider(model, get_path(record, "metadata.provider")),
            **_conversation_row(record.get("input"), "input"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=as_amount(first_of(record, "costDetails.total", "totalCost", "calculatedTotalCost"),
                              "costDetails.total"),
            latency_ms=latency * 1000.0 if latency is not None else _latency_ms(start, end, "endTime"),
            status="error" if level == "ERROR" else "ok",
            error=error or ("error" if level == "ERROR" else None),
            user_id=as_str(first_of(record, "userId", "trace.userId")),
            session_id=as_str(first_of(record, "sessionId", "trace.sessionId")),
            metadata=compact_json(meta),
        )


@register
class Helicone(LogFormat):
    """Helicone request export (CSV or JSON/JSONL, exported with the request and response bodies)."""

    name = "helicone"
    title = "Helicone request export (CSV / JSONL)"
    example = {"response_id": "resp-1", "request_created_at": "2026-10-03T14:22:05Z", "response_status": 200,
               "request_body": "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
               "response_body": "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"}}]}",
               "model": "gpt-4o", "prompt_tokens": 8, "completion_tokens": 3, "latency": 420, "cost": 0.00005,
               "request_user_id": "u-1"}

    def detect(self, record: Mapping[str, Any]) -> bool:
        return "response_id" in record and ("request_created_at" in record or "request_body" in record)

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        request = maybe_json(record.get("request_body"))
        if not isinstance(request, dict):
            raise Skip(MISSING_FIELD, "request_body",
                       "no request body (export with the request/response bodies included)")
        response = maybe_json(record.get("response_body"))
        status_code = as_int(record.get("response_status"), "response_status")
        text, n_tools = response_text(response) if isinstance(response, dict) and "error" not in response \
            else (None, 0)
        error = None
        if (status_code is not None and status_code >= 400) or (isinstance(response, dict) and "error" in response):
            error = f"HTTP {status_code}: " if status_code else ""
            error += _error_text(response) or "error"
        model = as_str(first_of(record, "model", "response_model", "request_model")) or as_str(request.get("model"))
        props = maybe_json(record.get("request_properties"))
        meta = _chat_request_meta(request)
        meta.update(drop_none([("properties", props), ("status_code", status_code)]))
        return new_row(
            id=as_str(first_of(record, "response_id", "request_id")),
            timestamp=parse_timestamp(first_of(record, "request_created_at", "response_created_at"),
                                      "request_created_at"),
            model=model,
            provider=infer_provider(model, record.get("provider")),
            **_conversation_row(request.get("messages"), "request_body.messages", system=request.get("system")),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=as_count(record.get("prompt_tokens"), "prompt_tokens"),
            completion_tokens=as_count(record.get("completion_tokens"), "completion_tokens"),
            cost_usd=as_amount(first_of(record, "cost", "cost_usd"), "cost"),
            latency_ms=as_amount(record.get("latency"), "latency"),
            status="error" if error else "ok",
            error=error,
            user_id=as_str(first_of(record, "request_user_id", "user_id")),
            session_id=as_str(get_path(props, "Helicone-Session-Id")) if isinstance(props, dict) else None,
            metadata=compact_json(meta),
        )


@register
class LiteLLM(LogFormat):
    """LiteLLM proxy spend logs (``LiteLLM_SpendLogs`` rows / ``/spend/logs``)."""

    name = "litellm"
    title = "LiteLLM proxy spend logs"
    example = {"request_id": "chatcmpl-9", "call_type": "acompletion", "spend": 0.00021, "prompt_tokens": 55,
               "completion_tokens": 9, "startTime": "2026-10-03T14:22:05Z", "endTime": "2026-10-03T14:22:05.700Z",
               "model": "gpt-4o-mini", "user": "u-2",
               "messages": [{"role": "user", "content": "Translate to German: good morning"}],
               "response": {"choices": [{"message": {"role": "assistant", "content": "Guten Morgen"}}]}}

    def detect(self, record: Mapping[str, Any]) -> bool:
        return "request_id" in record and "spend" in record and "startTime" in record

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        messages = maybe_json(record.get("messages"))
        if messages in (None, "", [], {}):
            raise Skip(NO_STORED_MESSAGES, "messages", "prompt storage was off for this call")
        start = parse_timestamp(record.get("startTime"), "startTime")
        end = parse_timestamp(record.get("endTime"), "endTime")
        metadata = maybe_json(record.get("metadata"))
        response = maybe_json(record.get("response"))
        text, n_tools = response_text(response) if response not in (None, "", {}) else (None, 0)
        status = str(record.get("status") or "success").lower()
        error = None
        if status not in ("success", "ok"):
            error = _error_text(get_path(metadata or {}, "error_information")) or status
        model = as_str(first_of(record, "model", "model_group"))
        meta = drop_none([
            ("call_type", record.get("call_type")), ("model_group", record.get("model_group")),
            ("api_base", record.get("api_base")), ("team_id", record.get("team_id")),
            ("cache_hit", maybe_json(record.get("cache_hit")) in (True, "True", "true") or None),
            ("request_tags", maybe_json(record.get("request_tags"))), ("metadata", metadata),
        ])
        return new_row(
            id=as_str(record.get("request_id")),
            timestamp=start,
            model=model,
            provider=infer_provider(model, get_path(metadata or {}, "custom_llm_provider")),
            **_conversation_row(messages, "messages"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=as_count(record.get("prompt_tokens"), "prompt_tokens"),
            completion_tokens=as_count(record.get("completion_tokens"), "completion_tokens"),
            cost_usd=as_amount(record.get("spend"), "spend"),
            latency_ms=_latency_ms(start, end, "endTime"),
            status="error" if error else "ok",
            error=error,
            user_id=as_str(first_of(record, "end_user", "user")),
            session_id=as_str(get_path(metadata or {}, "session_id")),
            metadata=compact_json(meta),
        )


@register
class LangSmith(LogFormat):
    """LangSmith runs export (``llm`` runs are model calls; chains, tools and retrievers are skipped)."""

    name = "langsmith"
    title = "LangSmith runs export"
    example = {"id": "run-1", "run_type": "llm", "start_time": "2026-10-03T14:22:05Z",
               "end_time": "2026-10-03T14:22:07Z",
               "inputs": {"messages": [[{"lc": 1, "type": "constructor",
                                         "id": ["langchain", "schema", "messages", "HumanMessage"],
                                         "kwargs": {"content": "Write a SQL query that ..."}}]]},
               "outputs": {"generations": [[{"text": "SELECT ..."}]]},
               "extra": {"invocation_params": {"model": "gpt-4o"}, "metadata": {"user_id": "u-4"}},
               "prompt_tokens": 120, "completion_tokens": 30, "total_cost": 0.0006}

    def detect(self, record: Mapping[str, Any]) -> bool:
        return "run_type" in record and "inputs" in record and "start_time" in record

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        run_type = str(record.get("run_type") or "").lower()
        if run_type not in ("llm", "chat_model"):
            raise Skip(NOT_AN_LLM_CALL, "run_type", f"run_type {run_type or 'missing'}")
        extra = maybe_json(record.get("extra"))
        extra = extra if isinstance(extra, dict) else {}  # run metadata only: a malformed one is ignored
        start = parse_timestamp(record.get("start_time"), "start_time")
        end = parse_timestamp(record.get("end_time"), "end_time")
        text, n_tools = response_text(record.get("outputs"))
        error = as_str(record.get("error"))
        model = as_str(first_of(extra, "invocation_params.model", "invocation_params.model_name",
                                "metadata.ls_model_name")) or as_str(record.get("model"))
        meta = drop_none([("name", record.get("name")), ("trace_id", record.get("trace_id")),
                          ("tags", record.get("tags")), ("metadata", get_path(extra, "metadata")),
                          ("feedback_stats", maybe_json(record.get("feedback_stats")))])
        return new_row(
            id=as_str(record.get("id")),
            timestamp=start,
            model=model,
            provider=infer_provider(model, get_path(extra, "metadata.ls_provider")),
            **_conversation_row(maybe_json(record.get("inputs")), "inputs.messages"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=as_count(record.get("prompt_tokens"), "prompt_tokens"),
            completion_tokens=as_count(record.get("completion_tokens"), "completion_tokens"),
            cost_usd=as_amount(record.get("total_cost"), "total_cost"),
            latency_ms=_latency_ms(start, end, "end_time"),
            status="error" if error or str(record.get("status") or "").lower() == "error" else "ok",
            error=error,
            user_id=as_str(first_of(extra, "metadata.user_id", "metadata.userId")),
            session_id=as_str(first_of(extra, "metadata.thread_id", "metadata.session_id")),
            metadata=compact_json(meta),
        )


@register
class PostHog(LogFormat):
    """PostHog ``$ai_generation`` events (nested ``properties`` or flattened columns)."""

    name = "posthog"
    title = "PostHog $ai_generation events"
    example = {"event": "$ai_generation", "distinct_id": "u-5", "timestamp": "2026-10-03T14:22:05Z",
               "properties": {"$ai_model": "gpt-4o-mini", "$ai_provider": "openai",
                              "$ai_input": [{"role": "user", "content": "Tag this review: great app"}],
                              "$ai_output_choices": [{"role": "assistant", "content": "positive"}],
                              "$ai_input_tokens": 12, "$ai_output_tokens": 1, "$ai_latency": 0.4,
                              "$ai_total_cost_usd": 0.00001}}

    def detect(self, record: Mapping[str, Any]) -> bool:
        props = maybe_json(record.get("properties"))
        return record.get("event") == "$ai_generation" or "$ai_model" in record or (
            isinstance(props, dict) and "$ai_model" in props)

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        props = maybe_json(record.get("properties"))
        p: Mapping[str, Any] = props if isinstance(props, dict) else record
        latency = as_amount(p.get("$ai_latency"), "$ai_latency")
        text, n_tools = response_text(p.get("$ai_output_choices"))
        is_error = maybe_json(p.get("$ai_is_error")) in (True, "true", "True")
        model = as_str(p.get("$ai_model"))
        meta = {k: v for k, v in p.items() if not str(k).startswith("$ai_")}
        meta.update(drop_none([("trace_id", p.get("$ai_trace_id")), ("http_status", p.get("$ai_http_status"))]))
        return new_row(
            id=as_str(first_of(record, "uuid", "id")) or as_str(p.get("$ai_span_id")),
            timestamp=parse_timestamp(record.get("timestamp"), "timestamp"),
            model=model,
            provider=infer_provider(model, p.get("$ai_provider")),
            **_conversation_row(p.get("$ai_input"), "properties.$ai_input"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=as_count(p.get("$ai_input_tokens"), "$ai_input_tokens"),
            completion_tokens=as_count(p.get("$ai_output_tokens"), "$ai_output_tokens"),
            cost_usd=as_amount(p.get("$ai_total_cost_usd"), "$ai_total_cost_usd"),
            latency_ms=latency * 1000.0 if latency is not None else None,
            status="error" if is_error else "ok",
            error=as_str(p.get("$ai_error")) if is_error else None,
            user_id=as_str(record.get("distinct_id")),
            session_id=as_str(p.get("$ai_session_id")),
            metadata=compact_json(meta),
        )


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
            **_conversation_row(messages, "messages"),
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
            conv = _conversation_row(values.pop("messages"), mapping["messages"], system=values.pop("system_prompt", None))
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


#: Formats tried, in order, when auto-detecting (the generic table comes last).
DETECTION_ORDER = ("openai_batch_input", "openai_batch_output", "openai_chat", "langfuse", "helicone", "litellm",
                   "langsmith", "posthog", "chat_transcript", "table")
