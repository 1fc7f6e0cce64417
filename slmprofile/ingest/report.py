"""The ingest report: rows read, kept and skipped (by reason, per file, with the first offending lines).

Every row read is kept or skipped (``rows_read == rows_kept + rows_skipped`` per file). Invalid values in kept rows
(a negative cost, 10**30 tokens) are counted apart, in ``nulled``: the field was set to null, the row kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .common import SKIP_HINTS

MAX_EXAMPLES = 5


@dataclass
class FileReport:
    """What ingestion did with one file."""

    path: str
    format: str | None = None
    rows_read: int = 0
    rows_kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: reason -> first few ``file:line field: detail`` locations (skips and nulled values)
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: values nulled in kept rows, by reason (``invalid_value``)
    nulled: Counter[str] = field(default_factory=Counter)
    #: a file-level problem (empty file, unknown format), if any
    problem: str | None = None
    detected_by: str | None = None

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str, location: str) -> None:
        self.skipped[reason] += 1
        self._example(reason, location)

    def null(self, reason: str, location: str) -> None:
        """Count a value nulled in a kept row (``location``: ``file:line field 'x': detail``)."""
        self.nulled[reason] += 1
        self._example(reason, location)

    def _example(self, reason: str, location: str) -> None:
        examples = self.examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(location)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "detected_by": self.detected_by, "problem": self.problem,
            "rows_read": self.rows_read, "rows_kept": self.rows_kept, "rows_skipped": self.rows_skipped,
            "skipped": dict(sorted(self.skipped.items())), "nulled": dict(sorted(self.nulled.items())),
            "examples": self.examples,
        }


@dataclass
class IngestReport:
    """Totals and per-file details of one ingestion run; ``str(report)`` is a readable summary."""

    files: list[FileReport] = field(default_factory=list)
    rows_out: int = 0
    tokens_estimated: int = 0
    cost_estimated: int = 0
    cost_unknown: int = 0
    unpriced_models: Counter[str] = field(default_factory=Counter)
    batch_joined: int = 0
    templates: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    outcomes: list[Any] = field(default_factory=list)  # OutcomeReport per joined eval table

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_kept(self) -> int:
        return sum(f.rows_kept for f in self.files)

    @property
    def rows_skipped(self) -> int:
        return sum(f.rows_skipped for f in self.files)

    @property
    def skipped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.skipped)
        return total

    @property
    def nulled(self) -> Counter[str]:
        """Invalid values nulled in kept rows, by reason."""
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.nulled)
        return total

    @property
    def values_nulled(self) -> int:
        return sum(f.nulled.total() for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read, "rows_kept": self.rows_kept, "rows_skipped": self.rows_skipped,
            "rows_out": self.rows_out, "skipped": dict(sorted(self.skipped.items())),
            "nulled": dict(sorted(self.nulled.items())),
            "tokens_estimated": self.tokens_estimated, "cost_estimated": self.cost_estimated,
            "cost_unknown": self.cost_unknown, "unpriced_models": dict(self.unpriced_models.most_common()),
            "batch_joined": self.batch_joined, "templates": self.templates, "notes": list(self.notes),
            "seconds": round(self.seconds, 3), "files": [f.to_dict() for f in self.files],
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    def lines(self) -> list[str]:
        """The report as plain text lines."""
        out = [f"read {self.rows_read:,} rows from {len(self.files)} file(s): kept {self.rows_kept:,}, "
               f"skipped {self.rows_skipped:,} -> {self.rows_out:,} calls, {self.templates:,} templates"
               + (f" ({self.seconds:.1f} s)" if self.seconds else "")]
        for f in self.files:
            fmt = f.format or "?"
            out.append(f"  {f.path} [{fmt}]: read {f.rows_read:,}, kept {f.rows_kept:,}, skipped {f.rows_skipped:,}"
                       + (f" - {f.problem}" if f.problem else ""))
            for reason, n in f.skipped.most_common():
                hint = SKIP_HINTS.get(reason, "")
                out.append(f"    {reason}: {n:,}" + (f" ({hint})" if hint else ""))
                for loc in f.examples.get(reason, []):
                    out.append(f"      at {loc}")
            for reason, n in f.nulled.most_common():
                out.append(f"    {reason}: {n:,} nulled ({SKIP_HINTS.get(reason, '')})")
                for loc in f.examples.get(reason, []):
                    out.append(f"      at {loc}")
        if self.tokens_estimated:
            out.append(f"  token counts estimated with bpe-openai for {self.tokens_estimated:,} calls")
        if self.cost_estimated:
            out.append(f"  cost priced with genai-prices for {self.cost_estimated:,} calls")
        if self.unpriced_models:
            models = ", ".join(f"{m} ({n:,})" for m, n in self.unpriced_models.most_common())
            out.append(f"  cost unknown for {self.cost_unknown:,} calls: no price for {models}")
        if self.batch_joined:
            out.append(f"  {self.batch_joined:,} Batch API output rows joined to their input rows")
        for o in self.outcomes:
            out.append(f"  {o.line()}")
            for reason, locations in o.examples.items():
                out.extend(f"    {reason} at {loc}" for loc in locations[:3])
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())
