"""The resumable response cache of :class:`slmprofile.llm.LLMRunner` (SQLite, one committed row per answer) and
the spend ledger kept in the same file."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

class ResponseCache:
    """Answers on disk (SQLite), one committed row per answer: a killed run loses nothing it had received.

    The same file keeps the **spend ledger** (table ``spend``): one row per attempt that went on the wire, written
    with the attempt's worst case before it is sent and updated to what it cost once it settles. :meth:`spent` sums
    it - an attempt still ``open`` (its process was killed with it on the wire) counts at its worst case - and a
    :class:`SpendCap` attached to the cache starts from that sum, so the budget survives resumes. Keeping it in the
    cache file (not beside it) means the answers and what they cost are copied, moved and deleted together.

    Opened on first use; safe to share between runners of one process (one writer at a time).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, request TEXT, "
                         "content TEXT, response TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, "
                         "cost_usd REAL, confidence REAL, finish_reason TEXT, created REAL)")
            conn.execute("CREATE TABLE IF NOT EXISTS spend (id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT, "
                         "request_key TEXT, state TEXT, tokens INTEGER, usd REAL, opened REAL, settled REAL)")
            self._conn = conn
        return self._conn

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cached answers by key (keys without one are absent)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            db = self._db()
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = db.execute("SELECT key, model, content, prompt_tokens, completion_tokens, cost_usd, confidence, "
                                  f"finish_reason FROM answers WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for row in rows:
                    out[row[0]] = dict(zip(("key", "model", "content", "prompt_tokens", "completion_tokens",
                                            "cost_usd", "confidence", "finish_reason"), row))
        return out

    def put(self, key: str, *, model: str, request: Any, content: str, response: Any, prompt_tokens: int | None,
            completion_tokens: int | None, cost_usd: float | None, confidence: float | None,
            finish_reason: str | None) -> None:
        """Store one answer and commit it to disk before returning."""
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (key, model, json.dumps(request, ensure_ascii=False), content, json.dumps(response, ensure_ascii=False),
                 prompt_tokens, completion_tokens, cost_usd, confidence, finish_reason, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    # -- the spend ledger ----------------------------------------------------------------------------------------
    @property
    def ledger_id(self) -> str:
        """Identifies the ledger (the cache file's resolved path): a cap counts each ledger once."""
        return str(self.path.resolve())

    def open_attempt(self, *, model: str, request_key: str, tokens: int, usd: float) -> int:
        """Record an attempt about to go on the wire at its worst case (committed); its ledger row id."""
        with self._lock:
            cur = self._db().execute("INSERT INTO spend (model, request_key, state, tokens, usd, opened) "
                                     "VALUES (?,?,'open',?,?,?)", (model, request_key, tokens, usd, time.time()))
            return int(cur.lastrowid)

    def settle_attempt(self, row: int, *, tokens: int, usd: float, state: str) -> None:
        """Record what attempt ``row`` cost (``state``: ``answered``, ``error`` - not billed - or ``unknown``)."""
        with self._lock:
            self._db().execute("UPDATE spend SET state=?, tokens=?, usd=?, settled=? WHERE id=?",
                               (state, tokens, usd, time.time(), row))

    def spent(self) -> tuple[int, float]:
        """(tokens, USD) spent by every attempt recorded in this cache; open attempts at their worst case."""
        with self._lock:
            tokens, usd = self._db().execute("SELECT COALESCE(SUM(tokens), 0), COALESCE(SUM(usd), 0.0) "
                                             "FROM spend").fetchone()
        return int(tokens), float(usd)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
