"""Typed records of API objects. Attributes are snake_case; ``.raw`` keeps the decoded JSON."""

from ._base import Record, SchemaError, parse_datetime
from .common import IdResponse, MessageResponse, SuccessResponse
from .enums import RunStatus
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

__all__ = [
    "IdResponse",
    "MessageResponse",
    "Record",
    "RelatedRuns",
    "Run",
    "RunEnvironment",
    "RunError",
    "RunListItem",
    "RunSchedule",
    "RunStatus",
    "RunSummary",
    "ScheduleGenerator",
    "SchemaError",
    "SuccessResponse",
    "TaskRunExecutionResult",
    "parse_datetime",
]
