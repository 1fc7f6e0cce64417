"""The heuristic Beta prior of a task type's SLM success, and its empirical-Bayes calibration across task types."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

DEFAULT_PRIOR_STRENGTH = 4.0
#: Task types with evidence needed before the prior is calibrated across them.
MIN_TYPES_TO_CALIBRATE = 5
#: Upper limit on the calibrated prior's strength (pseudo-calls).
MAX_PRIOR_STRENGTH = 1000.0
#: A task type's calibrated prior weighs at most this many pseudo-calls per call of its own evidence.
PRIOR_EVIDENCE_RATIO = 0.5

#: Prior mean of SLM success per archetype (before shape adjustments): what small instruction-tuned models
#: (7-8B class) typically manage relative to frontier answers on such work.
ARCHETYPE_PRIOR: dict[str, float] = {
    "classification": 0.92,
    "extraction": 0.88,
    "rewriting/translation": 0.85,
    "summarisation": 0.80,
    "open-ended chat": 0.80,
    "question answering": 0.75,
    "multiple choice": 0.75,
    "creative writing": 0.70,
    "agentic/tool use": 0.65,
    "code": 0.60,
    "maths/reasoning": 0.55,
}
UNKNOWN_ARCHETYPE_PRIOR = 0.70


def logit(p: float) -> float:
    """Log-odds of ``p``, clipped to ``[1e-4, 1 - 1e-4]``."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    """The inverse of :func:`logit`."""
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class Prior:
    """A Beta prior on a task type's SLM success: ``Beta(mean * strength, (1 - mean) * strength)``."""

    mean: float
    strength: float
    reasons: tuple[str, ...]

    @property
    def a(self) -> float:
        return self.mean * self.strength

    @property
    def b(self) -> float:
        return (1 - self.mean) * self.strength

    def describe(self) -> str:
        return (f"Beta({self.a:.2f}, {self.b:.2f}) prior (mean {self.mean:.2f}, {self.strength:g} pseudo-calls): "
                + "; ".join(self.reasons))


def _num(stats: Mapping[str, Any], key: str) -> float | None:
    value = stats.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def heuristic_prior(stats: Mapping[str, Any], *, strength: float = DEFAULT_PRIOR_STRENGTH) -> Prior:
    """A task type's heuristic prior from its statistics (a row of ``task_types``; missing keys are skipped).

    Starts from :data:`ARCHETYPE_PRIOR` and adds, on the logit scale: +0.6 for answers from a small label set,
    +0.3 for JSON output, +0.2 for short outputs, -0.4 for long ones (median >= 400 tokens), +0.2 for templated
    traffic (at most 3 templates), -0.2 for free-form prompts, -0.4 / -0.8 for long contexts (p95 prompt >= 2,000 /
    8,000 tokens), -0.2 when every long answer differs, -0.2 for tool calls, -0.3 when many prompts are not English.
    """
    archetype = stats.get("archetype")
    base = ARCHETYPE_PRIOR.get(archetype or "", UNKNOWN_ARCHETYPE_PRIOR)
    reasons = [f"archetype {archetype}: {base:.2f}" if archetype else f"no archetype: {base:.2f}"]
    x = logit(base)

    def add(delta: float, why: str) -> None:
        nonlocal x
        x += delta
        reasons.append(f"{why} ({delta:+.1f})")

    median_out = _num(stats, "completion_tokens_median")
    distinct = _num(stats, "distinct_response_share")
    json_share = _num(stats, "json_output_share")
    if median_out is not None and distinct is not None and median_out <= 8 and distinct <= 0.2:
        add(0.6, f"small label set ({distinct:.0%} distinct answers, median {median_out:.0f} tokens)")
    elif median_out is not None and median_out <= 50:
        add(0.2, f"short outputs (median {median_out:.0f} tokens)")
    elif median_out is not None and median_out >= 400:
        add(-0.4, f"long outputs (median {median_out:.0f} tokens)")
    if json_share is not None and json_share >= 0.5:
        add(0.3, f"JSON output in {json_share:.0%} of answers")
    templates, prompts = _num(stats, "templates"), _num(stats, "distinct_prompts")
    if templates is not None and prompts:
        if templates <= 3 and prompts >= 10:
            add(0.2, f"templated traffic ({templates:.0f} templates for {prompts:.0f} prompts)")
        elif templates / prompts >= 0.5 and prompts >= 10:
            add(-0.2, f"free-form prompts ({templates / prompts:.0%} of prompts have their own template)")
    p95 = _num(stats, "prompt_tokens_p95")
    if p95 is not None and p95 >= 8000:
        add(-0.8, f"long context (p95 prompt {p95:,.0f} tokens)")
    elif p95 is not None and p95 >= 2000:
        add(-0.4, f"longish context (p95 prompt {p95:,.0f} tokens)")
    if distinct is not None and distinct >= 0.9 and median_out is not None and median_out > 50:
        add(-0.2, f"open-ended: {distinct:.0%} of answers differ")
    tools = _num(stats, "tool_call_share")
    if tools is not None and tools >= 0.3:
        add(-0.2, f"tool calls in {tools:.0%} of answers")
    non_english = _num(stats, "non_english_share")
    if non_english is not None and non_english >= 0.3:
        add(-0.3, f"{non_english:.0%} of prompts not in English")
    mean = min(max(sigmoid(x), 0.05), 0.99)
    return Prior(mean=mean, strength=float(strength), reasons=tuple(reasons))


def non_english_share(texts: Iterable[str | None]) -> float:
    """Share of texts whose letters are at least 20 % non-ASCII (a cheap language signal: accented and non-Latin
    scripts)."""
    total = flagged = 0
    for text in texts:
        if not text:
            continue
        letters = [c for c in text if c.isalpha()]
        if not letters:
            continue
        total += 1
        flagged += sum(1 for c in letters if ord(c) > 127) >= 0.2 * len(letters)
    return flagged / total if total else 0.0


def fit_logit_means(X: np.ndarray, y: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted (by ``n``) least squares of logit rates ``y`` on ``X`` (tiny ridge on the slopes) -> (coefficients,
    fitted means)."""
    import numpy as np

    w = n / n.sum()
    ridge = 1e-3 * np.eye(X.shape[1])
    ridge[0, 0] = 0.0
    beta = np.linalg.solve(X.T @ (X * w[:, None]) + ridge, X.T @ (w * y))
    return beta, 1 / (1 + np.exp(-(X @ beta)))


def prior_strength_estimate(k: np.ndarray, n: np.ndarray, m: np.ndarray, *, n_params: int = 1,
                            lower: float = 0.0) -> float:
    """Strength ``s`` (pseudo-calls) of Beta priors with means ``m`` given ``k`` successes of ``n`` per task type,
    by the method of moments: the spread of the observed rates around ``m`` beyond binomial noise is the prior's
    variance ``m (1 - m) / (s + 1)``; the residual sum is divided by ``T - n_params`` (the fitted means used up
    ``n_params`` degrees of freedom). Clipped to ``[lower, MAX_PRIOR_STRENGTH]``."""
    import numpy as np

    p = k / n
    v = float(np.sum((p - m) ** 2 - m * (1 - m) / n)) / max(len(k) - n_params, 1)
    pm = float(np.mean(m * (1 - m)))
    strength = MAX_PRIOR_STRENGTH if v <= pm / (MAX_PRIOR_STRENGTH + 1) else pm / v - 1
    return float(min(max(strength, lower), MAX_PRIOR_STRENGTH))
