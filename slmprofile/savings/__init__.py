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

from .breakeven import break_even_volumes
from .estimate import estimate_savings, evaluate_options, join_volumes, task_volumes
from .options import GPU_TABLE, HOURS_PER_MONTH, SECONDS_PER_MONTH, ApiOption, GPUProfile, Option, SelfHostOption
from .result import SavingsResult, plot_cost_quality, plot_savings
from .run import savings_from_run

__all__ = ["GPU_TABLE", "HOURS_PER_MONTH", "SECONDS_PER_MONTH", "ApiOption", "GPUProfile", "Option", "SavingsResult",
           "SelfHostOption", "break_even_volumes", "estimate_savings", "evaluate_options", "join_volumes",
           "plot_cost_quality", "plot_savings", "savings_from_run", "task_volumes"]
