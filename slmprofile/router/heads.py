"""The router's linear heads: outcome labels, head parameters, fitting them and the routing score they give.

One logistic head per outcome (``slm``, and ``frontier`` when known) over the embedding, the length feature and
optionally the bag of word pieces (:mod:`slmprofile.router.features`); the score mixes their probabilities as
``P(SLM correct) - frontier_weight * P(frontier correct)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SlmprofileError
from .head_math import head_logits, mix_vector, numpy_ops

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .features import RouterFeatures

#: Fewest prompts with a known SLM outcome a router is fitted on (and scored on).
MIN_LABELLED = 30


def as_labels(values: Any, name: str, n: int) -> np.ndarray:
    """Float labels in [0, 1] with NaN for missing (None/NaN)."""
    import numpy as np

    if values is None:
        return np.full(n, np.nan)
    try:
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SlmprofileError(f"{name}: labels must be booleans, 0/1 or rates in [0, 1] ({exc})") from exc
    if len(arr) != n:
        raise SlmprofileError(f"{name}: {len(arr)} labels for {n} prompts")
    bad = np.isfinite(arr) & ((arr < 0) | (arr > 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SlmprofileError(f"{name}: labels must lie in [0, 1]; got {arr[row]!r} at row {row}")
    return arr


@dataclass
class Heads:
    """Linear head parameters (``H`` heads): logits ``z = E @ emb.T + L @ length + B[:, ids].sum / sqrt(n) + b``."""

    names: list[str]
    emb_coef: np.ndarray
    len_coef: np.ndarray
    bow_coef: np.ndarray | None
    intercept: np.ndarray

    def logits(self, features: RouterFeatures) -> np.ndarray:
        """``(n, H)`` float32 logits (:func:`~.head_math.head_logits`, as the exported graph computes them)."""
        import numpy as np

        bow_sum = None
        if self.bow_coef is not None:
            bow_sum = np.asarray(features.bag_of_pieces(scaled=False) @ self.bow_coef.T.astype(np.float64),
                                 dtype=np.float32)
        z = head_logits(numpy_ops(), np.asarray(features.embeddings, dtype=np.float32), features.n_tokens[:, None],
                        emb_coef_t=self.emb_coef.T.astype(np.float32), len_coef_t=self.len_coef.T.astype(np.float32),
                        intercept=self.intercept.astype(np.float32), log_max=features.log_max, bow_sum=bow_sum)
        return z.astype(np.float32)


def design_matrix(features: RouterFeatures, columns: np.ndarray | None, *, bag_scale: float,
                  length: bool = True) -> Any:
    """The fit's inputs: embedding (+ length), and the bag of word pieces ``columns`` scaled by ``bag_scale``
    (sparse) when given."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack

    parts = [features.embeddings, features.length_feature()] if length else [features.embeddings]
    dense = np.hstack(parts).astype(np.float64)
    if columns is None:
        return dense
    return hstack([csr_matrix(dense), bag_scale * features.bag_of_pieces()[:, columns]]).tocsr()


def fit_heads(features: RouterFeatures, labels: dict[str, np.ndarray], weight: np.ndarray, *, bag: bool, C: float,
              bag_scale: float, min_piece_count: int, length: bool = True, tol: float = 1e-5) -> Heads:
    """One logistic head per label (soft labels become two weighted rows); ``length=False`` leaves the length
    term out (its weight 0), ``bag`` adds the bag of word pieces (those seen ``min_piece_count`` times or more,
    scaled by ``bag_scale``)."""
    import numpy as np
    from scipy.sparse import vstack
    from sklearn.linear_model import LogisticRegression

    columns = None
    if bag:
        counts = np.bincount(features.input_ids[features.attention_mask.astype(bool)].ravel(),
                             minlength=features.vocab_size)
        columns = np.flatnonzero(counts >= min_piece_count)
    design = design_matrix(features, columns, bag_scale=bag_scale, length=length)
    dim = features.embeddings.shape[1]
    names, emb, lens, bow, bias = [], [], [], [], []
    for name, y in labels.items():
        keep = np.isfinite(y) & (weight > 0)
        yk, wk = y[keep], weight[keep]
        rows = design[keep]
        soft = (yk > 0) & (yk < 1)
        if soft.any():  # a rate r counts as a positive of weight w*r and a negative of weight w*(1-r)
            X = vstack([rows, rows[soft]]).tocsr() if columns is not None else np.vstack([rows, rows[soft]])
            target = np.r_[(yk > 0).astype(int), np.zeros(int(soft.sum()), int)]
            w_all = np.r_[np.where(soft, wk * yk, wk), wk[soft] * (1 - yk[soft])]
        else:
            X, target, w_all = rows, yk.astype(int), wk
        if len(np.unique(target)) < 2:
            raise SlmprofileError(f"label {name!r}: every labelled prompt has the same outcome; a router needs "
                                  "both successes and failures")
        # Newton-CG: on these problems (a few hundred dense columns, or sparse word pieces) it reaches the optimum
        # in ~10 Hessian steps, 4-9x faster than L-BFGS, which stops short of it at the out-of-fold tolerance.
        model = LogisticRegression(C=C, max_iter=5000, tol=tol, solver="newton-cg")
        model.fit(X, target, sample_weight=w_all / w_all.mean())
        coef = model.coef_[0]
        names.append(name)
        emb.append(coef[:dim])
        lens.append(coef[dim:dim + 1] if length else np.zeros(1))
        if columns is not None:
            full = np.zeros(features.vocab_size)
            full[columns] = coef[dim + int(length):] * bag_scale  # weights on the unscaled features
            bow.append(full)
        bias.append(model.intercept_[0])
    return Heads(names=names, emb_coef=np.array(emb, dtype=np.float32), len_coef=np.array(lens, np.float32),
                 bow_coef=np.array(bow, dtype=np.float32) if bow else None,
                 intercept=np.array(bias, dtype=np.float32))


def head_probs(heads: Heads, features: RouterFeatures) -> np.ndarray:
    """``(n, H)`` float32 probabilities of the heads."""
    import numpy as np

    return numpy_ops().sigmoid(heads.logits(features)).astype(np.float32)


def mix_scores(probs: np.ndarray, names: list[str], frontier_weight: float) -> np.ndarray:
    """Routing score from head probabilities: ``P(slm) - frontier_weight * P(frontier)`` (higher = keep on the SLM)."""
    return probs @ mix_vector(names, frontier_weight)
