"""Numbers and words of the report: money, shares, counts, trends, verdict classes, redacted examples."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Iterable


if TYPE_CHECKING:  # pragma: no cover
    pass

logger = logging.getLogger(__name__)


#: Verdict words that mean "an SLM can take it" / "keep it on the frontier model"; anything else is undecided.
MOVE_VERDICTS = frozenset({"slm", "move", "yes", "suitable", "go", "switch", "small"})


KEEP_VERDICTS = frozenset({"frontier", "keep", "no", "unsuitable", "stay", "large"})


DAYS_PER_MONTH = 30.44


def as_number(value: Any) -> float | None:
    """A finite float, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fmt_money(value: Any) -> str:
    """``$12,345`` / ``$5.91`` / ``$0.029``; ``?`` when unknown."""
    x = as_number(value)
    if x is None:
        return "?"
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1000:
        return f"{sign}${x:,.0f}"
    if x >= 0.1 or x == 0:
        return f"{sign}${x:,.2f}"
    return f"{sign}${x:.2g}" if x >= 0.0001 else f"{sign}<$0.0001"


def fmt_pct(value: Any, digits: int = 0) -> str:
    """``42 %``-style share of 1; ``?`` when unknown."""
    x = as_number(value)
    if x is None:
        return "?"
    if 0 < abs(x) < 0.01 and digits == 0:
        return f"{x:.1%}"
    return f"{x:.{digits}%}"


def fmt_int(value: Any) -> str:
    x = as_number(value)
    return "?" if x is None else f"{x:,.0f}"


def fmt_trend(value: Any) -> str:
    """Weekly change of a share in percentage points (``flat`` below 0.05 pp)."""
    x = as_number(value)
    if x is None:
        return ""
    return "flat" if abs(x) < 0.0005 else f"{x * 100:+.1f} pp/week"


def redacted_text(text: Any, limit: int = 400) -> str:
    """Text as it may appear in the report: redacted (again), one paragraph, at most ``limit`` characters."""
    from ..redact import redact

    clean = redact(str(text))[0]
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def verdict_class(verdict: Any) -> str:
    """``slm``, ``frontier`` or ``undecided`` for a verdict word (or a boolean "suitable" flag)."""
    if isinstance(verdict, bool):
        return "slm" if verdict else "frontier"
    word = str(verdict or "").strip().lower()
    if word in MOVE_VERDICTS:
        return "slm"
    if word in KEEP_VERDICTS:
        return "frontier"
    return "undecided"


def flatten_scalars(obj: Any, prefix: str = "", *, skip: Iterable[str] = ("curve",),
                    limit: int = 60) -> list[tuple[str, Any]]:
    """``(dotted.key, value)`` for every scalar in nested dicts (lists and keys containing ``skip`` words left out)."""
    out: list[tuple[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if any(s in str(key).lower() for s in skip):
                    continue
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, (str, int, float, bool)) or node is None:
            out.append((path, node))

    walk(obj, prefix)
    return out
