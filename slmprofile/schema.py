"""The normalized log schema: column names and dtypes in one place.

Every reader produces rows with exactly these columns (see :data:`LOG_COLUMNS`); ingestion adds the derived
columns in :data:`DERIVED_COLUMNS`, and any mapped outcome columns (``--map slm_correct=COL``) come after them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: The core columns every ingested log has, in order.
LOG_COLUMNS: tuple[str, ...] = (
    "id",
    "timestamp",
    "source",
    "format",
    "provider",
    "model",
    "system_prompt",
    "messages",
    "prompt_text",
    "response_text",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_ms",
    "status",
    "error",
    "user_id",
    "session_id",
    "metadata",
)

#: Columns ingestion derives from the core ones.
DERIVED_COLUMNS: tuple[str, ...] = (
    "n_non_text_parts",  # images/audio/files in the request, counted, not kept
    "n_tool_calls",  # tool calls in the response
    "tokens_estimated",  # token counts came from bpe-openai, not from the log
    "cost_estimated",  # cost came from genai-prices, not from the log
    "prompt_hash",  # content hash of prompt_text: the embedding cache key
    "template_id",  # prompts sharing a system prompt or a fixed skeleton (see slmprofile.templates)
)

#: Outcome columns that ``--map`` understands, with their dtype names.
OUTCOME_COLUMNS: dict[str, str] = {
    "slm_correct": "bool",
    "frontier_correct": "bool",
    "feedback": "float",
    "eval_score": "float",
}

#: ``suitability.parquet``: one row per task type (and candidate SLM), in the order the suitability stage writes them.
SUITABILITY_COLUMNS: tuple[str, ...] = (
    "cluster_id", "task_type", "family", "archetype", "candidate", "calls", "share", "cost_per_month", "prior_mean",
    "prior_strength", "prior_reasons", "outcome_n", "outcome_rate", "outcome_lo", "outcome_hi", "frontier_rate",
    "feedback_mean", "eval_score_mean", "error_rate", "shadow_n", "shadow_rate", "shadow_lo", "shadow_hi",
    "shadow_measure", "evidence", "prior_source", "prior_weight", "prior_used_mean", "n", "k", "rate", "ci_lo", "ci_hi",
    "target", "verdict", "samples_needed", "more_samples", "score", "threshold", "slm_share", "slm_share_lo",
    "slm_share_hi", "escalation_rate", "trend_per_week",
)

#: ``savings.parquet``: one row per task type and savings option, in the order the savings stage writes them.
SAVINGS_COLUMNS: tuple[str, ...] = (
    "cluster_id", "task_type", "verdict", "candidate", "option", "kind", "calls_per_month", "input_tokens_per_month",
    "output_tokens_per_month", "cost_now_per_month", "unpriced_share", "rate", "ci_lo", "ci_hi", "frontier_rate",
    "target", "slm_share_lo", "slm_share", "slm_share_hi", "slm_cost_per_month", "plan_cost_per_month",
    "slm_cost_if_all_per_month", "savings_per_month", "savings_lo", "savings_hi",
)

#: ``savings_options.csv``: one row per savings option (its totals; ``assumptions`` is a JSON object).
SAVINGS_OPTION_COLUMNS: tuple[str, ...] = (
    "option", "kind", "cost_now_per_month", "plan_cost_per_month", "savings_lo", "savings_per_month", "savings_hi",
    "worth_it", "routed_tokens_per_month", "replicas", "fixed_cost_per_month", "assumptions",
)

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_PENDING = "pending"


def message_dtype() -> pl.DataType:
    """Struct dtype of one entry of the ``messages`` column."""
    import polars as pl

    return pl.Struct(
        {
            "role": pl.Utf8,
            "content": pl.Utf8,
            "name": pl.Utf8,
            "tool_calls": pl.Utf8,  # JSON string of the message's tool calls, when any
            "tool_call_id": pl.Utf8,
        }
    )


def core_schema() -> dict[str, Any]:
    """Polars schema of the columns a reader produces (core + derived that readers fill)."""
    import polars as pl

    return {
        "id": pl.Utf8,
        "timestamp": pl.Datetime("us", "UTC"),
        "source": pl.Utf8,
        "format": pl.Utf8,
        "provider": pl.Utf8,
        "model": pl.Utf8,
        "system_prompt": pl.Utf8,
        "messages": pl.List(message_dtype()),
        "prompt_text": pl.Utf8,
        "response_text": pl.Utf8,
        "prompt_tokens": pl.Int64,
        "completion_tokens": pl.Int64,
        "cost_usd": pl.Float64,
        "latency_ms": pl.Float64,
        "status": pl.Utf8,
        "error": pl.Utf8,
        "user_id": pl.Utf8,
        "session_id": pl.Utf8,
        "metadata": pl.Utf8,
        "n_non_text_parts": pl.Int32,
        "n_tool_calls": pl.Int32,
    }


def outcome_dtype(name: str) -> Any:
    """Polars dtype of a mapped outcome column (unknown names are kept as strings)."""
    import polars as pl

    kind = OUTCOME_COLUMNS.get(name)
    return {"bool": pl.Boolean, "float": pl.Float64}.get(kind or "", pl.Utf8)
