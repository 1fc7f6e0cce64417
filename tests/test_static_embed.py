"""Static embedding distilled from the bundled MiniLM: distillation, the numpy encoder, the router graph built on it.

The distillation runs on a small part of the vocabulary (the word pieces most frequent in the sample prompts) so
that it takes seconds; pieces left out get zero rows, which a prompt's mean simply skips.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from test_router import sample_calls

N_PIECES = 600


@pytest.fixture(scope="module")
def calls():
    return sample_calls()


@pytest.fixture(scope="module")
def piece_ids(calls):
    from slmprofile.router.features import encoder_tokenizer

    tokenizer, _ = encoder_tokenizer()
    counts = Counter(i for e in tokenizer.encode_batch(calls["prompt_text"].to_list()) for i in e.ids)
    return [i for i, _ in counts.most_common(N_PIECES)]


@pytest.fixture(scope="module")
def static_folder(tmp_path_factory, piece_ids):
    from slmprofile.static_embed import distill_static

    return distill_static(token_ids=piece_ids, dims=64, cache_dir=tmp_path_factory.mktemp("static-cache"),
                          progress=False)


def test_distillation_writes_a_reusable_table_with_its_provenance(static_folder, piece_ids, monkeypatch):
    from slmprofile.embed import default_model_path, model_identity
    from slmprofile.static_embed import STATIC_FILE, distill_static, load_static

    table, info = load_static(static_folder)
    assert table.dtype == np.float32 and table.shape == (30522, 64)
    assert info["source"]["model_id"] == model_identity(default_model_path())
    assert info["dims"] == 64 and info["weighting"] == "none" and info["subset"] is True
    assert "[CLS] piece [SEP], mean pooled" in info["method"] and info["max_length"] == 256
    assert 0 < info["pieces_distilled"] <= N_PIECES
    # special tokens ([PAD] 0, [CLS] 101, [SEP] 102) are zero rows: they do not move a prompt's vector
    assert not table[[0, 101, 102]].any() and (np.abs(table).sum(axis=1) > 0).sum() == info["pieces_distilled"]
    assert (static_folder / "tokenizer.json").is_file() and (static_folder / STATIC_FILE).is_file()
    # built once: a second call with the same settings reuses the folder without running the encoder
    monkeypatch.setattr("slmprofile.static_embed.piece_vectors", lambda *a, **k: pytest.fail("recomputed"))
    again = distill_static(token_ids=piece_ids, dims=64, cache_dir=static_folder.parents[1], progress=False)
    assert again == static_folder


def test_a_piece_vector_is_the_encoder_output_for_the_piece_alone(tmp_path, embedder):
    from slmprofile.static_embed import piece_vectors

    ids, vectors = piece_vectors(token_ids=[101, 7592, 2088], progress=False)  # [CLS] is skipped: a zero row
    assert ids.tolist() == [7592, 2088]  # "hello", "world"
    reference = embedder.encode(["hello", "world"])  # mean pooled, unit norm
    got = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.allclose(got, reference, atol=1e-4)


def test_static_embedder_gives_unit_vectors_and_matches_the_torch_module(static_folder, calls):
    import torch

    from slmprofile.runtime import load_tokenizer, pad_batch
    from slmprofile.static_embed import StaticEmbedder, StaticEncoder

    texts = calls["prompt_text"].to_list()[:40] + ["", "hello"]
    emb = StaticEmbedder(static_folder)
    vectors = emb.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 64)
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[:-2], 1.0, atol=1e-5) and norms[-2] == 0.0  # an empty text has only special tokens
    assert emb.info()["kind"] == "static" and emb.info()["dim"] == 64
    # one text at a time and a batch agree; the padded-batch numpy path and the torch module agree
    assert np.allclose(emb.encode(texts[:1]), vectors[:1], atol=1e-6)
    tokenizer = load_tokenizer(static_folder / "tokenizer.json", 256)
    ids, mask = pad_batch(tokenizer.encode_batch(texts))
    assert np.allclose(emb.encode_ids(ids, mask), vectors, atol=1e-5)
    encoder, max_length = StaticEncoder.from_folder(static_folder)
    assert encoder.config.hidden_size == 64 and max_length == 256
    with torch.no_grad():
        hidden = encoder(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
    m = torch.from_numpy(mask).unsqueeze(-1).float()
    pooled = (hidden * m).sum(1) / m.sum(1)
    pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
    assert np.allclose(pooled.numpy(), vectors, atol=1e-5)


def test_a_static_router_trains_exports_one_graph_and_routes_like_its_numpy_reference(static_folder, calls,
                                                                                     tmp_path):
    from slmprofile.router import SlmRouter, export_router, parity_report, train_router
    from slmprofile.router.features import build_features
    from slmprofile.runtime import Router
    from slmprofile.static_embed import StaticEmbedder

    embedder = StaticEmbedder(static_folder)
    result = train_router(calls["prompt_text"].to_list(), calls["slm_correct"], calls["frontier_correct"],
                          groups=calls["task_type"], embedder=embedder, test_size=0.25,
                          router=SlmRouter(target="share", target_value=0.6, cv=3, C=1.0, bag_of_pieces=False))
    assert result.encoder["kind"] == "static" and result.router.n_features_in_ == 64
    directory = tmp_path / "router"
    files = result.write(directory)
    assert (files["static"] / "static.json").is_file()
    assert json.loads((directory / "training.json").read_text())["encoder"]["kind"] == "static"
    export = export_router(directory / "head.npz", directory)  # finds static/ beside head.npz
    config = json.loads((directory / "router.json").read_text())
    assert config["encoder"]["kind"] == "static" and config["encoder"]["dim"] == 64
    assert config["files"] == {"fp32": "router.onnx", "tokenizer": "tokenizer.json"} and config["int8"] is None
    assert export.files["fp32"].stat().st_size > 30522 * 64 * 4  # the table lives in the one graph
    held = sample_calls(n=120, seed=1)["prompt_text"].to_list()
    report = parity_report(result.router, directory, held, embedder=embedder)
    assert report["fp32_max_abs_diff"] < 1e-5 and report["fp32_decision_agreement_with_torch"] == 1.0
    # the runtime loads it unchanged: batch 1, a batch, and the numpy reference's decisions
    router = Router.load(directory, variant="fp32", threads=1)
    batch = router.route(held, batch_size=16)
    reference = result.router.predict_proba(build_features(held, embedder=embedder))
    assert np.abs(batch.p_slm - reference).max() < 1e-5
    assert router.route(held[0]).p_slm[0] == pytest.approx(reference[0], abs=1e-5)
    assert Router.load(directory, threads=1).variant == "fp32"  # the default variant finds the one graph


def test_cli_trains_and_exports_a_static_router(static_folder, calls, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from slmprofile.cli import app

    # the default static embedding is the full vocabulary: stand in the small one for speed
    monkeypatch.setattr("slmprofile.static_embed.distill_static", lambda *a, **k: static_folder)
    logs = tmp_path / "logs.parquet"
    calls.drop("family").write_parquet(logs)
    out = tmp_path / "router"
    runner = CliRunner()
    result = runner.invoke(app, ["router", "train", str(logs), "--out", str(out), "--encoder", "static",
                                 "--groups", "task_type", "--no-bag-of-pieces", "--target-by", "share",
                                 "--target-value", "0.6", "--export", "--check", "40"])
    assert result.exit_code == 0, result.output
    for name in ("head.npz", "training.json", "router.onnx", "tokenizer.json", "router.json", "static/static.json"):
        assert (out / name).is_file(), name
    assert not (out / "router.int8.onnx").exists()
    assert "fp32_decision_agreement_with_torch 1" in result.output
    assert json.loads((out / "router.json").read_text())["encoder"]["kind"] == "static"
    result = runner.invoke(app, ["router", "bench", str(out), "--batch-sizes", "1", "--max-seconds", "0.2",
                                 "--n", "8", "--threads", "1", "--device", "cpu", "--prompts", str(logs)])
    assert result.exit_code == 0, result.output
    bench = json.loads((out / "bench.json").read_text())
    assert {r["path"] for r in bench["rows"]} == {"onnx", "numpy static + head"}
    assert any("int8: not exported" in line for line in bench["skipped"])
    result = runner.invoke(app, ["router", "train", str(logs), "--out", str(tmp_path / "r2"), "--encoder", "bert"],
                           env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "'bert' is not one of 'minilm', 'static'" in result.output
