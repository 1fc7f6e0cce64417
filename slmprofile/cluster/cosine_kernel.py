"""All pairwise cosine distances, compiled (imported only by :class:`~slmprofile.cluster.reduce.CosineUMAP`, as it
imports numba and UMAP)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from umap.distances import cosine


@numba.njit(parallel=True)
def cosine_matrix(X: Any) -> Any:  # pragma: no cover - compiled
    """All pairwise cosine distances of float32 rows as scikit-learn computes them with UMAP's numba ``cosine``
    (upper triangle, mirrored, then the diagonal), float32: bit for bit the matrix of UMAP's small-data path."""
    n = X.shape[0]
    out = np.zeros((n, n), dtype=np.float32)
    for i in numba.prange(n):
        for j in range(i + 1, n):
            value = np.float32(cosine(X[i], X[j]))
            out[i, j] = value
            out[j, i] = value
        out[i, i] = np.float32(cosine(X[i], X[i]))
    return out
