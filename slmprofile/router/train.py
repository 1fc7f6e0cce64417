"""Train a router: a linear head over frozen-encoder features, cross-fitted calibration, a threshold for a target.

The router estimates, per prompt, ``P(SLM correct)`` and - when frontier outcomes are known - ``P(frontier
correct)`` with two logistic heads over the same features (:mod:`slmprofile.router.features`), and ranks prompts
by the expected quality lost by keeping them on the SLM::

    score = P(SLM correct) - frontier_weight * P(frontier correct)      (higher = keep on the SLM)

``frontier_weight`` (0-1) is chosen by cross-validated APGR inside the training data (``"auto"``). The score is
calibrated into ``p_slm``, the probability that sending the prompt to the SLM loses nothing compared with the
frontier model (label: SLM correct, or both wrong), by centred isotonic regression (or Platt scaling) on
out-of-fold scores; the routing threshold on ``p_slm`` is then set for the user's target: a quality target (at least
``target_value`` success on the traffic kept on the SLM) or an SLM-share target. Prompts below it - low-confidence
ones included - go to the frontier model.

**Model selection for unseen task types.** Every choice made on out-of-fold scores - the frontier weight, the bag of
word pieces on or off, the regularisation ``C``, the calibration and the threshold - is made on folds that keep
groups whole (GroupKFold over the task types, templates or subjects given to :meth:`SlmRouter.fit`). Without
groups, :func:`derive_groups` makes some: template ids when there are enough distinct ones, else a seeded k-means
of the embeddings (k ~ sqrt(n) / 2). The candidates include a *plain* head (a logistic regression on the
embedding alone predicting "the SLM is right", the baseline that carries best to new task types on RouteLLM);
when the full model's leave-groups-out APGR is below the plain head's, the plain head is the one fitted and
exported (``selection_["chosen"]`` and ``["why"]`` say so). Two estimates come with the fit (``estimates_``): the
expected APGR / CPT(50 %) on traffic like the training data (random folds) and on new task types (leave-groups-out
folds), each with its mean, sd and number of folds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import SlmprofileError
from ..params import Interval, Options, check_params
from ..rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .features import RouterFeatures
    from .finetune import FinetuneResult, FinetuneSettings

logger = logging.getLogger(__name__)

FRONTIER_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Regularisation grid searched with ``C="auto"`` (the bag of word pieces is tried at ``C`` = 1 only: its fits cost
#: 3-7x more, and on RouteLLM a larger ``C`` with it fits the training subjects, a smaller one mutes it).
C_GRID = (0.3, 1.0, 3.0)
BAG_C = 1.0
#: Convergence tolerance of the out-of-fold fits (the exported heads are fitted to 1e-5).
OOF_TOL = 1e-4
#: ``C`` of the plain fallback head (that of :func:`slmprofile.router.baselines.logistic_scores`).
PLAIN_C = 1.0
MIN_LABELLED = 30
HEAD_FORMAT_VERSION = 1
#: Derived groups from template ids need at least this many distinct templates (and at most n / 5 of them).
MIN_TEMPLATE_GROUPS = 10
#: Folds whose SLM-frontier quality gap is below this are left out of per-fold APGR (PGR divides by the gap).
MIN_FOLD_GAP = 0.02


def _as_labels(values: Any, name: str, n: int) -> np.ndarray:
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


def centered_isotonic(x: Any, y: Any, w: Any | None = None, *, min_gap: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Centred isotonic regression: knots ``(xs, ys)`` of an increasing piecewise-linear fit of ``y`` on ``x``.

    Pool-adjacent-violators blocks, each replaced by its (weighted) centre; the fit interpolates linearly between
    centres and is flat outside them, so it is strictly increasing across its range (no ties introduced inside).
    Knots closer than ``min_gap`` times the score range are merged (keeps slopes finite in float32).
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    _, start = np.unique(x, return_index=True)
    blocks = [[ws, ys, xs] for ws, ys, xs in zip(np.add.reduceat(w, start), np.add.reduceat(w * y, start),
                                                  np.add.reduceat(w * x, start))]
    stack: list[list[float]] = []
    for block in blocks:
        stack.append(block)
        while len(stack) >= 2 and stack[-2][1] / stack[-2][0] >= stack[-1][1] / stack[-1][0]:
            last = stack.pop()
            for k in range(3):
                stack[-1][k] += last[k]
    gap = min_gap * max(float(x[-1] - x[0]), 1e-12)
    merged: list[list[float]] = []
    for block in stack:
        if merged and block[2] / block[0] - merged[-1][2] / merged[-1][0] < gap:
            for k in range(3):
                merged[-1][k] += block[k]
        else:
            merged.append(list(block))
    xs = np.array([b[2] / b[0] for b in merged])
    ys = np.clip(np.array([b[1] / b[0] for b in merged]), 0.0, 1.0)
    if len(xs) == 1:
        xs = np.array([xs[0] - 0.5, xs[0] + 0.5])
        ys = np.array([ys[0], ys[0]])
    return xs, np.maximum.accumulate(ys)


def interp_calibration(score: Any, xs: Any, ys: Any) -> np.ndarray:
    """The piecewise-linear calibration as the ONNX graph computes it (float32): a sum of clipped ramps."""
    import numpy as np

    s = np.asarray(score, dtype=np.float32)[:, None]
    xs = np.asarray(xs, dtype=np.float32)
    ys = np.asarray(ys, dtype=np.float32)
    width = np.diff(xs)
    slope = (np.diff(ys) / width).astype(np.float32)
    ramps = np.minimum(np.maximum(s - xs[:-1], 0.0), width)
    return (ys[0] + (ramps * slope).sum(axis=1)).astype(np.float32)


def derive_groups(embeddings: Any, templates: Any = None, *, random_state: int = 0,
                  min_templates: int = MIN_TEMPLATE_GROUPS) -> tuple[np.ndarray, dict[str, Any]]:
    """Groups for leave-groups-out folds when none are given -> ``(group per prompt, how they were made)``.

    Template ids (``templates``, e.g. the logs' ``template_id``) are used when there are between ``min_templates``
    and ``n / 5`` distinct ones (missing ids each count as their own prompt's group) and none holds more than half
    of the prompts; otherwise a k-means of the (unit) embeddings with ``k = round(sqrt(n) / 2)`` (at least 4,
    seeded) stands in for task types. The second value says which (``source``: ``template_id`` or ``kmeans``).
    """
    import numpy as np

    emb = np.asarray(embeddings, dtype=np.float32)
    n = len(emb)
    if templates is not None:
        ids = [None if t is None else str(t) for t in templates]
        if len(ids) != n:
            raise SlmprofileError(f"templates: {len(ids)} template ids for {n} prompts")
        filled = np.array([t if t is not None else f"__row{i}" for i, t in enumerate(ids)])
        uniq, counts = np.unique(filled, return_counts=True)
        if min_templates <= len(uniq) <= n / 5 and counts.max() <= n / 2:
            return filled, {"source": "template_id", "groups": int(len(uniq))}
    from sklearn.cluster import KMeans

    k = int(min(max(4, round(np.sqrt(n) / 2)), max(n // 2, 1)))
    labels = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit_predict(emb)
    info = {"source": "kmeans", "groups": int(len(np.unique(labels))), "k": k}
    if templates is not None:
        info["why"] = "too few distinct template ids (or one template dominates)"
    return np.array([f"kmeans{c}" for c in labels]), info


def _spread(values: list[float]) -> dict[str, Any]:
    """``{"mean", "sd", "n_folds"}`` of per-fold figures (NaNs dropped; sd with ddof 1)."""
    import numpy as np

    v = np.array(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return {"mean": float(v.mean()) if len(v) else None, "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
            "n_folds": int(len(v))}


def _calibration_fit(kind: str, score: Any, ok: Any, w: Any) -> dict[str, Any]:
    """Parameters of calibration ``kind`` (``isotonic``: knots ``x``/``y``; ``platt``: ``a``, ``b``) fitted on
    ``score`` -> ``ok`` (nothing lost on the SLM) with weights ``w``."""
    import numpy as np

    if kind == "isotonic":
        xs, ys = centered_isotonic(score, ok, w)
        return {"x": xs.astype(np.float32), "y": ys.astype(np.float32)}
    from sklearn.linear_model import LogisticRegression

    hard = (np.asarray(ok) >= 0.5).astype(int)
    if len(np.unique(hard)) < 2:  # one outcome only: a flat map at its rate
        return {"a": np.float32(0.0), "b": np.float32(8.0 if hard[0] else -8.0)}
    model = LogisticRegression(C=1e4, max_iter=2000).fit(np.asarray(score)[:, None], hard, sample_weight=w)
    return {"a": np.float32(model.coef_[0, 0]), "b": np.float32(model.intercept_[0])}


def _calibration_apply(kind: str, params: dict[str, Any], score: Any) -> np.ndarray:
    """``p_slm`` from raw scores, float32, as the exported graph computes it."""
    import numpy as np

    if kind == "isotonic":
        return interp_calibration(score, params["x"], params["y"])
    a, b = params["a"], params["b"]
    return (1.0 / (1.0 + np.exp(-(a * np.asarray(score, np.float32) + b)))).astype(np.float32)


@dataclass
class Heads:
    """Linear head parameters (``H`` heads): logits ``z = E @ emb.T + L @ length + B[:, ids].sum / sqrt(n) + b``."""

    names: list[str]
    emb_coef: np.ndarray
    len_coef: np.ndarray
    bow_coef: np.ndarray | None
    intercept: np.ndarray

    def logits(self, features: RouterFeatures) -> np.ndarray:
        """``(n, H)`` float32 logits, computed as the graph computes them."""
        import numpy as np

        z = features.embeddings @ self.emb_coef.T.astype(np.float32)
        z += features.length_feature() @ self.len_coef.T.astype(np.float32)
        if self.bow_coef is not None:
            z += np.asarray(features.bag_of_pieces() @ self.bow_coef.T.astype(np.float64), dtype=np.float32)
        return (z + self.intercept.astype(np.float32)).astype(np.float32)


class SlmRouter:
    """Router head over frozen-encoder features (see module docs).

    Args:
        C: inverse L2 strength of the logistic heads (larger = less regularised), or ``"auto"``: chosen by
            leave-groups-out APGR over :data:`C_GRID` (with the bag of word pieces: :data:`BAG_C`).
        bag_of_pieces: add the bag-of-word-pieces features (more signal on prompts of seen kinds, often none on new
            ones; a larger graph): ``True``, ``False`` or ``"auto"`` (chosen like ``C``).
        bag_scale: scale of those features against the embedding (smaller = their weights are regularised more;
            0.25-1).
        min_piece_count: word pieces seen fewer times than this in training get no weight.
        frontier_weight: weight of ``P(frontier correct)`` in the score (0-1), or ``"auto"`` (chosen like ``C``
            over 0, 0.25, ..., 1). Ignored without frontier outcomes.
        calibration: ``isotonic`` (centred isotonic, piecewise linear), ``platt`` (logistic on the score) or
            ``"auto"`` (the lower Brier score, each calibration fitted on the other folds' scores).
        cv: folds for out-of-fold scores (every choice above, the calibration and the threshold).
        group_cv: make those choices on folds that keep groups whole (the ``groups`` given to :meth:`fit`, else
            derived ones: :func:`derive_groups`), i.e. for task types the router has not seen. Off: random folds,
            as earlier versions did (choices then favour traffic like the training data, and the validation figures
            overrate new task types).
        fallback: also score the plain head (a logistic regression on the embedding alone, ``C`` = 1, "the SLM is
            right") on the same folds, and fit it instead of the full model when the full model's out-of-fold APGR
            is lower (by more than ``fallback_margin``: the plain head is kept while the full model does not beat it
            by that much).
        tolerance: with ``group_cv``, full-model settings whose leave-groups-out APGR is within this of the best
            are ranked by their random-fold APGR instead (what they give on traffic like the training data), so a
            setting is not given up for seen task types to gain less than this on new ones; 0: off.
        target: ``quality`` (keep on the SLM only what reaches ``target_value`` success) or ``share`` (keep
            ``target_value`` of calls on the SLM).
        target_value: the quality (0-1) or SLM share (0-1) aimed at.
        novelty_quantile: fit a :class:`~slmprofile.router.novelty.NoveltyGuard` with this quantile (prompts farther
            from the training traffic than that share of familiar held-out prompts go to the frontier with reason
            ``novel``); None: no guard.
        random_state: seed of the folds (and of derived groups).

    Fitted attributes: ``heads_``, ``frontier_weight_``, ``calib_kind_``, ``calib_params_``, ``threshold_``,
    ``validation_`` (out-of-fold metrics), ``selection_`` (the folds, every candidate's out-of-fold APGR, what was
    chosen and why), ``estimates_`` (expected APGR / CPT(50 %) on seen and on new task types), ``novelty_`` (the fitted guard or
    None), ``n_features_in_``.
    """

    def __init__(self, *, C: float | Literal["auto"] = "auto", bag_of_pieces: bool | Literal["auto"] = "auto",
                 bag_scale: float = 0.5, min_piece_count: int = 2, frontier_weight: float | Literal["auto"] = "auto",
                 calibration: Literal["isotonic", "platt", "auto"] = "auto", cv: int = 5, group_cv: bool = True,
                 fallback: bool = True, fallback_margin: float = 0.0, tolerance: float = 0.005, target: Literal["quality", "share"] = "quality",
                 target_value: float = 0.95, novelty_quantile: float | None = 0.99, random_state: int = 0) -> None:
        self.C = C
        self.bag_of_pieces = bag_of_pieces
        self.bag_scale = bag_scale
        self.min_piece_count = min_piece_count
        self.frontier_weight = frontier_weight
        self.calibration = calibration
        self.cv = cv
        self.group_cv = group_cv
        self.fallback = fallback
        self.tolerance = tolerance
        self.fallback_margin = fallback_margin
        self.target = target
        self.target_value = target_value
        self.novelty_quantile = novelty_quantile
        self.random_state = random_state

    _parameter_constraints = {
        "C": [Options("auto"), Interval(float, 0, None, closed="neither")],
        "bag_of_pieces": [Options(True, False, "auto")],
        "frontier_weight": [Options("auto"), Interval(float, 0, 1)],
        "calibration": [Options("isotonic", "platt", "auto")],
        "fallback_margin": [Interval(float, 0, 0.5, closed="left")],
        "tolerance": [Interval(float, 0, 0.5, closed="left")],
        "cv": [Interval(int, 2, None)],
        "target": [Options("quality", "share")],
        "target_value": [Interval(float, 0, 1, closed="right")],
        "bag_scale": [Interval(float, 0, None, closed="neither")],
        "min_piece_count": [Interval(int, 1, None)],
        "novelty_quantile": [None, Interval(float, 0.5, 1)],
    }

    # ------------------------------------------------------------------ fitting
    def _design(self, features: RouterFeatures, columns: np.ndarray | None, length: bool = True) -> Any:
        import numpy as np
        from scipy.sparse import csr_matrix, hstack

        parts = [features.embeddings, features.length_feature()] if length else [features.embeddings]
        dense = np.hstack(parts).astype(np.float64)
        if columns is None:
            return dense
        return hstack([csr_matrix(dense), self.bag_scale * features.bag_of_pieces()[:, columns]]).tocsr()

    def _fit_heads(self, features: RouterFeatures, labels: dict[str, np.ndarray], weight: np.ndarray, *,
                   bag: bool, C: float, length: bool = True, tol: float = 1e-5) -> Heads:
        """One logistic head per label (soft labels become two weighted rows); ``length=False`` leaves the length
        term out (its weight 0), ``bag`` adds the bag of word pieces."""
        import numpy as np
        from scipy.sparse import vstack
        from sklearn.linear_model import LogisticRegression

        columns = None
        if bag:
            counts = np.bincount(features.input_ids[features.attention_mask.astype(bool)].ravel(),
                                 minlength=features.vocab_size)
            columns = np.flatnonzero(counts >= self.min_piece_count)
        design = self._design(features, columns, length)
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
            model = LogisticRegression(C=C, max_iter=5000, tol=tol)
            model.fit(X, target, sample_weight=w_all / w_all.mean())
            coef = model.coef_[0]
            names.append(name)
            emb.append(coef[:dim])
            lens.append(coef[dim:dim + 1] if length else np.zeros(1))
            if columns is not None:
                full = np.zeros(features.vocab_size)
                full[columns] = coef[dim + int(length):] * self.bag_scale  # weights on the unscaled features
                bow.append(full)
            bias.append(model.intercept_[0])
        return Heads(names=names, emb_coef=np.array(emb, dtype=np.float32), len_coef=np.array(lens, np.float32),
                     bow_coef=np.array(bow, dtype=np.float32) if bow else None,
                     intercept=np.array(bias, dtype=np.float32))

    @staticmethod
    def _probs(heads: Heads, features: RouterFeatures) -> np.ndarray:
        import numpy as np

        return (1.0 / (1.0 + np.exp(-heads.logits(features)))).astype(np.float32)

    @staticmethod
    def _mix(probs: np.ndarray, names: list[str], frontier_weight: float) -> np.ndarray:
        import numpy as np

        mix = np.array([1.0 if n == "slm" else -frontier_weight for n in names], dtype=np.float32)
        return probs @ mix

    def _folds(self, n: int, strat: np.ndarray, groups: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """GroupKFold over ``groups`` (at most ``cv`` folds) when there are two or more, else stratified folds."""
        import numpy as np
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if groups is not None:
            n_groups = len(np.unique(groups))
            if n_groups >= 2:
                k = min(self.cv, n_groups)
                return list(GroupKFold(n_splits=k, shuffle=True, random_state=self.random_state)
                            .split(np.zeros(n), strat, groups))
        k = min(self.cv, int(np.bincount(strat).min()) if len(np.unique(strat)) > 1 else self.cv)
        return list(StratifiedKFold(n_splits=max(k, 2), shuffle=True, random_state=self.random_state)
                    .split(np.zeros(n), strat))

    def _oof(self, features: RouterFeatures, labels: dict[str, np.ndarray], w: np.ndarray,
             folds: list[tuple[np.ndarray, np.ndarray]], *, bag: bool, C: float, length: bool = True,
             progress: Any = None) -> np.ndarray:
        """Out-of-fold head probabilities ``(n, heads)`` of one configuration."""
        import numpy as np

        oof = np.zeros((len(features), len(labels)), dtype=np.float32)
        for train_idx, test_idx in folds:
            heads = self._fit_heads(features.subset(train_idx), {k: v[train_idx] for k, v in labels.items()},
                                    w[train_idx], bag=bag, C=C, length=length, tol=OOF_TOL)
            oof[test_idx] = self._probs(heads, features.subset(test_idx))
            if progress is not None:
                progress.update(1)
        return oof

    @staticmethod
    def _fold_metrics(score: np.ndarray, s: np.ndarray, f_ref: np.ndarray, hard: np.ndarray,
                      folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[list[float], list[float]]:
        """Per-fold APGR and CPT(50 %) of ``score`` on each fold's held-out prompts with hard outcomes (NaN where a
        fold has under 20 of them or a quality gap under 0.02, which would make PGR explode)."""
        from .metrics import apgr, cpt, routing_curve

        apgrs, cpts = [], []
        for _, test_idx in folds:
            rows = test_idx[hard[test_idx]]
            if len(rows) < 20 or abs(f_ref[rows].mean() - s[rows].mean()) < MIN_FOLD_GAP:
                apgrs.append(float("nan"))
                cpts.append(float("nan"))
                continue
            curve = routing_curve(score[rows], s[rows], f_ref[rows])
            apgrs.append(apgr(curve))
            cpts.append(cpt(curve, 0.5))
        return apgrs, cpts

    def fit(self, features: RouterFeatures, slm_correct: Any, frontier_correct: Any = None, *,
            sample_weight: Any = None, groups: Any = None, templates: Any = None, groups_source: str | None = None,
            progress: bool = False) -> SlmRouter:
        """Fit on prompts with known outcomes.

        ``slm_correct``: per prompt, 1/True when the SLM's answer was acceptable, a rate in [0, 1] for weak
        labels, None/NaN when unknown (those rows are skipped). ``frontier_correct``: the same for the frontier
        model, or None (then the frontier is the reference: taken as always right). ``sample_weight``: e.g. lower
        for weak labels. ``groups``: task type / subject per prompt; the folds keep them whole (``group_cv``).
        Without them (or with a single one), groups are derived (:func:`derive_groups`: from ``templates``, template
        ids per prompt, when there are enough, else a k-means of the embeddings). ``groups_source``: where given
        groups came from, for ``selection_`` (default ``given``).
        """
        import numpy as np

        check_params(self)
        n = len(features)
        s = _as_labels(slm_correct, "slm_correct", n)
        f = _as_labels(frontier_correct, "frontier_correct", n)
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if len(w) != n or not np.isfinite(w).all() or (w < 0).any():
            raise SlmprofileError("sample_weight must be finite, >= 0 and one per prompt")
        for name, values in (("groups", groups), ("templates", templates)):
            if values is not None and len(values) != n:
                raise SlmprofileError(f"{name}: {len(values)} values for {n} prompts")
        keep = np.isfinite(s) & (w > 0)
        if keep.sum() < MIN_LABELLED:
            raise SlmprofileError(f"only {int(keep.sum())} prompts have a known SLM outcome; a router needs at "
                                  f"least {MIN_LABELLED}")
        self.n_skipped_unlabelled_ = int(n - keep.sum())
        features, s, f, w = features.subset(keep), s[keep], f[keep], w[keep]
        g = None if groups is None else np.asarray([str(x) for x in groups])[keep]
        if g is not None and len(np.unique(g)) >= 2:
            group_info: dict[str, Any] = {"source": groups_source or "given", "groups": int(len(np.unique(g)))}
        else:
            kept_templates = None if templates is None else [list(templates)[i] for i in np.flatnonzero(keep)]
            g, group_info = derive_groups(features.embeddings, kept_templates, random_state=self.random_state)
            if groups is not None:
                group_info["why"] = "the given groups hold a single value"
        has_frontier = bool(np.isfinite(f).sum() >= MIN_LABELLED and len(np.unique(f[np.isfinite(f)])) > 1)
        labels = {"slm": s} if not has_frontier else {"slm": s, "frontier": f}
        f_ref = np.where(np.isfinite(f), f, 1.0) if has_frontier else np.ones_like(s)  # frontier as the reference
        ok = np.maximum(s, 1.0 - f_ref)  # nothing lost on the SLM: it was right, or the frontier was wrong too
        hard = np.isin(s, (0.0, 1.0)) & (np.isfinite(f) if has_frontier else True)
        scorable = bool(hard.sum() >= MIN_LABELLED and abs(f_ref[hard].mean() - s[hard].mean()) > 1e-9)

        strat = (s >= 0.5).astype(int)
        group_folds = self._folds(len(s), strat, g)
        random_folds = self._folds(len(s), strat, None)
        folds = group_folds if self.group_cv else random_folds
        fold_kind = "groups" if self.group_cv and len(np.unique(g)) >= 2 else "random"
        names = list(labels)

        # ---- candidates, each scored by its mean per-fold APGR on the selection folds
        bags = [False, True] if self.bag_of_pieces == "auto" else [bool(self.bag_of_pieces)]
        cs = list(C_GRID) if self.C == "auto" else [float(self.C)]
        configs = [(bag, C) for bag in bags for C in (cs if not bag or self.C != "auto" else [BAG_C])]
        weights = [0.0]
        if has_frontier:
            weights = list(FRONTIER_WEIGHTS) if self.frontier_weight == "auto" else [float(self.frontier_weight)]
        if not scorable:  # nothing to choose on: the simplest settings
            configs = [(bags[0], 1.0 if 1.0 in cs else cs[0])]
            weights = [0.5 if has_frontier and self.frontier_weight == "auto" else weights[0]]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(folds) * (len(configs) + int(self.fallback and scorable)),
                       desc="router folds", unit="fit")
        tie_break = bool(scorable and self.tolerance > 0 and fold_kind == "groups")
        candidates: list[dict[str, Any]] = []
        oofs: dict[tuple, np.ndarray] = {}
        oofs_random: dict[tuple, np.ndarray] = {}
        for bag, C in configs:
            oof = oofs[("full", bag, C)] = self._oof(features, labels, w, folds, bag=bag, C=C, progress=bar)
            for fw in weights:
                per_fold = self._fold_metrics(self._mix(oof, names, fw), s, f_ref, hard, folds)[0] \
                    if scorable else []
                candidates.append({"model": "full", "bag_of_pieces": bag, "C": C, "frontier_weight": fw,
                                   "apgr": _spread(per_fold)["mean"]})
        if self.fallback and scorable:
            oofs[("plain", False, PLAIN_C)] = self._oof(features, {"slm": s}, w, folds, bag=False, C=PLAIN_C,
                                                        length=False, progress=bar)
            per_fold = self._fold_metrics(oofs[("plain", False, PLAIN_C)][:, 0], s, f_ref, hard, folds)[0]
            candidates.append({"model": "plain", "bag_of_pieces": False, "C": PLAIN_C, "frontier_weight": 0.0,
                               "apgr": _spread(per_fold)["mean"]})
        if bar is not None:
            bar.close()

        def num(value: float | None) -> float:
            return -1.0 if value is None else round(value, 4)

        def rank(c: dict[str, Any]) -> tuple:  # higher APGR first; on a tie the simpler model
            complexity = 0 if c["model"] == "plain" else 1 + int(c["bag_of_pieces"])
            return (num(c["apgr"]), -complexity, -c["frontier_weight"], -abs(np.log(c["C"])))

        full = [c for c in candidates if c["model"] == "full"]
        best_full = max(full, key=rank)
        near = [best_full]
        if tie_break and best_full["apgr"] is not None:  # near the best on new task types: the best on seen ones
            near = [c for c in full if c["apgr"] is not None and c["apgr"] >= best_full["apgr"] - self.tolerance]
            for c in near:  # random-fold scores only for the settings near the best (the frontier weight is free)
                key = ("full", c["bag_of_pieces"], c["C"])
                if key not in oofs_random:
                    oofs_random[key] = self._oof(features, labels, w, random_folds, bag=key[1], C=key[2])
                per_fold = self._fold_metrics(self._mix(oofs_random[key], names, c["frontier_weight"]), s, f_ref,
                                              hard, random_folds)[0]
                c["apgr_random_folds"] = _spread(per_fold)["mean"]
            best_full = max(near, key=lambda c: (num(c["apgr_random_folds"]), rank(c)))
        plain = next((c for c in candidates if c["model"] == "plain"), None)
        plain_wins = plain is not None and num(plain["apgr"]) + self.fallback_margin >= num(best_full["apgr"])
        chosen = plain if plain_wins else best_full
        where = "leave-groups-out" if fold_kind == "groups" else "random-fold"
        if not scorable:
            why = "too few prompts with both outcomes (or no quality gap) to compare settings: defaults used"
        elif chosen is plain:
            why = (f"the full model's {where} APGR ({best_full['apgr']:.3f}: bag of pieces "
                   f"{'on' if best_full['bag_of_pieces'] else 'off'}, C {best_full['C']}, frontier weight "
                   f"{best_full['frontier_weight']}) is not above the plain head's ({plain['apgr']:.3f}, logistic "
                   "regression on the embedding alone)"
                   + (f" by more than {self.fallback_margin}" if self.fallback_margin else "")
                   + ": the simpler model is exported")
        else:
            why = f"the full model's {where} APGR ({chosen['apgr']:.3f}) is " + (
                f"above the plain head's ({plain['apgr']:.3f})"
                + (f" by more than {self.fallback_margin}" if self.fallback_margin else "") if plain is not None
                else f"the best of {len(candidates)} settings (no plain fallback)")
            if len(near) > 1:
                why += (f"; of the {len(near)} settings within {self.tolerance} of the best there, the one with the "
                        f"best random-fold APGR ({chosen['apgr_random_folds']:.3f}) was taken")
        key = (chosen["model"], chosen["bag_of_pieces"], chosen["C"])
        self.frontier_weight_ = float(chosen["frontier_weight"])
        self.search_ = {fw: c["apgr"] for c in full if (c["bag_of_pieces"], c["C"]) == key[1:]
                        for fw in [c["frontier_weight"]] if c["apgr"] is not None}
        chosen_names = names if chosen["model"] == "full" else ["slm"]
        oof_score = self._mix(oofs[key], chosen_names, self.frontier_weight_)

        # ---- calibration (the lower cross-fitted Brier score with "auto") and threshold, on the same folds
        kinds = ["isotonic", "platt"] if self.calibration == "auto" else [self.calibration]
        briers = {kind: self._crossfit_brier(kind, oof_score, ok, w, folds) for kind in kinds} \
            if len(kinds) > 1 else {}
        kind = min(briers, key=briers.get) if briers else kinds[0]
        self.calib_kind_, self.calib_params_ = kind, _calibration_fit(kind, oof_score, ok, w)
        oof_p = self.calibrate(oof_score)
        self.threshold_, reached = self._choose_threshold(oof_p, ok, w)
        self.validation_ = self._validation_summary(oof_score, oof_p, s, f_ref, ok, w, reached, has_frontier)
        self.validation_["folds"] = fold_kind

        # ---- the two estimates: per-fold figures of the chosen settings on group folds and on random folds
        self.estimates_ = {}
        if scorable:
            for label, kind_folds in (("new_task_types", group_folds), ("seen_task_types", random_folds)):
                if kind_folds is folds:
                    oof_k = oofs[key]
                elif kind_folds is random_folds and key in oofs_random:
                    oof_k = oofs_random[key]
                else:
                    oof_k = self._oof(features, labels if chosen["model"] == "full" else {"slm": s}, w, kind_folds,
                                      bag=chosen["bag_of_pieces"], C=chosen["C"], length=chosen["model"] == "full")
                apgrs, cpts = self._fold_metrics(self._mix(oof_k, chosen_names, self.frontier_weight_), s, f_ref,
                                                 hard, kind_folds)
                self.estimates_[label] = {"folds": "leave-groups-out" if label == "new_task_types" else "random",
                                          "apgr": _spread(apgrs), "cpt50": _spread(cpts)}
            self.estimates_["which_applies"] = (
                "seen_task_types: traffic of the task types in the training data (random folds); new_task_types: "
                "traffic of task types the router has not seen (whole groups held out) - use it when the traffic "
                "will change or when the novelty guard flags many prompts. Settings were chosen on "
                f"{'the leave-groups-out' if fold_kind == 'groups' else 'the random'} folds, so that estimate is "
                f"slightly optimistic ({len(candidates)} candidates compared).")
        fold_record = {"kind": fold_kind, "n_folds": len(folds), "groups_source": group_info.pop("source"),
                       **group_info}
        if fold_kind == "groups" and len(np.unique(g)) <= 200:  # which groups each fold held out (all of them)
            fold_record["test_groups"] = [sorted(np.unique(g[test_idx]).tolist()) for _, test_idx in folds]
        self.selection_ = {
            "folds": fold_record,
            "candidates": [{k: (round(v, 4) if isinstance(v, float) and k == "apgr" else v) for k, v in c.items()}
                           for c in candidates],
            "chosen": chosen["model"], "why": why, "bag_of_pieces": chosen["bag_of_pieces"], "C": chosen["C"],
            "frontier_weight": self.frontier_weight_, "calibration": kind,
            "tolerance": self.tolerance if tie_break else 0.0,
            "calibration_brier": {k: round(v, 5) for k, v in briers.items()},
        }

        if chosen["model"] == "full":
            self.heads_ = self._fit_heads(features, labels, w, bag=chosen["bag_of_pieces"], C=chosen["C"])
        else:
            self.heads_ = self._fit_heads(features, {"slm": s}, w, bag=False, C=PLAIN_C, length=False)
        self.novelty_ = None
        if self.novelty_quantile is not None:
            from .novelty import NoveltyGuard

            self.novelty_ = NoveltyGuard(quantile=float(self.novelty_quantile), cv=self.cv,
                                         random_state=self.random_state).fit(
                features.embeddings, groups=g if fold_kind == "groups" else None)
            self.selection_["novelty"] = self.novelty_.summary()
        self.label_names_ = list(self.heads_.names)
        self.has_frontier_ = has_frontier
        self.n_features_in_ = int(features.embeddings.shape[1])
        self.vocab_size_ = int(features.vocab_size)
        self.max_length_ = int(features.max_length)
        self.n_train_ = int(len(s))
        return self

    # ------------------------------------------------------------------ calibration / threshold
    @staticmethod
    def _crossfit_brier(kind: str, score: np.ndarray, ok: np.ndarray, w: np.ndarray,
                        folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
        """Brier score of calibration ``kind`` fitted on the other folds' scores, on each fold's prompts."""
        import numpy as np

        p = np.zeros(len(score))
        for train_idx, test_idx in folds:
            params = _calibration_fit(kind, score[train_idx], ok[train_idx], w[train_idx])
            p[test_idx] = _calibration_apply(kind, params, score[test_idx])
        return float(np.average((p - ok) ** 2, weights=w))

    def calibrate(self, score: Any) -> np.ndarray:
        """Map raw scores to ``p_slm`` (float32)."""
        return _calibration_apply(self.calib_kind_, self.calib_params_, score)

    def _choose_threshold(self, p: np.ndarray, ok: np.ndarray, w: np.ndarray) -> tuple[float, bool]:
        import numpy as np

        order = np.argsort(-p, kind="stable")
        ps, oks, ws = p[order], ok[order], w[order]
        ends = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])  # last index of each tie group
        kept_w = np.cumsum(ws)[ends]
        share = kept_w / ws.sum()
        if self.target == "share":
            i = int(np.searchsorted(share, self.target_value - 1e-12))
            i = min(i, len(ends) - 1)
            return float(ps[ends[i]]), True
        success = np.cumsum(ws * oks)[ends] / kept_w
        min_kept = max(20.0, 0.01 * ws.sum())
        good = np.flatnonzero((success >= self.target_value) & (kept_w >= min_kept))
        if not len(good):
            logger.warning("no threshold reaches %.1f%% success on the SLM; routing everything to the frontier",
                           100 * self.target_value)
            return 1.0 + 1e-6, False
        return float(ps[ends[good[-1]]]), True

    def _validation_summary(self, score, p, s, f_ref, ok, w, reached, has_frontier) -> dict[str, Any]:
        import numpy as np

        from .metrics import apgr, cpt, routing_curve

        on_slm = p >= self.threshold_
        out: dict[str, Any] = {
            "frontier_weight": self.frontier_weight_,
            "frontier_weight_search": {str(k): round(v, 4) for k, v in self.search_.items()},
            "target": self.target, "target_value": self.target_value, "target_reached": reached,
            "slm_share": float(w[on_slm].sum() / w.sum()),
            "success_on_slm": float((w * ok)[on_slm].sum() / max(w[on_slm].sum(), 1e-12)) if on_slm.any() else None,
            "brier": float(np.average((p - ok) ** 2, weights=w)),
            "n": int(len(s)),
        }
        hard = np.isin(s, (0.0, 1.0))
        if hard.sum() >= MIN_LABELLED and abs(f_ref[hard].mean() - s[hard].mean()) > 1e-9:
            curve = routing_curve(score[hard], s[hard], f_ref[hard])
            out.update(apgr=apgr(curve), cpt50=cpt(curve, 0.5), cpt80=cpt(curve, 0.8))
        return out

    # ------------------------------------------------------------------ prediction
    def check_fitted(self) -> None:
        if not hasattr(self, "heads_"):
            raise SlmprofileError("this router is not fitted yet: call fit() first (or SlmRouter.load(path))")

    def score(self, features: RouterFeatures) -> np.ndarray:
        """Raw routing score per prompt (float32; higher = keep on the SLM)."""
        self.check_fitted()
        return self._mix(self._probs(self.heads_, features), self.heads_.names, self.frontier_weight_)

    def head_probabilities(self, features: RouterFeatures) -> dict[str, np.ndarray]:
        """``P(<label> correct)`` per head (``slm``, and ``frontier`` when trained with it)."""
        self.check_fitted()
        probs = self._probs(self.heads_, features)
        return {name: probs[:, i] for i, name in enumerate(self.heads_.names)}

    def predict_proba(self, features: RouterFeatures) -> np.ndarray:
        """Calibrated ``p_slm`` per prompt (float32)."""
        return self.calibrate(self.score(features))

    def novelty(self, features: RouterFeatures) -> np.ndarray | None:
        """Distance of each prompt to the training traffic (see :class:`~slmprofile.router.novelty.NoveltyGuard`),
        or None when the router has no guard."""
        self.check_fitted()
        guard = getattr(self, "novelty_", None)
        return None if guard is None else guard.novelty(features.embeddings)

    def predict(self, features: RouterFeatures, *, guard: bool = True) -> np.ndarray:
        """True where a prompt goes to the SLM: ``p_slm >= threshold_`` and, with ``guard`` and a fitted novelty
        guard, not farther from the training traffic than its threshold."""
        keep = self.predict_proba(features) >= self.threshold_
        nov = self.novelty(features) if guard else None
        return keep if nov is None else keep & (nov <= self.novelty_.threshold_)

    # ------------------------------------------------------------------ persistence (no pickles)
    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("C", "bag_of_pieces", "bag_scale", "min_piece_count", "frontier_weight",
                                              "calibration", "cv", "group_cv", "fallback", "fallback_margin", "tolerance", "target",
                                              "target_value", "novelty_quantile", "random_state")}

    def save(self, path: str | Path) -> Path:
        """Write the fitted head as ``.npz`` arrays plus JSON metadata (no pickles)."""
        import numpy as np

        self.check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format_version": HEAD_FORMAT_VERSION, "params": self.get_params(), "names": self.heads_.names,
                "frontier_weight_": self.frontier_weight_, "calib_kind_": self.calib_kind_,
                "threshold_": self.threshold_, "validation_": self.validation_, "has_frontier_": self.has_frontier_,
                "n_features_in_": self.n_features_in_, "vocab_size_": self.vocab_size_,
                "max_length_": self.max_length_, "n_train_": self.n_train_,
                "n_skipped_unlabelled_": self.n_skipped_unlabelled_,
                "selection_": getattr(self, "selection_", {}), "estimates_": getattr(self, "estimates_", {}),
                "novelty_": None if getattr(self, "novelty_", None) is None else self.novelty_.summary()}
        arrays = {"emb_coef": self.heads_.emb_coef, "len_coef": self.heads_.len_coef,
                  "intercept": self.heads_.intercept,
                  "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        if self.heads_.bow_coef is not None:
            arrays["bow_coef"] = self.heads_.bow_coef
        if meta["novelty_"] is not None:
            arrays["novelty_centroids"] = self.novelty_.centroids_
        for key, value in self.calib_params_.items():
            arrays[f"calib_{key}"] = np.asarray(value, dtype=np.float32)
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SlmRouter:
        """Read a head written by :meth:`save` (``allow_pickle=False``)."""
        import numpy as np

        path = Path(path)
        if not path.is_file():
            raise SlmprofileError(f"{path}: router head not found (write one with `slmprofile router train`)")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        try:
            meta = json.loads(arrays.pop("meta").tobytes().decode())
        except (KeyError, ValueError) as exc:
            raise SlmprofileError(f"{path}: not a router head file (missing or bad 'meta')") from exc
        if meta.get("format_version", 0) > HEAD_FORMAT_VERSION:
            raise SlmprofileError(f"{path}: written by a newer slmprofile (format {meta['format_version']})")
        params = dict(meta["params"])
        params.setdefault("novelty_quantile", None)  # heads written before the novelty guard have none
        router = cls(**params)
        router.heads_ = Heads(names=meta["names"], emb_coef=arrays["emb_coef"], len_coef=arrays["len_coef"],
                              bow_coef=arrays.get("bow_coef"), intercept=arrays["intercept"])
        router.calib_params_ = {k.removeprefix("calib_"): (v if v.ndim else v[()]) for k, v in arrays.items()
                                if k.startswith("calib_")}
        for key in ("frontier_weight_", "calib_kind_", "threshold_", "validation_", "has_frontier_", "n_features_in_",
                    "vocab_size_", "max_length_", "n_train_", "n_skipped_unlabelled_"):
            setattr(router, key, meta[key])
        router.selection_ = meta.get("selection_", {})  # heads written before model selection have none
        router.estimates_ = meta.get("estimates_", {})
        router.novelty_ = None
        if meta.get("novelty_") and "novelty_centroids" in arrays:
            from .novelty import NoveltyGuard

            router.novelty_ = NoveltyGuard.from_arrays(arrays["novelty_centroids"], meta["novelty_"])
        router.label_names_ = meta["names"]
        router.search_ = {}
        return router


@dataclass
class TrainResult:
    """What :func:`train_router` returns: the fitted router, its held-out evaluation and a data summary."""

    router: SlmRouter
    evaluation: Any  # polars DataFrame, one row per router / baseline
    scores: dict[str, Any] = field(repr=False)  # name -> metrics.RouterScore (curves for plots)
    data: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    finetune: FinetuneResult | None = None  # the fine-tuned encoder, when one was trained
    encoder: dict[str, Any] = field(default_factory=dict)  # kind (transformer / static) and identity of the encoder

    @property
    def selection(self) -> dict[str, Any]:
        """How the exported router was chosen: folds, candidates, ``chosen`` (``full`` or ``plain``) and ``why``."""
        return getattr(self.router, "selection_", {})

    @property
    def estimates(self) -> dict[str, Any]:
        """Expected APGR / CPT(50 %) of the router: ``seen_task_types`` (random folds), ``new_task_types``
        (leave-groups-out folds), each ``{"apgr": {"mean", "sd", "n_folds"}, "cpt50": {...}}``, and
        ``which_applies``."""
        return getattr(self.router, "estimates_", {})

    def describe(self) -> list[str]:
        """Plain-language lines: which model was kept and why, what to expect on familiar and on new task types,
        and what the novelty guard does."""
        lines = []
        if self.selection.get("why"):
            lines.append(f"model: {self.selection.get('chosen')} - {self.selection['why']}")
        names = {"seen_task_types": "task types like the training data",
                 "new_task_types": "task types absent from the training data"}
        for key, label in names.items():
            est = self.estimates.get(key) or {}
            a = est.get("apgr") or {}
            if a.get("mean") is not None:
                lines.append(f"expected APGR on {label}: {a['mean']:.3f} (sd {a.get('sd') or 0:.3f} over "
                             f"{a.get('n_folds')} {est.get('folds')} folds)")
        guard = getattr(self.router, "novelty_", None)
        if guard is not None:
            new = "" if guard.new_flagged_ is None else f", {guard.new_flagged_:.0%} of prompts of held-out task types"
            lines.append(f"novelty guard: prompts farther than {guard.threshold_:.3f} from the training traffic go to "
                         f"the frontier model (flags {guard.seen_flagged_:.1%} of familiar held-out prompts{new})")
        return lines

    def metrics(self) -> dict[str, Any]:
        """The router's held-out metrics and the baselines', as plain JSON-ready values."""
        import math

        out = {}
        for row in self.evaluation.iter_rows(named=True):
            out[row["router"]] = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                  for k, v in row.items() if k != "router" and v is not None}
        return out

    def plot(self, path: str | Path) -> Path:
        """Cost-quality curves of the router and the baselines (PNG)."""
        from .metrics import plot_curves

        plot_curves(self.scores, path)
        return Path(path)

    def write(self, directory: str | Path) -> dict[str, Path]:
        """``head.npz``, ``training.json``, ``evaluation.csv`` and ``cost_quality.png`` under ``directory`` (and
        the fine-tuned encoder as ``encoder/``, or the static embedding as ``static/``, which the export reads)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = {"head": self.router.save(directory / RunDir.ROUTER_HEAD)}
        summary = {"data": self.data, "split": self.split, "metrics": self.metrics(),
                   "validation": self.router.validation_, "params": self.router.get_params(),
                   "chosen": self.selection.get("chosen"), "why": self.selection.get("why"),
                   "selection": self.selection, "estimates": self.estimates,
                   "novelty": None if getattr(self.router, "novelty_", None) is None else self.router.novelty_.summary()}
        if self.finetune is not None:
            from .finetune import ENCODER_DIR

            target = directory / ENCODER_DIR
            if self.finetune.path.resolve() != target.resolve():
                import shutil

                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(self.finetune.path, target)
            files["encoder"] = target
            summary["finetune"] = {**self.finetune.summary(), "path": ENCODER_DIR}
        if self.encoder:
            summary["encoder"] = {k: v for k, v in self.encoder.items() if k != "folder"}
        if self.encoder.get("kind") == "static":  # the table travels with the head: the export reads it there
            import shutil

            from ..static_embed import STATIC_DIR

            source, target = Path(self.encoder["folder"]), directory / STATIC_DIR
            if source.resolve() != target.resolve():
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(source, target)
            files["static"] = target
            summary["encoder"]["path"] = STATIC_DIR
        (directory / RunDir.ROUTER_TRAINING).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        files["training"] = directory / RunDir.ROUTER_TRAINING
        self.evaluation.write_csv(directory / RunDir.ROUTER_EVALUATION)
        files["evaluation"] = directory / RunDir.ROUTER_EVALUATION
        if self.scores:
            files["plot"] = self.plot(directory / RunDir.ROUTER_CURVE)
        return files


def data_summary(texts: list[str], s: Any, f: Any, timestamps: Any = None, groups: Any = None) -> dict[str, Any]:
    """Counts, label rates, date range and a content hash of the training data (for ``router.json``)."""
    import hashlib

    import numpy as np

    s_arr = _as_labels(s, "slm_correct", len(texts))
    f_arr = _as_labels(f, "frontier_correct", len(texts))
    digest = hashlib.blake2b(digest_size=16)
    for text, a, b in zip(texts, s_arr.tolist(), f_arr.tolist()):
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(f"|{a}|{b}\n".encode())
    out: dict[str, Any] = {
        "prompts": len(texts), "distinct_prompts": len(set(texts)),
        "slm_labelled": int(np.isfinite(s_arr).sum()), "frontier_labelled": int(np.isfinite(f_arr).sum()),
        "slm_success_rate": float(np.nanmean(s_arr)) if np.isfinite(s_arr).any() else None,
        "frontier_success_rate": float(np.nanmean(f_arr)) if np.isfinite(f_arr).any() else None,
        "hash": digest.hexdigest(),
    }
    if groups is not None:
        out["groups"] = int(len(set(map(str, groups))))
    if timestamps is not None:
        stamps = [t for t in timestamps if t is not None]
        if stamps:
            out["date_range"] = [str(min(stamps)), str(max(stamps))]
    return out


def train_router(texts: list[str], slm_correct: Any, frontier_correct: Any = None, *,
                 embeddings: np.ndarray | None = None, embedder: Any = None, features: RouterFeatures | None = None,
                 groups: Any = None, templates: Any = None, sample_weight: Any = None, timestamps: Any = None,
                 test_size: float = 0.2, router: SlmRouter | None = None, knn_k: int = 50, refit: bool = True, random_state: int = 0,
                 finetune: FinetuneSettings | bool | None = None, finetune_dir: str | Path | None = None,
                 progress: bool = False, encoder: Literal["minilm", "static"] = "minilm") -> TrainResult:
    """Train a router and evaluate it on held-out prompts against baselines.

    ``texts``: the prompts; ``slm_correct`` / ``frontier_correct``: outcomes (see :meth:`SlmRouter.fit`);
    ``embeddings``: precomputed (same encoder, ``long_text="truncate"``) or computed with ``embedder``;
    ``groups``: task type / subject: the test split then holds out whole groups, so no group leaks, and the router
    makes its choices on folds that keep them whole; without groups they are derived (:func:`derive_groups`: from
    ``templates``, template ids per prompt, when there are enough distinct ones, else a k-means of the
    embeddings) and used the same way (``split["groups_source"]`` says which);
    ``test_size``: share of prompts (or groups) held out for the evaluation (0 skips it);
    ``router``: the estimator and its settings (default :class:`SlmRouter`); ``refit``: after the evaluation, fit
    the returned router on all prompts (the reported metrics stay those of the held-out split).
    ``finetune``: ``True`` or :class:`~slmprofile.router.finetune.FinetuneSettings` fine-tunes the encoder on the
    training prompts first (never the held-out ones; :mod:`slmprofile.router.finetune`) into ``finetune_dir``
    (default: a temporary directory; :meth:`TrainResult.write` copies it to ``encoder/``); the features, the kNN
    baseline included, then come from the fine-tuned encoder. After the evaluation the heads are refit on all
    prompts, the encoder is not.
    ``encoder``: ``minilm`` (the transformer: the bundled MiniLM, or ``embedder``'s model) or ``static`` (a static
    embedding distilled from it, :class:`~slmprofile.static_embed.StaticEmbedder`: ``embedder`` when it is one, else
    the default one, distilled once and cached); :meth:`TrainResult.write` then copies the table to ``static/``
    and the export builds the static graph from it. ``embeddings`` and ``finetune`` are for the transformer only.

    The evaluation (on held-out prompts with both outcomes; the frontier counts as always right when its outcomes
    are unknown) covers the router, a kNN router on the same embeddings (``knn_k`` neighbours), random routing,
    the oracle, and the always-SLM / always-frontier points.
    """
    import numpy as np

    from .baselines import knn_scores
    from .features import build_features
    from .metrics import evaluate_routers

    texts = ["" if t is None else str(t) for t in texts]
    n = len(texts)
    s = _as_labels(slm_correct, "slm_correct", n)
    f = _as_labels(frontier_correct, "frontier_correct", n)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    g = None if groups is None else np.asarray([str(x) for x in groups])
    templates = None if templates is None else [None if t is None else str(t) for t in templates]
    estimator = router or SlmRouter(random_state=random_state)
    from ..static_embed import StaticEmbedder

    if isinstance(embedder, StaticEmbedder):
        encoder = "static"
    if encoder not in ("minilm", "static"):
        raise ValueError(f"The 'encoder' parameter must be 'minilm' or 'static'; got {encoder!r} instead.")
    encoder_info: dict[str, Any] = {"kind": "transformer"}
    if encoder == "static":
        if finetune:
            raise ValueError("finetune is for the transformer encoder; a static encoder is distilled, not tuned")
        if embeddings is not None:
            raise ValueError("precomputed embeddings come from the transformer encoder; leave them out with "
                             "encoder='static' (static vectors take seconds to compute)")
        if not isinstance(embedder, StaticEmbedder):
            embedder = StaticEmbedder(progress=progress or None)
        encoder_info = embedder.info()
    if not finetune and features is None:
        features = build_features(texts, embeddings=embeddings, embedder=embedder)
    split: dict[str, Any] = {"test_size": test_size, "kind": "none"}
    groups_source = "given" if g is not None and len(np.unique(g)) >= 2 else None
    base = features.embeddings if features is not None else embeddings
    if groups_source is None and base is not None:  # derived groups, for the split and the router's folds alike
        g, info = derive_groups(base, templates, random_state=random_state)
        groups_source = info["source"]
        split["derived_groups"] = info
    split["groups_source"] = groups_source or "none"
    rng = np.random.default_rng(random_state)
    test = np.zeros(n, dtype=bool)
    if test_size > 0:
        if g is not None and len(np.unique(g)) >= 4:
            uniq = np.unique(g)
            held = rng.choice(uniq, size=max(1, round(test_size * len(uniq))), replace=False)
            test = np.isin(g, held)
            split.update(kind="groups", held_out_groups=sorted(held.tolist()))
        else:
            test[rng.permutation(n)[: max(1, round(test_size * n))]] = True
            split["kind"] = "random"
    finetuned = None
    if finetune:
        import tempfile

        from ..embed import Embedder
        from .finetune import FinetuneSettings, finetune_encoder, finetune_target

        settings = finetune if isinstance(finetune, FinetuneSettings) else FinetuneSettings(random_state=random_state)
        train_idx = np.flatnonzero(~test)
        target = finetune_target(s, f)
        out_dir = Path(finetune_dir) if finetune_dir else Path(tempfile.mkdtemp(prefix="slmprofile-encoder-"))
        finetuned = finetune_encoder([texts[i] for i in train_idx], target[train_idx], out_dir,
                                     model=getattr(embedder, "model", None), sample_weight=w[train_idx],
                                     settings=settings, progress=progress)
        tuned = Embedder(finetuned.path, device="cpu", cache_dir=False, progress=progress)
        features = build_features(texts, embedder=tuned, model_path=finetuned.path)
    split["test_prompts"] = int(test.sum())
    evaluation = None
    scores: dict[str, Any] = {}
    if test.any():
        train = ~test
        estimator.fit(features.subset(train), s[train], f[train], sample_weight=w[train],
                      groups=None if g is None else g[train], groups_source=groups_source,
                      templates=None if templates is None or g is not None else [templates[i] for i in
                                                                                 np.flatnonzero(train)],
                      progress=progress)
        f_ref = f if estimator.has_frontier_ else np.ones(n)
        judged = test & np.isin(s, (0.0, 1.0)) & np.isfinite(f_ref)
        if judged.sum() >= 10 and abs(np.nanmean(f_ref[judged]) - np.nanmean(s[judged])) > 1e-9:
            te = features.subset(judged)
            labelled_train = train & np.isfinite(s) & (w > 0)
            knn_target = np.maximum(s, 1 - f_ref)[labelled_train]
            candidates = {"router": estimator.score(te),
                          f"knn{knn_k}": knn_scores(features.embeddings[labelled_train], knn_target,
                                                    te.embeddings, k=knn_k)}
            evaluation, scores = evaluate_routers(candidates, s[judged], f_ref[judged])
            split["evaluated_prompts"] = int(judged.sum())
        else:
            logger.warning("too few held-out prompts with outcomes (or no quality gap) to evaluate the router")
    if refit or not test.any():
        estimator.fit(features, s, f, sample_weight=w, groups=g, groups_source=groups_source,
                      templates=templates if g is None else None, progress=progress)
    if evaluation is None:
        import polars as pl

        evaluation = pl.DataFrame({"router": ["router"], "apgr": [estimator.validation_.get("apgr", float("nan"))]})
    data = data_summary(texts, s, f, timestamps=timestamps, groups=groups)
    return TrainResult(router=estimator, evaluation=evaluation, scores=scores, data=data, split=split,
                       finetune=finetuned, encoder=encoder_info)
