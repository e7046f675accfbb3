"""Per-call limits: the overall deadline and the time allowed for retrying 404s.

``Transport.request()`` makes one ``CallBudget`` per logical call and makes it current (a
``ContextVar``) while urllib3 sends and retries in the same thread: ``TriggerRetry`` belongs to
the session (shared by every call of its policy), so it reads the call's budget from here
before each retry. ``DeadlineTimeout`` is the urllib3 ``Timeout`` given to the call; urllib3
clones it for every attempt and it clamps each attempt's connect and read timeouts to the time
left, so no single wait can outlive the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from urllib3.util.timeout import Timeout

__all__ = ["CallBudget", "DeadlineTimeout", "active_budget", "current_budget"]

# A 404 retry waits at most a quarter of the budget at first (then 1.6 times more each time),
# so a budget of 1 s gives retries after about 0.25 s, 0.65 s and 1 s: quick enough for
# read-after-write lag, bounded for an id that does not exist.
_NOT_FOUND_FIRST_SHARE = 0.25
_NOT_FOUND_FACTOR = 1.6
_MIN_USEFUL_WAIT = 0.01  # less budget than this left: not worth another request


class CallBudget:
    """The limits of one logical call (all its attempts) and what it has spent.

    A plain class, not a dataclass: importing the client does not import ``dataclasses``
    (and with it ``inspect``), a cost ``import requests`` does not have (issue #14)."""

    __slots__ = (
        "attempts",
        "deadline_reached",
        "deadline_seconds",
        "not_found_retries",
        "not_found_retry_budget",
        "not_found_slept",
        "started",
    )

    def __init__(self, deadline_seconds: float, not_found_retry_budget: float) -> None:
        self.deadline_seconds = deadline_seconds
        self.not_found_retry_budget = not_found_retry_budget
        self.started = time.monotonic()
        self.attempts = 1  # requests sent (or being sent)
        self.not_found_retries = 0
        self.not_found_slept = 0.0
        self.deadline_reached = False  # the deadline stopped a retry (or the body read)

    def __repr__(self) -> str:
        return (
            f"CallBudget(deadline_seconds={self.deadline_seconds!r}, "
            f"not_found_retry_budget={self.not_found_retry_budget!r}, attempts={self.attempts!r})"
        )

    @property
    def deadline(self) -> float:
        return self.started + self.deadline_seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def retry_delay(self, delay: float, *, not_found: bool) -> tuple[float | None, str]:
        """The wait before the next attempt (possibly shortened), or ``None`` with the reason
        not to retry: the 404 budget is spent, or the wait would end past the deadline."""
        if not_found:
            left = self.not_found_retry_budget - self.not_found_slept
            if left < _MIN_USEFUL_WAIT:
                return None, f"404 retry budget of {self.not_found_retry_budget:g}s spent"
            step = self.not_found_retry_budget * _NOT_FOUND_FIRST_SHARE
            delay = min(delay, left, step * _NOT_FOUND_FACTOR**self.not_found_retries)
        if time.monotonic() + delay >= self.deadline:
            self.deadline_reached = True
            return None, f"the {self.deadline_seconds:g}s deadline would pass"
        return delay, ""

    def record_retry(self, delay: float, *, not_found: bool) -> None:
        """Count a retry that will be made after sleeping ``delay``."""
        if not_found:
            self.not_found_retries += 1
            self.not_found_slept += delay
        self.attempts += 1


_current: ContextVar[CallBudget | None] = ContextVar("django_trigger_call_budget", default=None)


def current_budget() -> CallBudget | None:
    """The budget of the call being sent in this thread (``None`` outside ``Transport``)."""
    return _current.get()


@contextmanager
def active_budget(budget: CallBudget) -> Iterator[CallBudget]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


class DeadlineTimeout(Timeout):
    """Connect and read timeouts, each clamped to the time left before ``budget``'s deadline.

    A read timeout of 0 makes urllib3 raise ``ReadTimeoutError`` before reading, which the
    retry then refuses (the deadline has passed)."""

    def __init__(self, connect: float, read: float, budget: CallBudget) -> None:
        super().__init__(connect=connect, read=read)
        self.connect_seconds = connect
        self.read_seconds = read
        self.budget = budget

    def clone(self) -> DeadlineTimeout:
        return DeadlineTimeout(self.connect_seconds, self.read_seconds, self.budget)

    @property
    def connect_timeout(self) -> float:  # type: ignore[override]
        # A connect timeout of 0 would make the socket non-blocking: keep a tiny positive one.
        return max(0.001, min(self.connect_seconds, self.budget.remaining()))

    @property
    def read_timeout(self) -> float:  # type: ignore[override]
        return max(0.0, min(self.read_seconds, self.budget.remaining()))
