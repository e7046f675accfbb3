"""Records of ``client.query`` (docs/API-ADDENDUM.md §17): a query's results and the query
dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django_trigger.exceptions import InvalidRequestError

from ._base import Record

__all__ = [
    "Dashboard",
    "DashboardSummary",
    "DashboardWidget",
    "DashboardWidgetAdded",
    "DashboardWidgetPosition",
    "DashboardWidgetSummary",
    "QueryResult",
]


@dataclass(frozen=True, kw_only=True)
class QueryResult(Record):
    """``format="json"``: ``results`` is the list of rows (one dict per row, keyed by the
    result's column names, values as ClickHouse renders them); ``format="csv"``: the CSV text
    (a header line, then one line per row)."""

    format: Literal["json", "csv"]
    results: list[dict[str, Any]] | str

    @property
    def rows(self) -> list[dict[str, Any]]:
        if not isinstance(self.results, list):
            raise InvalidRequestError("this result is CSV: read .csv, or query with format='json'")
        return self.results

    @property
    def csv(self) -> str:
        if not isinstance(self.results, str):
            raise InvalidRequestError("this result is JSON: read .rows, or query with format='csv'")
        return self.results


@dataclass(frozen=True, kw_only=True)
class DashboardWidgetSummary(Record):
    id: str
    title: str
    query: str
    type: str  # bignumber | chart | table | title


@dataclass(frozen=True, kw_only=True)
class DashboardSummary(Record):
    """A dashboard of ``query.dashboards.list()``: ``type`` is ``builtIn`` (read-only) or
    ``custom``; a custom dashboard's ``key`` is its id."""

    key: str
    title: str
    widgets: list[DashboardWidgetSummary]
    type: str | None = None
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class DashboardWidgetPosition(Record):
    """On the 12-column grid: ``x`` 0–11, ``w`` 1–12, rows ``y`` and ``h``."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True, kw_only=True)
class DashboardWidget(Record):
    """``display`` is the wire's object (``{"type": "chart", "chartType": "bar", ...}``)."""

    id: str
    title: str
    query: str
    display: dict[str, Any]
    position: DashboardWidgetPosition
    fill_gaps: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Dashboard(Record):
    """A custom dashboard. ``revision`` changes on every write: pass it back to a write to
    have it refused (``ConflictError``) when someone else changed the dashboard since."""

    id: str
    title: str
    description: str
    revision: str
    created_at: datetime
    updated_at: datetime
    widgets: list[DashboardWidget] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class DashboardWidgetAdded(Record):
    widget_id: str
    dashboard: Dashboard
