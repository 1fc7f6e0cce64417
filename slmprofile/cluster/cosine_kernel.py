"""All pairwise cosine distances, compiled (imported only by :class:`~slmprofile.cluster.reduce.CosineUMAP`, as it
imports numba and UMAP)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


@numba.njit(inline="always")
def _put(out: Any, norms: Any, i: int, j: int, dot: float) -> None:  # pragma: no cover - compiled
    """``out[i, j] = out[j, i]`` = the distance UMAP's ``cosine`` returns for these sums."""
    if norms[i] == 0.0 and norms[j] == 0.0:
        value = np.float32(0.0)
    elif norms[i] == 0.0 or norms[j] == 0.0:
        value = np.float32(1.0)
    else:
        value = np.float32(1.0 - (dot / np.sqrt(norms[i] * norms[j])))
    out[i, j] = value
    out[j, i] = value


@numba.njit(inline="always")
def _row(X: Any, out: Any, norms: Any, i: int) -> None:  # pragma: no cover - compiled
    """Distances of row ``i`` to rows ``i..n-1``, eight dot products at a time (eight independent sums in flight
    instead of one; each is still summed in index order, so its value does not change)."""
    n, d = X.shape
    m = (n - i) // 8
    for b in range(m):
        j = i + 8 * b
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        a4 = 0.0
        a5 = 0.0
        a6 = 0.0
        a7 = 0.0
        for k in range(d):
            x = X[i, k]
            a0 += x * X[j, k]
            a1 += x * X[j + 1, k]
            a2 += x * X[j + 2, k]
            a3 += x * X[j + 3, k]
            a4 += x * X[j + 4, k]
            a5 += x * X[j + 5, k]
            a6 += x * X[j + 6, k]
            a7 += x * X[j + 7, k]
        _put(out, norms, i, j, a0)
        _put(out, norms, i, j + 1, a1)
        _put(out, norms, i, j + 2, a2)
        _put(out, norms, i, j + 3, a3)
        _put(out, norms, i, j + 4, a4)
        _put(out, norms, i, j + 5, a5)
        _put(out, norms, i, j + 6, a6)
        _put(out, norms, i, j + 7, a7)
    for j in range(i + 8 * m, n):
        dot = 0.0
        for k in range(d):
            dot += X[i, k] * X[j, k]
        _put(out, norms, i, j, dot)


@numba.njit(parallel=True)
def cosine_matrix(X: Any) -> Any:  # pragma: no cover - compiled
    """All pairwise cosine distances of float32 rows, bit for bit what UMAP's numba ``cosine`` gives for each pair
    (the matrix of UMAP's small-data path), float32.

    ``cosine`` sums float32 products into a float64 in index order and computes both norms on every call. Here each
    row's norm is summed once, in that same order, and each dot product is summed as ``cosine`` sums it, eight pairs
    at a time; rows ``p`` and ``n-1-p`` go to the same worker, so each does the same share of the triangle. Every
    value is identical (``tests/test_cluster.py`` checks it against ``cosine``), four times faster on 2 cores
    (0.31 s against 1.22 s for 3,293 x 384).
    """
    n, d = X.shape
    norms = np.zeros(n, dtype=np.float64)
    for i in numba.prange(n):
        acc = 0.0
        for k in range(d):
            acc += X[i, k] ** 2
        norms[i] = acc
    out = np.zeros((n, n), dtype=np.float32)
    for p in numba.prange((n + 1) // 2):
        _row(X, out, norms, p)
        if n - 1 - p != p:
            _row(X, out, norms, n - 1 - p)
    return out
