"""Offline names for task types: class-based TF-IDF keywords and the most central examples."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: Placeholders from redaction and masking that must never become keywords.
_PLACEHOLDER = re.compile(r"<[A-Z_]+>")


def ctfidf_keywords(texts: Sequence[str], labels: Sequence[int], *, top: int = 5,
                    ngram_range: tuple[int, int] = (1, 2)) -> dict[int, list[str]]:
    """Top ``top`` keywords per label by class-based TF-IDF (BERTopic's c-TF-IDF): each class's documents are one
    document; a term scores high when frequent in the class and rare across classes. Label -1 is ignored."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    classes = sorted(int(c) for c in set(labels.tolist()) if c >= 0)
    if not classes:
        return {}
    docs = [" ".join(_PLACEHOLDER.sub(" ", texts[i]) for i in np.flatnonzero(labels == c)) for c in classes]
    vectorizer = CountVectorizer(stop_words="english", ngram_range=ngram_range, min_df=1,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9_]{2,}\b", max_features=50_000)
    counts = vectorizer.fit_transform(docs).astype(np.float64)
    tf = counts.multiply(1.0 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    avg_words = counts.sum() / len(classes)
    idf = np.log(1 + avg_words / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    scores = tf.multiply(idf).tocsr()
    vocab = vectorizer.get_feature_names_out()
    out: dict[int, list[str]] = {}
    for row, cls in enumerate(classes):
        data = scores.getrow(row).toarray().ravel()
        order = np.argsort(-data)
        words: list[str] = []
        for j in order:
            if data[j] <= 0 or len(words) >= top:
                break
            term = vocab[j]
            if any(term in w or w in term for w in words):  # skip "invoice" after "invoice total"
                continue
            words.append(term)
        out[cls] = words
    return out


def central_examples(X: np.ndarray, labels: Sequence[int], centroids: np.ndarray, *, n: int = 3) -> dict[int, list[int]]:
    """Indices of the ``n`` members closest to each centroid (cosine; ``X`` rows normalized)."""
    import numpy as np

    labels = np.asarray(labels)
    out: dict[int, list[int]] = {}
    for c in range(len(centroids)):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            out[c] = []
            continue
        sims = X[idx] @ centroids[c]
        out[c] = idx[np.argsort(-sims)[:n]].tolist()
    return out


def name_from_keywords(words: Sequence[str], *, max_words: int = 3) -> str:
    """A short readable name: ``invoice · vendor · total``."""
    return " · ".join(words[:max_words]) if words else "unnamed"
