"""The router estimator, :class:`SlmRouter`: linear heads over frozen-encoder features, cross-fitted calibration,
a threshold for a target.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import SlmprofileError
from ..params import Interval, Options, check_params
from .calibration import calibration_apply, calibration_fit, choose_threshold, crossfit_brier
from .groups import derive_groups
from .heads import MIN_LABELLED, Heads, as_labels, fit_heads, head_probs, mix_scores
from .selection import PLAIN_C, fold_estimates, make_folds, search_settings

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .features import RouterFeatures

HEAD_FORMAT_VERSION = 1


class SlmRouter:
    """Router head over frozen-encoder features (see module docs).

    Args:
        C: inverse L2 strength of the logistic heads (larger = less regularised), or ``"auto"``: chosen by
            leave-groups-out APGR over :data:`~slmprofile.router.selection.C_GRID` (with the bag of word pieces:
            :data:`~slmprofile.router.selection.BAG_C`).
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
        s = as_labels(slm_correct, "slm_correct", n)
        f = as_labels(frontier_correct, "frontier_correct", n)
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
        group_folds = make_folds(len(s), strat, g, cv=self.cv, random_state=self.random_state)
        random_folds = make_folds(len(s), strat, None, cv=self.cv, random_state=self.random_state)
        folds = group_folds if self.group_cv else random_folds
        fold_kind = "groups" if self.group_cv and len(np.unique(g)) >= 2 else "random"
        fit_kw = {"bag_scale": self.bag_scale, "min_piece_count": self.min_piece_count}

        # ---- candidates, each scored by its mean per-fold APGR on the selection folds
        search = search_settings(features, labels, s, w, f_ref, hard, folds=folds, random_folds=random_folds,
                                 fold_kind=fold_kind, scorable=scorable, has_frontier=has_frontier,
                                 bag_of_pieces=self.bag_of_pieces, C=self.C, frontier_weight=self.frontier_weight,
                                 fallback=self.fallback, fallback_margin=self.fallback_margin,
                                 tolerance=self.tolerance, progress=progress, **fit_kw)
        chosen, key = search.chosen, search.key
        self.frontier_weight_ = float(chosen["frontier_weight"])
        self.search_ = {fw: c["apgr"] for c in search.full if (c["bag_of_pieces"], c["C"]) == key[1:]
                        for fw in [c["frontier_weight"]] if c["apgr"] is not None}
        chosen_names = list(labels) if chosen["model"] == "full" else ["slm"]
        oof_score = mix_scores(search.oofs[key], chosen_names, self.frontier_weight_)

        # ---- calibration (the lower cross-fitted Brier score with "auto") and threshold, on the same folds
        kinds = ["isotonic", "platt"] if self.calibration == "auto" else [self.calibration]
        briers = {kind: crossfit_brier(kind, oof_score, ok, w, folds) for kind in kinds} if len(kinds) > 1 else {}
        kind = min(briers, key=briers.get) if briers else kinds[0]
        self.calib_kind_, self.calib_params_ = kind, calibration_fit(kind, oof_score, ok, w)
        oof_p = self.calibrate(oof_score)
        self.threshold_, reached = choose_threshold(oof_p, ok, w, target=self.target, target_value=self.target_value)
        self.validation_ = self._validation_summary(oof_score, oof_p, s, f_ref, ok, w, reached, has_frontier)
        self.validation_["folds"] = fold_kind

        # ---- the two estimates: per-fold figures of the chosen settings on group folds and on random folds
        self.estimates_ = {}
        if scorable:
            self.estimates_ = fold_estimates(features, labels, s, w, f_ref, hard, search, self.frontier_weight_,
                                             folds=folds, group_folds=group_folds, random_folds=random_folds,
                                             fold_kind=fold_kind, **fit_kw)
        fold_record = {"kind": fold_kind, "n_folds": len(folds), "groups_source": group_info.pop("source"),
                       **group_info}
        if fold_kind == "groups" and len(np.unique(g)) <= 200:  # which groups each fold held out (all of them)
            fold_record["test_groups"] = [sorted(np.unique(g[test_idx]).tolist()) for _, test_idx in folds]
        self.selection_ = {
            "folds": fold_record,
            "candidates": [{k: (round(v, 4) if isinstance(v, float) and k == "apgr" else v) for k, v in c.items()}
                           for c in search.candidates],
            "chosen": chosen["model"], "why": search.why, "bag_of_pieces": chosen["bag_of_pieces"], "C": chosen["C"],
            "frontier_weight": self.frontier_weight_, "calibration": kind,
            "tolerance": self.tolerance if search.tie_break else 0.0,
            "calibration_brier": {k: round(v, 5) for k, v in briers.items()},
        }

        if chosen["model"] == "full":
            self.heads_ = fit_heads(features, labels, w, bag=chosen["bag_of_pieces"], C=chosen["C"], **fit_kw)
        else:
            self.heads_ = fit_heads(features, {"slm": s}, w, bag=False, C=PLAIN_C, length=False, **fit_kw)
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
    def calibrate(self, score: Any) -> np.ndarray:
        """Map raw scores to ``p_slm`` (float32)."""
        return calibration_apply(self.calib_kind_, self.calib_params_, score)

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
        return mix_scores(head_probs(self.heads_, features), self.heads_.names, self.frontier_weight_)

    def head_probabilities(self, features: RouterFeatures) -> dict[str, np.ndarray]:
        """``P(<label> correct)`` per head (``slm``, and ``frontier`` when trained with it)."""
        self.check_fitted()
        probs = head_probs(self.heads_, features)
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

