"""Part one of the PII evaluation set: English prompts to a company's assistant, with their true spans.

See :mod:`slmprofile.pii_eval` for what the texts hold; values come from :mod:`.values`, the frames and
mention templates from :mod:`.generate_data`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..redact import PII_KINDS
from .generate_data import CITIES, FIRST_NAMES, FRAMES, MENTIONS, NEGATIVE_SENTENCES, PRODUCTS
from .values import NEGATIVES, PII_VALUES, bearer_token, person_name, url_with_token


@dataclass(frozen=True)
class LabelledText:
    """A text and the true ``(start, end, kind)`` of every PII value in it (``text[start:end]`` is the value)."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


def _mention(rng: random.Random, kind: str, style: str) -> list[tuple[str, str | None]]:
    """One mention of ``kind`` as (text, kind-or-None) pieces."""
    template = rng.choice(MENTIONS[kind][style])
    pieces: list[tuple[str, str | None]] = []
    for literal, field in split_template(template):
        if literal:
            pieces.append((literal, None))
        if field is None:
            continue
        if field == "V":
            pieces.append((PII_VALUES[kind](rng), kind))
        elif field == "B":
            pieces.append((bearer_token(rng), "API_KEY"))
        elif field == "U":
            pieces.extend(url_with_token(rng))
        else:
            pieces.append((_filler(rng, field), None))
    return pieces


_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def split_template(template: str) -> list[tuple[str, str | None]]:
    """``"a {X} b"`` -> ``[("a ", "X"), (" b", None)]``; ``{{``/``}}`` are literal braces."""
    out: list[tuple[str, str | None]] = []
    literal = []
    pos = 0
    for m in _FIELD.finditer(template):
        literal.append(template[pos : m.start()])
        pos = m.end()
        if m.group(1) is None:
            literal.append(m.group()[0])
            continue
        out.append(("".join(literal), m.group(1)))
        literal = []
    literal.append(template[pos:])
    out.append(("".join(literal), None))
    return out


def _filler(rng: random.Random, field: str) -> str:
    if field in NEGATIVES:
        return NEGATIVES[field](rng)
    if field == "NAME":
        return person_name(rng)
    if field == "FIRST":
        return rng.choice(FIRST_NAMES)
    if field == "PRODUCT":
        return rng.choice(PRODUCTS)
    if field == "CITY":
        return rng.choice(CITIES)
    raise KeyError(field)


def _negative_sentence(rng: random.Random) -> list[tuple[str, str | None]]:
    template = rng.choice(NEGATIVE_SENTENCES)
    return [("".join(lit + (_filler(rng, f) if f else "") for lit, f in split_template(template)), None)]


def make_pii_eval_set(*, n_instances: int = 400, seed: int = 0) -> list[LabelledText]:
    """``n_instances`` labelled texts, deterministic for ``seed``.

    About 70% of the texts carry one PII value, 20% two, 10% none (negatives only); kinds are drawn
    round-robin over :data:`~slmprofile.redact.PII_KINDS` (shuffled each round), so 400 texts hold
    about 440 PII values, 55 per kind.
    """
    rng = random.Random(seed)
    queue: list[str] = []

    def next_kind() -> str:
        if not queue:
            queue.extend(rng.sample(PII_KINDS, len(PII_KINDS)))
        return queue.pop()

    samples: list[LabelledText] = []
    for _ in range(n_instances):
        style, frame = rng.choice(FRAMES)
        u = rng.random()
        n_pii = 0 if u < 0.1 else (2 if u > 0.8 else 1)
        slots: dict[str, list[tuple[str, str | None]]] = {}
        for i, slot in enumerate(("P1", "P2")):
            if i < n_pii:
                slots[slot] = _mention(rng, next_kind(), style)
            elif slot == "P1" or rng.random() < 0.6:
                slots[slot] = _negative_sentence(rng)
            else:
                slots[slot] = []
        text_parts: list[str] = []
        spans: list[tuple[int, int, str]] = []
        pos = 0
        for literal, field in split_template(frame):
            pieces: list[tuple[str, str | None]] = [(literal, None)]
            if field in slots:
                pieces += slots[field]
            elif field is not None:
                pieces.append((_filler(rng, field), None))
            for piece, kind in pieces:
                if piece[:1] in ".;," and text_parts and text_parts[-1][-1:] in ".;,":
                    piece = piece[1:]  # no ".." where a mention ends a sentence the frame also ends
                if kind is not None:
                    spans.append((pos, pos + len(piece), kind))
                text_parts.append(piece)
                pos += len(piece)
        samples.append(LabelledText("".join(text_parts).rstrip(), tuple(spans)))
    return samples
