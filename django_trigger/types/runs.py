"""Run records (API.md §7.3): ``RunListItem`` from lists, ``Run`` from retrieve."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ._base import Record
from .enums import RunStatus

__all__ = [
    "RelatedRuns",
    "Run",
    "RunEnvironment",
    "RunError",
    "RunListItem",
    "RunSchedule",
    "RunSummary",
    "ScheduleGenerator",
    "TaskRunExecutionResult",
]


@dataclass(frozen=True, kw_only=True)
class _CommonRunFields(Record):
    id: str
    status: RunStatus
    task_identifier: str
    idempotency_key: str | None = None
    version: str | None = None
    is_queued: bool
    is_executing: bool
    is_waiting: bool
    is_completed: bool
    is_success: bool
    is_failed: bool
    is_cancelled: bool
    is_test: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delayed_until: datetime | None = None
    expired_at: datetime | None = None
    ttl: str | None = None
    tags: list[str] = field(default_factory=list)
    cost_in_cents: float = 0.0
    base_cost_in_cents: float = 0.0
    duration_ms: float = 0.0
    metadata: dict[str, Any] | None = field(default=None, repr=False)
    region: str | None = None

    @property
    def is_final(self) -> bool:
        """The run can no longer change (true for EXPIRED/TIMED_OUT too, unlike
        ``is_completed``)."""
        return self.status.is_final


@dataclass(frozen=True, kw_only=True)
class RunEnvironment(Record):
    id: str
    name: str
    user: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunListItem(_CommonRunFields):
    env: RunEnvironment
    task_kind: str | None = None
    depth: int | None = None


@dataclass(frozen=True, kw_only=True)
class RunError(Record):
    message: str
    name: str | None = None
    stack_trace: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScheduleGenerator(Record):
    type: str
    expression: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class RunSchedule(Record):
    id: str
    external_id: str | None = None
    deduplication_key: str | None = None
    generator: ScheduleGenerator


@dataclass(frozen=True, kw_only=True)
class RunSummary(_CommonRunFields):
    """A related run (root, parent, child) as the retrieve endpoint describes it."""

    depth: int | None = None
    trigger_function: str | None = None
    batch_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RelatedRuns(Record):
    root: RunSummary | None = None
    parent: RunSummary | None = None
    children: list[RunSummary] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Run(_CommonRunFields):
    depth: int
    trigger_function: str
    batch_id: str | None = None
    payload: Any = field(default=None, repr=False)
    payload_presigned_url: str | None = None
    output: Any = field(default=None, repr=False)
    output_presigned_url: str | None = None
    error: RunError | None = None
    schedule: RunSchedule | None = None
    related_runs: RelatedRuns = field(default_factory=RelatedRuns)
    attempt_count: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class TaskRunExecutionResult(Record):
    """``GET /api/v1/runs/{id}/result`` (API.md §7.5). ``output`` is the serialized packet."""

    ok: bool
    id: str
    task_identifier: str | None = None
    output: str | None = None
    output_type: str | None = None
    error: dict[str, Any] | None = None


RunStatusLike = (
    RunStatus
    | Literal[
        "PENDING_VERSION",
        "QUEUED",
        "DEQUEUED",
        "EXECUTING",
        "WAITING",
        "COMPLETED",
        "CANCELED",
        "FAILED",
        "CRASHED",
        "SYSTEM_FAILURE",
        "DELAYED",
        "EXPIRED",
        "TIMED_OUT",
    ]
)
