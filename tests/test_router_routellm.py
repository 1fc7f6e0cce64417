"""Real-data check of the router on RouteLLM (Mixtral-8x7B = SLM, GPT-4-1106 = frontier; per-prompt correctness).

The full check (slow: it embeds all ~9k prompts once) fits the default router on the training part of several
partitions and asserts on the MEAN over them, not on one split: 6 leave-subjects-out partitions (10 of the 30 groups
- 29 MMLU subjects + GSM8K - held out whole; seeds 0-5 of :func:`slmprofile.router.evaluate.routellm_partitions`)
and 3 random ones (a quarter of the prompts held out). The router's settings are chosen by cross-validation inside
each training part (the subjects as groups); the test part is never used for tuning. The floors sit below what
``benchmarks/router_quality.py`` measured over 20 + 5 partitions (unseen mean APGR 0.575, sd 0.026, min 0.526;
random 0.617, sd 0.017), by one to two standard errors of a 6- or 3-partition mean, so they hold on these seeds
without being fitted to them. They are below the issue's targets (unseen 0.60, random 0.63), which the router
does not reach here: on unseen subjects even a subject-level oracle averages 0.617.
"""

from __future__ import annotations

import numpy as np
import pytest

N_UNSEEN, N_RANDOM = 6, 3
#: Mean-APGR floors over the partitions above (see the module docs), and the worst single unseen partition.
APGR_FLOOR = {"unseen": 0.56, "random": 0.60}
UNSEEN_MIN = 0.50
#: How far below a plain baseline's mean the router's mean may fall (the spread of a 6-partition mean).
MARGIN = {"unseen": 0.012, "random": 0.005}
BASELINES = ("knn50 (SLM fails)", "logreg (only frontier right)", "logreg (SLM fails)")


def _features(frame, embedder):
    from slmprofile.router.features import build_features

    texts = frame["text"].to_list()
    return build_features(texts, embeddings=embedder.encode(texts))


@pytest.mark.slow
@pytest.mark.shared_data
def test_router_holds_up_on_unseen_subjects_and_random_splits_averaged_over_partitions(shared_data, embedder):
    from slmprofile.datasets import load_routellm
    from slmprofile.router import SlmRouter
    from slmprofile.router.evaluate import compare_on_split, routellm_partitions

    frame = load_routellm(shared_data)
    features = _features(frame, embedder)
    s = frame["slm_correct"].to_numpy()
    f = frame["frontier_correct"].to_numpy()
    subjects = frame["subject"].to_numpy()
    rows: dict[str, list[dict]] = {"unseen": [], "random": []}
    estimates: dict[str, list[float]] = {"unseen": [], "random": []}
    for kind, seed, train, test in routellm_partitions(subjects, n_unseen=N_UNSEEN, n_random=N_RANDOM):
        if kind == "unseen":  # whole groups held out: no subject on both sides
            assert not set(subjects[test]) & set(subjects[train]) and len(set(subjects[test])) == 10
        table, _, router = compare_on_split(features, s, f, train, test, router=SlmRouter(), groups=subjects)
        row = {r["router"]: r for r in table.iter_rows(named=True)}
        rows[kind].append(row)
        est = router.estimates_["new_task_types" if kind == "unseen" else "seen_task_types"]
        estimates[kind].append(est["apgr"]["mean"])
        print(f"{kind} {seed}: " + ", ".join(f"{k} {v['apgr']:.3f}" for k, v in row.items() if v["apgr"] == v["apgr"])
              + f" | chosen {router.selection_['chosen']}, estimate {est['apgr']['mean']:.3f}")
    for kind, part in rows.items():
        apgr = {name: np.array([r[name]["apgr"] for r in part]) for name in ("router", "random", *BASELINES)}
        mean = {name: float(v.mean()) for name, v in apgr.items()}
        print(kind, {k: round(v, 3) for k, v in mean.items()}, "router min", round(float(apgr["router"].min()), 3))
        assert mean["router"] >= APGR_FLOOR[kind], (kind, mean)
        for name in BASELINES:
            assert mean["router"] >= mean[name] - MARGIN[kind], (kind, name, mean)
        assert mean["router"] > mean["random"] + 0.05
        cpt50 = np.array([r["router"]["cpt50"] for r in part])
        assert cpt50.mean() < 0.45 and (cpt50 < 0.5).all()
        # the estimate the router gives for this kind of traffic is honest: within 0.03 of what it scored
        assert abs(float(np.mean(estimates[kind])) - mean["router"]) < 0.03, (kind, estimates[kind], mean["router"])
    assert min(r["router"]["apgr"] for r in rows["unseen"]) >= UNSEEN_MIN


@pytest.mark.shared_data
def test_router_on_the_shortest_routellm_prompts_beats_random(shared_data, embedder):
    """Default-run version: the 1,500 shortest RouteLLM prompts (cheap to embed; all 29 subjects), a random
    quarter held out. Too few prompts for the baselines' order to be stable, so only the gap to random is asserted."""
    from slmprofile.datasets import load_routellm
    from slmprofile.router import SlmRouter
    from slmprofile.router.evaluate import compare_on_split

    frame = load_routellm(shared_data)
    lengths = frame["text"].str.len_chars().to_numpy()
    frame = frame[np.sort(np.argsort(lengths, kind="stable")[:1500])]
    features = _features(frame, embedder)
    test = np.zeros(frame.height, dtype=bool)
    test[np.random.default_rng(0).permutation(frame.height)[: frame.height // 4]] = True
    table, scores, router = compare_on_split(features, frame["slm_correct"].to_numpy(),
                                             frame["frontier_correct"].to_numpy(), ~test, test,
                                             router=SlmRouter(cv=3))
    rows = {r["router"]: r for r in table.iter_rows(named=True)}
    print({k: round(v["apgr"], 3) for k, v in rows.items() if v["apgr"] == v["apgr"]})
    assert rows["router"]["apgr"] > rows["random"]["apgr"] + 0.05
    assert rows["router"]["cpt50"] < 0.5 and rows["router"]["cpt80"] < 0.8
    assert rows["oracle"]["apgr"] > rows["router"]["apgr"]
    assert scores["router"].curve.strong_share[0] == 0 and scores["router"].curve.strong_share[-1] == 1
