"""Enumerations of API values. Unknown values (the API grows) become members on the fly
instead of failing, so ``RunStatus("SOMETHING_NEW")`` works and compares by value."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["ExtensibleEnum", "RunStatus"]


class ExtensibleEnum(str, enum.Enum):
    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)


class RunStatus(ExtensibleEnum):
    """Run statuses, V2 vocabulary (sent with ``x-trigger-api-version: 2025-07-16``) plus the
    V1-only names a server may still send (API.md §7.1)."""

    PENDING_VERSION = "PENDING_VERSION"
    QUEUED = "QUEUED"
    DEQUEUED = "DEQUEUED"
    EXECUTING = "EXECUTING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    SYSTEM_FAILURE = "SYSTEM_FAILURE"
    DELAYED = "DELAYED"
    EXPIRED = "EXPIRED"
    TIMED_OUT = "TIMED_OUT"
    # V1 only
    WAITING_FOR_DEPLOY = "WAITING_FOR_DEPLOY"
    REATTEMPTING = "REATTEMPTING"
    FROZEN = "FROZEN"
    INTERRUPTED = "INTERRUPTED"

    @property
    def is_final(self) -> bool:
        """The run can no longer change (the server's FINAL_RUN_STATUSES). Unlike the API's
        ``isCompleted`` this is true for EXPIRED and TIMED_OUT."""
        return self in _FINAL

    @classmethod
    def v2(cls) -> list[RunStatus]:
        """The 13 statuses of the current vocabulary, in the SDK's order."""
        return [s for s in cls if s not in _V1_ONLY]


_FINAL = frozenset(
    {
        RunStatus.COMPLETED,
        RunStatus.CANCELED,
        RunStatus.FAILED,
        RunStatus.CRASHED,
        RunStatus.SYSTEM_FAILURE,
        RunStatus.EXPIRED,
        RunStatus.TIMED_OUT,
        RunStatus.INTERRUPTED,
    }
)
_V1_ONLY = frozenset(
    {RunStatus.WAITING_FOR_DEPLOY, RunStatus.REATTEMPTING, RunStatus.FROZEN, RunStatus.INTERRUPTED}
)
