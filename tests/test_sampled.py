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


def test_thinning_keeps_at_most_the_cap_of_a_group_and_weighs_what_it_kept() -> None:
    from slmprofile.cluster.sampled import _thin_groups

    groups = np.array(["big"] * 90 + ["small"] * 10 + [None] * 100 + ["huge"] * 300, dtype=object)
    idx = np.arange(500)
    kept, weight = _thin_groups(idx, groups, 30, seed=0)
    by_group = pl.DataFrame({"group": groups[kept].tolist(), "w": weight}).group_by("group").agg(
        pl.len(), pl.col("w").first(), pl.col("w").sum().alias("stands_for"))
    rows = {r["group"]: r for r in by_group.to_dicts()}
    assert rows["big"]["len"] == 30 and rows["big"]["w"] == 3.0  # 90 sampled, 30 kept: each stands for 3
    assert rows["small"]["len"] == 10 and rows["small"]["w"] == 1.0
    assert rows[None]["len"] == 100 and rows[None]["w"] == 1.0  # no template: always kept
    assert rows["huge"]["len"] == 300 and rows["huge"]["w"] == 1.0  # 60 % of the sample: no evidence of one task
    assert weight.sum() == len(idx) and list(kept) == sorted(kept)
    again, _ = _thin_groups(idx, groups, 30, seed=0)
    assert np.array_equal(kept, again) and not np.array_equal(kept, _thin_groups(idx, groups, 30, seed=1)[0])
    assert np.array_equal(_thin_groups(idx, groups, None, seed=0)[0], idx)


def test_a_thinned_fit_embeds_less_and_gives_back_a_group_that_spans_several_task_types(sample_parts,
                                                                                        embedder) -> None:
    """Thinned to 40 prompts a template, the sample's task types hold against the generator. A system prompt
    shared by calls of several tasks (15 % of them here) is thinned at first, shows in several types, and gets all
    its sampled prompts back: the fit that counts is the unthinned one, to the label."""
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    from slmprofile.cluster.sampled import FIT_WEIGHT_COLUMN, discover_task_types_sampled

    truth = pl.read_csv(DATA / "truth.csv").select("id", pl.col("task_type").alias("truth"))
    thin = discover_task_types_sampled(sample_parts.scan(), embedder=embedder, fit_sample=1500, audit=200,
                                       fit_per_group=40)
    info = thin.info
    assert info["uniform_sample"] == 1500 and info["groups_thinned"] >= 10 and info["fit_sample"] < 0.9 * 1500
    fit = thin.embeddings.filter(pl.col("fit_sample"))
    assert fit.height == info["fit_sample"] and fit[FIT_WEIGHT_COLUMN].sum() == pytest.approx(1500)
    assert thin.embeddings.filter(~pl.col("fit_sample"))[FIT_WEIGHT_COLUMN].null_count() == \
        thin.embeddings.height - fit.height
    scored = thin.result.clusters.join(truth, on="id")
    ari = adjusted_rand_score(scored["truth"], scored["cluster_id"])
    hom = homogeneity_score(scored["truth"], scored["cluster_id"])
    print(f"thinned fit on the sample: {info}; ARI {ari:.3f}, homogeneity {hom:.3f}")
    assert hom >= 0.95 and ari >= 0.6

    generic = sample_parts.scan().with_columns(
        pl.when(pl.col("prompt_hash").hash(7) % 100 < 15)
        .then(pl.lit("You are a helpful assistant. Answer the user."))
        .otherwise(pl.col("system_prompt")).alias("system_prompt"))
    settings = dict(embedder=embedder, fit_sample=1000, audit=100)
    mixed = discover_task_types_sampled(generic, fit_per_group=100, **settings)
    assert mixed.info["groups_thinned"] >= 1 and mixed.info["groups_restored"] == mixed.info["groups_thinned"]
    assert mixed.info["fit_sample"] == 1000 and mixed.embeddings[FIT_WEIGHT_COLUMN].max() == 1.0
    plain = discover_task_types_sampled(generic, fit_per_group=None, **settings)
    assert mixed.result.clusters["cluster_id"].equals(plain.result.clusters["cluster_id"])


def test_router_calls_from_a_thinned_fit_sample_weigh_what_their_prompt_stands_for(tmp_path: Path) -> None:
    from slmprofile.cluster.sampled import FIT_SAMPLE_COLUMN, FIT_WEIGHT_COLUMN
    from slmprofile.router.data import load_run_data
    from slmprofile.rundir import RunDir

    run = RunDir(tmp_path)
    hashes = [f"h{i % 40}" for i in range(200)]
    pl.DataFrame({"id": [f"c{i}" for i in range(200)], "prompt_hash": hashes,
                  "prompt_text": [f"prompt {h}" for h in hashes],
                  "slm_correct": [i % 3 != 0 for i in range(200)]}).write_parquet(run.logs)
    fit = [f"h{i}" for i in range(20)]  # half the prompts in the fit sample; h0-h4 of a group thinned 4 to 1
    pl.DataFrame({"prompt_hash": [f"h{i}" for i in range(40)],
                  "embedding": np.eye(40, 8, dtype=np.float32).tolist(),
                  FIT_SAMPLE_COLUMN: [i < 20 for i in range(40)],
                  FIT_WEIGHT_COLUMN: [4.0 if i < 5 else 1.0 if i < 20 else None for i in range(40)]},
                 schema_overrides={"embedding": pl.Array(pl.Float32, 8)}).write_parquet(run.embeddings)
    data = load_run_data(tmp_path, groups=None, max_calls=60)
    assert data.report["sampled_from_fit_sample"] == 60 and len(data.texts) == 60
    weight = dict(zip(data.texts, data.sample_weight))
    assert all(w == (4.0 if text.split()[-1] in fit[:5] else 1.0) for text, w in weight.items())
    assert data.report["calls_weighted_by_fit_sample"] == sum(t in {f"prompt {h}" for h in fit[:5]}
                                                             for t in data.texts) > 0
    assert (load_run_data(tmp_path, groups=None).sample_weight == 1).all()  # every call read: nothing to weigh
