"""Router latency on CPU: the exported ONNX router (fp32, int8) end to end vs the PyTorch path, same process.

    python benchmarks/router_bench.py [ROUTER_DIR ...] [--threads 1] [--batch-sizes 1,8,32,128] [--max-seconds 8]
        [--prompts intents,routellm] [--encoders minilm,static]

Without ROUTER_DIR a router is trained and exported first on RouteLLM (../shared/data) when present, else on the
bundled sample with simulated outcomes, into a temporary directory: one per encoder of ``--encoders`` (``minilm``,
the transformer; ``static``, the static embedding distilled from it), all timed in the same run and summarised side
by side at the end (a static router's reference path is its numpy encoder + head, not PyTorch).
Prints the table of p50/p95/p99 latency and
throughput with each row's speed-up over the PyTorch path (sentence-transformers encode + head + threshold) at the
same batch size, measured in this run, once per prompt set (latency grows with prompt length: short intent
queries and medium-long exam questions are both shown), and writes bench.json / bench.png into
ROUTER_DIR/bench-<prompts>/.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _train_default(directory: Path, encoder: str = "minilm") -> None:
    import numpy as np

    from slmprofile.datasets import load_routellm, shared_data_dir
    from slmprofile.router import SlmRouter, export_router, train_router

    if shared_data_dir() is not None:
        frame = load_routellm()
        frame = frame[np.sort(np.random.default_rng(0).choice(frame.height, size=min(3000, frame.height),
                                                                replace=False))]
        texts, s, f, groups = (frame["text"].to_list(), frame["slm_correct"], frame["frontier_correct"],
                               frame["subject"])
    else:  # the bundled sample with simulated outcomes (the same simulation as the tests)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from test_router import sample_calls

        calls = sample_calls(n=1200)
        texts, s, f, groups = (calls["prompt_text"].to_list(), calls["slm_correct"], calls["frontier_correct"],
                               calls["task_type"])
    result = train_router(texts, s, f, groups=groups, router=SlmRouter(target="share", target_value=0.5),
                          progress=True, encoder=encoder)
    result.write(directory)
    export_router(directory / "head.npz", directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("router", nargs="*", type=Path)
    parser.add_argument("--encoders", default="minilm", help="without ROUTER_DIR: train one router per encoder "
                        "(minilm, static), comma-separated")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-sizes", default="1,8,32,128")
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or all")
    parser.add_argument("--prompts", default="auto",
                        help="comma-separated prompt sets: intents (short), routellm (medium-long), sample (the "
                             "bundled logs) or auto (intents,routellm with ../shared/data, else sample)")
    args = parser.parse_args()

    from rich.console import Console

    from slmprofile.router.bench import run_benchmark

    directories = {(d.name or str(d)) if len({x.name for x in args.router}) == len(args.router) else str(d): d
                   for d in args.router}
    if not directories:
        root = Path(tempfile.mkdtemp(prefix="slmprofile-router-"))
        for encoder in [e for e in args.encoders.split(",") if e]:
            directories[encoder] = root / encoder
            print(f"training and exporting a {encoder} router into {directories[encoder]} ...")
            _train_default(directories[encoder], encoder)
    devices = ("cpu", "cuda") if args.device == "all" else (args.device,)
    from slmprofile.datasets import shared_data_dir

    sources = args.prompts.split(",")
    if sources == ["auto"]:
        sources = ["intents", "routellm"] if shared_data_dir() is not None else ["sample"]
    console = Console()
    summary = []
    for (name, directory), source in [(item, source) for item in directories.items() for source in sources]:
        result = run_benchmark(directory, batch_sizes=[int(b) for b in args.batch_sizes.split(",")],
                               devices=devices, threads=args.threads, max_seconds=args.max_seconds,
                               prompt_source=source)
        env = result.environment
        table = result.table()
        table.title = f"{table.title} - {name} - {env['prompt_source']}"
        summary += [{"router": name, "prompts": source, **r} for r in result.rows]
        console.print(table)
        for line in result.auto_lines() + result.skipped:
            console.print(line)
        console.print(f"prompts: {env['prompts']} from {env['prompt_source']}, word pieces p50 "
                      f"{env['word_pieces']['p50']:.0f} / p95 {env['word_pieces']['p95']:.0f}; threads "
                      f"{env['threads']}; cpus {env['cpu_count']}; load average {env['load_average']}")
        out = directory / f"bench-{source}"
        files = result.write(out)
        console.print(f"wrote {files['json']} and {files['plot']}")
    if len(directories) > 1:
        from rich.table import Table

        table = Table("router", "prompts", "path", "variant", "batch", "p50 ms", "p99 ms", "prompts/s",
                      title="side by side (same run)")
        for r in summary:
            table.add_row(r["router"], r["prompts"], r["path"], r["variant"], str(r["batch"]), f"{r['p50_ms']:.3f}",
                          f"{r['p99_ms']:.3f}", f"{r['prompts_per_s']:,.0f}")
        console.print(table)


if __name__ == "__main__":
    main()
