"""Agreement measures: does a candidate model's answer agree with the logged frontier answer?

Each measure scores ``(candidate, reference)`` pairs in ``[0, 1]`` and calls a pair *agreeing* when the score
reaches its ``threshold``. Measures register by name (:data:`MEASURES`, :func:`get_measure`); each archetype has a
default (:func:`measure_for`):

============================  =================  ====================================================================
archetype                     measure            agreement
============================  =================  ====================================================================
classification                ``label``          same label once case, quotes, spacing and trailing punctuation go
extraction (JSON answers)     ``json_fields``    share of fields (flattened, dotted paths) with equal values >= 0.9
maths/reasoning               ``final_number``   the last number of each answer is equal (relative tolerance 1e-6)
everything else               ``embedding``      cosine similarity of the two answers' embeddings >= 0.8
============================  =================  ====================================================================

``exact`` (byte-equal after stripping) and ``judge`` (an LLM judge asked through :class:`slmprofile.llm.LLMRunner`:
"do these two answers agree? YES/NO") are there to choose explicitly.

>>> get_measure("final_number").agree(["It is 42."], ["The answer: 42"]).tolist()
[True]
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .llm import LLMRunner

MEASURES: dict[str, type[Measure]] = {}


def register(cls: type[Measure]) -> type[Measure]:
    """Class decorator: make a measure available by its ``name``."""
    MEASURES[cls.name] = cls
    return cls


def get_measure(name: str, **kwargs: Any) -> Measure:
    """The registered measure ``name`` built with ``kwargs`` (e.g. ``embedder=...``, ``threshold=...``)."""
    if name not in MEASURES:
        raise ValueError(f"unknown agreement measure {name!r}; choose one of {', '.join(sorted(MEASURES))}")
    return MEASURES[name](**kwargs)


class Measure:
    """Base class: subclasses set ``name``, ``threshold`` and implement :meth:`score`."""

    name = "base"
    threshold = 1.0

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        """Agreement score of each pair in ``[0, 1]`` (a missing candidate scores 0)."""
        raise NotImplementedError

    def agree(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        """Boolean agreement of each pair: ``score >= threshold``."""
        import numpy as np

        return np.asarray(self.score(candidates, references)) >= self.threshold - 1e-12

    def describe(self) -> str:
        return f"{self.name} (agree when score >= {self.threshold:g})"


def _pairwise(fn: Callable[[str, str], float], candidates: Sequence[str | None],
              references: Sequence[str | None]) -> np.ndarray:
    import numpy as np

    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
    return np.array([0.0 if c is None or r is None else float(fn(c, r)) for c, r in zip(candidates, references)],
                    dtype=np.float64)


_LABEL_STRIP = re.compile(r"^[\s\"'`*_(\[]+|[\s\"'`*_)\].!,;:]+$")


def normalise_label(text: str) -> str:
    """Lower case, collapse spaces, drop surrounding quotes/markdown/brackets and trailing punctuation, and a leading
    ``label:``/``category:``/``answer:``."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    text = re.sub(r"^(?:label|category|answer|sentiment|class|intent)\s*[:=-]\s*", "", text)
    return _LABEL_STRIP.sub("", text)


@register
class ExactMatch(Measure):
    """Equal after stripping surrounding whitespace."""

    name = "exact"

    def __init__(self, *, threshold: float = 1.0) -> None:
        self.threshold = threshold

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        return _pairwise(lambda c, r: float(c.strip() == r.strip()), candidates, references)


@register
class LabelMatch(Measure):
    """Same label after :func:`normalise_label` (for classification: short answers from a label set)."""

    name = "label"

    def __init__(self, *, threshold: float = 1.0) -> None:
        self.threshold = threshold

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        return _pairwise(lambda c, r: float(normalise_label(c) == normalise_label(r)), candidates, references)


def parse_json_answer(text: str) -> Any:
    """The JSON value in an answer (code fences and text around the outermost object/array are ignored);
    raises ValueError when there is none."""
    body = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text.strip())
    try:
        return json.loads(body)
    except ValueError:
        start = min([i for i in (body.find("{"), body.find("[")) if i >= 0], default=-1)
        end = max(body.rfind("}"), body.rfind("]"))
        if start < 0 or end <= start:
            raise
        return json.loads(body[start:end + 1])


def flatten_fields(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [2, 3]}`` -> ``{"a.b": 1, "c.0": 2, "c.1": 3}`` (scalars normalised for comparison)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten_fields(v, f"{prefix}{k}."))
        return out or {prefix.rstrip("."): "{}"}
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten_fields(v, f"{prefix}{i}."))
        return out or {prefix.rstrip("."): "[]"}
    key = prefix.rstrip(".")
    if isinstance(value, str):
        return {key: re.sub(r"\s+", " ", value.strip().lower())}
    if isinstance(value, float) and value.is_integer():
        return {key: int(value)}
    return {key: value}


def json_field_agreement(candidate: str, reference: str) -> float:
    """Share of the union of (flattened) fields that both answers hold with equal values; 0 when the candidate is
    not JSON; exact label match when the reference is not JSON either."""
    try:
        ref = flatten_fields(parse_json_answer(reference))
    except ValueError:
        return float(normalise_label(candidate) == normalise_label(reference))
    try:
        cand = flatten_fields(parse_json_answer(candidate))
    except ValueError:
        return 0.0
    keys = set(ref) | set(cand)
    if not keys:
        return 1.0
    return sum(1 for k in keys if k in ref and k in cand and ref[k] == cand[k]) / len(keys)


@register
class JsonFieldMatch(Measure):
    """Field-level match of JSON answers (for extraction): the share of fields with equal values."""

    name = "json_fields"

    def __init__(self, *, threshold: float = 0.9) -> None:
        self.threshold = threshold

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        return _pairwise(json_field_agreement, candidates, references)


_NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


def final_number(text: str) -> float | None:
    """The last number in ``text`` (thousands separators, ``$`` and ``%`` ignored); None when there is none."""
    found = _NUMBER.findall(text or "")
    if not found:
        return None
    raw = found[-1].replace(",", "").replace("$", "")
    try:
        return float(raw)
    except ValueError:
        return None


@register
class FinalNumberMatch(Measure):
    """The final numbers of both answers are equal (for maths): ``|a - b| <= rel_tol * max(|a|, |b|) + abs_tol``."""

    name = "final_number"

    def __init__(self, *, threshold: float = 1.0, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> None:
        self.threshold = threshold
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        def same(c: str, r: str) -> float:
            a, b = final_number(c), final_number(r)
            if a is None or b is None:
                return float(a is None and b is None and normalise_label(c) == normalise_label(r))
            return float(math.isclose(a, b, rel_tol=self.rel_tol, abs_tol=self.abs_tol))

        return _pairwise(same, candidates, references)


@register
class EmbeddingSimilarity(Measure):
    """Cosine similarity of the two answers' sentence embeddings (for free text), clipped to ``[0, 1]``.

    Args:
        embedder: an :class:`slmprofile.embed.Embedder` (or anything with ``encode(texts) -> array``); None loads
            the bundled model on first use.
        threshold: similarity that counts as agreement. With all-MiniLM-L6-v2, paraphrases of one answer typically
            score 0.8-0.95 and different answers to the same prompt 0.4-0.75; raise it for stricter agreement.
    """

    name = "embedding"

    def __init__(self, *, embedder: Any = None, threshold: float = 0.8) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        import numpy as np

        if len(candidates) != len(references):
            raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
        if self.embedder is None:
            from .embed import Embedder

            self.embedder = Embedder()
        present = [i for i, (c, r) in enumerate(zip(candidates, references)) if c is not None and r is not None]
        out = np.zeros(len(candidates), dtype=np.float64)
        if not present:
            return out
        texts = [str(candidates[i]) for i in present] + [str(references[i]) for i in present]
        vecs = np.asarray(self.embedder.encode(texts), dtype=np.float64)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        n = len(present)
        sims = np.einsum("ij,ij->i", vecs[:n], vecs[n:])
        out[present] = np.clip(sims, 0.0, 1.0)
        return out


JUDGE_PROMPT = ("You compare two answers to the same request. Say whether the candidate answer agrees with the "
                "reference answer: same decision, same facts, same numbers; wording may differ.\n\n"
                "Request:\n{prompt}\n\nReference answer:\n{reference}\n\nCandidate answer:\n{candidate}\n\n"
                "Do the answers agree? Reply with YES or NO only.")


@register
class LLMJudge(Measure):
    """An LLM judge asked through an :class:`slmprofile.llm.LLMRunner` (same client, cache, spend cap, redaction):
    "does the candidate agree with the reference?" -> YES (1) / NO (0); an unanswered or unclear verdict scores 0.

    ``prompts`` (the original requests) may be set before scoring to give the judge context.
    """

    name = "judge"

    def __init__(self, *, runner: LLMRunner | None = None, threshold: float = 1.0) -> None:
        self.runner = runner
        self.threshold = threshold
        self.prompts: Sequence[str] | None = None

    def score(self, candidates: Sequence[str | None], references: Sequence[str | None]) -> np.ndarray:
        import numpy as np

        from .llm import LLMRequest

        if self.runner is None:
            raise ValueError("the judge measure needs runner=LLMRunner(...) for the judge model")
        if len(candidates) != len(references):
            raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
        prompts = list(self.prompts) if self.prompts is not None else [""] * len(candidates)
        todo = [i for i, (c, r) in enumerate(zip(candidates, references)) if c is not None and r is not None]
        requests = [LLMRequest.from_prompt(JUDGE_PROMPT.format(prompt=prompts[i], reference=references[i],
                                                               candidate=candidates[i]), key=str(i)) for i in todo]
        out = np.zeros(len(candidates), dtype=np.float64)
        for i, result in zip(todo, self.runner.run(requests)):
            verdict = (result.content or "").strip().upper()
            out[i] = 1.0 if result.ok and verdict.startswith("YES") else 0.0
        return out


#: Default measure per archetype (see the module docstring); anything else uses ``embedding``.
ARCHETYPE_MEASURES: dict[str, str] = {
    "classification": "label",
    "extraction": "json_fields",
    "maths/reasoning": "final_number",
}


def measure_for(archetype: str | None, *, json_output_share: float | None = None) -> str:
    """The default measure name for a task type: extraction without JSON answers, and every archetype without an
    entry in :data:`ARCHETYPE_MEASURES`, use ``embedding``."""
    name = ARCHETYPE_MEASURES.get(archetype or "", "embedding")
    if name == "json_fields" and (json_output_share or 0.0) < 0.5:
        return "embedding"
    return name
