"""The ``--map`` option: ``TARGET=COLUMN`` pairs parsed once (:func:`parse_mapping`), and a mapped value read from a
record turned into its target column's type (:func:`coerce`)."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..errors import IngestError
from ..schema import OUTCOME_COLUMNS
from .common import as_amount, as_bool, as_count, as_float, as_str, parse_timestamp
from .formats import TABLE_FIELDS

_TARGET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAP_SYNTAX = "expected TARGET=COLUMN pairs separated by commas, e.g. --map prompt=question,response=answer"


def parse_mapping(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"prompt=question,slm_correct=col"`` -> ``{"prompt": "question", "slm_correct": "col"}``.

    A target is a column name of the output (letters, digits, ``_``); a column is any name or dotted path without
    ``=`` (a second ``=`` is almost always a missing comma: ``prompt=q;model=m``). A target given twice, an empty
    side or a malformed target raises :class:`~slmprofile.errors.IngestError` (a ``ValueError``).
    """
    if spec is None:
        return {}
    pairs = ([(str(k), str(v)) for k, v in spec.items()] if isinstance(spec, Mapping)
             else [_map_pair(part) for part in (p.strip() for p in spec.split(",")) if part])
    mapping: dict[str, str] = {}
    for target, column in pairs:
        entry = f"{target}={column}"
        if not _TARGET_NAME.fullmatch(target):
            raise IngestError(f"bad --map entry {entry!r}: target {target!r} is not a column name "
                              f"(letters, digits, _); {_MAP_SYNTAX}")
        if not column or "=" in column:
            raise IngestError(f"bad --map entry {entry!r}: {_MAP_SYNTAX}")
        if target in mapping:
            raise IngestError(f"bad --map: {target!r} is mapped twice ({target}={mapping[target]} and {entry})")
        mapping[target] = column
    return mapping


def _map_pair(part: str) -> tuple[str, str]:
    target, sep, column = part.partition("=")
    if not sep or not target.strip() or not column.strip():
        raise IngestError(f"bad --map entry {part!r}: {_MAP_SYNTAX}")
    return target.strip(), column.strip()


def coerce(target: str, value: Any, field: str) -> Any:
    """``value`` (read from ``field``) as the type of ``target``'s column: a token count, an amount, a timestamp, an
    outcome's bool or float; else text."""
    column = TABLE_FIELDS.get(target, target)
    if column in ("prompt_tokens", "completion_tokens"):
        return as_count(value, field)
    if column in ("cost_usd", "latency_ms"):
        return as_amount(value, field)
    if column == "timestamp":
        return parse_timestamp(value, field)
    kind = OUTCOME_COLUMNS.get(column)
    if kind == "bool":
        return as_bool(value, field)
    if kind == "float":
        return as_float(value, field)
    return as_str(value)
