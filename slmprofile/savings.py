"""What moving suitable traffic to a small model saves, per task type, for API and self-hosted options.

**Now.** Each task type's cost per month is its logged (or, at ingest, priced) cost over the logs' time span
(:func:`slmprofile.cluster.stats.months_spanned`); calls without a price make it a lower bound
(``unpriced_share``). Token volumes per month come from the same calls.

**Plan.** A task type keeps ``slm_share`` of its calls on the SLM (from :mod:`slmprofile.suitability`: the share a
confidence threshold keeps while meeting the quality target) and escalates the rest to the frontier model, whose
cost per call is the type's current average. With ``cascade=True`` the SLM answers every call of a routed type first
(its confidence decides the escalation), so escalated calls pay for both.

**SLM cost, two ways.**

* :class:`ApiOption`: an API model priced per token with the offline ``genai-prices`` snapshot (or a stated price).
* :class:`SelfHostOption`: GPUs at a price per hour, always on. Replicas needed =
  ``ceil(GPU-seconds of the routed tokens / (seconds per month * utilisation))`` (at least ``min_replicas``), where
  a replica decodes ``tokens_per_second`` output tokens/s and prefills ``prefill_tokens_per_second`` input tokens/s
  (aggregate, with batching). Every figure is an assumption shown with the result (:data:`GPU_TABLE` holds the
  defaults; pass your measured tokens/s). The fixed monthly cost is allocated to task types by GPU-seconds.

**Uncertainty.** Savings come with an interval from the SLM share's interval (``slm_share_lo`` / ``slm_share_hi``):
the verdict's uncertainty and the escalation traffic it implies.

**Break-even.** Self-hosting has a fixed cost: below a volume an API small model is cheaper (typically below
~1M tokens a day with the default table; the exact crossover per option pair is in ``break_even``), above it
self-hosting wins. Break-even volumes are given against the frontier and against each API option.

**Sensitivity.** Savings again with the SLM price (x0.5, x2), the volume (x0.1, x10), the throughput (x0.5, x2) and,
when a ``retarget`` function is given, the quality target (0.90, 0.99) varied.

>>> result = savings_from_run("out/sample")                 # doctest: +SKIP
>>> result.table, result.options, result.break_even        # doctest: +SKIP
"""

from __future__ import annotations

import json

from .params import Interval, check_params
from .plotting import plain_text
from .rundir import RunDir
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from matplotlib.figure import Figure

HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0


@dataclass(frozen=True)
class GPUProfile:
    """A GPU type's stated defaults: on-demand price and aggregate throughput serving an 8B-class model."""

    name: str
    usd_per_hour: float
    tokens_per_second: float  # output (decode) tokens/s per replica, batched
    prefill_tokens_per_second: float  # input tokens/s per replica
    note: str


#: Defaults for self-hosting an 8B-class instruct model (Llama-3.1-8B / Qwen2.5-7B) in bf16 with continuous
#: batching (vLLM or TGI) at moderate concurrency. Prices are typical on-demand cloud list prices (2025, rounded);
#: throughputs are typical published aggregate figures for such a setup, not measured here. Replace them with your
#: own prices and measured tokens/s (``SelfHostOption(usd_per_hour=..., tokens_per_second=...)``).
GPU_TABLE: dict[str, GPUProfile] = {
    "L4": GPUProfile("L4", 0.80, 800.0, 8_000.0, "24 GB; fits an 8B model in bf16 with a small KV cache"),
    "A10G": GPUProfile("A10G", 1.01, 1_000.0, 10_000.0, "24 GB (AWS g5); like the L4, a little faster"),
    "L40S": GPUProfile("L40S", 1.90, 2_500.0, 25_000.0, "48 GB; room for a large batch"),
    "A100-80GB": GPUProfile("A100-80GB", 3.00, 4_000.0, 40_000.0, "80 GB HBM"),
    "H100-80GB": GPUProfile("H100-80GB", 4.50, 7_000.0, 70_000.0, "80 GB HBM3"),
}


@dataclass(frozen=True)
class ApiOption:
    """An API-served small model: ``model`` priced with ``genai-prices`` unless ``price`` (USD per million input,
    output tokens) is given."""

    model: str = "gpt-4o-mini"
    price: tuple[float, float] | None = None
    label: str | None = None

    kind = "api"

    @property
    def name(self) -> str:
        return self.label or f"api:{self.model}"

    def prices(self) -> tuple[float, float]:
        """(input, output) USD per million tokens; LookupError when the model has no known price."""
        from .llm import resolve_price

        found = resolve_price(self.model, self.price)
        if found is None:
            raise LookupError(f"no price known for {self.model!r} in genai-prices; pass ApiOption(price=(in, out))")
        return found

    def assumptions(self) -> dict[str, Any]:
        p_in, p_out = self.prices()
        return {"model": self.model, "usd_per_million_input": p_in, "usd_per_million_output": p_out,
                "price_source": "stated" if self.price else "genai-prices"}


@dataclass(frozen=True)
class SelfHostOption:
    """Self-hosted GPUs. Unset figures come from :data:`GPU_TABLE` for ``gpu``.

    Attributes:
        gpu: a :data:`GPU_TABLE` key (or any name when price and throughputs are all given).
        usd_per_hour: price of one replica per hour.
        tokens_per_second: output tokens/s one replica sustains (measured or stated).
        prefill_tokens_per_second: input tokens/s one replica sustains.
        utilisation: average share of capacity that real traffic can use (peaks, headroom); 0.3-0.7 typical.
        replicas: fixed replica count; None = as many as the volume needs (at least ``min_replicas``).
        min_replicas: replicas kept running (1 = no redundancy).
        hours_per_month: hours billed per replica and month (730 = always on).
    """

    gpu: str = "L4"
    usd_per_hour: float | None = None
    tokens_per_second: float | None = None
    prefill_tokens_per_second: float | None = None
    utilisation: float = 0.5
    replicas: int | None = None
    min_replicas: int = 1
    hours_per_month: float = HOURS_PER_MONTH
    label: str | None = None

    kind = "self_host"

    @property
    def name(self) -> str:
        return self.label or f"self-host:{self.gpu}"

    def resolved(self) -> SelfHostOption:
        """This option with every unset figure filled from :data:`GPU_TABLE` (KeyError naming the known GPUs)."""
        if None not in (self.usd_per_hour, self.tokens_per_second, self.prefill_tokens_per_second):
            return self
        if self.gpu not in GPU_TABLE:
            raise KeyError(f"unknown GPU {self.gpu!r}: choose one of {', '.join(GPU_TABLE)} or state usd_per_hour, "
                           "tokens_per_second and prefill_tokens_per_second")
        row = GPU_TABLE[self.gpu]
        return replace(self, usd_per_hour=self.usd_per_hour if self.usd_per_hour is not None else row.usd_per_hour,
                       tokens_per_second=self.tokens_per_second or row.tokens_per_second,
                       prefill_tokens_per_second=self.prefill_tokens_per_second or row.prefill_tokens_per_second)

    def check(self) -> None:
        r = self.resolved()
        positive = [Interval(float, 0, None, closed="neither")]
        check_params(r, {"utilisation": [Interval(float, 0, 1, closed="right")], "usd_per_hour": positive,
                         "tokens_per_second": positive, "prefill_tokens_per_second": positive,
                         "hours_per_month": positive})
        if r.replicas is not None and r.replicas < 1 or r.min_replicas < 0:
            raise ValueError("SelfHostOption replicas must be >= 1 and min_replicas >= 0")

    def gpu_seconds(self, input_tokens: float, output_tokens: float) -> float:
        """Replica-seconds to process the tokens."""
        r = self.resolved()
        return output_tokens / r.tokens_per_second + input_tokens / r.prefill_tokens_per_second

    def replicas_for(self, gpu_seconds_per_month: float) -> int:
        """Replicas needed for a monthly load (the fixed count when set)."""
        r = self.resolved()
        if r.replicas is not None:
            return r.replicas
        usable = r.hours_per_month * 3600.0 * r.utilisation
        return max(r.min_replicas, math.ceil(gpu_seconds_per_month / usable - 1e-9)) if gpu_seconds_per_month > 0 \
            else r.min_replicas

    def monthly_cost(self, replicas: int) -> float:
        r = self.resolved()
        return replicas * r.usd_per_hour * r.hours_per_month  # type: ignore[operator]

    def assumptions(self) -> dict[str, Any]:
        r = self.resolved()
        out = {k: v for k, v in asdict(r).items() if k != "label"}
        out["note"] = GPU_TABLE[r.gpu].note if r.gpu in GPU_TABLE else "stated"
        return out


Option = ApiOption | SelfHostOption


@dataclass
class SavingsResult:
    """What :func:`estimate_savings` found.

    ``table``: one row per task type and option. ``options``: one row per option (totals, replicas, assumptions).
    ``break_even``: per self-host option, the monthly and daily token volume where it starts to beat the frontier
    and each API option. ``sensitivity``: total savings per option as one input varies.
    """

    table: pl.DataFrame
    options: pl.DataFrame
    break_even: pl.DataFrame
    sensitivity: pl.DataFrame
    months: float
    files: dict[str, str] = field(default_factory=dict)

    def write(self, out_dir: str | Path, *, plots: bool = True) -> dict[str, str]:
        """Write ``savings.csv`` (+ ``.parquet``), ``savings_options.csv``, ``savings_break_even.csv``,
        ``savings_sensitivity.csv`` and, with ``plots``, ``plots/savings_by_task_type.png`` and
        ``plots/cost_vs_quality.png``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.table.write_parquet(RunDir(out).savings)
        self.table.write_csv(RunDir(out).savings_csv)
        self.options.write_csv(out / RunDir.SAVINGS_OPTIONS)
        self.break_even.write_csv(out / RunDir.SAVINGS_BREAK_EVEN)
        self.sensitivity.write_csv(out / RunDir.SAVINGS_SENSITIVITY)
        files = {"savings": str(RunDir(out).savings_csv), "savings_parquet": str(RunDir(out).savings),
                 "savings_options": str(out / RunDir.SAVINGS_OPTIONS),
                 "savings_break_even": str(out / RunDir.SAVINGS_BREAK_EVEN),
                 "savings_sensitivity": str(out / RunDir.SAVINGS_SENSITIVITY)}
        if plots and self.table.height:
            RunDir(out).plots.mkdir(exist_ok=True)
            for name, fig in (("savings_by_task_type", plot_savings(self)), ("cost_vs_quality", plot_cost_quality(self))):
                path = RunDir(out).plots / f"{name}.png"
                fig.savefig(path, dpi=110)
                files[name] = str(path)
        self.files = files
        return files


# -- inputs ----------------------------------------------------------------------------------------------------------

def task_volumes(calls: pl.DataFrame, *, months: float | None = None) -> pl.DataFrame:
    """Per ``cluster_id``: calls, input/output tokens and cost per month, cost per call and the unpriced share."""
    import polars as pl

    from .cluster.stats import months_spanned

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


def _break_even(types: pl.DataFrame, options: Sequence[Option], *, cascade: bool) -> list[dict[str, Any]]:
    """Per self-host option: the token volume at which it costs what the frontier / each API option costs for the
    routed traffic mix (None when it never does)."""
    import polars as pl

    share = pl.col("slm_share").fill_null(0.0)
    load = (share > 0).cast(pl.Float64) if cascade else share
    routed = types.filter(pl.col("cluster_id") != -1)
    tin = float((routed["input_tokens_per_month"] * routed.select(load).to_series()).sum())
    tout = float((routed["output_tokens_per_month"] * routed.select(load).to_series()).sum())
    frontier = float((routed["cost_now_per_month"] * routed.select(share).to_series()).sum())
    if tin + tout <= 0:  # nothing routed: use every routable call's mix
        tin, tout = float(routed["input_tokens_per_month"].sum()), float(routed["output_tokens_per_month"].sum())
        frontier = float(routed["cost_now_per_month"].sum())
    tokens = tin + tout
    out: list[dict[str, Any]] = []
    if tokens <= 0:
        return out
    per_token = {"frontier (now)": frontier / tokens}
    for opt in options:
        if isinstance(opt, ApiOption):
            p_in, p_out = opt.prices()
            per_token[opt.name] = (tin * p_in + tout * p_out) / 1e6 / tokens
    for opt in options:
        if not isinstance(opt, SelfHostOption):
            continue
        r = opt.resolved()
        gpu_per_token = r.gpu_seconds(tin, tout) / tokens
        capacity = r.hours_per_month * 3600.0 * r.utilisation / gpu_per_token  # tokens per replica and month
        unit = r.monthly_cost(1)
        floor = r.monthly_cost(max(r.min_replicas, 1) if r.replicas is None else r.replicas)
        for against, price in per_token.items():
            volume = None
            if price > 0 and price * capacity > unit:  # each further replica pays for itself
                volume = floor / price
            elif price > 0 and r.replicas is not None and floor / price <= capacity * r.replicas:
                volume = floor / price
            out.append({"option": opt.name, "against": against, "usd_per_million_tokens": price * 1e6,
                        "self_host_usd_per_million_at_capacity": unit / capacity * 1e6,
                        "break_even_tokens_per_month": volume,
                        "break_even_tokens_per_day": None if volume is None else volume / 30.44,
                        "current_routed_tokens_per_day": tokens / 30.44})
    return out


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
    from .cluster.stats import months_spanned

    months = months or months_spanned(calls)
    vols = task_volumes(calls, months=months)
    types = join_volumes(_best_candidate(suitability, candidate), vols)
    rows, totals = evaluate_options(types, options, cascade=cascade)
    table = pl.DataFrame(rows, infer_schema_length=None).sort(["option", "savings_per_month", "cluster_id"],
                                                              descending=[False, True, False],
                                                              maintain_order=True)  # ties: same order every run
    options_frame = pl.DataFrame([{**t, "assumptions": json.dumps(o.assumptions())} for t, o in zip(totals, options)],
                                 infer_schema_length=None)
    be = _break_even(types, options, cascade=cascade)
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


# -- plots -----------------------------------------------------------------------------------------------------------

def _best_option(result: SavingsResult) -> str:
    return str(result.options.sort("savings_per_month", descending=True)["option"][0])


@plain_text
def plot_savings(result: SavingsResult, *, option: str | None = None, top: int = 20) -> Figure:
    """Horizontal bars: monthly savings per task type for ``option`` (default: the one saving most), with the
    interval from the SLM share's uncertainty."""
    import numpy as np
    import polars as pl
    from matplotlib.figure import Figure

    option = option or _best_option(result)
    rows = (result.table.filter((pl.col("option") == option) & (pl.col("savings_hi").abs() > 0))
            .sort("savings_per_month", descending=True).head(top))
    fig = Figure(figsize=(10, max(3.0, 0.35 * rows.height + 1.5)), layout="constrained")
    ax = fig.subplots()
    if rows.is_empty():
        ax.text(0.5, 0.5, "no task type is routed to the SLM at this target", ha="center", va="center")
        ax.set_axis_off()
        return fig
    y = np.arange(rows.height)[::-1]
    point = rows["savings_per_month"].to_numpy()
    lo, hi = rows["savings_lo"].to_numpy(), rows["savings_hi"].to_numpy()
    colours = {"slm": "#2a9d8f", "undecided": "#e9c46a", "frontier": "#e76f51"}
    ax.barh(y, point, color=[colours.get(v, "#999999") for v in rows["verdict"].fill_null("?").to_list()])
    ax.errorbar(point, y, xerr=[np.maximum(point - lo, 0), np.maximum(hi - point, 0)], fmt="none", ecolor="#333333",
                capsize=3, lw=1)
    ax.set_yticks(y, [str(t)[:48] for t in rows["task_type"].fill_null("?").to_list()], fontsize=8)
    ax.set_xlabel("savings, USD per month (bar: SLM share by point estimate; whiskers: its interval)")
    ax.set_title(f"Savings by task type with {option} (colour: verdict slm / undecided / frontier)")
    ax.axvline(0, color="#333333", lw=0.8)
    return fig


@plain_text
def plot_cost_quality(result: SavingsResult, *, option: str | None = None) -> Figure:
    """Monthly cost against expected success rate as task types move to the SLM one by one, in order of dollars
    saved per success point lost (the cost-quality frontier), for ``option``; "now" and the plan marked.

    A call on the frontier succeeds at the type's ``frontier_rate`` (1 when unknown: agreement with itself); a call
    moved to the SLM at the type's ``rate``; in the plan, a partial SLM share succeeds at the target (the share is
    chosen to reach it).
    """
    import numpy as np
    import polars as pl
    from matplotlib.figure import Figure

    option = option or _best_option(result)
    rows = result.table.filter((pl.col("option") == option) & (pl.col("cluster_id") != -1))
    calls = rows["calls_per_month"].to_numpy()
    total = max(float(calls.sum()), 1e-9)
    now = rows["cost_now_per_month"].to_numpy()
    slm_all = rows["slm_cost_if_all_per_month"].to_numpy()
    q_front = rows["frontier_rate"].fill_null(1.0).to_numpy() if "frontier_rate" in rows.columns else np.ones(len(calls))
    q_slm = rows["rate"].fill_null(0.0).to_numpy()
    gain = now - slm_all
    loss = np.maximum(q_front - q_slm, 1e-6) * calls
    order = np.argsort(-(gain / loss))
    cost, quality = [float(now.sum())], [float((q_front * calls).sum() / total)]
    for i in order:
        cost.append(cost[-1] - gain[i])
        quality.append(quality[-1] - (q_front[i] - q_slm[i]) * calls[i] / total)
    share = rows["slm_share"].to_numpy()
    target = rows["target"].fill_null(0.0).to_numpy() if "target" in rows.columns else q_slm
    q_kept = np.where(share >= 1.0, q_slm, target)
    plan_quality = float(((share * q_kept + (1 - share) * q_front) * calls).sum() / total)
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(cost, quality, "-", color="#264653", lw=1.5, label="task types moved to the SLM, best $/quality first")
    ax.scatter([cost[0]], [quality[0]], color="#e76f51", zorder=3, label="now (all on the frontier)")
    ax.scatter([cost[-1]], [quality[-1]], color="#999999", zorder=3, label="everything on the SLM")
    ax.scatter([float(rows["plan_cost_per_month"].sum())], [plan_quality], color="#2a9d8f", zorder=3,
               label="plan (SLM shares at the target)")
    ax.set_xlabel(f"cost, USD per month ({option})")
    ax.set_ylabel("expected success rate of all calls")
    ax.set_title("Cost vs quality")
    ax.legend(loc="lower right", fontsize=8)
    return fig


# -- the run-directory function --------------------------------------------------------------------------------------

def savings_from_run(run_dir: str | Path, *, options: Sequence[Option] = (ApiOption("gpt-4o-mini"),
                                                                          SelfHostOption("L4")),
                     cascade: bool = False, out_dir: str | Path | None = None, plots: bool = True,
                     outcomes: str | Path | Sequence[str | Path] | None = None,
                     **suitability_settings: Any) -> SavingsResult:
    """Savings of a run directory: reads ``suitability.parquet`` (written by ``slmprofile suitability``; computed
    now with ``suitability_settings`` when absent) and the run's logs and clusters; writes the results to
    ``out_dir`` (default ``run_dir``)."""
    import polars as pl

    from .suitability import UNUSED_BY_ESTIMATES, assess_suitability, load_calls

    run = Path(run_dir)
    stored = RunDir(run).suitability_info
    use_stored = RunDir(run).suitability.is_file() and not suitability_settings and outcomes is None
    if use_stored and stored.is_file():  # the same evidence as `slmprofile suitability` used
        meta = json.loads(stored.read_text(encoding="utf-8"))
        outcomes = meta.get("outcomes") or None
        suitability_settings = {k: v for k, v in meta.get("settings", {}).items() if k != "target"}
    # the stored table needs no prompt text (assessing anew reads it for the language of each type)
    skip = UNUSED_BY_ESTIMATES + (("prompt_text",) if use_stored else ())
    calls = load_calls(run, outcomes=outcomes, skip_columns=skip)
    if use_stored:
        suitability = pl.read_parquet(RunDir(run).suitability)
    else:
        suitability = assess_suitability(run, logs=calls, write=False, **suitability_settings)
    settings = {k: v for k, v in suitability_settings.items() if k != "target"}

    def retarget(target: float) -> pl.DataFrame:
        return assess_suitability(run, logs=calls, write=False, target=target, **settings)

    result = estimate_savings(suitability, calls, options=options, cascade=cascade, retarget=retarget)
    result.write(out_dir if out_dir is not None else run, plots=plots)
    return result
