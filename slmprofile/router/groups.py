"""Groups for leave-groups-out folds when none are given: template ids, else a seeded k-means of the embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: Derived groups from template ids need at least this many distinct templates (and at most n / 5 of them).
MIN_TEMPLATE_GROUPS = 10


def derive_groups(embeddings: Any, templates: Any = None, *, random_state: int = 0,
                  min_templates: int = MIN_TEMPLATE_GROUPS) -> tuple[np.ndarray, dict[str, Any]]:
    """Groups for leave-groups-out folds when none are given -> ``(group per prompt, how they were made)``.

    Template ids (``templates``, e.g. the logs' ``template_id``) are used when there are between ``min_templates``
    and ``n / 5`` distinct ones (missing ids each count as their own prompt's group) and none holds more than half
    of the prompts; otherwise a k-means of the (unit) embeddings with ``k = round(sqrt(n) / 2)`` (at least 4,
    seeded) stands in for task types. The second value says which (``source``: ``template_id`` or ``kmeans``).
    """
    import numpy as np

    emb = np.asarray(embeddings, dtype=np.float32)
    n = len(emb)
    if templates is not None:
        ids = [None if t is None else str(t) for t in templates]
        if len(ids) != n:
            raise SlmprofileError(f"templates: {len(ids)} template ids for {n} prompts")
        filled = np.array([t if t is not None else f"__row{i}" for i, t in enumerate(ids)])
        uniq, counts = np.unique(filled, return_counts=True)
        if min_templates <= len(uniq) <= n / 5 and counts.max() <= n / 2:
            return filled, {"source": "template_id", "groups": int(len(uniq))}
    from sklearn.cluster import KMeans

    k = int(min(max(4, round(np.sqrt(n) / 2)), max(n // 2, 1)))
    labels = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit_predict(emb)
    info = {"source": "kmeans", "groups": int(len(np.unique(labels))), "k": k}
    if templates is not None:
        info["why"] = "too few distinct template ids (or one template dominates)"
    return np.array([f"kmeans{c}" for c in labels]), info
