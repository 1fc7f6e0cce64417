"""End to end on the generated sample: ingest matches the generator's truth, run writes redacted outputs."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest

from slmprofile.ingest import ingest
from slmprofile.pipeline import run
from slmprofile.sample import generate_sample

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "sample_300_seed3.json"


def _truth(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_ingest_of_bundled_sample_matches_ground_truth() -> None:
    res = ingest([ROOT / "data" / "logs"])
    truth = _truth(ROOT / "data" / "truth.csv")
    frame, report = res.frame, res.report
    embeddable = {i for i, row in truth.items() if row["task_type"] != "unknown_no_messages"}
    assert set(frame["id"]) == embeddable
    assert report.skipped["invalid_json"] == 2
    assert report.skipped["no_stored_messages"] >= sum(r["task_type"] == "unknown_no_messages" for r in truth.values())
    assert report.skipped["not_an_llm_call"] > 0 and report.skipped["duplicate_id"] > 0
    assert {f.format for f in report.files} == {"openai_chat", "langfuse", "helicone", "litellm"}
    # every successful call has a cost except the self-hosted model nobody prices
    ok = frame.filter(pl.col("status") == "ok")
    unpriced = ok.filter(pl.col("cost_usd").is_null())
    assert set(unpriced["model"]) == {"northwind-ft-llama-8b"}
    assert report.unpriced_models["northwind-ft-llama-8b"] == unpriced.height
    # templates: each generator template is (mostly) one template id, and ids do not mix tasks
    task = frame["id"].replace_strict({i: truth[i]["task_type"] for i in frame["id"]})
    mixed = frame.with_columns(task=task).group_by("template_id").agg(pl.col("task").n_unique().alias("n"))
    share_pure = mixed.filter(pl.col("n") == 1).height / mixed.height
    assert share_pure >= 0.95, share_pure


def test_run_writes_redacted_logs_embeddings_and_run_json(tmp_path: Path, embedder) -> None:
    from slmprofile.testing import FakeOpenAI

    generate_sample(tmp_path / "sample", n_calls=300, seed=3)
    with FakeOpenAI() as server:  # the shadow run's candidate SLM, on localhost
        result = run([tmp_path / "sample" / "logs"], tmp_path / "out", embedder=embedder.clone(cache_dir=tmp_path / "c"),
                     outcomes=tmp_path / "sample" / "evals" / "offline_eval.csv", shadow_model="fake-slm",
                     shadow_base_url=server.base_url, shadow_max_usd=0.5, shadow_price=(0.1, 0.4))
        sent = [t for r in server.completions() for t in r.texts]
    logs = pl.read_parquet(tmp_path / "out" / "logs.parquet")
    emb = pl.read_parquet(tmp_path / "out" / "embeddings.parquet")
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert logs.height == result.report.rows_out > 250
    assert emb.height == logs["prompt_hash"].n_unique()
    assert set(emb["prompt_hash"]) == set(logs["prompt_hash"])
    assert info["ingest"]["rows_out"] == logs.height and info["embedding"]["dim"] == 384
    assert info["versions"]["torch"].startswith("2.13.0")
    truth = _truth(tmp_path / "sample" / "truth.csv")
    with_pii = [i for i, r in truth.items() if r["has_pii"] == "true" and i in set(logs["id"])]
    assert with_pii and sum(result.redactions.values()) >= len(with_pii)
    email = re.compile(r"[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+\.[a-z]{2,}")  # not "+@router.get"
    texts = logs["prompt_text"].to_list() + logs["system_prompt"].drop_nulls().to_list()
    assert not any(email.search(t) for t in texts)
    all_contents = [m["content"] or "" for ms in logs["messages"].to_list() for m in ms]
    assert not any(email.search(t) for t in all_contents)
    # task types: every call has one row in clusters.parquet, plots are written
    clusters = pl.read_parquet(tmp_path / "out" / "clusters.parquet")
    assert clusters.height == logs.height and info["task_types"]["task_types"] >= 2
    assert (tmp_path / "out" / "task_types.csv").is_file() and (tmp_path / "out" / "plots" / "task_map.png").is_file()
    # suitability from logged outcomes + the shadow run, savings, the report; only redacted text was sent
    assert sent and not any(email.search(t) for t in sent)
    shadow = pl.read_parquet(tmp_path / "out" / "shadow_results.parquet")
    assert shadow.height > 0
    suit = pl.read_csv(tmp_path / "out" / "suitability.csv")
    named = pl.read_parquet(tmp_path / "out" / "task_types.parquet").filter(pl.col("cluster_id") >= 0)
    assert set(named["task_type"]) <= set(suit["task_type"])  # one row per task type and candidate
    assert suit["outcome_n"].sum() > 200 and suit["shadow_n"].sum() > 0
    assert set(suit["verdict"]) <= {"slm", "frontier", "undecided", "unassigned"}
    assert (tmp_path / "out" / "savings.csv").is_file() and result.savings is not None
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<img" in html and "http://" not in html.replace("http://www.w3.org", "") and not email.search(html)
    assert set(info["timings_s"]) >= {"ingest", "redact", "embed", "task_types", "suitability", "savings", "report"}
    # golden: the same task types, verdicts, savings and router decisions as the committed run (issue 21: a
    # restructure changes no result); SLMPROFILE_UPDATE_GOLDEN=1 writes the file from this run instead
    import os

    from golden_run import compare, fingerprint

    now = fingerprint(tmp_path / "out")
    if os.environ.get("SLMPROFILE_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    diffs = compare(now, json.loads(GOLDEN.read_text(encoding="utf-8")))
    assert not diffs, "\n".join(diffs[:20])
    # the cluster command works on what run wrote
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "slmprofile", "cluster", str(tmp_path / "out" / "logs.parquet"),
                           str(tmp_path / "out" / "embeddings.parquet"), "--out", str(tmp_path / "cl"),
                           "--reducer", "pca"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "task types in" in proc.stdout and "task types in" not in proc.stderr  # results on stdout
    assert pl.read_parquet(tmp_path / "cl" / "clusters.parquet").height == logs.height
    # a second run re-uses the cache: nothing new is encoded
    again = embedder.clone(cache_dir=tmp_path / "c")
    run([tmp_path / "sample" / "logs"], tmp_path / "out2", embedder=again, cluster=False, suitability=False,
        savings=False, router=False, html_report=False)
    assert again.stats_.encoded == 0 and again.stats_.cache_hits == emb.height


@pytest.mark.slow
def test_readme_main_command_on_bundled_sample(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "slmprofile", "run", str(ROOT / "data" / "logs"), "--out",
                           str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
                           "--outcomes", str(ROOT / "data" / "evals" / "offline_eval.csv")],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # `run ... > out.txt` keeps the summary; stage progress and bars stay on the terminal (stderr)
    assert "read 3,704 rows" in proc.stdout and "task types in" in proc.stdout
    assert "== ingest" in proc.stderr and "== " not in proc.stdout
    for name in ("logs.parquet", "embeddings.parquet", "run.json", "clusters.parquet", "task_types.csv",
                 "suitability.csv", "savings.csv", "report.html"):
        assert (tmp_path / "out" / name).is_file()


def test_explore_overview_keeps_unpriced_cost_unknown() -> None:
    from slmprofile.explore import overview

    frame = ingest([ROOT / "data" / "logs"]).frame
    table = overview(frame, by="model")
    assert table["calls"].sum() == frame.height
    assert abs(table["share"].sum() - 1) < 1e-9
    unpriced = table.filter(pl.col("model") == "northwind-ft-llama-8b")
    assert unpriced["cost_usd"].item() is None and unpriced["calls_unpriced"].item() == unpriced["calls"].item()
    assert table["cost_usd"].drop_nulls().sum() == pytest.approx(frame["cost_usd"].sum())


def test_run_settings_are_one_checked_object(tmp_path: Path) -> None:
    """run() takes a RunSettings or its fields as keywords; a bad or unknown setting fails before anything is
    written, and the stages are one list in the order data flows."""
    from slmprofile.pipeline import STAGES, RunSettings, ShadowSettings

    settings = RunSettings.from_options({"outcomes": "evals.csv", "router": False, "shadow_model": "slm",
                                         "shadow_max_usd": 1.5, "router_settings": None})
    assert settings.shadow == ShadowSettings(model="slm", max_usd=1.5) and settings.router_settings == {}
    assert RunSettings.from_options({"shadow_model": None}).shadow is None
    with pytest.raises(TypeError, match=r"unknown settings \['routr'\]"):
        run([ROOT / "data" / "logs"], tmp_path / "a", routr=False)
    with pytest.raises(ValueError, match="The 'router' parameter of RunSettings must be a bool; got 'no'"):
        run([ROOT / "data" / "logs"], tmp_path / "b", router="no")
    with pytest.raises(TypeError, match="not both"):
        run([ROOT / "data" / "logs"], tmp_path / "c", RunSettings(), router=False)
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        run([ROOT / "data" / "logs"], tmp_path / "d", engine="spark")
    assert not any((tmp_path / name).exists() for name in "abcd")
    assert [s.__name__ for s in STAGES] == ["ingest_stage", "redact_stage", "write_logs_stage", "embed_stage",
                                            "task_types_stage", "suitability_stage", "savings_stage",
                                            "router_stage", "run_info_stage", "report_stage"]


def test_stages_without_their_input_are_skipped_with_the_reason(tmp_path: Path) -> None:
    generate_sample(tmp_path / "s", n_calls=120, seed=1)
    result = run([tmp_path / "s" / "logs"], tmp_path / "out", embed=False, html_report=False)
    assert result.skipped == {"suitability": "no task types (clustering off or too few prompts)",
                              "savings": "no suitability table", "router": "no embeddings"}
    assert json.loads((tmp_path / "out" / "run.json").read_text())["skipped"] == result.skipped
    assert set(result.timings) == {"ingest", "redact"} and not (tmp_path / "out" / "embeddings.parquet").exists()
    off = run([tmp_path / "s" / "logs"], tmp_path / "off", embed=False, suitability=False, savings=False,
              router=False, html_report=False)
    assert off.skipped == {}  # switched off is not "skipped"


def test_a_log_over_the_threshold_takes_the_bounded_memory_path_by_itself(tmp_path: Path) -> None:
    """No flag needed: the calls are estimated before reading (within a few per cent on the sample's four
    formats), a log above ``auto_stream_calls`` streams, and ``run.json`` says which path and why."""
    import polars as pl

    from slmprofile.ingest.sources import estimate_rows
    from slmprofile.rundir import RunDir

    logs = ROOT / "data" / "logs"
    true_rows = sum(f["rows_read"] for f in ingest([logs]).report.to_dict()["files"])
    assert abs(estimate_rows([logs]) - true_rows) <= 0.05 * true_rows
    assert estimate_rows([_first_parquet_source(tmp_path)]) == 250  # Parquet: exact, from its metadata
    off = dict(embed=False, suitability=False, savings=False, router=False, html_report=False)
    small = run([logs], tmp_path / "small", **off)
    big = run([logs], tmp_path / "big", auto_stream_calls=1_000, **off)
    forced = run([logs], tmp_path / "forced", stream=False, auto_stream_calls=1_000, **off)
    modes = {name: json.loads(RunDir(tmp_path / name).run_info.read_text())["mode"] for name in ("small", "big",
                                                                                                  "forced")}
    assert modes["small"]["stream"] is False and modes["small"]["chosen"] == "auto"
    assert modes["big"]["stream"] is True and modes["big"]["chosen"] == "auto"
    assert "> 1,000" in modes["big"]["reason"] and modes["big"]["estimated_calls"] == estimate_rows([logs])
    assert modes["forced"] == {"stream": False, "chosen": "forced", "reason": "stream=False"}
    assert modes["big"]["embed_backend"].startswith("auto") and "embed_backend" not in modes["small"]
    assert isinstance(big.logs, pl.LazyFrame) and not isinstance(small.logs, pl.LazyFrame)  # the streaming path
    assert big.logs.collect().sort("id").equals(small.logs.sort("id"))  # same calls either way
    assert forced.report.rows_out == small.report.rows_out


def _first_parquet_source(tmp_path: Path) -> Path:
    import polars as pl

    path = tmp_path / "calls.parquet"
    if not path.exists():
        pl.DataFrame({"prompt": [f"question {i}" for i in range(250)]}).write_parquet(path)
    return path


def test_a_first_run_starts_its_one_off_work_in_the_background_and_a_later_run_does_not(tmp_path: Path,
                                                                                         monkeypatch) -> None:
    """``start_ahead``: UMAP's code is compiled beside the first stages when the numba cache lacks it, the router's
    encoder graphs beside the task types when a router will be trained on the default encoder; a failing job is
    logged and leaves the stage to do the work itself."""
    from types import SimpleNamespace

    from slmprofile.embed import Embedder
    from slmprofile.jit_cache import compiled_marker
    from slmprofile.settings import RunSettings
    from slmprofile.stages import Ahead, start_ahead

    monkeypatch.setenv("SLMPROFILE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("SLMPROFILE_JIT_CACHE", raising=False)

    def started(stage: str, embedder=None, **settings) -> list[str]:
        names: list[str] = []
        state = SimpleNamespace(settings=RunSettings(**settings), clusterer=None, embedder=embedder,
                                ahead=SimpleNamespace(start=lambda name, job: names.append(name)))
        start_ahead(state, stage)
        return names

    assert started("run") == ["umap"]
    assert started("run", cluster=False) == [] and started("run", embed=False) == []
    monkeypatch.setenv("SLMPROFILE_JIT_CACHE", "0")
    assert started("run") == []
    monkeypatch.delenv("SLMPROFILE_JIT_CACHE")
    compiled_marker("umap").parent.mkdir(parents=True)
    compiled_marker("umap").write_text("done")
    assert started("run") == []  # compiled by an earlier run
    assert started("task types", outcomes="evals.csv") == ["router_graphs"]
    assert started("task types", mapping={"slm_correct": "ok"}) == ["router_graphs"]
    assert started("task types") == []  # no outcomes: no router to export
    assert started("task types", outcomes="evals.csv", router=False) == []
    assert started("task types", outcomes="evals.csv", embedder=Embedder(tmp_path)) == []  # another encoder

    ahead = Ahead()
    done: list[str] = []
    ahead.start("fails", lambda: 1 / 0)
    ahead.start("works", lambda: done.append("works"))
    ahead.wait("works")
    ahead.wait("no such job")
    ahead.wait()
    assert done == ["works"] and set(ahead.seconds) == {"fails", "works"}
