"""``TriggerRetry``: the official SDK's retry rules as a urllib3 ``Retry``.

Mounted on the client's ``HTTPAdapter``, so retries happen inside urllib3 with the same
prepared request, hence the same ``x-trigger-request-idempotency-key`` on every attempt: that
is what makes retrying POSTs safe. The rules (API.md §4.2–4.3), checked on every non-2xx in
this order:

1. ``x-should-retry: true`` → back off; ``x-should-retry: false`` → fail now.
2. 408, 409 → back off.
3. 429 → wait until ``x-ratelimit-reset`` (epoch ms) plus up to 1 s of jitter; if that header is
   missing or already past, honour ``Retry-After``; else back off.
4. ≥ 500 → back off (honouring ``Retry-After`` when the server sends one).
5. anything else → fail now.

Backoff after ``n`` requests: ``min(max_delay, r * min_delay * factor ** (n - 1))``.
Every retry also fits the call's budget (budget.py): no wait ends past the call's deadline,
and 404s marked ``x-should-retry: true`` are retried only within ``not_found_retry_budget``.

Which failures are retried also depends on the call's ``RetrySafety`` (declared per resource
method, see ``resources/_base.py`` and the docs/client.md policy table). A failure that proves the
request was not processed is always retried: the connection could not be made (refused, DNS,
connect timeout, TLS handshake), or the answer says so (429 from the rate limiter that runs
before the route, 408, ``x-should-retry: true``). A failure after the request was sent (read
timeout, connection dropped, 409, 5xx) is retried only when doing the call twice is safe
(``RetrySafety.retries_after_sending``); otherwise urllib3 hands the failure back and the
transport raises ``OutcomeUnknownError``.

One deliberate difference from the SDK: a server-requested wait longer than
``max_server_wait`` (60 s) is not slept through; the error is returned to the caller at once
(a ``RateLimitError`` tells how long to wait), so a web request never hangs for minutes.

urllib3 traps handled here: ``is_retry()`` never sees headers, so it only says "maybe" and
``increment()`` decides with the response in hand; ``new()`` rebuilds from a fixed argument
list, so it is extended to carry the policy; ``raise_on_status`` is off so that the final
response reaches the error mapper instead of becoming a ``RetryError``.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry
from urllib3.util.util import reraise

from django_trigger.options import RetryPolicy

from .budget import CallBudget, current_budget

__all__ = [
    "MAX_SERVER_WAIT",
    "Decision",
    "Failure",
    "RetryRules",
    "RetrySafety",
    "TriggerRetry",
    "error_after_sending",
    "status_after_processing",
]

logger = logging.getLogger("django_trigger.http")

MAX_SERVER_WAIT = 60.0
_BACKOFF_STATUSES = frozenset({408, 409})


class RetrySafety(enum.Enum):
    """What happens if the server processes a call twice: decides whether a call is retried
    after a failure that may have come after the server acted on it."""

    #: A read (GET): no side effect.
    READ = "read"
    #: Doing it twice leaves the same state as once (a PUT-style set, an upsert, a cancel).
    IDEMPOTENT = "idempotent"
    #: The server recognises the repeat by a key in the request (a run idempotency key, a
    #: schedule's deduplication key, a batch idempotency key) and does not act twice.
    DEDUPLICATED = "deduplicated"
    #: The resource checks what a retry's answer means ("value not found" after a lost delete
    #: answer = done) or reads the state back before reporting success.
    VERIFIED = "verified"
    #: Doing it twice does the work twice (a replay, a trigger without a key): retried only
    #: when the request provably never reached the server; otherwise OutcomeUnknownError.
    UNSAFE = "unsafe"

    @property
    def retries_after_sending(self) -> bool:
        return self is not RetrySafety.UNSAFE


def error_after_sending(error: BaseException | None) -> bool:
    """Whether a urllib3 error may have come after the request reached the server: a read
    timeout, or the connection dropped once the request was sent (``ProtocolError`` wraps
    ``RemoteDisconnected``/resets). Connect failures (refused, DNS, connect timeout) and TLS
    handshake errors come before anything is sent."""
    if isinstance(error, ConnectTimeoutError):  # NewConnectionError (refused, DNS) included
        return False
    return isinstance(error, (ReadTimeoutError, ProtocolError))


def status_after_processing(status: int, headers: Any) -> bool:
    """Whether an error answer may come after the route acted: 409 and 5xx, unless the
    server says ``x-should-retry: true`` (its word that retrying is safe). 408 and 429 are
    answered before the route runs."""
    if (headers.get("x-should-retry") or "").strip().lower() == "true":
        return False
    return status == 409 or status >= 500


class Failure:
    """One failed attempt as either transport sees it: an error answer (``status`` and
    ``headers``), or a broken exchange (``error``, its name, and ``after_sending``: whether it
    may have come after the request reached the server, see ``error_after_sending``).

    Failure and Decision are plain classes, not dataclasses: importing the client does not
    import ``dataclasses`` (issue #14). Neither is changed after it is made."""

    __slots__ = ("after_sending", "error", "headers", "status")

    def __init__(
        self,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
        after_sending: bool = False,
    ) -> None:
        self.status = status
        self.headers: Mapping[str, str] = {} if headers is None else headers
        self.error = error
        self.after_sending = after_sending

    @classmethod
    def answer(cls, status: int, headers: Mapping[str, str]) -> Failure:
        return cls(status=status, headers=headers)

    @classmethod
    def broken(cls, error: str, *, after_sending: bool) -> Failure:
        return cls(error=error, after_sending=after_sending)


class Decision:
    """What to do after a failed attempt: wait ``delay`` seconds and send again, or stop
    (``delay`` is ``None``) and hand the failure to the caller. ``unsafe``: stopped because
    the failure may have come after the server acted and the call is not safe to repeat."""

    __slots__ = ("delay", "reason", "unsafe")

    def __init__(self, delay: float | None, reason: str, unsafe: bool = False) -> None:
        self.delay = delay
        self.reason = reason
        self.unsafe = unsafe

    @property
    def retry(self) -> bool:
        return self.delay is not None


class RetryRules:
    """The retry decision of both transports (urllib3's ``TriggerRetry`` and the httpx one):
    one call's policy and ``RetrySafety``, asked after each failed attempt."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        safety: RetrySafety = RetrySafety.READ,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        max_server_wait: float = MAX_SERVER_WAIT,
        on_rate_limited: Callable[[int], None] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.safety = safety
        self.rng = rng or random.Random()  # jitter, not cryptography
        self.clock = clock
        self.max_server_wait = max_server_wait
        self.on_rate_limited = on_rate_limited  # told every x-ratelimit-reset of a 429

    def decide(
        self,
        failure: Failure,
        attempt: int,
        budget: CallBudget | None = None,
        *,
        before_retry: Callable[[], None] | None = None,
    ) -> Decision:
        """After request number ``attempt`` failed: retry (after how long) or stop. The
        call's ``budget`` bounds the wait (deadline, 404 budget) and counts the retry.
        ``before_retry`` runs once a retried answer's wait is known (the sync transport
        reads away its body there); if that used up the time, the retry is dropped."""
        if failure.status is not None:
            delay, reason = self._delay_for_answer(failure, attempt)
            if delay is not None and not self._safe_after(failure):
                return Decision(
                    None, f"{failure.status} after sending; not safe to repeat", unsafe=True
                )
        else:
            if not self._safe_after(failure):
                return Decision(
                    None, f"{failure.error} after sending; not safe to repeat", unsafe=True
                )
            delay, reason = self._backoff(attempt), failure.error or "error"
        if delay is None:
            return Decision(None, reason)
        if attempt >= self.policy.max_attempts:
            return Decision(None, f"{reason}; {attempt} attempts made")
        if budget is None:
            return Decision(delay, reason)
        not_found = failure.status == 404
        allowed, why = budget.retry_delay(delay, not_found=not_found)
        if allowed is not None and failure.status is not None and before_retry is not None:
            before_retry()
            if budget.remaining() <= allowed:
                budget.deadline_reached = True
                allowed, why = None, "the deadline passed while reading the error body"
        if allowed is None:
            return Decision(None, why)
        budget.record_retry(allowed, not_found=not_found)
        return Decision(allowed, reason)

    # -- the rules -------------------------------------------------------------------------

    def _safe_after(self, failure: Failure) -> bool:
        """Whether this failure may be retried given the call's ``RetrySafety``."""
        if self.safety.retries_after_sending:
            return True
        if failure.status is not None:
            return not status_after_processing(failure.status, failure.headers)
        return not failure.after_sending

    def _delay_for_answer(self, failure: Failure, attempt: int) -> tuple[float | None, str]:
        status = failure.status
        assert status is not None
        headers = failure.headers
        should_retry = (headers.get("x-should-retry") or "").strip().lower()
        if should_retry == "false":
            return None, f"{status}, x-should-retry: false"
        if should_retry == "true":
            return self._backoff(attempt), f"{status}, x-should-retry: true"
        if status in _BACKOFF_STATUSES:
            return self._backoff(attempt), str(status)
        if status == 429:
            self._share_rate_limit(headers)
            wait = self._rate_limit_wait(headers)
            if wait is None:
                wait = self._retry_after(headers)
            if wait is None:
                return self._backoff(attempt), "429"
            if wait > self.max_server_wait:
                return None, f"429, server asks to wait {wait:.1f}s"
            return wait, "429, rate limited"
        if status >= 500:
            wait = self._retry_after(headers)
            if wait is not None and wait > self.max_server_wait:
                return None, f"{status}, server asks to wait {wait:.1f}s"
            return (wait if wait is not None else self._backoff(attempt)), str(status)
        return None, str(status)

    def _share_rate_limit(self, headers: Mapping[str, str]) -> None:
        try:
            reset_ms = int((headers.get("x-ratelimit-reset") or "").strip())
        except ValueError:
            return
        if self.on_rate_limited is not None:
            self.on_rate_limited(reset_ms)

    def _backoff(self, attempt: int) -> float:
        return self.policy.delay(attempt, self.rng.random())

    def _rate_limit_wait(self, headers: Mapping[str, str]) -> float | None:
        """``x-ratelimit-reset`` (epoch ms) - now + random 0–999 ms, when in the future."""
        try:
            reset_ms = int((headers.get("x-ratelimit-reset") or "").strip())
        except ValueError:
            return None
        wait_ms = reset_ms - self.clock() * 1000 + math.floor(self.rng.random() * 1000)
        return wait_ms / 1000 if wait_ms > 0 else None

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        """``retry-after-ms``, else ``Retry-After`` as seconds or an HTTP date."""
        value = headers.get("retry-after-ms")
        if value:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
        value = (headers.get("retry-after") or "").strip()
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - self.clock())


class TriggerRetry(Retry):
    """``RetryRules`` mounted in urllib3: the same prepared request (so the same idempotency
    key) is re-sent by urllib3 itself."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        safety: RetrySafety = RetrySafety.READ,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        max_server_wait: float = MAX_SERVER_WAIT,
        next_delay: float = 0.0,
        on_rate_limited: Callable[[int], None] | None = None,
        rules: RetryRules | None = None,
        **kwargs: Any,
    ) -> None:
        self.rules = rules or RetryRules(
            policy,
            safety=safety,
            rng=rng,
            clock=clock,
            max_server_wait=max_server_wait,
            on_rate_limited=on_rate_limited,
        )
        self.next_delay = next_delay
        kwargs.setdefault("total", self.rules.policy.max_attempts - 1)
        kwargs.setdefault("redirect", 0)
        kwargs.setdefault("allowed_methods", None)  # POST too: every call has one idempotency key
        kwargs.setdefault("raise_on_status", False)
        kwargs.setdefault("raise_on_redirect", False)
        super().__init__(**kwargs)

    @property
    def policy(self) -> RetryPolicy:
        return self.rules.policy

    @property
    def rng(self) -> random.Random:
        return self.rules.rng

    def new(self, **kw: Any) -> TriggerRetry:
        retry = super().new(**kw)
        retry.rules = self.rules
        retry.next_delay = kw.get("next_delay", self.next_delay)
        return retry

    # urllib3 asks this with the status only: answer "maybe" for every error status, and
    # decide in increment() where the headers are visible (it also shares a 429's reset, even
    # on the last attempt; with no attempt left, urllib3 then hands the response back).
    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return status_code >= 400

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> TriggerRetry:
        attempt = len(self.history) + 1  # requests made so far, this one included
        budget = current_budget()
        answered = response is not None and error is None
        if answered:
            assert response is not None
            failure = Failure.answer(response.status, response.headers)
        else:
            failure = Failure.broken(type(error).__name__, after_sending=error_after_sending(error))
        decision = self.rules.decide(
            failure,
            attempt,
            budget,
            before_retry=(lambda: _discard_body(response, budget))  # type: ignore[arg-type]
            if answered and budget is not None
            else None,
        )
        if decision.delay is None:
            if not answered and decision.unsafe:
                assert error is not None
                reraise(type(error), error, _stacktrace)
            if budget is not None and budget.deadline_reached:
                logger.info("Not retrying %s %s: %s", method, _path_only(url), decision.reason)
            # urllib3 hands a response back (raise_on_status is off); an error is raised.
            raise MaxRetryError(
                _pool, url or "", error if not answered else ResponseError(decision.reason)
            )
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        new_retry.next_delay = decision.delay
        logger.info(
            "Retrying %s %s in %.3fs (attempt %d of %d failed: %s)",
            method,
            _path_only(url),
            decision.delay,
            attempt,
            self.policy.max_attempts,
            decision.reason,
        )
        return new_retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.next_delay > 0:
            time.sleep(self.next_delay)

    def get_backoff_time(self) -> float:
        return self.next_delay


_MAX_DISCARD = 1024 * 1024  # bytes of an error body read to keep its connection; else close


def _discard_body(response: BaseHTTPResponse, budget: CallBudget) -> None:
    """Read away the body of an answer about to be retried, each read bounded by the time left
    (urllib3's own drain blocks until a whole chunk arrives, so a trickled error body would
    outlive the deadline); past the deadline or ``_MAX_DISCARD``, close the connection."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    discarded = 0
    try:
        while discarded <= _MAX_DISCARD and budget.remaining() > 0:
            if sock is not None:
                sock.settimeout(max(0.001, budget.remaining()))
            chunk = response.read1(64 * 1024, decode_content=False)  # what arrived, as sent
            if not chunk:
                return  # all read: urllib3 puts the connection back in the pool
            discarded += len(chunk)
    except (HTTPError, OSError):
        pass
    response.close()  # the rest stays unread: this connection cannot be reused


def _path_only(url: str | None) -> str:
    """Log the path without its query string (filters may carry tags or idempotency keys),
    nor scheme and host (urllib3 gives a path, the async transport a full URL)."""
    return urlsplit(url or "").path
