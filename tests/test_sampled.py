"""Large-log path: task types fit on a sample, pure templates place the rest, lazy statistics, ``run(stream=True)``
with outcome tables joined part by part."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def sample_parts(tmp_path_factory: pytest.TempPathFactory):
    """The bundled sample streamed to Parquet parts of 500 calls and redacted."""
    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.redact import redact_parts

    parts = ingest_to_parquet(DATA / "logs", tmp_path_factory.mktemp("parts"), chunk_rows=500)
    redact_parts(parts.parts)
    return parts


@pytest.fixture(scope="module")
def sampled(sample_parts, embedder):
    from slmprofile.cluster.sampled import discover_task_types_sampled

    return discover_task_types_sampled(sample_parts.scan(), embedder=embedder, fit_sample=1500, audit=200)


def test_blend_with_fitted_means_places_new_prompts_as_a_joint_fit_would() -> None:
    from slmprofile.cluster.model import blend_templates, group_means

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    groups = [None if i % 7 == 0 else f"g{i % 3}" for i in range(60)]
    joint = blend_templates(X, groups, 0.7)
    later = blend_templates(X[40:], groups[40:], 0.7, group_means(X[:40], groups[:40]))
    np.testing.assert_allclose(later, joint[40:], atol=1e-5)
    # without the fitted means a small batch is pulled to its own, different, means
    alone = blend_templates(X[40:], groups[40:], 0.7)
    assert np.abs(alone - joint[40:]).max() > 0.05


def test_lazy_task_type_stats_equal_eager(sample_parts) -> None:
    from slmprofile.cluster.stats import task_type_stats

    calls = sample_parts.scan().with_columns(
        (pl.col("prompt_hash").str.slice(0, 1).is_in(list("01234567"))).cast(pl.Int64).alias("cluster_id"),
        pl.lit(0.2).alias("distance"), pl.lit("core").alias("flags"))
    eager = task_type_stats(calls.collect()).sort("cluster_id")
    lazy = task_type_stats(calls).sort("cluster_id")
    assert eager.height == 2
    assert lazy.equals(eager)


def test_sampled_fit_embeds_less_and_matches_the_generator(sampled, sample_parts) -> None:
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    info = sampled.info
    distinct = sample_parts.scan().select(pl.col("prompt_hash").n_unique()).collect().item()
    assert info["distinct_prompts"] == distinct
    assert info["fit_sample"] == 1500
    # templates placed a real share of the prompts without embedding them ...
    assert info["prompts_by_template"] > 0.2 * distinct
    assert info["prompts_embedded"] == sampled.embeddings.height < distinct - info["prompts_by_template"] + 1
    assert info["prompts_embedded"] + info["prompts_by_template"] == distinct
    # ... and the audit (embedded, assigned by centroid) agrees with them
    assert info["audit_prompts"] == 200
    assert info["audit_agreement"] >= 0.95

    prompts = sampled.result.prompts
    assert prompts.height == distinct
    by_template = prompts.filter(pl.col("flags") == "template")
    assert by_template.height == info["prompts_by_template"]
    assert by_template["distance"].null_count() == by_template.height
    assert prompts.filter(pl.col("flags") != "template")["distance"].null_count() == 0
    assert not sampled.embeddings.join(by_template, on="prompt_hash", how="semi").height

    clusters = sampled.result.clusters
    assert clusters.height == sample_parts.report.rows_out
    truth = pl.read_csv(DATA / "truth.csv").select("id", pl.col("task_type").alias("truth"))
    scored = clusters.join(truth, on="id")
    ari = adjusted_rand_score(scored["truth"], scored["cluster_id"])
    hom = homogeneity_score(scored["truth"], scored["cluster_id"])
    print(f"sampled fit on the sample: {info}; ARI {ari:.3f}, homogeneity {hom:.3f}")
    assert hom >= 0.95
    assert ari >= 0.6
    types = sampled.result.task_types
    assert types["calls"].sum() == clusters.height
    # the fitted UMAP (about 0.5 GB at 50k prompts) is not kept: assignment is by centroid
    assert sampled.result.model.reducer_ is None and sampled.result.model.keep_reducer is False


def test_sampled_without_template_placement_embeds_everything(sample_parts, embedder) -> None:
    from slmprofile.cluster.sampled import discover_task_types_sampled

    plain = discover_task_types_sampled(sample_parts.scan(), embedder=embedder, fit_sample=1500,
                                        template_purity=1.0, template_min=10**9)
    assert plain.info["prompts_by_template"] == 0
    assert plain.embeddings.height == plain.info["distinct_prompts"]
    assert set(plain.result.prompts["flags"].unique()) <= {"core", "assigned", "unassigned"}


def test_parallel_redaction_equals_sequential(tmp_path: Path) -> None:
    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.redact import redact_parts

    a = ingest_to_parquet(DATA / "logs", tmp_path / "a", chunk_rows=1000)
    b = ingest_to_parquet(DATA / "logs", tmp_path / "b", chunk_rows=1000)
    assert len(a.parts) > 2
    counts_a = redact_parts(a.parts)
    counts_b = redact_parts(b.parts, workers=2)
    assert counts_a == counts_b and sum(counts_a.values()) > 0
    assert a.scan().collect().equals(b.scan().collect())


def test_run_stream_writes_the_same_files_in_bounded_memory(tmp_path: Path, embedder) -> None:
    from slmprofile.pipeline import run

    result = run([DATA / "logs"], tmp_path / "out", stream=True, embedder=embedder, fast_embed=False,
                 outcomes=DATA / "evals" / "offline_eval.csv",
                 sampled_settings={"fit_sample": 1500, "audit": 100}, router=False, html_report=True)
    out = tmp_path / "out"
    for name in ("logs.parquet", "embeddings.parquet", "clusters.parquet", "task_types.parquet", "suitability.csv",
                 "savings.csv", "run.json", "report.html"):
        assert (out / name).is_file(), name
    assert not (out / "parts").exists()
    assert isinstance(result.logs, pl.LazyFrame)
    logs = pl.read_parquet(out / "logs.parquet")
    assert logs.height == result.report.rows_out
    assert pl.read_parquet(out / "clusters.parquet").join(logs, on="id", how="anti").height == 0
    info = json.loads((out / "run.json").read_text())
    assert info["engine"]["name"] == "local-stream"
    sampled = info["task_types"]["sampled"]
    assert sampled["prompts_by_template"] > 0 and sampled["audit_prompts"] == 100
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "prompts placed by template, not embedded" in html and f"{sampled['prompts_by_template']:,}" in html
    # the written logs are the in-memory path's redacted logs
    from slmprofile.ingest import ingest
    from slmprofile.redact import redact_logs

    in_memory = ingest(DATA / "logs", outcomes=DATA / "evals" / "offline_eval.csv")
    expected, counts = redact_logs(in_memory.frame)
    assert info["redactions"] == counts and sum(counts.values()) > 0
    assert sorted(logs["prompt_text"].to_list()) == sorted(expected["prompt_text"].to_list())
    # the eval table was joined part by part, with the in-memory reader's report and values
    assert [o.to_dict() for o in result.report.outcomes] == [o.to_dict() for o in in_memory.report.outcomes]
    outcome_cols = ["id", "slm_correct", "frontier_correct"]
    assert logs.select(outcome_cols).sort("id").equals(expected.select(outcome_cols).sort("id"))
    assert logs["slm_correct"].drop_nulls().len() > 1000

    # the router's training data: a seeded sample of labelled calls, read lazily
    from slmprofile.router.data import ROUTER_MAX_CALLS, default_max_calls, load_run_data

    # `router train` on this run's directory samples as the run did; on an in-memory run or a bare Parquet it reads all
    assert default_max_calls(out) == ROUTER_MAX_CALLS and default_max_calls(out / "logs.parquet") is None
    data = load_run_data(out, max_calls=300)
    assert len(data.texts) == 300 and data.report["sampled_from"] == logs["slm_correct"].drop_nulls().len()
    # drawn from the calls of the task types' uniform fit sample, whose prompts are embedded: nothing to embed again
    embedded = pl.read_parquet(out / "embeddings.parquet")
    assert embedded["fit_sample"].sum() == 1500 and not embedded["fit_sample"].all()
    assert data.report["sampled_from_fit_sample"] == 300 and data.report["embeddings"].endswith("embeddings.parquet")
    assert np.isfinite(data.slm_correct).all()
    assert data.groups is not None and len(set(data.groups)) > 5


def test_run_stream_reports_bad_input_from_its_reader_process(tmp_path: Path) -> None:
    """Ingestion runs in a child process; its errors still name the file and line, with their own type."""
    from slmprofile.errors import IngestError
    from slmprofile.pipeline import run

    good = (DATA / "logs" / "openai_chat.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    bad = tmp_path / "calls.jsonl"
    bad.write_text("\n".join([*good, "{not json"]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"calls\.jsonl:4"):
        run([bad], tmp_path / "out", stream=True, strict=True, router=False, html_report=False)


def test_router_sample_draws_from_the_fit_sample_first_and_tops_up_from_the_rest() -> None:
    from slmprofile.router.data import _sample_calls

    calls = pl.DataFrame({"prompt_hash": [f"h{i % 40}" for i in range(200)]})
    preferred = pl.Series("prompt_hash", [f"h{i}" for i in range(0, 40, 4)])  # 10 of 40 prompts: 50 calls
    inside = calls["prompt_hash"].is_in(preferred.implode()).to_numpy()
    keep, report = _sample_calls(calls.lazy(), 30, preferred, 0)
    assert len(set(keep.tolist())) == 30 and inside[keep].all() and report == {
        "sampled_from": 200, "sampled_from_fit_sample": 30}
    keep, report = _sample_calls(calls.lazy(), 80, preferred, 0)  # every preferred call, then 30 of the others
    assert len(set(keep.tolist())) == 80 and inside[keep].sum() == 50 and list(keep) == sorted(keep)
    assert report["sampled_from_fit_sample"] == 50
    keep, report = _sample_calls(calls.lazy(), 80, None, 0)  # no fit sample: a plain seeded sample
    assert len(set(keep.tolist())) == 80 and report == {"sampled_from": 200}
    assert _sample_calls(calls.lazy(), 200, preferred, 0) == (None, {})
