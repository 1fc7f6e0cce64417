"""Break-even volumes: the token volume at which a self-host option costs what the frontier or an API option costs
for the routed traffic mix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from .options import ApiOption, Option, SelfHostOption

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


def break_even_volumes(types: pl.DataFrame, options: Sequence[Option], *, cascade: bool) -> list[dict[str, Any]]:
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
