"""Outcome columns joined from an eval table: every row accounted for, bad values named by file, line and field."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from slmprofile.errors import IngestError
from slmprofile.ingest import ingest
from slmprofile.sample import EVAL_FILE, SLM_DIFFICULTY

DATA = Path(__file__).resolve().parents[1] / "data"


def _logs(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text("request_id,question,answer\nr1,what is 2+2?,4\nr2,capital of France?,Paris\n"
                    "r3,translate hello,bonjour\n", encoding="utf-8")
    return path


def test_eval_table_joins_by_id_and_counts_every_row(tmp_path: Path) -> None:
    evals = tmp_path / "evals.csv"
    evals.write_text("call,llama_ok,frontier_correct,feedback\n"
                     "r1,yes,true,1\n"
                     "r2,0,true,\n"
                     "r9,true,true,0.5\n"      # no such call
                     "r1,false,false,0\n"      # repeats r1: the first row wins
                     "r3,maybe,true,1\n",      # bad boolean
                     encoding="utf-8")
    result = ingest(_logs(tmp_path), mapping="prompt=question,response=answer,id=request_id,slm_correct=llama_ok",
                    outcomes=evals, outcomes_key="call")
    frame = result.frame.sort("id")
    assert frame["slm_correct"].to_list() == [True, False, None]
    assert frame["frontier_correct"].to_list() == [True, True, None]
    assert frame["feedback"].to_list() == [1.0, None, None]
    (rep,) = result.report.outcomes
    assert (rep.rows_read, rep.matched, rep.unmatched, rep.duplicate, rep.invalid) == (5, 2, 1, 1, 1)
    assert rep.columns == {"slm_correct": "llama_ok", "frontier_correct": "frontier_correct", "feedback": "feedback"}
    text = str(result.report)
    assert "2 matched a call" in text and "1 match no call" in text
    assert f"{evals}:6 llama_ok" in text  # the bad value, by file, line and field
    assert result.report.to_dict()["outcomes"][0]["invalid"] == 1


def test_strict_eval_table_fails_on_the_first_bad_row(tmp_path: Path) -> None:
    evals = tmp_path / "evals.csv"
    evals.write_text("id,slm_correct\nr1,true\nr2,sometimes\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"evals\.csv:3 slm_correct: expected a boolean"):
        ingest(_logs(tmp_path), mapping="prompt=question,response=answer,id=request_id", outcomes=evals, strict=True)


def test_eval_table_without_outcome_columns_is_an_error(tmp_path: Path) -> None:
    evals = tmp_path / "evals.csv"
    evals.write_text("id,grade\nr1,A\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no outcome columns"):
        ingest(_logs(tmp_path), mapping="prompt=question,id=request_id", outcomes=evals)
    with pytest.raises(IngestError, match="no id column 'call'"):
        ingest(_logs(tmp_path), mapping="prompt=question,id=request_id", outcomes=evals, outcomes_key="call")


def test_sample_offline_eval_matches_its_known_difficulty() -> None:
    import polars as pl

    result = ingest(DATA / "logs", outcomes=DATA / EVAL_FILE)
    (rep,) = result.report.outcomes
    assert rep.matched == rep.rows_read > 3000 and rep.unmatched == rep.invalid == rep.duplicate == 0
    with open(DATA / "truth.csv", encoding="utf-8", newline="") as fh:
        task = {r["id"]: r["task_type"] for r in csv.DictReader(fh)}
    graded = result.frame.filter(pl.col("slm_correct").is_not_null())
    assert graded.filter(pl.col("status") != "ok").height == 0  # failed calls are not graded
    rates = (graded.with_columns(task=pl.col("id").replace_strict(task)).group_by("task")
             .agg(pl.col("slm_correct").mean().alias("slm"), pl.col("frontier_correct").mean().alias("frontier")))
    by_task = {r["task"]: r for r in rates.iter_rows(named=True)}
    assert set(by_task) == set(SLM_DIFFICULTY)
    for name, (p_slm, p_frontier) in SLM_DIFFICULTY.items():
        assert abs(by_task[name]["frontier"] - p_frontier) < 0.05
        assert p_slm - 0.12 < by_task[name]["slm"] <= p_slm + 0.03  # longer prompts are harder: realized <= typical
    order = sorted(SLM_DIFFICULTY, key=lambda t: SLM_DIFFICULTY[t][0])
    assert by_task[order[0]]["slm"] < by_task[order[-1]]["slm"] - 0.3
