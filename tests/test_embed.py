"""Embedding: bundled model offline, dedup, cache hits and resumption, long prompts, frames."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from slmprofile.embed import EmbeddingCache, Embedder, embed_prompts, model_identity
from slmprofile.errors import SlmprofileError

TEXTS = ["My card was charged twice, please refund.", "Reset my password", "Translate 'good morning' to German",
         "Reset my password", "Summarise the meeting notes below"]


def test_bundled_model_encodes_offline_and_dedups(embedder: Embedder) -> None:
    vecs = embedder.encode(TEXTS)
    assert vecs.shape == (5, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs[1], vecs[3])
    assert embedder.stats_.distinct == 4
    # semantically close texts are closer than unrelated ones
    sims = vecs @ vecs.T
    paraphrase = embedder.encode(["I was billed two times, I want my money back"])[0]
    assert paraphrase @ vecs[0] > paraphrase @ vecs[2] + 0.2
    assert sims[0, 2] < 0.5


def test_cache_makes_a_rerun_encode_nothing(tmp_path: Path, embedder: Embedder) -> None:
    first = embedder.clone(cache_dir=tmp_path)
    a = first.encode(TEXTS)
    assert first.stats_.encoded == 4 and first.stats_.cache_hits == 0
    second = Embedder(cache_dir=tmp_path, device="cpu")  # a fresh process would load the model anew
    b = second.encode(TEXTS + ["A brand new prompt"])
    assert second.stats_.cache_hits == 4 and second.stats_.encoded == 1
    assert np.allclose(a, b[:5], atol=1e-6)
    files = sorted(p.name for p in (tmp_path / "embeddings" / first.model_id_).iterdir())
    assert len(files) == 4 and all(f.endswith(".npy") for f in files)  # two shards, no pickles


def test_a_rerun_served_from_the_cache_never_loads_the_model(tmp_path: Path, embedder: Embedder) -> None:
    first = embedder.clone(cache_dir=tmp_path)
    a = first.encode(TEXTS)
    again = Embedder(cache_dir=tmp_path, device="cpu", progress=False)
    b = again.encode(list(reversed(TEXTS)))
    assert again.stats_.cache_hits == 4 and again.stats_.encoded == 0
    assert getattr(again, "_model", None) is None  # every vector from the cache: nothing loaded
    assert np.array_equal(a, b[::-1])
    assert again.info() == first.info()  # described from the model directory, the same as when loaded
    assert getattr(again, "_model", None) is None
    again.encode(["A prompt the cache has never seen"])  # something to encode: now the model loads
    assert again._model is not None and again.stats_.encoded == 1


def test_cache_ignores_a_shard_whose_write_was_interrupted(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put(["a" * 32, "b" * 32], np.ones((2, 3), dtype=np.float32))
    # a crash after the vectors but before the keys file leaves an orphan vectors file: ignored on load
    np.save(tmp_path / "orphan.vectors.npy", np.zeros((1, 3), dtype=np.float32))
    (tmp_path / "half.keys.npy.tmp").write_bytes(b"garbage")
    fresh = EmbeddingCache(tmp_path)
    found, vecs = fresh.get(["b" * 32, "c" * 32, "a" * 32])
    assert found == [0, 2] and vecs.shape == (2, 3) and len(fresh) == 2


def test_long_prompts_truncate_or_chunk(embedder: Embedder) -> None:
    head = "Classify the sentiment of this product review as positive, negative or neutral. "
    filler = " ".join(f"The delivery on day {i} was on time and the box was intact." for i in range(80))
    long_text = head + filler
    assert embedder.count_tokens([long_text])[0] > 3 * embedder.max_seq_length_
    # truncate: everything past max_seq_length is ignored, so appending more text changes nothing
    a, b = embedder.encode([long_text, long_text + " Terrible, never again!" * 20])
    assert float(a @ b) > 0.9999
    chunker = embedder.clone(long_text="chunk", cache_dir=False)
    c, d = chunker.encode([long_text, long_text + " Terrible, never again!" * 20])
    assert float(c @ d) < 0.9999  # chunking sees the tail
    assert abs(np.linalg.norm(c) - 1) < 1e-5
    short = chunker.encode(["a short prompt"])[0]
    assert np.allclose(short, embedder.encode(["a short prompt"])[0], atol=1e-5)


def test_model_must_be_a_local_directory() -> None:
    with pytest.raises(SlmprofileError, match="never downloads"):
        Embedder("sentence-transformers/all-mpnet-base-v2", cache_dir=False).model_  # noqa: B018 - loading is the test


def test_constructor_does_no_work() -> None:
    emb = Embedder("/does/not/exist", batch_size=0)
    assert emb.model == "/does/not/exist" and not hasattr(emb, "model_id_")
    with pytest.raises(ValueError, match="'batch_size' parameter of Embedder must be an int >= 1"):
        emb.model_  # noqa: B018 - loading is the test


def test_model_identity_changes_with_weights(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"\x00" * 100)
    first = model_identity(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"\x01" * 100)
    assert model_identity(tmp_path / "m") != first and first.startswith("m-")


def test_embed_prompts_one_row_per_distinct_prompt(embedder: Embedder) -> None:
    logs = pl.DataFrame({"prompt_text": TEXTS, "prompt_hash": [f"h{t}" for t in TEXTS],
                         "template_id": ["t1", "t2", "t3", "t2", "t4"]})
    out = embed_prompts(logs, embedder=embedder)
    assert out.columns == ["prompt_hash", "n_calls", "template_id", "embedding"]
    assert out.height == 4 and out.schema["embedding"] == pl.Array(pl.Float32, 384)
    assert out.filter(pl.col("prompt_hash") == "hReset my password")["n_calls"].item() == 2


# ------------------------------------------------------------------ ONNX backends


@pytest.fixture(scope="module")
def sample_prompts() -> list[str]:
    """Distinct prompts of the bundled sample's OpenAI log (realistic lengths: short questions to long documents)."""
    from slmprofile.ingest import ingest

    frame = ingest(Path(__file__).resolve().parents[1] / "data" / "logs" / "openai_chat.jsonl").frame
    return frame["prompt_text"].unique(maintain_order=True).to_list()[:160]


def test_auto_backend_uses_int8_onnx_when_it_agrees_with_pytorch(tmp_path: Path, embedder: Embedder,
                                                                 sample_prompts: list[str]) -> None:
    fast = Embedder(backend="auto", cache_dir=tmp_path, device="cpu", progress=False)
    vecs = fast.encode(sample_prompts)
    info = fast.info()
    assert info["backend"] == "onnx-int8", info
    assert info["onnx_parity"]["texts"] >= 40 and info["onnx_parity"]["min_cosine"] >= 0.99
    ref = embedder.encode(sample_prompts)
    cos = np.einsum("ij,ij->i", vecs, ref)
    print(f"int8 ONNX vs PyTorch on {len(cos)} sample prompts: min cosine {cos.min():.4f}, mean {cos.mean():.5f}")
    assert cos.min() >= 0.99 and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-4)
    # int8 vectors live in their own cache; a rerun encodes nothing and returns the same vectors
    assert {p.name for p in (tmp_path / "embeddings").iterdir()} == {f"{info['model_id']}.onnx-int8"}
    again = Embedder(backend="auto", cache_dir=tmp_path, device="cpu", progress=False)
    assert np.array_equal(again.encode(sample_prompts), vecs) and again.stats_.encoded == 0
    # ... and settles on int8 from that cache alone: no export, no probe, no model (a warm run starts nothing)
    warm = again.info()
    assert warm["backend"] == "onnx-int8" and warm["onnx_parity"] == {"from_cache": True}, warm
    assert warm["dim"] == 384 and warm["max_seq_length"] == 256
    assert getattr(again, "_onnx", None) is None and getattr(again, "_model", None) is None
    # new texts after an all-cached call: the export and the probe run then, and the cached vectors still serve
    more = again.encode(sample_prompts[:5] + ["a prompt no earlier call embedded"])
    assert again.info()["onnx_parity"]["min_cosine"] >= 0.99 and again.stats_.encoded == 1
    assert np.array_equal(more[:5], vecs[:5])
    assert float(more[5] @ embedder.encode(["a prompt no earlier call embedded"])[0]) >= 0.99


def test_onnx_fp32_matches_pytorch_and_auto_falls_back_below_the_parity_bar(
        tmp_path: Path, embedder: Embedder, sample_prompts: list[str], monkeypatch, caplog) -> None:
    from slmprofile import embed_onnx

    texts = sample_prompts[:40]
    fp32 = Embedder(backend="onnx", cache_dir=tmp_path, device="cpu", long_text="chunk")
    ref = embedder.clone(long_text="chunk", cache_dir=False).encode(texts)
    assert np.abs(fp32.encode(texts) - ref).max() < 1e-4
    monkeypatch.setattr(embed_onnx, "PARITY_MIN_COSINE", 1.01)  # a bar no quantised graph can meet
    strict = Embedder(backend="auto", cache_dir=tmp_path, device="cpu")
    with caplog.at_level("WARNING"):
        out = strict.encode(texts)
    assert strict.info()["backend"] == "torch" and "using sentence-transformers" in caplog.text
    assert np.abs(out - embedder.encode(texts)).max() < 1e-5
    with pytest.raises(ValueError, match="backend"):
        Embedder(backend="tensorrt").encode(["x"])


def test_onnx_choice_never_loads_pytorch_in_the_calling_process(tmp_path: Path) -> None:
    """``auto`` exports and probes in a child process: the process that embeds with ONNX never imports torch
    (about 0.8 GB of resident memory kept out of a large run). Run from ``python -`` on purpose: a
    ``multiprocessing`` spawn would fail there, re-importing a ``__main__`` that is not a file."""
    import subprocess
    import sys

    script = f"""
import sys
from slmprofile.embed import Embedder
emb = Embedder(backend="auto", cache_dir={str(tmp_path)!r}, device="cpu", progress=False)
vecs = emb.encode(["refund my order", "reset my password", "translate this to German"])
info = emb.info()
assert info["backend"] == "onnx-int8" and info["dim"] == 384 and vecs.shape == (3, 384), info
assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules
print("ok", info["onnx_parity"]["min_cosine"])
"""
    done = subprocess.run([sys.executable, "-"], input=script, text=True, capture_output=True, timeout=600)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr[-3000:]


def test_child_call_returns_results_and_reraises_errors() -> None:
    import math

    from slmprofile import child

    assert child.call(math.comb, 10, 3) == 120
    with pytest.raises(ValueError, match="invalid literal"):
        child.call(int, "not a number")
    with pytest.raises(ValueError, match="module-level"):
        child.call(lambda: 1)


def test_child_calls_travel_as_json_with_arrays_reports_and_errors_intact(tmp_path: Path) -> None:
    """No pickles between the processes: the call and its result are JSON, and what the large-log path sends
    (paths, counters, numpy arrays, slmprofile's dataclasses, its errors) comes back equal."""
    from collections import Counter

    import numpy as np

    from slmprofile import child
    from slmprofile.errors import IngestError
    from slmprofile.ingest.report import FileReport, IngestReport

    report = IngestReport(files=[FileReport(path="a.jsonl", format="openai_chat", rows_read=3, rows_kept=2,
                                            skipped=Counter({"invalid_json": 1}),
                                            examples={"invalid_json": ["a.jsonl:2"]})], rows_out=2)
    value = {"report": report, "paths": [tmp_path / "x.parquet"], "pair": (1, "b"), "n": np.int64(4),
             "vectors": np.arange(6, dtype=np.float32).reshape(2, 3), 7: None}
    back = child.decode(json.loads(json.dumps(child.encode(value))))
    assert back["report"] == report and back["report"].rows_skipped == 1
    assert back["paths"] == [tmp_path / "x.parquet"] and back["pair"] == (1, "b") and back["n"] == 4
    assert back["vectors"].dtype == np.float32 and np.array_equal(back["vectors"], value["vectors"]) and 7 in back
    err = child.decode(child.encode(IngestError("logs.jsonl:3 field 'messages': not a list")))
    assert isinstance(err, IngestError) and "logs.jsonl:3" in str(err)
    with pytest.raises(TypeError, match="cannot cross"):
        child.encode(object())
    # through a real child: an array result, and a failure re-raised as its own type
    assert np.array_equal(child.call(np.eye, 3), np.eye(3))
    with pytest.raises(FileNotFoundError):
        child.call(Path.read_text, tmp_path / "missing.txt")
    assert not list(Path(tempfile.gettempdir()).glob("slmprofile-child-*/*.pkl"))
