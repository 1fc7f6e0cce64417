"""Task-type quality on labelled data: slmprofile vs plain UMAP+HDBSCAN vs BERTopic, on the same embeddings.

    python benchmarks/cluster_quality.py [--sets clinc,banking,mixed,sample,forms] [--seeds 0,1,2] [--cache-dir DIR]
                                         [--no-bertopic]

Data: CLINC150 test (150 intents), Banking77 test (77 intents), a mixed workload (CLINC150 + Banking77 + GSM8K +
MMLU + MT-Bench prompts, the source as label) from ../shared/data, and the bundled sample (generator tasks in
data/truth.csv; prompts grouped by template/instruction, and the request/response views given, as the pipeline
does). All methods cluster the same bundled
MiniLM embeddings (cached). Unassigned / noise points count as their own label in ARI. BERTopic runs when it is
installed (``pip install bertopic``; it is not a dependency), with its defaults on the precomputed embeddings.
slmprofile clusters with its form signals (answer-format cues and content-masked requests), as the pipeline does.

``forms``: the task-form development set of ``benchmarks/form_devset.py`` (one per seed), written to a CSV and run
through ingest and :func:`slmprofile.cluster.discover_task_types` as a user's log would be; scored against the form
labels: family V-measure / homogeneity / completeness, type homogeneity, the counts, and archetype accuracy (share of
prompts, on forms that have an archetype, whose type carries it), next to the same run with each system prompt put
in front of its user text and the responses dropped (a log without either, whose instructions sit in the prompt),
on user texts only (the sample rows' system prompts and responses dropped), the run with content families (no
form signals) and plain UMAP+HDBSCAN; then the mean and spread over the seeds.
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
        from slmprofile.redact import redact_logs

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

    from slmprofile.cluster import FormSignals, TaskTypeClusterer
    from slmprofile.embed import Embedder
    from slmprofile.templates import instruction_keys

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc,banking,mixed,sample,forms")
    ap.add_argument("--seeds", default="0,1,2", help="development sets (and clusterer seeds) for --sets forms")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--no-bertopic", action="store_true")
    args = ap.parse_args()
    embedder = Embedder(cache_dir=args.cache_dir, progress=True)
    rows = []
    sets = args.sets.split(",")
    for name, (texts, y, groups, views) in _sets(sets, embedder).items():
        X = embedder.encode(texts)
        if groups == "instructions":
            groups = instruction_keys([None] * len(texts), texts)
        methods = {}
        t = time.perf_counter()
        form = FormSignals.from_texts([None] * len(texts), texts, embedder.encode)
        model = TaskTypeClusterer(n_bootstrap=0).fit(X, groups=groups, views=views, form=form)
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
    if "forms" in sets:
        _forms_report([int(s) for s in args.seeds.split(",")], embedder)


def forms_scores(seed: int, embedder, *, method: str = "slmprofile", prompt_only: bool = False,
                 inline: bool = False) -> dict:
    """Scores of one method on the development set of ``seed`` (see the module docs); ``prompt_only`` drops the
    sample rows' system prompts and responses (a log of user texts only); ``inline`` puts each system prompt in front
    of its user text and drops the responses (a log without system prompts or responses, whose instructions sit in
    the prompt)."""
    import sys
    import tempfile
    import time
    from pathlib import Path

    import numpy as np
    import polars as pl
    from sklearn.metrics import completeness_score, homogeneity_score, v_measure_score

    from slmprofile.cluster import TaskTypeClusterer, discover_task_types
    from slmprofile.embed import embed_prompts
    from slmprofile.ingest import ingest

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import form_devset

    d = form_devset.build(seed)
    if inline:
        d = d.with_columns(
            pl.when(pl.col("system_prompt").is_not_null()).then(pl.col("system_prompt") + "\n\n" + pl.col("text"))
            .otherwise(pl.col("text")).alias("text"),
            pl.lit(None, dtype=pl.Utf8).alias("system_prompt"), pl.lit(None, dtype=pl.Utf8).alias("response_text"))
    if prompt_only:
        d = d.with_columns(pl.lit(None, dtype=pl.Utf8).alias("system_prompt"),
                           pl.lit(None, dtype=pl.Utf8).alias("response_text"))
    with tempfile.TemporaryDirectory() as tmp:
        d.select(pl.int_range(pl.len()).cast(pl.Utf8).alias("request_id"), pl.col("text").alias("prompt"),
                 pl.col("system_prompt").alias("system"), pl.col("response_text").alias("response"),
                 pl.lit("gpt-4o").alias("model")).write_csv(f"{tmp}/dev.csv")
        logs = ingest(f"{tmp}/dev.csv", mapping="id=request_id,system=system,response=response").frame
    emb = embed_prompts(logs, embedder=embedder)
    y = d["form"].to_list()
    t = time.perf_counter()
    if method == "UMAP5+HDBSCAN10":
        X = np.asarray(emb["embedding"].to_numpy(), dtype=np.float32)
        where = dict(zip(emb["prompt_hash"].to_list(), range(emb.height)))
        lab = _plain(X, seed)[[where[h] for h in logs["prompt_hash"].to_list()]]
        return dict(types=len(set(lab.tolist()) - {-1}), type_hom=homogeneity_score(y, lab),
                    secs=time.perf_counter() - t)
    res = discover_task_types(logs, emb, embedder=embedder, use_form=method == "slmprofile",
                              clusterer=TaskTypeClusterer(n_bootstrap=0, random_state=seed))
    secs = time.perf_counter() - t
    c = logs.select("id").join(res.clusters, on="id", how="left").join(
        res.task_types.select("cluster_id", "archetype"), on="cluster_id", how="left")
    lab, fam, tag = c["cluster_id"].to_numpy(), c["family"].to_list(), c["archetype"].to_list()
    hits = [a == g for a, g in zip(d["archetype"].to_list(), tag) if a is not None]
    return dict(types=len(set(lab.tolist()) - {-1}), type_hom=homogeneity_score(y, lab),
                families=len(set(fam) - {"unassigned"}), fam_V=v_measure_score(y, fam),
                fam_hom=homogeneity_score(y, fam), fam_comp=completeness_score(y, fam),
                arch_acc=float(np.mean(hits)), secs=secs)


def _forms_report(seeds: list[int], embedder) -> None:
    import numpy as np

    cols = ["families", "fam_V", "fam_hom", "fam_comp", "types", "type_hom", "arch_acc", "secs"]
    print(f"\ntask-form development set (form_devset.py), seeds {seeds}")
    header = f"{'method':<30} " + " ".join(f"{c:>13}" for c in cols)
    print(header)
    print("-" * len(header))
    for method, label, variant in (("slmprofile", "slmprofile (form)", {}),
                                   ("slmprofile", "slmprofile, instructions inline", {"inline": True}),
                                   ("slmprofile", "slmprofile, prompts only", {"prompt_only": True}),
                                   ("no_form", "slmprofile (content families)", {}),
                                   ("UMAP5+HDBSCAN10", "UMAP5+HDBSCAN10", {})):
        runs = [forms_scores(s, embedder, method=method, **variant) for s in seeds]
        cells = []
        for col in cols:
            vals = [r[col] for r in runs if col in r]
            if not vals:
                cells.append(f"{'':>13}")
            elif col in ("families", "types", "secs"):
                cells.append(f"{np.mean(vals):>7.1f} ±{np.std(vals):>4.1f}")
            else:
                cells.append(f"{np.mean(vals):>6.3f} ±{np.std(vals):.3f}")
        print(f"{label:<30} " + " ".join(cells))


if __name__ == "__main__":
    main()
