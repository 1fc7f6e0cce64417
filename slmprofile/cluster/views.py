"""Join density clusters that are one task: asked alike and answered alike.

Density clustering of prompt embeddings splits a task by how its prompts are written: two app features that both
classify review sentiment (one with a system prompt and a bare review, one with an inline instruction and a JSON
answer) land in two clusters, because their user texts differ. The task is visible in two other views of a call:

- the **request**: the system prompt and the user text together (the instruction the model was given), and
- the **response**: what the model answered (a sentiment label, a JSON object of invoice fields, a French sentence).

:func:`merge_by_views` embeds both views for a few sampled members of each cluster (spread over the cluster's templates
in proportion, so a cluster holding two templates looks the same on every draw) and links clusters by average
linkage on the *smallest* of three similarities: request centroids, response centroids, and response shape (how
long the answers are relative to the requests, on a log scale). Two clusters join only when they are asked alike,
answered alike **and** answered at a like length: writing an e-mail from three points and summarising a meeting
transcript read alike, but one expands its input and the other condenses it. Where the dendrogram is cut is chosen
without labels: the cut whose labels give the sampled members the highest cosine silhouette in the joint (request,
response) space, averaged over several half-samples, among cuts at similarity ``floor`` and above, "join nothing"
included. Clusters without any logged response never join (their response view is empty), so data without
responses (intent datasets, prompt-only exports) is left as the density clustering found it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)

#: Similarity cuts tried, from the most joining to none joined (1.0 = keep every cluster).
CUTS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0)
#: Characters of a request (system prompt, then user text) and of a response that are embedded: the opening carries
#: the instruction and the answer's form, and short texts keep the two extra embeddings cheap.
VIEW_CHARS = 600


@dataclass
class PromptViews:
    """The two extra views of the prompts a clusterer is fit on.

    ``texts(idx)`` returns, for positions ``idx`` of the fitted rows, the request texts (system prompt and user
    text) and one logged response per prompt (None when there is none); ``encode`` embeds a list of texts
    (an :class:`~slmprofile.embed.Embedder`'s ``encode``).
    """

    texts: Callable[[np.ndarray], tuple[list[str], list[str | None]]]
    encode: Callable[[list[str]], Any]

    @classmethod
    def from_columns(cls, system_prompts: Sequence[str | None], prompts: Sequence[str | None],
                     responses: Sequence[str | None], encode: Callable[[list[str]], Any]) -> PromptViews:
        """Views over aligned columns (one entry per fitted prompt)."""

        def texts(idx: np.ndarray) -> tuple[list[str], list[str | None]]:
            requests = [request_text(system_prompts[i], prompts[i]) for i in idx]
            return requests, [responses[i] or None for i in idx]

        return cls(texts=texts, encode=encode)


def request_text(system_prompt: str | None, prompt: str | None) -> str:
    """The request view of a call: its system prompt, then its user text (whole: :func:`merge_by_views` measures its
    length and embeds its first ``VIEW_CHARS``)."""
    parts = [p.strip() for p in (system_prompt, prompt) if p and p.strip()]
    return "\n".join(parts)


@dataclass
class ViewMerge:
    """What :func:`merge_by_views` did. ``cut``: the similarity the dendrogram was cut at (None: the stage did not
    run, see ``reason``); ``scores``: silhouette per cut tried, averaged over the draws;
    ``clusters_before`` / ``clusters_after``;
    ``sampled``: members embedded (per view); ``mapping``: old cluster -> new cluster."""

    cut: float | None = None
    reason: str = ""
    clusters_before: int = 0
    clusters_after: int = 0
    sampled: int = 0
    with_response: int = 0
    scores: dict[float, float] = field(default_factory=dict)
    mapping: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"cut": self.cut, "reason": self.reason, "clusters_before": self.clusters_before,
                "clusters_after": self.clusters_after, "sampled": self.sampled, "with_response": self.with_response,
                "scores": {str(k): round(v, 4) for k, v in self.scores.items()}}


def _unit(X: np.ndarray) -> np.ndarray:
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-12)


def merge_by_views(labels: np.ndarray, views: PromptViews, *, per_cluster: int = 32, resamples: int = 5,
                   floor: float = 0.5, tolerance: float = 0.0, cut: float | None = None, method: str = "average",
                   shape_weight: float = 1.0, strata: Sequence[Any] | None = None,
                   random_state: int | None = 0) -> tuple[np.ndarray, ViewMerge]:
    """Join clusters of ``labels`` (-1 = noise, kept) that are asked and answered alike; number them 0..k-1.

    ``per_cluster`` members of each cluster are sampled (seeded; spread over ``strata``, the template ids, in
    proportion, so a cluster holding two templates is sampled in their proportions) and both their views embedded.
    Clusters are linked (``method``: scipy's ``average`` or ``complete``) on the smallest of three similarities:
    request centroids, response centroids, and the response *shape*, ``1 - shape_weight * |d|`` with ``d`` the
    difference of the clusters' median ``log10(response chars / request chars)`` (a summary answers a long input
    briefly, a drafted e-mail expands a few points: alike in words, unlike in shape; 0 turns it off).
    The cut is the similarity of :data:`CUTS` (at or above ``floor``) with the best silhouette, averaged over
    ``resamples`` half-samples of the members; with ``tolerance`` > 0 the finest cut within that of the best;
    ``cut`` fixes it instead. The clusters are then joined by the dendrogram of all sampled members at that cut.
    Returns the new labels and a :class:`ViewMerge` report.
    """
    import numpy as np

    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    report = ViewMerge(clusters_before=k, clusters_after=k, mapping=list(range(k)))
    if k < 2:
        report.reason = "fewer than 2 clusters"
        return labels, report
    rng = np.random.default_rng(random_state)
    codes = _strata_codes(strata, len(labels))
    picked = [_stratified(rng, np.flatnonzero(labels == c), codes, per_cluster) for c in range(k)]
    idx = np.concatenate(picked)
    owner = np.repeat(np.arange(k), [len(p) for p in picked])
    requests, responses = views.texts(idx)
    has_response = np.array([bool(r and r.strip()) for r in responses])
    report.sampled, report.with_response = len(idx), int(has_response.sum())
    if not has_response.any():
        report.reason = "no logged responses"
        logger.info("task merge by views skipped: no logged responses among %d sampled prompts", len(idx))
        return labels, report
    A = _unit(views.encode([r[:VIEW_CHARS] for r in requests]))
    B = np.zeros_like(A)
    B[has_response] = _unit(views.encode([r[:VIEW_CHARS] for r, h in zip(responses, has_response) if h]))
    shape = np.array([np.log10((len(r.strip()) + 1) / (len(q) + 1)) if h else np.nan
                      for q, r, h in zip(requests, responses, has_response)])
    joint = _unit(np.hstack([A, B]))

    def tree(rows: np.ndarray) -> np.ndarray:
        return _tree(A[rows], B[rows], has_response[rows], owner[rows], shape[rows], k, method=method,
                     shape_weight=shape_weight)

    if cut is None:
        per_draw: dict[float, list[float]] = {}
        cell = owner * (int(codes.max()) + 2) + codes[idx] + 1  # (cluster, stratum): halves keep the proportions
        for _ in range(max(1, resamples)):
            draw = np.zeros(len(idx), dtype=bool)
            for c in np.unique(cell):
                mine = np.flatnonzero(cell == c)
                draw[mine if resamples <= 1 else rng.choice(mine, (len(mine) + 1) // 2, replace=False)] = True
            for c_, s_ in _scores(tree(draw), owner[draw], joint[draw], k, floor=floor).items():
                per_draw.setdefault(c_, []).append(s_)
        report.scores = {c_: float(np.mean(v)) for c_, v in per_draw.items()}
        if not report.scores:
            report.reason = "no cut gives 2 or more groups"
            return labels, report
        best = max(report.scores.values())
        cut = max(c for c, s_ in report.scores.items() if s_ >= best - tolerance)
    groups = _groups_at(tree(np.ones(len(idx), dtype=bool)), cut, k)
    first = {g: i for i, g in reversed(list(enumerate(groups.tolist())))}  # number groups by their first cluster
    order = {g: j for j, g in enumerate(sorted(first, key=first.__getitem__))}
    mapping = np.array([order[g] for g in groups.tolist()], dtype=np.int64)
    report.cut = float(cut)
    report.mapping = mapping.tolist()
    report.clusters_after = int(mapping.max()) + 1
    logger.info("task merge by views: cut at similarity %.2f, %d clusters -> %d", cut, k, report.clusters_after)
    return np.where(labels >= 0, mapping[np.maximum(labels, 0)], -1), report


def _strata_codes(strata: Sequence[Any] | None, n: int) -> np.ndarray:
    """Integer code per row of ``strata`` (template ids); rows without one (None) share the code -1."""
    import numpy as np

    if strata is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.asarray(["" if s is None else str(s) for s in strata], dtype=object)
    _, inverse = np.unique(arr, return_inverse=True)
    return np.where(arr == "", -1, inverse).astype(np.int64)


def _stratified(rng: np.random.Generator, members: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """``n`` of ``members`` (all when fewer), spread over their strata in proportion to the strata's sizes (largest
    remainders), so that a cluster holding two templates is sampled in the templates' proportions on every draw."""
    import numpy as np

    if len(members) <= n:
        return members
    values, inverse, sizes = np.unique(codes[members], return_inverse=True, return_counts=True)
    quota = sizes * n / len(members)
    take = np.floor(quota).astype(int)
    for j in np.argsort(-(quota - take), kind="stable")[: n - int(take.sum())]:
        take[j] += 1
    out = [rng.choice(members[inverse == j], take[j], replace=False) for j in range(len(values)) if take[j]]
    return np.concatenate(out)


def _tree(A: np.ndarray, B: np.ndarray, has_response: np.ndarray, owner: np.ndarray, shape: np.ndarray, k: int, *,
          method: str, shape_weight: float) -> np.ndarray:
    """The linkage of the k clusters on min(request, response, shape) similarity of the given members."""
    import numpy as np
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    req = _unit(np.stack([A[owner == c].mean(0) for c in range(k)]))
    answered = [(owner == c) & has_response for c in range(k)]
    resp = np.stack([B[a].mean(0) if a.any() else np.zeros(A.shape[1]) for a in answered])
    resp = np.where(np.linalg.norm(resp, axis=1, keepdims=True) > 0, _unit(resp), 0.0)
    similarity = np.minimum(req @ req.T, resp @ resp.T)
    if shape_weight > 0:
        median = np.array([np.median(shape[a]) if a.any() else 0.0 for a in answered])
        similarity = np.minimum(similarity, 1.0 - shape_weight * np.abs(median[:, None] - median[None, :]))
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    return linkage(squareform(distance, checks=False), method=method)


def _groups_at(tree: np.ndarray, cut: float, k: int) -> np.ndarray:
    import numpy as np
    from scipy.cluster.hierarchy import fcluster

    return np.arange(k) if cut >= 1.0 else fcluster(tree, 1.0 - cut, criterion="distance") - 1


def _scores(tree: np.ndarray, owner: np.ndarray, joint: np.ndarray, k: int, *, floor: float) -> dict[float, float]:
    """Cosine silhouette of the drawn members in the joint view, per cut of :data:`CUTS` at or above ``floor``."""
    import numpy as np
    from sklearn.metrics import silhouette_score

    scores: dict[float, float] = {}
    for c in CUTS:
        if c < floor:
            continue
        member = _groups_at(tree, c, k)[owner]
        if 1 < len(np.unique(member)) < len(member):
            scores[c] = float(silhouette_score(joint, member, metric="cosine"))
    return scores
