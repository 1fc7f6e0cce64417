"""The novelty guard: how far a prompt is from the traffic a router was trained on.

A router learns what the small model gets right on the task types in its training data. A prompt of a task type
it never saw gets a ``p_slm`` that nobody measured; the guard sends such prompts to the frontier model instead.

:class:`NoveltyGuard` summarises the training prompts' embeddings by ``n_centroids`` k-means centroids (unit
norm). A prompt's novelty is ``1 - max cosine similarity`` to them: 0 on a centroid, up to 2. The threshold is
calibrated on held-out prompts of traffic *like* the training data: on ``cv`` random folds, centroids are fitted on
the other folds and the held-out prompts' novelty is measured; the threshold is its ``quantile`` (0.99: one prompt
in a hundred of familiar traffic is flagged, ``seen_flagged_``). When groups are given (task types, subjects),
``new_flagged_`` is the share of prompts of *held-out groups* (leave-groups-out folds) beyond that threshold: how
much of a new task type the guard catches.

The exported ONNX graph computes the same novelty from the pooled embedding (one matrix product with the
centroids), so the runtime needs nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..params import Interval, check_params
from .head_math import novelty, numpy_ops

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


#: Up to this many training prompts the centroids come from full k-means (one k-means++ start: ~0.2 s for 3,000
#: prompts, lower inertia than mini-batch with three); above it from mini-batch k-means.
FULL_KMEANS_MAX = 20_000


def _unit(rows: Any) -> np.ndarray:
    import numpy as np

    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class NoveltyGuard:
    """Distance of prompts to the training traffic, with a calibrated threshold (see module docs).

    Args:
        n_centroids: k-means centroids summarising the training embeddings (capped at one per 10 prompts).
        quantile: the threshold is this quantile of the novelty of held-out familiar prompts (0.5-1; higher =
            fewer prompts flagged).
        cv: random folds (and group folds, with groups) for the calibration.
        random_state: seed of k-means and of the folds.

    Fitted attributes: ``centroids_`` (float32 ``(k, dim)``, unit norm), ``threshold_``, ``seen_flagged_`` (share
    of held-out familiar prompts flagged, about ``1 - quantile``), ``new_flagged_`` (share of held-out groups'
    prompts flagged, or None without groups), ``n_train_``.
    """

    def __init__(self, *, n_centroids: int = 128, quantile: float = 0.99, cv: int = 5, random_state: int = 0) -> None:
        self.n_centroids = n_centroids
        self.quantile = quantile
        self.cv = cv
        self.random_state = random_state

    _parameter_constraints = {"n_centroids": [Interval(int, 1, None)], "quantile": [Interval(float, 0.5, 1)],
                              "cv": [Interval(int, 2, None)]}

    def _centroids(self, embeddings: np.ndarray) -> np.ndarray:
        import numpy as np
        from sklearn.cluster import KMeans, MiniBatchKMeans

        k = max(1, min(self.n_centroids, len(embeddings) // 10))
        if k == 1:
            return _unit(embeddings.mean(axis=0, keepdims=True))
        x = np.asarray(embeddings, dtype=np.float64)  # float32 takes scikit-learn's slower upcasting distance path
        if len(x) <= FULL_KMEANS_MAX:
            km = KMeans(n_clusters=k, n_init=1, random_state=self.random_state)
        else:
            km = MiniBatchKMeans(n_clusters=k, n_init=3, random_state=self.random_state, batch_size=2048)
        return _unit(km.fit(x).cluster_centers_)

    @staticmethod
    def _novelty(embeddings: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        import numpy as np

        return novelty(numpy_ops(), embeddings, centroids.T).astype(np.float32)

    def fit(self, embeddings: Any, groups: Any = None) -> NoveltyGuard:
        """Fit on the training prompts' embeddings; ``groups`` (task type per prompt) measures ``new_flagged_``."""
        import numpy as np
        from sklearn.model_selection import GroupKFold, KFold

        check_params(self)
        x = _unit(embeddings)
        n = len(x)
        if n < 2 * self.cv:
            raise ValueError(f"a novelty guard needs at least {2 * self.cv} prompts; got {n}")
        held = np.empty(n, dtype=np.float32)
        for train_idx, test_idx in KFold(self.cv, shuffle=True, random_state=self.random_state).split(x):
            held[test_idx] = self._novelty(x[test_idx], self._centroids(x[train_idx]))
        self.threshold_ = float(np.quantile(held, self.quantile)) if self.quantile < 1 else float(held.max())
        self.seen_flagged_ = float((held > self.threshold_).mean())
        self.new_flagged_ = None
        if groups is not None:
            g = np.asarray([str(v) for v in groups])
            if len(g) != n:
                raise ValueError(f"groups: {len(g)} values for {n} prompts")
            k = min(self.cv, len(np.unique(g)))
            if k >= 2:
                flagged = np.empty(n, dtype=bool)
                for train_idx, test_idx in GroupKFold(n_splits=k).split(x, groups=g):
                    flagged[test_idx] = self._novelty(x[test_idx], self._centroids(x[train_idx])) > self.threshold_
                self.new_flagged_ = float(flagged.mean())
        self.centroids_ = self._centroids(x)
        self.n_train_ = int(n)
        return self

    def novelty(self, embeddings: Any) -> np.ndarray:
        """``1 - max cosine similarity`` to the training centroids, float32 per prompt."""
        if not hasattr(self, "centroids_"):
            raise ValueError("this NoveltyGuard is not fitted yet: call fit() first")
        return self._novelty(_unit(embeddings), self.centroids_)

    def is_novel(self, embeddings: Any) -> np.ndarray:
        """True where a prompt is farther from the training traffic than ``threshold_``."""
        return self.novelty(embeddings) > self.threshold_

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (for ``router.json`` and ``training.json``)."""
        return {"threshold": self.threshold_, "quantile": self.quantile, "n_centroids": int(len(self.centroids_)),
                "seen_flagged": self.seen_flagged_, "new_flagged": self.new_flagged_, "n_train": self.n_train_,
                "measure": "1 - max cosine similarity of the prompt's embedding to the training centroids",
                "rule": "novelty > threshold: sent to the frontier model with reason 'novel'",
                "calibration": f"threshold = the {self.quantile:.0%} quantile of held-out familiar prompts' novelty "
                               f"({self.cv} random folds); new_flagged = share of held-out groups' prompts beyond it"}

    @classmethod
    def from_arrays(cls, centroids: Any, meta: dict[str, Any]) -> NoveltyGuard:
        """Rebuild a fitted guard from its centroids and :meth:`summary` (as stored beside a router head)."""
        import numpy as np

        guard = cls(n_centroids=int(meta.get("n_centroids", len(centroids))), quantile=float(meta["quantile"]))
        guard.centroids_ = np.asarray(centroids, dtype=np.float32)
        guard.threshold_ = float(meta["threshold"])
        guard.seen_flagged_ = meta.get("seen_flagged")
        guard.new_flagged_ = meta.get("new_flagged")
        guard.n_train_ = int(meta.get("n_train", 0))
        return guard
