"""The router head as an ONNX graph, written directly from :mod:`.head_math` (no PyTorch, no tracing).

:mod:`.head_math` spells the head's maths once against an ops namespace; here the namespace emits ONNX nodes. A
:class:`Sym` stands for a tensor of the graph being built: ``@``, ``+``, ``-``, ``*``, ``/`` and ``x[:, None]`` on it
add ``MatMul``, ``Add``, ``Sub``, ``Mul``, ``Div`` and ``Unsqueeze`` nodes, numpy arrays and floats it meets become
float32 initializers. :func:`build_head_graph` runs the same functions the numpy path and the torch module run
(:func:`~.head_math.head_logits`, :func:`~.head_math.head_score`, the calibration, :func:`~.head_math.novelty`), so
the three cannot drift apart; ``tests/test_router.py`` compares the graph with both.

Why: tracing the torch module costs importing PyTorch (about 2 s) and the exporter (about 1 s) on every export; this
graph is built in milliseconds, and a run whose embeddings are cached never imports PyTorch at all.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .head_math import Ops, head_logits, head_score, mix_vector, novelty, platt_calibration, ramp_calibration, ramp_knots

if TYPE_CHECKING:  # pragma: no cover
    import onnx

    from .estimator import SlmRouter

#: The IR version of the head graph (that of opset 17; the join takes the larger of the encoder's and this).
HEAD_IR_VERSION = 8


class _Builder:
    """Nodes and initializers of the graph being built."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, dtype: Any = None) -> Sym:
        import numpy as np
        from onnx import numpy_helper

        array = np.ascontiguousarray(np.asarray(value, dtype=dtype or np.float32))
        name = self.fresh("const")
        self.initializers.append(numpy_helper.from_array(array, name))
        return Sym(self, name)

    def op(self, op_type: str, *inputs: Any, **attrs: Any) -> Sym:
        from onnx import helper

        names = [x.name if isinstance(x, Sym) else self.const(x).name for x in inputs]
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, names, [out], name=out, **attrs))
        return Sym(self, out)

    def axes(self, *axes: int) -> Sym:
        import numpy as np

        return self.const(list(axes), np.int64)

    def reduce(self, op_type: str, x: Sym, axis: int) -> Sym:
        """``op_type`` over ``axis``, the axis dropped (axes as an input from the opset that takes them so)."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.axes(axis), keepdims=0)
        return self.op(op_type, x, axes=[axis], keepdims=0)

    def ops(self) -> Ops:
        """The :class:`~.head_math.Ops` spelling that adds nodes to this graph."""
        return Ops(sigmoid=lambda x: self.op("Sigmoid", x), log1p=lambda x: self.op("Log", self.op("Add", x, 1.0)),
                   sqrt=lambda x: self.op("Sqrt", x), clamp_min=lambda x, v: self.op("Max", x, float(v)),
                   minimum=lambda a, b: self.op("Min", a, b), row_max=lambda x: self.reduce("ReduceMax", x, 1),
                   row_sum=lambda x: self.reduce("ReduceSum", x, 1))


def _binary(op_type: str) -> tuple[Any, Any]:
    """``x <op> other`` and ``other <op> x`` for a :class:`Sym` ``x``: one ``op_type`` node each."""

    def forward(self: Sym, other: Any) -> Sym:
        return self.builder.op(op_type, self, other)

    def reflected(self: Sym, other: Any) -> Sym:
        return self.builder.op(op_type, other, self)

    return forward, reflected


class Sym:
    """A float32 tensor of the graph a :class:`_Builder` is building (see module docs)."""

    __array_ufunc__ = None  # numpy defers to the reflected operators below (``array + sym``)

    def __init__(self, builder: _Builder, name: str) -> None:
        self.builder = builder
        self.name = name

    __add__, __radd__ = _binary("Add")
    __sub__, __rsub__ = _binary("Sub")
    __mul__, __rmul__ = _binary("Mul")
    __truediv__, __rtruediv__ = _binary("Div")
    __matmul__, __rmatmul__ = _binary("MatMul")

    def __getitem__(self, key: Any) -> Sym:
        if key == (slice(None), None):
            return self.builder.op("Unsqueeze", self, self.builder.axes(1))
        raise NotImplementedError(f"indexing a graph tensor with {key!r}")


def head_output_names(router: SlmRouter) -> list[str]:
    """``p_slm``, ``score`` and, with a novelty guard, ``novelty``."""
    return ["p_slm", "score"] + (["novelty"] if getattr(router, "novelty_", None) is not None else [])


def build_head_graph(router: SlmRouter, max_length: int, *, opset: int = 17) -> onnx.ModelProto:
    """The ONNX graph of the router's head: ``(embedding, n_tokens[, input_ids, attention_mask]) -> p_slm, score
    (, novelty)``, the same maths as :func:`~.export.build_head_module` (every axis but the embedding's width
    dynamic; the token inputs only when the head has a bag of word pieces)."""
    import numpy as np
    from onnx import TensorProto, helper

    b = _Builder(opset)
    ops = b.ops()
    heads = router.heads_
    dim = int(heads.emb_coef.shape[1])
    emb, n_tokens = Sym(b, "embedding"), Sym(b, "n_tokens")
    inputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim]),
              helper.make_tensor_value_info("n_tokens", TensorProto.FLOAT, ["batch", 1])]
    bow_sum = None
    if heads.bow_coef is not None:
        inputs += [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
                   for name in ("input_ids", "attention_mask")]
        pieces = b.op("Gather", b.const(heads.bow_coef.T), Sym(b, "input_ids"), axis=0)  # (batch, seq, heads)
        mask = b.op("Cast", b.op("Unsqueeze", Sym(b, "attention_mask"), b.axes(2)), to=TensorProto.FLOAT)
        bow_sum = b.reduce("ReduceSum", pieces * mask, 1)
    z = head_logits(ops, emb, n_tokens, emb_coef_t=np.asarray(heads.emb_coef.T, np.float32),
                    len_coef_t=np.asarray(heads.len_coef.T, np.float32),
                    intercept=np.asarray(heads.intercept, np.float32), log_max=float(math.log1p(max_length)),
                    bow_sum=bow_sum)
    score = head_score(ops, z, mix_vector(heads.names, router.frontier_weight_))
    if router.calib_kind_ == "platt":
        p = platt_calibration(ops, score, a=float(router.calib_params_["a"]), b=float(router.calib_params_["b"]))
    else:
        ramps = ramp_knots(router.calib_params_["x"], router.calib_params_["y"])
        p = ramp_calibration(ops, score, knots=ramps["knots"], width=ramps["width"], slope=ramps["slope"],
                             y0=ramps["y0"])
    results = [p, score]
    guard = getattr(router, "novelty_", None)
    if guard is not None:
        results.append(novelty(ops, emb, np.asarray(guard.centroids_.T, np.float32)))
    names = head_output_names(router)
    for name, value in zip(names, results):  # the graph's outputs carry their public names
        b.nodes.append(helper.make_node("Identity", [value.name], [name], name=f"output_{name}"))
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch"]) for name in names]
    graph = helper.make_graph(b.nodes, "slmprofile_router_head", inputs, outputs, initializer=b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="slmprofile")
    model.ir_version = HEAD_IR_VERSION
    return model
