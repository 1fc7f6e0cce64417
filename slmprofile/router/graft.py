"""A router graph joined from a cached encoder graph and the router's own small head graph.

Exporting MiniLM to ONNX, fusing it (twice: single-head attention for fp32, multi-head for int8) and quantising it
is most of an export - about 10 of 12 s on 2 cores, and PyTorch's sentence-transformers stack loaded for it - and it
gives the same encoder graph for every router trained on the same model. So :func:`cached_encoder_graphs` keeps,
per model identity, opset and library versions, the fused fp32 encoder graph and its int8 variant (outputs
``embedding``: the mean-pooled unit vector, and ``n_tokens``) under ``<cache>/onnx/<model id>/router-encoder-*``,
built once by :func:`~.export.write_graphs` with its usual checks; each export then traces only the head
(:func:`~.export.build_head_module`: ``embedding, n_tokens, input_ids, attention_mask -> p_slm, score[, novelty]``)
and :func:`join_graphs` splices its nodes after the encoder's, so the artifact is still one graph with the inputs and
outputs of the one-piece export. :func:`check_join` runs the joined graph against the two parts run one after the
other on random token batches; :func:`~.export.export_router` falls back to the one-piece export when anything here
fails.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from ..encoder import default_cache_dir, model_identity, versions
from ..runtime import ONNX_FP32, ONNX_INT8

logger = logging.getLogger(__name__)

#: The encoder part's outputs, which are the head part's first inputs.
ENCODER_OUTPUTS = ("embedding", "n_tokens")
HEAD_INPUTS = ("embedding", "n_tokens", "input_ids", "attention_mask")
#: Written last into a cached encoder folder: a folder without it is an interrupted build, redone.
DONE_FILE = "graph.json"
#: Largest |difference| tolerated between the joined graph and its two parts run in turn.
JOIN_TOLERANCE = 1e-5
_PREFIX = "head/"


def encoder_cache_dir(model_path: Path, *, opset: int, cache_dir: str | Path | None = None) -> Path:
    """Where the encoder graphs of ``model_path`` are kept: keyed by the model's identity, the opset and the versions
    of the libraries that export, fuse and quantise them."""
    import hashlib

    stamp = json.dumps(versions(("torch", "transformers", "onnx", "onnxruntime")), sort_keys=True)
    digest = hashlib.blake2b(stamp.encode(), digest_size=6).hexdigest()
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return root / "onnx" / model_identity(model_path) / f"router-encoder-opset{opset}-{digest}"


def cached_encoder_graphs(model_path: Path, build: Callable[[Path], dict[str, Any]], *, opset: int,
                          cache_dir: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The folder holding ``router.onnx`` / ``router.int8.onnx`` of the pooled encoder of ``model_path`` and the
    summary of their build (for ``router.json``). On first use ``build(folder)`` writes both graphs into a staging
    folder and returns that summary (:func:`~.export.export_router` passes :func:`~.export.write_graphs` of
    :func:`~.export.build_pooled_encoder`); the folder is moved into place whole, so an interrupted build is redone."""
    folder = encoder_cache_dir(model_path, opset=opset, cache_dir=cache_dir)
    done = folder / DONE_FILE
    if done.is_file():
        try:
            info = json.loads(done.read_text(encoding="utf-8"))
            if (folder / ONNX_FP32).is_file() and (folder / ONNX_INT8).is_file():
                return folder, info["graph"]
        except (ValueError, KeyError, OSError):
            pass
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        graph = build(staging)
        (staging / DONE_FILE).write_text(json.dumps({"model": str(model_path), "graph": graph}, indent=2),
                                         encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("cached the router encoder graphs of %s in %s", model_path, folder)
    return folder, graph


def export_head(head: Any, path: Path, *, outputs: list[str], dim: int, opset: int) -> None:
    """Trace a head module (:func:`~.export.build_head_module`: ``embedding, n_tokens, input_ids,
    attention_mask -> outputs``) to ``path``, every axis but the embedding's width dynamic."""
    import warnings

    import torch

    emb = torch.nn.functional.normalize(torch.ones(2, dim), dim=1)
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2054, 2003, 1037, 102]], dtype=torch.long)
    mask = (ids != 0).long()
    n_tokens = mask.sum(dim=1, keepdim=True).to(torch.float32)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(head, (emb, n_tokens, ids, mask), str(path), dynamo=False, opset_version=opset,
                          input_names=list(HEAD_INPUTS), output_names=outputs,
                          dynamic_axes={"embedding": {0: "batch"}, "n_tokens": {0: "batch"},
                                        "input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        **{name: {0: "batch"} for name in outputs}},
                          do_constant_folding=True)


def join_graphs(encoder_path: Path, head_path: Path, target: Path) -> Path:
    """One graph: the encoder's nodes, then the head's (its names prefixed), the head reading the encoder's
    ``embedding`` / ``n_tokens`` and the shared ``input_ids`` / ``attention_mask``; the head's outputs are the
    graph's."""
    import onnx
    from onnx import helper

    enc = onnx.load(str(encoder_path))
    head = onnx.load(str(head_path))
    missing = [name for name in ENCODER_OUTPUTS if name not in {o.name for o in enc.graph.output}]
    if missing:
        raise ValueError(f"{encoder_path}: no encoder output {missing}")
    shared = set(HEAD_INPUTS)
    outputs = {o.name for o in head.graph.output}

    def rename(name: str) -> str:
        return name if not name or name in shared or name in outputs else _PREFIX + name

    nodes = []
    for node in head.graph.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = _PREFIX + node.name
        copy.input[:] = [rename(x) for x in node.input]
        copy.output[:] = [rename(x) for x in node.output]
        nodes.append(copy)
    initializers = []
    for init in head.graph.initializer:
        copy = onnx.TensorProto()
        copy.CopyFrom(init)
        copy.name = rename(init.name)
        initializers.append(copy)
    graph = helper.make_graph(
        list(enc.graph.node) + nodes, "slmprofile_router", inputs=list(enc.graph.input),
        outputs=list(head.graph.output), initializer=list(enc.graph.initializer) + initializers,
        value_info=list(enc.graph.value_info))
    opsets: dict[str, int] = {}
    for entry in list(enc.opset_import) + list(head.opset_import):
        opsets[entry.domain] = max(opsets.get(entry.domain, 0), entry.version)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
                              producer_name="slmprofile")
    model.ir_version = max(enc.ir_version, head.ir_version)
    onnx.save(model, str(target))
    return target


def check_batches(*, vocab_size: int, max_length: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Graph feeds of random right-padded token batches (1 x 9, 4 x 48 with rows of different lengths, 1 x
    ``max_length``) that graph checks compare outputs on."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for batch, length in ((1, 9), (4, min(48, max_length)), (1, max_length)):
        ids = rng.integers(1000, max(vocab_size, 1001), size=(batch, length), dtype=np.int64)
        lengths = np.maximum(2, length - rng.integers(0, max(1, length // 2), size=batch)) if batch > 1 else [length]
        mask = (np.arange(length)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)
        ids[:, 0] = 101
        ids[mask == 0] = 0
        yield {"input_ids": ids, "attention_mask": mask}


def check_join(joined: Path, encoder_path: Path, head_path: Path, *, vocab_size: int, max_length: int,
               seed: int = 0) -> float:
    """Largest |difference| between the joined graph and the encoder then the head run one after the other, on
    :func:`check_batches`."""
    import numpy as np
    import onnxruntime as ort

    def session(path: Path) -> Any:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    whole, enc, head = session(joined), session(encoder_path), session(head_path)
    head_inputs = {i.name for i in head.get_inputs()}
    worst = 0.0
    for feeds in check_batches(vocab_size=vocab_size, max_length=max_length, seed=seed):
        emb, n_tokens = enc.run(list(ENCODER_OUTPUTS), feeds)
        parts = head.run(None, {k: v for k, v in {"embedding": emb, "n_tokens": n_tokens, **feeds}.items()
                                if k in head_inputs})
        got = whole.run(None, feeds)
        worst = max([worst] + [float(np.max(np.abs(a - b))) for a, b in zip(got, parts)])
    return worst


def write_joined_graphs(head: Any, outputs: list[str], model_path: Path, directory: Path,
                        build_encoder: Callable[[Path], dict[str, Any]], *, opset: int, int8: bool, dim: int,
                        max_length: int, vocab_size: int,
                        cache_dir: str | Path | None = None) -> tuple[dict[str, Path], dict[str, Any]]:
    """``router.onnx`` (+ ``router.int8.onnx``) in ``directory``, joined from the cached encoder graphs of
    ``model_path`` (built by ``build_encoder`` on first use, see :func:`cached_encoder_graphs`) and the ``head`` (an
    ONNX model, or a torch module traced by :func:`export_head`); returns the files and the summary for ``router.json`` (the encoder build's summary, plus ``built:
    "joined"``, the cache folder and the join check)."""
    folder, graph = cached_encoder_graphs(model_path, build_encoder, opset=opset, cache_dir=cache_dir)
    files: dict[str, Path] = {}
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="slmprofile-head-") as tmp:
        head_path = Path(tmp) / "head.onnx"
        if hasattr(head, "SerializeToString"):  # an ONNX model already (:func:`.head_graph.build_head_graph`)
            import onnx

            onnx.save(head, str(head_path))
        else:
            export_head(head, head_path, outputs=outputs, dim=dim, opset=opset)
        for variant, name in (("fp32", ONNX_FP32), ("int8", ONNX_INT8))[: 2 if int8 else 1]:
            staged = Path(tmp) / name
            join_graphs(folder / name, head_path, staged)
            diff = check_join(staged, folder / name, head_path, vocab_size=vocab_size, max_length=max_length)
            if diff > JOIN_TOLERANCE:
                raise ValueError(f"the joined {variant} graph moved by {diff:.2g} from its parts (> {JOIN_TOLERANCE:g})")
            worst = max(worst, diff)
            files[variant] = directory / name
            shutil.copyfile(staged, files[variant])
    return files, {**graph, "built": "joined", "encoder_cache": str(folder), "max_abs_diff_vs_parts": worst}
