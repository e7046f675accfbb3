"""Request idempotency: ``x-trigger-request-idempotency-key`` and the batch idempotency key,
as the service applies them (API.md §4.5).

The service's code (``apps/webapp/app/utils/requestIdempotency.server.ts``,
``requestIdempotencyKey.ts``, ``services/requestIdempotency.server.ts``) has three callers:

* ``POST /api/v1/tasks/{taskId}/trigger`` (type ``trigger``): the header's key scoped to
  ``[key, envId, taskId]``; a hit answers 200 ``{"id": <run>, "isCached": false}``;
* ``POST /api/v2/tasks/batch`` (``batch-trigger``): scope ``[key, envId, ...sorted unique task
  ids]``; a hit answers 200 ``{"id", "runCount"}``;
* ``POST /api/v3/batches`` (``create-batch``): the body's ``idempotencyKey`` scoped to
  ``[key, envId, ...sorted unique taskIdentifiers]``; a hit answers 200
  ``{"id", "runCount", "isCached": true}``.

A scoped key is the SHA-256 hex of ``JSON.stringify([key, ...scope])``; entries live 24 h; a hit
gets fresh ``x-trigger-jwt`` headers; every other route ignores the header.

Two modes (``Emulator(request_idempotency=...)``):

``"service"`` (the default)
    What that code does at the API.md reference commit: ``RequestIdempotencyService`` only
    checks and saves keys that are v4 UUIDs (``#validateRequestId``), and the routes hand it the
    *scoped* key, a SHA-256 hex, which never is one. So nothing is remembered: a repeated
    trigger starts another run, a repeated v2 batch creates another batch, and a repeated v3
    batch ``idempotencyKey`` reaches the batch table's unique (environment, idempotencyKey)
    index: 422 ``Cannot create batch as it has already been created with the same idempotency
    key.`` A client must not count on the header.

``"documented"``
    What API.md §4.5 describes (and the trigger route did before its key was scoped): the three
    routes replay as listed above. Opt in to test a client against a service that deduplicates.

Concurrent repeats are serialised by the caller (handlers hold ``world.lock``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["MODES", "TTL_MS", "Mode", "RequestIdempotency", "scope_key"]

TTL_MS = 86_400_000  # REQUEST_IDEMPOTENCY_TTL_IN_MS
Mode = Literal["service", "documented"]
MODES: tuple[Mode, ...] = ("service", "documented")
RequestType = Literal["trigger", "batch-trigger", "create-batch"]


def scope_key(key: str | None, scope: Sequence[str]) -> str | None:
    """``scopeRequestIdempotencyKey``: SHA-256 hex of ``JSON.stringify([key, ...scope])``."""
    if not key:
        return None
    text = json.dumps([key, *scope], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _is_v4_uuid(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    # uuid.UUID also takes 32 bare hex digits and braces; the JS validator wants the dashed form.
    return parsed.version == 4 and str(parsed) == value.lower()


@dataclass
class _Entry:
    entity_id: str
    expires_at_ms: int


class RequestIdempotency:
    def __init__(self, mode: Mode = "service", ttl_ms: int = TTL_MS) -> None:
        if mode not in MODES:
            raise ValueError(f"request_idempotency must be one of {MODES}, not {mode!r}")
        self.mode: Mode = mode
        self.ttl_ms = ttl_ms
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}

    def _usable(self, key: str | None) -> bool:
        # The service validates the key it is given (the scoped one) as a v4 UUID.
        return bool(key) and (self.mode == "documented" or _is_v4_uuid(key or ""))

    def check(self, kind: RequestType, key: str | None, now_ms: int) -> str | None:
        """The id of the entity a remembered request created, or ``None``."""
        if not self._usable(key):
            return None
        with self._lock:
            entry = self._entries.get((kind, key or ""))
            if entry is None:
                return None
            if entry.expires_at_ms <= now_ms:
                del self._entries[(kind, key or "")]
                return None
            return entry.entity_id

    def save(self, kind: RequestType, key: str | None, entity_id: str, now_ms: int) -> None:
        if not self._usable(key):
            return
        with self._lock:
            self._entries[(kind, key or "")] = _Entry(entity_id, now_ms + self.ttl_ms)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
