"""``slmprofile drift``: placement into fixed task types, novelty, share changes with intervals, the verdict.

The end-to-end tests use the generator's drifted month (``slmprofile sample --drift``): the task mix shifts, invoice
extraction gets harder for the small model and résumé screening appears; ``month2/drift_truth.json`` holds the
truth. The run directory is the sample's true task types (:func:`slmprofile.testing.truth_run_dir`) with real
MiniLM embeddings, so what is checked is the drift step, not task-type discovery.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from slmprofile.loop.drift import DriftSettings, detect_drift, difference_interval
from slmprofile.loop.placement import NOVEL, NearestTypes

N_CALLS = 2000


# -- the pieces ------------------------------------------------------------------------------------------------------

def test_difference_interval_keeps_its_coverage_for_small_and_skewed_shares() -> None:
    rng = np.random.default_rng(3)
    for p1, p2, n1, n2 in ((0.10, 0.15, 400, 600), (0.02, 0.01, 1500, 1200), (0.5, 0.5, 80, 120)):
        k1 = rng.binomial(n1, p1, size=2000)
        k2 = rng.binomial(n2, p2, size=2000)
        hits = 0
        for a, b in zip(k1.tolist(), k2.tolist()):
            _, lo, hi = difference_interval(a, n1, b, n2)
            hits += lo <= p2 - p1 <= hi
        assert hits / 2000 >= 0.93, (p1, p2, hits / 2000)
    d, lo, hi = difference_interval(0, 100, 0, 100)
    assert d == 0 and lo < 0 < hi


def _blobs(rng: np.random.Generator, centres: np.ndarray, n: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(centres), size=n)
    X = centres[labels] + spread * rng.standard_normal((n, centres.shape[1]))
    return X.astype(np.float32), labels


def test_nearest_types_places_known_traffic_and_flags_a_new_kind() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((6, 32)) * 3
    X, y = _blobs(rng, centres, 1200, 0.6)
    placer = NearestTypes(n_neighbors=10, novelty_quantile=0.02).fit(X, y)
    assert placer.agreement_ > 0.98
    X_new, y_new = _blobs(rng, centres, 800, 0.6)
    known = placer.place(X_new)
    assert (known.labels == y_new).mean() > 0.95
    assert known.novel.mean() < 0.05
    fresh = placer.place(rng.standard_normal((200, 32)).astype(np.float32) * 0.6 + rng.standard_normal(32) * 3)
    assert fresh.novel.mean() >= 0.9 and (fresh.labels == NOVEL).all() == fresh.novel.all()
    with pytest.raises(ValueError, match="dimensions"):
        placer.place(np.zeros((2, 8), dtype=np.float32))


def test_bad_settings_name_the_setting() -> None:
    with pytest.raises(ValueError, match="novelty_quantile"):
        DriftSettings(novelty_quantile=0.9).check()
    with pytest.raises(ValueError, match="n_neighbors"):
        NearestTypes(n_neighbors=0).fit(np.eye(3), [0, 1, 2])


# -- end to end on the drifted month ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from slmprofile.sample import generate_sample

    root = tmp_path_factory.mktemp("drift-sample")
    generate_sample(root, n_calls=N_CALLS, seed=11, drift=True)
    return root


@pytest.fixture(scope="module")
def run_dir(months: Path, tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """Month 1 as a run directory: true task types, real embeddings, and a tiny router that sends prompts with the
    word "ticket" to the small model."""
    from slmprofile.embed import embed_prompts
    from slmprofile.rundir import RunDir
    from slmprofile.testing import truth_run_dir
    from slmprofile.testing.tiny_router import build_tiny_router

    out = truth_run_dir(months, tmp_path_factory.mktemp("drift-run"), outcomes=True)
    logs = pl.read_parquet(RunDir(out).logs)
    embed_prompts(logs, embedder=embedder).write_parquet(RunDir(out).embeddings)
    build_tiny_router(RunDir(out).router, weights={"[PAD]": 0.0, "[UNK]": 0.0, "ticket": 3.0}, threshold=0.9)
    return out


@pytest.fixture(scope="module")
def drifted(months: Path, run_dir: Path, tmp_path_factory: pytest.TempPathFactory, embedder):
    m2 = months / "month2"
    out = tmp_path_factory.mktemp("drift-out")
    return detect_drift(run_dir, [m2 / "logs"], out, outcomes=[m2 / "evals" / "offline_eval.csv"],
                        embedder=embedder), out


def _truth(path: Path) -> dict[str, str]:
    return dict(pl.read_csv(path / "truth.csv").select("id", "task_type").iter_rows())


def test_new_task_fits_no_existing_type_and_unchanged_tasks_do(months: Path, drifted) -> None:
    result, _ = drifted
    truth = json.loads((months / "month2" / "drift_truth.json").read_text())
    task_of = _truth(months / "month2")
    calls = result.calls.with_columns(pl.col("id").replace_strict(task_of, default=None).alias("task"))
    new = truth["new_tasks"][0]
    flagged = calls.group_by("task").agg(pl.col("novel").mean().alias("novel"), pl.len().alias("n"))
    rates = dict(zip(flagged["task"], flagged["novel"]))
    assert rates[new] >= 0.90, rates
    unchanged = calls.filter(pl.col("task") != new)
    assert unchanged["novel"].mean() < 0.05, rates
    # the candidate new types found among the unplaced calls are the new task
    assert result.candidates.height >= 1
    grouped = calls.filter(pl.col("candidate").is_not_null())
    assert (grouped["task"] == new).sum() >= 0.8 * (calls["task"] == new).sum()
    top = grouped.filter(pl.col("candidate") == result.candidates["candidate"][0])
    assert (top["task"] == new).mean() >= 0.9, result.candidates
    assert result.summary["novel_share"] >= 0.05


def test_each_shifted_share_interval_covers_the_true_change(months: Path, drifted) -> None:
    result, _ = drifted
    truth = json.loads((months / "month2" / "drift_truth.json").read_text())
    w1, w2 = truth["weights_before"], truth["weights_after"]
    true_change = {t: w2.get(t, 0) / sum(w2.values()) - w1.get(t, 0) / sum(w1.values()) for t in w1}
    rows = {r["task_type"]: r for r in result.types.iter_rows(named=True)}
    covered = {t: rows[t]["change_lo"] <= d <= rows[t]["change_hi"] for t, d in true_change.items() if t in rows}
    assert len(covered) == len(w1)
    assert all(covered.values()), {t: (true_change[t], rows[t]["change_lo"], rows[t]["change_hi"])
                                   for t, ok in covered.items() if not ok}
    for t in ("ticket_triage", "chit_chat", "sql_generation"):  # the big moves are found
        assert rows[t]["shifted"], rows[t]
    assert rows["ticket_triage"]["change"] < 0 < rows["chit_chat"]["change"]


def test_outcome_change_router_shift_and_verdict(drifted) -> None:
    result, out = drifted
    rows = {r["task_type"]: r for r in result.types.iter_rows(named=True)}
    assert rows["invoice_extraction"]["slm_success_fell"], rows["invoice_extraction"]
    steady = [t for t in ("review_sentiment", "ticket_triage", "translation") if rows[t]["slm_success_fell"]]
    assert not steady
    router = result.router
    assert router is not None and router["slm_share_change"] < 0 and router["slm_share_change_hi"] < 0
    assert result.verdict["retrain_recommended"] and result.verdict["action"] == "retrain"
    reasons = " ".join(r["reason"] for r in result.verdict["reasons"])
    assert "fit no existing task type" in reasons and "invoice_extraction" in reasons
    page = (out / "drift.html").read_text()
    assert "Retraining recommended" in page and "invoice_extraction" in page and "http" not in page.split("<footer")[0]
    saved = json.loads((out / "drift.json").read_text())
    assert saved["verdict"] == result.verdict and "p_slm_before" not in (saved["router"] or {})
    calls = pl.read_parquet(out / "drift_calls.parquet")
    assert calls.height == result.summary["calls_after"] and set(calls["novel"].unique()) == {True, False}


def test_a_window_from_the_same_mix_needs_no_retraining(months: Path, run_dir: Path, tmp_path: Path, embedder) -> None:
    from slmprofile.sample import generate_sample

    same = tmp_path / "same"
    generate_sample(same, n_calls=N_CALLS // 2, seed=12)
    result = detect_drift(run_dir, [same / "logs"], tmp_path / "out", embedder=embedder)
    assert result.summary["novel_share"] < 0.05
    assert not result.verdict["retrain_recommended"], result.verdict
    assert result.types.filter(pl.col("shifted") & (pl.col("calls_before") > 0)).height <= 1


def test_cli_writes_the_page_and_prints_the_verdict(months: Path, run_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, embedder) -> None:
    from slmprofile import cli
    from slmprofile.loop import drift as drift_module

    monkeypatch.setattr(drift_module, "_embedder_for", lambda run: embedder)
    small = tmp_path / "small"
    rows = (months / "month2" / "logs" / "openai_chat.jsonl").read_text().splitlines()
    random.Random(0).shuffle(rows)
    small.mkdir()
    (small / "openai_chat.jsonl").write_text("\n".join(rows[:200]) + "\n")
    res = CliRunner().invoke(cli.app, ["drift", str(run_dir), str(small), "--out", str(tmp_path / "d"), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["verdict"]["action"] in ("retrain", "refresh", "no action") and payload["calls_after"] > 100
    assert (tmp_path / "d" / "drift.html").is_file()
    res = CliRunner().invoke(cli.app, ["drift", str(tmp_path / "nope"), str(small), "--out", str(tmp_path / "e")])
    assert res.exit_code == 2 and "error" in res.output and "Traceback" not in res.output


# -- gated retraining ------------------------------------------------------------------------------------------------

def _outcomes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden difficulty per prompt, the small model's outcome (worse on hard prompts), the frontier's."""
    hard = rng.random(n)
    return hard, (rng.random(n) > 0.8 * hard).astype(float)


def test_gate_promotes_a_better_router_and_refuses_a_worse_one() -> None:
    from slmprofile.router.retrain import PromotionSettings, promotion_decision

    rng = np.random.default_rng(5)
    hard, slm = _outcomes(rng, 1500)
    frontier = np.ones(1500)
    at_random = rng.random(1500) < 0.4          # the router in use: 40 % to the small model, blind to difficulty
    easy_first = hard < np.quantile(hard, 0.45)  # better: sends more, and the easy ones
    hard_first = hard > np.quantile(hard, 0.55)  # deliberately worse: as many, the hard ones
    settings = PromotionSettings(n_boot=1000)
    better = promotion_decision(at_random, easy_first, slm, frontier, settings)
    assert better["promote"] and better["quality_change"] > 0 and better["slm_share_change"] > 0
    worse = promotion_decision(at_random, hard_first, slm, frontier, settings)
    assert not worse["promote"] and worse["quality_change_lower_bound"] < -settings.margin
    assert "beyond" in worse["reasons"][0]
    # sending (almost) nothing to the small model keeps quality but gives up the savings: refused too
    timid = promotion_decision(at_random, hard < np.quantile(hard, 0.05), slm, frontier, settings)
    assert not timid["promote"] and "beyond" in timid["reasons"][1]
    with pytest.raises(ValueError, match="too few"):
        promotion_decision(at_random[:5], easy_first[:5], slm[:5], frontier[:5])


def test_split_by_prompt_keeps_each_prompt_on_one_side() -> None:
    from slmprofile.router.retrain import split_by_prompt

    texts = [f"prompt {i % 300}" for i in range(2000)]
    fit, held = split_by_prompt(texts, 0.3, seed=1)
    assert set(fit.tolist()) | set(held.tolist()) == set(range(2000)) and not set(fit.tolist()) & set(held.tolist())
    assert not {texts[i] for i in fit} & {texts[i] for i in held}
    assert 0.2 < len(held) / 2000 < 0.4


def test_retraining_on_the_new_month_replaces_a_bad_router(months: Path, run_dir: Path, tmp_path: Path,
                                                           embedder) -> None:
    """The router in use sends SQL, code review and strategy prompts (the hard ones) to the small model; a router
    retrained on both months' outcomes beats it on the new month's held-out prompts and is promoted."""
    from slmprofile import cli
    from slmprofile.embed import embed_prompts
    from slmprofile.rundir import RunDir
    from slmprofile.testing import truth_run_dir
    from slmprofile.testing.tiny_router import build_tiny_router

    m2 = truth_run_dir(months / "month2", tmp_path / "m2", outcomes=True)
    embed_prompts(pl.read_parquet(RunDir(m2).logs), embedder=embedder).write_parquet(RunDir(m2).embeddings)
    bad = build_tiny_router(tmp_path / "bad", threshold=0.9, weights={
        "[PAD]": 0.0, "[UNK]": 0.0, "sql": 3.0, "query": 3.0, "diff": 3.0, "strategy": 3.0, "should": 3.0})
    res = CliRunner().invoke(cli.app, ["router", "train", str(run_dir), "--from", str(bad), "--add", str(m2),
                                       "--out", str(tmp_path / "new")])
    assert res.exit_code == 0, res.output
    evidence = json.loads((tmp_path / "new" / "promotion.json").read_text())
    assert evidence["promoted"], evidence["reasons"]
    assert evidence["quality_new"] > evidence["quality_old"] and evidence["n"] >= 200
    assert evidence["calls"]["new_held_out"] + evidence["calls"]["new_trained_on"] == pl.read_parquet(
        RunDir(m2).logs).filter(pl.col("prompt_text").is_not_null() & (pl.col("prompt_text").str.len_chars() > 0)).height
    assert "PROMOTED" in res.output and (tmp_path / "new" / "router.json").is_file()
    res = CliRunner().invoke(cli.app, ["router", "train", str(run_dir), "--add", str(m2), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--from" in res.output
