"""What the sample is made of: file names, models and prices, the task mix of a month (and of the drifted month).

Pure data plus :class:`Mix`, the per-month lookup tables; the other modules of :mod:`slmprofile.sample` read it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from .. import sample_content as content
from ..sample_content import Ctx, Draft
from ..sample_drift import build_resume_screening

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
HELICONE_COLUMNS = (
    "response_id", "response_created_at", "response_status", "request_created_at", "request_body", "response_body",
    "request_properties", "request_user_id", "model", "prompt_tokens", "completion_tokens", "latency", "cost",
)
FT_MODEL = "northwind-ft-llama-8b"

# alias -> (dated name, provider, $/1M input, $/1M output, mean time-to-first-token ms, ms per output token)
MODELS: dict[str, tuple[str, str, float | None, float | None, float, float]] = {
    "gpt-4o": ("gpt-4o-2024-08-06", "openai", 2.50, 10.00, 380.0, 11.0),
    "gpt-4.1": ("gpt-4.1-2025-04-14", "openai", 2.00, 8.00, 450.0, 13.0),
    "claude-sonnet-4": ("claude-sonnet-4-20250514", "anthropic", 3.00, 15.00, 720.0, 17.0),
    FT_MODEL: (FT_MODEL, "self-hosted", None, None, 110.0, 5.5),
}

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
#: task -> (candidate SLM success rate, frontier success rate) the offline eval is drawn from: the sample's known
#: difficulty. Within a task, longer prompts are harder (see the offline eval in :mod:`slmprofile.sample.generate`).
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
class Mix:
    """What one month of traffic is made of: its task mix and everything that is looked up by task."""

    weights: dict[str, int]
    services: dict[str, tuple[tuple[str, float], ...]]
    models: dict[tuple[str, str], tuple[tuple[str, float], ...]]
    difficulty: dict[str, tuple[float, float]]
    builders: dict[str, Callable[[random.Random, Ctx], Draft]]
    litellm_keys: dict[str, tuple[str, str, tuple[str, ...]]]
    hidden_share: float = 0.03  # share of LiteLLM rows written before prompt storage was switched on
    continued: bool = False  # a later month: month 1's rollouts (triage on gpt-4.1, support app 2.4.0) are done


BASE_MIX = Mix(weights=_TASK_WEIGHTS, services=_TASK_SERVICES, models=_TASK_MODELS, difficulty=SLM_DIFFICULTY,
               builders=content.BUILDERS, litellm_keys=_LITELLM_KEYS)


def drifted(mix: Mix) -> Mix:
    """Month 2: the task mix shifts, invoice extraction gets harder for the SLM, résumé screening appears."""
    return replace(
        mix, weights={**mix.weights, **_DRIFT_WEIGHTS}, services={**mix.services, NEW_TASK: (("internal", 1.0),)},
        models={**mix.models, (NEW_TASK, "internal"): (("gpt-4.1", 0.7), ("claude-sonnet-4", 0.3))},
        difficulty={**mix.difficulty, **_DRIFT_DIFFICULTY}, builders={**mix.builders, NEW_TASK: build_resume_screening},
        litellm_keys={**mix.litellm_keys, "talent-screen": ("talent-screen", "people", ("ats",))},
        hidden_share=0.0, continued=True)

