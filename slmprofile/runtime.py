"""Minimal router runtime: numpy + onnxruntime + tokenizers only (no torch, no polars, no sentence-transformers).

A router directory written by :func:`slmprofile.router.export_router` holds ``router.onnx`` (fp32),
``router.int8.onnx`` (dynamic int8), ``tokenizer.json`` and ``router.json`` (threshold, labels, metadata). Loading
reads JSON and ONNX only: nothing is unpickled and no code from the directory is executed.

>>> from slmprofile.runtime import Router
>>> router = Router.load("out/router", variant="int8", threads=1)       # doctest: +SKIP
>>> result = router.route(["Classify this ticket: my invoice is wrong", "Draft our 5-year strategy"])  # doctest: +SKIP
>>> result.decisions, result.p_slm                                       # doctest: +SKIP
(['slm', 'frontier'], array([0.97, 0.41], dtype=float32))

One :class:`Router` can serve many threads at once (a web service): ``route`` keeps no state between calls,
onnxruntime sessions allow concurrent ``run`` calls and the tokenizer is only read. This module has no global state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from .errors import SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

ARTIFACT_FORMAT = "slmprofile-router"
ARTIFACT_VERSION = 1
#: File names inside a router directory.
ONNX_FP32 = "router.onnx"
ONNX_INT8 = "router.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "router.json"
SLM = "slm"
FRONTIER = "frontier"
Variant = Literal["fp32", "int8"]
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
    (the calibration's input; higher = more SLM-suitable); ``threshold`` the ``p_slm`` cut used.
    """

    to_slm: np.ndarray
    p_slm: np.ndarray
    score: np.ndarray
    threshold: float

    @property
    def decisions(self) -> list[str]:
        """``"slm"`` or ``"frontier"`` per text."""
        return [SLM if flag else FRONTIER for flag in self.to_slm.tolist()]

    def __len__(self) -> int:
        return len(self.p_slm)


def read_config(directory: str | Path) -> dict[str, Any]:
    """``router.json`` of a router directory, checked for the fields the runtime needs."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise SlmprofileError(f"{path}: not found; a router directory needs {CONFIG_FILE}, {TOKENIZER_FILE} and "
                              f"{ONNX_FP32} (write one with `slmprofile router export`)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SlmprofileError(f"{path}: invalid JSON ({exc})") from exc
    if config.get("format") != ARTIFACT_FORMAT:
        raise SlmprofileError(f"{path}: field 'format' must be {ARTIFACT_FORMAT!r}; got {config.get('format')!r}")
    if int(config.get("format_version", 0)) > ARTIFACT_VERSION:
        raise SlmprofileError(f"{path}: format_version {config['format_version']} is newer than this runtime "
                              f"understands ({ARTIFACT_VERSION}); upgrade slmprofile")
    for key in ("threshold", "max_length", "files"):
        if key not in config:
            raise SlmprofileError(f"{path}: missing field {key!r}")
    return config


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


class Router:
    """A loaded router: tokenizer + ONNX session + threshold. Build it with :meth:`load`.

    Args (of :meth:`load`):
        directory: a router directory (see module docs).
        variant: ``int8`` (default; fastest on CPU) or ``fp32``.
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
        self.providers = session.get_providers()

    @classmethod
    def load(cls, directory: str | Path, *, variant: Variant = "int8", device: Device = "cpu",
             threads: int | None = None, threshold: float | None = None) -> Router:
        """Load a router directory (reads JSON + ONNX only)."""
        import onnxruntime as ort

        directory = Path(directory)
        config = read_config(directory)
        if variant not in ("fp32", "int8"):
            raise ValueError(f"The 'variant' parameter must be 'fp32' or 'int8'; got {variant!r} instead.")
        name = config["files"].get(variant)
        if not name or not (directory / name).is_file():
            raise SlmprofileError(f"{directory}: no {variant} model ({name or 'not listed in router.json'}); "
                                  f"export it with `slmprofile router export`")
        tokenizer_path = directory / config["files"].get("tokenizer", TOKENIZER_FILE)
        if not tokenizer_path.is_file():
            raise SlmprofileError(f"{tokenizer_path}: not found")
        tokenizer = load_tokenizer(tokenizer_path, int(config["max_length"]))
        session = ort.InferenceSession(str(directory / name), sess_options=session_options(threads),
                                       providers=_providers(device))
        cut = float(config["threshold"] if threshold is None else threshold)
        return cls(directory=directory, config=config, tokenizer=tokenizer, session=session, variant=variant,
                   threshold=cut)

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, attention_mask)`` for ``texts``, truncated to the model's maximum length."""
        texts = list(texts)
        if len(texts) == 1:
            encodings = [self.tokenizer.encode(texts[0])]
        else:
            encodings = self.tokenizer.encode_batch(texts)
        return pad_batch(encodings, int(self.config.get("pad_id", 0)))

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(p_slm, score)`` float32 arrays for one tokenised batch."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        p_slm, score = self.session.run(["p_slm", "score"], {k: feeds[k] for k in self.input_names})
        return p_slm, score

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
        p_out = np.empty(n, dtype=np.float32)
        s_out = np.empty(n, dtype=np.float32)
        if n <= batch_size:
            if n:
                p_out[:], s_out[:] = self.infer(*self.tokenize(texts))
        else:
            encodings = self.tokenizer.encode_batch(texts)
            order = np.argsort([len(e.ids) for e in encodings], kind="stable")
            pad_id = int(self.config.get("pad_id", 0))
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                p, s = self.infer(*pad_batch([encodings[i] for i in idx], pad_id))
                p_out[idx] = p
                s_out[idx] = s
        return RouteResult(to_slm=p_out >= self.threshold, p_slm=p_out, score=s_out, threshold=self.threshold)

    def __repr__(self) -> str:
        return (f"Router({str(self.directory)!r}, variant={self.variant!r}, providers={self.providers}, "
                f"threshold={self.threshold:.4f})")
