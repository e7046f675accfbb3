"""Typed records of API objects. Attributes are snake_case; ``.raw`` keeps the decoded JSON."""

from ._base import Record, SchemaError, parse_datetime
from .common import IdResponse, MessageResponse, SuccessResponse
from .enums import RunStatus
from .envvars import REDACTED, EnvVar
from .projects import ProjectEnvironment
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
    "Queue",
    "QueueConcurrency",
    "Record",
    "RelatedRuns",
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
