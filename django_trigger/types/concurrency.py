"""Records of ``client.concurrency_limits`` (docs/API-ADDENDUM.md §16): a named concurrency
limit and one ``concurrencyKey``'s view of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._base import Record

__all__ = [
    "ConcurrencyLimit",
    "ConcurrencyLimitBound",
    "ConcurrencyLimitKey",
    "ConcurrencyLimitKeyBound",
]


@dataclass(frozen=True, kw_only=True)
class ConcurrencyLimitBound(Record):
    """One bound of a limit: ``current`` is the cap enforced now (the override, else the
    declared ``base``, clamped to the environment's concurrency limit)."""

    current: int | None = None
    base: int | None = None
    override: int | None = None
    overridden_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ConcurrencyLimit(Record):
    """A limit declared with ``concurrencyLimit()`` (inline limits are named
    ``task/<taskId>``): ``per_key`` caps each ``concurrencyKey`` pool, ``total`` every run
    holding it. A paused limit admits no runs; its bounds are kept."""

    id: str
    name: str
    per_key: ConcurrencyLimitBound
    total: ConcurrencyLimitBound
    running: int
    queued: int
    paused: bool = False  # older servers omit it


@dataclass(frozen=True, kw_only=True)
class ConcurrencyLimitKeyBound(Record):
    """The per-key bound for one key: ``base`` is the limit's own ``per_key`` as enforced,
    ``override`` the key's temporary cap (until ``expires_at``)."""

    current: int | None = None
    base: int | None = None
    override: int | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ConcurrencyLimitKey(Record):
    """A limit as one ``concurrencyKey`` sees it (``running``: that key's runs)."""

    name: str
    concurrency_key: str
    per_key: ConcurrencyLimitKeyBound
    running: int
    paused: bool
