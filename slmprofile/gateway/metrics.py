"""Prometheus metrics of the gateway, in a registry of its own (two gateways in one process don't share counts)."""

from __future__ import annotations

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)


class Metrics:
    """Counters and histograms served at ``GET /metrics``."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("slmprofile_gateway_requests", "Chat requests answered, by mode, router decision, "
                                "who served them and HTTP status.", ["mode", "decision", "served_by", "status"],
                                registry=self.registry)
        self.rejected = Counter("slmprofile_gateway_rejected", "Requests refused before routing, by reason.",
                                ["reason"], registry=self.registry)
        self.escalations = Counter("slmprofile_gateway_escalations", "Requests routed to the small model and "
                                   "answered by the frontier model instead, by reason.", ["reason"],
                                   registry=self.registry)
        self.shadow = Counter("slmprofile_gateway_shadow", "Shadow calls to the small model, by outcome.",
                              ["outcome"], registry=self.registry)
        self.shadow_in_flight = Gauge("slmprofile_gateway_shadow_in_flight", "Shadow calls running now.",
                                      registry=self.registry)
        self.upstream_seconds = Histogram("slmprofile_gateway_upstream_seconds", "Upstream call time (to the full "
                                          "answer, or to the first byte of a stream).", ["upstream"],
                                          buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.route_seconds = Histogram("slmprofile_gateway_route_seconds", "Time from a prompt queued for the "
                                       "router to its decision (batched router calls included).",
                                       buckets=_OVERHEAD_BUCKETS, registry=self.registry)
        self.overhead_seconds = Histogram("slmprofile_gateway_overhead_seconds", "Time a request spends in the "
                                          "gateway outside upstream calls (reading, routing, answering).",
                                          buckets=_OVERHEAD_BUCKETS, registry=self.registry)
        self.p_slm = Histogram("slmprofile_gateway_p_slm", "The router's p_slm of each request.",
                               buckets=tuple(i / 10 for i in range(1, 11)), registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
