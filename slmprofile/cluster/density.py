"""Density clusterers for the reduced embeddings, by name: the step of :class:`~slmprofile.cluster.model.
TaskTypeClusterer` that finds the task types. HDBSCAN is the default and one implementation among any.

The interface is one call: ``make_clusterer(name_or_factory, min_cluster_size=..., min_samples=...)`` returns an
object with ``fit_predict(Z) -> labels`` (``-1`` for noise). An object may also expose ``relative_validity_``
after fitting (HDBSCAN's DBCV approximation), which is reported next to the selection scores; without it the
report says ``nan``. A clusterer of your own is a factory with the same keywords:

>>> from sklearn.cluster import DBSCAN
>>> register_clusterer("dbscan-0.3", lambda *, min_cluster_size, min_samples: DBSCAN(eps=0.3,
...                    min_samples=min_cluster_size))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from ..deps import require

#: hdbscan's core-distance workers. Its default (4) starts a pool of joblib worker processes that stays alive after
#: the fit: about 1 GB of resident memory for 50k prompts, and slower than one in-process worker on 2 cores
#: (6.5 s against 9.4 s for 50k 10-d points, measured here).
CORE_DIST_JOBS = 1


class DensityClusterer(Protocol):
    def fit_predict(self, Z: Any) -> Any: ...  # noqa: D102 - labels, -1 = noise


ClustererFactory = Callable[..., DensityClusterer]
CLUSTERERS: dict[str, ClustererFactory] = {}


def register_clusterer(name: str, factory: ClustererFactory) -> ClustererFactory:
    """Make ``factory(min_cluster_size=..., min_samples=...)`` available as ``TaskTypeClusterer(clusterer=name)``."""
    CLUSTERERS[name] = factory
    return factory


def hdbscan_clusterer(*, min_cluster_size: int, min_samples: int) -> DensityClusterer:
    """The ``hdbscan`` package's HDBSCAN with its minimum spanning tree kept (for ``relative_validity_``)."""
    hdbscan = require("hdbscan", purpose="the HDBSCAN clusterer")
    return hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, gen_min_span_tree=True,
                           core_dist_n_jobs=CORE_DIST_JOBS)


def sklearn_hdbscan_clusterer(*, min_cluster_size: int, min_samples: int) -> DensityClusterer:
    """scikit-learn's HDBSCAN (no extra package; no ``relative_validity_``)."""
    from sklearn.cluster import HDBSCAN

    # copy=True: never overwrite the caller's array (and scikit-learn 1.9 warns until the choice is explicit)
    return HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True)


register_clusterer("hdbscan", hdbscan_clusterer)
register_clusterer("sklearn-hdbscan", sklearn_hdbscan_clusterer)


def make_clusterer(clusterer: str | ClustererFactory, *, min_cluster_size: int, min_samples: int) -> DensityClusterer:
    """A fresh clusterer from its registered name or factory (one per fit: bootstrap refits need new ones)."""
    if isinstance(clusterer, str):
        try:
            factory = CLUSTERERS[clusterer]
        except KeyError:
            raise ValueError(f"unknown clusterer {clusterer!r}; choose one of {sorted(CLUSTERERS)} or pass a factory "
                             "(see slmprofile.cluster.density)") from None
    else:
        factory = clusterer
    model = factory(min_cluster_size=min_cluster_size, min_samples=min_samples)
    if not callable(getattr(model, "fit_predict", None)):
        raise TypeError(f"the clusterer {clusterer!r} made {type(model).__name__}, which has no fit_predict(Z)")
    return model
