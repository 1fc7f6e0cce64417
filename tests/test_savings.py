"""Savings: API and self-host cost models, intervals, break-even, sensitivity, plots, and the `suitability` /
`savings` commands end to end on the sample (logged outcomes, and a shadow run against the fake server)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from slmprofile.savings import GPU_TABLE, ApiOption, SelfHostOption, estimate_savings

ROOT = Path(__file__).resolve().parents[1]
PRICE = (0.5, 1.5)  # stated USD per million input / output tokens of the API small model


def _calls(n_per_type: int = 300, days: int = 30) -> pl.DataFrame:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = []
    for cid, (pt, ct, cost) in {0: (400, 20, 0.003), 1: (900, 300, 0.012), 2: (200, 50, 0.002)}.items():
        for i in range(n_per_type):
            rows.append({"id": f"{cid}-{i}", "cluster_id": cid, "prompt_tokens": pt, "completion_tokens": ct,
                         "cost_usd": cost, "timestamp": start + timedelta(days=days * i / (n_per_type - 1))})
    return pl.DataFrame(rows)


def _suitability(shares: dict[int, tuple[float, float, float]]) -> pl.DataFrame:
    return pl.DataFrame([{"cluster_id": c, "task_type": f"type {c}", "candidate": "logged", "verdict": "undecided",
                          "rate": 0.95, "ci_lo": 0.9, "ci_hi": 0.99, "target": 0.95, "frontier_rate": 0.99,
                          "slm_share_lo": lo, "slm_share": mid, "slm_share_hi": hi}
                         for c, (lo, mid, hi) in shares.items()])


def test_api_savings_follow_from_prices_and_shares() -> None:
    calls = _calls()
    suit = _suitability({0: (1.0, 1.0, 1.0), 1: (0.0, 0.5, 0.8), 2: (0.0, 0.0, 0.0)})
    result = estimate_savings(suit, calls, options=[ApiOption("my-slm", price=PRICE)])
    rows = {r["cluster_id"]: r for r in result.table.iter_rows(named=True)}
    months = result.months
    assert months == pytest.approx(30 / 30.44, rel=1e-6)
    for cid, share in ((0, 1.0), (1, 0.5), (2, 0.0)):
        r = rows[cid]
        calls_pm = 300 / months
        slm = calls_pm * (r["input_tokens_per_month"] / calls_pm * PRICE[0]
                          + r["output_tokens_per_month"] / calls_pm * PRICE[1]) / 1e6
        assert r["cost_now_per_month"] == pytest.approx(calls.filter(pl.col("cluster_id") == cid)["cost_usd"].sum()
                                                        / months)
        assert r["savings_per_month"] == pytest.approx(share * (r["cost_now_per_month"] - slm))
        assert r["savings_lo"] <= r["savings_per_month"] <= r["savings_hi"]
    assert rows[2]["savings_hi"] == 0.0 and rows[1]["savings_lo"] == 0.0
    total = result.options.row(0, named=True)
    assert total["savings_per_month"] == pytest.approx(sum(r["savings_per_month"] for r in rows.values()))
    # in a cascade the SLM also answers the calls it escalates: never cheaper
    cascade = estimate_savings(suit, calls, options=[ApiOption("my-slm", price=PRICE)], cascade=True)
    assert cascade.options["savings_per_month"][0] < total["savings_per_month"]


def test_self_host_replicas_and_break_even_are_consistent() -> None:
    calls = _calls()
    suit = _suitability({0: (1.0, 1.0, 1.0), 1: (1.0, 1.0, 1.0), 2: (1.0, 1.0, 1.0)})
    option = SelfHostOption("L4", tokens_per_second=50.0, prefill_tokens_per_second=500.0, utilisation=0.5)
    api = ApiOption("my-slm", price=PRICE)
    result = estimate_savings(suit, calls, options=[api, option])
    host = result.options.filter(pl.col("kind") == "self_host").row(0, named=True)
    tin = result.table.filter(pl.col("kind") == "self_host")["input_tokens_per_month"].sum()
    tout = result.table.filter(pl.col("kind") == "self_host")["output_tokens_per_month"].sum()
    seconds = tout / 50.0 + tin / 500.0
    assert host["replicas"] == max(1, math.ceil(seconds / (730 * 3600 * 0.5)))
    assert host["fixed_cost_per_month"] == pytest.approx(host["replicas"] * GPU_TABLE["L4"].usd_per_hour * 730)
    be = {r["against"]: r for r in result.break_even.iter_rows(named=True)}
    assert set(be) == {"frontier (now)", "api:my-slm"}
    volume = be["frontier (now)"]["break_even_tokens_per_month"]
    current = tin + tout
    # at the break-even volume self-hosting costs what the frontier does: savings change sign around it
    below = estimate_savings(suit, _scaled(calls, 0.9 * volume / current), options=[option]).options
    above = estimate_savings(suit, _scaled(calls, 1.1 * volume / current), options=[option]).options
    assert below["savings_per_month"][0] < 0 < above["savings_per_month"][0]


def _scaled(calls: pl.DataFrame, factor: float) -> pl.DataFrame:
    return calls.with_columns(pl.col("prompt_tokens") * factor, pl.col("completion_tokens") * factor,
                              pl.col("cost_usd") * factor)


def test_sensitivity_moves_the_right_way_and_errors_are_clear(tmp_path: Path) -> None:
    calls = _calls()
    suit = _suitability({0: (0.5, 1.0, 1.0), 1: (0.0, 0.5, 1.0), 2: (0.0, 0.2, 0.5)})
    opts = [ApiOption("my-slm", price=PRICE), SelfHostOption("A10G")]
    result = estimate_savings(suit, calls, options=opts, retarget=lambda t: _suitability(
        {0: (0.5, 1.0, 1.0), 1: (0.0, 0.5 if t < 0.95 else 0.25, 1.0), 2: (0.0, 0.0, 0.5)}), targets=(0.9, 0.99))
    s = result.sensitivity

    def at(parameter: str, value: float, option: str) -> float:
        return s.filter((pl.col("parameter") == parameter) & (pl.col("value") == value)
                        & (pl.col("option") == option))["savings_per_month"][0]

    api, host = "api:my-slm", "self-host:A10G"
    assert at("slm price (x)", 2.0, api) < at("slm price (x)", 1.0, api) < at("slm price (x)", 0.5, api)
    assert at("volume (x)", 10.0, api) == pytest.approx(10 * at("volume (x)", 1.0, api))
    assert at("volume (x)", 10.0, host) > 10 * at("volume (x)", 1.0, host)  # fixed cost spread over more traffic
    assert at("throughput (x)", 2.0, host) >= at("throughput (x)", 1.0, host)
    assert at("target", 0.99, api) < at("target", 0.9, api)
    files = result.write(tmp_path)
    for name in ("savings", "savings_options", "savings_break_even", "savings_sensitivity", "savings_by_task_type",
                 "cost_vs_quality"):
        assert Path(files[name]).stat().st_size > 200, name
    assert json.loads(result.options["assumptions"][1])["usd_per_hour"] == GPU_TABLE["A10G"].usd_per_hour
    with pytest.raises(LookupError, match="no price known"):
        estimate_savings(suit, calls, options=[ApiOption("no-such-model-xyz")])
    with pytest.raises(KeyError, match="unknown GPU"):
        estimate_savings(suit, calls, options=[SelfHostOption("TPU9000")])
    with pytest.raises(ValueError, match="'utilisation' parameter"):
        estimate_savings(suit, calls, options=[SelfHostOption("L4", utilisation=0.0)])


def test_genai_prices_price_the_default_api_model() -> None:
    p_in, p_out = ApiOption("gpt-4o-mini").prices()
    assert 0 < p_in < p_out < 10  # a small model: cents to dollars per million tokens


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from slmprofile.testing import truth_run_dir

    return truth_run_dir(ROOT / "data", tmp_path_factory.mktemp("run"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slmprofile", *args], capture_output=True, text=True, cwd=ROOT)


def test_suitability_and_savings_commands_on_the_sample(sample_run: Path) -> None:
    evals = ROOT / "data" / "evals" / "offline_eval.csv"
    if not evals.is_file():
        pytest.skip("data/evals/offline_eval.csv not found")
    proc = _cli("suitability", str(sample_run), "--outcomes", str(evals))
    assert proc.returncode == 0, proc.stderr
    assert "verdicts:" in proc.stdout
    table = pl.read_csv(sample_run / "suitability.csv")
    assert table.height == pl.read_parquet(sample_run / "task_types.parquet").height
    for col in ("calls", "cost_per_month", "prior_mean", "prior_reasons", "outcome_n", "outcome_rate", "rate",
                "ci_lo", "ci_hi", "verdict", "more_samples", "slm_share", "escalation_rate"):
        assert col in table.columns, col
    assert (table["outcome_n"] > 0).all() and set(table["verdict"]) <= {"slm", "frontier", "undecided"}
    assert json.loads((sample_run / "suitability.json").read_text())["outcomes"] == [str(evals.resolve())]
    proc = _cli("savings", str(sample_run), "--api-model", "gpt-4o-mini", "--gpu", "L4")
    assert proc.returncode == 0, proc.stderr
    assert "beats frontier (now) above" in proc.stdout
    savings = pl.read_csv(sample_run / "savings.csv")
    assert savings.height == 2 * table.height and set(savings["option"]) == {"api:gpt-4o-mini", "self-host:L4"}
    assert (savings["savings_lo"] <= savings["savings_hi"]).all()
    sens = pl.read_csv(sample_run / "savings_sensitivity.csv")
    assert set(sens["parameter"]) == {"slm price (x)", "volume (x)", "throughput (x)", "target"}
    assert (sample_run / "plots" / "savings_by_task_type.png").stat().st_size > 1000
    proc = _cli("savings", str(sample_run), "--gpu", "TPU9000")
    assert proc.returncode == 2 and "unknown GPU" in proc.stderr and "Traceback" not in proc.stderr


def test_suitability_command_with_a_shadow_run_against_the_fake_server(sample_run: Path, tmp_path: Path) -> None:
    from slmprofile.testing import FakeOpenAI

    with FakeOpenAI() as server:
        proc = _cli("suitability", str(sample_run), "--out", str(tmp_path), "--candidate", "fake-slm", "--base-url",
                    server.base_url, "--per-type", "10", "--batch-size", "10", "--max-total-tokens", "600000",
                    "--judge-model", "fake-judge")
        models = [r.body["model"] for r in server.requests]
    assert proc.returncode == 0, proc.stderr
    shadow = pl.read_parquet(tmp_path / "shadow_results.parquet")
    asked = models.count("fake-slm")
    assert shadow.height == asked and 0 < asked <= 10 * 14
    assert 0 < models.count("fake-judge") <= asked and set(shadow["measure"].drop_nulls()) == {"judge"}
    table = pl.read_parquet(tmp_path / "suitability.parquet")
    assert set(table["candidate"]) == {"fake-slm"} and (table["shadow_n"] > 0).any()
    assert "spent $" in proc.stdout
