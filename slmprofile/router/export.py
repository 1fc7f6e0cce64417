"""Export a trained router as ONE ONNX graph (token ids -> p_slm), plus int8, tokenizer.json and router.json.

The graph: frozen MiniLM encoder -> mean pooling -> L2 normalisation -> linear heads (embedding, length and
bag-of-word-pieces terms) -> sigmoid -> score mix -> calibration (piecewise-linear isotonic, or Platt). Inputs
``input_ids`` and ``attention_mask`` (int64, ``[batch, sequence]``, both axes dynamic); outputs ``p_slm`` and
``score`` (float32, ``[batch]``). It is exported with the TorchScript exporter (``torch.onnx.export(...,
dynamo=False)``: torch 2.13 defaults to the dynamo exporter, which needs ``onnxscript``) at opset 17 and then fused
by onnxruntime's BERT fusions (:func:`write_graphs`: one ``Attention`` node per layer etc., kept only when the
outputs do not move), and the int8 variant stores the encoder's MatMul weights as blockwise int8 (``MatMulNBits``,
see :func:`slmprofile.encoder.quantize_int8`; the word-embedding table and the small head stay fp32). Which of the two runs is chosen
at load time (:meth:`slmprofile.runtime.Router.load`, ``variant="auto"``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..encoder import (INT8_BLOCK, OPSET, default_model_path, export_onnx, load_transformer, model_identity,
                       quantize_int8, versions)
from ..errors import SlmprofileError
from ..runtime import (ARTIFACT_FORMAT, ARTIFACT_VERSION, CONFIG_FILE, ONNX_FP32, ONNX_INT8, TOKENIZER_FILE,
                       configure_tokenizer)
from .finetune import ENCODER_DIR
from .head_graph import build_head_graph, head_output_names
from .head_math import (head_logits, head_score, mix_vector, novelty, platt_calibration, ramp_calibration,
                        ramp_knots, torch_ops)
from ..rundir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    from .train import SlmRouter

logger = logging.getLogger(__name__)
__all__ = ["FUSION_TOLERANCE", "INT8_BLOCK", "OPSET", "ExportResult", "build_graph_module", "export_router",
           "fuse_graph", "graph_max_abs_diff", "graph_outputs", "load_graph_encoder", "parity_report",
           "quantize_int8", "torch_reference", "write_graphs"]


def load_graph_encoder(model_path: Path) -> tuple[Any, int]:
    """The encoder module a router graph is built on: the transformer of a sentence-transformers model directory
    (:func:`slmprofile.encoder.load_transformer`), or the look-up table of a static embedding folder
    (:mod:`slmprofile.static_embed`) as a module of the same interface."""
    from ..static_embed import StaticEncoder, is_static_folder

    if is_static_folder(model_path):
        encoder, max_length = StaticEncoder.from_folder(model_path)
        return encoder.eval(), max_length
    return load_transformer(model_path)


def build_head_module(router: SlmRouter, max_length: int) -> Any:
    """The ``torch.nn.Module`` of the router's head: ``(embedding, n_tokens, input_ids, attention_mask) -> p_slm,
    score (, novelty)`` from the pooled unit embedding, through the head's maths of :mod:`.head_math` (the same
    functions the numpy path runs)."""
    import math

    import numpy as np
    import torch

    heads = router.heads_
    ops = torch_ops()

    def buffer(array: Any) -> Any:
        return torch.from_numpy(np.ascontiguousarray(np.asarray(array, dtype=np.float32)))

    class RouterHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("emb_coef_t", buffer(heads.emb_coef.T))
            self.register_buffer("len_coef_t", buffer(heads.len_coef.T))
            self.register_buffer("intercept", buffer(heads.intercept))
            self.register_buffer("mix", buffer(mix_vector(heads.names, router.frontier_weight_)))
            self.has_bow = heads.bow_coef is not None
            if self.has_bow:
                self.register_buffer("bow_coef_t", buffer(heads.bow_coef.T))
            self.log_max = float(math.log1p(max_length))
            guard = getattr(router, "novelty_", None)
            self.has_guard = guard is not None
            if self.has_guard:
                self.register_buffer("centroids_t", buffer(guard.centroids_.T))
            self.platt = router.calib_kind_ == "platt"
            if self.platt:
                self.a = float(router.calib_params_["a"])
                self.b = float(router.calib_params_["b"])
            else:
                ramps = ramp_knots(router.calib_params_["x"], router.calib_params_["y"])
                for name in ("knots", "width", "slope"):
                    self.register_buffer(name, buffer(ramps[name]))
                self.y0 = ramps["y0"]

        def forward(self, emb: torch.Tensor, n_tokens: torch.Tensor, input_ids: torch.Tensor,
                    attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            mask = attention_mask.unsqueeze(-1).to(emb.dtype)
            bow_sum = (torch.nn.functional.embedding(input_ids, self.bow_coef_t) * mask).sum(dim=1) \
                if self.has_bow else None
            z = head_logits(ops, emb, n_tokens, emb_coef_t=self.emb_coef_t, len_coef_t=self.len_coef_t,
                            intercept=self.intercept, log_max=self.log_max, bow_sum=bow_sum)
            score = head_score(ops, z, self.mix)
            if self.platt:
                p = platt_calibration(ops, score, a=self.a, b=self.b)
            else:
                p = ramp_calibration(ops, score, knots=self.knots, width=self.width, slope=self.slope, y0=self.y0)
            if self.has_guard:
                return p, score, novelty(ops, emb, self.centroids_t)
            return p, score

    return RouterHead().eval()


def build_pooled_encoder(encoder: Any) -> Any:
    """The ``torch.nn.Module`` ``(input_ids, attention_mask) -> (embedding, n_tokens)``: the encoder's mean-pooled,
    unit-norm embedding and the count of word pieces (float, ``[batch, 1]``)."""
    import torch

    class PooledEncoder(torch.nn.Module):
        output_names = ["embedding", "n_tokens"]

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder  # node names start with /encoder/, which quantize_int8 relies on

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            n_tokens = mask.sum(dim=1)  # [batch, 1]
            pooled = (hidden * mask).sum(dim=1) / torch.clamp(n_tokens, min=1e-9)
            return pooled / torch.clamp(pooled.norm(p=2, dim=1, keepdim=True), min=1e-12), n_tokens

    return PooledEncoder().eval()


def build_graph_module(router: SlmRouter, encoder: Any, max_length: int) -> Any:
    """The ``torch.nn.Module`` that the one-piece ONNX graph is exported from (also the PyTorch reference path):
    :func:`build_pooled_encoder` then :func:`build_head_module`."""
    import torch

    pooled, head = build_pooled_encoder(encoder), build_head_module(router, max_length)

    class RouterGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder  # node names start with /encoder/, which quantize_int8 relies on
            self.head = head
            self.has_guard = head.has_guard

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            emb, n_tokens = pooled.forward(input_ids, attention_mask)
            return self.head(emb, n_tokens, input_ids, attention_mask)

    return RouterGraph().eval()


@dataclass
class ExportResult:
    """Files written by :func:`export_router` and the parity figures measured on the way."""

    directory: Path
    files: dict[str, Path]
    config: dict[str, Any] = field(repr=False)
    seconds: float = 0.0


def graph_outputs(module: Any) -> list[str]:
    """Output names of a graph module: ``p_slm``, ``score`` and, with a novelty guard, ``novelty`` (a module that
    names its outputs, like :func:`build_pooled_encoder`'s, gives those)."""
    if getattr(module, "output_names", None):
        return list(module.output_names)
    return ["p_slm", "score"] + (["novelty"] if getattr(module, "has_guard", False) else [])


def fuse_graph(source: Path, target: Path, *, num_heads: int, hidden_size: int,
               multi_head: bool = False) -> dict[str, int]:
    """onnxruntime's BERT fusions on an exported graph: per layer one ``Attention`` node (``multi_head``: separate
    Q/K/V MatMuls + ``MultiHeadAttention``, so that :func:`quantize_int8` can quantise all of them),
    ``SkipLayerNormalization``, ``BiasGelu``, and ``EmbedLayerNormalization`` for the embeddings. About 400 nodes
    become about 110; the fused ops are onnxruntime contrib ops (CPU and CUDA). Returns the count of each fused op.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.use_multi_head_attention = multi_head
    model = optimize_model(str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                           opt_level=0, optimization_options=options, use_gpu=False)
    model.save_model_to_file(str(target), use_external_data_format=False)
    return {op: int(n) for op, n in model.get_fused_operator_statistics().items() if n}


def graph_max_abs_diff(first: Path, second: Path, *, vocab_size: int, max_length: int, seed: int = 0) -> float:
    """Largest |difference| between two router graphs' outputs on random right-padded token batches
    (:func:`~.graft.check_batches`)."""
    import numpy as np
    import onnxruntime as ort

    from .graft import check_batches

    sessions = [ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]) for path in (first, second)]
    worst = 0.0
    for feeds in check_batches(vocab_size=vocab_size, max_length=max_length, seed=seed):
        outs = [s.run(None, feeds) for s in sessions]
        worst = max([worst] + [float(np.max(np.abs(a - b))) for a, b in zip(*outs)])
    return worst


#: A fused graph replaces the exported one only when no output moves by more than this on the check batches.
FUSION_TOLERANCE = 1e-4


def _torch_loaded() -> bool:
    import sys

    return "torch" in sys.modules


def build_encoder_graphs(model_path: str, directory: str, opset: int) -> dict[str, Any]:
    """Write the pooled encoder graphs of ``model_path`` (fp32 + int8, :func:`write_graphs`) to ``directory`` and
    return their summary. :func:`export_router` runs this once per model (the graphs are cached) and, when the
    process has not loaded PyTorch, in a child process (:mod:`slmprofile.child`): a large run's router stage then
    never holds PyTorch and the export's copies of the graph (about 1.5 GB at its peak)."""
    encoder, length = load_graph_encoder(Path(model_path))
    return write_graphs(build_pooled_encoder(encoder), Path(directory), opset=opset, int8=True, max_length=length)[1]


def _build_encoder_graphs_here_or_in_child(model_path: Path, staging: Path, opset: int,
                                           nice: int = 0) -> dict[str, Any]:
    if _torch_loaded() and not nice:  # PyTorch is loaded already: building here costs no more memory
        return build_encoder_graphs(str(model_path), str(staging), opset)
    from .. import child

    if nice:
        return child.call(build_encoder_graphs_niced, str(model_path), str(staging), opset, nice)
    return child.call(build_encoder_graphs, str(model_path), str(staging), opset)


def build_encoder_graphs_niced(model_path: str, directory: str, opset: int, nice: int) -> dict[str, Any]:
    """:func:`build_encoder_graphs` at a lower CPU priority (``os.nice``; a background build yields to the run)."""
    import os

    if nice and hasattr(os, "nice"):
        os.nice(nice)
    return build_encoder_graphs(model_path, directory, opset)


def prebuild_encoder_graphs(model: str | Path | None = None, *, opset: int = OPSET,
                            cache_dir: str | Path | None = None, nice: int = 10) -> bool:
    """Build the cached encoder graphs that :func:`export_router` joins a head to, ahead of the export (a run
    starts this in the background, at CPU priority ``nice`` below its own); False when they are cached already or
    the model is not a transformer encoder."""
    from ..static_embed import is_static_folder
    from .graft import DONE_FILE, cached_encoder_graphs, encoder_cache_dir

    model_path = Path(model) if model else default_model_path()
    if is_static_folder(model_path) or transformer_shape(model_path) is None:
        return False
    if (encoder_cache_dir(model_path, opset=opset, cache_dir=cache_dir) / DONE_FILE).is_file():
        return False
    cached_encoder_graphs(model_path, lambda staging: _build_encoder_graphs_here_or_in_child(model_path, staging,
                                                                                            opset, nice),
                          opset=opset, cache_dir=cache_dir)
    return True


def write_graphs(module: Any, directory: Path, *, opset: int, int8: bool,
                 max_length: int = 128) -> tuple[dict[str, Path], dict[str, Any]]:
    """Export ``module`` to ``router.onnx`` (+ ``router.int8.onnx``), fused by :func:`fuse_graph` when that works.

    The fused graphs are checked against the exported one (:func:`graph_max_abs_diff`, at most
    :data:`FUSION_TOLERANCE`); when fusing fails or changes the outputs, the exported graph is written as it is.
    The int8 graph is quantised from the multi-head fused graph. Returns the files and a summary for
    ``router.json`` (``fused``: the fused op counts or None, ``why`` when not fused, ``max_abs_diff_vs_unfused``).
    """
    import shutil
    import tempfile

    encoder = getattr(module, "encoder", None)
    config = getattr(encoder, "config", None)
    heads, hidden = getattr(config, "num_attention_heads", None), getattr(config, "hidden_size", None)
    files = {"fp32": directory / ONNX_FP32}
    with tempfile.TemporaryDirectory(prefix="slmprofile-export-") as tmp:
        raw = Path(tmp) / "exported.onnx"
        export_onnx(module, raw, graph_outputs(module), opset=opset)
        fp32, int8_source = raw, raw
        info: dict[str, Any] = {"fused": None}
        if not (isinstance(heads, int) and isinstance(hidden, int)):
            info["why"] = "not a transformer encoder"
        else:
            check = {"vocab_size": int(getattr(config, "vocab_size", 30522)),
                     "max_length": int(max_length)}
            try:
                fused = Path(tmp) / "fused.onnx"
                stats = fuse_graph(raw, fused, num_heads=heads, hidden_size=hidden)
                diff = graph_max_abs_diff(raw, fused, **check)
                if int8 and diff <= FUSION_TOLERANCE:
                    multi = Path(tmp) / "fused-multi-head.onnx"
                    fuse_graph(raw, multi, num_heads=heads, hidden_size=hidden, multi_head=True)
                    diff = max(diff, graph_max_abs_diff(raw, multi, **check))
                    int8_source = multi
                if diff <= FUSION_TOLERANCE:
                    fp32 = fused
                    info = {"fused": stats, "max_abs_diff_vs_unfused": diff}
                else:
                    int8_source = raw
                    info["why"] = f"the fused graph's outputs moved by {diff:.2g} (> {FUSION_TOLERANCE:g})"
            except Exception as exc:  # noqa: BLE001 - the unfused graph is always a valid result
                int8_source = raw
                info["why"] = f"fusion failed ({type(exc).__name__}: {str(exc).strip()[:200]})"
        if info["fused"] is None:  # a static encoder has nothing to fuse; a transformer that did not fuse is news
            (logger.info if "not a transformer" in info["why"] else logger.warning)(
                "router graph written unfused: %s", info["why"])
        shutil.copyfile(fp32, files["fp32"])
        if int8:
            files["int8"] = quantize_int8(int8_source, directory / ONNX_INT8)
    return files, info


def transformer_shape(model_path: Path) -> dict[str, int] | None:
    """``hidden_size``, ``vocab_size`` and ``max_length`` of a sentence-transformers model directory, read from its
    ``config.json`` and ``sentence_bert_config.json`` without loading it (None when either does not say)."""
    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
        st_config = json.loads((model_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        shape = {"hidden_size": config["hidden_size"], "vocab_size": config["vocab_size"],
                 "max_length": st_config["max_seq_length"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return shape if all(isinstance(v, int) for v in shape.values()) else None


def _check_encoder(router: SlmRouter, model_path: Path, hidden_size: int, max_length: int) -> None:
    if hidden_size != router.n_features_in_:
        raise SlmprofileError(f"the router was trained on {router.n_features_in_}-d embeddings but {model_path} "
                              f"gives {hidden_size}-d ones: export with the training encoder")
    if max_length != router.max_length_:
        raise SlmprofileError(f"the router was trained with max_length {router.max_length_}, {model_path} has "
                              f"{max_length}")


def export_router(router: SlmRouter | str | Path, directory: str | Path, *, model: str | Path | None = None,
                  int8: bool = True, opset: int = OPSET, training: dict[str, Any] | None = None,
                  reuse_encoder: bool = True, cache_dir: str | Path | None = None) -> ExportResult:
    """Write ``router.onnx`` (+ ``router.int8.onnx``), ``tokenizer.json`` and ``router.json`` into ``directory``.

    ``router``: a fitted :class:`SlmRouter` or the path of its ``head.npz``; ``model``: the encoder directory it was
    trained with (default: a fine-tuned ``encoder/`` or a static embedding ``static/`` beside ``head.npz`` when
    there is one, else the bundled MiniLM); ``training``: the ``training.json`` summary (data, split, metrics) to
    record (read from beside ``head.npz`` when ``router`` is a path). With a static embedding folder
    (:mod:`slmprofile.static_embed`) the graph is its table look-up + the same pooling and head, no int8 variant is
    written (nothing to quantise), and ``router.json`` says ``"encoder": {"kind": "static", ...}``.
    ``reuse_encoder`` (transformer encoders that were not fine-tuned for this router): join the cached, fused
    encoder graphs with this router's head
    (:mod:`.graft`, built once per model under ``cache_dir``, default the slmprofile cache) instead of exporting
    and fusing the encoder again; ``router.json`` -> ``graph.built`` says ``joined`` or ``one piece``.
    """
    import datetime as dt

    from ..static_embed import STATIC_DIR, is_static_folder, static_info
    from .train import SlmRouter

    started = time.perf_counter()
    if opset < 17:
        raise ValueError(f"The 'opset' parameter must be >= 17; got {opset!r} instead.")
    if not isinstance(router, SlmRouter):
        head_path = Path(router)
        if head_path.is_dir():
            head_path = head_path / RunDir.ROUTER_HEAD
        router = SlmRouter.load(head_path)
        summary = head_path.with_name(RunDir.ROUTER_TRAINING)
        if training is None and summary.is_file():
            training = json.loads(summary.read_text(encoding="utf-8"))
        tuned = head_path.with_name(ENCODER_DIR)
        if model is None and (tuned / "config.json").is_file():
            model = tuned
        static_dir = head_path.with_name(STATIC_DIR)
        if model is None and is_static_folder(static_dir):
            model = static_dir
    router.check_fitted()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else default_model_path()
    static = is_static_folder(model_path)
    # a fine-tuned encoder belongs to one router: caching its graphs would only fill the cache
    fine_tuned = model_path.name == ENCODER_DIR or bool((training or {}).get("finetune"))
    shape = None if static or fine_tuned or not reuse_encoder else transformer_shape(model_path)
    files: dict[str, Path] = {}
    graph: dict[str, Any] = {}
    if shape is not None:  # the cached encoder graphs + this router's head (see .graft)
        _check_encoder(router, model_path, shape["hidden_size"], shape["max_length"])
        from .graft import write_joined_graphs

        def build_encoder(staging: Path) -> dict[str, Any]:
            return _build_encoder_graphs_here_or_in_child(model_path, staging, opset)

        head = build_head_graph(router, shape["max_length"], opset=opset)  # no PyTorch: built from .head_math
        try:
            files, graph = write_joined_graphs(head, head_output_names(router), model_path, directory, build_encoder,
                                               opset=opset, int8=int8, dim=shape["hidden_size"],
                                               max_length=shape["max_length"], vocab_size=shape["vocab_size"],
                                               cache_dir=cache_dir)
        except Exception as exc:  # noqa: BLE001 - the one-piece export below is always there
            logger.warning("joining the cached encoder graph failed (%s: %s); exporting in one piece",
                           type(exc).__name__, str(exc)[:200])
            files, graph = {}, {}
    if not files:
        encoder, max_length = load_graph_encoder(model_path)
        _check_encoder(router, model_path, encoder.config.hidden_size, max_length)
        if static and int8:  # a look-up table has no MatMul to quantise: the fp32 graph is the fast one
            logger.info("static encoder: no int8 variant (the graph is a table look-up and the head)")
            int8 = False
        module = build_graph_module(router, encoder, max_length)
        files, graph = write_graphs(module, directory, opset=opset, int8=int8, max_length=max_length)
        graph["built"] = "one piece"
    max_length = router.max_length_
    outputs = head_output_names(router)

    from tokenizers import Tokenizer

    tokenizer = configure_tokenizer(Tokenizer.from_file(str(model_path / TOKENIZER_FILE)), max_length)
    tokenizer.save(str(directory / TOKENIZER_FILE))
    files["tokenizer"] = directory / TOKENIZER_FILE

    training = training or {}
    config = {
        "format": ARTIFACT_FORMAT,
        "format_version": ARTIFACT_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": {"positive": "slm", "negative": "frontier",
                   "p_slm": "calibrated probability that sending the prompt to the SLM loses nothing compared with "
                            "the frontier model (SLM correct, or both wrong)",
                   "score": "raw router score: P(SLM correct) - frontier_weight * P(frontier correct)"},
        "threshold": float(router.threshold_),
        "rule": "route to the SLM when p_slm >= threshold, else to the frontier model",
        "target": {"kind": router.target, "value": router.target_value,
                   "reached_on_validation": router.validation_.get("target_reached")},
        "files": {"fp32": ONNX_FP32, **({"int8": ONNX_INT8} if int8 else {}), "tokenizer": TOKENIZER_FILE},
        "int8": ({"method": "onnxruntime MatMulNBits (weight blocks with one scale each, int8 compute)", "bits": 8,
                  "block_size": INT8_BLOCK, "symmetric": True, "accuracy_level": 4,
                  "kept_fp32": ["word embeddings", "router head", "calibration"]} if int8 else None),
        "inputs": ["input_ids", "attention_mask"],
        "outputs": outputs,
        "novelty": None if getattr(router, "novelty_", None) is None else router.novelty_.summary(),
        "estimates": getattr(router, "estimates_", {}),
        "selection": {k: v for k, v in getattr(router, "selection_", {}).items() if k in ("chosen", "why", "folds")},
        "opset": opset,
        "graph": graph,
        "max_length": max_length,
        "pad_id": 0,
        "encoder": (static_info(model_path) if static else
                    {"kind": "transformer", "model_id": model_identity(model_path), "dim": router.n_features_in_,
                     "pooling": "mean", "normalize": True, "fine_tuned": bool((training or {}).get("finetune"))}),
        "head": {"kind": "logistic", "heads": router.heads_.names, "frontier_weight": router.frontier_weight_,
                 "bag_of_pieces": router.heads_.bow_coef is not None, "calibration": router.calib_kind_,
                 "params": router.get_params()},
        "validation": router.validation_,
        "training_data": training.get("data", {}),
        "split": training.get("split", {}),
        "metrics": training.get("metrics", {}),
        "versions": versions(("slmprofile", "torch", "transformers", "sentence-transformers", "onnx", "onnxruntime",
                              "tokenizers", "numpy", "scikit-learn")),
    }
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")
    files["config"] = directory / CONFIG_FILE
    return ExportResult(directory=directory, files=files, config=config, seconds=time.perf_counter() - started)


def torch_reference(router: SlmRouter, texts: Sequence[str], *, embedder: Any = None) -> Any:
    """``p_slm`` by the PyTorch path: sentence-transformers embeddings + the fitted head (float32)."""
    from .features import build_features

    return router.predict_proba(build_features(list(texts), embedder=embedder))


def parity_report(router: SlmRouter, directory: str | Path, texts: Sequence[str], *, embedder: Any = None,
                  batch_size: int = 32) -> dict[str, Any]:
    """Compare the exported graphs with the PyTorch path on ``texts``.

    Returns ``fp32_max_abs_diff`` (p_slm, ONNX fp32 vs PyTorch), ``int8_max_abs_diff`` and
    ``int8_decision_agreement`` (share of texts routed the same way by int8 and fp32), with ``n``.
    """
    import numpy as np

    from ..runtime import Router
    from .features import build_features

    features = build_features(list(texts), embedder=embedder)
    reference = router.predict_proba(features)  # the PyTorch path, as torch_reference
    fp32 = Router.load(directory, variant="fp32").route(list(texts), batch_size=batch_size)
    decisions = router.predict(features)
    out: dict[str, Any] = {"n": len(texts), "fp32_max_abs_diff": float(np.max(np.abs(fp32.p_slm - reference))),
                           "fp32_decision_agreement_with_torch": float(np.mean(fp32.to_slm == decisions))}
    if (Path(directory) / ONNX_INT8).is_file():
        int8 = Router.load(directory, variant="int8").route(list(texts), batch_size=batch_size)
        out["int8_max_abs_diff"] = float(np.max(np.abs(int8.p_slm - fp32.p_slm)))
        out["int8_decision_agreement"] = float(np.mean(int8.to_slm == fp32.to_slm))
    return out
