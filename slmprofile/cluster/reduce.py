"""Dimension reducers for clustering, by name (any object with ``fit_transform``/``transform`` also works)."""

from __future__ import annotations

from typing import Any, Callable

from ..deps import require

REDUCERS: dict[str, Callable[..., Any]] = {}


def _register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        REDUCERS[name] = fn
        return fn
    return deco


@_register("umap")
def umap_reducer(*, n_components: int = 10, n_neighbors: int = 30, random_state: int | None = 0) -> Any:
    """UMAP on cosine distance with ``min_dist=0`` (packs neighbours tightly: what density clustering wants).

    ``n_neighbors`` trades local detail (low) for global structure (high); 15-50 suits task types. A seed makes UMAP
    single-threaded; it is said here (``n_jobs=1``) so that UMAP does not warn about it on every fit.
    """
    umap = require("umap", package="umap-learn", purpose="the UMAP reducer")
    return CosineUMAP(umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, metric="cosine", min_dist=0.0,
                                random_state=random_state, low_memory=True,
                                n_jobs=1 if random_state is not None else -1))


#: Below this many rows UMAP computes every pairwise distance itself (its own threshold, ``umap_.py``).
UMAP_SMALL_DATA = 4096


class CosineUMAP:
    """UMAP on cosine distance, with the small-data nearest neighbours computed in compiled code.

    Below :data:`UMAP_SMALL_DATA` rows UMAP computes all pairwise distances through scikit-learn, which calls its
    numba ``cosine`` once per pair from Python: 26 of the 33 s of a fit on the sample's 3,193 prompts. Here the same
    numba function fills the matrix in a compiled loop (:mod:`.cosine_kernel`; bit for bit the same values: UMAP's
    layout is chaotic in the last bit of a distance, so nothing less would do), the nearest neighbours are taken from
    it the way UMAP takes them, and UMAP is fitted with them (``precomputed_knn``): the same embedding in a fifth of
    the time. Larger inputs go to UMAP as they are (its nearest-neighbour descent). ``umap_`` is the fitted UMAP.
    UMAP's compiled code is cached on disk (:mod:`slmprofile.jit_cache`).
    """

    def __init__(self, umap: Any) -> None:
        self.umap = umap

    def fit_transform(self, X: Any) -> Any:
        import warnings

        import numpy as np
        from umap.umap_ import DISCONNECTION_DISTANCES
        from umap.utils import fast_knn_indices

        from ..jit_cache import enable_jit_cache
        from .cosine_kernel import cosine_matrix

        enable_jit_cache([cosine_matrix])  # UMAP's compiled code from disk after the first run (see jit_cache)
        X = np.asarray(X)
        params = self.umap.get_params()
        k = params["n_neighbors"]
        if not k < len(X) < UMAP_SMALL_DATA or params["force_approximation_algorithm"] or params["metric"] != "cosine" \
                or not np.issubdtype(X.dtype, np.floating) or params["precomputed_knn"][0] is not None:
            self.umap_ = self.umap
            return self.umap.fit_transform(X)
        dmat = cosine_matrix(np.ascontiguousarray(X, dtype=np.float32))  # what UMAP's input check makes of X
        dmat[dmat >= DISCONNECTION_DISTANCES["cosine"]] = np.inf  # as UMAP's small-data path does
        knn_indices = fast_knn_indices(dmat, k)
        knn_dists = dmat[np.arange(len(X))[:, None], knn_indices].copy()
        knn_indices[knn_dists == np.inf] = -1
        del dmat
        self.umap_ = type(self.umap)(**{**params, "precomputed_knn": (knn_indices, knn_dists, None)})
        with warnings.catch_warnings():  # no search index: transform() is unavailable, and never called here
            warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
            return self.umap_.fit_transform(X)


@_register("pca")
def pca_reducer(*, n_components: int = 10, n_neighbors: int = 30, random_state: int | None = 0) -> Any:
    """PCA: much faster than UMAP, linear, usually separates fewer task types (``n_neighbors`` is ignored)."""
    from sklearn.decomposition import PCA

    return PCA(n_components=n_components, random_state=random_state)


@_register("none")
def no_reducer(*, n_components: int = 10, n_neighbors: int = 30, random_state: int | None = 0) -> Any:
    """Cluster the (normalized) embeddings as they are."""
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer()


def make_reducer(reducer: str | Any, *, n_components: int, n_neighbors: int, random_state: int | None) -> Any:
    """A reducer from its registered name, or the given object unchanged."""
    if not isinstance(reducer, str):
        return reducer
    try:
        factory = REDUCERS[reducer]
    except KeyError:
        raise ValueError(f"unknown reducer {reducer!r}; choose one of {sorted(REDUCERS)} or pass an object") from None
    return factory(n_components=n_components, n_neighbors=n_neighbors, random_state=random_state)


def compile_umap(n: int = 600, dim: int = 384, seed: int = 0) -> int:
    """Fit :func:`umap_reducer` on ``n`` random unit vectors so that UMAP's numba code (the small-data path, the
    fuzzy graph, the layout) is compiled into the disk cache (:mod:`slmprofile.jit_cache`); returns ``n``. Run in a
    child process beside the embedding (see :func:`slmprofile.stages.compile_ahead`), a first run's task types then
    load that code instead of compiling it (about 25 s on 2 cores). Writes the ``umap`` marker of
    :func:`~slmprofile.jit_cache.compiled_marker` when done."""
    import numpy as np

    from ..jit_cache import compiled_marker

    X = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    for components in (10, 2):  # the clustering's reduction and the report's map
        umap_reducer(n_components=components, random_state=seed).fit_transform(X)
    marker = compiled_marker("umap")
    if marker.parent.is_dir():
        marker.write_text("compiled by slmprofile.cluster.reduce.compile_umap\n", encoding="utf-8")
    return n
