"""The log formats, registered by name, and the order they are tried in when detecting a file's format.

A reader turns one decoded record (a JSON object, a CSV row, a Parquet row) into one normalized row, or raises
:class:`~slmprofile.ingest.common.Skip`. Readers never see files: :mod:`slmprofile.ingest.sources` streams records
and :mod:`slmprofile.ingest.core` drives detection, counting and strict mode.

The base class, the registry and the shared record helpers are in :mod:`slmprofile.ingest.format_base`; the readers
are in one module per family of formats (``format_openai``, ``format_tracing``, ``format_generic``), imported here
so that all of them are registered (the import order is the order of :data:`FORMATS`). Adding a format: a
``LogFormat`` subclass decorated with ``@register`` in its family's module, and its name in :data:`DETECTION_ORDER`.
"""

from __future__ import annotations

from typing import Literal

from .format_base import FORMATS, ROW_KEYS, LogFormat, new_row, register
from .format_openai import OpenAIBatchInput, OpenAIBatchOutput, OpenAIChat
from .format_tracing import Helicone, LangSmith, Langfuse, LiteLLM, PostHog
from .format_generic import PROMPT_COLUMN_GUESSES, TABLE_FIELDS, ChatTranscript, Table

__all__ = [
    "DETECTION_ORDER", "FORMATS", "PROMPT_COLUMN_GUESSES", "ROW_KEYS", "TABLE_FIELDS", "ChatTranscript", "Helicone",
    "LangSmith", "Langfuse", "LiteLLM", "LogFormat", "OpenAIBatchInput", "OpenAIBatchOutput", "OpenAIChat", "PostHog",
    "FormatName", "Table", "get_format", "new_row", "register",
]


def get_format(name: str) -> LogFormat:
    """The reader registered as ``name``; an unknown name lists the valid ones."""
    try:
        return FORMATS[name]()
    except KeyError:
        raise ValueError(f"unknown log format {name!r}; valid formats: {', '.join(sorted(FORMATS))}") from None


#: Formats tried, in order, when auto-detecting (the generic table comes last).
DETECTION_ORDER = ("openai_batch_input", "openai_batch_output", "openai_chat", "langfuse", "helicone", "litellm",
                   "langsmith", "posthog", "chat_transcript", "table")

#: The registered format names as a type: the command line lists them in ``--help`` and refuses any other.
FormatName = Literal[tuple(FORMATS)]  # type: ignore[valid-type]
