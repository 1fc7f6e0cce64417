"""Router threshold explorer: exact figures against a direct computation on the sample's logged outcomes, the live
widget and its static fallback (the task-type browser is tested in tests/test_report.py)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
PRICE = (0.15, 0.60)  # USD per million input / output tokens, stated so the test needs no price table


@pytest.fixture(scope="module")
def scored() -> tuple[pl.DataFrame, np.ndarray]:
    """Half of the sample's calls (with the offline eval's outcomes), scored by a simple honest router: the SLM's
    success rate of the call's template on the *other* half (the overall rate for templates seen only here)."""
    from slmprofile.ingest import ingest

    calls = ingest([ROOT / "data" / "logs"], outcomes=ROOT / "data" / "evals" / "offline_eval.csv").frame
    calls = calls.with_columns((pl.col("id").hash(seed=1) % 2 == 0).alias("_fit"))
    fit, held = calls.filter(pl.col("_fit")), calls.filter(~pl.col("_fit"))
    rates = fit.group_by("template_id").agg(pl.col("slm_correct").cast(pl.Float64).mean().alias("p"))
    overall = float(fit["slm_correct"].cast(pl.Float64).mean())
    held = held.join(rates, on="template_id", how="left", maintain_order="left")
    return held.drop("p", "_fit"), held["p"].fill_null(overall).fill_nan(overall).to_numpy()


def _direct(calls: pl.DataFrame, p: np.ndarray, t: float, months: float) -> dict[str, float]:
    """The figures at threshold ``t`` computed row by row, independently of the cumulative sums."""
    frame = calls.with_columns(pl.Series("p", p), pl.col("frontier_correct").fill_null(True).alias("f"),
                               ((pl.col("prompt_tokens").fill_null(0) * PRICE[0]
                                 + pl.col("completion_tokens").fill_null(0) * PRICE[1]) / 1e6).alias("slm_cost"))
    slm = frame.filter(pl.col("p") >= t)
    labelled = frame.filter(pl.col("slm_correct").is_not_null())
    ok = slm.filter(pl.col("slm_correct").is_not_null()).select(pl.col("slm_correct") | ~pl.col("f")).to_series()
    right = labelled.select(pl.when(pl.col("p") >= t).then(pl.col("slm_correct")).otherwise(pl.col("f"))).to_series()
    saved = float(slm["cost_usd"].fill_null(0).sum() - slm["slm_cost"].sum()) / months
    return {"slm_share": slm.height / frame.height, "success_on_slm": float(ok.mean()) if len(ok) else None,
            "quality": float(right.mean()), "savings_per_month": saved,
            "cost_per_month": float(frame["cost_usd"].fill_null(0).sum()) / months - saved}


def test_tradeoff_matches_a_direct_computation(scored) -> None:
    from slmprofile.widgets import threshold_tradeoff

    calls, p = scored
    tradeoff = threshold_tradeoff(calls, p, slm_price=PRICE, months=0.5, target=0.95)
    assert tradeoff.n == calls.height and tradeoff.n_labelled == calls["slm_correct"].is_not_null().sum()
    for t in [0.0, *np.quantile(p, [0.1, 0.35, 0.6, 0.85]).tolist(), float(p.max()), float(p.max()) + 1e-9]:
        got, want = tradeoff.at(t), _direct(calls, p, t, 0.5)
        for key, value in want.items():
            assert got[key] == (None if value is None else pytest.approx(value, rel=1e-9, abs=1e-12)), (t, key)
        if got["success_on_slm"] is not None:
            assert got["success_on_slm_lo"] <= got["success_on_slm"] <= got["success_on_slm_hi"]
    everything, nothing = tradeoff.at(0.0), tradeoff.at(float(p.max()) + 1e-9)
    assert everything["slm_share"] == 1.0 and everything["quality"] == pytest.approx(tradeoff.slm_quality)
    assert nothing["slm_share"] == 0.0 and nothing["savings_per_month"] == 0.0
    assert nothing["quality"] == pytest.approx(tradeoff.frontier_quality)
    assert nothing["cost_per_month"] == pytest.approx(tradeoff.cost_now_per_month)


def test_tradeoff_table_and_an_informative_score(scored) -> None:
    from slmprofile.widgets import threshold_tradeoff

    calls, p = scored
    table = threshold_tradeoff(calls, p, slm_price=PRICE).table()
    assert table["threshold"].is_sorted(descending=True)
    assert table["slm_share"].is_sorted() and table["slm_share"][0] == 0.0 and table["slm_share"][-1] == 1.0
    # templates the SLM handled well on the other half keep more calls right than sending everything to the SLM
    top = table.filter((pl.col("slm_share") >= 0.2) & (pl.col("slm_share") <= 0.4))["success_on_slm"].min()
    assert top > table["success_on_slm"][-1] + 0.05
    # ... and routing by the score beats a random split of the same size on the quality of all calls
    mid = table.filter(pl.col("slm_share") >= 0.5).row(0, named=True)
    slm_q, frontier_q = table["quality"][-1], table["quality"][0]
    assert mid["quality"] > mid["slm_share"] * slm_q + (1 - mid["slm_share"]) * frontier_q


def test_threshold_explorer_live_and_static(scored) -> None:
    from slmprofile.runtime import RouteResult
    from slmprofile.widgets import threshold_explorer

    calls, p = scored
    routed = RouteResult(to_slm=p >= 0.9, p_slm=p.astype(np.float32), score=p.astype(np.float32), threshold=0.9)
    explorer = threshold_explorer(calls, routed, slm_model="tiny<slm>", slm_price=PRICE, target=0.95)
    assert explorer.threshold == 0.9 and explorer.reference == 0.9
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert "Threshold <b>0.900</b>" in static and "tiny&lt;slm&gt;" in static and "tiny<slm>" not in static
    assert "<script" not in static
    # rendered from the report's widget templates: the style first, the starting threshold's row in bold
    assert static.startswith("<style>") and "<tr style='font-weight:bold'><td>0.900</td>" in static
    png = re.search(r"src='data:image/png;base64,([^']+)'", static)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
    slider, summary, image = explorer.widget.children
    before, picture = summary.value, bytes(image.value)
    assert summary.value.startswith("<style>") and "Threshold <b>0.900</b>" in summary.value
    explorer.set_threshold(0.5)
    assert slider.value == 0.5 and "Threshold <b>0.500</b>" in summary.value and summary.value != before
    assert bytes(image.value) != picture and bytes(image.value).startswith(b"\x89PNG")
    share = explorer.tradeoff.at(0.5)["slm_share"]
    assert f"{share:.1%}" in summary.value


def test_threshold_explorer_rejects_bad_input(scored) -> None:
    from slmprofile.widgets import threshold_explorer, threshold_tradeoff

    calls, p = scored
    with pytest.raises(ValueError, match="p_slm has 3 values for"):
        threshold_tradeoff(calls, p[:3], slm_price=PRICE)
    with pytest.raises(ValueError, match="non-finite"):
        threshold_tradeoff(calls, np.r_[np.nan, p[1:]], slm_price=PRICE)
    with pytest.raises(ValueError, match="lack the column.*slm_correct"):
        threshold_explorer(calls.drop("slm_correct"), p, slm_price=PRICE)
    with pytest.raises(ValueError, match="'confidence' parameter of threshold_tradeoff"):
        threshold_tradeoff(calls, p, slm_price=PRICE, confidence=1.5)
    with pytest.raises(LookupError, match="no price known"):
        threshold_tradeoff(calls, p, slm_model="no-such-model-anywhere")
