"""A valid router directory built in milliseconds, for tests and offline demos of the runtime and the gateway.

Its tokenizer is word-level and its ONNX graph has the exported router's interface (``input_ids``,
``attention_mask`` -> ``p_slm``, ``score``): the score is the sum of :data:`TINY_WEIGHTS` over the text's words and
``p_slm`` its sigmoid. "classify ..." goes to the small model, "prove ..." to the frontier model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from ..rundir import RunDir

#: Word -> weight: a text's score is the sum of the weights of its words (unknown words weigh 0).
TINY_WEIGHTS: dict[str, float] = {"[PAD]": 0.0, "[UNK]": 0.0, "classify": 2.0, "ticket": 0.5, "summarise": 1.0,
                                  "prove": -3.0, "strategy": -1.5, "the": 0.0, "this": 0.0}


def build_tiny_router(directory: str | Path, *, weights: Mapping[str, float] | None = None,
                      threshold: float = 0.5) -> Path:
    """Write a tiny router (``router.json``, ``tokenizer.json``, fp32 and "int8" ONNX graphs) into ``directory``."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    weights = dict(weights or TINY_WEIGHTS)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {word: i for i, word in enumerate(weights)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(directory / "tokenizer.json"))
    table = helper.make_tensor("weights", TensorProto.FLOAT, [len(vocab)], list(weights.values()))
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("Gather", ["weights", "input_ids"], ["w"]),
         helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["w", "m"], ["wm"]),
         helper.make_node("ReduceSum", ["wm", "axes"], ["score"], keepdims=0),
         helper.make_node("Sigmoid", ["score"], ["p_slm"])],
        "tiny_router",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("p_slm", TensorProto.FLOAT, ["batch"]),
         helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"])],
        initializer=[table, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(directory / "router.onnx"))
    onnx.save(model, str(directory / "router.int8.onnx"))
    config = {"format": "slmprofile-router", "format_version": 1, "threshold": threshold, "max_length": 16,
              "pad_id": 0, "files": {"fp32": "router.onnx", "int8": "router.int8.onnx", "tokenizer": "tokenizer.json"}}
    (directory / RunDir.ROUTER_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return directory
