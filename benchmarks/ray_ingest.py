"""Parsing large logs on Ray workers against the one-process streaming reader, same logs, same run.

    python benchmarks/ray_ingest.py LOGS [--cpus 2] [--out DIR] [--chunk-rows 50000]

``LOGS``: log files or directories (several files: the workers parse them side by side; e.g. the generator's
``python -m slmprofile.sample --calls 1000000``). Three timings, in this order, each into its own directory:

- ``one process``: :func:`slmprofile.ingest.ingest_to_parquet` (the local engine's ``--stream`` ingest), the
  baseline;
- ``ray``: :meth:`slmprofile.engines.ray_engine.RayEngine.ingest_parts` on a local Ray instance of ``--cpus`` CPUs,
  each round timed (parse per file, duplicate ids per bucket, drop + sample per part, templates + outcomes per part);
- the redaction of the Ray parts by the workers, in place (:meth:`RayEngine.redact_parts`).

Also printed: the calls per second per CPU of each round (what the capacity estimate in ``docs/scale.md`` rests on)
and the driver's peak resident memory during the Ray ingest (sampled every 0.2 s: the driver holds reports and one
sample, not the calls), next to the one-process reader's. The two outputs are checked equal (calls and report).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class PeakRss:
    """Peak resident memory of this process while the block runs (sampled)."""

    def __init__(self, every: float = 0.2) -> None:
        import psutil

        self.process = psutil.Process()
        self.every = every
        self.peak = 0
        self._stop = threading.Event()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="where the parts go (default: a temporary directory)")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    import polars as pl
    import ray

    from slmprofile.engines.ray_engine import RayEngine
    from slmprofile.ingest import ingest_to_parquet

    out = args.out or Path(tempfile.mkdtemp(prefix="ray-ingest-"))
    figures: dict[str, object] = {"cpus": args.cpus, "logs": args.logs}

    # the baseline: one process, as the local engine's --stream ingest (without its child process)
    with PeakRss() as rss:
        started = time.perf_counter()
        one = ingest_to_parquet(args.logs, out / "one", chunk_rows=args.chunk_rows)
        figures["one_process_s"] = round(time.perf_counter() - started, 1)
    figures["one_process_peak_mb"] = round(rss.peak / 2**20)
    calls = one.report.rows_out
    lines = one.report.rows_read
    figures.update(calls=calls, lines=lines)
    print(f"one process: {figures['one_process_s']} s for {lines:,} lines ({calls:,} calls), "
          f"peak {figures['one_process_peak_mb']} MB", flush=True)

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    engine = RayEngine()
    engine.start()
    rounds: dict[str, float] = {}
    timed_run = engine.run_tasks

    def run_tasks(fn, calls_, desc, progress=False):  # noqa: ANN001, ANN202 - times each round
        begun = time.perf_counter()
        yield from timed_run(fn, calls_, desc, progress)
        rounds[desc] = round(time.perf_counter() - begun, 1)

    engine.run_tasks = run_tasks  # type: ignore[method-assign]
    base_rss = PeakRss().process.memory_info().rss
    with PeakRss() as rss:
        started = time.perf_counter()
        on_ray = engine.ingest_parts(args.logs, out / "ray", chunk_rows=args.chunk_rows)
        figures["ray_s"] = round(time.perf_counter() - started, 1)
    figures["ray_driver_peak_mb"] = round(rss.peak / 2**20)
    figures["ray_driver_before_mb"] = round(base_rss / 2**20)
    figures["rounds_s"] = dict(rounds)
    figures["parse"] = engine.info_.get("parse")
    print(f"ray ({args.cpus} CPUs, parse: {figures['parse']}): {figures['ray_s']} s; rounds {rounds}; driver peak "
          f"{figures['ray_driver_peak_mb']} MB ({figures['ray_driver_before_mb']} MB before)", flush=True)
    started = time.perf_counter()
    redactions = engine.redact_parts(on_ray.parts)
    figures["ray_redact_s"] = round(time.perf_counter() - started, 1)
    print(f"redaction on the workers: {figures['ray_redact_s']} s ({sum(redactions.values()):,} findings)")

    a, b = one.report.to_dict(), on_ray.report.to_dict()
    a.pop("seconds"), b.pop("seconds")
    same_report = a == b
    same_calls = (on_ray.scan().select(pl.len()).collect().item() == calls
                  and on_ray.scan().select("id").collect()["id"].equals(one.scan().select("id").collect()["id"]))
    figures.update(same_report=same_report, same_ids_in_order=same_calls)
    per_cpu = {desc: round(lines / secs / args.cpus) for desc, secs in rounds.items() if secs}
    figures["lines_per_s_per_cpu"] = per_cpu
    figures["ratio_one_process_over_ray"] = round(figures["one_process_s"] / figures["ray_s"], 2)  # type: ignore[operator]
    print(f"same report: {same_report}; same ids in the same order: {same_calls}")
    print(f"lines/s per CPU by round: {per_cpu}; one process / ray: {figures['ratio_one_process_over_ray']}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    ray.shutdown()


if __name__ == "__main__":
    main()
