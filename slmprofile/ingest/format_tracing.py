"""Readers of LLM observability and gateway exports: Langfuse, Helicone, LiteLLM, LangSmith and PostHog."""

from __future__ import annotations

from typing import Any, Mapping

from .common import (
    MISSING_FIELD,
    NO_STORED_MESSAGES,
    NOT_AN_LLM_CALL,
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
    elapsed_ms,
    error_text,
    new_row,
    register,
)
from .messages import response_text


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
            **conversation_fields(record.get("input"), "input"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=as_amount(first_of(record, "costDetails.total", "totalCost", "calculatedTotalCost"),
                              "costDetails.total"),
            latency_ms=latency * 1000.0 if latency is not None else elapsed_ms(start, end, "endTime"),
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
            error += error_text(response) or "error"
        model = as_str(first_of(record, "model", "response_model", "request_model")) or as_str(request.get("model"))
        props = maybe_json(record.get("request_properties"))
        meta = chat_request_meta(request)
        meta.update(drop_none([("properties", props), ("status_code", status_code)]))
        return new_row(
            id=as_str(first_of(record, "response_id", "request_id")),
            timestamp=parse_timestamp(first_of(record, "request_created_at", "response_created_at"),
                                      "request_created_at"),
            model=model,
            provider=infer_provider(model, record.get("provider")),
            **conversation_fields(request.get("messages"), "request_body.messages", system=request.get("system")),
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
            error = error_text(get_path(metadata or {}, "error_information")) or status
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
            **conversation_fields(messages, "messages"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=as_count(record.get("prompt_tokens"), "prompt_tokens"),
            completion_tokens=as_count(record.get("completion_tokens"), "completion_tokens"),
            cost_usd=as_amount(record.get("spend"), "spend"),
            latency_ms=elapsed_ms(start, end, "endTime"),
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
            **conversation_fields(maybe_json(record.get("inputs")), "inputs.messages"),
            response_text=text,
            n_tool_calls=n_tools,
            prompt_tokens=as_count(record.get("prompt_tokens"), "prompt_tokens"),
            completion_tokens=as_count(record.get("completion_tokens"), "completion_tokens"),
            cost_usd=as_amount(record.get("total_cost"), "total_cost"),
            latency_ms=elapsed_ms(start, end, "end_time"),
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
            **conversation_fields(p.get("$ai_input"), "properties.$ai_input"),
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
