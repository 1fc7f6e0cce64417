"""The gateway's added latency and throughput on this machine, against fake upstreams that answer at once.

    python benchmarks/gateway.py [--rate 200] [--seconds 10] [--repeats 3] [--router DIR] [--modes shadow,route]

Four processes: the two fake OpenAI upstreams (``python -m slmprofile.testing.fake_openai``), the gateway
(``slmprofile serve``, one uvicorn worker) and this load generator (asyncio streams, open loop: request i leaves at
``i / rate`` seconds whatever the earlier ones do; 2 s of warm-up on the same connections first). For each mode and
each of ``--repeats`` rounds the same load goes straight to the frontier fake (the baseline, timed in the same run)
and then through the gateway; the added latency is the difference of the percentiles, printed as the median over
the rounds with each round's figure; the gateway's own view of it (time outside upstream calls, routing included,
from its ``/metrics`` histogram's bucket bounds, warm-ups included) is printed beside it. Then a closed loop (32 clients, as fast as they can) gives the requests per second it sustains.
By default the router is the package's tiny router (the gateway's own cost); ``--router`` times an exported one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

KEY = "bench-client-key-0123"
PROMPTS = ["Classify this ticket: one of billing, technical. I was charged twice for my order",
           "Prove the strategy is optimal for the game of nim with three heaps",
           "Summarise the ticket: customer cannot log in after the update, tried resetting the password"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_fake() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "slmprofile.testing.fake_openai", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}/v1"


def _start_gateway(router: Path, frontier: str, slm: str, mode: str, log_dir: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "SLMPROFILE_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "slmprofile", "serve", str(router), "--port", "0", "--mode", mode,
                             "--frontier-base-url", frontier, "--slm-base-url", slm, "--log-dir", str(log_dir),
                             "--variant", "auto"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if " on http" not in line:
        raise SystemExit(f"the gateway did not start: {line}{proc.stderr.read()}")
    return proc, line.split(" on ", 1)[1].split(",")[0].strip()


class _Client:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams, for the load only.

    httpx's connection pool spends CPU that grows with the number of requests waiting on it; on 2 shared cores a
    short stall then feeds on itself and the load generator, not the server under test, sets the tail. This client
    costs a few microseconds per request, the same for the baseline and the gateway."""

    def __init__(self, base_url: str) -> None:
        rest = base_url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        self.host, _, port = hostport.rpartition(":")
        self.port = int(port)
        self.path = "/" + path.rstrip("/") + "/chat/completions"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, body: bytes) -> int:
        while self.idle:  # a kept-alive connection the server has since closed is retried on a new one, as
            reader, writer = self.idle.pop()  # every HTTP client does
            try:
                return await self._exchange(reader, writer, body)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return await self._exchange(reader, writer, body)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> int:
        writer.write(f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {KEY}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def _body(text: str) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


async def _open_loop(base_url: str, rate: float, seconds: float, warm_up_s: float = 2.0) -> dict:
    """``rate`` requests a second for ``seconds``, after ``warm_up_s`` of the same load on the same connections
    (not measured: the first second opens connections, and the servers start a thread or a task for each)."""
    n = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    failures: dict[str, int] = {}
    client = _Client(base_url)

    async def one(i: int, at: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        start = time.perf_counter()
        try:
            status = await client.post(_body(f"{PROMPTS[i % 3]} ({i})"))
            ok = status == 200
            if not ok:
                failures[f"HTTP {status}"] = failures.get(f"HTTP {status}", 0) + 1
        except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as exc:
            failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            ok = False
        latencies.append(time.perf_counter() - start)
        errors += not ok

    if warm_up_s > 0:
        t0 = time.perf_counter() + 0.1
        await asyncio.gather(*(one(i, t0 + i / rate) for i in range(int(rate * warm_up_s))))
        latencies.clear()
        errors = 0
        failures.clear()
    t0 = time.perf_counter() + 0.2
    await asyncio.gather(*(one(i, t0 + i / rate) for i in range(n)))
    wall = time.perf_counter() - t0
    client.close()
    return {"requests": n, "errors": errors, "failures": failures, "achieved_rps": n / wall,
            **_percentiles(latencies)}


async def _closed_loop(base_url: str, clients: int, seconds: float) -> dict:
    done = 0
    end = time.perf_counter() + seconds
    client = _Client(base_url)

    async def worker(w: int) -> None:
        nonlocal done
        while time.perf_counter() < end:
            await client.post(_body(PROMPTS[w % 3]))
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    client.close()
    return {"clients": clients, "rps": done / (time.perf_counter() - start)}


def _percentiles(values: list[float]) -> dict:
    import numpy as np

    a = np.asarray(values) * 1e3
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99))}


def _overhead(base_url: str) -> dict:
    """The gateway's own histogram of time outside upstream calls: p50/p99 read off its buckets (upper bounds)."""
    import httpx

    text = httpx.get(base_url.removesuffix("/v1") + "/metrics").text
    buckets = []
    for line in text.splitlines():
        if line.startswith("slmprofile_gateway_overhead_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0
    out = {}
    for q in (0.5, 0.99):
        out[f"overhead_p{int(q * 100)}_ms_at_most"] = next((le * 1e3 for le, c in buckets if c >= q * total), None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--router", type=Path, default=None)
    parser.add_argument("--modes", default="shadow,route")
    parser.add_argument("--repeats", type=int, default=3, help="Paired baseline + gateway runs per mode.")
    parser.add_argument("--out", type=Path, default=None, help="Write the results as JSON here too.")
    args = parser.parse_args()
    from slmprofile.testing.tiny_router import build_tiny_router

    work = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    router = args.router or build_tiny_router(work / "router")
    frontier, frontier_url = _start_fake()
    slm, slm_url = _start_fake()
    results = {"rate": args.rate, "seconds": args.seconds, "repeats": args.repeats, "router": str(args.router or "tiny"), "cpus": os.cpu_count(),
               "modes": {}}
    try:
        for mode in args.modes.split(","):
            gateway, url = _start_gateway(router, frontier_url, slm_url, mode, work / f"logs-{mode}")
            runs = []
            try:
                for _ in range(args.repeats):  # paired: the baseline right before each gateway run
                    baseline = asyncio.run(_open_loop(frontier_url, args.rate, args.seconds))
                    through = asyncio.run(_open_loop(url, args.rate, args.seconds))
                    runs.append({"direct": baseline, "gateway": through,
                                 "added_p50_ms": through["p50_ms"] - baseline["p50_ms"],
                                 "added_p99_ms": through["p99_ms"] - baseline["p99_ms"]})
                overhead = _overhead(url)
                closed = asyncio.run(_closed_loop(url, 32, min(args.seconds, 5.0)))
                health = json.loads(urllib.request.urlopen(url.removesuffix("/v1") + "/health", timeout=10).read())
            finally:
                gateway.terminate()
                gateway.wait(timeout=60)
            added99 = [r["added_p99_ms"] for r in runs]
            added50 = [r["added_p50_ms"] for r in runs]
            row = {"runs": runs, **overhead, "closed_loop": closed, "router_ms": health.get("router_ms"),
                   "router_inline": health.get("router_inline"),
                   "added_p50_ms_median": statistics.median(added50), "added_p99_ms_median": statistics.median(added99),
                   "added_p99_ms_min": min(added99), "added_p99_ms_max": max(added99),
                   "errors": sum(r["gateway"]["errors"] for r in runs)}
            results["modes"][mode] = row
            print(f"{mode:>6}: {args.rate:g} req/s, {args.repeats} x {args.seconds:g} s, router "
                  f"{health.get('router_ms')} ms/call ({'inline' if health.get('router_inline') else 'thread'}) | "
                  f"direct p99 {statistics.median(r['direct']['p99_ms'] for r in runs):.2f} ms | added p50 "
                  f"{row['added_p50_ms_median']:.2f} ms, p99 {row['added_p99_ms_median']:.2f} ms (median; runs "
                  + ", ".join(f"{x:.2f}" for x in added99) + f") | errors {row['errors']} | gateway's own view "
                  f"p50 <= {overhead['overhead_p50_ms_at_most']} ms, p99 <= {overhead['overhead_p99_ms_at_most']} ms"
                  f" | closed loop {closed['rps']:.0f} req/s", flush=True)
    finally:
        for proc in (frontier, slm):
            proc.terminate()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
