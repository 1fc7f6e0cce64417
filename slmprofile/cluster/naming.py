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


#: Words too common in requests to name a topic (kept out of names, still in ``keywords``).
FILLER_WORDS = frozenset("""let does did just like know need want use used using pls please thanks thank hey hello
tell make sure really okay ok yes way going get got thing things""".split())


def topic_words(words: Sequence[str], *, top: int = 2) -> list[str]:
    """The first ``top`` keywords that name a topic (no filler words)."""
    kept = [w for w in words if not set(w.split()) & FILLER_WORDS]
    return kept[:top]


def type_names(type_cues: Sequence[np.ndarray], keywords: dict[int, list[str]]) -> dict[int, str]:
    """``"03 Multiple-choice questions · anatomy · bone"``: the type's number, the form its requests read as
    (:func:`~slmprofile.cluster.forms.form_name`) and its topic words; the keywords alone when no form shows."""
    from .forms import OTHER_FORM, form_name

    names = {}
    for c, cues in enumerate(type_cues):
        form = form_name(cues) if len(cues) else OTHER_FORM
        topic = topic_words(keywords.get(c, []), top=2 if form != OTHER_FORM else 3)
        parts = ([form] if form != OTHER_FORM or not topic else []) + topic
        names[c] = f"{c:02d} {name_from_keywords(parts, max_words=4)}"
    return names


def family_names(family_cues: dict[int, np.ndarray], keywords: dict[int, list[str]]) -> dict[int, str]:
    """``"F2 Code"``: each family's form name; a topic word is added where two families read as the same form."""
    from collections import Counter

    from .forms import OTHER_FORM, form_name

    forms = {f: form_name(cues) if len(cues) else OTHER_FORM for f, cues in family_cues.items()}
    seen = Counter(forms.values())
    names = {}
    for f, form in forms.items():
        topic = topic_words(keywords.get(f, []), top=1 if seen[form] > 1 or form == OTHER_FORM else 0)
        names[f] = f"F{f} {name_from_keywords([form, *topic], max_words=2)}"
    return names
