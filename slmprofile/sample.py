"""A seeded, reproducible sample of a fictional company's LLM traffic, in four real log formats.

``generate_sample(out_dir)`` writes what a team at "Northwind Analytics" (a B2B analytics SaaS) would export after a
month of LLM use: each internal service logs through a different tool, so the calls are spread over

* ``logs/openai_chat.jsonl``: batch jobs (invoice extraction, review sentiment, NPS tagging) and the DataBot
  Slack bot (SQL through a ``run_sql`` tool call), logged as raw OpenAI request/response pairs;
* ``logs/langfuse_observations.jsonl``: the Insights Copilot (SQL, metrics maths, strategy questions, small talk),
  traced with Langfuse;
* ``logs/helicone_export.csv``: the support desk (ticket triage, reply drafts, help-center answers, translation of
  incoming tickets), proxied through Helicone;
* ``logs/litellm_spend_logs.jsonl.gz``: internal tools behind a LiteLLM proxy (PR review bot, meeting-notes bot, HR bot,
  Slack assistant, localization pipeline, release notes, ...);

plus ``truth.csv`` (the task type, template and planted PII of every real call, keyed by the id a reader assigns)
and ``README.md``. Everything is pure stdlib and depends only on the arguments: the same seed gives byte-identical
files. ``generate_sample(out_dir, drift=True)`` also writes the month after under ``month2/`` (same layout), where the
task mix shifts, invoice extraction gets harder for the small model and a new task (résumé screening, built in
:mod:`slmprofile.sample_drift`) appears, with the ground truth of those changes in ``month2/drift_truth.json``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import gzip
import io
import json
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from slmprofile import sample_content as content
from slmprofile.sample_content import Ctx, Draft
from slmprofile.sample_drift import build_resume_screening

__all__ = ["SampleSummary", "generate_sample", "TASK_FAMILIES", "LOG_FILES", "DRIFT_DIR", "DRIFT_TRUTH"]

#: the task that only the drifted second month (``generate_sample(..., drift=True)``) has
NEW_TASK = "resume_screening"
#: task type -> family, for every task the sample contains (plus the marker for calls without stored messages)
TASK_FAMILIES: dict[str, str] = {**dict(content.TASKS), NEW_TASK: "extraction", "unknown_no_messages": "unknown"}
DRIFT_DIR = "month2"  # where ``drift=True`` writes the second month, under the output folder
DRIFT_TRUTH = "drift_truth.json"  # what changed between the months, in DRIFT_DIR

LOG_FILES = {
    "batch": "logs/openai_chat.jsonl",
    "copilot": "logs/langfuse_observations.jsonl",
    "support": "logs/helicone_export.csv",
    "internal": "logs/litellm_spend_logs.jsonl.gz",
}
_FILE_ORDER = ("batch", "copilot", "support", "internal")
HELICONE_COLUMNS = (
    "response_id", "response_created_at", "response_status", "request_created_at", "request_body", "response_body",
    "request_properties", "request_user_id", "model", "prompt_tokens", "completion_tokens", "latency", "cost",
)
FT_MODEL = "northwind-ft-llama-8b"

# alias -> (dated name, provider, $/1M input, $/1M output, mean time-to-first-token ms, ms per output token)
_MODELS: dict[str, tuple[str, str, float | None, float | None, float, float]] = {
    "gpt-4o": ("gpt-4o-2024-08-06", "openai", 2.50, 10.00, 380.0, 11.0),
    "gpt-4.1": ("gpt-4.1-2025-04-14", "openai", 2.00, 8.00, 450.0, 13.0),
    "claude-sonnet-4": ("claude-sonnet-4-20250514", "anthropic", 3.00, 15.00, 720.0, 17.0),
    FT_MODEL: (FT_MODEL, "self-hosted", None, None, 110.0, 5.5),
}
_FINGERPRINTS = {"gpt-4o": "fp_50cad350e4", "gpt-4.1": "fp_b3f1157249"}

# share of all calls per task (the mix a month of Northwind traffic has)
_TASK_WEIGHTS = {
    "ticket_triage": 14, "review_sentiment": 9, "invoice_extraction": 7, "keyword_extraction": 6,
    "meeting_summary": 6, "email_drafting": 9, "translation": 8, "release_notes": 4, "sql_generation": 9,
    "code_review": 6, "math_word_problem": 4, "strategy_question": 4, "faq_answer": 8, "chit_chat": 6,
}
# which service (hence which log file) makes each task's calls
_TASK_SERVICES = {
    "ticket_triage": (("support", 1.0),), "review_sentiment": (("batch", 1.0),),
    "invoice_extraction": (("batch", 1.0),), "keyword_extraction": (("batch", 1.0),),
    "meeting_summary": (("internal", 1.0),), "email_drafting": (("support", 0.65), ("internal", 0.35)),
    "translation": (("internal", 0.75), ("support", 0.25)), "release_notes": (("internal", 1.0),),
    "sql_generation": (("copilot", 0.75), ("batch", 0.25)), "code_review": (("internal", 1.0),),
    "math_word_problem": (("copilot", 1.0),), "strategy_question": (("copilot", 0.8), ("internal", 0.2)),
    "faq_answer": (("support", 0.65), ("internal", 0.35)), "chit_chat": (("internal", 0.8), ("copilot", 0.2)),
}
# (task, service) -> model aliases with weights
_TASK_MODELS = {
    ("review_sentiment", "batch"): (("gpt-4o", 1.0),), ("invoice_extraction", "batch"): (("gpt-4o", 1.0),),
    ("keyword_extraction", "batch"): (("gpt-4.1", 1.0),), ("sql_generation", "batch"): (("gpt-4o", 1.0),),
    ("sql_generation", "copilot"): (("gpt-4.1", 1.0),), ("math_word_problem", "copilot"): (("gpt-4.1", 0.8), ("gpt-4o", 0.2)),
    ("strategy_question", "copilot"): (("claude-sonnet-4", 0.75), ("gpt-4.1", 0.25)),
    ("chit_chat", "copilot"): (("gpt-4o", 1.0),),
    ("email_drafting", "support"): (("gpt-4o", 1.0),), ("translation", "support"): (("gpt-4o", 1.0),),
    ("faq_answer", "support"): (("gpt-4o", 1.0),),
    ("meeting_summary", "internal"): (("claude-sonnet-4", 0.7), ("gpt-4.1", 0.3)),
    ("email_drafting", "internal"): (("claude-sonnet-4", 1.0),),
    ("translation", "internal"): (("gpt-4o", 0.7), ("claude-sonnet-4", 0.3)),
    ("release_notes", "internal"): (("claude-sonnet-4", 0.6), ("gpt-4.1", 0.4)),
    ("code_review", "internal"): (("claude-sonnet-4", 0.85), ("gpt-4.1", 0.15)),
    ("strategy_question", "internal"): (("claude-sonnet-4", 1.0),),
    ("faq_answer", "internal"): (("gpt-4.1", 1.0),), ("chit_chat", "internal"): (("gpt-4o", 1.0),),
}
# LiteLLM virtual keys: feature -> (key alias, team, request tags)
_LITELLM_KEYS = {
    "pr-review": ("pr-bot", "engineering", ("github", "pr-review")), "notes-bot": ("notes-bot", "operations", ("zoom",)),
    "nori": ("nori-slack", "workplace", ()), "peoplebot": ("peoplebot", "people", ()),
    "localization": ("loc-pipeline", "marketing", ("i18n",)), "reply-assist": ("cs-outreach", "customer-success", ()),
    "release-notes": ("release-bot", "product", ()), "leadership-advisor": ("exec-assistant", "leadership", ()),
}
_BATCH_USERS = {"ap-invoice-batch": "svc-ap-invoices", "review-insights": "svc-review-insights",
                "nps-tagging": "svc-nps-tagging", "help-center-tagging": "svc-nps-tagging"}
_PROMPT_MGMT = {"strategy_question.st1_advisor_system": ("leadership-advisor", 2)}
#: task -> (candidate SLM success rate, frontier success rate) the offline eval is drawn from: the sample's known
#: difficulty. Within a task, longer prompts are harder (see :func:`_write_evals`).
SLM_DIFFICULTY: dict[str, tuple[float, float]] = {
    "ticket_triage": (0.992, 0.99), "review_sentiment": (0.994, 0.99), "keyword_extraction": (0.97, 0.98),
    "invoice_extraction": (0.93, 0.99), "translation": (0.95, 0.98), "faq_answer": (0.90, 0.97),
    "chit_chat": (0.99, 0.99), "email_drafting": (0.91, 0.98), "meeting_summary": (0.84, 0.97),
    "release_notes": (0.88, 0.97), "sql_generation": (0.74, 0.95), "code_review": (0.66, 0.93),
    "math_word_problem": (0.58, 0.94), "strategy_question": (0.52, 0.90),
}
EVAL_FILE = "evals/offline_eval.csv"
EVAL_SLM = "llama-3.1-8b-instruct"
# month 2 (``drift=True``): these task weights change, invoice extraction gets harder for the small model, a
# recruiting tool starts screening résumés through the LiteLLM proxy and prompt storage is on all month
_DRIFT_WEIGHTS = {"ticket_triage": 7, "chit_chat": 11, "sql_generation": 13, "release_notes": 2, "translation": 5,
                  NEW_TASK: 7}
_DRIFT_DIFFICULTY = {"invoice_extraction": (0.65, 0.99), NEW_TASK: (0.80, 0.96)}
_OFFICE_HOURS = (1, .5, .3, .3, .3, .5, 1.5, 4, 7, 9, 9, 8, 7, 8, 10, 11, 11, 10, 9, 7, 6, 4, 3, 2)
_SUPPORT_HOURS = (2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8, 8, 8, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2.5)


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate_sample` wrote."""

    out_dir: str
    n_calls: int  # real calls = rows of truth.csv
    seed: int
    files: dict[str, int]  # path relative to out_dir -> lines (JSONL, README) or data rows (CSV)
    task_counts: dict[str, int]  # task type -> calls in truth.csv
    drift: SampleSummary | None = None  # the second month (under month2/), with ``drift=True``


@dataclass(frozen=True)
class _Mix:
    """What one month of traffic is made of: its task mix and everything that is looked up by task."""

    weights: dict[str, int]
    services: dict[str, tuple[tuple[str, float], ...]]
    models: dict[tuple[str, str], tuple[tuple[str, float], ...]]
    difficulty: dict[str, tuple[float, float]]
    builders: dict[str, Callable[[random.Random, Ctx], Draft]]
    litellm_keys: dict[str, tuple[str, str, tuple[str, ...]]]
    hidden_share: float = 0.03  # share of LiteLLM rows written before prompt storage was switched on
    continued: bool = False  # a later month: month 1's rollouts (triage on gpt-4.1, support app 2.4.0) are done


_BASE_MIX = _Mix(weights=_TASK_WEIGHTS, services=_TASK_SERVICES, models=_TASK_MODELS, difficulty=SLM_DIFFICULTY,
                 builders=content.BUILDERS, litellm_keys=_LITELLM_KEYS)


def _drifted(mix: _Mix) -> _Mix:
    """Month 2: the task mix shifts, invoice extraction gets harder for the SLM, résumé screening appears."""
    return replace(
        mix, weights={**mix.weights, **_DRIFT_WEIGHTS}, services={**mix.services, NEW_TASK: (("internal", 1.0),)},
        models={**mix.models, (NEW_TASK, "internal"): (("gpt-4.1", 0.7), ("claude-sonnet-4", 0.3))},
        difficulty={**mix.difficulty, **_DRIFT_DIFFICULTY}, builders={**mix.builders, NEW_TASK: build_resume_screening},
        litellm_keys={**mix.litellm_keys, "talent-screen": ("talent-screen", "people", ("ats",))},
        hidden_share=0.0, continued=True)


@dataclass
class _Call:
    seq: int
    task: str
    service: str
    model: str
    when: datetime
    draft: Draft
    user: str
    ttft_ms: int = 0
    latency_ms: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: int | None = None  # HTTP status of a failed attempt
    cache_hit: bool = False
    hidden: bool = False  # LiteLLM row written before prompt storage was turned on
    truth: bool = True  # False for the deliberately truncated lines
    id: str = ""
    resp_id: str = ""  # the provider's chat-completion id, where the logger keeps it separately
    trace_id: str = ""
    duplicate_of: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------------ helpers
def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    h = h[:12] + "4" + h[13:16] + "89ab"[int(h[16], 16) % 4] + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(content._ALNUM) for _ in range(n))


def _pick(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _quotas(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``total`` by ``weights`` (deterministic, in key order)."""
    s = sum(weights.values())
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    left = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))[:left]:
        out[k] += 1
    return out


def _text_tokens(s: str) -> int:
    ascii_chars = sum(1 for c in s if ord(c) < 128)
    return max(1, round(ascii_chars / 4 + (len(s) - ascii_chars) * 0.75))


def _prompt_tokens(d: Draft) -> int:
    n = 3
    for m in d.messages:
        n += 4
        c = m.get("content")
        if isinstance(c, str):
            n += _text_tokens(c)
        elif isinstance(c, list):
            for part in c:
                if part.get("type") == "text":
                    n += _text_tokens(part["text"])
                else:
                    n += 765  # one high-detail image tile set
    if d.tools:
        n += _text_tokens(json.dumps(d.tools)) + 10
    return n


def _completion_tokens(d: Draft) -> int:
    if d.tool_calls:
        return sum(_text_tokens(tc["function"]["arguments"]) + 8 for tc in d.tool_calls)
    return _text_tokens(d.response or "") + 1


def _cost(model: str, pt: int, ct: int) -> tuple[float, float] | None:
    _, _, pin, pout, _, _ = _MODELS[model]
    if pin is None or pout is None:
        return None
    return pt * pin / 1e6, ct * pout / 1e6


def _r8(x: float) -> float:
    return round(x, 8)


# ------------------------------------------------------------------------------------------------------ timing
def _day_weights(task: str, service: str, start: datetime, days: int) -> list[float]:
    out = []
    for d in range(days):
        wd = (start + timedelta(days=d)).weekday()
        frac = d / max(1, days - 1)
        if service == "batch" and task != "sql_generation":
            w = 1.0 if (task != "invoice_extraction" or wd < 5) else 0.15
        elif service == "support":
            w = (1.0, 1.0, 1.0, 1.0, 0.95, 0.35, 0.3)[wd]
        else:
            w = (1.0, 1.0, 1.0, 1.0, 0.9, 0.12, 0.08)[wd]
        if task == "sql_generation":  # the copilot is catching on
            w *= 0.35 + 1.3 * frac
        if task == "translation" and 0.43 <= frac < 0.67:  # Q4 launch localization push
            w *= 4.0
        if task == "strategy_question" and 0.75 <= frac < 0.87:  # board-meeting prep
            w *= 2.5
        if task == "release_notes" and wd == 1:  # releases ship on Tuesdays
            w *= 4.0
        if task == "ticket_triage" and wd == 0:
            w *= 1.35
        if task == "chit_chat" and wd == 4:
            w *= 1.3
        out.append(w)
    return out


def _sample_time(rng: random.Random, task: str, service: str, start: datetime, days: int,
                 cache: dict[tuple[str, str], list[float]]) -> datetime:
    key = (task, service)
    if key not in cache:
        cache[key] = _day_weights(task, service, start, days)
    day = rng.choices(range(days), weights=cache[key])[0]
    nightly = {"invoice_extraction": 0.85, "review_sentiment": 0.9, "keyword_extraction": 0.7}.get(task, 0.0)
    if service == "batch" and rng.random() < nightly:
        secs = 2 * 3600 + rng.randrange(7200) + (0 if task == "invoice_extraction" else 1800)
    else:
        hours = _SUPPORT_HOURS if service == "support" else _OFFICE_HOURS
        secs = rng.choices(range(24), weights=hours)[0] * 3600 + rng.randrange(3600)
    return start + timedelta(days=day, seconds=secs, milliseconds=rng.randrange(1000))


def _time_call(rng: random.Random, c: _Call) -> None:
    c.prompt_tokens = max(1, round(_prompt_tokens(c.draft) * rng.uniform(0.97, 1.03)))
    c.completion_tokens = max(1, round(_completion_tokens(c.draft) * rng.uniform(0.97, 1.03)))
    _, _, _, _, ttft, per_tok = _MODELS[c.model]
    c.ttft_ms = int(max(60.0, rng.gauss(ttft, ttft * 0.3)) + c.prompt_tokens * 0.04)
    c.latency_ms = int(c.ttft_ms + c.completion_tokens * per_tok * rng.lognormvariate(0.0, 0.2))


# ------------------------------------------------------------------------------------------------------ records
def _chat_completion(c: _Call, resp_id: str) -> dict[str, Any]:
    dated = _MODELS[c.model][0]
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


def _chat_request(c: _Call, with_user: bool) -> dict[str, Any]:
    req: dict[str, Any] = {"model": c.model, "messages": c.draft.messages}
    if c.draft.tools:
        req["tools"] = c.draft.tools
        req["tool_choice"] = "auto"
    req["temperature"] = c.draft.temperature
    req["max_tokens"] = c.draft.max_tokens
    if with_user:
        req["user"] = c.user
    return req


def _error_payload(c: _Call) -> tuple[str, str, str]:
    """(type, code, message) of a failed attempt."""
    if c.error == 429:
        dated = _MODELS[c.model][0]
        limit = 800_000 if c.model == "gpt-4o" else 2_000_000
        requested = c.prompt_tokens + c.draft.max_tokens
        used = limit - int(c.extra["used_frac"] * (requested - 1))
        return ("rate_limit_error", "429",
                f"Rate limit reached for {c.model} in organization org-nwAnalytics on tokens per min (TPM): Limit "
                f"{limit}, Used {used}, Requested {requested}. Please try again in {c.extra['wait']}s. (model: {dated})")
    return ("server_error", "500", "The server had an error while processing your request. Sorry about that!")


def _openai_record(c: _Call) -> dict[str, Any]:
    rec: dict[str, Any] = {"timestamp": _iso(c.when), "latency_ms": c.latency_ms, "request": _chat_request(c, True)}
    if c.error:
        etype, code, msg = _error_payload(c)
        rec["request_id"] = c.id
        rec["response"] = None
        rec["error"] = {"type": etype, "code": code, "message": msg}
    else:
        rec["response"] = _chat_completion(c, c.id)
    return rec


def _langfuse_record(c: _Call) -> dict[str, Any]:
    end = c.when + timedelta(milliseconds=c.latency_ms)
    dated = _MODELS[c.model][0]
    pname, pver = c.draft.prompt_name, c.draft.prompt_version
    if pname is None and c.draft.template in _PROMPT_MGMT:
        pname, pver = _PROMPT_MGMT[c.draft.template]
    rec: dict[str, Any] = {
        "id": c.id, "traceId": c.trace_id, "type": "GENERATION",
        "name": c.extra["obs_name"], "startTime": _iso(c.when), "endTime": _iso(end),
        "completionStartTime": None if c.error else _iso(c.when + timedelta(milliseconds=c.ttft_ms)),
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
        ci, co = _cost(c.model, c.prompt_tokens, c.completion_tokens) or (0.0, 0.0)
        rec["costDetails"] = {"input": _r8(ci), "output": _r8(co), "total": _r8(ci + co)}
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


def _helicone_row(c: _Call) -> list[str]:
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
        cost = sum(_cost(c.model, pt, ct) or (0.0, 0.0))
    return [c.id, _iso(end), str(c.error or 200), _iso(c.when), req, body,
            json.dumps(c.extra["properties"], ensure_ascii=False, separators=(",", ":")), c.user, _MODELS[c.model][0], str(pt), str(ct),
            str(c.latency_ms), f"{cost:.6f}"]


def _litellm_record(c: _Call) -> dict[str, Any]:
    end = c.when + timedelta(milliseconds=c.latency_ms)
    alias, team, tags = c.extra["key"]
    dated, provider = _MODELS[c.model][0], _MODELS[c.model][1]
    cost = 0.0 if (c.error or c.cache_hit) else sum(_cost(c.model, c.prompt_tokens, c.completion_tokens) or (0.0, 0.0))
    pt, ct = (0, 0) if c.error else (c.prompt_tokens, c.completion_tokens)
    meta: dict[str, Any] = {"user_api_key_alias": alias, "user_api_key_team_alias": team,
                            "user_api_key_user_id": c.user}
    if c.error:
        etype, code, msg = _error_payload(c)
        meta["error_information"] = {"error_code": code, "error_class": "RateLimitError" if c.error == 429 else "InternalServerError",
                                     "error_message": f"litellm.{'RateLimitError' if c.error == 429 else 'InternalServerError'}: {msg}"}
    return {
        "request_id": c.id, "call_type": "acompletion", "api_key": c.extra["api_key"], "spend": _r8(cost),
        "total_tokens": pt + ct, "prompt_tokens": pt, "completion_tokens": ct,
        "startTime": _iso(c.when), "endTime": _iso(end),
        "completionStartTime": _iso(end if c.error else c.when + timedelta(milliseconds=c.ttft_ms)),
        "model": dated, "model_group": c.model, "model_id": c.extra["model_id"],
        "api_base": "https://api.anthropic.com/v1/messages" if provider == "anthropic" else "https://api.openai.com/v1",
        "user": c.user, "end_user": c.extra["end_user"], "team_id": c.extra["team_id"], "metadata": meta,
        "cache_hit": c.cache_hit, "cache_key": c.extra["cache_key"], "request_tags": list(tags),
        "messages": [] if c.hidden else c.draft.messages,
        "response": {} if (c.hidden or c.error) else _chat_completion(c, c.id),
        "status": "failure" if c.error else "success",
    }


# ------------------------------------------------------------------------------------------------------ main
def generate_sample(out_dir: str | os.PathLike, *, n_calls: int = 3600, seed: int = 7, days: int = 30,
                    start: datetime = datetime(2026, 10, 1, tzinfo=timezone.utc), drift: bool = False) -> SampleSummary:
    """Write the sample logs, ``truth.csv`` and ``README.md`` under ``out_dir`` and say what was written.

    ``drift=True`` also writes a second month (the next ``days`` days, same layout) under ``out_dir/month2/``: the
    task mix shifts, invoice extraction gets harder for the small model, résumé screening appears and prompt storage
    is on all month; ``month2/drift_truth.json`` holds what changed. Month 1 is the same with or without it.
    """
    if n_calls < 50:
        raise ValueError("n_calls must be at least 50")
    if days < 3:
        raise ValueError("days must be at least 3")
    start = start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start.astimezone(timezone.utc)
    out = Path(out_dir)
    summary, ids = _generate_month(out, _BASE_MIX, n_calls=n_calls, seed=seed, days=days, start=start, stream=seed)
    if not drift:
        return summary
    later = _drifted(_BASE_MIX)
    start2 = start + timedelta(days=days)
    month2, _ = _generate_month(out / DRIFT_DIR, later, n_calls=n_calls, seed=seed, days=days, start=start2,
                                stream=f"{seed}-{DRIFT_DIR}", taken=ids, previous=(_BASE_MIX, summary, start))
    truth = _drift_truth(_BASE_MIX, later, summary, month2, start, start2, days)
    text = json.dumps(truth, indent=2, ensure_ascii=False) + "\n"
    _write(out / DRIFT_DIR / DRIFT_TRUTH, text)
    month2 = replace(month2, files=dict(sorted({**month2.files, DRIFT_TRUTH: text.count("\n")}.items())))
    return replace(summary, drift=month2)


def _shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {t: round(n / total, 6) for t, n in counts.items()}


def _drift_truth(before: _Mix, after: _Mix, month1: SampleSummary, month2: SampleSummary, start1: datetime,
                 start2: datetime, days: int) -> dict[str, Any]:
    """What changed from month 1 to month 2: the content of ``month2/drift_truth.json``."""
    return {
        "window": {"start": start2.isoformat(), "days": days},
        "previous": {"start": start1.isoformat(), "days": days},
        "new_tasks": [t for t in after.weights if t not in before.weights],
        "difficulty_changed": {t: {"before": list(before.difficulty[t]), "after": list(after.difficulty[t])}
                               for t in before.difficulty if after.difficulty[t] != before.difficulty[t]},
        "new_task_difficulty": {t: list(p) for t, p in after.difficulty.items() if t not in before.difficulty},
        "weights_before": dict(before.weights),
        "weights_after": dict(after.weights),
        "share_before": _shares(month1.task_counts),
        "share_after": _shares(month2.task_counts),
    }


def _generate_month(out: Path, mix: _Mix, *, n_calls: int, seed: int, days: int, start: datetime, stream: int | str,
                    taken: set[str] | None = None,
                    previous: tuple[_Mix, SampleSummary, datetime] | None = None) -> tuple[SampleSummary, set[str]]:
    """Write one month under ``out``; return its summary and every id it used.

    ``stream`` seeds the random draws (``seed`` itself only names keys, workspaces and sessions, which stay the same
    from month to month); ``taken``: ids another month used, never reused here; ``previous``: the month before
    (its mix, summary and start), for the "what changed" section of the README.
    """
    rng = random.Random(stream)
    (out / "logs").mkdir(parents=True, exist_ok=True)

    n_fail = round(n_calls * 0.03)
    n_reask = round(n_calls * 0.03)
    n_base = n_calls - n_fail - n_reask
    end_of_window = start + timedelta(days=days)

    employees = [f"u_{1001 + i}" for i in range(180)]
    rng.shuffle(employees)
    analysts = employees[:45]
    agents = [f"agt_{101 + i:03d}" for i in range(26)]
    zipf = lambda n: [1 / (i + 1) ** 0.8 for i in range(n)]  # noqa: E731
    user_pools = {"copilot": (analysts, zipf(45)), "internal": (employees, zipf(180)), "support": (agents, zipf(26))}

    # ---- base calls
    tasks: list[str] = []
    for t, q in _quotas(n_base, mix.weights).items():
        tasks += [t] * q
    rng.shuffle(tasks)
    day_cache: dict[tuple[str, str], list[float]] = {}
    migration_day = int(days * 0.6)
    calls: list[_Call] = []

    def new_call(task: str, service: str, when: datetime) -> _Call:
        if task == "ticket_triage":  # the support app moved triage to gpt-4.1 mid-month (after a canary)
            later = mix.continued or (when - start).days >= migration_day
            model = "gpt-4.1" if later or rng.random() < 0.08 else "gpt-4o"
        else:
            model = _pick(rng, mix.models[(task, service)])
        draft = mix.builders[task](rng, Ctx(when=when, service=service))
        if service == "batch":
            user = _BATCH_USERS.get(draft.feature) or rng.choices(employees[:60], weights=zipf(60))[0]
        else:
            pool, w = user_pools[service]
            user = rng.choices(pool, weights=w)[0]
        c = _Call(seq=len(calls), task=task, service=service, model=model, when=when, draft=draft, user=user)
        _time_call(rng, c)
        calls.append(c)
        return c

    for task in tasks:
        service = _pick(rng, mix.services[task])
        new_call(task, service, _sample_time(rng, task, service, start, days, day_cache))

    # ---- a fine-tuned self-hosted model, shadow-tested on review sentiment one afternoon
    reviews = [c for c in calls if c.task == "review_sentiment"]
    n_ft = min(len(reviews), max(2, round(n_calls / 360)))
    shadow_day = start + timedelta(days=int(days * 0.7))
    while shadow_day.weekday() >= 5:
        shadow_day += timedelta(days=1)
    for c in rng.sample(reviews, n_ft):
        c.model = FT_MODEL
        c.when = shadow_day.replace(hour=13) + timedelta(seconds=rng.randrange(3 * 3600), milliseconds=rng.randrange(1000))
        c.user = "u_1007"
        _time_call(rng, c)

    # ---- users asking the same FAQ / small-talk question again (new id, identical prompt)
    askable = [c for c in calls if c.task in ("faq_answer", "chit_chat")]
    for _ in range(n_reask):
        orig = rng.choice(askable)
        delta = timedelta(seconds=rng.randint(60, 1800)) if rng.random() < 0.4 else timedelta(seconds=rng.randint(3600, 5 * 86400))
        when = orig.when + delta
        if when >= end_of_window:
            when = max(start, orig.when - delta)
        c = _Call(seq=len(calls), task=orig.task, service=orig.service, model=orig.model, when=when,
                  draft=copy.deepcopy(orig.draft), user=orig.user if rng.random() < 0.8 else rng.choices(*user_pools[orig.service])[0])
        _time_call(rng, c)
        if c.service == "internal" and when > orig.when and rng.random() < 0.5:
            c.cache_hit = True
            c.ttft_ms = c.latency_ms = rng.randint(4, 25)
        calls.append(c)

    # ---- failed attempts (429 / 500) followed by a successful retry a few seconds later
    eligible = [c for c in calls if not c.cache_hit]
    keyed = sorted(eligible, key=lambda c: -(rng.random() ** (1 / (3.0 if c.service == "batch" else 1.0))))
    for target in sorted(keyed[:n_fail], key=lambda c: c.seq):
        status = 429 if rng.random() < 0.7 else 500
        f = _Call(seq=len(calls), task=target.task, service=target.service, model=target.model, when=target.when,
                  draft=target.draft, user=target.user, error=status)
        _time_call(rng, f)
        f.latency_ms = rng.randint(90, 400) if status == 429 else rng.randint(1500, 20000)
        f.when = target.when - timedelta(milliseconds=f.latency_ms + rng.randint(1500, 8000))
        f.extra["used_frac"] = rng.random()
        f.extra["wait"] = f"{rng.randint(200, 9000) / 1000:.3f}"
        f.extra["retry_of"] = target.seq
        calls.append(f)

    # ---- two extra batch calls whose log lines get cut off (not real calls: no truth rows)
    for task in ("invoice_extraction", "review_sentiment"):
        c = new_call(task, "batch", _sample_time(rng, task, "batch", start, days, day_cache))
        c.truth = False

    # ---- ids and per-format fields
    used: set[str] = set(taken or ())

    def unique(make) -> str:  # type: ignore[no-untyped-def]
        while True:
            v = make()
            if v not in used:
                used.add(v)
                return v

    traces: dict[int, str] = {}
    for c in calls:
        if c.service == "batch":
            c.id = unique(lambda: f"req_{rng.getrandbits(128):032x}") if c.error else unique(lambda: "chatcmpl-" + _alnum(rng, 29))
        elif c.service == "copilot":
            c.id = unique(lambda: _uuid(rng))
            root = c.extra.get("retry_of", c.seq)
            traces.setdefault(root, f"{rng.getrandbits(128):032x}")
            c.trace_id = traces[root]
            c.extra["obs_name"] = ("sql-writer" if c.draft.prompt_name else
                                   "OpenAI-generation" if c.model.startswith("gpt") else "anthropic-generation")
            release = f"copilot@1.8.{(3 if mix.continued else 2) + ((c.when - start).days >= days // 2)}"
            c.extra["metadata"] = {"app": "insights-copilot", "release": release,
                                   "workspace_id": "ws_" + hashlib.sha256(f"{seed}:{c.user}".encode()).hexdigest()[:10]}
            block = c.when.replace(hour=c.when.hour // 2 * 2, minute=0, second=0, microsecond=0)
            c.extra["session"] = "sess_" + hashlib.sha256(f"{seed}|{c.user}|{block.isoformat()}".encode()).hexdigest()[:16]
        elif c.service == "support":
            c.id = unique(lambda: _uuid(rng))
            c.resp_id = "chatcmpl-" + _alnum(rng, 29)
            version = "2.3.4" if not mix.continued and (c.when - start).days < max(1, days // 5) else "2.4.0"
            props = {"Helicone-Property-Environment": "production", "Helicone-Property-App-Version": version}
            if version == "2.4.0" and c.draft.feature in ("ticket-triage", "reply-assist"):
                props["Helicone-Property-Feature"] = c.draft.feature
            if c.draft.feature == "ticket-triage":
                props["Helicone-Property-Queue"] = rng.choice(("emea", "na", "apac"))
            c.extra["properties"] = props
        else:
            c.id = unique(lambda: "chatcmpl-" + (_uuid(rng) if c.model.startswith("claude") else _alnum(rng, 29)))  # noqa: B023 - called at once
            alias, team, tags = mix.litellm_keys[c.draft.feature]
            c.extra["key"] = (alias, team, tags)
            c.extra["api_key"] = hashlib.sha256(f"sk-nw-{alias}-{seed}".encode()).hexdigest()
            c.extra["team_id"] = hashlib.sha256(f"team-{team}-{seed}".encode()).hexdigest()[:8] + "-" + team
            c.extra["model_id"] = hashlib.sha256(f"deployment-{c.model}".encode()).hexdigest()
            c.extra["end_user"] = ("U0" + hashlib.sha256(f"{seed}:{c.user}".encode()).hexdigest()[:9].upper()
                                   if c.draft.feature in ("nori", "peoplebot") else "")
            canon = json.dumps({"model": c.model, "messages": c.draft.messages, "temperature": c.draft.temperature},
                               sort_keys=True, ensure_ascii=False)
            c.extra["cache_key"] = hashlib.sha256(canon.encode()).hexdigest()

    # ---- LiteLLM prompt storage was only switched on a little into the month
    internal = sorted((c for c in calls if c.service == "internal"), key=lambda c: (c.when, c.seq))
    for c in internal[: math.ceil(len(internal) * mix.hidden_share)]:
        c.hidden = True

    # ---- identical prompts: point every later call at the earliest one
    first_by_prompt: dict[str, str] = {}
    for c in sorted((c for c in calls if c.truth and not c.hidden), key=lambda c: (c.when, c.seq)):
        key = json.dumps([c.draft.messages, c.draft.tools], sort_keys=True, ensure_ascii=False)
        if key in first_by_prompt:
            c.duplicate_of = first_by_prompt[key]
        else:
            first_by_prompt[key] = c.id

    # ---- lines written twice by the exporters
    real = [c for c in calls if c.truth]
    doubled = {c.seq for c in rng.sample(real, round(n_calls * 0.02))}

    # ---- write the four logs
    files: dict[str, int] = {}
    order: dict[str, list[_Call]] = {}
    for service in _FILE_ORDER:
        rows = sorted((c for c in calls if c.service == service), key=lambda c: (c.when, c.seq))
        order[service] = rows
        lines: list[str] = []
        pending: list[tuple[int, str]] = []  # (write after this many more lines, text)
        extra_obs: dict[int, list[tuple[str, str]]] = {}
        if service == "copilot":
            extra_obs = _langfuse_extras(rng, [c for c in rows if not c.error and c.truth])
        serial: list[Any] = []
        for c in rows:
            if service == "batch":
                text = json.dumps(_openai_record(c), ensure_ascii=False)
            elif service == "copilot":
                text = json.dumps(_langfuse_record(c), ensure_ascii=False, separators=(",", ":"))
            elif service == "support":
                text = _csv_line(_helicone_row(c))
            else:
                text = json.dumps(_litellm_record(c), ensure_ascii=False, separators=(",", ":"))
            if not c.truth:
                cut = int(len(text) * rng.uniform(0.35, 0.7))
                text = text[:cut]
            serial.append((c, text))
        truncated = [t for c, t in serial if not c.truth]
        serial = [(c, t) for c, t in serial if c.truth]
        for c, text in serial:
            around = extra_obs.get(c.seq, [])
            lines += [t for kind, t in around if kind == "PRE"]
            lines.append(text)
            lines += [t for kind, t in around if kind == "POST"]
            still = []
            for k, t in pending:
                if k <= 0:
                    lines.append(t)
                else:
                    still.append((k - 1, t))
            pending = still
            if c.seq in doubled:
                pending.append((rng.randint(0, 2), text))
        lines += [t for _, t in pending]
        if truncated:
            n = len(lines)
            for j, t in enumerate(truncated):
                lines.insert((j + 1) * n // (len(truncated) + 1) + j, t)
        rel = LOG_FILES[service]
        if service == "support":
            _write(out / rel, _csv_line(list(HELICONE_COLUMNS)) + "".join(lines))
        else:
            _write(out / rel, "".join(t + "\n" for t in lines))
        files[rel] = len(lines)

    # ---- truth.csv, in file order then line order
    truth_rows = [["id", "file", "task_type", "family", "template", "has_pii", "pii_kinds", "duplicate_of"]]
    task_counts: dict[str, int] = {}
    for service in _FILE_ORDER:
        for c in order[service]:
            if not c.truth:
                continue
            task = "unknown_no_messages" if c.hidden else c.task
            task_counts[task] = task_counts.get(task, 0) + 1
            kinds = [] if c.hidden else c.draft.pii_kinds()
            truth_rows.append([c.id, LOG_FILES[service], task, TASK_FAMILIES[task], "" if c.hidden else c.draft.template,
                               "true" if kinds else "false", ";".join(kinds), c.duplicate_of])
    _write(out / "truth.csv", "".join(_csv_line(r) for r in truth_rows))
    files["truth.csv"] = len(truth_rows) - 1
    eval_rates = _write_evals(out, [c for s in _FILE_ORDER for c in order[s]], difficulty=mix.difficulty,
                              stream=stream, start=start, days=days)
    files[EVAL_FILE] = sum(n for n, _, _ in eval_rates.values())
    task_counts = dict(sorted(task_counts.items()))

    readme = _readme(n_calls=n_calls, seed=seed, days=days, start=start, files=files, task_counts=task_counts,
                     calls=[c for c in calls if c.truth], n_fail=n_fail, n_doubled=len(doubled), n_ft=n_ft,
                     eval_rates=eval_rates, mix=mix,
                     changes=None if previous is None else _changes(*previous, mix, task_counts, start))
    _write(out / "README.md", readme)
    files["README.md"] = readme.count("\n")
    return SampleSummary(out_dir=str(out), n_calls=len(truth_rows) - 1, seed=seed, files=dict(sorted(files.items())),
                         task_counts=task_counts), used


def _write_evals(out: Path, calls: list[_Call], *, difficulty: dict[str, tuple[float, float]], stream: int | str,
                 start: datetime, days: int) -> dict[str, tuple[int, float, float]]:
    """Write the offline eval: every answered call replayed through a candidate SLM, both answers graded.

    A call's chance of SLM success is its task's rate in ``difficulty`` (month 1: :data:`SLM_DIFFICULTY`) shifted on
    the logit scale by how long its prompt is relative to the task's typical prompt (longer is harder), so a router
    has something to learn within a task. Drawn from its own random stream: the logs do not change when this does.
    Returns ``task -> (graded calls, realized SLM success rate, realized frontier success rate)``.
    """
    rng = random.Random(f"{stream}-offline-eval")
    graded = [c for c in calls if c.truth and not c.hidden and not c.error and c.draft.response is not None]
    lengths: dict[str, list[float]] = {}
    for c in graded:
        lengths.setdefault(c.task, []).append(math.log(c.prompt_tokens))
    stats: dict[str, tuple[float, float]] = {}
    for t, v in lengths.items():
        mean = sum(v) / len(v)  # once per task: recomputing it per element made this quadratic in the calls
        stats[t] = (mean, (sum((x - mean) ** 2 for x in v) / max(1, len(v) - 1)) ** 0.5 or 1.0)
    rows = [["id", "slm_model", "slm_correct", "frontier_correct", "graded_at"]]
    tally: dict[str, list[int]] = {}
    graded_at = (start + timedelta(days=days, hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in graded:
        p_slm, p_frontier = difficulty[c.task]
        mean, sd = stats[c.task]
        z = (math.log(c.prompt_tokens) - mean) / sd
        logit = math.log(p_slm / (1 - p_slm)) - 0.9 * z
        slm_ok = rng.random() < 1 / (1 + math.exp(-logit))
        frontier_ok = rng.random() < p_frontier
        rows.append([c.id, EVAL_SLM, "true" if slm_ok else "false", "true" if frontier_ok else "false", graded_at])
        t = tally.setdefault(c.task, [0, 0, 0])
        t[0] += 1
        t[1] += slm_ok
        t[2] += frontier_ok
    _write(out / EVAL_FILE, "".join(_csv_line(r) for r in rows))
    return {t: (n, a / n, b / n) for t, (n, a, b) in sorted(tally.items())}


def _langfuse_extras(rng: random.Random, gens: list[_Call]) -> dict[int, list[tuple[str, str]]]:
    """SPAN and EVENT observations around some generations (~5% of the file); readers skip them."""
    out: dict[int, list[tuple[str, str]]] = {}
    for c in rng.sample(gens, min(len(gens), round(len(gens) * 0.055))):
        base = {"id": _uuid(rng), "traceId": c.trace_id}
        if c.task == "sql_generation" and rng.random() < 0.7:
            t0 = c.when - timedelta(milliseconds=rng.randint(120, 900))
            rec = {**base, "type": "SPAN", "name": "fetch-schema", "startTime": _iso(t0),
                   "endTime": _iso(t0 + timedelta(milliseconds=rng.randint(40, 110))), "completionStartTime": None,
                   "model": None, "modelParameters": None, "input": {"workspace_id": c.extra["metadata"]["workspace_id"]},
                   "output": {"tables": rng.randint(3, 5), "cached": rng.random() < 0.6}, "usageDetails": {},
                   "costDetails": {}, "latency": None, "level": "DEFAULT", "statusMessage": None,
                   "metadata": c.extra["metadata"], "userId": c.user, "sessionId": c.extra["session"],
                   "promptName": None, "promptVersion": None, "parentObservationId": None, "environment": "production"}
            out.setdefault(c.seq, []).append(("PRE", json.dumps(rec, ensure_ascii=False, separators=(",", ":"))))
        else:
            t0 = c.when + timedelta(milliseconds=c.latency_ms + rng.randint(3000, 90000))
            score = 1 if rng.random() < 0.8 else -1
            rec = {**base, "type": "EVENT", "name": "user-feedback", "startTime": _iso(t0), "endTime": None,
                   "completionStartTime": None, "model": None, "modelParameters": None,
                   "input": {"score": score, "comment": None if rng.random() < 0.7
                             else rng.choice(("helpful", "wrong table", "thanks!", "too long"))},
                   "output": None, "usageDetails": {}, "costDetails": {}, "latency": None, "level": "DEFAULT",
                   "statusMessage": None, "metadata": {"source": "thumbs"}, "userId": c.user,
                   "sessionId": c.extra["session"], "promptName": None, "promptVersion": None,
                   "parentObservationId": c.id, "environment": "production"}
            out.setdefault(c.seq, []).append(("POST", json.dumps(rec, ensure_ascii=False, separators=(",", ":"))))
    return out


def _csv_line(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow(row)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    """Write ``text``; a ``.gz`` path is gzipped with a zero timestamp, so equal text gives equal content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _readme(*, n_calls: int, seed: int, days: int, start: datetime, files: dict[str, int], task_counts: dict[str, int],
            calls: list[_Call], n_fail: int, n_doubled: int, n_ft: int,
            eval_rates: dict[str, tuple[int, float, float]], mix: _Mix, changes: list[str] | None = None) -> str:
    data = "data/" if changes is None else f"data/{DRIFT_DIR}/"
    by_file: dict[str, dict[str, int]] = {}
    for c in calls:
        t = "unknown_no_messages" if c.hidden else c.task
        by_file.setdefault(LOG_FILES[c.service], {})
        by_file[LOG_FILES[c.service]][t] = by_file[LOG_FILES[c.service]].get(t, 0) + 1
    n_pii = sum(1 for c in calls if not c.hidden and c.draft.pii)
    n_dup = sum(1 for c in calls if c.duplicate_of)
    n_hidden = sum(1 for c in calls if c.hidden)
    n_cache = sum(1 for c in calls if c.cache_hit)
    models: dict[str, int] = {}
    for c in calls:
        models[_MODELS[c.model][0]] = models.get(_MODELS[c.model][0], 0) + 1
    lines = [
        "# Sample LLM logs: Northwind Analytics" + ("" if changes is None else ", month 2 (drift)"),
        "",
        ("A month" if changes is None else "The second month") + " of LLM traffic from a fictional B2B analytics SaaS company, \"Northwind Analytics\", exported from the",
        "four logging tools its services use. Everything in it (company, customers, people, numbers, personal data) is",
        "synthetic. It exists to try `slmprofile` end to end and to check it against a known answer (`truth.csv`).",
        "",
        "Generated by `slmprofile sample " + ("" if changes is None else "--drift ") + "--out data/` (that is "
        "`slmprofile.sample.generate_sample`) with",
        f"`n_calls={n_calls}`, `seed={seed}`, `days={days}`, `start={start.strftime('%Y-%m-%d')}`. The generator is pure Python",
        "and seeded: the same arguments reproduce these files byte for byte (a test checks it).",
        "",
        *(changes or []),
        "## Files",
        "",
        "| file | lines / rows | written by | task types |",
        "|---|---:|---|---|",
    ]
    who = {"logs/openai_chat.jsonl": "batch jobs + DataBot (OpenAI request/response logger)",
           "logs/langfuse_observations.jsonl": "Insights Copilot (Langfuse observations)",
           "logs/helicone_export.csv": "support desk (Helicone export, CSV)",
           "logs/litellm_spend_logs.jsonl.gz": "internal tools (LiteLLM proxy spend logs, gzipped)"}
    for rel in LOG_FILES.values():
        tasks = ", ".join(f"{t} ({n})" for t, n in sorted(by_file.get(rel, {}).items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"| `{rel}` | {files[rel]} | {who[rel]} | {tasks} |")
    lines += [f"| `truth.csv` | {files['truth.csv']} | ground truth, never read by the pipeline | |",
              f"| `{EVAL_FILE}` | {files[EVAL_FILE]} | offline eval of every answered call (outcome columns) | |", ""]
    lines += ["## Task types", "", "| task type | family | calls |", "|---|---|---:|"]
    for t, n in task_counts.items():
        lines.append(f"| {t} | {TASK_FAMILIES[t]} | {n} |")
    lines += [
        "",
        "Each task has two to four prompt templates (different system prompts or instruction wording, some with no",
        "system prompt) filled from varied content: customers, tickets, invoices, transcripts, schemas, diffs, policies.",
        "",
        "## Models",
        "",
    ]
    for m, n in sorted(models.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"- `{m}`: {n} calls")
    lines += [
        "",
        f"`{FT_MODEL}` is a self-hosted fine-tune that no price table knows (a one-afternoon shadow test on review",
        "sentiment, in `logs/openai_chat.jsonl`); its calls have no cost. Costs elsewhere use list prices per million tokens",
        "(gpt-4o $2.50/$10, gpt-4.1 $2/$8, claude-sonnet-4 $3/$15); the OpenAI logger records no cost at all.",
        "",
        "## What makes it realistic (and what the reader must cope with)",
        "",
        "- Timestamps follow weekdays and office hours (UTC, teams in Europe and the US); batch jobs run at night.",
        "  Trends: SQL generation grows over the month, translation spikes in the launch week, strategy questions",
        "  before the board meeting, release notes on Tuesdays; ticket triage "
        + ("runs on gpt-4.1 (moved last month)." if mix.continued else "moves from gpt-4o to gpt-4.1 mid-month."),
        f"- {n_fail} failed calls (HTTP 429 or 500), each followed a few seconds later by a successful retry of the same",
        "  prompt with a new id. Failed calls are real calls and are in `truth.csv`.",
        f"- {n_doubled} log lines are written twice (same record, same id): `truth.csv` lists them once.",
        "- `logs/openai_chat.jsonl` has exactly 2 truncated lines (a JSON object cut off mid-way); they are not real",
        "  calls and not in `truth.csv`. Every other line of every JSONL file parses.",
        "- `logs/langfuse_observations.jsonl` also holds SPAN and EVENT observations (about 5%), which are not LLM",
        "  calls and not in `truth.csv`.",
        *([f"- {n_hidden} LiteLLM rows from before prompt storage was switched on have `messages: []` and `response: {{}}`:",
           "  real calls that cannot be embedded, listed with task type `unknown_no_messages`."] if n_hidden else
          ["- LiteLLM prompt storage was on all month: every row has its messages (no `unknown_no_messages`)."]),
        f"- {n_dup} calls repeat a prompt seen earlier (users re-asking FAQ and small-talk questions, retries after",
        f"  failures); `duplicate_of` names the earliest call with the identical prompt. {n_cache} of the LiteLLM re-asks",
        "  are cache hits (`cache_hit: true`, spend 0).",
        f"- {n_pii} prompts contain planted personal data: emails, phone numbers, Luhn-valid card numbers (billing",
        "  tickets), checksum-valid IBANs (invoices), IP addresses (debug tickets), API keys (pasted into tickets and",
        "  diffs) and US SSNs (HR questions). `has_pii` / `pii_kinds` in `truth.csv` say which.",
        "- Some calls use tools (`run_sql` tool calls with no content), some user messages are multi-part (invoice",
        "  scan image + OCR text). Helicone's `Helicone-Property-Feature` is only set by some features, and only from",
        "  app version 2.4.0 on.",
        "",
        "## Offline eval (outcome columns)",
        "",
        f"`{EVAL_FILE}`: before the month closed, Northwind's eval harness replayed every answered call through a",
        f"candidate small model (`{EVAL_SLM}`) and graded both answers: `id,slm_model,slm_correct,frontier_correct,graded_at`.",
        f"Join it to the logs with `--outcomes {data}evals/offline_eval.csv` (ingest and run). Failed calls and calls",
        "without stored messages are not graded. The known difficulty it is drawn from (the truth for suitability",
        "checks; within a task, longer prompts are harder for the small model):",
        "",
        "| task type | graded | SLM success, typical prompt | SLM realized | frontier success | frontier realized |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {t} | {n} | {mix.difficulty[t][0]:.3f} | {a:.3f} | {mix.difficulty[t][1]:.3f} | {b:.3f} |"
          for t, (n, a, b) in eval_rates.items()],
        "",
        "## truth.csv",
        "",
        "`id,file,task_type,family,template,has_pii,pii_kinds,duplicate_of`, one row per real call, in file order.",
        "`id` is the id a reader assigns: `response.id` (else the top-level `request_id` of a failed call) for the",
        "OpenAI log, the observation `id` for Langfuse, `response_id` for Helicone and `request_id` for LiteLLM. `file`",
        "is relative to this folder. `has_pii` is `true`/`false`; `pii_kinds` is `;`-separated from EMAIL, PHONE, CARD,",
        "IBAN, IP, API_KEY, NATIONAL_ID.",
        "",
    ]
    return "\n".join(lines)


def _changes(before: _Mix, month1: SampleSummary, start1: datetime, after: _Mix, task_counts: dict[str, int],
             start: datetime) -> list[str]:
    """The README section of a later month: what changed since the month before (also in ``drift_truth.json``)."""
    share1, share2 = _shares(month1.task_counts), _shares(task_counts)
    lines = [
        "## What changed since month 1",
        "",
        f"This month starts on {start.strftime('%Y-%m-%d')}, right after month 1 ({start1.strftime('%Y-%m-%d')}, the",
        f"folder above). The ground truth of the changes is in `{DRIFT_TRUTH}`.",
        "",
        "| task type | weight before | weight after | share of calls before | share after |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in dict.fromkeys([*before.weights, *after.weights, *month1.task_counts]):
        wb, wa = before.weights.get(t, "-"), after.weights.get(t, "-")
        lines.append(f"| {t} | {wb} | {wa} | {share1.get(t, 0.0):.3f} | {share2.get(t, 0.0):.3f} |")
    lines.append("")
    for t in before.difficulty:
        if after.difficulty[t] != before.difficulty[t]:
            lines.append(f"- `{t}` got harder for the small model: SLM success {before.difficulty[t][0]:.2f} -> "
                         f"{after.difficulty[t][0]:.2f} (frontier {after.difficulty[t][1]:.2f}, unchanged) in the offline eval.")
    for t in after.weights:
        if t not in before.weights:
            p_slm, p_frontier = after.difficulty[t]
            lines.append(f"- New task `{t}` ({TASK_FAMILIES[t]}): a recruiting tool (LiteLLM key `talent-screen`) scores "
                         "résumés against a job's")
            lines.append(f"  requirements and answers in JSON; about 40% of the résumés carry an email or phone number. "
                         f"SLM success {p_slm:.2f}, frontier {p_frontier:.2f}.")
    lines += ["- Prompt storage in the LiteLLM proxy is on all month, and month 1's rollouts are done (ticket triage",
              "  on gpt-4.1, support app 2.4.0, copilot 1.8.3 then 1.8.4). Failures, retries, re-asks, doubled and",
              "  truncated lines, the fine-tune's shadow afternoon and the Langfuse spans are as in month 1.", ""]
    return lines
