"""Does fine-tuning the encoder help the router? RouteLLM splits, frozen vs fine-tuned, in the same process.

    python benchmarks/router_finetune.py [--kinds unseen,random] [--seeds 3,100] [--epochs 1] [--max-prompts 20000]

For each split (the RouteLLM test's by default: unseen subjects with seed 3, a random quarter with seed 100) the
encoder is fine-tuned on the training prompts only (:func:`slmprofile.router.finetune.finetune_encoder`), every
prompt is re-embedded with it, and the router is fit and scored as in ``benchmarks/router_quality.py``. The
frozen-encoder router and the baselines (random, kNN-50, two logistic regressions, all on the frozen embeddings)
are scored on the same held-out prompts. Prints APGR and CPT(50 %) / CPT(80 %) per split, and the fine-tuning time.
Slow on a CPU (a forward and a backward pass per training prompt). Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="unseen,random")
    parser.add_argument("--seeds", default="3,100", help="one seed per kind, in the order of --kinds")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-prompts", type=int, default=20_000)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from slmprofile.datasets import shared_data_dir
    from slmprofile.embed import Embedder
    from slmprofile.router import SlmRouter
    from slmprofile.router.evaluate import compare_on_split, routellm_features, routellm_splits
    from slmprofile.router.features import build_features
    from slmprofile.router.finetune import FinetuneSettings, finetune_encoder, finetune_target

    console = Console()
    if shared_data_dir() is None:
        console.print("skipped: ../shared/data (RouteLLM) not found")
        sys.exit(0)
    frame, frozen, s, f = routellm_features()
    texts = frame["text"].to_list()
    table = Table(title="RouteLLM: router with a frozen vs a fine-tuned encoder (held-out APGR, CPT50 / CPT80)")
    for col in ("split", "train / test", "router, frozen", "router, fine-tuned", "kNN-50", "logreg only-frontier",
                "logreg SLM fails", "fine-tune s"):
        table.add_column(col)
    settings = FinetuneSettings(epochs=args.epochs, max_prompts=args.max_prompts, learning_rate=args.learning_rate,
                                max_length=args.max_length)
    for kind, seed in zip(args.kinds.split(","), (int(x) for x in args.seeds.split(","))):
        split = routellm_splits(frame["subject"], unseen_seed=seed, random_seed=seed)[kind]
        train, test = split
        base, _, _ = compare_on_split(frozen, s, f, train, test, router=SlmRouter(), groups=frame["subject"])
        idx = np.flatnonzero(train)
        with tempfile.TemporaryDirectory(prefix="slmprofile-ft-") as tmp:
            started = time.perf_counter()
            tuned_model = finetune_encoder([texts[i] for i in idx], finetune_target(s, f)[idx], tmp,
                                           settings=settings, progress=True)
            ft_seconds = time.perf_counter() - started
            tuned = build_features(texts, embedder=Embedder(tuned_model.path, device="cpu", cache_dir=False,
                                                            progress=True), model_path=tuned_model.path)
        tuned_table, _, _ = compare_on_split(tuned, s, f, train, test, router=SlmRouter(), groups=frame["subject"])

        def cell(tab, name: str) -> str:
            row = tab.filter(tab["router"] == name).row(0, named=True)
            return f"{row['apgr']:.3f} ({row['cpt50']:.3f} / {row['cpt80']:.3f})"

        names = base["router"].to_list()
        knn = next(n for n in names if n.startswith("knn"))
        table.add_row(f"{kind}, seed {seed}", f"{int(train.sum()):,} / {int(test.sum()):,}", cell(base, "router"),
                      cell(tuned_table, "router"), cell(base, knn), cell(base, "logreg (only frontier right)"),
                      cell(base, "logreg (SLM fails)"),
                      f"{ft_seconds:.0f} ({tuned_model.prompts:,} prompts, losses {tuned_model.losses})")
        console.print(table)


if __name__ == "__main__":
    main()
