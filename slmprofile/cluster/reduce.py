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
    return umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, metric="cosine", min_dist=0.0,
                     random_state=random_state, low_memory=True,
                     n_jobs=1 if random_state is not None else -1)


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
