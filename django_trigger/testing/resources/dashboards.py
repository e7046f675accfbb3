"""Query dashboards (docs/API-ADDENDUM.md §17): the organization's custom dashboards, each a
title, a description, a revision that changes on every write, and widgets on a 12-column grid.

    with emu.state.lock:
        dashboard = emu.state.dashboards.by_id[dashboard_id]
        dashboard.revision, [w.id for w in dashboard.widgets]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import format_date

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["BUILT_IN", "Dashboard", "DashboardStore", "Widget"]

WIDGET_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Height of a widget placed without a position (the emulator's choice; the server's is not
# in the mirrored source): section titles 2 rows, big numbers 4, tables and charts 12.
DEFAULT_HEIGHT = {"title": 2, "bignumber": 4}
DEFAULT_OTHER_HEIGHT = 12

# The built-in "overview" dashboard (BuiltInDashboards.server.ts), abbreviated to four of its
# widgets, with their real ids and queries (all within the emulator's TRQL subset).
BUILT_IN = (
    {
        "key": "overview",
        "title": "Run metrics",
        "widgets": [
            {
                "id": "9lDDdebQ",
                "title": "Total runs",
                "query": "SELECT\r\n  count() AS total_runs\r\nFROM\r\n  runs",
                "type": "bignumber",
            },
            {
                "id": "iI5EnhJW",
                "title": "Failed runs",
                "query": "SELECT\r\n  count() AS total_runs\r\nFROM\r\n  runs\r\nWHERE status IN "
                "('Failed', 'System failure', 'Crashed')",
                "type": "bignumber",
            },
            {
                "id": "rRbzv-Aq",
                "title": "Runs by status",
                "query": "SELECT\r\n  timeBucket (),\r\n  status,\r\n  count() AS run_count\r\n"
                "FROM\r\n  runs\r\nGROUP BY\r\n  timeBucket,\r\n  status\r\nORDER BY\r\n  "
                "timeBucket",
                "type": "chart",
            },
            {
                "id": "hnKsN482",
                "title": "Cost by task",
                "query": "SELECT\r\n  timeBucket() as time_period,\r\n  task_identifier,\r\n  "
                "sum(total_cost) AS total_cost\r\nFROM\r\n  runs\r\nGROUP BY\r\n  time_period,\r\n"
                "  task_identifier\r\nORDER BY\r\n  time_period",
                "type": "chart",
            },
        ],
    },
)


@dataclass
class Widget:
    id: str
    title: str
    query: str
    display: dict[str, Any]
    position: dict[str, int]
    fill_gaps: bool | None = None

    def render(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "query": self.query,
            "display": self.display,
            "position": self.position,
        }
        if self.fill_gaps is not None:
            data["fillGaps"] = self.fill_gaps
        return data


@dataclass
class Dashboard:
    id: str
    org_id: str
    title: str
    description: str
    revision: str
    created_at: dt.datetime
    updated_at: dt.datetime
    widgets: list[Widget] = field(default_factory=list)

    def widget(self, widget_id: str) -> Widget | None:
        return next((w for w in self.widgets if w.id == widget_id), None)

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "revision": self.revision,
            "createdAt": format_date(self.created_at),
            "updatedAt": format_date(self.updated_at),
            "widgets": [w.render() for w in self.widgets],
        }

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.id,
            "title": self.title,
            "type": "custom",
            "description": self.description,
            "widgets": [
                {"id": w.id, "title": w.title, "query": w.query, "type": w.display["type"]}
                for w in self.widgets
                if w.display["type"] != "title"
            ],
        }


class DashboardStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, Dashboard] = {}

    def of_org(self, org_id: str) -> list[Dashboard]:
        found = [d for d in self.by_id.values() if d.org_id == org_id]
        return sorted(found, key=lambda d: (d.created_at, d.id))

    def find(self, org_id: str, dashboard_id: str) -> Dashboard | None:
        found = self.by_id.get(dashboard_id)
        return found if found is not None and found.org_id == org_id else None

    def create(self, org_id: str, title: str, description: str) -> Dashboard:
        now = self.world.now()
        dashboard = Dashboard(
            self.world.ids.cuid("dashboard"), org_id, title, description, "", now, now
        )
        dashboard.revision = self.new_revision()
        self.by_id[dashboard.id] = dashboard
        return dashboard

    def new_revision(self) -> str:
        return self.world.ids.chars("dashboard-revision", 16)

    def new_widget_id(self, dashboard: Dashboard) -> str:
        while True:
            candidate = self.world.ids.chars("widget", 8, WIDGET_ID_ALPHABET)
            if dashboard.widget(candidate) is None:
                return candidate

    def touch(self, dashboard: Dashboard) -> None:
        dashboard.revision = self.new_revision()
        dashboard.updated_at = self.world.now()

    @staticmethod
    def below(widgets: list[Widget], display_type: str) -> dict[str, int]:
        """Full width under every widget placed so far."""
        bottom = max((w.position["y"] + w.position["h"] for w in widgets), default=0)
        height = DEFAULT_HEIGHT.get(display_type, DEFAULT_OTHER_HEIGHT)
        return {"x": 0, "y": bottom, "w": 12, "h": height}

    def delete(self, dashboard: Dashboard) -> None:
        del self.by_id[dashboard.id]
