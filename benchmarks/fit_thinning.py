"""The large-log path's fit sample thinned within template groups: how many prompts it embeds and how its task types
score against the generator's truth, per cap and seed (issue 22).

    python benchmarks/fit_thinning.py LOGS_DIR [--caps none,400,200,100] [--seeds 0,1,2] [--no-redact] \
        [--workdir DIR]

``LOGS_DIR``: a folder from ``slmprofile sample --out S --n-calls N`` (its ``logs/`` and ``truth.csv``). The logs are
streamed to Parquet parts once (``ingest_to_parquet``, then redacted part by part unless ``--no-redact``; kept in
``--workdir`` for the next call), then :func:`~slmprofile.cluster.sampled.discover_task_types_sampled` runs for each
cap and seed with one int8 embedding cache (``--workdir``/embeddings): the thinned samples of one seed are subsets
of each other, so only the first (largest) cap of a seed embeds much. Printed, one JSON line per run: ARI and
homogeneity of the calls' task types against the generator's tasks, the type count, the fit sample, the groups
thinned and given back, the prompts embedded, the audit's agreement, and the seconds (which include embedding only
where the cache lacked the vectors: compare them within a seed, largest cap first).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _parts(logs_dir: Path, workdir: Path, redact: bool) -> Path:
    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.redact import redact_parts

    folder = workdir / ("parts" if redact else "parts-unredacted")
    if not (folder / "done").is_file():
        parts = ingest_to_parquet(logs_dir / "logs", folder)
        if redact:
            redact_parts(parts.parts)
        (folder / "done").write_text("ok")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs_dir", type=Path)
    parser.add_argument("--caps", default="none,400,200,100")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--no-redact", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("out/fit_thinning"))
    args = parser.parse_args()

    import polars as pl
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    from slmprofile.cluster.sampled import discover_task_types_sampled
    from slmprofile.embed import Embedder

    args.workdir.mkdir(parents=True, exist_ok=True)
    parts = _parts(args.logs_dir, args.workdir, not args.no_redact)
    truth = pl.read_csv(args.logs_dir / "truth.csv", columns=["id", "task_type"]).rename({"task_type": "truth"})
    caps = [None if c == "none" else int(c) for c in args.caps.split(",")]
    keys = ("fit_sample", "uniform_sample", "groups_thinned", "groups_restored", "prompts_embedded",
            "pure_templates", "audit_agreement")
    for seed in (int(s) for s in args.seeds.split(",")):
        for cap in sorted(caps, key=lambda c: -(c or 10**9)):  # largest first: the smaller ones reuse its vectors
            embedder = Embedder(backend="auto", cache_dir=args.workdir / "cache", progress=False)
            started = time.perf_counter()
            result = discover_task_types_sampled(pl.scan_parquet(parts / "*.parquet"), embedder=embedder,
                                                 fit_per_group=cap, random_state=seed)
            seconds = time.perf_counter() - started
            scored = result.result.clusters.join(truth, on="id")
            print(json.dumps({
                "cap": cap, "seed": seed, "seconds": round(seconds, 1),
                "ari": round(adjusted_rand_score(scored["truth"], scored["cluster_id"]), 4),
                "homogeneity": round(homogeneity_score(scored["truth"], scored["cluster_id"]), 4),
                "types": result.result.task_types.height, **{k: result.info[k] for k in keys}}), flush=True)


if __name__ == "__main__":
    main()
