"""Shadow runs against the fake server (known agreement per task type), their sequential stopping, the spend cap
and resume, stratified sampling, and the agreement measures."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from slmprofile.agreement import LLMJudge, get_measure, measure_for
from slmprofile.llm import LLMRequest, LLMRunner, SpendCap
from slmprofile.shadow import ShadowRun, request_messages, stratified_order, stratified_sample
from slmprofile.suitability import assess_suitability, samples_to_decide
from slmprofile.testing import FakeOpenAI, reference_answerer

LABELS = ("billing", "bug_report", "feature_request", "account")
#: cluster -> (calls, share of prompts the fake SLM answers like the frontier)
PLAN = {0: (200, 1.0), 1: (120, 0.5), 2: (30, 0.9)}


def _calls(seed: int = 3) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for cid, (n, _) in PLAN.items():
        for i in range(n):
            label = rng.choice(LABELS)
            template = f"t{cid}{i % 3}"
            words = " ".join(rng.choice(["invoice", "crash", "login", "export", "dashboard", "refund"])
                             for _ in range(rng.randint(5, 40)))
            prompt = f"[{cid}-{i}] Ticket about {words}. Answer with the category only."
            rows.append({"id": f"c{cid}-{i}", "cluster_id": cid, "prompt_text": prompt, "response_text": label,
                         "system_prompt": "Triage tickets. Categories: " + ", ".join(LABELS),
                         "messages": [{"role": "system", "content": "Triage tickets. Categories: " + ", ".join(LABELS)},
                                      {"role": "user", "content": prompt}],
                         "template_id": template, "prompt_tokens": 20 + len(words.split()), "completion_tokens": 2,
                         "status": "ok", "prompt_hash": f"h{cid}-{i}", "cost_usd": 0.001,
                         "timestamp": None})
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


def _answerer(calls: pl.DataFrame):
    reference = dict(zip(calls["prompt_text"], calls["response_text"]))
    rate = {p: PLAN[c][1] for p, c in zip(calls["prompt_text"], calls["cluster_id"])}
    return reference_answerer(reference, agree=lambda prompt: rate.get(prompt, 0.0), wrong="other")


TYPES = pl.DataFrame({"cluster_id": [0, 1, 2], "task_type": ["easy", "hard", "small"],
                      "archetype": ["classification"] * 3, "json_output_share": [0.0] * 3})


def test_stratified_order_keeps_every_prefix_proportional() -> None:
    frame = pl.DataFrame({"cluster_id": [0] * 100, "template_id": ["a"] * 60 + ["b"] * 40,
                          "prompt_tokens": list(range(100))})
    ordered = stratified_order(frame, seed=1).sort("shadow_rank")
    for m in (5, 10, 20, 50):
        share_a = (ordered.head(m)["template_id"] == "a").mean()
        assert abs(share_a - 0.6) <= 1.0 / m + 0.06, (m, share_a)
    # short and long prompts both appear early (length terciles are strata too)
    first = ordered.head(12)["prompt_tokens"].to_numpy()
    assert first.min() < 34 and first.max() >= 66
    sample = stratified_sample(frame, fraction=0.1, seed=2)
    assert sample.height == 10 and set(sample["template_id"]) == {"a", "b"}
    with pytest.raises(ValueError, match="fraction"):
        stratified_sample(frame, fraction=0.0)


def test_shadow_run_stops_each_type_when_decided(tmp_path: Path) -> None:
    calls = _calls()
    with FakeOpenAI(answer=_answerer(calls)) as server:
        runner = LLMRunner("fake-slm", base_url=server.base_url, cache=tmp_path / "c.sqlite", concurrency=8,
                           progress=False)
        run = ShadowRun([runner], batch_size=20, max_per_type=200, min_per_type=20).fit(calls, TYPES)
        n_requests = len(server.requests)
        sent = Counter(r.last_user for r in server.requests)
    summary = {r["cluster_id"]: r for r in run.summary_.iter_rows(named=True)}
    assert summary[0]["verdict"] == "slm" and summary[0]["stopped"] == "decided" and summary[0]["rate"] == 1.0
    assert summary[1]["verdict"] == "frontier" and summary[1]["stopped"] == "decided"
    assert summary[1]["n"] == 20  # decided after the first round: 100 further calls never asked
    assert summary[2]["verdict"] == "undecided" and summary[2]["stopped"] == "exhausted"
    expected_more = samples_to_decide(summary[2]["rate"], 0.95) - summary[2]["n"]
    assert summary[2]["more_samples"] == expected_more > 0
    assert summary[0]["n"] < 200  # stopped before the budget per type
    assert run.results_.height == n_requests == sum(s["n"] for s in summary.values())
    assert set(sent.values()) == {1}
    assert set(run.results_["measure"].unique()) == {"label"}

    # the shadow evidence lands in the suitability table, next to the prior, for that candidate
    table = assess_suitability(logs=calls, task_types=TYPES, shadow=run.results_, write=False)
    rows = {r["cluster_id"]: r for r in table.iter_rows(named=True)}
    assert set(table["candidate"]) == {"fake-slm"}
    assert rows[0]["shadow_n"] == summary[0]["n"] and rows[0]["evidence"] == "prior+shadow"
    assert rows[0]["verdict"] == "slm" and rows[1]["verdict"] == "frontier"
    assert rows[0]["slm_share"] == 1.0 and rows[1]["slm_share"] < 1.0


def test_the_slm_confidence_sets_the_share_kept_on_the_slm() -> None:
    calls = _calls()
    with FakeOpenAI(answer=_answerer(calls)) as server:
        runner = LLMRunner("fake-slm", base_url=server.base_url, logprobs=True, progress=False)
        run = ShadowRun([runner], batch_size=40, max_per_type=40, min_per_type=40).fit(calls, TYPES)
    assert run.results_["confidence"].is_not_null().all()
    table = assess_suitability(logs=calls, task_types=TYPES, shadow=run.results_, write=False)
    hard = table.filter(pl.col("cluster_id") == 1).row(0, named=True)
    agreed = run.results_.filter(pl.col("cluster_id") == 1)["agree"].mean()
    # the fake SLM is confident exactly when it agrees: the threshold keeps those calls and escalates the rest
    assert hard["score"] == "shadow confidence" and hard["verdict"] == "frontier"
    assert hard["slm_share"] == pytest.approx(agreed) and hard["escalation_rate"] == pytest.approx(1 - agreed)
    # ~20 kept calls cannot prove 0.95 (a Wilson lower bound needs 73 agreeing calls): the share's interval says so
    assert hard["slm_share_lo"] == 0.0 and hard["slm_share_hi"] >= hard["slm_share"]


def test_a_small_dollar_cap_does_not_cut_a_shadow_run_short(tmp_path: Path) -> None:
    # the shape: --max-usd 0.01 at a small model's price. Each request's worst case (prompt bound plus 256
    # completion tokens) is ~$0.0002 but it costs ~$0.00001: reserving every worst case of a round up front had
    # refused most of the first round and stopped every type at "budget"
    calls = _calls()
    with FakeOpenAI(answer=_answerer(calls)) as server:
        cap = SpendCap(max_usd=0.01)
        runner = LLMRunner("fake-slm", base_url=server.base_url, cache=tmp_path / "c.sqlite", price=(0.15, 0.60),
                           concurrency=8, spend_cap=cap, progress=False)
        run = ShadowRun([runner], batch_size=20, max_per_type=200, min_per_type=20).fit(calls, TYPES)
        n_sent = len(server.requests)
    spend = run.spend_.row(0, named=True)
    assert "budget" not in set(run.summary_["stopped"]) and spend["over_budget"] == 0
    assert set(run.results_["status"]) == {"ok"} and spend["sent"] == spend["answered"] == n_sent
    assert spend["spent_usd"] == pytest.approx(run.results_["cost_usd"].sum()) == pytest.approx(cap.spent_usd)
    assert cap.spent_usd <= 0.01 and spend["left_usd"] == pytest.approx(0.01 - cap.spent_usd)
    verdicts = dict(zip(run.summary_["cluster_id"], run.summary_["verdict"]))
    assert verdicts == {0: "slm", 1: "frontier", 2: "undecided"}  # as without a cap


def test_shadow_run_stops_at_the_spend_cap_and_resumes_within_the_same_budget(tmp_path: Path) -> None:
    calls = _calls()
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI(answer=_answerer(calls)) as server:
        def fit(max_tokens: int) -> ShadowRun:
            runner = LLMRunner("fake-slm", base_url=server.base_url, cache=cache, max_tokens=8,
                               spend_cap=SpendCap(max_tokens=max_tokens), progress=False)
            return ShadowRun([runner], batch_size=20, max_per_type=200).fit(calls, TYPES)

        first = fit(6_000)
        spend1 = first.spend_.row(0, named=True)
        assert "budget" in set(first.summary_["stopped"]) and spend1["over_budget"] > 0
        assert spend1["spent_tokens"] <= 6_000 and spend1["carried_tokens"] == 0
        assert spend1["sent"] == len(server.requests) == (first.results_["status"] == "ok").sum()
        # what is left is less than the worst case of any request the cap refused
        refused = first.results_.filter(pl.col("status") == "over_budget")["id"].to_list()
        rows = {r["id"]: r for r in calls.iter_rows(named=True)}
        runner = LLMRunner("fake-slm", max_tokens=8)
        worst = [runner.worst_case(runner.prepare(LLMRequest(messages=tuple(request_messages(rows[i]))))[0])[0]
                 for i in refused]
        assert spend1["left_tokens"] < min(worst)

        # the same cap on the same cache: the budget continues, nothing is asked again
        n_first = len(server.requests)
        again = fit(6_000)
        spend2 = again.spend_.row(0, named=True)
        assert spend2["carried_tokens"] == spend1["spent_tokens"]
        assert spend2["cached"] == spend1["answered"] and spend2["sent"] == len(server.requests) - n_first
        assert spend2["carried_tokens"] + spend2["spent_tokens"] <= 6_000

        # a larger cap goes on from there
        second = fit(200_000)
        sent = Counter(r.last_user for r in server.requests)
    assert set(sent.values()) == {1}  # nothing asked twice across the three runs
    assert "budget" not in set(second.summary_["stopped"])
    assert second.summary_.filter(pl.col("cluster_id") == 1)["verdict"][0] == "frontier"


def test_agreement_measures() -> None:
    label = get_measure("label")
    assert label.agree(["Billing.", "**bug_report**", "Category: account"], ["billing", "bug_report", "account"]).all()
    assert not label.agree(["bug_report"], ["billing"]).any()
    fields = get_measure("json_fields")
    ref = '{"vendor": "ACME GmbH", "total": 120.5, "items": [{"sku": "A1"}, {"sku": "B2"}]}'
    same = 'Here you go:\n```json\n{"total": 120.50, "vendor": "acme gmbh", "items": [{"sku": "A1"}, {"sku": "B2"}]}\n```'
    half = '{"vendor": "ACME GmbH", "total": 99, "items": [{"sku": "A1"}, {"sku": "XX"}]}'
    scores = fields.score([same, half, "not json", None], [ref, ref, ref, ref])
    assert scores[0] == 1.0 and 0.4 < scores[1] < 0.6 and scores[2] == 0.0 and scores[3] == 0.0
    assert fields.agree([same, half], [ref, ref]).tolist() == [True, False]
    numbers = get_measure("final_number")
    assert numbers.agree(["So the total is $1,234.50."], ["1234.5"]).all()
    assert not numbers.agree(["The answer is 12"], ["The answer is 13"]).any()
    assert measure_for("classification") == "label" and measure_for("maths/reasoning") == "final_number"
    assert measure_for("extraction", json_output_share=0.9) == "json_fields"
    assert measure_for("extraction", json_output_share=0.1) == "embedding" == measure_for("summarisation")
    with pytest.raises(ValueError, match="choose one of"):
        get_measure("nope")


def test_embedding_agreement_separates_paraphrases_from_different_answers(embedder) -> None:
    measure = get_measure("embedding", embedder=embedder)
    refs = ["The meeting has been moved to Tuesday at 3 pm.", "Your refund of 40 euros was issued today."]
    paraphrases = ["We rescheduled the meeting to Tuesday, 3pm.", "Today we issued your 40 EUR refund."]
    unrelated = ["Our API rate limit is 100 requests per minute.", "The dashboard supports dark mode."]
    close = measure.score(paraphrases, refs)
    far = measure.score(unrelated, refs)
    assert (close > far + 0.3).all()
    assert not measure.agree(unrelated, refs).any()


def test_llm_judge_measure_through_the_runner() -> None:
    with FakeOpenAI() as server:
        judge = LLMJudge(runner=LLMRunner("fake-judge", base_url=server.base_url, progress=False))
        judge.prompts = ["Classify the ticket", "Classify the ticket"]
        scores = judge.score(["Billing", "bug"], ["billing.", "feature"])
        asked = [r.last_user for r in server.requests]
    assert scores.tolist() == [1.0, 0.0]
    assert len(asked) == 2 and all("Reference answer:" in a and "Classify the ticket" in a for a in asked)


def test_shadow_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="'batch_size' parameter of ShadowRun"):
        ShadowRun([LLMRunner("m")], batch_size=0).fit(_calls(), TYPES)
    with pytest.raises(ValueError, match="candidate models must differ"):
        ShadowRun([LLMRunner("m"), LLMRunner("m")]).fit(_calls(), TYPES)
    assert np.isfinite(samples_to_decide(0.99, 0.95))
