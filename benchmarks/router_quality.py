"""Router quality on RouteLLM over many splits: the router vs the baselines, seed by seed, with the spread.

    python benchmarks/router_quality.py [--seeds 10] [--kinds unseen,random]

The test (tests/test_router_routellm.py) checks one fixed split of each kind; this script shows how much APGR moves
with the split. For each seed it holds out a third of the MMLU subjects ("unseen") or a random quarter ("random"),
fits the router on the rest (its settings chosen by cross-validation inside the training part) and scores it and
the baselines (random, kNN-50, two logistic regressions on the same embeddings, the oracle) on the held-out
prompts. Prints APGR per seed, the mean, sd and minimum per router, and how often the router beats the best
baseline. Needs ../shared/data (skips with a message otherwise); embeddings are cached.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="splits per kind (seeds 0..N-1)")
    parser.add_argument("--kinds", default="unseen,random")
    parser.add_argument("--cv", type=int, default=5, help="the router's inner cross-validation folds")
    args = parser.parse_args()

    import numpy as np
    import polars as pl
    from rich.console import Console
    from rich.table import Table

    from slmprofile.datasets import shared_data_dir
    from slmprofile.router import SlmRouter
    from slmprofile.router.evaluate import compare_on_split, routellm_features, routellm_splits

    console = Console()
    if shared_data_dir() is None:
        console.print("skipped: ../shared/data (RouteLLM) not found")
        sys.exit(0)
    frame, features, s, f = routellm_features()
    rows = []
    started = time.perf_counter()
    for kind in args.kinds.split(","):
        for seed in range(args.seeds):
            split = routellm_splits(frame["subject"], unseen_seed=seed, random_seed=seed)[kind]
            table, _, _ = compare_on_split(features, s, f, *split, router=SlmRouter(cv=args.cv),
                                           groups=frame["subject"])
            for r in table.iter_rows(named=True):
                rows.append({"kind": kind, "seed": seed, "router": r["router"], "apgr": r["apgr"],
                             "cpt50": r["cpt50"], "cpt80": r["cpt80"]})
            console.print(f"{kind} seed {seed}: " + ", ".join(
                f"{r['router']} {r['apgr']:.3f}" for r in table.iter_rows(named=True) if r["apgr"] == r["apgr"]))
    results = pl.DataFrame(rows).filter(pl.col("apgr").is_not_nan())
    baselines = ["random", "knn50 (SLM fails)", "logreg (only frontier right)", "logreg (SLM fails)"]
    for kind in args.kinds.split(","):
        part = results.filter(pl.col("kind") == kind)
        summary = Table(title=f"RouteLLM, {kind} split, {args.seeds} seeds: APGR")
        for col in ("router", "mean", "sd", "min", "max", "CPT(50 %) mean", "CPT(80 %) mean"):
            summary.add_column(col)
        for name in ["router", *baselines, "oracle"]:
            r = part.filter(pl.col("router") == name)
            if r.height == 0:
                continue
            summary.add_row(name, f"{r['apgr'].mean():.3f}", f"{r['apgr'].std():.3f}", f"{r['apgr'].min():.3f}",
                            f"{r['apgr'].max():.3f}", f"{r['cpt50'].mean():.3f}", f"{r['cpt80'].mean():.3f}")
        console.print(summary)
        wide = part.pivot(on="router", index="seed", values="apgr")
        best_base = np.max(np.stack([wide[b].to_numpy() for b in baselines if b in wide.columns]), axis=0)
        wins = int((wide["router"].to_numpy() > best_base).sum())
        console.print(f"{kind}: the router beats the best baseline on {wins} of {wide.height} splits; mean margin "
                      f"{float(np.mean(wide['router'].to_numpy() - best_base)):+.3f}")
    console.print(f"{time.perf_counter() - started:.0f} s for {len(args.kinds.split(',')) * args.seeds} splits")


if __name__ == "__main__":
    main()
