"""The router against the baselines on one train/test split, and the RouteLLM splits used to check it.

:func:`compare_on_split` fits the router on the training prompts only (its own cross-validation picks its
settings inside them) and scores it and the baselines on the test prompts: random routing, the oracle, a kNN-50
router ("SLM fails"), logistic regressions on the embeddings predicting "SLM fails" and "only the frontier is
right" (the RouteLLM-style label), a subject-level oracle when groups are given, plus the always-SLM /
always-frontier points. :func:`routellm_partitions` draws the many leave-subjects-out and random partitions that
``benchmarks/router_quality.py`` and ``tests/test_router_routellm.py`` average over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import polars as pl

    from .features import RouterFeatures
    from .train import SlmRouter

#: Seeds of the RouteLLM check's splits (fixed; see :func:`routellm_splits`).
UNSEEN_SEED = 3
RANDOM_SEED = 100


def routellm_features(*, embedder: Any = None) -> tuple[pl.DataFrame, RouterFeatures, np.ndarray, np.ndarray]:
    """The RouteLLM prompts of ``../shared/data`` (:func:`slmprofile.datasets.load_routellm`), their router
    features with the frozen encoder (cached embeddings), and the SLM / frontier outcomes as float arrays."""
    import numpy as np

    from ..datasets import load_routellm
    from ..embed import Embedder
    from .features import build_features

    frame = load_routellm()
    texts = frame["text"].to_list()
    features = build_features(texts, embeddings=(embedder or Embedder()).encode(texts))
    return (frame, features, frame["slm_correct"].to_numpy().astype(np.float64),
            frame["frontier_correct"].to_numpy().astype(np.float64))


def routellm_splits(subjects: Any, *, unseen_seed: int = UNSEEN_SEED, random_seed: int = RANDOM_SEED,
                    held_out_share: float = 1 / 3, test_share: float = 0.25) -> dict[str, tuple[Any, Any]]:
    """``{"unseen": (train, test), "random": (train, test)}`` boolean masks over RouteLLM prompts.

    ``unseen``: a third of the MMLU subjects (drawn with ``unseen_seed``) are held out whole; training gets the
    other subjects and GSM8K. ``random``: ``test_share`` of all prompts drawn with ``random_seed``.
    """
    import numpy as np

    subj = np.asarray(subjects)
    mmlu = sorted(set(subj.tolist()) - {"gsm8k"})
    rng = np.random.default_rng(unseen_seed)
    held = rng.choice(mmlu, size=int(len(mmlu) * held_out_share), replace=False)
    unseen_test = np.isin(subj, held)
    rng = np.random.default_rng(random_seed)
    random_test = np.zeros(len(subj), dtype=bool)
    random_test[rng.permutation(len(subj))[: int(test_share * len(subj))]] = True
    return {"unseen": (~unseen_test, unseen_test), "random": (~random_test, random_test)}


def routellm_partitions(subjects: Any, *, n_unseen: int = 20, n_random: int = 5, held_out: int = 10,
                        test_share: float = 0.25, seed: int = 0) -> list[tuple[str, int, Any, Any]]:
    """Many train/test partitions of the RouteLLM prompts -> ``[(kind, seed, train, test), ...]``.

    ``unseen``: ``n_unseen`` partitions, each holding out ``held_out`` of the groups whole (the 29 MMLU subjects and
    GSM8K: 30 groups), drawn with seeds ``seed, seed + 1, ...``; ``random``: ``n_random`` partitions holding out a
    random ``test_share`` of the prompts. Masks are boolean over the prompts.
    """
    import numpy as np

    subj = np.asarray(subjects).astype(str)
    groups = np.unique(subj)
    if not 1 <= held_out < len(groups):
        raise ValueError(f"held_out must be between 1 and {len(groups) - 1} groups; got {held_out}")
    out = []
    for i in range(n_unseen):
        held = np.random.default_rng(seed + i).choice(groups, size=held_out, replace=False)
        test = np.isin(subj, held)
        out.append(("unseen", seed + i, ~test, test))
    for i in range(n_random):
        test = np.zeros(len(subj), dtype=bool)
        test[np.random.default_rng(seed + i).permutation(len(subj))[: int(test_share * len(subj))]] = True
        out.append(("random", seed + i, ~test, test))
    return out


def compare_variants_on_split(features: RouterFeatures, slm_correct: Any, frontier_correct: Any, train: Any,
                              test: Any, *, routers: dict[str, SlmRouter], groups: Any = None, knn_k: int = 50,
                              ) -> tuple[pl.DataFrame, dict[str, Any], dict[str, SlmRouter]]:
    """Fit each of ``routers`` (name -> unfitted router) on ``train`` and score them with the baselines on ``test``
    -> (table, scores, fitted routers). A router with a novelty guard is also scored as ``<name> + guard`` (the
    prompts it flags sent to the frontier model first). With ``groups``, a group-level oracle (:func:`group_oracle_scores`: each
    test group's true mean gain, e.g. per subject) is scored too, as ``subject oracle``."""
    import numpy as np

    from .baselines import knn_scores, logistic_scores
    from .metrics import evaluate_routers, group_oracle_scores

    s = np.asarray(slm_correct, dtype=np.float64)
    f = np.asarray(frontier_correct, dtype=np.float64)
    train = np.asarray(train, dtype=bool)
    test = np.asarray(test, dtype=bool)
    if (train & test).any():
        raise ValueError("train and test overlap")
    g = None if groups is None else np.asarray(groups).astype(str)
    candidates: dict[str, Any] = {}
    for name, router in routers.items():
        router.fit(features.subset(train), s[train], f[train], groups=None if g is None else g[train])
        test_features = features.subset(test)
        candidates[name] = router.score(test_features)
        novelty = router.novelty(test_features)
        if novelty is not None:  # the same scores, with the prompts the guard flags sent to the frontier first
            flagged = novelty > router.novelty_.threshold_
            candidates[f"{name} + guard"] = np.where(flagged, candidates[name].min() - 1.0, candidates[name])
    emb_tr, emb_te = features.embeddings[train], features.embeddings[test]
    candidates.update({
        f"knn{knn_k} (SLM fails)": knn_scores(emb_tr, s[train], emb_te, k=knn_k),
        "logreg (only frontier right)": logistic_scores(emb_tr, s[train], f[train], emb_te, label="only_frontier"),
        "logreg (SLM fails)": logistic_scores(emb_tr, s[train], f[train], emb_te, label="slm_correct"),
    })
    if g is not None:
        candidates["subject oracle"] = group_oracle_scores(g[test], s[test], f[test])
    table, scores = evaluate_routers(candidates, s[test], f[test])
    return table, scores, routers


def compare_on_split(features: RouterFeatures, slm_correct: Any, frontier_correct: Any, train: Any, test: Any, *,
                     router: SlmRouter | None = None, groups: Any = None, knn_k: int = 50,
                     ) -> tuple[pl.DataFrame, dict[str, Any], SlmRouter]:
    """Fit ``router`` on ``train`` and score it with the baselines on ``test`` -> (table, scores, fitted router)."""
    from .train import SlmRouter

    table, scores, fitted = compare_variants_on_split(features, slm_correct, frontier_correct, train, test,
                                                      routers={"router": router or SlmRouter()}, groups=groups,
                                                      knn_k=knn_k)
    return table, scores, fitted["router"]
