"""Alert webhook events (docs/API-ADDENDUM.md §2): the SDK's ``Webhook`` union of
``packages/core/src/v3/schemas/webhooks.ts``, one record per ``type``. Required keys are those
the SDK's schema requires; unknown keys are tolerated (the SDK strips them, ``.raw`` keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ._base import Record
from .enums import RunStatus

__all__ = [
    "ALERT_EVENT_TYPES",
    "AlertEvent",
    "DeploymentFailedEvent",
    "DeploymentSucceededEvent",
    "ErrorGroupEvent",
    "RunFailedEvent",
]


@dataclass(frozen=True, kw_only=True)
class AlertOrganization(Record):
    id: str
    slug: str
    name: str


@dataclass(frozen=True, kw_only=True)
class AlertProject(Record):
    id: str
    ref: str
    slug: str
    name: str


@dataclass(frozen=True, kw_only=True)
class AlertEnvironment(Record):
    id: str
    type: str  # PRODUCTION | STAGING | DEVELOPMENT | PREVIEW
    slug: str
    branch_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertTask(Record):
    id: str
    file_path: str
    export_name: str | None = None
    version: str
    sdk_version: str
    cli_version: str


@dataclass(frozen=True, kw_only=True)
class AlertRun(Record):
    id: str
    number: int
    status: RunStatus
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    is_test: bool
    idempotency_key: str | None = None
    tags: list[str]
    error: dict[str, Any]  # a TaskRunError: {"type": "BUILT_IN_ERROR", "name", "message", ...}
    is_out_of_memory_error: bool
    machine: str
    dashboard_url: str


@dataclass(frozen=True, kw_only=True)
class RunFailedObject(Record):
    task: AlertTask
    run: AlertRun
    environment: AlertEnvironment
    organization: AlertOrganization
    project: AlertProject


@dataclass(frozen=True, kw_only=True)
class AlertGit(Record):
    branch: str
    commit_sha: str
    commit_message: str
    commit_url: str
    branch_url: str
    pull_request_number: int | None = None
    pull_request_title: str | None = None
    pull_request_url: str | None = None
    provider: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertVercel(Record):
    deployment_url: str


@dataclass(frozen=True, kw_only=True)
class DeployedDeployment(Record):
    id: str
    status: str
    version: str
    short_code: str
    deployed_at: datetime


@dataclass(frozen=True, kw_only=True)
class FailedDeployment(Record):
    id: str
    status: str
    version: str
    short_code: str
    failed_at: datetime


@dataclass(frozen=True, kw_only=True)
class DeployedTask(Record):
    id: str
    file_path: str
    export_name: str | None = None
    trigger_source: str


@dataclass(frozen=True, kw_only=True)
class DeployError(Record):
    name: str
    message: str
    stack: str | None = None
    stderr: str | None = None


@dataclass(frozen=True, kw_only=True)
class _DeploymentCommon(Record):
    environment: AlertEnvironment
    organization: AlertOrganization
    project: AlertProject
    git: AlertGit | None = None
    vercel: AlertVercel | None = None


@dataclass(frozen=True, kw_only=True)
class DeploymentSucceededObject(_DeploymentCommon):
    deployment: DeployedDeployment
    tasks: list[DeployedTask]


@dataclass(frozen=True, kw_only=True)
class DeploymentFailedObject(_DeploymentCommon):
    deployment: FailedDeployment
    error: DeployError


@dataclass(frozen=True, kw_only=True)
class ErrorGroupError(Record):
    fingerprint: str
    type: str
    message: str
    stack_trace: str | None = None
    first_seen: datetime
    last_seen: datetime
    occurrence_count: int
    task_identifier: str


@dataclass(frozen=True, kw_only=True)
class ErrorGroupEnvironment(Record):
    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class ErrorGroupObject(Record):
    classification: Literal["new_issue", "regression", "unignored"]
    error: ErrorGroupError
    environment: ErrorGroupEnvironment
    organization: AlertOrganization
    project: AlertProject
    dashboard_url: str


@dataclass(frozen=True, kw_only=True)
class AlertEvent(Record):
    """Common to every alert: ``id`` (the same across the sender's retries of run and
    deployment alerts), ``created``, ``webhook_version``, ``type``."""

    id: str
    created: datetime
    webhook_version: str
    type: str
    object: Any = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class RunFailedEvent(AlertEvent):
    """``alert.run.failed``"""

    object: RunFailedObject = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class DeploymentSucceededEvent(AlertEvent):
    """``alert.deployment.success``"""

    object: DeploymentSucceededObject = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class DeploymentFailedEvent(AlertEvent):
    """``alert.deployment.failed``"""

    object: DeploymentFailedObject = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class ErrorGroupEvent(AlertEvent):
    """``alert.error``"""

    object: ErrorGroupObject = field(repr=False)


ALERT_EVENT_TYPES: dict[str, type[AlertEvent]] = {
    "alert.run.failed": RunFailedEvent,
    "alert.deployment.success": DeploymentSucceededEvent,
    "alert.deployment.failed": DeploymentFailedEvent,
    "alert.error": ErrorGroupEvent,
}
