"""Results of triggering tasks and of batches (API.md §6.2, §6.3, §6.8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ._base import Record

__all__ = [
    "Batch",
    "BatchHandle",
    "BatchProcessing",
    "BatchProcessingError",
    "BulkAction",
    "BulkActionCounts",
    "TriggerResult",
]


@dataclass(frozen=True, kw_only=True)
class TriggerResult(Record):
    """A triggered run: its id, whether an idempotency key returned an existing run, and the
    short-lived public access token for the run (from ``x-trigger-jwt``; not in the repr)."""

    id: str
    is_cached: bool = False
    public_access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class BatchHandle(Record):
    """A triggered batch (``POST /api/v3/batches``)."""

    id: str
    run_count: int
    is_cached: bool = False
    idempotency_key: str | None = None
    public_access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class BatchProcessingError(Record):
    index: int
    task_identifier: str
    error: str
    error_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class BatchProcessing(Record):
    completed_at: datetime | None = None
    errors: list[BatchProcessingError] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Batch(Record):
    """``GET /api/v2/batches/{id}``."""

    id: str
    status: str
    idempotency_key: str | None = None
    created_at: datetime
    updated_at: datetime
    processing_completed_at: datetime | None = None
    run_count: int
    runs: list[str] = field(default_factory=list)
    processing: BatchProcessing = field(default_factory=BatchProcessing)


@dataclass(frozen=True, kw_only=True)
class BulkActionCounts(Record):
    total: int = 0
    success: int = 0
    failure: int = 0


@dataclass(frozen=True, kw_only=True)
class BulkAction(Record):
    id: str
    name: str | None = None
    type: str
    status: str
    counts: BulkActionCounts = field(default_factory=BulkActionCounts)
    created_at: datetime
    completed_at: datetime | None = None
