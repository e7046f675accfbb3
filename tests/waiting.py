"""Waiting on a condition in tests, bounded: never a fixed sleep racing a server thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import TestCase

from django_trigger.testing import Emulator


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds (checked every 10 ms,
    and once more at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def short_stream_waits(test: TestCase, emulator: Emulator) -> None:
    """For this test only, ``emulator`` ends a realtime stream's answer after 0.1 s without a
    record instead of its ``Timeout-Seconds`` (``stream_wait_cap``): for a test that waits for
    that end (a reader then sees the run finished or the session closed), not one that times
    it or counts the answers."""
    emulator.state.stream_wait_cap = 0.1
    test.addCleanup(setattr, emulator.state, "stream_wait_cap", None)
