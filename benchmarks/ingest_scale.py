"""Ingest throughput and peak memory on synthetic logs of 10k .. 5M lines.

    python benchmarks/ingest_scale.py [--sizes 10000,100000,1000000] [--keep DIR] [--stream-only]

Lines are OpenAI request/response pairs made from the bundled sample's own lines (``data/logs/openai_chat.jsonl``)
with fresh ids and varied numbers, so prompts repeat at a realistic rate. Each size runs in a fresh subprocess so
its peak RSS is its own. Baselines in the same subprocess: a bare ``json.loads`` loop over the file (the least any
reader must do; rows/s ratio) and ``polars.read_ndjson`` of the whole file (what loading the raw JSON at once costs;
peak-memory ratio). ``stream`` is :func:`slmprofile.ingest.ingest_to_parquet` (Parquet parts, bounded memory);
``--stream-only`` skips the in-memory readers (for sizes whose whole frame would not fit).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_DIGITS = re.compile(r"\d+")


def write_synthetic(path: Path, n: int, *, seed: int = 0) -> None:
    """``n`` openai_chat lines from the sample's lines, new ids, numbers re-drawn in ~70 % of prompts."""
    rng = random.Random(seed)
    base = []
    for line in (ROOT / "data" / "logs" / "openai_chat.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            base.append(json.loads(line))
        except ValueError:
            continue
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            rec = json.loads(json.dumps(base[rng.randrange(len(base))]))
            msgs = rec["request"]["messages"]
            last = msgs[-1]
            if isinstance(last.get("content"), str) and rng.random() < 0.7:
                last["content"] = _DIGITS.sub(lambda m: str(rng.randrange(10 ** len(m.group()))), last["content"])
            if rec.get("response"):
                rec["response"]["id"] = f"bench-{i}"
            else:
                rec["request_id"] = f"bench-{i}"
            out.write(json.dumps(rec) + "\n")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: str, mode: str) -> None:
    """Run in a subprocess: one measurement, printed as JSON."""
    t = time.perf_counter()
    if mode == "json":
        n = 0
        with open(path, "rb") as handle:
            for line in handle:
                json.loads(line)
                n += 1
    elif mode == "read_ndjson":
        import polars as pl

        n = pl.read_ndjson(path).height
    elif mode == "stream":
        from slmprofile.ingest import ingest_to_parquet

        with tempfile.TemporaryDirectory() as tmp:
            n = ingest_to_parquet(path, tmp).report.rows_out
    else:
        from slmprofile.ingest import ingest

        n = ingest(path).frame.height
    print(json.dumps({"rows": n, "seconds": time.perf_counter() - t, "peak_mb": _peak_mb()}))


def _run(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), mode], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{mode} on {path} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--keep", type=Path, default=None, help="write the synthetic files here and keep them")
    parser.add_argument("--stream-only", action="store_true", help="only the streaming reader (and json.loads)")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="slmprofile-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'lines':>10} {'MB':>7} {'json.loads rows/s':>18} {'ingest s':>9} {'rows/s':>9} {'ratio':>6} "
          f"{'peak MB':>8} {'read_ndjson peak MB':>20} {'mem ratio':>9} {'stream s':>9} {'stream rows/s':>13} "
          f"{'stream peak MB':>15}")
    for n in (int(s) for s in args.sizes.split(",")):
        path = workdir / f"synthetic_{n}.jsonl"
        if not path.exists():
            write_synthetic(path, n)
        size_mb = path.stat().st_size / 1e6
        base = _run(path, "json")
        base_rate = base["rows"] / base["seconds"]
        cells = ["-"] * 6
        if not args.stream_only:
            ours = _run(path, "ingest")
            raw = _run(path, "read_ndjson")
            rate = ours["rows"] / ours["seconds"]
            cells = [f"{ours['seconds']:.1f}", f"{rate:,.0f}", f"{rate / base_rate:.2f}", f"{ours['peak_mb']:,.0f}",
                     f"{raw['peak_mb']:,.0f}", f"{ours['peak_mb'] / raw['peak_mb']:.2f}"]
        stream = _run(path, "stream")
        print(f"{n:>10,} {size_mb:>7.0f} {base_rate:>18,.0f} {cells[0]:>9} {cells[1]:>9} {cells[2]:>6} "
              f"{cells[3]:>8} {cells[4]:>20} {cells[5]:>9} {stream['seconds']:>9.1f} "
              f"{stream['rows'] / stream['seconds']:>13,.0f} {stream['peak_mb']:>15,.0f}", flush=True)
        if args.keep is None:
            path.unlink()


if __name__ == "__main__":
    main()
