"""Archetype tags per task type, each with its evidence.

Three kinds of evidence are combined: what the responses look like (from the per-type statistics: JSON output, tool
calls, tiny label-like answers, code, final numbers, output/input length ratio), what the requests ask for (the
answer-format cues of :mod:`slmprofile.cluster.forms`: options A-D, "write a function", "translate", ...; these exist
without responses), and how close the type's centroid is to short descriptions of each archetype (embedded with the
same model). Shape and form evidence add fixed bonuses to the standardized description similarity; the best-scoring
archetype wins and the reasons are kept as text. A type with no shape or form evidence whose description similarity
does not stand out is tagged ``"unknown"`` rather than given a guess; every tag carries a confidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

ARCHETYPES: dict[str, tuple[str, ...]] = {
    "classification": ("Classify the following text into one of these categories.",
                       "Label the sentiment of this review as positive, negative or neutral.",
                       "Which category does this support ticket belong to? Answer with the label only."),
    "extraction": ("Extract the following fields from the document and return them as JSON.",
                   "Pull the names, dates and amounts out of this text.",
                   "List the keywords and entities mentioned in this passage."),
    "summarisation": ("Summarise the following meeting notes in a few bullet points.",
                      "Give a short summary of this long document.",
                      "TL;DR of the conversation below, with action items."),
    "rewriting/translation": ("Translate the following text into German.",
                              "Rewrite this paragraph to be clearer and more polite.",
                              "Rephrase these release notes for customers."),
    "question answering": ("Answer the customer's question using the policy below.",
                           "What is the capital of Australia?",
                           "Using the documentation provided, answer the question."),
    "code": ("Write a SQL query that returns the top customers by revenue.",
             "Review this code diff and point out bugs.",
             "Write a Python function that parses the file."),
    "multiple choice": ("Which of the following is correct? A. one B. two C. three D. four Answer:",
                        "Choose the best option (A, B, C or D) for the question below.",
                        "Question: ... Options: A) ... B) ... C) ... D) ... Reply with the letter."),
    "maths/reasoning": ("Solve this word problem step by step and give the final number.",
                        "A train travels 120 km in 1.5 hours; what is its average speed?",
                        "Calculate the percentage increase and show your working."),
    "creative writing": ("Write a friendly email to a customer about their renewal.",
                         "Draft a blog post about our new feature.",
                         "Write a short story about a robot."),
    "open-ended chat": ("Hi! How are you today?", "Tell me a joke.", "What should I do this weekend?"),
    "agentic/tool use": ("Call the right tool to look up the order status.",
                         "Use the search function and then answer.",
                         "Run the SQL tool to get the number of active users."),
}

#: Standardized-similarity bonus for each piece of response-shape evidence.
SHAPE_BONUS = 3.0
#: Bonus for the archetype the type's requests read as (the form of their mean cues, as the family): larger than any
#: description similarity, so the form decides unless the responses' shape says otherwise (both bonuses add).
FORM_BONUS = 5.0
#: Without shape or form evidence, a description similarity must stand this many standard deviations above the
#: archetypes' mean to be trusted; below it the tag is "unknown".
UNKNOWN_Z = 1.5
UNKNOWN = "unknown"


def archetype_vectors(embedder: Any) -> tuple[list[str], np.ndarray]:
    """(archetype names, unit mean vector of each archetype's descriptions) with ``embedder``."""
    import numpy as np

    names = list(ARCHETYPES)
    texts = [text for name in names for text in ARCHETYPES[name]]
    owners = np.array([i for i, name in enumerate(names) for _ in ARCHETYPES[name]])
    # a clone shares the loaded model and the cache (a warm run loads no model) but keeps the caller's statistics
    encoder = embedder.clone(progress=False) if hasattr(embedder, "clone") else embedder
    all_vecs = np.asarray(encoder.encode(texts), dtype=np.float32)
    vecs = np.stack([all_vecs[owners == i].mean(0) for i in range(len(names))])
    return names, vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


def shape_evidence(stats: Mapping[str, Any]) -> dict[str, str]:
    """Archetype -> reason, from one task type's response statistics."""
    ev: dict[str, str] = {}
    share = lambda key: float(stats.get(key) or 0.0)  # noqa: E731
    if share("tool_call_share") >= 0.3:
        ev["agentic/tool use"] = f"tool calls in {share('tool_call_share'):.0%} of responses"
    median_out = stats.get("completion_tokens_median")
    distinct = share("distinct_response_share")
    if median_out is not None and distinct <= 0.4 and (median_out <= 6 or (median_out <= 24 and distinct <= 0.25)):
        ev["classification"] = (f"answers are labels: median {median_out:.0f} output tokens, "
                                f"{distinct:.0%} distinct")
    elif share("json_output_share") >= 0.5:
        ev["extraction"] = f"JSON output in {share('json_output_share'):.0%} of responses"
    if share("code_output_share") >= 0.4:
        ev["code"] = f"code in {share('code_output_share'):.0%} of responses"
    if share("numeric_answer_share") >= 0.5:
        ev["maths/reasoning"] = f"a final number in {share('numeric_answer_share'):.0%} of responses"
    ratio = stats.get("completion_prompt_ratio")
    prompt_tokens = float(stats.get("prompt_tokens_mean") or 0.0)
    if ratio is not None and ratio < 0.35 and prompt_tokens >= 300 and "classification" not in ev and "extraction" not in ev:
        ev["summarisation"] = f"output {ratio:.2f}x the input over {prompt_tokens:.0f}-token prompts"
    if ratio is not None and 0.7 <= ratio <= 1.4 and prompt_tokens >= 40 and "code" not in ev:
        ev["rewriting/translation"] = f"output about as long as the input ({ratio:.2f}x)"
    if ratio is not None and ratio >= 3 and not ev:
        ev["question answering"] = f"answers {ratio:.1f}x longer than the questions"
    return ev


def form_evidence(cues: np.ndarray) -> tuple[str | None, float, str]:
    """(archetype, share, reason) that a task type's requests read as, from its members' cue rows (see
    :func:`~slmprofile.cluster.forms.cue_matrix`): the form of the type's mean cues, and the share of its prompts
    whose own cues read as the same archetype. (None, 0, reason) when the cues name no form."""
    from .forms import FORM_ARCHETYPES, cue_means, form_rule

    name, why = form_rule(cue_means(cues))
    archetype = FORM_ARCHETYPES.get(name)
    if archetype is None:
        return None, 0.0, why
    agree = sum(FORM_ARCHETYPES.get(form_rule(cue_means(row))[0]) == archetype for row in cues)
    share = agree / max(len(cues), 1)
    return archetype, share, f"requests read as {name.lower()} ({why}; {share:.0%} of prompts alone)"


def tag_archetypes(centroids: np.ndarray, stats_rows: list[Mapping[str, Any]], embedder: Any | None,
                   cues: list[np.ndarray] | None = None) -> list[dict[str, Any]]:
    """One ``{"archetype", "evidence", "confidence"}`` per centroid (``stats_rows`` aligned with ``centroids``;
    ``cues``: each type's members' cue rows, optional). ``confidence`` is the share of the type's prompts whose form
    reads as the tag when form evidence decided, 0.9 for response-shape evidence alone, and a similarity-based
    figure below 0.5 otherwise; ``"unknown"`` when nothing stands out."""
    import numpy as np

    names = list(ARCHETYPES)
    if embedder is not None and len(centroids):
        names, vecs = archetype_vectors(embedder)
        sims = centroids @ vecs.T
        z = (sims - sims.mean(1, keepdims=True)) / np.maximum(sims.std(1, keepdims=True), 1e-6)
    else:
        sims = z = np.zeros((len(centroids), len(names)))
    out = []
    for i, row in enumerate(stats_rows):
        ev = shape_evidence(row)
        form, form_share, form_why = form_evidence(cues[i]) if cues is not None and len(cues[i]) else (None, 0.0, "")
        score = z[i].copy()
        for j, name in enumerate(names):
            if name in ev:
                score[j] += SHAPE_BONUS
            if name == form:
                score[j] += FORM_BONUS
        best = int(np.argmax(score))
        name = names[best]
        reasons = [ev[name]] if name in ev else []
        if name == form:
            reasons.append(form_why)
        if embedder is not None:
            reasons.append(f"closest description: {names[int(np.argmax(z[i]))]} (cosine {float(sims[i].max()):.2f})")
        if name == form:
            confidence = form_share
        elif name in ev:
            confidence = 0.9
        else:
            confidence = float(min(0.5, max(0.0, z[i, best]) / (2 * UNKNOWN_Z))) if embedder is not None else 0.0
        if name not in ev and name != form and (embedder is None or z[i, best] < UNKNOWN_Z):
            reasons.insert(0, "no response-shape or form cue, and no description stands out")
            name = UNKNOWN
        out.append({"archetype": name, "evidence": "; ".join(reasons) or "no evidence",
                    "confidence": round(confidence, 3)})
    return out
