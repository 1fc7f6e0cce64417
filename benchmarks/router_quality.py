"""Router quality on RouteLLM over many partitions: the router vs the baselines, with the mean, sd and minimum.

    python benchmarks/router_quality.py [--unseen 20] [--random 5] [--held-out 10] [--variants router,before]
                                        [--cache-dir DIR] [--out router_quality.json]

The 8,977 RouteLLM prompts fall into 30 groups (29 MMLU subjects + GSM8K). ``unseen`` partitions hold out
``--held-out`` groups whole (seeds 0, 1, ...; :func:`slmprofile.router.evaluate.routellm_partitions`); ``random``
ones a random quarter of the prompts. On each, every router variant is fitted on the training part only (its own
settings chosen by cross-validation inside it, with the subjects as groups) and scored with the baselines on the
test part: random routing, kNN-50 ("SLM fails"), logistic regressions on the same embeddings predicting "the SLM is
wrong" and "only the frontier is right", the oracle, and a subject-level oracle (each test subject's true mean
gain: what knowing only how hard each subject is would give). Prints APGR / CPT(50 %) per partition, then the mean,
sd and minimum per router and kind (a router with a novelty guard also as ``<name> + guard``: the prompts it
flags sent to the frontier model first, with the share it flags), and the issue-20 floors (unseen: mean >= 0.60 and >= the best plain baseline's
mean, minimum >= 0.55; random: mean >= 0.63).

Variants (``--variants``): ``router`` (the default :class:`~slmprofile.router.SlmRouter`: every choice made on
leave-groups-out folds, with the plain-head fallback) and ``before`` (the settings before that change, built
explicitly: random folds, bag of word pieces on, C = 1, isotonic calibration, no fallback); ``groups-only`` (the
default without the tie-break on random folds, ``tolerance=0``) and ``no-fallback`` for comparison; ``static``:
the default router on the static embedding distilled from MiniLM (:mod:`slmprofile.static_embed`; distilled once,
about 40 s, then cached), scored with a logistic regression on the same static vectors (``static logreg``).

The MiniLM embeddings of the prompts are cached on disk (``--cache-dir``, default the slmprofile cache): the first
run embeds ~9k long prompts (about 6 minutes on 2 CPU cores), later runs read them back. Needs ../shared/data
(skips with a message otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: Router settings per variant name (keyword arguments of SlmRouter, besides cv).
VARIANTS = {
    "router": {},
    "before": {"C": 1.0, "bag_of_pieces": True, "calibration": "isotonic", "group_cv": False, "fallback": False},
    "no-fallback": {"fallback": False},
    "groups-only": {"tolerance": 0.0},
    "margin": {"fallback_margin": 0.01},
    "static": {},  # the default router on the static embedding (STATIC_VARIANTS)
}
#: Variants whose features come from the static embedding distilled from MiniLM (slmprofile.static_embed).
STATIC_VARIANTS = {"static"}
PLAIN_BASELINES = ("knn50 (SLM fails)", "logreg (only frontier right)", "logreg (SLM fails)")
FLOORS = {"unseen": {"mean": 0.60, "min": 0.55}, "random": {"mean": 0.63}}


def summarise(rows: list[dict], names: list[str]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """``{kind: {router: {"apgr": {mean, sd, min, max}, "cpt50": {...}}}}`` over partitions."""
    import numpy as np

    out: dict = {}
    for kind in sorted({r["kind"] for r in rows}):
        out[kind] = {}
        for name in names:
            part = [r for r in rows if r["kind"] == kind and r["router"] == name]
            if not part:
                continue
            out[kind][name] = {}
            for metric in ("apgr", "cpt50"):
                v = np.array([r[metric] for r in part], dtype=float)
                out[kind][name][metric] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                                           "min": float(v.min()), "max": float(v.max()), "n": int(len(v))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unseen", type=int, default=20, help="leave-groups-out partitions")
    parser.add_argument("--random", type=int, default=5, help="random partitions")
    parser.add_argument("--held-out", type=int, default=10, help="groups held out per unseen partition (of 30)")
    parser.add_argument("--seed", type=int, default=0, help="first partition seed")
    parser.add_argument("--variants", default="router,before", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--cv", type=int, default=5, help="the router's inner cross-validation folds")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: slmprofile's)")
    parser.add_argument("--static-dims", type=int, default=None, help="dims of the static embedding (default: "
                        "slmprofile's)")
    parser.add_argument("--static-weighting", default="none", help="none or sif (the static embedding's)")
    parser.add_argument("--out", type=Path, default=None, help="write every row and the summary as JSON here")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")

    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from slmprofile.datasets import shared_data_dir
    from slmprofile.embed import Embedder
    from slmprofile.router import SlmRouter
    from slmprofile.router.evaluate import compare_variants_on_split, routellm_features, routellm_partitions

    console = Console()
    if shared_data_dir() is None:
        console.print("skipped: ../shared/data (RouteLLM) not found")
        sys.exit(0)
    started = time.perf_counter()
    frame, features, s, f = routellm_features(embedder=Embedder(cache_dir=args.cache_dir))
    console.print(f"features of {frame.height:,} prompts in {time.perf_counter() - started:.0f} s")
    static_features = None
    if STATIC_VARIANTS & set(variants):
        from slmprofile.router.features import build_features
        from slmprofile.static_embed import StaticEmbedder

        t0 = time.perf_counter()
        from slmprofile.static_embed import DEFAULT_DIMS

        static = StaticEmbedder(dims=args.static_dims or DEFAULT_DIMS, weighting=args.static_weighting,
                                cache_dir=args.cache_dir)
        static_features = build_features(frame["text"].to_list(), embedder=static)
        console.print(f"static features in {time.perf_counter() - t0:.1f} s")
    subjects = frame["subject"].to_numpy()
    rows: list[dict] = []
    routers_seen: list[str] = []
    for kind, seed, train, test in routellm_partitions(subjects, n_unseen=args.unseen, n_random=args.random,
                                                       held_out=args.held_out, seed=args.seed):
        t0 = time.perf_counter()
        routers = {v: SlmRouter(cv=args.cv, **VARIANTS[v]) for v in variants if v not in STATIC_VARIANTS}
        table, _, fitted = compare_variants_on_split(features, s, f, train, test, routers=routers, groups=subjects)
        feats = {v: features for v in fitted}
        static_routers = {v: SlmRouter(cv=args.cv, **VARIANTS[v]) for v in variants if v in STATIC_VARIANTS}
        if static_routers:  # the static variants and a logistic regression on the static vectors
            import polars as pl

            st_table, _, st_fitted = compare_variants_on_split(static_features, s, f, train, test,
                                                               routers=static_routers, groups=subjects)
            st_table = st_table.filter(pl.col("router").is_in(["logreg (SLM fails)"])
                                       | pl.col("router").str.split(" + ").list.first().is_in(list(st_fitted)))
            st_table = st_table.with_columns(pl.col("router").replace("logreg (SLM fails)",
                                                                      "static logreg (SLM fails)"))
            table = pl.concat([table, st_table], how="diagonal_relaxed")
            fitted = {**fitted, **st_fitted}
            feats.update({v: static_features for v in st_fitted})
        for r in table.iter_rows(named=True):
            if r["apgr"] != r["apgr"]:  # the always-SLM / always-frontier points
                continue
            rows.append({"kind": kind, "seed": seed, "router": r["router"], "apgr": r["apgr"], "cpt50": r["cpt50"],
                         "test_prompts": int(test.sum())})
            if r["router"] not in routers_seen:
                routers_seen.append(r["router"])
        for v, router in fitted.items():
            rows.append({"kind": kind, "seed": seed, "router": v, "chosen": router.selection_.get("chosen"),
                         "settings": {k: router.selection_.get(k) for k in ("bag_of_pieces", "C", "frontier_weight",
                                                                            "calibration")},
                         "estimates": {k: router.estimates_.get(k, {}).get("apgr", {}).get("mean")
                                       for k in ("seen_task_types", "new_task_types")},
                         "novel_share": (None if router.novelty_ is None else float(
                             (router.novelty(feats[v].subset(test)) > router.novelty_.threshold_).mean())),
                         "meta": True})
        console.print(f"{kind} seed {seed} ({int(test.sum()):,} test prompts, {time.perf_counter() - t0:.0f} s): "
                      + ", ".join(f"{r['router']} {r['apgr']:.3f}" for r in rows
                                  if r["kind"] == kind and r["seed"] == seed and not r.get("meta"))
                      + " | chosen " + ", ".join(f"{v}: {fitted[v].selection_.get('chosen')}" for v in fitted))
    scored = [r for r in rows if not r.get("meta")]
    summary = summarise(scored, routers_seen)
    verdicts = {}
    for kind, by_router in summary.items():
        table = Table(title=f"RouteLLM, {kind} partitions ({next(iter(by_router.values()))['apgr']['n']}): "
                            "APGR and CPT(50 %) over partitions")
        for col in ("router", "APGR mean", "sd", "min", "max", "CPT(50 %) mean", "sd", "min"):
            table.add_column(col)
        for name, m in by_router.items():
            a, c = m["apgr"], m["cpt50"]
            table.add_row(name, f"{a['mean']:.3f}", f"{a['sd']:.3f}", f"{a['min']:.3f}", f"{a['max']:.3f}",
                          f"{c['mean']:.3f}", f"{c['sd']:.3f}", f"{c['min']:.3f}")
        console.print(table)
        best_name = max(PLAIN_BASELINES, key=lambda b: by_router[b]["apgr"]["mean"])
        best = by_router[best_name]["apgr"]["mean"]
        for v in variants:
            a = by_router[v]["apgr"]
            checks = {"mean": a["mean"] >= FLOORS[kind]["mean"]}
            if kind == "unseen":
                checks["min"] = a["min"] >= FLOORS[kind]["min"]
                checks["vs_best_baseline"] = a["mean"] >= best
            mine = np.array([r["apgr"] for r in scored if r["kind"] == kind and r["router"] == v])
            theirs = np.array([r["apgr"] for r in scored if r["kind"] == kind and r["router"] == best_name])
            verdicts[f"{kind}/{v}"] = {**checks, "best_baseline": best_name, "best_baseline_mean": best,
                                       "wins": int((mine > theirs).sum()), "partitions": int(len(mine))}
            console.print(f"{kind} / {v}: APGR mean {a['mean']:.3f} (sd {a['sd']:.3f}, min {a['min']:.3f}); best plain "
                          f"baseline {best_name} {best:.3f}; beats it on {int((mine > theirs).sum())} of {len(mine)}; "
                          "floors " + ", ".join(f"{k} {'ok' if ok else 'MISSED'}" for k, ok in checks.items()))
    for kind in summary:
        for v in variants:
            shares = [r["novel_share"] for r in rows if r.get("meta") and r["kind"] == kind and r["router"] == v
                      and r.get("novel_share") is not None]
            if shares:
                console.print(f"{kind} / {v}: the novelty guard flags {np.mean(shares):.1%} of test prompts on "
                              f"average (min {np.min(shares):.1%}, max {np.max(shares):.1%}); '{v} + guard' is "
                              "scored with them sent to the frontier model first")
    console.print(f"{time.perf_counter() - started:.0f} s for {args.unseen + args.random} partitions")
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary,
                                        "verdicts": verdicts, "rows": rows}, indent=1), encoding="utf-8")
        console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
