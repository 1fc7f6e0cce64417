"""Router latency and throughput: the exported artifact (fp32 / int8, CPU / CUDA) against the PyTorch path.

End to end means what a service pays per request: tokenise + run the graph + compare with the threshold
(:meth:`slmprofile.runtime.Router.route`). The PyTorch path is sentence-transformers ``encode`` + the fitted head
(when ``head.npz`` is in the router directory) + the threshold, timed in the same process on the same prompts.
CUDA runs when onnxruntime has the CUDA provider and a device answers; otherwise the result says why it was skipped.
"""

from __future__ import annotations

import json

from ..plotting import plain_text
from ..rundir import RunDir
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

logger = logging.getLogger(__name__)

BATCH_SIZES = (1, 8, 32, 128)


PROMPT_SOURCES = ("auto", "intents", "routellm", "sample")


def benchmark_prompts(n: int = 512, *, seed: int = 0, source: str = "auto") -> tuple[str, list[str]]:
    """Realistic prompts for the benchmark, by ``source``:

    - ``intents``: CLINC150 + Banking77 test queries from ../shared/data (short: about 10-20 word pieces, the
      length of a chat request or a ticket line);
    - ``routellm``: MMLU + GSM8K questions from ../shared/data (medium-long: p50 about 70 word pieces, many at the
      256 cap);
    - ``sample``: the bundled sample logs (business prompts, short to long);
    - ``auto``: routellm when ../shared/data is present, else the sample.
    """
    import random

    from ..datasets import load_banking77, load_clinc150, load_routellm, shared_data_dir

    if source not in PROMPT_SOURCES:
        raise ValueError(f"The 'source' parameter must be one of {', '.join(PROMPT_SOURCES)}; got {source!r} "
                         f"instead.")
    rng = random.Random(seed)
    if source == "intents":
        texts = load_clinc150()["text"].to_list() + load_banking77()["text"].to_list()
        source = "intents (CLINC150 + Banking77 test queries)"
    elif source == "routellm" or (source == "auto" and shared_data_dir() is not None):
        texts = load_routellm()["text"].to_list()
        source = "routellm (MMLU + GSM8K prompts)"
    else:
        from ..ingest import ingest

        root = Path(__file__).resolve().parents[2] / "data" / "logs"
        if not root.is_dir():
            raise FileNotFoundError("no prompts to benchmark: pass texts, or keep data/logs or ../shared/data")
        texts = [t for t in ingest([root], estimate=False, templates=False).frame["prompt_text"].to_list() if t]
        source = "bundled sample logs (data/logs)"
    rng.shuffle(texts)
    return source, texts[:n]


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    import numpy as np

    arr = np.asarray(ms, dtype=np.float64)
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95)),
            "p99_ms": float(np.percentile(arr, 99)), "mean_ms": float(arr.mean())}


def _time_calls(fn: Callable[[list[str]], Any], texts: list[str], batch: int, *, min_calls: int, max_seconds: float,
                warmup: int) -> dict[str, Any]:
    n = len(texts)
    batches = [[texts[(start + j) % n] for j in range(batch)] for start in range(0, max(n, batch * min_calls), batch)]
    for b in batches[:warmup]:
        fn(b)
    times: list[float] = []
    began = time.perf_counter()
    i = 0
    min_calls = max(10, min_calls // batch) if batch > 1 else min_calls  # big batches: fewer, long calls
    while len(times) < min_calls or (time.perf_counter() - began < max_seconds and i < len(batches) * 4):
        b = batches[i % len(batches)]
        t = time.perf_counter()
        fn(b)
        times.append((time.perf_counter() - t) * 1000)
        i += 1
        if time.perf_counter() - began > max_seconds and len(times) >= min_calls:
            break
    total = sum(times) / 1000
    return {"calls": len(times), "prompts_per_s": len(times) * batch / total, **_percentiles(times)}


@dataclass
class BenchResult:
    """Rows (one per path x device x variant x batch size), skipped paths with reasons, and the environment."""

    rows: list[dict[str, Any]]
    skipped: list[str]
    environment: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)

    def ratio(self, row: dict[str, Any]) -> float | None:
        """PyTorch-path p50 / this row's p50 at the same batch size (how many times faster)."""
        base = [r for r in self.rows if r["path"] == "pytorch" and r["batch"] == row["batch"]]
        return base[0]["p50_ms"] / row["p50_ms"] if base and row["p50_ms"] > 0 else None

    def table(self) -> Any:
        """A rich table with the ratios against the PyTorch path."""
        from rich.table import Table

        table = Table("path", "device", "variant", "batch", "p50 ms", "p95 ms", "p99 ms", "prompts/s",
                      "x PyTorch (p50)", title="router end to end: tokenise + infer + threshold")
        auto = self.environment.get("auto_variant") or {}
        for row in self.rows:
            ratio = self.ratio(row)
            default = row["path"] == "onnx" and (auto.get(row["device"]) or {}).get("variant") == row["variant"]
            variant = row["variant"] + (" (auto)" if default else "")
            table.add_row(row["path"], row["device"], variant, str(row["batch"]), f"{row['p50_ms']:.2f}",
                          f"{row['p95_ms']:.2f}", f"{row['p99_ms']:.2f}", f"{row['prompts_per_s']:,.0f}",
                          "-" if ratio is None else f"{ratio:.1f}x")
        return table

    def auto_lines(self) -> list[str]:
        """One line per device: the variant ``Router.load(variant="auto")`` (the default) picks here, and why."""
        lines = []
        for device, choice in (self.environment.get("auto_variant") or {}).items():
            timed = ", ".join(f"{t['batch']}x{t['length']} pieces: int8 {t['int8_ms']:.2f} ms / fp32 "
                              f"{t['fp32_ms']:.2f} ms = {t['int8_over_fp32']:.2f}" for t in choice.get("timings", []))
            if choice.get("variant") is None:
                lines.append(f"{device}: variant 'auto' (the default of Router.load): {choice.get('rule', '')}")
                continue
            lines.append(f"{device}: variant 'auto' (the default of Router.load) picks {choice['variant']} here "
                         f"({choice.get('rule', '')}{'; ' + timed if timed else ''})")
        return lines

    def to_json(self) -> dict[str, Any]:
        rows = [{**r, "speedup_vs_pytorch_p50": self.ratio(r)} for r in self.rows]
        return {"rows": rows, "skipped": self.skipped, "environment": self.environment}

    def write(self, directory: str | Path) -> dict[str, Path]:
        """``bench.json`` and ``bench.png`` under ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / RunDir.ROUTER_BENCH).write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        self.files["json"] = directory / RunDir.ROUTER_BENCH
        self.files["plot"] = plot_benchmark(self, directory / RunDir.ROUTER_BENCH_PLOT)
        return self.files


@plain_text
def plot_benchmark(result: BenchResult, path: str | Path) -> Path:
    """p50 latency and throughput against batch size, one line per path / device / variant (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax_l, ax_t) = plt.subplots(1, 2, figsize=(10, 4))
    keys = sorted({(r["path"], r["device"], r["variant"]) for r in result.rows})
    for key in keys:
        rows = sorted((r for r in result.rows if (r["path"], r["device"], r["variant"]) == key), key=lambda r: r["batch"])
        label = " ".join(k for k in key if k)
        ax_l.plot([r["batch"] for r in rows], [r["p50_ms"] for r in rows], marker="o", label=label)
        ax_t.plot([r["batch"] for r in rows], [r["prompts_per_s"] for r in rows], marker="o", label=label)
    for ax, ylabel in ((ax_l, "p50 latency per call (ms)"), (ax_t, "prompts / s")):
        ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel=ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_l.legend(fontsize=8)
    fig.suptitle("router end to end (tokenise + infer + threshold)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _static_path(directory: Path, threshold: float) -> tuple[str, Callable[[list[str]], Any]]:
    """A static router's reference: :class:`~slmprofile.static_embed.StaticEmbedder` (numpy) + head + threshold."""
    from ..static_embed import STATIC_DIR, StaticEmbedder
    from .features import RouterFeatures, encoder_tokenizer, tokenize_for_router
    from .train import SlmRouter

    embedder = StaticEmbedder(directory / STATIC_DIR)
    head_path = directory / RunDir.ROUTER_HEAD
    if not head_path.is_file():
        return "numpy static encoder only (no head.npz)", embedder.encode
    router = SlmRouter.load(head_path)
    tokenizer, max_length = encoder_tokenizer(directory / STATIC_DIR)

    def route(texts: list[str]) -> Any:
        ids, mask = tokenize_for_router(texts, tokenizer)
        feats = RouterFeatures(embedder.encode(texts), ids, mask, router.vocab_size_, max_length)
        return router.predict_proba(feats) >= threshold

    return "numpy static + head", route


def _pytorch_path(directory: Path, threshold: float, device: str) -> tuple[str, Callable[[list[str]], Any]]:
    """sentence-transformers encode + head + threshold, or encode only when the directory has no head.npz; for a
    static router, its numpy reference (:func:`_static_path`)."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from ..embed import default_model_path
    from .features import RouterFeatures, encoder_tokenizer, tokenize_for_router
    from .train import SlmRouter

    from ..static_embed import STATIC_DIR, is_static_folder
    from .finetune import ENCODER_DIR

    if is_static_folder(directory / STATIC_DIR):
        return _static_path(directory, threshold)
    encoder = directory / ENCODER_DIR if (directory / ENCODER_DIR / "config.json").is_file() else default_model_path()
    model = SentenceTransformer(str(encoder), device=device, local_files_only=True)
    head_path = directory / RunDir.ROUTER_HEAD
    if not head_path.is_file():
        def encode_only(texts: list[str]) -> Any:
            return model.encode(texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True)

        return "pytorch encoder only (no head.npz)", encode_only
    router = SlmRouter.load(head_path)
    tokenizer, max_length = encoder_tokenizer(encoder)

    def route(texts: list[str]) -> Any:
        emb = model.encode(texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True)
        ids, mask = tokenize_for_router(texts, tokenizer)
        feats = RouterFeatures(np.asarray(emb, np.float32), ids, mask, router.vocab_size_, max_length)
        return router.predict_proba(feats) >= threshold

    return "pytorch", route


def _cuda_session_ok(directory: Path) -> str | None:
    """None when a CUDA session starts, else the reason it cannot."""
    import onnxruntime as ort

    from ..runtime import config_file, read_config

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "skipped: no CUDA device (onnxruntime has no CUDA execution provider; install the 'gpu' extra)"
    model = config_file(directory, read_config(directory), "fp32")  # only a file inside the directory
    try:
        session = ort.InferenceSession(str(model), providers=["CUDAExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - any provider failure means "no usable device"
        return f"skipped: no CUDA device ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    if session.get_providers()[0] != "CUDAExecutionProvider":
        return "skipped: no CUDA device (the CUDA provider fell back to CPU)"
    return None


def run_benchmark(directory: str | Path, *, texts: Sequence[str] | None = None,
                  batch_sizes: Sequence[int] = BATCH_SIZES, variants: Sequence[str] = ("fp32", "int8"),
                  devices: Sequence[str] = ("cpu", "cuda"), threads: int | None = None, pytorch: bool = True,
                  min_calls: int = 30, max_seconds: float = 8.0, warmup: int = 5, n_prompts: int = 512,
                  prompt_source: str = "auto", progress: bool = True) -> BenchResult:
    """Benchmark a router directory end to end (see module docs).

    ``threads``: intra-op threads for onnxruntime and torch (None: their defaults); ``min_calls`` /
    ``max_seconds``: per configuration, at least this many timed calls, and no more time than this once reached.
    """
    import onnxruntime as ort

    from ..errors import SlmprofileError
    from ..runtime import Router, read_config

    directory = Path(directory)
    config = read_config(directory)
    source = "given"
    if texts is None:
        source, texts = benchmark_prompts(n_prompts, source=prompt_source)
    texts = list(texts)
    if not texts:
        raise ValueError("no prompts to benchmark")
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    plan: list[tuple[str, str, str]] = []
    for device in devices:
        if device == "cuda":
            reason = _cuda_session_ok(directory)
            if reason:
                skipped.append(f"cuda: {reason}")
                continue
        for variant in variants:
            if variant != "auto" and variant not in config["files"]:
                skipped.append(f"{device} {variant}: not exported")
                continue
            plan.append(("onnx", device, variant))
    from ..static_embed import STATIC_DIR, is_static_folder

    if pytorch and (config.get("encoder") or {}).get("kind") == "static" and not is_static_folder(directory /
                                                                                               STATIC_DIR):
        skipped.append("reference path: skipped (a static router without its static/ folder beside head.npz)")
    elif pytorch:
        plan.append(("pytorch", "cpu", ""))
    steps = [(p, b) for p in plan for b in batch_sizes]
    iterator: Any = steps
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(steps, desc="router bench", unit="config")
    loaded: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    auto: dict[str, dict[str, Any]] = {}
    for (path, device, variant), batch in iterator:
        key = (path, device, variant)
        if key not in loaded:
            if path == "onnx":
                router = Router.load(directory, variant=variant, device=device, threads=threads)  # type: ignore[arg-type]
                loaded[key] = ("onnx", lambda b, r=router: r.route(b, batch_size=len(b)))
                if variant == "auto":
                    auto[device] = {"variant": router.variant, **(router.variant_choice or {})}
                    loaded[key] = ("onnx", loaded[key][1], f"auto: {router.variant}")
            else:
                import torch

                if threads:
                    torch.set_num_threads(int(threads))
                loaded[key] = _pytorch_path(directory, float(config["threshold"]), device)
        name, fn, *label = loaded[key]
        stats = _time_calls(fn, texts, batch, min_calls=min_calls, max_seconds=max_seconds, warmup=warmup)
        rows.append({"path": name, "device": device, "variant": label[0] if label else variant or "fp32",
                     "batch": batch, **stats})
    for device in dict.fromkeys(d for p, d, _ in plan if p == "onnx"):  # what Router.load() picks by default
        if device not in auto:
            try:
                router = Router.load(directory, variant="auto", device=device, threads=threads)  # type: ignore[arg-type]
            except SlmprofileError as exc:  # e.g. a listed int8 file that is missing: the rows above still stand
                auto[device] = {"variant": None, "rule": f"cannot load: {exc}"}
                continue
            auto[device] = {"variant": router.variant, **(router.variant_choice or {})}
    import numpy as np

    from .features import encoder_tokenizer, tokenize_for_router

    tokenizer, _ = encoder_tokenizer()
    _, mask = tokenize_for_router(texts, tokenizer)
    lengths = mask.sum(axis=1)
    environment = {
        "prompts": len(texts), "prompt_source": source,
        "word_pieces": {"p50": float(np.percentile(lengths, 50)), "p95": float(np.percentile(lengths, 95)),
                        "max": int(lengths.max())},
        "threads": threads, "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(), "python": platform.python_version(),
        "onnxruntime": ort.__version__, "providers_available": ort.get_available_providers(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "auto_variant": auto,
    }
    return BenchResult(rows=rows, skipped=skipped, environment=environment)
