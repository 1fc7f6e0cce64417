"""Several candidate small models: per task type, the cheapest one that meets the target (issue 23).

Two simulated candidates on the sample's true task types, each graded in its own eval table: ``gpt-4.1-nano`` (cheap) is good at classification only,
``gpt-4.1-mini`` (four times the price) at classification, extraction and translation. The plan must pick nano
where both are good, mini where only it is, and neither elsewhere; the report shows both side by side.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from slmprofile.candidates import candidate_option, plan_candidates, plan_candidates_from_run
from slmprofile.rundir import RunDir

CHEAP, DEAR = "gpt-4.1-nano", "gpt-4.1-mini"
GOOD_CHEAP = {"ticket_triage", "review_sentiment"}
GOOD_DEAR = GOOD_CHEAP | {"invoice_extraction", "keyword_extraction", "translation"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from slmprofile.sample import generate_sample
    from slmprofile.suitability import assess_suitability
    from slmprofile.testing import truth_run_dir

    root = tmp_path_factory.mktemp("cand")
    generate_sample(root / "sample", n_calls=2400, seed=3)
    run = truth_run_dir(root / "sample", root / "run")
    logs = pl.read_parquet(RunDir(run).logs)
    task_of = dict(pl.read_parquet(RunDir(run).clusters).select("id", "task_type").iter_rows())
    rng = random.Random(0)
    tables = []
    for name, good in ((CHEAP, GOOD_CHEAP), (DEAR, GOOD_DEAR)):  # one eval table per candidate, as a harness writes
        ids = logs["id"].to_list()
        correct = [rng.random() < (0.995 if task_of.get(i) in good else 0.6) for i in ids]
        path = root / f"eval_{name}.csv"
        pl.DataFrame({"id": ids, "slm_model": [name] * len(ids), "slm_correct": correct,
                      "frontier_correct": [True] * len(ids)}).write_csv(path)
        tables.append(path)
    suitability = assess_suitability(run, outcomes=tables, target=0.95)
    assert sorted(suitability["candidate"].unique().to_list()) == sorted([CHEAP, DEAR])
    return run


def test_each_candidate_is_priced_as_itself() -> None:
    assert candidate_option(CHEAP).name == f"api:{CHEAP}"
    assert candidate_option("northwind-ft-llama-8b").kind == "self_host"
    assert candidate_option("northwind-ft-llama-8b", prices={"northwind-ft-llama-8b": (0.05, 0.1)}).kind == "api"


def test_plan_picks_the_cheapest_candidate_that_meets_the_target(run_dir: Path) -> None:
    from slmprofile.suitability import load_calls

    suitability = pl.read_parquet(RunDir(run_dir).suitability)
    plan = plan_candidates(suitability, load_calls(run_dir))
    chosen = dict(plan.filter(pl.col("chosen")).select("task_type", "candidate").iter_rows())
    for task in GOOD_CHEAP:
        assert chosen.get(task) == CHEAP, (task, plan.filter(pl.col("task_type") == task))
    for task in GOOD_DEAR - GOOD_CHEAP:
        assert chosen.get(task) == DEAR, (task, plan.filter(pl.col("task_type") == task))
    others = set(plan["task_type"].to_list()) - GOOD_DEAR
    assert others and not others & set(chosen), chosen
    # where both meet the target, the cheaper one costs less (the reason it is chosen)
    triage = {r["candidate"]: r for r in plan.filter(pl.col("task_type") == "ticket_triage").iter_rows(named=True)}
    assert triage[CHEAP]["meets_target"] and triage[DEAR]["meets_target"]
    assert triage[CHEAP]["plan_cost_per_month"] < triage[DEAR]["plan_cost_per_month"]


def test_run_writes_candidates_and_the_report_shows_both(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    from slmprofile.report import write_report

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / RunDir.RUN_INFO).write_text('{"created": "2026-12-06T00:00:00+00:00", "inputs": ["sample/logs"]}')
    plan = plan_candidates_from_run(run)
    assert plan is not None and (run / RunDir.CANDIDATES).is_file()
    page = write_report(run).read_text()
    section = page[page.index('id="candidates"'):]
    section = section[:section.index("<h2")] if "<h2" in section else section
    assert CHEAP in section and DEAR in section and "ticket_triage" in section and "invoice_extraction" in section


def test_one_table_grading_several_models_is_refused(tmp_path: Path) -> None:
    from slmprofile.suitability import outcome_candidates

    both = tmp_path / "both.csv"
    pl.DataFrame({"id": ["a", "b"], "slm_model": [CHEAP, DEAR], "slm_correct": [True, False]}).write_csv(both)
    one = tmp_path / "one.csv"
    pl.DataFrame({"id": ["a"], "slm_model": [CHEAP], "slm_correct": [True]}).write_csv(one)
    with pytest.raises(ValueError, match="one table per candidate"):
        outcome_candidates([both, one])
    assert outcome_candidates([one]) is None and outcome_candidates([one, one]) is None
