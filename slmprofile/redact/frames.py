"""Redaction of whole logs: every text column of a logs frame, messages and tool-call arguments, Parquet parts in
place, and the JSON of an ingest report.

:func:`redact_logs` is what a run applies before anything is written (:mod:`slmprofile.pipeline`, the Ray engine
and the ``redact`` command alike); :func:`redact_frame` redacts chosen columns of any polars frame. The text itself
is redacted by :func:`slmprofile.redact.text.redact`.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .batch import redact_many
from .text import PII_KINDS, check_kinds, redact

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: Text columns redacted before logs are written (everything that could reach a report or an API). Any other
#: text column (``--map``-ed outcome or note columns included) is redacted too, except :data:`STRUCTURAL_COLUMNS`.
REDACT_COLUMNS = ("prompt_text", "response_text", "system_prompt", "messages", "error", "metadata", "user_id",
                  "session_id")
#: Text columns that identify or describe a call rather than carry what people wrote: never redacted (the call
#: ``id`` joins outcome tables and shadow results, ``source`` is ``file:line``).
STRUCTURAL_COLUMNS = ("id", "source", "format", "provider", "model", "status", "prompt_hash", "template_id")


def redact_columns(schema: Mapping[str, Any]) -> list[str]:
    """The text columns of a logs frame with ``schema`` that :func:`redact_logs` redacts, ``messages`` last."""
    import polars as pl

    texts = [name for name, dtype in schema.items() if dtype == pl.Utf8 and name not in STRUCTURAL_COLUMNS]
    known = [c for c in REDACT_COLUMNS if c in schema and c != "messages"]
    return known + [c for c in texts if c not in known] + (["messages"] if "messages" in schema else [])


def redact_frame(
    df: pl.DataFrame, columns: Sequence[str], *, kinds: Iterable[str] | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Redact string ``columns`` of a polars DataFrame, and the ``content`` (and ``tool_calls`` JSON) of each
    message in ``List(Struct)`` columns such as the log schema's ``messages``.

    Returns the new frame (other columns untouched, dtypes kept) and counts per kind, every kind of
    :data:`PII_KINDS` present (zeros included). Raises ``ValueError`` for a missing column or unknown
    kind, ``TypeError`` for a column that is neither text nor a list of messages.
    """
    import polars as pl

    wanted = check_kinds(kinds)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the frame: {missing}; it has {df.columns}")
    total: collections.Counter[str] = collections.Counter()
    replaced: list[pl.Series] = []
    for name in columns:
        dtype = df.schema[name]
        if dtype == pl.Utf8:
            values, counts = redact_many(df.get_column(name).to_list(), kinds=wanted)
            replaced.append(pl.Series(name, values, dtype=pl.Utf8))
        elif (
            isinstance(dtype, pl.List)
            and isinstance(dtype.inner, pl.Struct)
            and any(f.name == "content" for f in dtype.inner.fields)
        ):
            rows = df.get_column(name).to_list()
            # every message text (tool-call arguments can carry PII too) in one batch, then put back
            where = [(r, m, key) for r, messages in enumerate(rows) if messages is not None
                     for m, msg in enumerate(messages) if msg is not None
                     for key in ("content", "tool_calls") if isinstance(msg.get(key), str)]
            values, counts = redact_many([rows[r][m][key] for r, m, key in where], kinds=wanted)
            for (r, m, key), value in zip(where, values):
                rows[r][m] = {**rows[r][m], key: value}
            replaced.append(pl.Series(name, rows, dtype=dtype))
        else:
            raise TypeError(f"column {name!r} has dtype {dtype}: expected a string or List(Struct{{content}}) column")
        total.update(counts)
    out = df.with_columns(replaced) if replaced else df
    return out, {k: total.get(k, 0) for k in PII_KINDS}


def redact_logs(logs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """Redact PII in every text column but the structural ones (:func:`redact_columns`: prompts, responses,
    system prompts, errors, metadata, user and session ids, mapped columns) and in messages and tool-call
    arguments; recompute ``prompt_hash`` on the redacted prompt.

    Counts are per kind over the text columns (``messages`` repeats them, so it is redacted but not counted).
    """
    import polars as pl

    from ..templates import hash_strings

    columns = [c for c in redact_columns(logs.schema) if c != "messages"]
    logs, counts = redact_frame(logs, columns)
    logs = pseudonymise_structural(logs)
    if "messages" in logs.columns:  # repeats prompt/system text: redacted, not counted twice
        logs, _ = redact_frame(logs, ["messages"])
    logs = logs.with_columns(prompt_hash=pl.Series(hash_strings(logs["prompt_text"].to_list()), dtype=pl.Utf8))
    return logs, counts


def pseudonymise_structural(logs: pl.DataFrame) -> pl.DataFrame:
    """Structural columns are not redacted (ids must stay distinct), but ``--map`` can fill them from any column
    (``--map id=email``): a value holding PII becomes its redacted text plus a short digest of the original,
    ``<EMAIL>#3f9a0c1e``, so it stays distinct and joinable within the run while the PII is gone."""
    import hashlib

    import polars as pl

    replaced = []
    for name in STRUCTURAL_COLUMNS:
        if name not in logs.columns or logs.schema[name] != pl.Utf8 or name in ("prompt_hash", "template_id"):
            continue
        mapping = {}
        for value in logs.get_column(name).drop_nulls().unique().to_list():
            text, found = redact(value)
            if found:
                mapping[value] = f"{text}#{hashlib.sha256(value.encode()).hexdigest()[:8]}"
        if mapping:
            replaced.append(pl.col(name).replace(mapping))
    return logs.with_columns(replaced) if replaced else logs


def redact_json(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with PII redacted in every string: the ingest report's examples
    of skipped lines quote the lines themselves."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, dict):
        return {k: redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v) for v in value]
    return value


def redact_part(part: str | Path) -> dict[str, int]:
    """:func:`redact_logs` on one Parquet part, rewritten in place; the part's counts."""
    import polars as pl

    frame, counts = redact_logs(pl.read_parquet(part))
    tmp = Path(str(part) + ".tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, part)
    return counts


def redact_parts(parts: Sequence[Path], *, progress: bool = False, workers: int = 1) -> dict[str, int]:
    """:func:`redact_logs` on each Parquet part in place (one part in memory per worker); summed counts.

    ``workers`` > 1 redacts that many parts at once in separate processes (redaction is pure Python regex work, so
    threads would not help)."""
    totals: dict[str, int] = {}
    parts = [Path(p) for p in parts]
    if workers > 1 and len(parts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        from .. import child

        # each part in its own short-lived process (redaction is pure-Python regex work, so threads alone would
        # not run in parallel); the threads only wait on them
        with ThreadPoolExecutor(max_workers=min(workers, len(parts))) as pool:
            results: Iterable[dict[str, int]] = pool.map(lambda part: child.call(redact_part, part), parts)
            if progress:
                from tqdm.auto import tqdm

                results = tqdm(results, total=len(parts), desc="redact", unit="part")
            counts_list = list(results)
    else:
        iterator: Any = parts
        if progress and len(parts) > 1:
            from tqdm.auto import tqdm

            iterator = tqdm(parts, desc="redact", unit="part")
        counts_list = [redact_part(part) for part in iterator]
    for counts in counts_list:
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + n
    return totals
