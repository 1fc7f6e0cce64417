"""The embedding model as an onnxruntime graph: the fast CPU path for large logs.

:func:`export_encoder` turns a sentence-transformers model (Transformer + mean Pooling + Normalize) into one ONNX
graph from token ids to unit sentence vectors, and an int8 variant whose encoder MatMul weights are blockwise int8
(the same ``MatMulNBits`` recipe as the router artifact, :func:`slmprofile.encoder.quantize_int8`). The files
are written once per model under the cache directory and reused. :class:`OnnxEncoder` runs one of them with the
model's own ``tokenizer.json``, truncated like sentence-transformers truncates.

:class:`~slmprofile.embed.Embedder` uses this path when ``backend`` is ``"onnx"``/``"onnx-int8"``, or ``"auto"`` on
a CPU once the graph's vectors agree with the PyTorch ones (cosine >= ``PARITY_MIN_COSINE`` on a probe of the
texts being embedded); otherwise it stays on sentence-transformers and says why.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .encoder import export_onnx, load_transformer, model_identity, quantize_int8, resolve_device
from .errors import SlmprofileError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)

#: The lowest cosine between an ONNX vector and the PyTorch vector of the same text that ``auto`` accepts.
PARITY_MIN_COSINE = 0.99
#: Texts compared with the PyTorch path before ``auto`` switches to the ONNX graph.
PARITY_PROBE = 48
FP32_FILE = "encoder.onnx"
INT8_FILE = "encoder.int8.onnx"
INFO_FILE = "encoder.json"
#: Padded word pieces per onnxruntime run (see :class:`OnnxEncoder`).
TOKEN_BUDGET = 2048


def build_encoder_module(encoder: Any) -> Any:
    """``torch.nn.Module``: (input_ids, attention_mask) -> mean-pooled, L2-normalised sentence vectors."""
    import torch

    class EncoderGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder  # node names start with /encoder/, which quantize_int8 relies on

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / torch.clamp(mask.sum(dim=1), min=1e-9)
            return pooled / torch.clamp(pooled.norm(p=2, dim=1, keepdim=True), min=1e-12)

    return EncoderGraph().eval()


def export_encoder(model_path: str | Path, directory: str | Path, *, opset: int = 17) -> Path:
    """Write ``encoder.onnx``, ``encoder.int8.onnx``, ``tokenizer.json`` and ``encoder.json`` to ``directory``.

    Files already there for the same model are reused (``encoder.json`` is written last, so an interrupted export
    is redone). Returns ``directory``.
    """
    import shutil

    model_path, directory = Path(model_path), Path(directory)
    identity = model_identity(model_path)
    info_path = directory / INFO_FILE
    if info_path.is_file():
        try:
            if json.loads(info_path.read_text())["model_id"] == identity:
                return directory
        except (ValueError, KeyError):
            pass
    if not (model_path / "tokenizer.json").is_file():
        raise SlmprofileError(f"{model_path}: no tokenizer.json, so the ONNX embedding path cannot tokenize; "
                              "use backend='torch'")
    directory.mkdir(parents=True, exist_ok=True)
    encoder, max_length = load_transformer(model_path)
    tmp = directory / (FP32_FILE + ".tmp")
    export_onnx(build_encoder_module(encoder), tmp, ["embedding"], opset=opset)
    os.replace(tmp, directory / FP32_FILE)
    quantize_int8(directory / FP32_FILE, directory / (INT8_FILE + ".tmp"))
    os.replace(directory / (INT8_FILE + ".tmp"), directory / INT8_FILE)
    shutil.copyfile(model_path / "tokenizer.json", directory / "tokenizer.json")
    info_path.write_text(json.dumps({"model_id": identity, "max_seq_length": max_length, "opset": opset,
                                     "dim": int(encoder.config.hidden_size)}, indent=2))
    return directory


@dataclass
class ParityCheck:
    """How closely the ONNX vectors match the PyTorch ones on a probe of texts."""

    texts: int
    min_cosine: float
    mean_cosine: float
    passed: bool


class OnnxEncoder:
    """Run an exported encoder graph: ``encode(texts) -> (n, dim)`` float32 unit vectors.

    Args:
        directory: an :func:`export_encoder` directory.
        int8: use ``encoder.int8.onnx`` (else the fp32 graph).
        threads: onnxruntime intra-op threads (``None``: onnxruntime's default, all cores).
        batch_size: texts per run; texts are sorted by length inside :meth:`encode` so batches pad little.
        token_budget: at most this many (padded) word pieces per run: long texts go in smaller batches. At 32 x
            256 word pieces onnxruntime's arena held about 700 MB more than at 8 x 256, for the same speed.
    """

    def __init__(self, directory: str | Path, *, int8: bool = True, threads: int | None = None,
                 batch_size: int = 32, token_budget: int = TOKEN_BUDGET) -> None:
        import onnxruntime as ort

        from .runtime import load_tokenizer

        self.directory = Path(directory)
        info = json.loads((self.directory / INFO_FILE).read_text())
        self.max_seq_length = int(info["max_seq_length"])
        self.dim = int(info["dim"])
        self.int8 = int8
        self.batch_size = batch_size
        self.token_budget = token_budget
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3
        path = self.directory / (INT8_FILE if int8 else FP32_FILE)
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer(self.directory / "tokenizer.json", self.max_seq_length)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        from .runtime import pad_batch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            # rows of similar length (sorted), at most batch_size and at most token_budget padded word pieces: a
            # long batch's activations (attention grows with length squared) would otherwise set the size of
            # onnxruntime's memory arena for the rest of the run, at no gain in speed
            stop = start + 1
            while (stop < len(order) and stop - start < self.batch_size
                   and (stop - start + 1) * lengths[order[stop]] <= self.token_budget):
                stop += 1
            rows = order[start:stop]
            ids, mask = pad_batch([encodings[i] for i in rows])
            out[rows] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            start = stop
        return out


def probe_backend(model_path: str, directory: str, probe: list[str], *, int8: bool, device: str, auto: bool,
                  batch_size: int) -> dict[str, Any]:
    """Settle the device, export the graph (or reuse it) and encode ``probe`` both ways.

    :class:`~slmprofile.embed.Embedder` runs this in a short-lived child process, so that PyTorch and the
    sentence-transformers model are loaded there and never in the process that goes on to embed with the ONNX
    graph. Returns ``device`` and either ``backend="torch"`` (``auto`` on a GPU, or an export failure under
    ``auto``, with ``error``) or ``backend="onnx"`` with the export ``directory`` and both sets of probe vectors.
    """
    device_ = resolve_device(device)
    if auto and device_ != "cpu":
        return {"device": device_, "backend": "torch"}
    try:
        exported = export_encoder(model_path, directory)
        encoder = OnnxEncoder(exported, int8=int8, batch_size=min(batch_size, 32))
    except Exception as exc:  # noqa: BLE001 - any export failure means: stay on PyTorch (auto) or say why
        if auto:
            return {"device": device_, "backend": "torch", "error": f"{type(exc).__name__}: {exc}"}
        raise
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device=device_, local_files_only=True)
    reference = model.encode(probe, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True,
                             normalize_embeddings=True)
    return {"device": device_, "backend": "onnx", "directory": str(exported),
            "onnx_vectors": encoder.encode(probe), "torch_vectors": reference}


def parity(onnx_vectors: np.ndarray, torch_vectors: np.ndarray, *,
           min_cosine: float = PARITY_MIN_COSINE) -> ParityCheck:
    """Cosine of each pair of unit vectors; passes when the smallest is at least ``min_cosine``."""
    import numpy as np

    a = onnx_vectors / np.maximum(np.linalg.norm(onnx_vectors, axis=1, keepdims=True), 1e-12)
    b = torch_vectors / np.maximum(np.linalg.norm(torch_vectors, axis=1, keepdims=True), 1e-12)
    cos = np.einsum("ij,ij->i", a, b)
    lo = float(cos.min()) if len(cos) else 1.0
    return ParityCheck(texts=len(cos), min_cosine=lo, mean_cosine=float(cos.mean()) if len(cos) else 1.0,
                       passed=lo >= min_cosine)
