"""Baseline routers on the same embeddings, to judge a trained router against (scores: higher = keep on the SLM).

- :func:`knn_scores`: share of the ``k`` nearest training prompts (cosine) whose label is 1;
- :func:`logistic_scores`: a logistic regression on the embeddings for one label choice (``slm_correct``: "SLM
  fails" router; ``only_frontier``: the RouteLLM-style "only the frontier model is right" router).

Random routing, the oracle and the always-SLM / always-frontier points live in :mod:`.metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def knn_scores(train_embeddings: Any, train_labels: Any, query_embeddings: Any, *, k: int = 50,
               block: int = 2048) -> np.ndarray:
    """Mean label of the ``k`` most similar training prompts (embeddings unit-normalised), per query."""
    import numpy as np

    train = np.asarray(train_embeddings, dtype=np.float32)
    labels = np.asarray(train_labels, dtype=np.float64)
    query = np.asarray(query_embeddings, dtype=np.float32)
    k = max(1, min(k, len(train)))
    out = np.empty(len(query))
    for start in range(0, len(query), block):
        sim = query[start:start + block] @ train.T
        idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        out[start:start + block] = labels[idx].mean(axis=1)
    return out


def logistic_scores(train_embeddings: Any, slm_correct: Any, frontier_correct: Any, query_embeddings: Any, *,
                    label: Literal["slm_correct", "only_frontier"] = "slm_correct", C: float = 1.0) -> np.ndarray:
    """Logistic regression on embeddings: ``P(SLM correct)``, or ``1 - P(only the frontier is right)``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    s = np.asarray(slm_correct, dtype=np.float64)
    f = np.asarray(frontier_correct, dtype=np.float64)
    if label == "slm_correct":
        y = (s >= 0.5).astype(int)
    elif label == "only_frontier":
        y = ((f >= 0.5) & (s < 0.5)).astype(int)
    else:
        raise ValueError(f"The 'label' parameter must be 'slm_correct' or 'only_frontier'; got {label!r} instead.")
    model = LogisticRegression(C=C, max_iter=3000).fit(np.asarray(train_embeddings), y)
    p = model.predict_proba(np.asarray(query_embeddings))[:, 1]
    return p if label == "slm_correct" else 1.0 - p
