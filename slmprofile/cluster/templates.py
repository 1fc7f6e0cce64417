"""Template groups in task-type clustering: prompts that share a template (one system prompt or prompt skeleton: one
app feature) are pulled towards their template's mean embedding before clustering (:func:`blend_templates`, with
means learnt at fit time reused for new prompts via :func:`group_means`), and clusters that share a template are
joined after it (:func:`merge_by_groups`). Used by :class:`~slmprofile.cluster.model.TaskTypeClusterer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """``X`` as float32 rows of unit length (all-zero rows stay zero)."""
    import numpy as np

    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def _group_codes(groups: Sequence[Any]) -> tuple[np.ndarray, int]:
    """Integer code per item (``-1`` where the group is None: no group) and the number of groups."""
    import numpy as np

    arr = np.asarray(groups, dtype=object)
    present = np.array([g is not None for g in arr], dtype=bool)
    inverse = np.full(len(arr), -1, dtype=np.int64)
    if not present.any():
        return inverse, 0
    codes, inv = np.unique(arr[present].astype(str), return_inverse=True)
    inverse[present] = inv
    return inverse, len(codes)


def group_means(X: np.ndarray, groups: Sequence[Any]) -> dict[str, tuple[np.ndarray, int]]:
    """Per group (None is no group): the mean of its vectors and how many there are."""
    import numpy as np

    inverse, n_groups = _group_codes(groups)
    grouped = inverse >= 0
    counts = np.bincount(inverse[grouped], minlength=n_groups)
    means = np.zeros((n_groups, X.shape[1]), dtype=np.float64)
    np.add.at(means, inverse[grouped], X[grouped])
    means /= np.maximum(counts, 1)[:, None]
    names = np.unique(np.asarray(groups, dtype=object)[grouped].astype(str)) if grouped.any() else []
    return {str(name): (means[i], int(counts[i])) for i, name in enumerate(names)}


def blend_templates(X: np.ndarray, groups: Sequence[Any] | None, weight: float,
                    known: dict[str, tuple[np.ndarray, int]] | None = None) -> np.ndarray:
    """Move each vector ``weight`` of the way to its group's mean (groups of one, and None, are unchanged);
    renormalize. ``known``: group means learnt earlier (:func:`group_means` of the fitted prompts), used instead of
    the batch's own for the groups they hold, so that new prompts are placed as the fitted ones were."""
    import numpy as np

    if groups is None or weight <= 0:
        return X
    inverse, n_groups = _group_codes(groups)
    grouped = inverse >= 0
    counts = np.bincount(inverse[grouped], minlength=n_groups).astype(np.float64)
    sums = np.zeros((n_groups, X.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse[grouped], X[grouped])
    if known:
        names = np.unique(np.asarray(groups, dtype=object)[grouped].astype(str)) if grouped.any() else []
        for i, name in enumerate(names):
            if name in known:
                k_mean, k_count = known[name]
                sums[i] += k_mean * k_count
                counts[i] += k_count
    means = sums / np.maximum(counts, 1)[:, None]
    shared = grouped & (counts[np.maximum(inverse, 0)] > 1)
    inverse = np.maximum(inverse, 0)
    out = X.copy()
    out[shared] = (1 - weight) * X[shared] + weight * means[inverse[shared]]
    return normalize_rows(out)


def merge_by_groups(labels: np.ndarray, groups: Sequence[Any] | None, min_share: float, *,
                    own_share: float = 0.5) -> np.ndarray:
    """Merge clusters that share a template group, then number clusters 0..k-1 (noise stays -1).

    A group (one template or instruction: one app feature) whose prompts fall in several clusters is evidence those
    clusters are one task split by topic. Two rules join clusters; both only look at groups of 3+ prompts, and
    prompts whose group is None belong to no group:

    - share: clusters holding at least ``min_share`` of a group's clustered prompts (and at least 2 of them);
    - ownership: clusters in which one group holds at least ``own_share`` of the members. This rule does not weaken
      as data grows: a template of 6,000 prompts that density clustering splits into 50 topic clusters of 2 % each
      escapes the share rule, but every one of those clusters is owned by the template.
    """
    import numpy as np

    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    if groups is None or min_share <= 0 or k < 2:
        return labels
    parent = list(range(k))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    kept = labels >= 0
    inverse, n_groups = _group_codes(groups)
    counts = np.zeros((n_groups, k), dtype=np.int64)
    use = kept & (inverse >= 0)
    np.add.at(counts, (inverse[use], labels[use]), 1)
    totals = counts.sum(1)
    sizes = np.bincount(labels[kept], minlength=k)
    for g in np.flatnonzero(totals >= 3):
        members = np.flatnonzero(counts[g] >= np.maximum(2, min_share * totals[g]))
        if own_share > 0:
            owned = np.flatnonzero((counts[g] >= 2) & (counts[g] >= own_share * np.maximum(sizes, 1)))
            members = np.union1d(members, owned)
        for c in members[1:]:
            parent[find(int(c))] = find(int(members[0]))
    roots = np.array([find(c) for c in range(k)])
    _, renum = np.unique(roots, return_inverse=True)
    return np.where(kept, renum[np.maximum(labels, 0)], -1)
