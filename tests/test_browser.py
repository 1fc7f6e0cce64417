"""The report in real headless Chromium: no console errors, no network requests, images decode, the page is not
blank and shows the headline.

Chromium is driven through the DevTools protocol (a websocket on 127.0.0.1), so console errors, uncaught
exceptions, failed loads and every request the page makes are seen for certain. The test skips when Chromium is
absent, unless ``SLMPROFILE_REQUIRE_BROWSER`` is set (CI sets it after installing Chromium), then it fails.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from test_report import build_sample_run

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    if os.environ.get("SLMPROFILE_REQUIRE_BROWSER"):
        pytest.fail("SLMPROFILE_REQUIRE_BROWSER is set but no Chromium was found "
                    "(apt-get install -y --no-install-recommends chromium)")
    pytest.skip("Chromium not installed (apt-get install -y --no-install-recommends chromium); "
                "set SLMPROFILE_REQUIRE_BROWSER=1 to make this a failure")


class Page:
    """One headless Chromium with one page, driven over the DevTools protocol; records console errors, uncaught
    exceptions, log errors and requested URLs."""

    def __init__(self, binary: str, profile: Path, *, width: int = 1280, height: int = 4000) -> None:
        import websocket

        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"Chromium did not start (exit code {self.proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self._id = 0
        self.events: list[dict[str, Any]] = []
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def evaluate(self, expression: str) -> Any:
        out = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(out["exceptionDetails"])
        return out["result"].get("value")

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data

    def problems(self) -> list[str]:
        """Console errors/warnings, uncaught exceptions, error log entries and failed loads seen so far."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{params['type']}: {[a.get('value') for a in params.get('args', [])]}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                out.append(f"exception: {details.get('text')} {details.get('exception', {}).get('description', '')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed":
                out.append(f"load failed: {params.get('errorText')}")
        return out

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    binary = _chromium()
    page = Page(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield page
    page.close()


def _pixel_spread(png: bytes) -> tuple[float, int]:
    """(standard deviation of grey levels, number of distinct grey levels) of a PNG."""
    import numpy as np
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)
    return float(grey.std()), int(len(np.unique(grey)))


def test_harness_catches_console_errors_and_external_requests(browser: Page, tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><p>x</p><img src='http://203.0.113.9/pixel.png'>"
                   "<script>console.error('boom'); missing_function();</script></body></html>")
    browser.events.clear()
    browser.open(bad.as_uri())
    problems = " | ".join(browser.problems())
    assert "boom" in problems and "missing_function" in problems
    assert any(u.startswith("http://203.0.113.9") for u in browser.requested())


def test_report_renders_in_chromium(browser: Page, tmp_path_factory: pytest.TempPathFactory, embedder,
                                    tmp_path: Path) -> None:
    from slmprofile.report import headline, load_run, write_report

    run = tmp_path / "run"
    shutil.copytree(build_sample_run(tmp_path_factory.mktemp("report_run"), embedder), run)
    report = write_report(run)
    browser.events.clear()
    browser.open(report.as_uri())
    assert browser.problems() == []
    assert [u for u in browser.requested() if not u.startswith(("file:", "data:"))] == []
    text = browser.evaluate("document.body.innerText")
    head = headline(load_run(run)).text
    assert head in text and "Task types" in text and "Data quality" in text
    assert browser.evaluate("document.getElementById('headline').innerText.trim()") == head
    images = browser.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 4 and all(ok and w > 300 and h > 200 for ok, w, h in images), images
    # the layout fits the window: nothing wider than the viewport
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot = tmp_path / "report.png"
    png = browser.screenshot(shot)
    assert shot.is_file() and len(png) > 20_000
    std, levels = _pixel_spread(png)
    assert std > 10 and levels > 50, (std, levels)
    assert html.escape(head, quote=False) in report.read_text(encoding="utf-8")
