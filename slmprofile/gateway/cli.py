"""``slmprofile serve`` and ``slmprofile serve-report``: a thin typer layer over :mod:`slmprofile.gateway`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from ..terminal import fail, make_console


def serve_cmd(
    router_dir: Annotated[Path, typer.Argument(help="An exported router directory (router.json + ONNX).")],
    frontier_base_url: Annotated[str, typer.Option("--frontier-base-url", help="OpenAI-compatible API of the "
                                                   "frontier model, e.g. https://api.example.com/v1.")],
    slm_base_url: Annotated[str, typer.Option("--slm-base-url", help="OpenAI-compatible API of the small model, "
                                              "e.g. http://localhost:8001/v1.")],
    mode: Annotated[Literal["shadow", "route"], typer.Option(
        "--mode", help="shadow: the frontier model answers everything, a share also goes to the small model on the "
                       "side; route: the router decides, with escalation to the frontier model.")] = "shadow",
    port: Annotated[int, typer.Option("--port", help="TCP port (0: a free one, printed at start).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but loopback needs an API key.")
                    ] = "127.0.0.1",
    log_dir: Annotated[Optional[Path], typer.Option("--log-dir", help="Append calls.jsonl and shadow.jsonl here "
                                                    "(readable by `slmprofile ingest` and `serve-report`).")] = None,
    shadow_rate: Annotated[float, typer.Option("--shadow-rate", min=0.0, max=1.0,
                                               help="Share of requests also sent to the small model (shadow).")] = 1.0,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="p_slm cut (default: the router's).")
                         ] = None,
    frontier_model: Annotated[Optional[str], typer.Option("--frontier-model", help="Model name sent to the frontier "
                                                          "upstream (default: the client's).")] = None,
    slm_model: Annotated[Optional[str], typer.Option("--slm-model", help="Model name sent to the small model's "
                                                     "upstream (default: the client's).")] = None,
    frontier_key_env: Annotated[str, typer.Option("--frontier-key-env", help="Environment variable with the frontier "
                                                  "upstream's key.")] = "OPENAI_API_KEY",
    slm_key_env: Annotated[str, typer.Option("--slm-key-env", help="Environment variable with the small model "
                                             "upstream's key.")] = "SLM_API_KEY",
    api_key: Annotated[Optional[str], typer.Option("--api-key", help="Key clients must send (default: "
                                                   "$SLMPROFILE_API_KEY; none on loopback).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per frontier attempt.")] = 60.0,
    slm_timeout: Annotated[float, typer.Option("--slm-timeout", min=0.1, help="Seconds per small-model attempt "
                                               "(route mode escalates after it).")] = 20.0,
    retries: Annotated[int, typer.Option("--retries", min=0, max=10, help="Frontier retries on 429/5xx/timeouts.")
                       ] = 2,
    slm_retries: Annotated[int, typer.Option("--slm-retries", min=0, max=10, help="Small-model retries before "
                                             "escalating (route) or giving up (shadow).")] = 0,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Log messages and answers unredacted.")] = False,
    max_body: Annotated[int, typer.Option("--max-body-bytes", min=1024, help="Larger requests get HTTP 413.")
                        ] = 4 * 1024 * 1024,
    variant: Annotated[Literal["auto", "fp32", "int8"], typer.Option("--variant", help="Router graph to load.")
                       ] = "auto",
) -> None:
    """Serve the router as an OpenAI-compatible gateway (POST /v1/chat/completions, GET /v1/models, /health,
    /metrics): shadow mode first, then route.

    Example: slmprofile serve out/router --frontier-base-url URL --slm-base-url URL --log-dir logs
    """
    from ..deps import require
    from ..errors import SlmprofileError
    from .server import load_router, serve
    from .settings import GatewaySettings, Upstream

    try:
        for module, package in (("starlette", None), ("uvicorn", None), ("httpx", None),
                                ("prometheus_client", "prometheus-client")):
            require(module, extra="serve", package=package, purpose="the gateway")
        settings = GatewaySettings(
            frontier=Upstream(frontier_base_url, api_key_env=frontier_key_env, model=frontier_model,
                              timeout_s=timeout, retries=retries),
            slm=Upstream(slm_base_url, api_key_env=slm_key_env, model=slm_model, timeout_s=slm_timeout,
                         retries=slm_retries),
            mode=mode, shadow_rate=shadow_rate, log_dir=log_dir, redact=not no_redact,
            api_key=api_key or os.environ.get("SLMPROFILE_API_KEY") or None, max_body_bytes=max_body, host=host,
        ).check()
        router = load_router(router_dir, threshold=threshold, variant=variant)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc))
    console = make_console()

    def started(url: str) -> None:
        logs = f", logging to {log_dir}" if log_dir else ", not logging calls (--log-dir DIR keeps them)"
        console.print(f"slmprofile gateway ({mode} mode, threshold {router.threshold:g}) on {url}{logs}")
        if log_dir is None and mode == "shadow":
            console.print("note: shadow mode without --log-dir measures no agreement: serve-report needs the "
                          "call log", style="yellow")

    try:
        serve(settings, router, port=port, on_start=started)
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


def serve_report_cmd(
    log_dir: Annotated[Path, typer.Argument(help="The gateway's --log-dir.")],
    measure: Annotated[Literal["auto", "label", "exact", "json_fields", "final_number", "embedding", "judge"], typer.Option("--measure", help="Agreement measure: auto (per task type), label, exact, "
                                         "json_fields, final_number, embedding or judge.")] = "auto",
    target: Annotated[float, typer.Option("--target", min=0.5, max=0.999, help="Agreement a task type needs, at the "
                                          "interval's lower end, to be routed.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    outcomes_out: Annotated[Optional[Path], typer.Option(
        "--outcomes-out", help="Also write the log as an outcome table (CSV: id, slm_correct, ...): shadow "
                               "agreement and failed small-model calls, to join with --outcomes and retrain the "
                               "router (router train --from --add).")] = None,
) -> None:
    """Agreement of the shadowed small model with the frontier model per task type, with intervals, and which
    types to switch from shadow to route.

    Example: slmprofile serve-report gateway-logs --target 0.95 --json
    """
    import json

    from ..agreement import MEASURES
    from ..errors import SlmprofileError
    from .summary import summarise

    if measure != "auto" and measure not in MEASURES:
        fail(f"unknown --measure {measure!r}; choose auto or one of {', '.join(sorted(MEASURES))}")
    try:
        summary = summarise(log_dir, measure=measure, target=target)
        if outcomes_out is not None:
            from ..outputs import claim_file_in, record_outputs
            from .summary import gateway_outcomes

            claim_file_in(outcomes_out.parent, [outcomes_out.name])
            gateway_outcomes(log_dir, measure=measure).write_csv(outcomes_out)
            record_outputs(outcomes_out.parent, [outcomes_out])
    except SlmprofileError as exc:
        fail(str(exc))
    console = make_console()
    if as_json:
        console.print(json.dumps(summary.to_dict(), indent=2), soft_wrap=True)
        return
    _print_summary(console, summary)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _interval(value: tuple[float, float] | None) -> str:
    return "-" if value is None else f"{100 * value[0]:.0f}-{100 * value[1]:.0f}%"


def _print_summary(console, summary) -> None:  # noqa: ANN001 - rich console, GatewaySummary
    from rich.table import Table

    served = ", ".join(f"{k} {v}" for k, v in sorted(summary.served_by.items())) or "none"
    escalated = ", ".join(f"{k} {v}" for k, v in sorted(summary.escalations.items())) or "none"
    console.print(f"{summary.calls} calls (served by: {served}); escalations: {escalated}; errors: {summary.errors}; "
                  f"shadow calls: {summary.shadow_calls} ({summary.shadow_failures} failed)")
    if summary.unreadable_lines:
        console.print(f"{summary.unreadable_lines} unreadable line(s) skipped (a torn last line after a kill)")
    table = Table(title=f"Shadow agreement per task type (switch to route at >= {100 * summary.target:.0f}%, "
                        "interval's lower end)")
    for name in ("task type", "calls", "shadowed", "measure", "agree", "routed", "agree (routed)", "interval",
                 "recommendation"):
        table.add_column(name, overflow="fold")
    for row in summary.task_types:
        advice = row.recommendation
        if row.more_calls_needed:
            advice += f" (~{row.more_calls_needed} more calls)"
        table.add_row(row.task_type, str(row.calls), str(row.shadowed), row.measure, _pct(row.agree_rate),
                      str(row.routed), _pct(row.routed_agree_rate), _interval(row.routed_interval), advice)
    console.print(table)
