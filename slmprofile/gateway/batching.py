"""Routing decisions for concurrent requests, batched without waiting.

One task takes the prompts that are queued, runs the router once on all of them, and hands each request its row.
A slow router (the MiniLM one: milliseconds a prompt) runs in a worker thread, since onnxruntime releases the GIL
and the event loop keeps serving; a request that arrives meanwhile waits for the next batch, which then holds every
request that came in: at low load each prompt is routed alone and at once, under load the batches grow with the
load and the router's per-call cost (tokenising, one graph run) is paid once per batch instead of once per request.
Nothing is held back to fill a batch.

A fast router (the static one, tens of microseconds) runs on the event loop itself: handing it to a thread costs
more than the call, and under load the worker and the loop pass the GIL back and forth (up to Python's 5 ms switch
interval each way), which is what set the gateway's p99 in ``benchmarks/gateway.py``. :meth:`RouteBatcher.calibrate`
times the router once at start and picks.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Routed:
    """One prompt's routing: ``p_slm``, the decision (``slm`` / ``frontier``) and its reason."""

    p_slm: float
    decision: str
    reason: str


class RouteBatcher:
    """Batches :meth:`route` calls made concurrently on one event loop into calls of ``router.route``.

    Args:
        router: anything with ``route(texts) -> result`` whose ``p_slm``, ``decisions`` and ``reasons`` are
            sequences aligned with ``texts`` (:class:`slmprofile.runtime.Router`).
        max_batch: prompts per router call at most.
    """

    def __init__(self, router: Any, *, max_batch: int = 64, inline_below_s: float = 0.0005) -> None:
        if max_batch < 1:
            raise ValueError(f"The 'max_batch' parameter must be >= 1; got {max_batch!r} instead.")
        self.router = router
        self.max_batch = max_batch
        self.inline_below_s = inline_below_s
        #: run the router on the event loop (True) or in a worker thread (False, until :meth:`calibrate` says)
        self.inline = False
        self.call_s: float | None = None
        self.batches = 0
        #: prompts the router failed on alone (sent to the frontier model with reason ``router_error``)
        self.errors = 0
        self.routed = 0
        self._queue: list[tuple[str, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    def calibrate(self, texts: list[str] | None = None, rounds: int = 5) -> float:
        """Time one router call on one prompt (median of ``rounds`` after a warm-up call) and run the router inline
        when it is under ``inline_below_s``. Returns the median in seconds."""
        sample = texts or ["Classify this support ticket: I was charged twice for my order last week, please refund "
                           "one of the two payments."]
        self.router.route(sample[:1])
        times = []
        for i in range(rounds):
            start = time.perf_counter()
            self.router.route([sample[i % len(sample)]])
            times.append(time.perf_counter() - start)
        self.call_s = statistics.median(times)
        self.inline = self.call_s < self.inline_below_s
        return self.call_s

    async def route(self, text: str) -> Routed:
        """This prompt's routing, from the next router call."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((text, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            try:
                rows = await self._route([text for text, _ in batch])
            except Exception as exc:  # noqa: BLE001 - the batch failed: find the prompt that breaks the router
                logger.warning("router call failed on a batch of %d (%s: %s); routing them one by one",
                               len(batch), type(exc).__name__, exc)
                rows = []
                for text, _ in batch:
                    try:
                        rows += await self._route([text])
                    except Exception as one:  # noqa: BLE001 - this prompt alone breaks it: keep it on the frontier
                        self.errors += 1
                        logger.warning("router failed on one prompt (%s: %s): sent to the frontier model",
                                       type(one).__name__, one)
                        rows.append(Routed(0.0, "frontier", "router_error"))
            self.batches += 1
            self.routed += len(batch)
            for (_, future), row in zip(batch, rows):
                if not future.done():  # the request may have been cancelled (client gone) meanwhile
                    future.set_result(row)

    async def _route(self, texts: list[str]) -> list[Routed]:
        from starlette.concurrency import run_in_threadpool

        # a lone surrogate (valid in JSON, not in UTF-8) would make the tokenizer raise for the whole batch
        texts = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
        result = self.router.route(texts) if self.inline else await run_in_threadpool(self.router.route, texts)
        rows = [Routed(float(result.p_slm[i]), str(result.decisions[i]), str(result.reasons[i]))
                for i in range(len(texts))]
        return rows
