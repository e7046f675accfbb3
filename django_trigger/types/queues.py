"""Queue and deployment records (API.md §6.6, §6.7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._base import Record

__all__ = [
    "Deployment",
    "DeploymentListItem",
    "PromotedDeployment",
    "Queue",
    "QueueConcurrency",
]


@dataclass(frozen=True, kw_only=True)
class QueueConcurrency(Record):
    current: float | None = None
    base: float | None = None
    override: float | None = None
    overridden_at: datetime | None = None
    overridden_by: str | None = None


@dataclass(frozen=True, kw_only=True)
class Queue(Record):
    id: str
    name: str
    type: str
    running: int
    queued: int
    paused: bool
    concurrency_limit: int | None
    concurrency: QueueConcurrency | None = None


@dataclass(frozen=True, kw_only=True)
class DeploymentListItem(Record):
    id: str
    created_at: datetime
    short_code: str
    version: str
    runtime: str | None = None
    runtime_version: str | None = None
    status: str
    deployed_at: datetime | None = None
    git: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Deployment(Record):
    id: str
    status: str
    content_hash: str
    short_code: str
    version: str
    image_reference: str | None = None
    image_platform: str | None = None
    commit_sha: str | None = field(default=None, metadata={"wire": "commitSHA"})
    error_data: dict[str, Any] | None = None
    worker: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class PromotedDeployment(Record):
    id: str
    version: str
    short_code: str
