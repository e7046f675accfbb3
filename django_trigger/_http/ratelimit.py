"""The API's rate-limit reset, shared by every client that uses one token (many web workers).

A 429 carries ``x-ratelimit-reset`` (epoch milliseconds). The client that sees it writes it to
a ``RateLimitStore`` (``TriggerClient(rate_limit_store=...)``; in Django the ``RATE_LIMIT_CACHE``
setting names a cache), keyed by a hash of the token, never the token. Before sending, a client
that finds a reset in the future waits for it, or raises ``RateLimitError`` at once when the
wait is longer than the longest server-requested wait it sleeps through (60 s). A store that
fails is logged and ignored: sharing the limit must never break a call.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from django_trigger.exceptions import RateLimitError

__all__ = ["RateLimitStore", "SharedRateLimit"]

logger = logging.getLogger("django_trigger.http")


class RateLimitStore(Protocol):
    """Where clients share when the rate limit of a token resets (epoch milliseconds)."""

    def get_reset(self, key: str) -> int | None: ...

    def set_reset(self, key: str, reset_ms: int, ttl: float) -> None:
        """Remember ``reset_ms`` under ``key`` for ``ttl`` seconds (past the reset)."""


class SharedRateLimit:
    def __init__(
        self,
        store: RateLimitStore,
        access_token: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        digest = hashlib.sha256(access_token.encode()).hexdigest()[:32]
        self.key = f"django_trigger:ratelimit:{digest}"
        self.clock = clock

    def __repr__(self) -> str:
        return f"<SharedRateLimit {self.key}>"

    def note(self, reset_ms: int) -> None:
        """A 429 said the limit resets at ``reset_ms``: tell the other clients."""
        ttl = reset_ms / 1000 - self.clock()
        if ttl <= 0:
            return
        try:
            self.store.set_reset(self.key, reset_ms, ttl + 1)
        except Exception:  # a cache outage must not break the call
            logger.warning("Could not share the rate-limit reset", exc_info=True)

    def wait_before(self, max_wait: float, method: str, path: str) -> float:
        """Before sending: how long to wait for a reset another client saw (0: none ahead);
        the transport sleeps (or awaits) it."""
        try:
            reset_ms = self.store.get_reset(self.key)
        except Exception:
            logger.warning("Could not read the shared rate-limit reset", exc_info=True)
            return 0.0
        if reset_ms is None:
            return 0.0
        wait = reset_ms / 1000 - self.clock()
        if wait <= 0:
            return 0.0
        if wait > max_wait:
            raise RateLimitError(
                f"rate limited: the API's limit for this token resets in {wait:.1f} s (seen by "
                f"another client), longer than the {max_wait:.1f} s this call may wait",
                status=429,
                headers={"x-ratelimit-reset": str(reset_ms)},
                method=method,
                path=path,
            )
        logger.info(
            "Waiting %.3fs for the shared rate-limit reset before %s %s", wait, method, path
        )
        return wait
