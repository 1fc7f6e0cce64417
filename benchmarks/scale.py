"""How each stage's cost grows with the number of calls: 10k -> 100k (-> 1M) synthetic calls on one machine.

    python benchmarks/scale.py [--sizes 10000,100000] [--backend auto] [--workdir DIR]

Each size runs in its own subprocess: the sample generator writes ``n`` calls (its duplicate rates: re-asked
prompts, failures, repeated templates) in four log formats, then the stages run as the one-machine engine runs
them for large logs: streaming ingest to Parquet parts, redaction part by part, distinct prompts collected lazily,
embedding (``--backend``; the cache lives in the work directory, so a re-run of a size resumes), task types fit on
at most 50k prompts and the rest assigned, per-task-type statistics. Printed: wall seconds per stage, the process's
peak RSS after each stage, and, between consecutive sizes, the growth exponent ``log(t2/t1) / log(n2/n1)``
(1 = linear). Figures depend on the machine; compare sizes within one run.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("generate", "ingest", "redact", "distinct", "embed", "task_types")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, workdir: Path, backend: str) -> dict:
    """One size, in this process: per-stage seconds and peak RSS."""
    import polars as pl

    from slmprofile.cluster import discover_task_types
    from slmprofile.embed import Embedder
    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.pipeline import redact_parts
    from slmprofile.sample import generate_sample

    out: dict = {"n": n, "stages": {}}

    def stage(name: str, started: float) -> None:
        out["stages"][name] = {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}

    t = time.perf_counter()
    logs_dir = workdir / f"sample_{n}"
    if not (logs_dir / "truth.csv").exists():
        generate_sample(logs_dir, n_calls=n)
    stage("generate", t)
    t = time.perf_counter()
    parts = ingest_to_parquet(logs_dir / "logs", workdir / f"parts_{n}")
    out["calls"] = parts.report.rows_out
    stage("ingest", t)
    t = time.perf_counter()
    redact_parts(parts.parts)
    stage("redact", t)
    t = time.perf_counter()
    columns = ["id", "timestamp", "model", "system_prompt", "prompt_text", "response_text", "prompt_tokens",
               "completion_tokens", "cost_usd", "latency_ms", "status", "n_tool_calls", "prompt_hash", "template_id"]
    logs = parts.scan().select(columns).collect()
    distinct = logs.group_by("prompt_hash", maintain_order=True).agg(
        pl.col("prompt_text").first(), pl.len().alias("n_calls"), pl.col("template_id").first())
    out["distinct"] = distinct.height
    stage("distinct", t)
    t = time.perf_counter()
    embedder = Embedder(backend=backend, cache_dir=workdir / "cache", progress=True)
    vectors = embedder.encode(distinct["prompt_text"].to_list())
    out["embed_backend"] = embedder.info()["backend"]
    embeddings = distinct.select("prompt_hash", pl.col("n_calls").cast(pl.Int64), "template_id",
                                 pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1])))
    stage("embed", t)
    t = time.perf_counter()
    result = discover_task_types(logs, embeddings)
    out["task_types"] = int(result.task_types.filter(pl.col("cluster_id") >= 0).height)
    stage("task_types", t)
    return out


def _run(n: int, workdir: Path, backend: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--measure", str(n), str(workdir), backend],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"size {n} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backend", default="auto", help="embedding backend: torch, onnx, onnx-int8 or auto")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data, parts and the embedding cache here")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        n, workdir, backend = args.measure
        print(json.dumps(measure(int(n), Path(workdir), backend)))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="slmprofile-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        res = _run(n, workdir, args.backend)
        rows.append(res)
        print(f"\n{n:,} calls requested: {res['calls']:,} kept, {res['distinct']:,} distinct prompts, "
              f"{res['task_types']} task types, embedding backend {res['embed_backend']}")
        print(f"  {'stage':<11} {'seconds':>9} {'peak RSS MB':>12}")
        for name in STAGES:
            s = res["stages"][name]
            print(f"  {name:<11} {s['seconds']:>9.1f} {s['peak_mb']:>12,.0f}")
        print(f"  {'total':<11} {sum(s['seconds'] for s in res['stages'].values()):>9.1f}", flush=True)
    if len(rows) > 1:
        print("\ngrowth exponent per stage (1 = linear in calls):")
        print("  " + " ".join(f"{name:>10}" for name in STAGES) + "   sizes")
        for a, b in zip(rows, rows[1:]):
            ratio = math.log(b["calls"] / a["calls"])
            cells = [math.log(max(b["stages"][s]["seconds"], 1e-3) / max(a["stages"][s]["seconds"], 1e-3)) / ratio
                     for s in STAGES]
            print("  " + " ".join(f"{c:>10.2f}" for c in cells) + f"   {a['calls']:,} -> {b['calls']:,}")


if __name__ == "__main__":
    main()
