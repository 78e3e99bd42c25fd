"""A content-addressed cache of LLM answers, so a rerun of the same narration costs no request.

The key is the SHA-256 of a canonical JSON of what was asked: the endpoint kind (``chat`` /
``completions``), the model and the full request payload (messages or prompt, temperature, seed,
max_tokens, response_format …). Nothing secret is ever part of it: API keys travel in headers, never in
payloads. The value is the raw answer text and the server's token usage.

Storage is one SQLite file in WAL mode (stdlib :mod:`sqlite3`): many readers and one writer at a time
across threads and processes, with a busy timeout for the writer queue. Each ``put`` is its own
transaction, so a process killed mid-run leaves a consistent file holding every answer committed before.
Only answers that parsed are stored (the narrator's job), so a malformed answer is asked again next time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


def cache_key(kind: str, model: str, payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``(kind, model, payload)``."""
    canonical = json.dumps({"kind": kind, "model": model, "payload": payload}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer: the raw text and the usage the server reported when it was produced."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class NarrationCache:
    """SQLite answer cache; see the module docstring. Safe to share between threads of one process.

    Parameters
    ----------
    path : str or Path
        The database file (created with its folder when missing).
    timeout : float
        Seconds a writer waits for another process's write lock before giving up.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: crash-safe, fsync at checkpoints
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS answers ("
            " key TEXT PRIMARY KEY, text TEXT NOT NULL, prompt_tokens INTEGER NOT NULL DEFAULT 0,"
            " completion_tokens INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL) WITHOUT ROWID")
        if self._conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._hits = 0
        self._misses = 0
        self._puts = 0

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored under ``key``, or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT text, prompt_tokens, completion_tokens FROM answers WHERE key = ?", (key,)).fetchone()
            if row is None:
                self._misses += 1
                return None
            self._hits += 1
        return CachedAnswer(row[0], int(row[1]), int(row[2]))

    def put(self, key: str, text: str, usage: Mapping[str, Any] | None = None) -> None:
        """Store ``text`` (and its usage: ``prompt_tokens``, ``completion_tokens``) under ``key``."""
        usage = usage or {}
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO answers (key, text, prompt_tokens, completion_tokens, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                 time.time()))
            self._puts += 1

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM answers").fetchone()[0])

    @property
    def stats(self) -> dict[str, int]:
        """Lookups of this object: ``hits``, ``misses``, ``puts``; and ``entries`` in the file."""
        return {"hits": self._hits, "misses": self._misses, "puts": self._puts, "entries": len(self)}

    def close(self) -> None:
        """Close the connection (checkpointing the WAL). Idempotent."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass  # another process holds it; the next one checkpoints
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> NarrationCache:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NarrationCache({str(self.path)!r})"
