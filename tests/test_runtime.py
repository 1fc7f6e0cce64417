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
    with pytest.raises(SlmprofileError, match="no int8 model"):
        Router.load(broken, variant="int8")
    config = json.loads((broken / "router.json").read_text())
    (broken / "router.json").write_text(json.dumps({**config, "format": "pickle"}))
    with pytest.raises(SlmprofileError, match="router.json: field 'format'"):
        Router.load(broken, variant="fp32")
    with pytest.raises(SlmprofileError, match="router.json: not found"):
        Router.load(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="'device' parameter"):
        Router.load(directory, device="tpu")  # type: ignore[arg-type]
