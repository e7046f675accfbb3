"""Waiting on a condition in tests, bounded: never a fixed sleep racing a server thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds (checked every 10 ms,
    and once more at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
