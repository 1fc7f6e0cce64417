"""What the gateway does: its upstreams, its mode and its limits, checked once where it starts."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..params import Interval, Options, Rule, check_params

MODES = ("shadow", "route")


def _url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@dataclass
class Upstream:
    """One OpenAI-compatible upstream.

    Attributes:
        base_url: its ``.../v1`` address.
        api_key_env: the environment variable holding its key (read when the gateway starts; never logged).
        model: the model name sent to it (None: the client's ``model`` field, unchanged).
        timeout_s: how long one attempt may take, connect to last byte.
        retries: further attempts after a 429 / 5xx / timeout / dropped connection.
        max_connections: open connections kept to it at most (requests beyond wait for one).
    """

    base_url: str
    api_key_env: str = "OPENAI_API_KEY"
    model: str | None = None
    timeout_s: float = 60.0
    retries: int = 2
    max_connections: int = 100

    _parameter_constraints = {
        "base_url": [Rule(_url, "an http:// or https:// address")],
        "api_key_env": [str],
        "model": [None, str],
        "timeout_s": [Interval(float, 0, None, closed="neither")],
        "retries": [Interval(int, 0, 10)],
        "max_connections": [Interval(int, 1, None)],
    }

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None


@dataclass
class GatewaySettings:
    """Settings of :func:`slmprofile.gateway.create_app`.

    Attributes:
        frontier: the frontier model's upstream (answers everything in shadow mode).
        slm: the small model's upstream.
        mode: ``shadow`` (the frontier answers; a share of requests also goes to the small model on the side) or
            ``route`` (requests the router sends to the small model go there, with escalation to the frontier).
        shadow_rate: share of requests also sent to the small model in shadow mode.
        max_shadow_in_flight: shadow calls running at once; more are skipped (counted), never queued.
        log_dir: where ``calls.jsonl`` and ``shadow.jsonl`` are appended (None: no call log).
        redact: redact PII in logged messages and answers.
        api_key: the key clients must send as ``Authorization: Bearer ...`` (None: no authentication, which is
            refused on anything but a loopback address).
        max_body_bytes: larger request bodies get HTTP 413.
        host: the address the server binds (checked against ``api_key``).
        seed: seeds the shadow sampling (None: not reproducible).
    """

    frontier: Upstream
    slm: Upstream
    mode: str = "shadow"
    shadow_rate: float = 1.0
    max_shadow_in_flight: int = 64
    log_dir: Path | None = None
    redact: bool = True
    api_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 4 * 1024 * 1024
    host: str = "127.0.0.1"
    seed: int | None = None

    _parameter_constraints = {
        "mode": [Options(*MODES)],
        "shadow_rate": [Interval(float, 0, 1)],
        "max_shadow_in_flight": [Interval(int, 0, None)],
        "redact": [bool],
        "api_key": [None, Rule(lambda v: isinstance(v, str) and len(v) >= 8, "a string of at least 8 characters")],
        "max_body_bytes": [Interval(int, 1024, None)],
        "host": [str],
        "seed": [None, Interval(int, 0, None)],
    }

    def check(self) -> GatewaySettings:
        """Check every setting (one ValueError naming the first bad one); return self."""
        check_params(self)
        check_params(self.frontier)
        check_params(self.slm)
        if self.api_key is None and not is_loopback(self.host):
            raise ValueError(f"refusing to serve on {self.host} without authentication: set SLMPROFILE_API_KEY or "
                             "pass --api-key (only a loopback address may go without)")
        return self


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
