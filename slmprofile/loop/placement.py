"""Place new prompts into a run's existing task types without refitting, and say which fit none.

:class:`NearestTypes` is a nearest-neighbour placer over the run's own embedded prompts (the vectors the task types
were found from, one per distinct prompt): a new prompt takes the similarity-weighted vote of its ``n_neighbors``
nearest reference prompts, and it *fits no existing type* when even its nearest reference prompt is less similar
than the reference prompts are to each other: the ``novelty_quantile`` quantile of their own leave-one-out
nearest-neighbour similarities (so about that share of unchanged traffic is flagged by chance). One threshold for
all types: per-type thresholds were tried and let a new task through wherever it landed next to a loose type
(a chat or open-question type), 68 % flagged against 98-100 % with one threshold on the generator's drifted month
(``docs/loop.md``). Nothing is refitted, so a type keeps its id and name from window to window.

:func:`candidate_types` groups the prompts that fit no type into candidate new types (HDBSCAN on their vectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..params import Interval, check_params

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: The label of a prompt that fits no existing type.
NOVEL = -2
#: Similarities are computed in blocks of this many query rows (bounded memory on large logs).
_BLOCK = 2048


def _unit(X: np.ndarray) -> np.ndarray:
    import numpy as np

    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


def _top_k(Q: np.ndarray, R: np.ndarray, k: int, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the ``k`` rows of ``R`` nearest each row of ``Q`` (both unit rows), best
    first; with ``exclude_self`` (``Q is R``) a row is not its own neighbour."""
    import numpy as np

    k = min(k, R.shape[0] - (1 if exclude_self else 0))
    idx = np.empty((Q.shape[0], k), dtype=np.int64)
    sims = np.empty((Q.shape[0], k), dtype=np.float32)
    for start in range(0, Q.shape[0], _BLOCK):
        S = Q[start:start + _BLOCK] @ R.T
        if exclude_self:
            rows = np.arange(S.shape[0])
            S[rows, start + rows] = -np.inf
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(S, part, axis=1)
        order = np.argsort(-part_sims, axis=1)
        idx[start:start + S.shape[0]] = np.take_along_axis(part, order, axis=1)
        sims[start:start + S.shape[0]] = np.take_along_axis(part_sims, order, axis=1)
    return idx, sims


@dataclass
class Placement:
    """Where each new prompt landed: ``labels`` (a reference label, or :data:`NOVEL`), ``nearest_label`` (the type
    it is closest to, novel or not), ``similarity`` (to its nearest reference prompt) and ``novel``."""

    labels: np.ndarray
    nearest_label: np.ndarray
    similarity: np.ndarray
    novel: np.ndarray


class NearestTypes:
    """Nearest-neighbour placement into fixed task types, with a per-type novelty threshold.

    Args:
        n_neighbors: reference prompts that vote on a new prompt's type (weighted by similarity).
        novelty_quantile: the quantile of the reference prompts' leave-one-out nearest-neighbour similarities below
            which a new prompt fits no type; about this share of unchanged traffic is flagged by chance.

    Learned: ``threshold_`` (the similarity below which a prompt is novel), ``agreement_`` (share of reference
    prompts whose leave-one-out vote gives back their own label: how faithful placement is on this run).
    """

    _parameter_constraints = {"n_neighbors": [Interval(int, 1, None)], "novelty_quantile": [Interval(float, 0, 0.5)]}

    def __init__(self, *, n_neighbors: int = 10, novelty_quantile: float = 0.03) -> None:
        self.n_neighbors = n_neighbors
        self.novelty_quantile = novelty_quantile

    def fit(self, X: np.ndarray, labels: Sequence[int]) -> NearestTypes:
        """Remember the reference prompts ``X`` (one row per distinct prompt) and their type ``labels``."""
        import numpy as np

        check_params(self)
        self.X_ = _unit(X)
        self.labels_ = np.asarray(labels, dtype=np.int64)
        if self.X_.shape[0] != self.labels_.shape[0]:
            raise ValueError(f"{self.X_.shape[0]} reference vectors but {self.labels_.shape[0]} labels")
        if self.X_.shape[0] < 2:
            raise ValueError("placement needs at least 2 reference prompts")
        idx, sims = _top_k(self.X_, self.X_, self.n_neighbors, exclude_self=True)
        self.threshold_ = float(np.quantile(sims[:, 0], self.novelty_quantile))
        self.agreement_ = float(np.mean(self._vote(idx, sims) == self.labels_))
        return self

    def _vote(self, idx: np.ndarray, sims: np.ndarray) -> np.ndarray:
        import numpy as np

        votes = self.labels_[idx]
        weights = np.maximum(sims, 0.0) + 1e-6
        out = np.empty(len(idx), dtype=np.int64)
        for i in range(len(idx)):  # k is small: a dict per row is cheaper than a dense label matrix
            tally: dict[int, float] = {}
            for v, w in zip(votes[i].tolist(), weights[i].tolist()):
                tally[v] = tally.get(v, 0.0) + w
            out[i] = max(tally.items(), key=lambda kv: kv[1])[0]
        return out

    def place(self, X: np.ndarray) -> Placement:
        """Place new prompts ``X`` (rows) into the reference types."""
        import numpy as np

        if not hasattr(self, "X_"):
            raise RuntimeError("NearestTypes is not fitted: call fit() first")
        Q = _unit(X)
        if Q.shape[0] == 0:
            empty = np.empty(0, dtype=np.int64)
            return Placement(empty, empty, np.empty(0, dtype=np.float32), np.empty(0, dtype=bool))
        if Q.shape[1] != self.X_.shape[1]:
            raise ValueError(f"new vectors have {Q.shape[1]} dimensions, the run's {self.X_.shape[1]}: embed them "
                             "with the model the run used")
        idx, sims = _top_k(Q, self.X_, self.n_neighbors)
        nearest_label = self._vote(idx, sims)
        novel = sims[:, 0] < self.threshold_
        labels = np.where(novel, NOVEL, nearest_label)
        return Placement(labels=labels, nearest_label=nearest_label, similarity=sims[:, 0], novel=novel)


def candidate_types(X: np.ndarray, *, min_size: int = 5, clusterer: str | Any = "hdbscan") -> np.ndarray:
    """Group prompts that fit no existing type into candidate new types: density-cluster labels (``-1``: no group)
    on unit vectors, from the clusterer registered as ``clusterer`` (:mod:`slmprofile.cluster.density`, HDBSCAN by
    default) or a factory; all ``-1`` when there are too few prompts to group."""
    import numpy as np

    from ..cluster.density import make_clusterer

    n = len(X)
    if n < 2 * min_size:
        return np.full(n, -1, dtype=np.int64)
    size = max(min_size, n // 15)
    model = make_clusterer(clusterer, min_cluster_size=size, min_samples=min(size, 5))
    return np.asarray(model.fit_predict(_unit(X).astype(np.float64)), dtype=np.int64)
