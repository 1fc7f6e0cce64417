"""The Ray engine on a local Ray instance started here (ray.init(num_cpus=2)): same outputs as the local engine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

ray = pytest.importorskip("ray", reason="the Ray engine needs the 'scale' extra: pip install -e '.[scale]'")

LOG = Path(__file__).resolve().parents[1] / "data" / "logs" / "openai_chat.jsonl"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _assert_same_outputs(local: Path, on_ray: Path) -> pl.DataFrame:
    """The stage files are equal, and every call is in ``calls_by_task_type/`` with the counts of
    ``task_types.parquet``; returns the partitioned calls."""
    for name in ("logs.parquet", "embeddings.parquet", "clusters.parquet", "task_types.parquet",
                 "suitability.parquet", "savings.parquet"):
        a, b = pl.read_parquet(local / name), pl.read_parquet(on_ray / name)
        assert a.height > 0 and a.equals(b), name
    parts = pl.scan_parquet(str(on_ray / "calls_by_task_type" / "**" / "*.parquet"), hive_partitioning=True).collect()
    counts = parts.group_by("task_type").len().sort("task_type")
    expected = pl.read_parquet(local / "task_types.parquet").select(
        "task_type", pl.col("calls").cast(pl.UInt32).alias("len")).sort("task_type")
    assert counts.equals(expected)
    return parts


def test_ray_engine_writes_what_the_local_engine_writes(tmp_path: Path, local_ray) -> None:
    import json

    from slmprofile.embed import Embedder
    from slmprofile.engines.ray_engine import RayEngine
    from slmprofile.pipeline import run

    common = {"router": False, "html_report": False}
    # separate embedding caches: the Ray actors really encode every prompt
    local = run([LOG], tmp_path / "local", embedder=Embedder(cache_dir=tmp_path / "c1", device="cpu"), **common)
    on_ray = run([LOG], tmp_path / "ray", engine=RayEngine(),
                 embedder=Embedder(cache_dir=tmp_path / "c2", device="cpu"), **common)
    info = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert info["engine"]["name"] == "ray" and info["engine"]["cpus"] == 2 and info["engine"]["embed_actors"] >= 1
    assert info["redactions"] == json.loads((tmp_path / "local" / "run.json").read_text())["redactions"]
    assert sum(info["redactions"].values()) > 0
    parts = _assert_same_outputs(tmp_path / "local", tmp_path / "ray")
    assert local.task_types.task_types.height == on_ray.task_types.task_types.height >= 3
    assert parts.join(pl.read_parquet(tmp_path / "local" / "clusters.parquet"), on="id").filter(
        pl.col("task_type") != pl.col("task_type_right")).height == 0


def test_ray_engine_needs_a_known_engine_name(tmp_path: Path) -> None:
    from slmprofile.pipeline import run

    with pytest.raises(ValueError, match="unknown engine"):
        run([LOG], tmp_path, engine="spark")


def test_ray_engine_with_stream_writes_what_the_local_stream_writes(tmp_path: Path, local_ray) -> None:
    """``run(stream=True, engine=ray)``: parts redacted by Ray tasks, the sampled task types' prompts embedded by
    the actor pool, calls partitioned from slices of ``logs.parquet``; the same files as the one-machine run."""
    import json

    from slmprofile.embed import Embedder
    from slmprofile.engines.ray_engine import RayEngine
    from slmprofile.pipeline import run

    common = {"router": False, "html_report": False, "stream": True, "fast_embed": False}
    run([LOG], tmp_path / "local", embedder=Embedder(cache_dir=tmp_path / "c1", device="cpu"), **common)
    engine = RayEngine(block_rows=500, min_remote_texts=100)  # several slices and batches even on the sample
    run([LOG], tmp_path / "ray", engine=engine, embedder=Embedder(cache_dir=tmp_path / "c2", device="cpu"), **common)
    info = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert info["engine"]["name"] == "ray-stream" and info["engine"]["embed_actors"] >= 1
    assert info["engine"]["parse"] == "workers"  # parsed and redacted by worker tasks, not on the driver
    assert info["redactions"] == json.loads((tmp_path / "local" / "run.json").read_text())["redactions"]
    assert info["embedding"]["sampled"]["prompts_embedded"] > 100  # so the actor pool embedded them
    _assert_same_outputs(tmp_path / "local", tmp_path / "ray")


def test_ray_workers_parse_the_logs_into_what_the_local_reader_writes(tmp_path: Path, local_ray) -> None:
    """``RayEngine.ingest_parts``: a task per file, per id bucket and per part on the local cluster's worker
    processes; the same calls, order and report as the one-process streaming reader, with ids
    repeated across files and an eval table. Where the workers cannot see the files the driver parses them."""
    import shutil

    from slmprofile.engines.ray_engine import RayEngine
    from slmprofile.ingest import ingest_to_parquet
    from slmprofile.ingest.pieces import parse_file

    logs = tmp_path / "logs"
    shutil.copytree(LOG.parent, logs)
    shutil.copy(LOG, logs / "copy.jsonl")  # every id again, in a later file
    evals = LOG.parents[1] / "evals" / "offline_eval.csv"
    one = ingest_to_parquet(logs, tmp_path / "one", chunk_rows=400, outcomes=evals)
    engine = RayEngine(block_rows=500)
    on_ray = engine.ingest_parts([logs], tmp_path / "ray", chunk_rows=400, outcomes=evals, bucket_ids=1_000)
    assert engine.info_["parse"] == "workers"
    a, b = one.report.to_dict(), on_ray.report.to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b and a["skipped"]["duplicate_id"] >= 870
    assert on_ray.scan().collect().equals(one.scan().collect())
    counts = engine.redact_parts(on_ray.parts)
    assert sum(counts.values()) > 0
    assert on_ray.scan().collect().height == one.scan().collect().height

    driver = RayEngine(parse_on_workers=False)
    parsed_here = driver.ingest_parts([logs], tmp_path / "driver", chunk_rows=400, outcomes=evals)
    assert driver.info_["parse"].startswith("driver")
    assert parsed_here.scan().collect().equals(one.scan().collect())
    # a worker that does not see a file says so in one line
    with pytest.raises(Exception, match="not found on .*storage they all see"):
        parse_file(0, str(tmp_path / "elsewhere.jsonl"), "elsewhere.jsonl", str(tmp_path / "x"),
                   {"estimate": True, "chunk_rows": 10, "format": None, "mapping": {}, "strict": False})
