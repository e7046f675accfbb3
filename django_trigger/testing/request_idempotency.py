"""Request idempotency: ``x-trigger-request-idempotency-key`` makes retries safe.

The official SDK sends one random key per logical call and repeats it on every retry. The real
server honours it on trigger and ``/api/v2/tasks/batch`` (scoped to key + environment + task ids,
remembered 24 h, API.md §4.5). The emulator applies it to **every** non-GET request that carries
the header, keyed by (key, method, path, credential): the first 2xx answer (status, body,
headers) is stored for 24 h of *emulated* time and replayed to any repeat without running the
handler again. Error answers are not stored, so a retry after a 5xx runs the handler.
Concurrent repeats wait for the first one to finish, then get its answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import Reply

__all__ = ["TTL_MS", "RequestIdempotencyCache"]

TTL_MS = 86_400_000  # REQUEST_IDEMPOTENCY_TTL_IN_MS

CacheKey = tuple[str, str, str, str]


@dataclass
class _Cached:
    reply: Reply
    expires_at_ms: int


class RequestIdempotencyCache:
    def __init__(self, ttl_ms: int = TTL_MS) -> None:
        self.ttl_ms = ttl_ms
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, _Cached] = {}
        self._key_locks: dict[CacheKey, threading.Lock] = {}

    @contextmanager
    def hold(self, key: CacheKey) -> Iterator[None]:
        """Serialise requests with the same key."""
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def get(self, key: CacheKey, now_ms: int) -> Reply | None:
        with self._lock:
            cached = self._entries.get(key)
            if cached is None:
                return None
            if cached.expires_at_ms <= now_ms:
                del self._entries[key]
                return None
            return cached.reply

    def put(self, key: CacheKey, reply: Reply, now_ms: int) -> None:
        stored = Reply(reply.status, reply.body, dict(reply.headers), reply.content_type)
        with self._lock:
            self._entries[key] = _Cached(stored, now_ms + self.ttl_ms)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
