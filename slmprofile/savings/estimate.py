"""Savings per task type and option (from the logs' volumes and the suitability shares), with their intervals and
their sensitivity to the SLM price, volume, throughput and quality target."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..schema import SAVINGS_COLUMNS, SAVINGS_OPTION_COLUMNS
from .breakeven import break_even_volumes
from .options import ApiOption, Option, SelfHostOption
from .result import SavingsResult

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


# -- inputs ----------------------------------------------------------------------------------------------------------

def task_volumes(calls: pl.DataFrame, *, months: float | None = None) -> pl.DataFrame:
    """Per ``cluster_id``: calls, input/output tokens and cost per month, cost per call and the unpriced share."""
    import polars as pl

    from ..cluster.stats import months_spanned

    months = months or months_spanned(calls)
    return calls.group_by("cluster_id").agg(
        (pl.len() / months).alias("calls_per_month"),
        (pl.col("prompt_tokens").fill_null(0).sum() / months).alias("input_tokens_per_month"),
        (pl.col("completion_tokens").fill_null(0).sum() / months).alias("output_tokens_per_month"),
        (pl.col("cost_usd").fill_null(0).sum() / months).alias("cost_now_per_month"),
        pl.col("cost_usd").is_null().mean().alias("unpriced_share"),
    ).with_columns(pl.col("cluster_id").cast(pl.Int64))


def _best_candidate(suitability: pl.DataFrame, candidate: str | None) -> pl.DataFrame:
    import polars as pl

    if candidate is not None:
        out = suitability.filter(pl.col("candidate") == candidate)
        if out.is_empty():
            raise ValueError(f"candidate {candidate!r} not in the suitability table (have: "
                             f"{', '.join(suitability['candidate'].unique().to_list())})")
        return out
    if "candidate" not in suitability.columns or suitability["candidate"].n_unique() <= 1:
        return suitability
    return (suitability.sort(["cluster_id", "slm_share", "rate"], descending=[False, True, True], nulls_last=True)
            .unique(subset="cluster_id", keep="first", maintain_order=True))


# -- the core computation --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Scale:
    price: float = 1.0
    volume: float = 1.0
    throughput: float = 1.0


def evaluate_options(types: pl.DataFrame, options: Sequence[Option], *, cascade: bool,
                     scale: _Scale = _Scale()) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(per type x option rows, per option totals) for task types with volumes and shares (from
    :func:`join_volumes`)."""
    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    base = types.to_dicts()
    for opt in options:
        per: list[dict[str, Any]] = []
        for t in base:
            calls = t["calls_per_month"] * scale.volume
            tin, tout = t["input_tokens_per_month"] * scale.volume, t["output_tokens_per_month"] * scale.volume
            now = t["cost_now_per_month"] * scale.volume
            routable = t["cluster_id"] != -1
            shares = {k: (t[f"slm_share{k}"] or 0.0) if routable else 0.0 for k in ("_lo", "", "_hi")}
            per.append({"t": t, "calls": calls, "tin": tin, "tout": tout, "now": now, "shares": shares})
        replicas: dict[str, int] = {}
        fixed: dict[str, float] = {}
        gpu_total: dict[str, float] = {}
        if isinstance(opt, SelfHostOption):
            r = opt.resolved()
            r = replace(r, usd_per_hour=r.usd_per_hour * scale.price,  # type: ignore[operator]
                        tokens_per_second=r.tokens_per_second * scale.throughput,  # type: ignore[operator]
                        prefill_tokens_per_second=r.prefill_tokens_per_second * scale.throughput)  # type: ignore
            for k in ("_lo", "", "_hi"):
                g = sum(r.gpu_seconds(p["tin"], p["tout"]) * _slm_load(p["shares"][k], cascade) for p in per)
                gpu_total[k] = g
                replicas[k] = r.replicas_for(g) if g > 0 else 0
                fixed[k] = r.monthly_cost(replicas[k]) if g > 0 else 0.0
        else:
            p_in, p_out = opt.prices()
            p_in, p_out = p_in * scale.price, p_out * scale.price
        scenario_totals = {"_lo": 0.0, "": 0.0, "_hi": 0.0}
        mine: list[dict[str, Any]] = []
        for p in per:
            t = p["t"]
            out: dict[str, Any] = {"cluster_id": t["cluster_id"], "task_type": t.get("task_type"),
                                   "verdict": t.get("verdict"), "candidate": t.get("candidate"), "option": opt.name,
                                   "kind": opt.kind, "calls_per_month": p["calls"],
                                   "input_tokens_per_month": p["tin"], "output_tokens_per_month": p["tout"],
                                   "cost_now_per_month": p["now"], "unpriced_share": t.get("unpriced_share"),
                                   "rate": t.get("rate"), "ci_lo": t.get("ci_lo"), "ci_hi": t.get("ci_hi"),
                                   "frontier_rate": t.get("frontier_rate"), "target": t.get("target"), "slm_share_lo": p["shares"]["_lo"],
                                   "slm_share": p["shares"][""], "slm_share_hi": p["shares"]["_hi"]}
            scenario: dict[str, float] = {}
            for k in ("_lo", "", "_hi"):
                share = p["shares"][k]
                load = _slm_load(share, cascade)
                if isinstance(opt, SelfHostOption):
                    g = r.gpu_seconds(p["tin"], p["tout"]) * load
                    slm = fixed[k] * g / gpu_total[k] if gpu_total[k] > 0 else 0.0
                else:
                    slm = (p["tin"] * p_in + p["tout"] * p_out) / 1e6 * load
                plan = p["now"] * (1 - share) + slm
                scenario[k] = p["now"] - plan
                scenario_totals[k] += scenario[k]
                if k == "":
                    out["slm_cost_per_month"] = slm
                    out["plan_cost_per_month"] = plan
            if isinstance(opt, SelfHostOption):  # at capacity prices: what the whole type would add
                out["slm_cost_if_all_per_month"] = (r.gpu_seconds(p["tin"], p["tout"]) / 3600.0 / r.utilisation
                                                    * r.usd_per_hour)  # type: ignore[operator]
            else:
                out["slm_cost_if_all_per_month"] = (p["tin"] * p_in + p["tout"] * p_out) / 1e6
            # for self-hosting the ends need not bracket the point (cost is a step function of the routed volume):
            # the interval is the range over the three scenarios (SLM share lo / point / hi)
            out["savings_per_month"] = scenario[""]
            out["savings_lo"], out["savings_hi"] = min(scenario.values()), max(scenario.values())
            mine.append(out)
        rows.extend(mine)
        total = {"option": opt.name, "kind": opt.kind,
                 "cost_now_per_month": sum(x["cost_now_per_month"] for x in mine),
                 "plan_cost_per_month": sum(x["plan_cost_per_month"] for x in mine),
                 "savings_lo": min(scenario_totals.values()), "savings_per_month": scenario_totals[""],
                 "savings_hi": max(scenario_totals.values()),
                 "worth_it": scenario_totals[""] > 0,
                 "routed_tokens_per_month": sum((x["input_tokens_per_month"] + x["output_tokens_per_month"])
                                                * _slm_load(x["slm_share"], cascade) for x in mine),
                 "replicas": replicas.get("") if isinstance(opt, SelfHostOption) else None,
                 "fixed_cost_per_month": fixed.get("") if isinstance(opt, SelfHostOption) else None}
        totals.append(total)
    return rows, totals


def _slm_load(share: float, cascade: bool) -> float:
    """Share of a task type's calls the SLM answers: all of them in a cascade (once routed), else the kept share."""
    return (1.0 if share > 0 else 0.0) if cascade else share



def estimate_savings(suitability: pl.DataFrame, calls: pl.DataFrame, *,
                     options: Sequence[Option] = (ApiOption("gpt-4o-mini"), SelfHostOption("L4")),
                     cascade: bool = False, candidate: str | None = None, months: float | None = None,
                     retarget: Callable[[float], pl.DataFrame] | None = None,
                     targets: Sequence[float] = (0.90, 0.99)) -> SavingsResult:
    """Savings per task type and option (see the module docstring).

    Args:
        suitability: the table of :func:`slmprofile.suitability.assess_suitability` (when it has several
            candidates, each task type uses its best one unless ``candidate`` names one).
        calls: the logs joined with ``cluster_id`` (token counts, costs, timestamps).
        options: :class:`ApiOption` / :class:`SelfHostOption` to compare.
        cascade: the SLM answers every call of a routed type first (escalated calls pay for both).
        months: the logs' span in months (default: from the timestamps).
        retarget: ``target -> suitability table`` for the target rows of the sensitivity table.
        targets: quality targets tried with ``retarget``.
    """
    import polars as pl

    if not options:
        raise ValueError("give at least one option (ApiOption / SelfHostOption)")
    for opt in options:
        if isinstance(opt, SelfHostOption):
            opt.check()
        else:
            opt.prices()  # fail early on unknown models
    from ..cluster.stats import months_spanned

    months = months or months_spanned(calls)
    vols = task_volumes(calls, months=months)
    types = join_volumes(_best_candidate(suitability, candidate), vols)
    rows, totals = evaluate_options(types, options, cascade=cascade)
    table = pl.DataFrame(rows, schema=_schema(SAVINGS_COLUMNS, rows)).sort(
        ["option", "savings_per_month", "cluster_id"], descending=[False, True, False],
        maintain_order=True)  # ties: same order every run
    option_rows = [{**t, "assumptions": json.dumps(o.assumptions())} for t, o in zip(totals, options)]
    options_frame = pl.DataFrame(option_rows, schema=_schema(SAVINGS_OPTION_COLUMNS, option_rows))
    be = break_even_volumes(types, options, cascade=cascade)
    break_even = pl.DataFrame(be, infer_schema_length=None) if be else pl.DataFrame(
        schema={"option": pl.Utf8, "against": pl.Utf8, "break_even_tokens_per_day": pl.Float64})
    sens: list[dict[str, Any]] = []

    def add(parameter: str, value: float, tot: list[dict[str, Any]]) -> None:
        for t in tot:
            sens.append({"parameter": parameter, "value": value, "option": t["option"],
                         "savings_lo": t["savings_lo"], "savings_per_month": t["savings_per_month"],
                         "savings_hi": t["savings_hi"], "replicas": t["replicas"]})

    for parameter, values in (("slm price (x)", (0.5, 1.0, 2.0)), ("volume (x)", (0.1, 1.0, 10.0)),
                              ("throughput (x)", (0.5, 1.0, 2.0))):
        for v in values:
            scale = _Scale(price=v if "price" in parameter else 1.0, volume=v if "volume" in parameter else 1.0,
                           throughput=v if "throughput" in parameter else 1.0)
            add(parameter, v, evaluate_options(types, options, cascade=cascade, scale=scale)[1])
    if retarget is not None:
        base_target = float(suitability["target"][0]) if "target" in suitability.columns and suitability.height \
            else None
        for target in sorted(set(targets) | ({base_target} if base_target else set())):
            other = join_volumes(_best_candidate(retarget(target), candidate), vols)
            add("target", target, evaluate_options(other, options, cascade=cascade)[1])
    sensitivity = pl.DataFrame(sens, infer_schema_length=None)
    return SavingsResult(table=table, options=options_frame, break_even=break_even, sensitivity=sensitivity,
                         months=months)


def _schema(columns: Sequence[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns of a table this stage writes (its contract in :mod:`slmprofile.schema`) with their dtypes."""
    import polars as pl

    fixed = {"cluster_id": pl.Int64, "replicas": pl.Int64, "worth_it": pl.Boolean}
    text = {"task_type", "verdict", "candidate", "option", "kind", "assumptions"}
    return {c: fixed.get(c, pl.Utf8 if c in text else pl.Float64) for c in columns}


def join_volumes(suitability: pl.DataFrame, volumes: pl.DataFrame) -> pl.DataFrame:
    """The suitability verdicts and shares of each task type beside its call and token volumes."""
    import polars as pl

    keep = [c for c in ("cluster_id", "task_type", "verdict", "candidate", "rate", "ci_lo", "ci_hi", "slm_share",
                        "slm_share_lo", "slm_share_hi", "frontier_rate", "target") if c in suitability.columns]
    missing = {"slm_share", "slm_share_lo", "slm_share_hi"} - set(keep)
    if missing:
        raise ValueError(f"the suitability table lacks {', '.join(sorted(missing))}")
    return volumes.join(suitability.select(keep).with_columns(pl.col("cluster_id").cast(pl.Int64)), on="cluster_id",
                        how="left").with_columns(
        [pl.col(c).fill_null(0.0) for c in ("slm_share", "slm_share_lo", "slm_share_hi")])
