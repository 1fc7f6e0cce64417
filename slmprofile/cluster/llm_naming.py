"""Optional LLM names for task types: a short name and a one-line description from a few redacted examples.

Offline c-TF-IDF names (:mod:`slmprofile.cluster.naming`) are the default. :func:`name_with_llm` asks any
OpenAI-compatible model (through :class:`slmprofile.llm.LLMRunner`: timeouts, retries, a hard spend cap, a resumable
cache, redaction) for a better name. It sends only what :func:`naming_request` builds: the type's keywords and at
most ``n_examples`` examples, each cut to ``max_chars``, redacted again on the way out. A type whose request fails,
is over budget, or whose answer does not parse keeps its offline name, and the result says so (``llm_status``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from ..llm import LLMRequest, LLMRunner

SYSTEM = ("You name groups of LLM requests that an application sends. Given keywords and a few example requests of "
          "one group, answer with JSON only: {\"name\": \"<2-5 word task name, lower case>\", "
          "\"description\": \"<one sentence: what the application asks the model to do>\"}.")
MAX_NAME_CHARS = 60
MAX_DESCRIPTION_CHARS = 200


def naming_request(keywords: Sequence[str], examples: Sequence[str], *, key: str = "", n_examples: int = 3,
                   max_chars: int = 300) -> LLMRequest:
    """The request for one task type: keywords plus a few short examples (nothing else leaves the machine)."""
    from ..llm import LLMRequest

    shown = [" ".join(str(e).split())[:max_chars] for e in list(examples)[:n_examples] if e]
    body = "Keywords: " + ", ".join(keywords[:8]) + "\n\n" + "\n".join(f"Example {i + 1}: {e}"
                                                                         for i, e in enumerate(shown))
    return LLMRequest.from_prompt(body, system=SYSTEM, key=key)


def parse_naming_answer(text: str | None) -> tuple[str, str] | None:
    """``(name, description)`` from the model's answer (JSON, possibly fenced), or None when it does not parse."""
    if not text:
        return None
    match = re.search(r"\{.*\}", text, flags=re.S)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    name, description = data.get("name"), data.get("description")
    if not isinstance(name, str) or not name.strip():
        return None
    name = " ".join(name.split())[:MAX_NAME_CHARS]
    description = " ".join(description.split())[:MAX_DESCRIPTION_CHARS] if isinstance(description, str) else ""
    return name, description


def name_with_llm(task_types: pl.DataFrame, runner: LLMRunner, *, n_examples: int = 3,
                  max_chars: int = 300) -> pl.DataFrame:
    """Add ``llm_name``, ``llm_description`` and ``llm_status`` to a task-types table (one request per type).

    ``task_types`` is :attr:`TaskTypeResult.task_types` (needs ``cluster_id``, ``keywords``, ``examples``); the
    unassigned row (``cluster_id`` -1) is not sent. ``llm_status`` is the runner's status (``ok``, ``cached``,
    ``failed``, ``over_budget``) or ``unparsed``; ``runner.stats_`` says what was sent and spent.
    """
    import polars as pl

    rows = task_types.filter(pl.col("cluster_id") >= 0).select("cluster_id", "keywords", "examples").to_dicts()
    requests = [naming_request(r["keywords"] or [], r["examples"] or [], key=str(r["cluster_id"]),
                               n_examples=n_examples, max_chars=max_chars) for r in rows]
    results = runner.run(requests) if requests else []
    names: dict[int, tuple[Any, Any, str]] = {}
    for row, result in zip(rows, results):
        parsed = parse_naming_answer(result.content) if result.ok else None
        status = result.status if not result.ok else ("unparsed" if parsed is None else result.status)
        names[row["cluster_id"]] = (parsed[0] if parsed else None, parsed[1] if parsed else None, status)
    ids = task_types["cluster_id"].to_list()
    return task_types.with_columns(
        pl.Series("llm_name", [names.get(c, (None, None, None))[0] for c in ids], dtype=pl.Utf8),
        pl.Series("llm_description", [names.get(c, (None, None, None))[1] for c in ids], dtype=pl.Utf8),
        pl.Series("llm_status", [names.get(c, (None, None, "not sent"))[2] for c in ids], dtype=pl.Utf8),
    )
