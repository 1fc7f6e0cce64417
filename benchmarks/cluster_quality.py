"""Task-type quality on labelled data: slmprofile vs plain UMAP+HDBSCAN vs BERTopic, on the same embeddings.

    python benchmarks/cluster_quality.py [--sets clinc,banking,mixed,sample] [--cache-dir DIR] [--no-bertopic]

Data: CLINC150 test (150 intents), Banking77 test (77 intents), a mixed workload (CLINC150 + Banking77 + GSM8K +
MMLU + MT-Bench prompts, the source as label) from ../shared/data, and the bundled sample (generator tasks in
data/truth.csv; prompts grouped by template/instruction, and the request/response views given, as the pipeline
does). All methods cluster the same bundled
MiniLM embeddings (cached). Unassigned / noise points count as their own label in ARI. BERTopic runs when it is
installed (``pip install bertopic``; it is not a dependency), with its defaults on the precomputed embeddings.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _sets(names: list[str], embedder):
    import polars as pl

    from slmprofile import datasets as D

    out = {}
    if "clinc" in names:
        d = D.load_clinc150(split="test")
        out["CLINC150 test"] = (d["text"].to_list(), d["intent"].to_list(), None, None)
    if "banking" in names:
        d = D.load_banking77(split="test")
        out["Banking77 test"] = (d["text"].to_list(), d["intent"].to_list(), None, None)
    if "mixed" in names:
        d = pl.concat([D.load_clinc150(split="test").select("text", pl.lit("clinc150").alias("y")),
                       D.load_banking77(split="test").select("text", pl.lit("banking77").alias("y")),
                       D.load_routellm().select("text", pl.col("source").alias("y")),
                       D.load_mt_bench().select("text", pl.lit("mt_bench").alias("y"))]
                      ).unique("text", keep="first", maintain_order=True)
        out["mixed workload (source)"] = (d["text"].to_list(), d["y"].to_list(), "instructions", None)
    if "sample" in names:
        from pathlib import Path

        from slmprofile.cluster import PromptViews, template_groups
        from slmprofile.ingest import ingest
        from slmprofile.pipeline import redact_logs

        root = Path(__file__).resolve().parents[1] / "data"
        logs, _ = redact_logs(ingest(root / "logs").frame)
        truth = pl.read_csv(root / "truth.csv").select("id", "task_type")
        prompts = (logs.join(truth, on="id").group_by("prompt_hash", maintain_order=True)
                   .agg(pl.col("prompt_text").first(), pl.col("system_prompt").drop_nulls().first(),
                        pl.col("response_text").drop_nulls().first(), pl.col("template_id").first(),
                        pl.col("task_type").first()))
        views = PromptViews.from_columns(prompts["system_prompt"].to_list(), prompts["prompt_text"].to_list(),
                                         prompts["response_text"].to_list(), embedder.encode)
        out["bundled sample (tasks)"] = (prompts["prompt_text"].to_list(), prompts["task_type"].to_list(),
                                         template_groups(prompts), views)
    return out


def _plain(X, seed: int = 0):
    import hdbscan
    import umap

    Z = umap.UMAP(n_components=5, metric="cosine", random_state=seed).fit_transform(X)
    return hdbscan.HDBSCAN(min_cluster_size=10).fit_predict(Z)


def _bertopic(texts, X):
    try:
        from bertopic import BERTopic
    except ImportError:
        return None
    topics, _ = BERTopic(embedding_model=None, calculate_probabilities=False).fit_transform(texts, embeddings=X)
    return topics


def main() -> None:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score, completeness_score, homogeneity_score, \
        normalized_mutual_info_score

    from slmprofile.cluster import TaskTypeClusterer
    from slmprofile.embed import Embedder
    from slmprofile.templates import instruction_keys

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc,banking,mixed,sample")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--no-bertopic", action="store_true")
    args = ap.parse_args()
    embedder = Embedder(cache_dir=args.cache_dir, progress=True)
    rows = []
    for name, (texts, y, groups, views) in _sets(args.sets.split(","), embedder).items():
        X = embedder.encode(texts)
        if groups == "instructions":
            groups = instruction_keys([None] * len(texts), texts)
        methods = {}
        t = time.perf_counter()
        model = TaskTypeClusterer(n_bootstrap=0).fit(X, groups=groups, views=views)
        labels = model.labels_
        methods["slmprofile"] = (labels, time.perf_counter() - t,
                                 np.where(labels >= 0, model.families_[np.maximum(labels, 0)], -1))
        t = time.perf_counter()
        methods["UMAP5+HDBSCAN10"] = (_plain(X), time.perf_counter() - t, None)
        if not args.no_bertopic:
            t = time.perf_counter()
            topics = _bertopic(texts, X)
            if topics is not None:
                methods["BERTopic"] = (np.asarray(topics), time.perf_counter() - t, None)
        for method, (lab, secs, fam) in methods.items():
            rows.append((name, method, len(set(lab) - {-1}), adjusted_rand_score(y, lab),
                         normalized_mutual_info_score(y, lab), homogeneity_score(y, lab), float(np.mean(lab < 0)),
                         None if fam is None else completeness_score(y, fam), secs))
        if "BERTopic" not in methods and not args.no_bertopic:
            print(f"{name}: BERTopic not installed (pip install bertopic) - skipped")
    header = f"{'data':<26} {'method':<16} {'types':>6} {'ARI':>6} {'NMI':>6} {'homog':>6} {'noise':>6} " \
             f"{'famcomp':>7} {'secs':>6}"
    print(header)
    print("-" * len(header))
    for name, method, k, ari, nmi, hom, noise, famc, secs in rows:
        fc = "" if famc is None else f"{famc:.3f}"
        print(f"{name:<26} {method:<16} {k:>6} {ari:>6.3f} {nmi:>6.3f} {hom:>6.3f} {noise:>6.1%} {fc:>7} {secs:>6.1f}")


if __name__ == "__main__":
    main()
