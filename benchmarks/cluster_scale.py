"""Task-type discovery time at scale: 100k prompt embeddings on this machine, after embedding.

    python benchmarks/cluster_scale.py [--n 100000] [--baseline]

Vectors: the public prompts in ../shared/data (CLINC150, Banking77, RouteLLM MMLU/GSM8K, MT-Bench) embedded with the
bundled model (cached), topped up to ``--n`` with jittered copies (cosine ~0.95 to their source, like reworded
prompts). Prints the project's fit time (fit on a 50k sample, the rest assigned) and, with ``--baseline``, plain
UMAP(5, cosine) + HDBSCAN(min_cluster_size=10) on all ``n`` vectors in the same process, as a ratio.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def vectors(n: int, seed: int = 0):
    import numpy as np
    import polars as pl

    from slmprofile.datasets import load_banking77, load_clinc150, load_mt_bench, load_routellm
    from slmprofile.embed import Embedder

    texts = pl.concat([
        load_clinc150(split=s).select("text") for s in ("train", "val", "test")
    ] + [load_banking77(split=s).select("text") for s in ("train", "test")] + [
        load_routellm().select("text"), load_mt_bench().select("text")])["text"].unique(maintain_order=True).to_list()
    base = Embedder(progress=True).encode(texts)
    rng = np.random.default_rng(seed)
    extra = max(0, n - len(base))
    src = rng.integers(0, len(base), extra)
    jitter = base[src] + rng.normal(scale=0.014, size=(extra, base.shape[1])).astype(np.float32)
    X = np.concatenate([base, jitter])[:n]
    return X / np.linalg.norm(X, axis=1, keepdims=True), len(base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--baseline", action="store_true", help="also time plain UMAP+HDBSCAN on all n vectors")
    args = parser.parse_args()
    from slmprofile.cluster import TaskTypeClusterer

    X, n_real = vectors(args.n)
    print(f"{len(X):,} vectors ({n_real:,} real prompts, the rest jittered copies), dim {X.shape[1]}")
    t = time.perf_counter()
    model = TaskTypeClusterer().fit(X)
    ours = time.perf_counter() - t
    print(f"slmprofile TaskTypeClusterer (fit on {min(len(X), model.max_fit_samples):,}, assign the rest): "
          f"{ours:.1f} s, {model.n_clusters_} task types, min_cluster_size {model.min_cluster_size_}, "
          f"unassigned {(model.labels_ < 0).mean():.1%}")
    if args.baseline:
        import hdbscan
        import umap

        t = time.perf_counter()
        Z = umap.UMAP(n_components=5, metric="cosine", random_state=0).fit_transform(X)
        labels = hdbscan.HDBSCAN(min_cluster_size=10).fit_predict(Z)
        base = time.perf_counter() - t
        print(f"plain UMAP(5, cosine) + HDBSCAN(10) on all {len(X):,}: {base:.1f} s, {labels.max() + 1} clusters, "
              f"noise {(labels < 0).mean():.1%}; ratio (plain / slmprofile) {base / ours:.2f}x")


if __name__ == "__main__":
    main()
