"""The static embedding distilled from MiniLM against MiniLM itself, for task types (issue: where does it hold?).

    python benchmarks/static_quality.py [--sets clinc,banking,sample] [--seeds 0,1,2,3,4] [--fit-share 0.5]

Two questions, on CLINC150 test (150 intents), Banking77 test (77 intents) and the bundled sample's distinct prompts
(its 14 generator tasks, data/truth.csv), all from the same cached vectors:

1. **Clustering**: :class:`~slmprofile.cluster.TaskTypeClusterer` (no bootstrap, no form signals, the same settings;
   the sample's template groups, as the pipeline gives them) fit on the MiniLM vectors and on the static vectors: ARI,
   homogeneity and the type count against the labels.
2. **Placement around a MiniLM-fitted sample** (what the large-log path does with prompts no template places): for
   each seed, a random ``--fit-share`` of the prompts is clustered on MiniLM; the other prompts are placed (a) by the
   clusterer's own ``assign`` on MiniLM vectors (what the pipeline does today) and (b) by the nearest static centroid
   (the centroid of each type's fitted members' static vectors; a prompt whose best cosine is below the type's 5th
   percentile of its members' cosines is left unassigned, as ``assign`` does with its thresholds). Reported: how
   often (b) agrees with (a), and the accuracy of each against the labels (a placed prompt is right when its type's
   majority label is its own). Mean and spread over the seeds.

Timings: the static encoder's and MiniLM's prompts per second on the same texts, same run (MiniLM through the
default PyTorch backend, nothing cached: ``--time-minilm 0`` skips that part).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _sets(names: list[str]) -> dict:
    import polars as pl

    from slmprofile import datasets as D

    out = {}
    if "clinc" in names:
        d = D.load_clinc150(split="test")
        out["CLINC150 test"] = (d["text"].to_list(), d["intent"].to_list(), None)
    if "banking" in names:
        d = D.load_banking77(split="test")
        out["Banking77 test"] = (d["text"].to_list(), d["intent"].to_list(), None)
    if "sample" in names:
        from pathlib import Path

        from slmprofile.cluster import template_groups
        from slmprofile.ingest import ingest
        from slmprofile.redact import redact_logs

        root = Path(__file__).resolve().parents[1] / "data"
        logs, _ = redact_logs(ingest(root / "logs").frame)
        truth = pl.read_csv(root / "truth.csv").select("id", "task_type")
        prompts = (logs.join(truth, on="id").group_by("prompt_hash", maintain_order=True)
                   .agg(pl.col("prompt_text").first(), pl.col("system_prompt").drop_nulls().first(),
                        pl.col("template_id").first(), pl.col("task_type").first()))
        out["bundled sample (tasks)"] = (prompts["prompt_text"].to_list(), prompts["task_type"].to_list(),
                                         template_groups(prompts))
    return out


def _majority_right(labels, y, fitted_labels, fitted_y):
    """Per placed prompt: whether its type's majority label (among the fitted members) is its own label."""
    from collections import Counter

    import numpy as np

    majority = {}
    for lab in set(fitted_labels.tolist()) - {-1}:
        majority[lab] = Counter(np.asarray(fitted_y, dtype=object)[fitted_labels == lab].tolist()).most_common(1)[0][0]
    return np.array([lab >= 0 and majority.get(lab) == t for lab, t in zip(labels.tolist(), y)])


def static_placement(S_fit, fit_labels, S_new, *, floor_quantile: float = 0.05):
    """Nearest static centroid of each new prompt (-1 below the type's ``floor_quantile`` of member cosines)."""
    import numpy as np

    types = np.unique(fit_labels[fit_labels >= 0])
    if not len(types):
        return np.full(len(S_new), -1)
    C = np.stack([S_fit[fit_labels == t].mean(0) for t in types])
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    floors = np.array([np.quantile(S_fit[fit_labels == t] @ C[i], floor_quantile) for i, t in enumerate(types)])
    sims = S_new @ C.T
    best = sims.argmax(1)
    ok = sims[np.arange(len(S_new)), best] >= floors[best]
    return np.where(ok, types[best], -1)


def main() -> None:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    from slmprofile.cluster import TaskTypeClusterer
    from slmprofile.embed import Embedder
    from slmprofile.static_embed import StaticEmbedder

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc,banking,sample")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--fit-share", type=float, default=0.5)
    ap.add_argument("--time-minilm", type=int, default=300, help="texts to time MiniLM on, uncached (0: skip)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    minilm = Embedder(progress=True)
    static = StaticEmbedder()
    print(f"{'data':<24} {'vectors':<8} {'types':>6} {'ARI':>6} {'homog':>6} {'noise':>6}")
    placement = []
    for name, (texts, y, groups) in _sets(args.sets.split(",")).items():
        X = np.asarray(minilm.encode(texts), dtype=np.float32)
        static.encode(texts[:8])  # distilled on first use: not part of the rate
        t = time.perf_counter()
        S = np.asarray(static.encode(texts), dtype=np.float32)
        static_rate = len(texts) / (time.perf_counter() - t)
        for kind, V in (("minilm", X), ("static", S)):
            lab = TaskTypeClusterer(n_bootstrap=0, random_state=0).fit(V, groups=groups).labels_
            print(f"{name:<24} {kind:<8} {len(set(lab.tolist()) - {-1}):>6} {adjusted_rand_score(y, lab):>6.3f} "
                  f"{homogeneity_score(y, lab):>6.3f} {np.mean(lab < 0):>6.1%}")
        y_arr = np.asarray(y, dtype=object)
        for seed in seeds:
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(texts))
            cut = int(args.fit_share * len(texts))
            fit, new = np.sort(order[:cut]), np.sort(order[cut:])
            model = TaskTypeClusterer(n_bootstrap=0, random_state=seed).fit(X[fit])
            by_minilm, _ = model.assign(X[new])
            by_static = static_placement(S[fit], model.labels_, S[new])
            right_m = _majority_right(by_minilm, y_arr[new], model.labels_, y_arr[fit])
            right_s = _majority_right(by_static, y_arr[new], model.labels_, y_arr[fit])
            placement.append((name, seed, float(np.mean(by_minilm == by_static)), float(right_m.mean()),
                              float(right_s.mean()), float(np.mean(by_minilm < 0)), float(np.mean(by_static < 0))))
        print(f"{name:<24} static encoder {static_rate:,.0f} prompts/s")
    print()
    print(f"placement of the other {1 - args.fit_share:.0%} around a MiniLM fit on {args.fit_share:.0%}, "
          f"seeds {args.seeds}: mean (sd, min)")
    print(f"{'data':<24} {'agree':>20} {'right, minilm':>20} {'right, static':>20} {'unassigned m/s':>15}")
    for name in dict.fromkeys(p[0] for p in placement):
        rows = np.array([p[2:] for p in placement if p[0] == name])

        def cell(col, rows=rows):
            v = rows[:, col]
            return f"{v.mean():.3f} ({v.std():.3f}, {v.min():.3f})"

        print(f"{name:<24} {cell(0):>20} {cell(1):>20} {cell(2):>20} "
              f"{rows[:, 3].mean():>7.1%}/{rows[:, 4].mean():.1%}")
    if args.time_minilm:
        from slmprofile.embed import Embedder as E

        texts = _sets(["banking"])["Banking77 test"][0][:args.time_minilm] if "banking" in args.sets else \
            next(iter(_sets(args.sets.split(",")).values()))[0][:args.time_minilm]
        fresh = E(cache_dir=False, progress=False)
        fresh.encode(texts[:8])
        t = time.perf_counter()
        fresh.encode(texts)
        m_rate = len(texts) / (time.perf_counter() - t)
        t = time.perf_counter()
        static.encode(texts)
        s_rate = len(texts) / (time.perf_counter() - t)
        print(f"\n{len(texts)} prompts: MiniLM (PyTorch) {m_rate:,.0f}/s, static {s_rate:,.0f}/s "
              f"({s_rate / m_rate:,.0f}x), same run")


if __name__ == "__main__":
    main()
