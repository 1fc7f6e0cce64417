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
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .features import RouterFeatures
    from .finetune import FinetuneResult, FinetuneSettings

logger = logging.getLogger(__name__)

FRONTIER_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_LABELLED = 30
HEAD_FORMAT_VERSION = 1


def _param_error(name: str, cls: str, must: str, got: Any) -> ValueError:
    return ValueError(f"The {name!r} parameter of {cls} must be {must}; got {got!r} instead.")


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
        C: inverse L2 strength of the logistic heads (larger = less regularised; 0.3-3 is a sensible range).
        bag_of_pieces: add the bag-of-word-pieces features (more signal on prompts of seen kinds; a larger graph).
        bag_scale: scale of those features against the embedding (smaller = their weights are regularised more;
            0.25-1).
        min_piece_count: word pieces seen fewer times than this in training get no weight.
        frontier_weight: weight of ``P(frontier correct)`` in the score (0-1), or ``"auto"`` (cross-validated
            APGR over 0, 0.25, ..., 1). Ignored without frontier outcomes.
        calibration: ``isotonic`` (centred isotonic, piecewise linear) or ``platt`` (logistic on the score).
        cv: folds for out-of-fold scores (calibration, threshold, ``frontier_weight``).
        group_cv: keep the ``groups`` given to :meth:`fit` whole in the folds. Off by default: out-of-fold scores
            then look like traffic of the task types the router was trained on (what it will serve), so the
            calibration and the threshold match deployment; on, they are those of unseen task types (conservative:
            lower ``p_slm``, a quality target met with fewer SLM calls).
        target: ``quality`` (keep on the SLM only what reaches ``target_value`` success) or ``share`` (keep
            ``target_value`` of calls on the SLM).
        target_value: the quality (0-1) or SLM share (0-1) aimed at.
        random_state: seed of the folds.

    Fitted attributes: ``heads_``, ``frontier_weight_``, ``calib_kind_``, ``calib_params_``, ``threshold_``,
    ``validation_`` (out-of-fold metrics), ``n_features_in_``.
    """

    def __init__(self, *, C: float = 1.0, bag_of_pieces: bool = True, bag_scale: float = 0.5,
                 min_piece_count: int = 2, frontier_weight: float | Literal["auto"] = "auto",
                 calibration: Literal["isotonic", "platt"] = "isotonic",
                 cv: int = 5, group_cv: bool = False, target: Literal["quality", "share"] = "quality",
                 target_value: float = 0.95, random_state: int = 0) -> None:
        self.C = C
        self.bag_of_pieces = bag_of_pieces
        self.bag_scale = bag_scale
        self.min_piece_count = min_piece_count
        self.frontier_weight = frontier_weight
        self.calibration = calibration
        self.cv = cv
        self.group_cv = group_cv
        self.target = target
        self.target_value = target_value
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _validate_params(self) -> None:
        name = type(self).__name__
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise _param_error("C", name, "a float > 0", self.C)
        if self.frontier_weight != "auto" and not (isinstance(self.frontier_weight, (int, float))
                                                   and 0 <= self.frontier_weight <= 1):
            raise _param_error("frontier_weight", name, "'auto' or a float in [0, 1]", self.frontier_weight)
        if self.calibration not in ("isotonic", "platt"):
            raise _param_error("calibration", name, "'isotonic' or 'platt'", self.calibration)
        if not (isinstance(self.cv, int) and self.cv >= 2):
            raise _param_error("cv", name, "an int >= 2", self.cv)
        if self.target not in ("quality", "share"):
            raise _param_error("target", name, "'quality' or 'share'", self.target)
        if not (isinstance(self.target_value, (int, float)) and 0 < self.target_value <= 1):
            raise _param_error("target_value", name, "a float in (0, 1]", self.target_value)
        if not (isinstance(self.bag_scale, (int, float)) and self.bag_scale > 0):
            raise _param_error("bag_scale", name, "a float > 0", self.bag_scale)
        if not (isinstance(self.min_piece_count, int) and self.min_piece_count >= 1):
            raise _param_error("min_piece_count", name, "an int >= 1", self.min_piece_count)

    # ------------------------------------------------------------------ fitting
    def _design(self, features: RouterFeatures, columns: np.ndarray | None) -> Any:
        import numpy as np
        from scipy.sparse import csr_matrix, hstack

        dense = np.hstack([features.embeddings, features.length_feature()]).astype(np.float64)
        if columns is None:
            return dense
        return hstack([csr_matrix(dense), self.bag_scale * features.bag_of_pieces()[:, columns]]).tocsr()

    def _fit_heads(self, features: RouterFeatures, labels: dict[str, np.ndarray], weight: np.ndarray) -> Heads:
        """One logistic head per label (soft labels become two weighted rows)."""
        import numpy as np
        from scipy.sparse import vstack
        from sklearn.linear_model import LogisticRegression

        columns = None
        if self.bag_of_pieces:
            counts = np.bincount(features.input_ids[features.attention_mask.astype(bool)].ravel(),
                                 minlength=features.vocab_size)
            columns = np.flatnonzero(counts >= self.min_piece_count)
        design = self._design(features, columns)
        dim = features.embeddings.shape[1]
        names, emb, length, bow, bias = [], [], [], [], []
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
            model = LogisticRegression(C=self.C, max_iter=5000, tol=1e-5)
            model.fit(X, target, sample_weight=w_all / w_all.mean())
            coef = model.coef_[0]
            names.append(name)
            emb.append(coef[:dim])
            length.append(coef[dim:dim + 1])
            if columns is not None:
                full = np.zeros(features.vocab_size)
                full[columns] = coef[dim + 1:] * self.bag_scale  # weights on the unscaled features
                bow.append(full)
            bias.append(model.intercept_[0])
        return Heads(names=names, emb_coef=np.array(emb, dtype=np.float32), len_coef=np.array(length, np.float32),
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

    def fit(self, features: RouterFeatures, slm_correct: Any, frontier_correct: Any = None, *,
            sample_weight: Any = None, groups: Any = None, progress: bool = False) -> SlmRouter:
        """Fit on prompts with known outcomes.

        ``slm_correct``: per prompt, 1/True when the SLM's answer was acceptable, a rate in [0, 1] for weak
        labels, None/NaN when unknown (those rows are skipped). ``frontier_correct``: the same for the frontier
        model, or None (then the frontier is the reference: taken as always right). ``sample_weight``: e.g. lower
        for weak labels. ``groups``: task type / subject per prompt (folds keep them whole with ``group_cv``).
        """
        import numpy as np

        from .metrics import apgr, routing_curve

        self._validate_params()
        n = len(features)
        s = _as_labels(slm_correct, "slm_correct", n)
        f = _as_labels(frontier_correct, "frontier_correct", n)
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if len(w) != n or not np.isfinite(w).all() or (w < 0).any():
            raise SlmprofileError("sample_weight must be finite, >= 0 and one per prompt")
        keep = np.isfinite(s) & (w > 0)
        if keep.sum() < MIN_LABELLED:
            raise SlmprofileError(f"only {int(keep.sum())} prompts have a known SLM outcome; a router needs at "
                                  f"least {MIN_LABELLED}")
        self.n_skipped_unlabelled_ = int(n - keep.sum())
        features, s, f, w = features.subset(keep), s[keep], f[keep], w[keep]
        g = None if groups is None else np.asarray(groups)[keep]
        has_frontier = bool(np.isfinite(f).sum() >= MIN_LABELLED and len(np.unique(f[np.isfinite(f)])) > 1)
        labels = {"slm": s} if not has_frontier else {"slm": s, "frontier": f}
        f_ref = np.where(np.isfinite(f), f, 1.0) if has_frontier else np.ones_like(s)  # frontier as the reference
        ok = np.maximum(s, 1.0 - f_ref)  # nothing lost on the SLM: it was right, or the frontier was wrong too

        folds = self._folds(len(s), (s >= 0.5).astype(int), g if self.group_cv else None)
        oof = np.zeros((len(s), len(labels)), dtype=np.float32)
        iterator: Any = folds
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(folds, desc="router folds", unit="fold")
        for train_idx, test_idx in iterator:
            heads = self._fit_heads(features.subset(train_idx), {k: v[train_idx] for k, v in labels.items()},
                                    w[train_idx])
            oof[test_idx] = self._probs(heads, features.subset(test_idx))
        names = list(labels)

        # frontier weight by out-of-fold APGR on prompts with both outcomes
        both = np.isfinite(f) & np.isin(s, (0.0, 1.0)) if has_frontier else np.zeros(len(s), bool)
        weights = [0.0]
        if has_frontier:
            weights = list(FRONTIER_WEIGHTS) if self.frontier_weight == "auto" else [float(self.frontier_weight)]
        search: dict[float, float] = {}
        if has_frontier and both.sum() >= MIN_LABELLED and abs(f[both].mean() - s[both].mean()) > 1e-9:
            for fw in weights:
                search[fw] = apgr(routing_curve(self._mix(oof[both], names, fw), s[both], f[both]))
            best = max(search, key=lambda k: (round(search[k], 4), -k))
        else:
            best = weights[0] if self.frontier_weight != "auto" else (0.5 if has_frontier else 0.0)
        self.frontier_weight_ = float(best)
        self.search_ = search
        oof_score = self._mix(oof, names, self.frontier_weight_)

        self._fit_calibration(oof_score, ok, w)
        oof_p = self.calibrate(oof_score)
        self.threshold_, reached = self._choose_threshold(oof_p, ok, w)
        self.validation_ = self._validation_summary(oof_score, oof_p, s, f_ref, ok, w, reached, has_frontier)
        self.heads_ = self._fit_heads(features, labels, w)
        self.label_names_ = names
        self.has_frontier_ = has_frontier
        self.n_features_in_ = int(features.embeddings.shape[1])
        self.vocab_size_ = int(features.vocab_size)
        self.max_length_ = int(features.max_length)
        self.n_train_ = int(len(s))
        return self

    # ------------------------------------------------------------------ calibration / threshold
    def _fit_calibration(self, score: np.ndarray, ok: np.ndarray, w: np.ndarray) -> None:
        import numpy as np

        if self.calibration == "isotonic":
            xs, ys = centered_isotonic(score, ok, w)
            self.calib_kind_ = "isotonic"
            self.calib_params_ = {"x": xs.astype(np.float32), "y": ys.astype(np.float32)}
        else:
            from sklearn.linear_model import LogisticRegression

            hard = (ok >= 0.5).astype(int)
            model = LogisticRegression(C=1e4, max_iter=2000).fit(score[:, None], hard, sample_weight=w)
            self.calib_kind_ = "platt"
            self.calib_params_ = {"a": np.float32(model.coef_[0, 0]), "b": np.float32(model.intercept_[0])}

    def calibrate(self, score: Any) -> np.ndarray:
        """Map raw scores to ``p_slm`` (float32)."""
        import numpy as np

        if self.calib_kind_ == "isotonic":
            return interp_calibration(score, self.calib_params_["x"], self.calib_params_["y"])
        a, b = self.calib_params_["a"], self.calib_params_["b"]
        return (1.0 / (1.0 + np.exp(-(a * np.asarray(score, np.float32) + b)))).astype(np.float32)

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
    def _check_fitted(self) -> None:
        if not hasattr(self, "heads_"):
            raise SlmprofileError("this router is not fitted yet: call fit() first (or SlmRouter.load(path))")

    def score(self, features: RouterFeatures) -> np.ndarray:
        """Raw routing score per prompt (float32; higher = keep on the SLM)."""
        self._check_fitted()
        return self._mix(self._probs(self.heads_, features), self.heads_.names, self.frontier_weight_)

    def head_probabilities(self, features: RouterFeatures) -> dict[str, np.ndarray]:
        """``P(<label> correct)`` per head (``slm``, and ``frontier`` when trained with it)."""
        self._check_fitted()
        probs = self._probs(self.heads_, features)
        return {name: probs[:, i] for i, name in enumerate(self.heads_.names)}

    def predict_proba(self, features: RouterFeatures) -> np.ndarray:
        """Calibrated ``p_slm`` per prompt (float32)."""
        return self.calibrate(self.score(features))

    def predict(self, features: RouterFeatures) -> np.ndarray:
        """True where a prompt goes to the SLM (``p_slm >= threshold_``)."""
        return self.predict_proba(features) >= self.threshold_

    # ------------------------------------------------------------------ persistence (no pickles)
    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("C", "bag_of_pieces", "bag_scale", "min_piece_count", "frontier_weight",
                                              "calibration", "cv", "group_cv", "target", "target_value",
                                              "random_state")}

    def save(self, path: str | Path) -> Path:
        """Write the fitted head as ``.npz`` arrays plus JSON metadata (no pickles)."""
        import numpy as np

        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format_version": HEAD_FORMAT_VERSION, "params": self.get_params(), "names": self.heads_.names,
                "frontier_weight_": self.frontier_weight_, "calib_kind_": self.calib_kind_,
                "threshold_": self.threshold_, "validation_": self.validation_, "has_frontier_": self.has_frontier_,
                "n_features_in_": self.n_features_in_, "vocab_size_": self.vocab_size_,
                "max_length_": self.max_length_, "n_train_": self.n_train_,
                "n_skipped_unlabelled_": self.n_skipped_unlabelled_}
        arrays = {"emb_coef": self.heads_.emb_coef, "len_coef": self.heads_.len_coef,
                  "intercept": self.heads_.intercept,
                  "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        if self.heads_.bow_coef is not None:
            arrays["bow_coef"] = self.heads_.bow_coef
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
        router = cls(**meta["params"])
        router.heads_ = Heads(names=meta["names"], emb_coef=arrays["emb_coef"], len_coef=arrays["len_coef"],
                              bow_coef=arrays.get("bow_coef"), intercept=arrays["intercept"])
        router.calib_params_ = {k.removeprefix("calib_"): (v if v.ndim else v[()]) for k, v in arrays.items()
                                if k.startswith("calib_")}
        for key in ("frontier_weight_", "calib_kind_", "threshold_", "validation_", "has_frontier_", "n_features_in_",
                    "vocab_size_", "max_length_", "n_train_", "n_skipped_unlabelled_"):
            setattr(router, key, meta[key])
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
        the fine-tuned encoder as ``encoder/``, which the export reads)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = {"head": self.router.save(directory / "head.npz")}
        summary = {"data": self.data, "split": self.split, "metrics": self.metrics(),
                   "validation": self.router.validation_, "params": self.router.get_params()}
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
        (directory / "training.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        files["training"] = directory / "training.json"
        self.evaluation.write_csv(directory / "evaluation.csv")
        files["evaluation"] = directory / "evaluation.csv"
        if self.scores:
            files["plot"] = self.plot(directory / "cost_quality.png")
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
                 groups: Any = None, sample_weight: Any = None, timestamps: Any = None, test_size: float = 0.2,
                 router: SlmRouter | None = None, knn_k: int = 50, refit: bool = True, random_state: int = 0,
                 finetune: FinetuneSettings | bool | None = None, finetune_dir: str | Path | None = None,
                 progress: bool = False) -> TrainResult:
    """Train a router and evaluate it on held-out prompts against baselines.

    ``texts``: the prompts; ``slm_correct`` / ``frontier_correct``: outcomes (see :meth:`SlmRouter.fit`);
    ``embeddings``: precomputed (same encoder, ``long_text="truncate"``) or computed with ``embedder``;
    ``groups``: task type / subject: the test split then holds out whole groups, so no group leaks;
    ``test_size``: share of prompts (or groups) held out for the evaluation (0 skips it);
    ``router``: the estimator and its settings (default :class:`SlmRouter`); ``refit``: after the evaluation, fit
    the returned router on all prompts (the reported metrics stay those of the held-out split).
    ``finetune``: ``True`` or :class:`~slmprofile.router.finetune.FinetuneSettings` fine-tunes the encoder on the
    training prompts first (never the held-out ones; :mod:`slmprofile.router.finetune`) into ``finetune_dir``
    (default: a temporary directory; :meth:`TrainResult.write` copies it to ``encoder/``); the features, the kNN
    baseline included, then come from the fine-tuned encoder. After the evaluation the heads are refit on all
    prompts, the encoder is not.

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
    estimator = router or SlmRouter(random_state=random_state)
    rng = np.random.default_rng(random_state)
    test = np.zeros(n, dtype=bool)
    split: dict[str, Any] = {"test_size": test_size, "kind": "none"}
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
    elif features is None:
        features = build_features(texts, embeddings=embeddings, embedder=embedder)
    split["test_prompts"] = int(test.sum())
    evaluation = None
    scores: dict[str, Any] = {}
    if test.any():
        train = ~test
        estimator.fit(features.subset(train), s[train], f[train], sample_weight=w[train],
                      groups=None if g is None else g[train], progress=progress)
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
        estimator.fit(features, s, f, sample_weight=w, groups=g, progress=progress)
    if evaluation is None:
        import polars as pl

        evaluation = pl.DataFrame({"router": ["router"], "apgr": [estimator.validation_.get("apgr", float("nan"))]})
    data = data_summary(texts, s, f, timestamps=timestamps, groups=g)
    return TrainResult(router=estimator, evaluation=evaluation, scores=scores, data=data, split=split,
                       finetune=finetuned)
