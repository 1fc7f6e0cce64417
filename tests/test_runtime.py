"""The minimal runtime: no torch, thread-safe routing, clear errors on bad artifacts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from test_router import build_sample_artifact, sample_calls
from slmprofile.testing.tiny_router import TINY_WEIGHTS, build_tiny_router


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, embedder):
    return build_sample_artifact(tmp_path_factory.getbasetemp(), embedder)


def test_runtime_routes_without_importing_torch(artifact):
    directory, _ = artifact
    code = textwrap.dedent(f"""
        import sys, json
        from slmprofile.runtime import Router
        router = Router.load({str(directory)!r}, variant="int8", threads=1)
        result = router.route(["Classify the sentiment of this review: great product", "Prove that sqrt(2) is irrational"])
        heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "polars", "sklearn")
                       if m in sys.modules)
        print(json.dumps({{"heavy": heavy, "decisions": result.decisions, "p": result.p_slm.tolist()}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    payload = json.loads(out.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == []
    assert len(payload["decisions"]) == 2 and all(0 <= p <= 1 for p in payload["p"])


def test_route_is_thread_safe_and_batching_does_not_change_results(artifact):
    from slmprofile.runtime import Router

    directory, _ = artifact
    texts = sample_calls(n=48, seed=2)["prompt_text"].to_list()
    router = Router.load(directory, variant="fp32", threads=1)
    one_by_one = np.array([router.route(t).p_slm[0] for t in texts])
    batched = router.route(texts, batch_size=16)
    assert np.allclose(batched.p_slm, one_by_one, atol=1e-5)  # padding and length sorting change nothing
    assert batched.to_slm.tolist() == (batched.p_slm >= router.threshold).tolist()
    chunks = [texts[i::4] for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: router.route(c, batch_size=4), chunks * 2))
    for i, res in enumerate(results):
        assert np.allclose(res.p_slm, batched.p_slm[i % 4::4], atol=1e-5)


def test_threshold_override_and_bad_artifacts_give_clear_errors(artifact, tmp_path):
    from slmprofile.errors import SlmprofileError
    from slmprofile.runtime import Router

    directory, _ = artifact
    texts = sample_calls(n=40, seed=3)["prompt_text"].to_list()
    strict = Router.load(directory, variant="fp32", threshold=1.01).route(texts)
    assert not strict.to_slm.any() and set(strict.decisions) == {"frontier"}
    loose = Router.load(directory, variant="fp32", threshold=0.0).route(texts)
    assert loose.to_slm.all()
    assert Router.load(directory).route([]).p_slm.shape == (0,)

    broken = tmp_path / "broken"
    shutil.copytree(directory, broken)
    (broken / "router.int8.onnx").unlink()
    with pytest.raises(SlmprofileError, match=r"router.json: field 'files.int8' .* \(no such file"):
        Router.load(broken, variant="int8")
    config = json.loads((broken / "router.json").read_text())
    (broken / "router.json").write_text(json.dumps({**config, "format": "pickle"}))
    with pytest.raises(SlmprofileError, match="router.json: field 'format'"):
        Router.load(broken, variant="fp32")
    with pytest.raises(SlmprofileError, match="router.json: not found"):
        Router.load(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="'device' parameter"):
        Router.load(directory, device="tpu")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ router.json checks (no training)
def _tiny_router(directory):
    """The package's tiny router (a word-level tokenizer and a hand-built ONNX graph with the exported graph's
    interface, score = sum of TINY_WEIGHTS over the words)."""
    return build_tiny_router(directory)


@pytest.fixture(scope="module")
def tiny_router(tmp_path_factory):
    return _tiny_router(tmp_path_factory.mktemp("tiny") / "router")


@pytest.fixture
def router_copy(tiny_router, tmp_path):
    """A fresh copy of the tiny router, and beside it (outside it) a directory holding a valid model and tokenizer:
    what a hostile router.json would point at."""
    directory = tmp_path / "router"
    shutil.copytree(tiny_router, directory)
    outside = tmp_path / "outside"
    shutil.copytree(tiny_router, outside)
    return directory, outside


def test_tiny_router_loads_and_routes_by_its_weights(tiny_router):
    from slmprofile.runtime import Router

    texts = ["Classify this ticket", "Prove the strategy", "summarise", "", "an unknown sentence"]
    result = Router.load(tiny_router, variant="fp32", threads=1).route(texts)
    expected = np.array([sum(TINY_WEIGHTS.get(w, 0.0) for w in t.lower().split()) for t in texts])
    assert np.allclose(result.score, expected, atol=1e-6)
    assert result.decisions == ["slm", "frontier", "slm", "slm", "slm"]  # sigmoid(0) = 0.5 >= threshold 0.5


def test_stored_threshold_just_above_one_sends_everything_to_the_frontier(router_copy):
    """Training stores 1 + 1e-6 when no threshold reaches its target; that router.json must load."""
    from slmprofile.runtime import Router

    directory, outside = router_copy
    _edit_config(threshold=1 + 1e-6)(directory, outside)
    result = Router.load(directory, variant="int8").route(["Classify this ticket", "summarise"])
    assert result.threshold == 1 + 1e-6 and result.decisions == ["frontier", "frontier"]
    assert result.p_slm.min() > 0.7  # both would go to the SLM at the usual threshold


def _edit_config(**changes):
    def corrupt(directory, outside):
        path = directory / "router.json"
        config = json.loads(path.read_text())
        for key, value in changes.items():
            if value is _DROP:
                config.pop(key)
            else:
                config[key] = value(outside) if callable(value) else value
        path.write_text(json.dumps(config))
    return corrupt


def _edit_files(**changes):
    def files(outside):
        base = {"fp32": "router.onnx", "int8": "router.int8.onnx", "tokenizer": "tokenizer.json"}
        for key, value in changes.items():
            if value is _DROP:
                base.pop(key)
            else:
                base[key] = value(outside) if callable(value) else value
        return base
    return _edit_config(files=files)


def _write(name, data):
    def corrupt(directory, outside):
        (directory / name).write_bytes(data)
    return corrupt


def _symlink(name, target):
    def corrupt(directory, outside):
        (directory / name).unlink(missing_ok=True)
        (directory / name).symlink_to(outside / target)
    return corrupt


def _unlink(name):
    def corrupt(directory, outside):
        (directory / name).unlink()
    return corrupt


def _both(*steps):
    def corrupt(directory, outside):
        for step in steps:
            step(directory, outside)
    return corrupt


_DROP = object()

#: id -> (how to spoil a valid router directory, the file the error must name, what the message must say).
BAD_ROUTERS = {
    "binary": (_write("router.json", b"\x80\x03}q\x00(X\x06\x00\x00\x00formatq\x01"), "router.json",
               "not a JSON text file"),
    "cut_off_json": (_write("router.json", b'{"format": "slmprofile-router", "thres'), "router.json",
                     "invalid JSON at line 1"),
    "json_list": (_write("router.json", b'[{"threshold": 0.5}]'), "router.json", "must hold a JSON object"),
    "not_a_router": (_edit_config(format="pickle"), "router.json", "field 'format' must be 'slmprofile-router'"),
    "newer_format": (_edit_config(format_version=99), "router.json", "field 'format_version' must be at most 1"),
    "format_version_text": (_edit_config(format_version="1"), "router.json", "field 'format_version'"),
    "threshold_text": (_edit_config(threshold="abc"), "router.json",
                       "field 'threshold' must be a number in [0, 1]; got 'abc'"),
    "threshold_nan": (_edit_config(threshold=float("nan")), "router.json", "field 'threshold' must be a number"),
    "threshold_percent": (_edit_config(threshold=50), "router.json", "field 'threshold' must be a number in [0, 1]"),
    "threshold_bool": (_edit_config(threshold=True), "router.json",
                       "field 'threshold' must be a number in [0, 1]; got true"),
    "threshold_missing": (_edit_config(threshold=_DROP), "router.json", "field 'threshold' must be a number in "
                          "[0, 1]; got nothing (the field is missing)"),
    "max_length_null": (_edit_config(max_length=None), "router.json",
                        "field 'max_length' must be a positive integer; got null"),
    "max_length_zero": (_edit_config(max_length=0), "router.json", "field 'max_length' must be a positive integer"),
    "pad_id_text": (_edit_config(pad_id="0"), "router.json", "field 'pad_id' must be a non-negative integer"),
    "files_string": (_edit_config(files="router.onnx"), "router.json", "field 'files' must be an object"),
    "files_missing": (_edit_config(files=_DROP), "router.json", "field 'files' must be an object"),
    "file_name_number": (_edit_files(fp32=3), "router.json", "field 'files.fp32' must be a file name"),
    "absolute_path": (_edit_files(fp32=lambda outside: str(outside / "router.onnx")), "router.json",
                      "field 'files.fp32' must be a file name inside the router directory"),
    "dotdot_path": (_edit_files(fp32="../outside/router.onnx"), "router.json", "'files.fp32' must be a file name "
                    "inside the router directory; got '../outside/router.onnx'"),
    "unused_entry_outside": (_edit_files(int8="/etc/passwd"), "router.json", "field 'files.int8'"),
    "symlink_escape": (_both(_symlink("model.onnx", "router.onnx"), _edit_files(fp32="model.onnx")), "router.json",
                       "'files.fp32' must be a file name inside the router directory; got 'model.onnx' (resolves"),
    "symlinked_folder": (_both(_symlink("sub", "."), _edit_files(fp32="sub/router.onnx")), "router.json",
                         "field 'files.fp32'"),
    "default_tokenizer_symlink": (_both(_symlink("tokenizer.json", "tokenizer.json"), _edit_files(tokenizer=_DROP)),
                                  "router.json", "field 'files.tokenizer'"),
    "directory_itself": (_edit_files(fp32="."), "router.json", "field 'files.fp32' must be a file name inside the "
                         "router directory; got '.' (the router directory itself)"),
    "model_not_listed": (_edit_files(fp32=_DROP), "router.json", "field 'files.fp32' must be a file name inside the "
                         "router directory; got nothing (the field is missing; export it"),
    "model_file_missing": (_unlink("router.onnx"), "router.json",
                           "field 'files.fp32' must be a file name inside the router directory; got "
                           "'router.onnx' (no such file"),
    "tokenizer_file_missing": (_unlink("tokenizer.json"), "router.json", "field 'files.tokenizer'"),
    "model_garbage": (_write("router.onnx", b"not an onnx model"), "router.onnx", "not a loadable ONNX model"),
    "tokenizer_garbage": (_write("tokenizer.json", b'{"model": 1}'), "tokenizer.json", "not a tokenizer file"),
}


@pytest.mark.parametrize("case", list(BAD_ROUTERS))
def test_bad_router_directories_give_one_line_errors_naming_file_and_field(case, router_copy):
    from slmprofile.errors import RouterFileError
    from slmprofile.runtime import Router

    directory, outside = router_copy
    corrupt, file_name, says = BAD_ROUTERS[case]
    Router.load(directory, variant="fp32")  # the copy is valid before it is spoilt
    corrupt(directory, outside)
    with pytest.raises(RouterFileError) as caught:
        Router.load(directory, variant="fp32", threads=1)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{directory / file_name}: "), message
    assert says in message, message


@pytest.mark.parametrize("case", ["binary", "json_list", "threshold_text", "files_string", "max_length_null",
                                  "absolute_path", "dotdot_path", "symlink_escape", "model_file_missing",
                                  "model_garbage"])
def test_cli_bench_on_a_bad_router_directory_exits_2_with_one_error_line(case, router_copy, tmp_path):
    from typer.testing import CliRunner

    from slmprofile.cli import app

    directory, outside = router_copy
    corrupt, file_name, says = BAD_ROUTERS[case]
    corrupt(directory, outside)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Classify this ticket\nProve the strategy\n")
    result = CliRunner().invoke(app, ["router", "bench", str(directory), "--device", "cpu", "--variants", "fp32",
                                      "--no-pytorch", "--prompts", str(prompts), "--batch-sizes", "1",
                                      "--max-seconds", "0.1"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"error: {directory / file_name}: "), result.output
    assert says in errors[0]
    assert not (directory / "bench.json").exists()


def test_cli_error_lines_are_not_read_as_markup(router_copy, tmp_path):
    from typer.testing import CliRunner

    from slmprofile.cli import app

    directory, outside = router_copy
    _edit_config(threshold="[/bold][red]0.5")(directory, outside)
    result = CliRunner().invoke(app, ["router", "bench", str(directory), "--device", "cpu", "--no-pytorch"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "got '[/bold][red]0.5'" in result.output


# ------------------------------------------------------------------------------ variant="auto" and the fused graph
class _FakeSession:
    """Stands in for an onnxruntime session whose run takes ``ms[length]`` milliseconds."""

    def __init__(self, ms):
        self.ms = ms
        self.calls = 0

    def get_inputs(self):
        from types import SimpleNamespace

        return [SimpleNamespace(name="input_ids"), SimpleNamespace(name="attention_mask")]

    def run(self, names, feeds):
        import time

        self.calls += 1
        time.sleep(self.ms[feeds["input_ids"].shape[1]] / 1000)


@pytest.mark.parametrize(("int8_ms", "expected"), [({16: 3.0, 64: 6.0}, "int8"),     # faster on both inputs
                                                   ({16: 14.0, 64: 28.0}, "fp32"),  # slower: never int8
                                                   ({16: 3.0, 64: 28.0}, "fp32"),   # much slower on one input
                                                   ({16: 9.9, 64: 19.8}, "fp32")])  # 1 % faster: not worth it
def test_auto_variant_picks_int8_only_where_it_is_faster(int8_ms, expected):
    from slmprofile.runtime import AUTO_ROUNDS, choose_variant

    sessions = {"fp32": _FakeSession({16: 10.0, 64: 20.0}), "int8": _FakeSession(int8_ms)}
    choice = choose_variant(sessions, vocab_size=30522, max_length=256)
    assert choice["variant"] == expected
    assert [(t["batch"], t["length"]) for t in choice["timings"]] == [(1, 16), (1, 64)]
    assert all(s.calls == 2 * (2 + AUTO_ROUNDS) for s in sessions.values())  # warm-up + paired rounds, per input
    ratios = [t["int8_over_fp32"] for t in choice["timings"]]
    assert ratios[0] == pytest.approx(int8_ms[16] / 10.0, rel=0.3)
    assert choice["int8_over_fp32"] == pytest.approx(float(np.sqrt(ratios[0] * ratios[1])))


def test_load_auto_is_the_default_and_an_explicit_variant_is_respected(router_copy, monkeypatch):
    from slmprofile import runtime
    from slmprofile.runtime import Router

    directory, outside = router_copy
    router = Router.load(directory, threads=1)  # a router.json of the first format version (no "graph" field)
    assert router.variant in ("fp32", "int8") and router.variant_choice["variant"] == router.variant
    assert [t["length"] for t in router.variant_choice["timings"]] == [16, 16]  # capped at max_length 16
    for forced in ("int8", "fp32"):
        monkeypatch.setattr(runtime, "choose_variant", lambda sessions, forced=forced, **_: {
            "variant": forced, "rule": "test", "timings": []})
        auto = Router.load(directory)
        assert auto.variant == forced
        assert auto.session._model_path.endswith("router.int8.onnx" if forced == "int8" else "router.onnx")
        explicit = Router.load(directory, variant="fp32" if forced == "int8" else "int8")
        assert explicit.variant != forced and explicit.variant_choice is None
    monkeypatch.setattr(runtime, "choose_variant", lambda *a, **k: pytest.fail("timed without an int8 file"))
    _edit_files(int8=_DROP)(directory, outside)  # an fp32-only directory (exported with --no-int8)
    only = Router.load(directory)
    assert only.variant == "fp32" and "no int8 file" in only.variant_choice["rule"]
    with pytest.raises(ValueError, match="'variant' parameter must be 'auto', 'fp32' or 'int8'"):
        Router.load(directory, variant="int4")  # type: ignore[arg-type]


def test_exported_graph_is_fused_and_matches_pytorch(artifact, embedder):
    import onnx

    from slmprofile.router.export import torch_reference
    from slmprofile.runtime import Router

    directory, router = artifact
    config = json.loads((directory / "router.json").read_text())
    fused = config["graph"]["fused"]
    assert fused["Attention"] == 6 and fused["SkipLayerNormalization"] == 12 and fused["BiasGelu"] == 6
    assert config["graph"]["max_abs_diff_vs_unfused"] < 1e-4
    ops = {n.op_type for n in onnx.load(str(directory / "router.onnx"), load_external_data=False).graph.node}
    assert {"Attention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops and "Softmax" not in ops
    int8_ops = [n.op_type for n in onnx.load(str(directory / "router.int8.onnx"), load_external_data=False).graph.node]
    assert int8_ops.count("MultiHeadAttention") == 6 and int8_ops.count("MatMulNBits") == 36
    texts = sample_calls(n=40, seed=4)["prompt_text"].to_list()
    reference = torch_reference(router, texts, embedder=embedder)
    fp32 = Router.load(directory, variant="fp32")
    assert np.abs(fp32.route(texts, batch_size=8).p_slm - reference).max() < 1e-4  # padded batches
    assert np.abs(np.array([fp32.route(t).p_slm[0] for t in texts[:10]]) - reference[:10]).max() < 1e-4


def _toy_module(with_config):
    """A module with the router graph's interface (ids, mask -> p_slm, score) and an ``encoder`` attribute."""
    import torch

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Embedding(8000, 4)  # the export sample has ids up to 7592
            if with_config:
                from types import SimpleNamespace

                self.encoder.config = SimpleNamespace(num_attention_heads=1, hidden_size=4, vocab_size=8000)

        def forward(self, input_ids, attention_mask):
            score = (self.encoder(input_ids).sum(-1) * attention_mask).sum(1)
            return torch.sigmoid(score), score

    return Toy().eval()


@pytest.mark.parametrize("case", ["no_config", "fusion_fails", "outputs_move"])
def test_graph_is_written_unfused_when_fusion_does_not_apply(case, tmp_path, monkeypatch):
    from slmprofile.router import export

    if case == "fusion_fails":
        monkeypatch.setattr(export, "fuse_graph", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no pattern")))
    if case == "outputs_move":
        monkeypatch.setattr(export, "fuse_graph", lambda source, target, **_: (
            __import__("shutil").copyfile(source, target), {"Attention": 1})[1])
        monkeypatch.setattr(export, "graph_max_abs_diff", lambda *a, **k: 0.5)
    files, info = export.write_graphs(_toy_module(case != "no_config"), tmp_path, opset=17, int8=False,
                                      max_length=16)
    assert info["fused"] is None and files == {"fp32": tmp_path / "router.onnx"}
    assert {"no_config": "not a transformer encoder", "fusion_fails": "fusion failed (RuntimeError: no pattern)",
            "outputs_move": "moved by 0.5"}[case] in info["why"]
    import onnxruntime as ort

    session = ort.InferenceSession(str(files["fp32"]), providers=["CPUExecutionProvider"])
    ids = np.array([[1, 2, 3]], dtype=np.int64)
    assert session.run(["p_slm"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0].shape == (1,)


def test_export_joins_the_cached_encoder_graph_and_decides_like_the_one_piece_export(artifact, tmp_path, monkeypatch):
    """The second export of a model reuses its cached, fused encoder graphs (no encoder loaded, nothing fused) and
    gives the one-piece export's p_slm; a broken cache entry falls back to the one-piece export. The first export,
    in a process without PyTorch, builds the cached graphs in a child process."""
    from slmprofile import child
    from slmprofile.router import export as ex
    from slmprofile.router.graft import encoder_cache_dir
    from slmprofile.runtime import Router

    _, router = artifact
    cache = tmp_path / "cache"
    children = []
    monkeypatch.setattr(ex, "_torch_loaded", lambda: False)
    monkeypatch.setattr(child, "call", lambda fn, *a, _call=child.call, **k: children.append(fn) or _call(fn, *a, **k))
    first = ex.export_router(router, tmp_path / "first", cache_dir=cache)
    assert children == [ex.build_encoder_graphs]
    assert first.config["graph"]["built"] == "joined" and first.config["graph"]["fused"]["Attention"] == 6
    one_piece = ex.export_router(router, tmp_path / "one", reuse_encoder=False)
    assert one_piece.config["graph"]["built"] == "one piece"

    def no_loading(*args, **kwargs):
        raise AssertionError("the encoder was loaded although its graphs are cached")

    monkeypatch.setattr(ex, "load_graph_encoder", no_loading)
    second = ex.export_router(router, tmp_path / "second", cache_dir=cache)
    assert second.config["graph"]["built"] == "joined" and second.config["graph"]["max_abs_diff_vs_parts"] < 1e-5
    assert second.config["outputs"] == one_piece.config["outputs"] == ["p_slm", "score", "novelty"]
    texts = sample_calls(n=40, seed=5)["prompt_text"].to_list()
    for variant in ("fp32", "int8"):
        joined = Router.load(tmp_path / "second", variant=variant).route(texts, batch_size=8)
        whole = Router.load(tmp_path / "one", variant=variant).route(texts, batch_size=8)
        assert np.abs(joined.p_slm - whole.p_slm).max() < 1e-5
        assert (joined.to_slm == whole.to_slm).all() and joined.novel_share == whole.novel_share
    monkeypatch.undo()
    from slmprofile.encoder import default_model_path

    (encoder_cache_dir(default_model_path(), opset=ex.OPSET, cache_dir=cache) / "router.int8.onnx").write_bytes(b"x")
    fallback = ex.export_router(router, tmp_path / "fallback", cache_dir=cache)
    assert fallback.config["graph"]["built"] == "one piece"
    again = Router.load(tmp_path / "fallback", variant="int8").route(texts, batch_size=8)
    assert np.abs(again.p_slm - Router.load(tmp_path / "one", variant="int8").route(texts, batch_size=8).p_slm).max() < 1e-5
