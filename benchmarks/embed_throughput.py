"""Embedding throughput: the project's embed path vs plain ``SentenceTransformer.encode``, same process, same texts.

    python benchmarks/embed_throughput.py [--n 4500] [--batch-size 64] [--texts sample]

Texts: CLINC150 ``test`` utterances from ../shared/data when present, else the prompts of the bundled sample
(``data/``). Prints prompts/s and tokens/s (model word pieces) for: the baseline, the project path with a cold
cache (every distinct text encoded), the project path with a warm cache (a re-run), and - on a log with the
duplicate rate of real traffic - the project path vs encoding every logged call; then the ONNX backends (fp32 and
int8, cold cache) with their smallest cosine to the baseline vectors. Ratios are against the baseline measured in
this run. ``--texts sample`` uses the bundled sample's prompts (longer, template-shaped) even when CLINC150 is there.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _texts(n: int, *, sample: bool = False) -> tuple[str, list[str]]:
    from slmprofile.datasets import load_clinc150, shared_data_dir

    if not sample and shared_data_dir() is not None:
        texts = load_clinc150(split="test")["text"].to_list()
        return "CLINC150 test", texts[:n]
    from slmprofile.ingest import ingest

    root = Path(__file__).resolve().parents[1]
    frame = ingest([root / "data" / "logs"], estimate=False, templates=False).frame
    texts = frame["prompt_text"].unique(maintain_order=True).to_list()
    return "bundled sample prompts", texts[:n]


def _line(name: str, n: int, tokens: int, seconds: float, base: float | None) -> str:
    rate = n / seconds
    ratio = f"{rate / base:6.2f}x" if base else "  1.00x"
    return f"{name:<44} {n:>7,} texts {seconds:8.2f} s {rate:9,.0f} prompts/s {tokens / seconds:10,.0f} tok/s {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--texts", choices=("auto", "sample"), default="auto")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from slmprofile.embed import Embedder, default_model_path

    source, texts = _texts(args.n, sample=args.texts == "sample")
    print(f"texts: {len(texts):,} from {source}; torch threads {torch.get_num_threads()}; batch {args.batch_size}")
    baseline_model = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    tokens = sum(len(ids) for ids in baseline_model.tokenizer(texts, truncation=True, max_length=256)["input_ids"])
    baseline_model.encode(texts[:64])  # warm-up, excluded
    t = time.perf_counter()
    base_vecs = baseline_model.encode(texts, batch_size=32, normalize_embeddings=True)
    base_s = time.perf_counter() - t
    base_rate = len(texts) / base_s
    print(_line("plain SentenceTransformer.encode (batch 32)", len(texts), tokens, base_s, None))

    with tempfile.TemporaryDirectory() as cache:
        emb = Embedder(cache_dir=cache, device="cpu", batch_size=args.batch_size, progress=False)
        emb.encode(texts[:64])  # load + warm-up, excluded (64 texts now cached: excluded from the cold count)
        emb = emb.clone(cache_dir=Path(cache) / "cold")
        t = time.perf_counter()
        cold = emb.encode(texts)
        cold_s = time.perf_counter() - t
        print(_line("slmprofile Embedder, cold cache", len(texts), tokens, cold_s, base_rate))
        t = time.perf_counter()
        warm = emb.encode(texts)
        warm_s = time.perf_counter() - t
        print(_line("slmprofile Embedder, warm cache (re-run)", len(texts), tokens, warm_s, base_rate))
        import numpy as np

        agree = float(np.min(np.sum(cold * base_vecs, axis=1)))
        print(f"min cosine(project, baseline) over all texts: {agree:.6f}; warm == cold: "
              f"{bool(np.array_equal(cold, warm))}")

        # A log where prompts repeat, as in real traffic (each text logged 1-4 times).
        rng = np.random.default_rng(0)
        logged = [t for t in texts for _ in range(int(rng.integers(1, 5)))]
        log_tokens = int(tokens * len(logged) / len(texts))
        t = time.perf_counter()
        baseline_model.encode(logged, batch_size=32, normalize_embeddings=True)
        base_log_s = time.perf_counter() - t
        print(_line("plain encode of every logged call", len(logged), log_tokens, base_log_s, None))
        fresh = emb.clone(cache_dir=Path(cache) / "dedup")
        t = time.perf_counter()
        fresh.encode(logged)
        dedup_s = time.perf_counter() - t
        print(_line("slmprofile Embedder on the same log, cold", len(logged), log_tokens, dedup_s,
                    len(logged) / base_log_s))

        for backend in ("onnx", "onnx-int8"):
            fast = emb.clone(backend=backend, cache_dir=Path(cache) / backend)
            fast.encode(texts[:64])  # export + load + parity probe, excluded
            fast = fast.clone(cache_dir=Path(cache) / (backend + "-cold"))
            t = time.perf_counter()
            vecs = fast.encode(texts)
            fast_s = time.perf_counter() - t
            print(_line(f"slmprofile Embedder backend={backend}, cold", len(texts), tokens, fast_s, base_rate))
            print(f"  min cosine to the baseline: {float(np.min(np.sum(vecs * base_vecs, axis=1))):.5f}")


if __name__ == "__main__":
    main()
