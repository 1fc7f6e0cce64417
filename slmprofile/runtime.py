"""Minimal router runtime: numpy + onnxruntime + tokenizers only (no torch, no polars, no sentence-transformers).

A router directory written by :func:`slmprofile.router.export_router` holds ``router.onnx`` (fp32),
``router.int8.onnx`` (dynamic int8), ``tokenizer.json`` and ``router.json`` (threshold, labels, metadata). Loading
reads JSON and ONNX only: nothing is unpickled, no code from the directory is executed, and only files inside
the directory are opened (names in ``router.json`` that are absolute, have ``..`` or resolve outside it are refused).
The folder's file names and the checks on ``router.json`` live in :mod:`slmprofile.artifact`.

>>> from slmprofile.runtime import Router
>>> router = Router.load("out/router", threads=1)  # variant="auto": int8 where it is faster here  # doctest: +SKIP
>>> result = router.route(["Classify this ticket: my invoice is wrong", "Draft our 5-year strategy"])  # doctest: +SKIP
>>> result.decisions, result.p_slm                                       # doctest: +SKIP
(['slm', 'frontier'], array([0.97, 0.41], dtype=float32))

One :class:`Router` can serve many threads at once (a web service): ``route`` keeps no state between calls,
onnxruntime sessions allow concurrent ``run`` calls and the tokenizer is only read. This module has no global state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from .artifact import TOKENIZER_FILE, config_file, first_line, is_number, read_config
# The router folder's contract (file names, router.json checks) lives in .artifact; still importable from here:
from .artifact import (
    ARTIFACT_FILES as ARTIFACT_FILES,
    ARTIFACT_FORMAT as ARTIFACT_FORMAT,
    ARTIFACT_VERSION as ARTIFACT_VERSION,
    CONFIG_FIELDS as CONFIG_FIELDS,
    CONFIG_FILE as CONFIG_FILE,
    FILE_NAME as FILE_NAME,
    ONNX_FP32 as ONNX_FP32,
    ONNX_INT8 as ONNX_INT8,
    THRESHOLD_SLACK as THRESHOLD_SLACK,
    check_config as check_config,
    field_error as field_error,
    resolve_inside as resolve_inside,
)
from .errors import RouterFileError, SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

SLM = "slm"
FRONTIER = "frontier"
NOVEL = "novel"
Variant = Literal["auto", "fp32", "int8"]
Device = Literal["cpu", "cuda", "auto"]


def configure_tokenizer(tokenizer: Any, max_length: int) -> Any:
    """Set ``tokenizer`` (a ``tokenizers.Tokenizer``) to truncate to ``max_length`` word pieces, no padding.

    The same set-up is used when training (token counts, bag of word pieces) and at run time, and it matches
    sentence-transformers' own truncation, so the router sees the same tokens everywhere.
    """
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def load_tokenizer(path: str | Path, max_length: int) -> Any:
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json`` set up by :func:`configure_tokenizer`."""
    from tokenizers import Tokenizer

    return configure_tokenizer(Tokenizer.from_file(str(path)), max_length)


def pad_batch(encodings: Sequence[Any], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 arrays ``(batch, longest)`` from ``tokenizers`` encodings.

    Padding goes to the longest sequence of the batch only, so a batch of one is never padded.
    """
    import numpy as np

    longest = max((len(e.ids) for e in encodings), default=0)
    ids = np.full((len(encodings), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), longest), dtype=np.int64)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = 1
    return ids, mask


@dataclass(frozen=True)
class RouteResult:
    """Routing decisions for a batch of texts.

    ``to_slm[i]`` is True when text ``i`` goes to the small model; ``p_slm[i]`` is the calibrated probability
    that sending it to the SLM loses nothing compared with the frontier model; ``score[i]`` the raw router score
    (the calibration's input; higher = more SLM-suitable); ``threshold`` the ``p_slm`` cut used. With a novelty
    guard (routers exported since it exists): ``novelty[i]`` is the text's distance to the training traffic and
    ``novel[i]`` is True when it is beyond ``novelty_threshold``; such texts go to the frontier model whatever
    their ``p_slm`` (reason ``novel``).
    """

    to_slm: np.ndarray
    p_slm: np.ndarray
    score: np.ndarray
    threshold: float
    novelty: np.ndarray | None = None
    novel: np.ndarray | None = None
    novelty_threshold: float | None = None

    @property
    def decisions(self) -> list[str]:
        """``"slm"`` or ``"frontier"`` per text."""
        return [SLM if flag else FRONTIER for flag in self.to_slm.tolist()]

    @property
    def reasons(self) -> list[str]:
        """Why each text goes where it goes: ``slm`` (p_slm at or above the threshold), ``frontier`` (below it)
        or ``novel`` (farther from the training traffic than the guard allows: frontier)."""
        novel = self.novel.tolist() if self.novel is not None else [False] * len(self.p_slm)
        return [NOVEL if is_novel else SLM if flag else FRONTIER for flag, is_novel in zip(self.to_slm.tolist(), novel)]

    @property
    def novel_share(self) -> float | None:
        """Share of texts the novelty guard sent to the frontier model (None without a guard)."""
        if self.novel is None:
            return None
        return float(self.novel.mean()) if len(self.novel) else 0.0

    def __len__(self) -> int:
        return len(self.p_slm)


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "auto":
        device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in available:
            raise SlmprofileError("CUDA execution provider not available in this onnxruntime (install the GPU "
                                  "extra: pip install 'slmprofile[gpu]', and check the CUDA driver); available: "
                                  + ", ".join(available))
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(f"The 'device' parameter must be 'cpu', 'cuda' or 'auto'; got {device!r} instead.")


def session_options(threads: int | None = None) -> Any:
    """onnxruntime session options tuned for low-latency routing: all graph optimisations, ``threads`` intra-op
    threads (None: onnxruntime's default, one per physical core), one inter-op thread, sequential execution."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.log_severity_level = 3
    return opts


#: ``variant="auto"``: the (batch, word pieces) inputs timed at load, each ``AUTO_ROUNDS`` times per variant.
AUTO_SHAPES = ((1, 16), (1, 64))
AUTO_ROUNDS = 7
#: ``variant="auto"`` picks int8 only when its time is at most this share of fp32's (geometric mean over the timed
#: inputs): int8 moves ``p_slm`` a little (see ``router.json`` ``int8``), so a gain within the timing noise is not
#: taken ...
AUTO_INT8_MAX_RATIO = 0.95
#: ... and no single input took int8 longer than this share of fp32's time (above 1 only by the timing noise of one
#: input: 1.06 was seen where int8 is 0.8x fp32 on average).
AUTO_INT8_MAX_RATIO_ANY = 1.1


def choose_variant(sessions: dict[str, Any], *, vocab_size: int, max_length: int,
                   shapes: Sequence[tuple[int, int]] = AUTO_SHAPES, rounds: int = AUTO_ROUNDS) -> dict[str, Any]:
    """The variant ``Router.load(variant="auto")`` runs: ``int8`` only where it is faster than ``fp32`` here.

    Whether int8 pays depends on the CPU (int8 dot-product instructions such as VNNI, cache sizes) and on how
    many threads share it, which no CPU flag predicts reliably, so both sessions (``sessions``: ``{"fp32": ...,
    "int8": ...}``, built with the options the router will run with) are timed on the same made-up token ids, for
    each ``(batch, length)`` in ``shapes``: two warm-up runs each, then ``rounds`` rounds of one run each, in
    alternating order. Each variant's time is its fastest run: other work on the machine only ever adds time, so
    the fastest run is the steadiest estimate (on a busy 2-core machine the median of the paired ratios swung
    between 0.50 and 0.94 from one load to the next, the ratio of the fastest runs between 0.70 and 0.77). int8 is
    chosen when the geometric mean of the ratios int8 / fp32 over the shapes is at most
    :data:`AUTO_INT8_MAX_RATIO` and none is above :data:`AUTO_INT8_MAX_RATIO_ANY`. About 0.1-0.5 s on a 2-core CPU.

    Returns ``{"variant", "int8_over_fp32" (the geometric mean), "rule", "timings": [{"batch", "length",
    "fp32_ms", "int8_ms", "int8_over_fp32"}, ...]}``.
    """
    import time

    import numpy as np

    timings = []
    for batch, length in shapes:
        length = max(1, min(int(length), int(max_length)))
        ids = (np.arange(batch * length, dtype=np.int64).reshape(batch, length) * 7919 + 1000) % max(vocab_size, 1)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        runs: dict[str, Any] = {}
        for name, session in sessions.items():
            feed = {i.name: feeds[i.name] for i in session.get_inputs()}
            runs[name] = (session, feed)
            for _ in range(2):
                session.run(None, feed)
        times: dict[str, list[float]] = {name: [] for name in sessions}
        for r in range(rounds):
            for name in (list(sessions) if r % 2 == 0 else list(reversed(list(sessions)))):
                session, feed = runs[name]
                began = time.perf_counter()
                session.run(None, feed)
                times[name].append(time.perf_counter() - began)
        fp32, int8 = min(times["fp32"]), min(times["int8"])
        timings.append({"batch": int(batch), "length": length, "fp32_ms": fp32 * 1e3, "int8_ms": int8 * 1e3,
                        "int8_over_fp32": int8 / max(fp32, 1e-12)})
    ratios = [t["int8_over_fp32"] for t in timings]
    mean = float(np.exp(np.mean(np.log(ratios)))) if ratios else math.inf
    faster = mean <= AUTO_INT8_MAX_RATIO and max(ratios) <= AUTO_INT8_MAX_RATIO_ANY
    return {"variant": "int8" if faster else "fp32", "int8_over_fp32": mean,
            "rule": f"int8 when its best-of-{rounds} time is <= {AUTO_INT8_MAX_RATIO:g} x fp32's (geometric mean "
                    f"over the inputs timed at load) and <= {AUTO_INT8_MAX_RATIO_ANY:g} x on each",
            "timings": timings}


class Router:
    """A loaded router: tokenizer + ONNX session + threshold. Build it with :meth:`load`.

    Args (of :meth:`load`):
        directory: a router directory (see module docs).
        variant: ``auto`` (default): ``int8`` where it is faster than ``fp32`` on this machine, timed at load
            (:func:`choose_variant`; the choice is :attr:`variant`, the timings :attr:`variant_choice`), ``fp32``
            when the directory has no int8 file; or ``int8`` / ``fp32`` to load that one without timing.
        device: ``cpu`` (default), ``cuda`` (needs ``onnxruntime-gpu``) or ``auto``.
        threads: onnxruntime intra-op threads; 1-2 suits a web service with one router per worker, None lets
            onnxruntime use every core.
        threshold: override the ``p_slm`` threshold stored in ``router.json`` (higher = fewer SLM calls).
    """

    def __init__(self, *, directory: Path, config: dict[str, Any], tokenizer: Any, session: Any,
                 variant: str, threshold: float) -> None:
        self.directory = directory
        self.config = config
        self.tokenizer = tokenizer
        self.session = session
        self.variant = variant
        self.threshold = threshold
        self.input_names = [i.name for i in session.get_inputs()]
        graph_outputs = {o.name for o in session.get_outputs()}
        self.output_names = ["p_slm", "score"] + (["novelty"] if "novelty" in graph_outputs else [])
        guard = config.get("novelty") if "novelty" in graph_outputs else None
        #: The novelty guard's cut (texts farther from the training traffic go to the frontier model); None: no
        #: guard (routers exported before it, or set to None to turn it off).
        self.novelty_threshold: float | None = float(guard["threshold"]) if guard else None
        self.providers = session.get_providers()

    #: How ``variant="auto"`` chose (:func:`choose_variant`'s result); None when the variant was given.
    variant_choice: dict[str, Any] | None = None

    @classmethod
    def load(cls, directory: str | Path, *, variant: Variant = "auto", device: Device = "cpu",
             threads: int | None = None, threshold: float | None = None) -> Router:
        """Load a router directory (reads JSON + ONNX only)."""
        import onnxruntime as ort

        directory = Path(directory)
        if variant not in ("auto", "fp32", "int8"):
            raise ValueError(f"The 'variant' parameter must be 'auto', 'fp32' or 'int8'; got {variant!r} instead.")
        if threshold is not None and not is_number(threshold):
            raise ValueError(f"The 'threshold' parameter must be a finite number; got {threshold!r} instead.")
        config = read_config(directory)
        candidates = [variant] if variant != "auto" else ["fp32", "int8"] if "int8" in config["files"] else ["fp32"]
        model_paths = {name: config_file(directory, config, name) for name in candidates}
        tokenizer_path = config_file(directory, config, "tokenizer", default=TOKENIZER_FILE)
        providers = _providers(device)
        try:
            tokenizer = load_tokenizer(tokenizer_path, config["max_length"])
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception on a bad file
            raise RouterFileError(f"{tokenizer_path}: not a tokenizer file ({first_line(exc)})") from exc
        options = session_options(threads)
        sessions = {}
        for name, model_path in model_paths.items():
            try:
                sessions[name] = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
            except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types are not public
                raise RouterFileError(f"{model_path}: not a loadable ONNX model ({first_line(exc)})") from exc
        choice = None
        if variant == "auto":
            choice = {"variant": "fp32", "rule": "no int8 file in the router directory", "timings": []}
            if len(sessions) > 1:
                try:
                    choice = choose_variant(sessions, vocab_size=tokenizer.get_vocab_size(),
                                            max_length=config["max_length"])
                except Exception as exc:  # noqa: BLE001 - a graph that fails to run here is not the one to pick
                    choice = {**choice, "rule": f"a timing run failed ({first_line(exc)})"}
            variant = choice["variant"]
        cut = float(config["threshold"] if threshold is None else threshold)
        router = cls(directory=directory, config=config, tokenizer=tokenizer, session=sessions[variant],
                     variant=variant, threshold=cut)
        router.variant_choice = choice
        return router

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, attention_mask)`` for ``texts``, truncated to the model's maximum length."""
        texts = list(texts)
        if len(texts) == 1:
            encodings = [self.tokenizer.encode(texts[0])]
        else:
            encodings = self.tokenizer.encode_batch(texts)
        return pad_batch(encodings, int(self.config.get("pad_id", 0)))

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(p_slm, score)`` float32 arrays for one tokenised batch, and ``novelty`` when the graph has a
        novelty guard."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return tuple(self.session.run(self.output_names, {k: feeds[k] for k in self.input_names}))

    def route(self, texts: str | Sequence[str], *, batch_size: int = 32) -> RouteResult:
        """Route ``texts`` (one string or a sequence) -> :class:`RouteResult`.

        Texts are tokenised, sorted by length into batches of ``batch_size`` (little padding) and run through the
        ONNX graph; ``p_slm >= threshold`` goes to the SLM. Empty or missing texts are routed as empty strings.
        """
        import numpy as np

        if isinstance(texts, str):
            texts = [texts]
        texts = ["" if t is None else str(t) for t in texts]
        if batch_size < 1:
            raise ValueError(f"The 'batch_size' parameter must be >= 1; got {batch_size!r} instead.")
        n = len(texts)
        outs = [np.empty(n, dtype=np.float32) for _ in self.output_names]
        if n <= batch_size:
            if n:
                for out, values in zip(outs, self.infer(*self.tokenize(texts))):
                    out[:] = values
        else:
            encodings = self.tokenizer.encode_batch(texts)
            order = np.argsort([len(e.ids) for e in encodings], kind="stable")
            pad_id = int(self.config.get("pad_id", 0))
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                for out, values in zip(outs, self.infer(*pad_batch([encodings[i] for i in idx], pad_id))):
                    out[idx] = values
        p_out, s_out = outs[0], outs[1]
        to_slm = p_out >= self.threshold
        novelty = outs[2] if len(outs) > 2 else None
        novel = None
        if novelty is not None and self.novelty_threshold is not None:
            novel = novelty > self.novelty_threshold
            to_slm &= ~novel
        return RouteResult(to_slm=to_slm, p_slm=p_out, score=s_out, threshold=self.threshold, novelty=novelty,
                           novel=novel, novelty_threshold=self.novelty_threshold if novel is not None else None)

    def __repr__(self) -> str:
        return (f"Router({str(self.directory)!r}, variant={self.variant!r}, providers={self.providers}, "
                f"threshold={self.threshold:.4f})")
