"""Several candidate small models side by side: per task type, the cheapest one that meets the target.

The suitability table has one row per task type and candidate (from logged outcome columns per ``slm_model`` and
shadow runs per candidate). Each candidate is priced **as itself**: a model ``genai-prices`` knows (an API mini
model) at its per-token price, or one given in ``prices``; any other (a self-hosted or fine-tuned model) on the
self-hosted option (GPUs per hour, :class:`~slmprofile.savings.SelfHostOption`). For each task type and candidate
the plan cost is the savings module's (the candidate's SLM share on the small model, the rest on the frontier
model); a candidate *meets the target* when its verdict is ``slm`` (the lower end of its interval reaches the
target). The pick per type is the cheapest candidate that meets it; a type no candidate meets stays on the frontier
model (``undecided`` types name the candidate that would be cheapest if it held, as ``cheapest_if_confirmed``).

>>> plan = plan_candidates(suitability, calls)        # doctest: +SKIP
>>> plan.filter(pl.col("chosen"))                      # doctest: +SKIP

A self-hosted candidate's GPU cost is shared by the types routed to it; here each candidate's cost is computed as if
it took every type it meets, which overstates nothing for API candidates and slightly favours self-hosting when only
a few types would move.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .rundir import RunDir
from .savings import ApiOption, SelfHostOption, evaluate_options, join_volumes, task_volumes

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


def candidate_option(candidate: str, *, prices: Mapping[str, tuple[float, float]] | None = None,
                     self_host: SelfHostOption | None = None) -> ApiOption | SelfHostOption:
    """How ``candidate`` is priced: its stated or known API price, else the self-hosted option."""
    from .llm import resolve_price

    stated = (prices or {}).get(candidate)
    if stated is not None or resolve_price(candidate, None) is not None:
        return ApiOption(model=candidate, price=stated, label=f"api:{candidate}")
    host = self_host or SelfHostOption("L4")
    return replace(host, label=f"{host.name}:{candidate}")


def plan_candidates(suitability: pl.DataFrame, calls: pl.DataFrame, *,
                    prices: Mapping[str, tuple[float, float]] | None = None, self_host: SelfHostOption | None = None,
                    cascade: bool = False, months: float | None = None) -> pl.DataFrame:
    """One row per task type and candidate: quality (rate, interval, verdict, SLM share), how it is priced, the plan
    cost and savings per month with their interval, ``meets_target``, and ``chosen`` (the cheapest candidate that
    meets the target, per type)."""
    import polars as pl

    from .cluster.stats import months_spanned

    if "candidate" not in suitability.columns:
        raise ValueError("the suitability table has no candidate column")
    months = months or months_spanned(calls)
    volumes = task_volumes(calls, months=months)
    rows: list[dict[str, Any]] = []
    for candidate in sorted(suitability["candidate"].drop_nulls().unique().to_list()):
        option = candidate_option(candidate, prices=prices, self_host=self_host)
        mine = suitability.filter(pl.col("candidate") == candidate)
        evaluated, _ = evaluate_options(join_volumes(mine, volumes).filter(pl.col("candidate") == candidate), [option],
                                 cascade=cascade)
        for r in evaluated:
            rows.append({"cluster_id": r["cluster_id"], "task_type": r["task_type"], "candidate": candidate,
                         "priced_as": option.name, "kind": option.kind, "verdict": r["verdict"], "rate": r["rate"],
                         "ci_lo": r["ci_lo"], "ci_hi": r["ci_hi"], "target": r["target"],
                         "slm_share": r["slm_share"], "cost_now_per_month": r["cost_now_per_month"],
                         "plan_cost_per_month": r["plan_cost_per_month"], "savings_lo": r["savings_lo"],
                         "savings_per_month": r["savings_per_month"], "savings_hi": r["savings_hi"],
                         "meets_target": r["verdict"] == "slm"})
    if not rows:
        return pl.DataFrame()
    plan = pl.DataFrame(rows, infer_schema_length=None)
    best = (plan.filter(pl.col("meets_target")).sort(["cluster_id", "plan_cost_per_month", "candidate"])
            .unique(subset="cluster_id", keep="first", maintain_order=True).select("cluster_id", "candidate")
            .with_columns(pl.lit(True).alias("chosen")))
    hopeful = (plan.filter(pl.col("verdict") == "undecided").sort(["cluster_id", "plan_cost_per_month", "candidate"])
               .unique(subset="cluster_id", keep="first", maintain_order=True)
               .select("cluster_id", pl.col("candidate").alias("cheapest_if_confirmed")))
    plan = (plan.join(best, on=["cluster_id", "candidate"], how="left").with_columns(pl.col("chosen").fill_null(False))
            .join(hopeful, on="cluster_id", how="left"))
    return plan.sort(["cost_now_per_month", "cluster_id", "plan_cost_per_month"], descending=[True, False, False])


def plan_candidates_from_run(run_dir: str | Path, *, out_dir: str | Path | None = None,
                             prices: Mapping[str, tuple[float, float]] | None = None,
                             self_host: SelfHostOption | None = None, cascade: bool = False) -> pl.DataFrame | None:
    """:func:`plan_candidates` on a run's ``suitability.parquet`` when it has two or more candidates (None
    otherwise); writes ``candidates.csv`` into ``out_dir`` (default the run directory)."""
    import polars as pl

    from .suitability import UNUSED_BY_ESTIMATES, load_calls

    run = RunDir(run_dir)
    if not run.suitability.is_file():
        return None
    suitability = pl.read_parquet(run.suitability)
    if "candidate" not in suitability.columns or suitability["candidate"].n_unique() < 2:
        return None
    calls = load_calls(run.root, skip_columns=UNUSED_BY_ESTIMATES + ("prompt_text",))
    plan = plan_candidates(suitability, calls, prices=prices, self_host=self_host, cascade=cascade)
    out = Path(out_dir) if out_dir is not None else run.root
    plan.write_csv(RunDir(out).root / RunDir.CANDIDATES)
    return plan


def compare_table(plan: pl.DataFrame, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per task type, each candidate's rate, interval, verdict and plan cost side by side, and the pick (for the
    report and the CLI)."""
    out: list[dict[str, Any]] = []
    candidates = list(names) if names else sorted(set(plan["candidate"].to_list()))
    for (cid,), group in plan.group_by(["cluster_id"], maintain_order=True):
        by = {r["candidate"]: r for r in group.iter_rows(named=True)}
        first = next(iter(by.values()))
        chosen = [c for c, r in by.items() if r["chosen"]]
        out.append({"cluster_id": cid, "task_type": first["task_type"], "cost_now": first["cost_now_per_month"],
                    "cells": [by.get(c) for c in candidates], "chosen": chosen[0] if chosen else None,
                    "if_confirmed": first.get("cheapest_if_confirmed")})
    return out
