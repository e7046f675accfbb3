"""Schedule records (API.md §10.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ._base import Record
from .runs import ScheduleGenerator

__all__ = ["Schedule", "ScheduleEnvironment"]


@dataclass(frozen=True, kw_only=True)
class ScheduleEnvironment(Record):
    id: str
    type: str
    user_name: str | None = None
    shortcode: str | None = None
    slug: str | None = None
    branch_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Schedule(Record):
    id: str
    type: str
    task: str
    active: bool
    deduplication_key: str | None = None
    external_id: str | None = None
    generator: ScheduleGenerator
    timezone: str = "UTC"
    window: str | None = None
    next_run: datetime | None = None
    next_run_effective_at: datetime | None = None
    environments: list[ScheduleEnvironment] = field(default_factory=list)

    @property
    def cron(self) -> str:
        return self.generator.expression
