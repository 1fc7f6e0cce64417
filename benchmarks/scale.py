"""How each stage's cost grows with the number of calls: 10k -> 100k (-> 1M) synthetic calls on one machine.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--mode stream|full] [--backend auto] [--workdir DIR]

Each size runs in its own subprocess: the sample generator writes ``n`` calls (its duplicate rates: re-asked
prompts, failures, repeated templates) in four log formats, then

- ``--mode stream`` (default) runs ``slmprofile.pipeline.run(stream=True)`` end to end: streaming ingest to Parquet
  parts, redaction of the parts in one process per core, ``logs.parquet`` written from the parts, task types fit
  on a 50k-prompt sample with pure templates placing the rest (:mod:`slmprofile.cluster.sampled`), lazy
  statistics, suitability, savings and the HTML report. Peak memory is the summed RSS of the whole process tree
  (the redaction workers included), sampled every 0.2 s, per stage;
- ``--mode full`` runs the stages the way the in-memory engine does after a streaming ingest: every distinct prompt
  embedded, task types fit on at most 50k and the rest assigned (peak RSS of the process).

The embedding cache lives in the work directory, so a re-run of a size resumes. Printed: wall seconds and peak
memory per stage, and, between consecutive sizes, the growth exponent ``log(t2/t1) / log(n2/n1)`` (1 = linear).
Figures depend on the machine; compare sizes within one run.
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

STAGES = {"full": ("generate", "ingest", "redact", "distinct", "embed", "task_types"),
          "stream": ("generate", "ingest", "redact", "write_logs", "embed_task_types", "suitability", "savings",
                     "report")}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _TreeMemory:
    """Summed RSS of this process and its children, sampled in a thread; the peak per stage."""

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        import psutil

        self.proc = psutil.Process()
        self.stage = "generate"
        self.peaks: dict[str, float] = {}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import psutil

        while not self._stop.wait(self.interval):
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            mb = total / 2**20
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), mb)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


_STAGE_KEYS = {"ingest": "ingest", "redact": "redact", "embed + task types (sampled)": "embed_task_types",
               "suitability": "suitability", "savings": "savings", "report": "report"}


def measure_stream(n: int, workdir: Path, backend: str) -> dict:
    """One size through ``run(stream=True)``: per-stage seconds (from ``run.json``), peak tree RSS, and the task
    types against the generator's truth (ARI, homogeneity; calls of tasks, not of templates)."""
    import polars as pl
    from slmprofile.embed import Embedder
    from slmprofile.pipeline import run

    out: dict = {"n": n, "stages": {}}
    t = time.perf_counter()
    logs_dir = workdir / f"sample_{n}"
    if not (logs_dir / "truth.csv").exists():  # in a subprocess: the generator's memory is not the pipeline's
        subprocess.run([sys.executable, "-m", "slmprofile", "sample", "--out", str(logs_dir), "--n-calls", str(n)],
                       check=True, stdout=subprocess.DEVNULL)
    generate_s = time.perf_counter() - t
    memory = _TreeMemory()

    def on_stage(name: str) -> None:
        memory.stage = _STAGE_KEYS.get(name, name)
        if memory.stage == "embed_task_types":
            memory.peaks.setdefault("write_logs", memory.peaks.get("redact", 0.0))

    result = run([logs_dir / "logs"], workdir / f"run_{n}", stream=True, router=False, on_stage=on_stage,
                 overwrite=True, embedder=Embedder(backend=backend, cache_dir=workdir / "cache", progress=True))
    memory.stop()
    timings = {"generate": generate_s, **result.timings}
    for name in STAGES["stream"]:
        if name in timings:
            out["stages"][name] = {"seconds": timings[name], "peak_mb": memory.peaks.get(name, float("nan"))}
    truth = pl.read_csv(logs_dir / "truth.csv", columns=["id", "task_type"]).rename({"task_type": "truth"})
    scored = result.task_types.clusters.join(truth, on="id")
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    out["quality"] = {"ari": adjusted_rand_score(scored["truth"], scored["cluster_id"]),
                      "homogeneity": homogeneity_score(scored["truth"], scored["cluster_id"])}
    summary = result.task_types.summary if result.task_types is not None else {}
    out["calls"] = result.report.rows_out
    out["distinct"] = summary.get("prompts", 0)
    out["task_types"] = summary.get("task_types", 0)
    out["families"] = summary.get("families", 0)
    out["embed_backend"] = (json.loads((workdir / f"run_{n}" / "run.json").read_text())["embedding"]
                            .get("backend", backend))
    out["sampled"] = summary.get("sampled", {})
    out["peak_mb"] = max(memory.peaks.values())
    return out


def measure(n: int, workdir: Path, backend: str) -> dict:
    """One size, in this process: per-stage seconds and peak RSS."""
    import polars as pl

    from slmprofile.cluster import discover_task_types
    from slmprofile.embed import Embedder
    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.redact import redact_parts
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


def _run(n: int, workdir: Path, backend: str, mode: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--measure", str(n), str(workdir), backend, mode],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"size {n} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--mode", choices=("stream", "full"), default="stream")
    parser.add_argument("--backend", default="auto", help="embedding backend: torch, onnx, onnx-int8 or auto")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data, parts and the embedding cache here")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        n, workdir, backend, mode = args.measure
        fn = measure_stream if mode == "stream" else measure
        print(json.dumps(fn(int(n), Path(workdir), backend)))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="slmprofile-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        res = _run(n, workdir, args.backend, args.mode)
        rows.append(res)
        print(f"\n{n:,} calls requested: {res['calls']:,} kept, {res['distinct']:,} distinct prompts, "
              f"{res['task_types']} task types in {res.get('families', '?')} families, "
              f"embedding backend {res['embed_backend']}")
        if res.get("sampled"):
            print(f"  sampled: {res['sampled']}")
        if res.get("quality"):
            print(f"  task types vs the generator's tasks: ARI {res['quality']['ari']:.3f}, "
                  f"homogeneity {res['quality']['homogeneity']:.3f}; peak memory {res['peak_mb']:,.0f} MB")
        print(f"  {'stage':<17} {'seconds':>9} {'peak MB':>9}")
        for name, s in res["stages"].items():
            peak = "-" if s["peak_mb"] != s["peak_mb"] else f"{s['peak_mb']:,.0f}"  # NaN: shorter than a sample
            print(f"  {name:<17} {s['seconds']:>9.1f} {peak:>9}")
        print(f"  {'total':<17} {sum(s['seconds'] for s in res['stages'].values()):>9.1f}", flush=True)
    stages = [s for s in STAGES[args.mode] if all(s in r["stages"] for r in rows)]
    if len(rows) > 1:
        print("\ngrowth exponent per stage (1 = linear in calls):")
        print("  " + " ".join(f"{name[:12]:>12}" for name in stages) + "   sizes")
        for a, b in zip(rows, rows[1:]):
            ratio = math.log(b["calls"] / a["calls"])
            cells = [math.log(max(b["stages"][s]["seconds"], 1e-3) / max(a["stages"][s]["seconds"], 1e-3)) / ratio
                     for s in stages]
            print("  " + " ".join(f"{c:>12.2f}" for c in cells) + f"   {a['calls']:,} -> {b['calls']:,}")


if __name__ == "__main__":
    main()
