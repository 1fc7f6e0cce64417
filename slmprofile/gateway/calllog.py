"""The gateway's call log: append-only JSON lines, redacted and written off the event loop.

``calls.jsonl`` holds one line per answered request in the OpenAI chat request/response format that
``slmprofile ingest`` reads (``request``, ``response``, ``timestamp``, ``latency_ms``) plus ``routing`` (mode,
decision, ``p_slm``, threshold, who served it, escalation and its reason) and ``task_type`` when the client named one.
``shadow.jsonl`` holds the small model's answers to shadowed requests, keyed by the same ``id``.

Each line is written with one ``write`` to a file opened for appending, so a line is either whole or, after a
kill in the middle of a write, a torn last line that :func:`read_log` skips and counts.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path
from typing import Any, Iterator

CALLS_FILE = "calls.jsonl"
SHADOW_FILE = "shadow.jsonl"
_STOP = object()


def redact_record(record: dict) -> dict:
    """``record`` with PII redacted in the request's messages and the answer's choices (other fields unchanged)."""
    from ..redact import redact_json

    out = dict(record)
    request = out.get("request")
    if isinstance(request, dict) and "messages" in request:
        out["request"] = {**request, "messages": redact_json(request["messages"])}
    response = out.get("response")
    if isinstance(response, dict) and "choices" in response:
        out["response"] = {**response, "choices": redact_json(response["choices"])}
    return out


class CallLog:
    """Appends records to ``calls.jsonl`` / ``shadow.jsonl`` in ``directory`` from one writer thread.

    :meth:`write` never blocks on the disk or on redaction; :meth:`close` writes what is queued and stops.
    ``written`` counts the lines written per file.
    """

    def __init__(self, directory: str | Path, *, redact: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.redact = redact
        self.written = {CALLS_FILE: 0, SHADOW_FILE: 0}
        self._fds = {name: os.open(self.directory / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                     for name in self.written}
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="slmprofile-call-log", daemon=True)
        self._thread.start()

    def write(self, name: str, record: dict) -> None:
        """Queue ``record`` for the file ``name`` (:data:`CALLS_FILE` or :data:`SHADOW_FILE`)."""
        self._queue.put((name, record))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            name, record = item
            try:
                if self.redact:
                    record = redact_record(record)
                line = json.dumps(record, ensure_ascii=False, default=str).encode("utf-8") + b"\n"
                os.write(self._fds[name], line)
                self.written[name] += 1
            except (OSError, TypeError, ValueError) as exc:  # a full disk must not take the gateway down
                import logging

                logging.getLogger(__name__).error("could not write a %s line: %s", name, exc)

    def close(self) -> None:
        """Write everything queued, then close the files."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}


def read_log(path: str | Path) -> tuple[list[dict], int]:
    """The records of a gateway log file and how many lines were unreadable (a torn last line after a kill)."""
    records: list[dict] = []
    bad = 0
    for line in _lines(Path(path)):
        try:
            value = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            bad += 1
    return records, bad


def _lines(path: Path) -> Iterator[str]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield line


def task_type_of(record: dict[str, Any]) -> str | None:
    """The task type a logged call was tagged with (None when untagged)."""
    value = record.get("task_type")
    return value if isinstance(value, str) and value else None
