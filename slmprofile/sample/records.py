"""One writer per log format: a :class:`~slmprofile.sample.calls.Call` as an OpenAI request/response log line, a
Langfuse observation (plus the spans and events around some), a Helicone CSV row or a LiteLLM spend-log row."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

from .calls import Call, call_cost, iso, r8, uuid
from .mix import MODELS

_FINGERPRINTS = {"gpt-4o": "fp_50cad350e4", "gpt-4.1": "fp_b3f1157249"}
_PROMPT_MGMT = {"strategy_question.st1_advisor_system": ("leadership-advisor", 2)}


def _chat_completion(c: Call, resp_id: str) -> dict[str, Any]:
    dated = MODELS[c.model][0]
    msg: dict[str, Any] = {"role": "assistant", "content": c.draft.response}
    if c.draft.tool_calls:
        msg = {"role": "assistant", "content": None, "tool_calls": c.draft.tool_calls}
    body: dict[str, Any] = {
        "id": resp_id, "object": "chat.completion", "created": int(c.when.timestamp()), "model": dated,
        "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if c.draft.tool_calls else "stop"}],
        "usage": {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
                  "total_tokens": c.prompt_tokens + c.completion_tokens},
    }
    if c.model in _FINGERPRINTS:
        body["system_fingerprint"] = _FINGERPRINTS[c.model]
    return body


def _chat_request(c: Call, with_user: bool) -> dict[str, Any]:
    req: dict[str, Any] = {"model": c.model, "messages": c.draft.messages}
    if c.draft.tools:
        req["tools"] = c.draft.tools
        req["tool_choice"] = "auto"
    req["temperature"] = c.draft.temperature
    req["max_tokens"] = c.draft.max_tokens
    if with_user:
        req["user"] = c.user
    return req


def _error_payload(c: Call) -> tuple[str, str, str]:
    """(type, code, message) of a failed attempt."""
    if c.error == 429:
        dated = MODELS[c.model][0]
        limit = 800_000 if c.model == "gpt-4o" else 2_000_000
        requested = c.prompt_tokens + c.draft.max_tokens
        used = limit - int(c.extra["used_frac"] * (requested - 1))
        return ("rate_limit_error", "429",
                f"Rate limit reached for {c.model} in organization org-nwAnalytics on tokens per min (TPM): Limit "
                f"{limit}, Used {used}, Requested {requested}. Please try again in {c.extra['wait']}s. (model: {dated})")
    return ("server_error", "500", "The server had an error while processing your request. Sorry about that!")


def openai_record(c: Call) -> dict[str, Any]:
    """One line of the OpenAI request/response log (batch jobs and DataBot)."""
    rec: dict[str, Any] = {"timestamp": iso(c.when), "latency_ms": c.latency_ms, "request": _chat_request(c, True)}
    if c.error:
        etype, code, msg = _error_payload(c)
        rec["request_id"] = c.id
        rec["response"] = None
        rec["error"] = {"type": etype, "code": code, "message": msg}
    else:
        rec["response"] = _chat_completion(c, c.id)
    return rec


def langfuse_record(c: Call) -> dict[str, Any]:
    """One Langfuse GENERATION observation (Insights Copilot)."""
    end = c.when + timedelta(milliseconds=c.latency_ms)
    dated = MODELS[c.model][0]
    pname, pver = c.draft.prompt_name, c.draft.prompt_version
    if pname is None and c.draft.template in _PROMPT_MGMT:
        pname, pver = _PROMPT_MGMT[c.draft.template]
    rec: dict[str, Any] = {
        "id": c.id, "traceId": c.trace_id, "type": "GENERATION",
        "name": c.extra["obs_name"], "startTime": iso(c.when), "endTime": iso(end),
        "completionStartTime": None if c.error else iso(c.when + timedelta(milliseconds=c.ttft_ms)),
        "model": dated, "modelParameters": {"temperature": c.draft.temperature, "max_tokens": c.draft.max_tokens},
        "input": c.draft.messages,
    }
    if c.error:
        etype, code, msg = _error_payload(c)
        rec["output"] = None
        rec["usageDetails"] = {"input": 0, "output": 0, "total": 0}
        rec["costDetails"] = {"input": 0.0, "output": 0.0, "total": 0.0}
    else:
        rec["output"] = {"role": "assistant", "content": c.draft.response}
        rec["usageDetails"] = {"input": c.prompt_tokens, "output": c.completion_tokens,
                               "total": c.prompt_tokens + c.completion_tokens}
        ci, co = call_cost(c.model, c.prompt_tokens, c.completion_tokens) or (0.0, 0.0)
        rec["costDetails"] = {"input": r8(ci), "output": r8(co), "total": r8(ci + co)}
    rec["latency"] = round(c.latency_ms / 1000, 3)
    rec["level"] = "ERROR" if c.error else "DEFAULT"
    rec["statusMessage"] = (f"Error code: {code} - {{'error': {{'message': '{msg}', 'type': '{etype}'}}}}"
                            if c.error else None)
    rec["metadata"] = c.extra["metadata"]
    rec["userId"] = c.user
    rec["sessionId"] = c.extra["session"]
    rec["promptName"] = pname
    rec["promptVersion"] = pver
    rec["parentObservationId"] = None
    rec["environment"] = "production"
    return rec


def helicone_row(c: Call) -> list[str]:
    """One row of the Helicone CSV export (support desk), in ``HELICONE_COLUMNS`` order."""
    end = c.when + timedelta(milliseconds=c.latency_ms)
    req = json.dumps(_chat_request(c, False), ensure_ascii=False, separators=(",", ":"))
    if c.error:
        etype, code, msg = _error_payload(c)
        body = json.dumps({"error": {"message": msg, "type": etype if c.error == 500 else "tokens", "param": None,
                                     "code": "rate_limit_exceeded" if c.error == 429 else None}},
                          ensure_ascii=False, separators=(",", ":"))
        pt, ct, cost = 0, 0, 0.0
    else:
        body = json.dumps(_chat_completion(c, c.resp_id), ensure_ascii=False, separators=(",", ":"))
        pt, ct = c.prompt_tokens, c.completion_tokens
        cost = sum(call_cost(c.model, pt, ct) or (0.0, 0.0))
    return [c.id, iso(end), str(c.error or 200), iso(c.when), req, body,
            json.dumps(c.extra["properties"], ensure_ascii=False, separators=(",", ":")), c.user, MODELS[c.model][0], str(pt), str(ct),
            str(c.latency_ms), f"{cost:.6f}"]


def litellm_record(c: Call) -> dict[str, Any]:
    """One LiteLLM proxy spend-log row (internal tools)."""
    end = c.when + timedelta(milliseconds=c.latency_ms)
    alias, team, tags = c.extra["key"]
    dated, provider = MODELS[c.model][0], MODELS[c.model][1]
    cost = 0.0 if (c.error or c.cache_hit) else sum(call_cost(c.model, c.prompt_tokens, c.completion_tokens) or (0.0, 0.0))
    pt, ct = (0, 0) if c.error else (c.prompt_tokens, c.completion_tokens)
    meta: dict[str, Any] = {"user_api_key_alias": alias, "user_api_key_team_alias": team,
                            "user_api_key_user_id": c.user}
    if c.error:
        etype, code, msg = _error_payload(c)
        meta["error_information"] = {"error_code": code, "error_class": "RateLimitError" if c.error == 429 else "InternalServerError",
                                     "error_message": f"litellm.{'RateLimitError' if c.error == 429 else 'InternalServerError'}: {msg}"}
    return {
        "request_id": c.id, "call_type": "acompletion", "api_key": c.extra["api_key"], "spend": r8(cost),
        "total_tokens": pt + ct, "prompt_tokens": pt, "completion_tokens": ct,
        "startTime": iso(c.when), "endTime": iso(end),
        "completionStartTime": iso(end if c.error else c.when + timedelta(milliseconds=c.ttft_ms)),
        "model": dated, "model_group": c.model, "model_id": c.extra["model_id"],
        "api_base": "https://api.anthropic.com/v1/messages" if provider == "anthropic" else "https://api.openai.com/v1",
        "user": c.user, "end_user": c.extra["end_user"], "team_id": c.extra["team_id"], "metadata": meta,
        "cache_hit": c.cache_hit, "cache_key": c.extra["cache_key"], "request_tags": list(tags),
        "messages": [] if c.hidden else c.draft.messages,
        "response": {} if (c.hidden or c.error) else _chat_completion(c, c.id),
        "status": "failure" if c.error else "success",
    }


def langfuse_extras(rng: random.Random, gens: list[Call]) -> dict[int, list[tuple[str, str]]]:
    """SPAN and EVENT observations around some generations (~5% of the file); readers skip them."""
    out: dict[int, list[tuple[str, str]]] = {}
    for c in rng.sample(gens, min(len(gens), round(len(gens) * 0.055))):
        base = {"id": uuid(rng), "traceId": c.trace_id}
        if c.task == "sql_generation" and rng.random() < 0.7:
            t0 = c.when - timedelta(milliseconds=rng.randint(120, 900))
            rec = {**base, "type": "SPAN", "name": "fetch-schema", "startTime": iso(t0),
                   "endTime": iso(t0 + timedelta(milliseconds=rng.randint(40, 110))), "completionStartTime": None,
                   "model": None, "modelParameters": None, "input": {"workspace_id": c.extra["metadata"]["workspace_id"]},
                   "output": {"tables": rng.randint(3, 5), "cached": rng.random() < 0.6}, "usageDetails": {},
                   "costDetails": {}, "latency": None, "level": "DEFAULT", "statusMessage": None,
                   "metadata": c.extra["metadata"], "userId": c.user, "sessionId": c.extra["session"],
                   "promptName": None, "promptVersion": None, "parentObservationId": None, "environment": "production"}
            out.setdefault(c.seq, []).append(("PRE", json.dumps(rec, ensure_ascii=False, separators=(",", ":"))))
        else:
            t0 = c.when + timedelta(milliseconds=c.latency_ms + rng.randint(3000, 90000))
            score = 1 if rng.random() < 0.8 else -1
            rec = {**base, "type": "EVENT", "name": "user-feedback", "startTime": iso(t0), "endTime": None,
                   "completionStartTime": None, "model": None, "modelParameters": None,
                   "input": {"score": score, "comment": None if rng.random() < 0.7
                             else rng.choice(("helpful", "wrong table", "thanks!", "too long"))},
                   "output": None, "usageDetails": {}, "costDetails": {}, "latency": None, "level": "DEFAULT",
                   "statusMessage": None, "metadata": {"source": "thumbs"}, "userId": c.user,
                   "sessionId": c.extra["session"], "promptName": None, "promptVersion": None,
                   "parentObservationId": c.id, "environment": "production"}
            out.setdefault(c.seq, []).append(("POST", json.dumps(rec, ensure_ascii=False, separators=(",", ":"))))
    return out
