"""The rate-limit middleware (API.md §2.2, §4.4): it runs before every ``/api`` route except a
whitelist, answers a missing ``Authorization`` header with a problem+json 401, and stamps
``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` (epoch ms) on every answer.

Buckets are the real ones (token bucket of 750, +250 every 10 s, keyed by environment for secret
keys; the deploy bucket of 1500/+500 for deployment and env-var bootstrap paths). They are only
*enforced* (429) when the emulator is built with ``enforce_rate_limits=True``; by default the
headers are computed but requests are never refused, so test suites do not trip over them.
``Faults.rate_limit_next`` produces the real 429 whenever a test needs one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .errors import Reply, problem

__all__ = ["RateLimiter", "is_rate_limited_path", "rate_limited_reply", "unauthorized_reply"]

WHITELIST = (
    re.compile(r"^/api/v1/timezones/?$"),
    re.compile(r"^/api/v1/deployments/current/?$"),
    re.compile(r"^/api/v[12]/packets/"),
    re.compile(r"^/api/v1/waitpoints/tokens/[^/]+/callback/"),
    re.compile(r"^/api/v1/authorization-code"),
    re.compile(r"^/api/v1/token"),
    re.compile(r"^/api/v1/usage/ingest"),
)
DEPLOY_PATHS = (
    re.compile(r"^/api/v\d+/deployments(?!/current)"),
    re.compile(r"^/api/v1/projects/[^/]+/(dev|staging|prod|preview)/?$"),
    re.compile(r"^/api/v1/projects/[^/]+/envvars/?$"),
    re.compile(r"^/api/v1/projects/[^/]+/envvars/[^/]+/import/?$"),
    re.compile(r"^/api/v1/projects/[^/]+/branches"),
)


@dataclass(frozen=True)
class BucketConfig:
    name: str
    max_tokens: int
    refill: int
    interval_ms: int


API_BUCKET = BucketConfig("api", 750, 250, 10_000)
DEPLOY_BUCKET = BucketConfig("deploy", 1500, 500, 10_000)


def is_rate_limited_path(path: str) -> bool:
    return path.startswith("/api") and not any(p.match(path) for p in WHITELIST)


def bucket_for(path: str) -> BucketConfig:
    return DEPLOY_BUCKET if any(p.match(path) for p in DEPLOY_PATHS) else API_BUCKET


def js_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 3))


def unauthorized_reply() -> Reply:
    return problem(401, "Unauthorized", "No authorization header provided")


def rate_limited_reply(limit: int, remaining: int, reset_ms: int, now_ms: int) -> Reply:
    seconds = max(0.0, (reset_ms - now_ms) / 1000)
    detail = (
        f"Rate limit exceeded {remaining}/{limit} requests remaining. "
        f"Retry in {js_number(seconds)} seconds."
    )
    return problem(
        429,
        "Rate Limit Exceeded",
        detail,
        headers=headers(limit, remaining, reset_ms),
        reset=reset_ms,
        limit=limit,
        remaining=remaining,
        secondsUntilReset=seconds,
    )


def headers(limit: int, remaining: int, reset_ms: int) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(max(0, remaining)),
        "x-ratelimit-reset": str(reset_ms),
    }


class _Bucket:
    def __init__(self, config: BucketConfig, now_ms: int) -> None:
        self.config = config
        self.tokens = config.max_tokens
        self.last_refill = now_ms

    def take(self, now_ms: int) -> tuple[bool, int, int]:
        cfg = self.config
        if now_ms > self.last_refill:
            intervals = (now_ms - self.last_refill) // cfg.interval_ms
            if intervals:
                self.tokens = min(cfg.max_tokens, self.tokens + intervals * cfg.refill)
                self.last_refill += intervals * cfg.interval_ms
        reset = self.last_refill + cfg.interval_ms
        if self.tokens <= 0:
            return False, 0, reset
        self.tokens -= 1
        return True, self.tokens, reset


class RateLimiter:
    def __init__(self, enforce: bool = False) -> None:
        self.enforce = enforce
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, key: str, path: str, now_ms: int) -> tuple[bool, dict[str, str], Reply | None]:
        """``(allowed, headers, reply_if_refused)`` for one request."""
        config = bucket_for(path)
        with self._lock:
            bucket = self._buckets.get((config.name, key))
            if bucket is None:
                bucket = self._buckets[(config.name, key)] = _Bucket(config, now_ms)
            ok, remaining, reset = bucket.take(now_ms)
        hdrs = headers(config.max_tokens, remaining, reset)
        if ok or not self.enforce:
            return True, hdrs, None
        return False, hdrs, rate_limited_reply(config.max_tokens, 0, reset, now_ms)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
