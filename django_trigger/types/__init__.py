"""Typed records of API objects. Attributes are snake_case; ``.raw`` keeps the decoded JSON.

Names are imported on first use, so that ``from django_trigger.types import SchemaError`` (the
transport) or ``types.RunStatus`` (the admin's filters) does not define every record class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ._base import Record, SchemaError, parse_datetime
    from .common import IdResponse, MessageResponse, SuccessResponse
    from .enums import RunStatus
    from .envvars import REDACTED, EnvVar
    from .projects import ProjectEnvironment
    from .prompts import (
        PromptListItem,
        PromptOk,
        PromptOverrideCreated,
        PromptVersion,
        ResolvedPrompt,
    )
    from .queues import Deployment, DeploymentListItem, PromotedDeployment, Queue, QueueConcurrency
    from .runs import (
        RelatedRuns,
        Run,
        RunEnvironment,
        RunError,
        RunListItem,
        RunSchedule,
        RunSummary,
        ScheduleGenerator,
        TaskRunExecutionResult,
    )
    from .schedules import Schedule, ScheduleEnvironment
    from .tasks import (
        Batch,
        BatchHandle,
        BatchProcessing,
        BatchProcessingError,
        BulkAction,
        BulkActionCounts,
        TriggerResult,
    )
    from .waitpoints import (
        WaitpointToken,
        WaitpointTokenCreated,
        WaitpointTokenDetail,
        WaitpointTokenStatus,
    )

# name -> submodule that defines it
_EXPORTS = {
    "Record": "_base",
    "SchemaError": "_base",
    "parse_datetime": "_base",
    "IdResponse": "common",
    "MessageResponse": "common",
    "SuccessResponse": "common",
    "RunStatus": "enums",
    "REDACTED": "envvars",
    "EnvVar": "envvars",
    "ProjectEnvironment": "projects",
    "PromptListItem": "prompts",
    "PromptOk": "prompts",
    "PromptOverrideCreated": "prompts",
    "PromptVersion": "prompts",
    "ResolvedPrompt": "prompts",
    "Deployment": "queues",
    "DeploymentListItem": "queues",
    "PromotedDeployment": "queues",
    "Queue": "queues",
    "QueueConcurrency": "queues",
    "RelatedRuns": "runs",
    "Run": "runs",
    "RunEnvironment": "runs",
    "RunError": "runs",
    "RunListItem": "runs",
    "RunSchedule": "runs",
    "RunSummary": "runs",
    "ScheduleGenerator": "runs",
    "TaskRunExecutionResult": "runs",
    "Schedule": "schedules",
    "ScheduleEnvironment": "schedules",
    "Batch": "tasks",
    "BatchHandle": "tasks",
    "BatchProcessing": "tasks",
    "BatchProcessingError": "tasks",
    "BulkAction": "tasks",
    "BulkActionCounts": "tasks",
    "TriggerResult": "tasks",
    "WaitpointToken": "waitpoints",
    "WaitpointTokenCreated": "waitpoints",
    "WaitpointTokenDetail": "waitpoints",
    "WaitpointTokenStatus": "waitpoints",
}

__all__ = [
    "REDACTED",
    "Batch",
    "BatchHandle",
    "BatchProcessing",
    "BatchProcessingError",
    "BulkAction",
    "BulkActionCounts",
    "Deployment",
    "DeploymentListItem",
    "EnvVar",
    "IdResponse",
    "MessageResponse",
    "ProjectEnvironment",
    "PromotedDeployment",
    "PromptListItem",
    "PromptOk",
    "PromptOverrideCreated",
    "PromptVersion",
    "Queue",
    "QueueConcurrency",
    "Record",
    "RelatedRuns",
    "ResolvedPrompt",
    "Run",
    "RunEnvironment",
    "RunError",
    "RunListItem",
    "RunSchedule",
    "RunStatus",
    "RunSummary",
    "Schedule",
    "ScheduleEnvironment",
    "ScheduleGenerator",
    "SchemaError",
    "SuccessResponse",
    "TaskRunExecutionResult",
    "TriggerResult",
    "WaitpointToken",
    "WaitpointTokenCreated",
    "WaitpointTokenDetail",
    "WaitpointTokenStatus",
    "parse_datetime",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'django_trigger.types' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
