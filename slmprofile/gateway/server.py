"""Running the gateway: in the foreground for ``slmprofile serve``, or on a free localhost port in a background
thread for tests, benchmarks and notebooks."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .app import create_app
from .settings import GatewaySettings


def load_router(directory: str | Path, *, threshold: float | None = None, variant: str = "auto",
                threads: int | None = 1) -> Any:
    """The torch-free runtime router of ``directory`` (one onnxruntime thread by default: a web worker's share)."""
    from ..runtime import Router

    return Router.load(directory, threshold=threshold, variant=variant, threads=threads)  # type: ignore[arg-type]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    The protocol is named (``IPPROTO_TCP``, not the default 0) because asyncio turns Nagle's algorithm off
    (``TCP_NODELAY``) only on sockets that say they are TCP; without it every keep-alive answer, written as headers
    then body, waits ~40 ms for the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _config(app: Any, *, log_level: str = "warning") -> Any:
    import uvicorn

    return uvicorn.Config(app, lifespan="on", log_level=log_level, access_log=False, timeout_graceful_shutdown=30)


def serve(settings: GatewaySettings, router: Any, *, port: int = 8000,
          on_start: Callable[[str], None] | None = None, log_level: str = "warning") -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop accepting, finish running requests and shadow calls, then
    close the log). ``on_start`` gets the base URL once the socket is bound."""
    import uvicorn

    sock = bind(settings.host, port)
    host, bound = sock.getsockname()[:2]
    server = uvicorn.Server(_config(create_app(settings, router, settle_gc=True), log_level=log_level))
    if on_start is not None:
        shown = f"[{host}]" if ":" in host else host
        on_start(f"http://{shown}:{bound}/v1")
    server.run(sockets=[sock])


class BackgroundGateway:
    """The gateway on a free port of 127.0.0.1 in a daemon thread; a context manager.

    >>> with BackgroundGateway(settings, router) as gw:   # doctest: +SKIP
    ...     OpenAI(base_url=gw.base_url, api_key="...").chat.completions.create(...)
    """

    def __init__(self, settings: GatewaySettings, router: Any, *, transports: dict[str, Any] | None = None) -> None:
        import uvicorn

        self.app = create_app(settings, router, transports=transports)
        self.gateway = self.app.state.gateway
        self._server = uvicorn.Server(_config(self.app))
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 10.0) -> BackgroundGateway:
        self._sock = bind("127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="slmprofile-gateway", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > end or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop as on SIGTERM: finish running requests and shadow calls, close the log."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)

    @property
    def port(self) -> int:
        assert self._sock is not None, "start() first"
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def __enter__(self) -> BackgroundGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
