"""The commands that decide per task type: suitability (can a small model take it) and savings (what it saves)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from ..rundir import RunDir
from ..terminal import fail, make_console
from .options import ApiModelOpt, BaseUrlOpt, CandidateHelp, GpuOpt, OutcomesOpt, parse_prices, savings_options
from .tables import print_suitability


def suitability(
    run_dir: Annotated[Path, typer.Argument(help="Output directory of `slmprofile run` (logs, clusters, task types).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write (default: RUN_DIR).")] = None,
    outcomes: OutcomesOpt = None,
    target: Annotated[float, typer.Option("--target", help="Success/agreement rate the SLM must reach.")] = 0.95,
    metric: Annotated[Literal["success", "parity"], typer.Option("--metric", help="success (SLM right) or parity (SLM right or frontier "
                                                          "wrong too).")] = "success",
    prior_strength: Annotated[float, typer.Option("--prior-strength", help="Pseudo-calls of the heuristic prior.")] = 4.0,
    calibrate: Annotated[bool, typer.Option("--calibrate/--no-calibrate", help="Calibrate the prior across task "
                                                                               "types (empirical Bayes).")] = True,
    candidate: Annotated[Optional[list[str]], typer.Option("--candidate", help=CandidateHelp + " (repeat for "
                                                                                "several).")] = None,
    base_url: BaseUrlOpt = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env", help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
    max_usd: Annotated[Optional[float], typer.Option("--max-usd", help="Hard spend cap in USD for the shadow run.")] = None,
    max_tokens_total: Annotated[Optional[int], typer.Option("--max-total-tokens", help="Hard cap on tokens.")] = None,
    price: Annotated[Optional[str], typer.Option("--price", help="IN,OUT USD per million tokens of the candidates "
                                                                 "(default: genai-prices).")] = None,
    per_type: Annotated[int, typer.Option("--per-type", help="Shadow calls per task type at most.")] = 200,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Shadow calls per task type per round.")] = 20,
    concurrency: Annotated[int, typer.Option("--concurrency")] = 8,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request attempt.")] = 60.0,
    redact_send: Annotated[bool, typer.Option("--redact-send/--no-redact-send", help="Redact prompts before they "
                                                                                    "leave the machine.")] = True,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="Answer cache (default RUN_DIR/llm_cache.sqlite).")] = None,
    logprobs: Annotated[bool, typer.Option("--logprobs", help="Ask the candidates for token logprobs: their "
                                                             "confidence then sets the share kept on the SLM.")] = False,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="Judge agreement with this model (same "
                                                                             "--base-url) instead of the archetype's "
                                                                             "measure.")] = None,
) -> None:
    """Per task type: can a small model take it? Rate with a Wilson interval, verdict, SLM share; writes
    suitability.csv/.parquet (and shadow_results.parquet after a shadow run).

    Example: slmprofile suitability out/run --outcomes evals.csv --target 0.95
    """

    import polars as pl

    from ..errors import SlmprofileError
    from ..suitability import assess_suitability, load_calls, write_table

    from ..outputs import claim_file_in, record_outputs

    out_dir = out or run_dir
    shadow = None
    written = list(RunDir.SUITABILITY_FILES)
    try:
        if not run_dir.is_dir():
            raise SlmprofileError(f"{run_dir}: no such run directory")
        claim_file_in(out_dir, written)
        if candidate:
            from ..llm import LLMRunner, SpendCap
            from ..shadow import ShadowRun

            calls = load_calls(run_dir, outcomes=outcomes)
            types = pl.read_parquet(RunDir(run_dir).task_types) if RunDir(run_dir).task_types.is_file() else None
            cap = SpendCap(max_usd=max_usd, max_tokens=max_tokens_total)
            prices = parse_prices(price, "--price")
            def runner(model: str) -> LLMRunner:
                return LLMRunner(model, base_url=base_url, api_key=os.environ.get(api_key_env),
                                 concurrency=concurrency, timeout=timeout, cache=cache or RunDir(out_dir).llm_cache,
                                 spend_cap=cap, price=prices, redact=redact_send, progress=True,  # type: ignore[arg-type]
                                 logprobs=logprobs and model in candidate)

            measures = None
            if judge_model:
                from ..agreement import LLMJudge

                measures = {"*": LLMJudge(runner=runner(judge_model))}
            run = ShadowRun([runner(m) for m in candidate], target=target, batch_size=batch_size,
                            max_per_type=per_type, measures=measures).fit(calls, types)
            out_dir.mkdir(parents=True, exist_ok=True)
            run.results_.write_parquet(RunDir(out_dir).shadow_results)
            write_table(run.summary_, out_dir, "shadow_summary")
            shadow = run.results_
            make_console().print(f"shadow run: {run.results_.height:,} answers; spent ${cap.spent_usd:.4f} in all: "
                             f"{cap.describe()} (worst case counted for unknown outcomes)")
        table = assess_suitability(run_dir, outcomes=outcomes, shadow=shadow, out_dir=out_dir, target=target,
                                   metric=metric, prior_strength=prior_strength, calibrate=calibrate)
    except (SlmprofileError, ValueError, FileNotFoundError, LookupError) as exc:
        fail(str(exc))
    record_outputs(out_dir, [out_dir / name for name in written])
    print_suitability(table)
    make_console().print(f"wrote {RunDir(out_dir).suitability_csv} and {RunDir.SUITABILITY}")



def savings(
    run_dir: Annotated[Path, typer.Argument(help="Output directory of `slmprofile run` (after `slmprofile suitability`).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write (default: RUN_DIR).")] = None,
    api_model: ApiModelOpt = None,
    gpu: GpuOpt = None,
    gpu_price: Annotated[Optional[float], typer.Option("--gpu-price", help="USD per GPU hour (overrides the table).")] = None,
    tokens_per_second: Annotated[Optional[float], typer.Option("--tokens-per-second", help="Measured output tokens/s "
                                                                                          "per replica.")] = None,
    utilisation: Annotated[float, typer.Option("--utilisation", help="Usable share of GPU capacity.")] = 0.5,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="Fixed replica count (default: as needed).")] = None,
    cascade: Annotated[bool, typer.Option("--cascade", help="The SLM answers every routed call first; escalated calls "
                                                            "pay for both.")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots")] = True,
) -> None:
    """Savings per task type for API and self-hosted small models, with intervals, break-even volumes and a
    sensitivity table; writes savings*.csv and plots.

    Example: slmprofile savings out/run --api-model gpt-4o-mini --gpu L4
    """
    from ..errors import SlmprofileError
    from ..savings import savings_from_run

    from ..outputs import claim_file_in, record_outputs

    options = savings_options(api_model, gpu, gpu_price=gpu_price, tokens_per_second=tokens_per_second,
                               utilisation=utilisation, replicas=replicas)
    try:
        if not run_dir.is_dir():
            raise SlmprofileError(f"{run_dir}: no such run directory")
        claim_file_in(out or run_dir, [*RunDir.SAVINGS_FILES, f"{RunDir.PLOTS}/savings_by_task_type.png",
                                       f"{RunDir.PLOTS}/cost_vs_quality.png"])
        result = savings_from_run(run_dir, options=options, cascade=cascade, out_dir=out, plots=plots)
        record_outputs(out or run_dir, result.files.values())
        from ..candidates import plan_candidates_from_run

        self_host = next((o for o in options if o.kind == "self_host"), None)
        plan = plan_candidates_from_run(run_dir, out_dir=out, self_host=self_host, cascade=cascade)
        if plan is not None:
            record_outputs(out or run_dir, [RunDir(out or run_dir).root / RunDir.CANDIDATES])
    except (SlmprofileError, ValueError, FileNotFoundError, LookupError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    from rich.table import Table

    console = make_console()
    view = Table("option", "now $/month", "plan $/month", "savings $/month [interval]", "replicas")
    for row in result.options.iter_rows(named=True):
        view.add_row(row["option"], f"{row['cost_now_per_month']:,.2f}", f"{row['plan_cost_per_month']:,.2f}",
                     f"{row['savings_per_month']:,.2f} [{row['savings_lo']:,.2f}, {row['savings_hi']:,.2f}]",
                     "" if row["replicas"] is None else str(row["replicas"]))
    console.print(view)
    for row in result.break_even.iter_rows(named=True):
        day = row.get("break_even_tokens_per_day")
        console.print(f"{row['option']} beats {row['against']} above "
                      + ("never (costs more per token at capacity)" if day is None else f"{day:,.0f} tokens/day")
                      + f" (routed now: {row['current_routed_tokens_per_day']:,.0f} tokens/day)")
    if plan is not None:
        picks = Table("task type", "cheapest candidate meeting the target", "plan $/month", "savings $/month")
        for row in plan.filter(plan["chosen"]).head(20).iter_rows(named=True):
            picks.add_row(str(row["task_type"]), f"{row['candidate']} ({row['priced_as']})",
                          f"{row['plan_cost_per_month']:,.2f}", f"{row['savings_per_month']:,.2f}")
        console.print(picks)
        console.print(f"wrote candidates: {RunDir(out or run_dir).root / RunDir.CANDIDATES}")
    for name, path in result.files.items():
        console.print(f"wrote {name}: {path}")

