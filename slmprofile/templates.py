"""Template detection: group prompts that come from the same prompt template.

In real logs one product feature is one template: a fixed instruction wrapped around variable data. Prompts are
grouped (``template_id``) by, in order:

1. the system prompt, when there is one (its text, with numbers/ids/quoted spans masked);
2. otherwise the prompt's *skeleton*: its lines (and ``Label:`` prefixes) that recur in at least
   ``min_support`` prompts, after masking numbers, ids, e-mails, URLs and quoted spans, with the variable lines
   collapsed to ``<SLOT>``;
3. otherwise (no recurring line) the masked prompt itself, so prompts differing only in numbers, ids or quoted
   spans share a template and every other prompt is its own.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

#: Regex -> placeholder, applied in order, so that variable values do not split a template.
MASKS: tuple[tuple[str, str], ...] = (
    (r"[\w.+-]+@[\w-]+\.[\w.-]+", "<EMAIL>"),
    (r"https?://\S+", "<URL>"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<UUID>"),
    (r"\b[0-9a-f]{12,}\b", "<HEX>"),
    (r"\"[^\"\n]{1,200}\"|'[^'\n]{1,200}'|“[^”\n]{1,200}”|`[^`\n]{1,200}`", "<QUOTED>"),
    (r"\b[A-Z]{2,}[-_]?\d[\w-]*\b", "<ID>"),
    (r"[$€£]?\d[\d,.:/-]*%?", "<NUM>"),
    (r"[ \t]+", " "),
)


HEAD_SEGMENTS = 12
TAIL_SEGMENTS = 4


def mask_expr(column: str) -> pl.Expr:
    """Polars expression masking variable values in ``column`` (see :data:`MASKS`)."""
    import polars as pl

    expr = pl.col(column).fill_null("")
    for pattern, placeholder in MASKS:
        expr = expr.str.replace_all(pattern, placeholder)
    return expr.str.strip_chars()


def stable_hash(text: str, *, length: int = 16) -> str:
    """Hex digest of ``text`` that is stable across runs, machines and library versions."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()[:length]


def hash_strings(values: list[str | None], *, length: int = 16) -> list[str | None]:
    """:func:`stable_hash` of each value (None stays None), hashing each distinct value once."""
    memo: dict[str, str] = {}
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        digest = memo.get(value)
        if digest is None:
            digest = memo[value] = stable_hash(value, length=length)
        out.append(digest)
    return out


def _distinct_pairs(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per-row key, distinct ``prompt_text, system_prompt, key`` rows in first-seen order)."""
    import polars as pl

    keys = df.select(pl.struct("prompt_text", "system_prompt").hash(seed=7).alias("key"))
    distinct = df.select("prompt_text", "system_prompt").with_columns(keys["key"]).unique("key", keep="first",
                                                                                         maintain_order=True)
    return keys, distinct


def _segments(distinct: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``row, masked, system`` per distinct prompt, ``row, seg, pos`` per line segment)."""
    import polars as pl

    base = distinct.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
        mask_expr("prompt_text").alias("masked"),
        mask_expr("system_prompt").alias("system"),
    )
    # Segments: lines (the first HEAD_SEGMENTS and last TAIL_SEGMENTS: templates wrap the data, they do not
    # interleave with it), with a short "Label:" prefix split off as its own segment.
    lines = pl.col("masked").str.split("\n")
    segs = (
        base.select("row", pl.when(lines.list.len() > HEAD_SEGMENTS + TAIL_SEGMENTS)
                    .then(pl.concat_list(lines.list.head(HEAD_SEGMENTS), pl.lit(["<SLOT>"]),
                                         lines.list.tail(TAIL_SEGMENTS)))
                    .otherwise(lines).alias("seg"))
        .explode("seg")
        .with_columns(pl.col("seg").str.strip_chars())
        .with_columns(pl.col("seg").str.extract(r"^([^:]{3,80}:)\s+\S", 1).alias("prefix"))
        .with_columns(
            pl.when(pl.col("prefix").is_not_null()).then(pl.concat_list("prefix", pl.lit("<SLOT>")))
            .otherwise(pl.concat_list("seg")).alias("seg")
        )
        .drop("prefix")
        .explode("seg")
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("pos"))
    )
    return base, segs


def learn_fixed_segments(df: pl.DataFrame, *, min_support: int | None = None,
                         min_line_chars: int = 8) -> pl.DataFrame:
    """The masked lines that count as fixed template text in ``df`` (``seg``, ``support``).

    ``df`` needs ``prompt_text`` and ``system_prompt``; repeats of one prompt count once. ``min_support``: how many
    distinct prompts a line must occur in; default ``max(3, 0.1 % of the distinct prompts)``. Learn on a uniform
    sample of a large log and apply with :func:`template_ids` chunk by chunk (see :mod:`slmprofile.ingest.stream`).
    """
    import polars as pl

    _, distinct = _distinct_pairs(df)
    support = min_support if min_support is not None else max(3, int(0.001 * distinct.height))
    _, segs = _segments(distinct)
    return (
        segs.filter(pl.col("seg").str.len_chars() >= min_line_chars)
        .unique(["row", "seg"])
        .group_by("seg")
        .agg(pl.len().alias("support"))
        .filter(pl.col("support") >= support)
    )


def template_ids(df: pl.DataFrame, fixed: pl.DataFrame) -> pl.Series:
    """Template id of each row of ``df`` given the fixed lines learnt by :func:`learn_fixed_segments`."""
    import polars as pl

    if df.height == 0:
        return pl.Series("template_id", [], dtype=pl.Utf8)
    keys, distinct = _distinct_pairs(df)
    base, segs = _segments(distinct)
    skeleton = (
        segs.join(fixed.select("seg", "support"), on="seg", how="left")
        .sort("pos")
        .with_columns(
            pl.when(pl.col("support").is_not_null()).then(pl.col("seg")).otherwise(pl.lit("<SLOT>")).alias("tok"),
            pl.col("support").is_not_null().alias("fixed"),
        )
        .group_by("row", maintain_order=True)
        .agg(pl.col("tok").str.join("\n").alias("skeleton"), pl.col("fixed").any().alias("has_fixed"))
        .with_columns(pl.col("skeleton").str.replace_all(r"(<SLOT>\n?)+", "<SLOT>\n"))
    )
    group_keys = base.join(skeleton, on="row", how="left").sort("row").select(
        pl.when(pl.col("system") != "").then(pl.lit("s") + pl.col("system"))
        .when(pl.col("has_fixed")).then(pl.lit("k") + pl.col("skeleton"))
        .otherwise(pl.lit("p") + pl.col("masked"))
    ).to_series().to_list()
    ids = [f"{k[0]}{h}" for k, h in zip(group_keys, hash_strings(group_keys, length=11))]
    mapping = distinct.select("key", pl.Series("template_id", ids, dtype=pl.Utf8))
    return keys.join(mapping, on="key", how="left", maintain_order="left")["template_id"]


def assign_templates(df: pl.DataFrame, *, min_support: int | None = None, min_line_chars: int = 8) -> pl.Series:
    """Template id of each row of ``df`` (needs ``prompt_text`` and ``system_prompt``).

    ``min_support``: how many prompts a line must occur in to count as fixed template text; default
    ``max(3, 0.1 % of the rows)``. Lower finds more (smaller) templates, higher fewer.
    """
    import polars as pl

    if df.height == 0:
        return pl.Series("template_id", [], dtype=pl.Utf8)
    fixed = learn_fixed_segments(df, min_support=min_support, min_line_chars=min_line_chars)
    return template_ids(df, fixed)


#: An opening instruction is a template group when at least this many distinct prompts share it.
INSTRUCTION_MIN_COUNT = 3


def instruction_keys(system_prompts: list[str | None], prompts: list[str | None], *,
                     min_count: int = INSTRUCTION_MIN_COUNT, max_chars: int = 80) -> list[str | None]:
    """A coarser template signal: the opening instruction of each prompt, when several prompts share it.

    The key is the first sentence of the system prompt (when there is one), else of the first line of a multi-line
    prompt, lower-cased with numbers masked and cut to ``max_chars``. System prompts that embed retrieved context or
    a user's name differ as wholes (so their ``template_id`` differs) but open the same way; prompts that carry
    their instruction inline ("Draft a reply to this customer email.") are caught by their first line. Keys held by
    fewer than ``min_count`` prompts, and single-line prompts without a system prompt, get ``None``.
    """
    import re
    from collections import Counter

    split = re.compile(r"(?<=[.!?:])\s")
    digits = re.compile(r"\d+")

    def key(system: str | None, prompt: str | None) -> str | None:
        for kind, text in (("S", system), ("U", prompt)):
            if not text or not text.strip():
                continue
            lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
            if kind == "U" and len(lines) < 2:
                return None
            first = split.split(lines[0], maxsplit=1)[0]
            return f"{kind}:{digits.sub('0', first.lower())[:max_chars]}"
        return None

    keys = [key(s, p) for s, p in zip(system_prompts, prompts)]
    counts = Counter(k for k in keys if k is not None)
    return [k if k is not None and counts[k] >= min_count else None for k in keys]
