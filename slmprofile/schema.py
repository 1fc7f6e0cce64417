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
