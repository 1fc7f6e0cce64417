"""Model selection on out-of-fold scores: folds, per-fold APGR, the search over settings and the two estimates.

The candidates - the bag of word pieces on or off, the regularisation ``C``, the frontier weight, and the plain
fallback head - are each scored by their mean per-fold APGR on the selection folds (leave-groups-out or random);
:func:`search_settings` picks one and says why, :func:`fold_estimates` gives the chosen settings' expected APGR /
CPT(50 %) on seen and on new task types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .heads import fit_heads, head_probs, mix_scores

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .features import RouterFeatures

Folds = list[tuple["np.ndarray", "np.ndarray"]]

FRONTIER_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Regularisation grid searched with ``C="auto"`` (the bag of word pieces is tried at ``C`` = 1 only: its fits cost
#: 3-7x more, and on RouteLLM a larger ``C`` with it fits the training subjects, a smaller one mutes it).
C_GRID = (0.3, 1.0, 3.0)
BAG_C = 1.0
#: Convergence tolerance of the out-of-fold fits (the exported heads are fitted to 1e-5).
OOF_TOL = 1e-4
#: ``C`` of the plain fallback head (that of :func:`slmprofile.router.baselines.logistic_scores`).
PLAIN_C = 1.0
#: Folds whose SLM-frontier quality gap is below this are left out of per-fold APGR (PGR divides by the gap).
MIN_FOLD_GAP = 0.02


def spread(values: list[float]) -> dict[str, Any]:
    """``{"mean", "sd", "n_folds"}`` of per-fold figures (NaNs dropped; sd with ddof 1)."""
    import numpy as np

    v = np.array(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return {"mean": float(v.mean()) if len(v) else None, "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
            "n_folds": int(len(v))}


def make_folds(n: int, strat: np.ndarray, groups: np.ndarray | None, *, cv: int, random_state: int) -> Folds:
    """GroupKFold over ``groups`` (at most ``cv`` folds) when there are two or more, else stratified folds."""
    import numpy as np
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if groups is not None:
        n_groups = len(np.unique(groups))
        if n_groups >= 2:
            k = min(cv, n_groups)
            return list(GroupKFold(n_splits=k, shuffle=True, random_state=random_state)
                        .split(np.zeros(n), strat, groups))
    k = min(cv, int(np.bincount(strat).min()) if len(np.unique(strat)) > 1 else cv)
    return list(StratifiedKFold(n_splits=max(k, 2), shuffle=True, random_state=random_state)
                .split(np.zeros(n), strat))


def oof_probs(features: RouterFeatures, labels: dict[str, np.ndarray], w: np.ndarray, folds: Folds, *, bag: bool,
              C: float, bag_scale: float, min_piece_count: int, length: bool = True,
              progress: Any = None) -> np.ndarray:
    """Out-of-fold head probabilities ``(n, heads)`` of one configuration."""
    import numpy as np

    oof = np.zeros((len(features), len(labels)), dtype=np.float32)
    for train_idx, test_idx in folds:
        heads = fit_heads(features.subset(train_idx), {k: v[train_idx] for k, v in labels.items()}, w[train_idx],
                          bag=bag, C=C, bag_scale=bag_scale, min_piece_count=min_piece_count, length=length,
                          tol=OOF_TOL)
        oof[test_idx] = head_probs(heads, features.subset(test_idx))
        if progress is not None:
            progress.update(1)
    return oof


def fold_metrics(score: np.ndarray, s: np.ndarray, f_ref: np.ndarray, hard: np.ndarray,
                 folds: Folds) -> tuple[list[float], list[float]]:
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


@dataclass
class Search:
    """What :func:`search_settings` found: every candidate, the chosen one (``model`` ``full`` or ``plain``, its
    ``bag_of_pieces``, ``C``, ``frontier_weight``), why, and the out-of-fold probabilities it computed."""

    candidates: list[dict[str, Any]]
    chosen: dict[str, Any]
    why: str
    full: list[dict[str, Any]]  # the full-model candidates
    near: list[dict[str, Any]]  # the full-model settings compared on random folds (the best alone without that)
    tie_break: bool
    oofs: dict[tuple, np.ndarray] = field(repr=False)  # (model, bag, C) -> out-of-fold probabilities, selection folds
    oofs_random: dict[tuple, np.ndarray] = field(repr=False)  # the same on random folds (settings near the best)

    @property
    def key(self) -> tuple:
        """``(model, bag_of_pieces, C)`` of the chosen settings (the key of :attr:`oofs`)."""
        return (self.chosen["model"], self.chosen["bag_of_pieces"], self.chosen["C"])


def search_settings(features: RouterFeatures, labels: dict[str, np.ndarray], s: np.ndarray, w: np.ndarray,
                    f_ref: np.ndarray, hard: np.ndarray, *, folds: Folds, random_folds: Folds, fold_kind: str,
                    scorable: bool, has_frontier: bool, bag_of_pieces: bool | str, C: float | str,
                    frontier_weight: float | str, fallback: bool, fallback_margin: float, tolerance: float,
                    bag_scale: float, min_piece_count: int, progress: bool = False) -> Search:
    """Score every candidate by its mean per-fold APGR on ``folds`` and choose one.

    Candidates: the full model (both heads) for each bag-of-pieces / ``C`` / frontier-weight setting asked for
    (``"auto"``: :data:`C_GRID`, bag on and off, :data:`FRONTIER_WEIGHTS`), and with ``fallback`` the plain head
    (embedding alone, ``C`` = :data:`PLAIN_C`). With ``tolerance`` on leave-groups-out folds, full-model settings
    within it of the best are ranked by their random-fold APGR instead. The plain head is chosen unless the full
    model beats it by more than ``fallback_margin``. Not ``scorable``: the simplest settings, no comparison.
    """
    import numpy as np

    names = list(labels)
    fit_kw = {"bag_scale": bag_scale, "min_piece_count": min_piece_count}
    bags = [False, True] if bag_of_pieces == "auto" else [bool(bag_of_pieces)]
    cs = list(C_GRID) if C == "auto" else [float(C)]
    configs = [(bag, c) for bag in bags for c in (cs if not bag or C != "auto" else [BAG_C])]
    weights = [0.0]
    if has_frontier:
        weights = list(FRONTIER_WEIGHTS) if frontier_weight == "auto" else [float(frontier_weight)]
    if not scorable:  # nothing to choose on: the simplest settings
        configs = [(bags[0], 1.0 if 1.0 in cs else cs[0])]
        weights = [0.5 if has_frontier and frontier_weight == "auto" else weights[0]]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(folds) * (len(configs) + int(fallback and scorable)), desc="router folds", unit="fit")
    tie_break = bool(scorable and tolerance > 0 and fold_kind == "groups")
    candidates: list[dict[str, Any]] = []
    oofs: dict[tuple, np.ndarray] = {}
    oofs_random: dict[tuple, np.ndarray] = {}
    for bag, c in configs:
        oof = oofs[("full", bag, c)] = oof_probs(features, labels, w, folds, bag=bag, C=c, progress=bar, **fit_kw)
        for fw in weights:
            per_fold = fold_metrics(mix_scores(oof, names, fw), s, f_ref, hard, folds)[0] if scorable else []
            candidates.append({"model": "full", "bag_of_pieces": bag, "C": c, "frontier_weight": fw,
                               "apgr": spread(per_fold)["mean"]})
    if fallback and scorable:
        oofs[("plain", False, PLAIN_C)] = oof_probs(features, {"slm": s}, w, folds, bag=False, C=PLAIN_C,
                                                    length=False, progress=bar, **fit_kw)
        per_fold = fold_metrics(oofs[("plain", False, PLAIN_C)][:, 0], s, f_ref, hard, folds)[0]
        candidates.append({"model": "plain", "bag_of_pieces": False, "C": PLAIN_C, "frontier_weight": 0.0,
                           "apgr": spread(per_fold)["mean"]})
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
        near = [c for c in full if c["apgr"] is not None and c["apgr"] >= best_full["apgr"] - tolerance]
        for c in near:  # random-fold scores only for the settings near the best (the frontier weight is free)
            key = ("full", c["bag_of_pieces"], c["C"])
            if key not in oofs_random:
                oofs_random[key] = oof_probs(features, labels, w, random_folds, bag=key[1], C=key[2], **fit_kw)
            per_fold = fold_metrics(mix_scores(oofs_random[key], names, c["frontier_weight"]), s, f_ref, hard,
                                    random_folds)[0]
            c["apgr_random_folds"] = spread(per_fold)["mean"]
        best_full = max(near, key=lambda c: (num(c["apgr_random_folds"]), rank(c)))
    plain = next((c for c in candidates if c["model"] == "plain"), None)
    plain_wins = plain is not None and num(plain["apgr"]) + fallback_margin >= num(best_full["apgr"])
    chosen = plain if plain_wins else best_full
    where = "leave-groups-out" if fold_kind == "groups" else "random-fold"
    if not scorable or all(c["apgr"] is None for c in candidates):  # no fold held prompts enough to score any
        why = "too few prompts with both outcomes (or no quality gap) to compare settings: defaults used"
    elif chosen is plain:
        why = (f"the full model's {where} APGR ({best_full['apgr']:.3f}: bag of pieces "
               f"{'on' if best_full['bag_of_pieces'] else 'off'}, C {best_full['C']}, frontier weight "
               f"{best_full['frontier_weight']}) is not above the plain head's ({plain['apgr']:.3f}, logistic "
               "regression on the embedding alone)"
               + (f" by more than {fallback_margin}" if fallback_margin else "")
               + ": the simpler model is exported")
    else:
        why = f"the full model's {where} APGR ({chosen['apgr']:.3f}) is " + (
            f"above the plain head's ({plain['apgr']:.3f})"
            + (f" by more than {fallback_margin}" if fallback_margin else "") if plain is not None
            else f"the best of {len(candidates)} settings (no plain fallback)")
        if len(near) > 1:
            why += (f"; of the {len(near)} settings within {tolerance} of the best there, the one with the "
                    f"best random-fold APGR ({chosen['apgr_random_folds']:.3f}) was taken")
    return Search(candidates=candidates, chosen=chosen, why=why, full=full, near=near, tie_break=tie_break,
                  oofs=oofs, oofs_random=oofs_random)


def fold_estimates(features: RouterFeatures, labels: dict[str, np.ndarray], s: np.ndarray, w: np.ndarray,
                   f_ref: np.ndarray, hard: np.ndarray, search: Search, frontier_weight: float, *, folds: Folds,
                   group_folds: Folds, random_folds: Folds, fold_kind: str, bag_scale: float,
                   min_piece_count: int) -> dict[str, Any]:
    """Expected APGR / CPT(50 %) of the chosen settings: per-fold figures on group folds (``new_task_types``) and
    on random folds (``seen_task_types``), reusing the out-of-fold probabilities the search computed."""
    chosen, key = search.chosen, search.key
    chosen_names = list(labels) if chosen["model"] == "full" else ["slm"]
    estimates: dict[str, Any] = {}
    for label, kind_folds in (("new_task_types", group_folds), ("seen_task_types", random_folds)):
        if kind_folds is folds:
            oof_k = search.oofs[key]
        elif kind_folds is random_folds and key in search.oofs_random:
            oof_k = search.oofs_random[key]
        else:
            oof_k = oof_probs(features, labels if chosen["model"] == "full" else {"slm": s}, w, kind_folds,
                              bag=chosen["bag_of_pieces"], C=chosen["C"], length=chosen["model"] == "full",
                              bag_scale=bag_scale, min_piece_count=min_piece_count)
        apgrs, cpts = fold_metrics(mix_scores(oof_k, chosen_names, frontier_weight), s, f_ref, hard, kind_folds)
        estimates[label] = {"folds": "leave-groups-out" if label == "new_task_types" else "random",
                            "apgr": spread(apgrs), "cpt50": spread(cpts)}
    estimates["which_applies"] = (
        "seen_task_types: traffic of the task types in the training data (random folds); new_task_types: "
        "traffic of task types the router has not seen (whole groups held out) - use it when the traffic "
        "will change or when the novelty guard flags many prompts. Settings were chosen on "
        f"{'the leave-groups-out' if fold_kind == 'groups' else 'the random'} folds, so that estimate is "
        f"slightly optimistic ({len(search.candidates)} candidates compared).")
    return estimates
