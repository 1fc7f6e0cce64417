"""The SLM options compared: an API model priced per token, or self-hosted GPUs (with the stated GPU defaults)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..params import Interval, check_params

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
        from ..llm import resolve_price

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
