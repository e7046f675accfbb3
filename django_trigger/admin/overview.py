"""Trigger.dev › Overview: what is happening, for whoever opens the admin first.

Runs by status over the chosen period (a stacked bar per hour or day), failure rate and
p50/p95 duration per task, the slowest and most-failing tasks, and queue depth, drawn as
server-rendered SVG (no script, no build step), each chart with its numbers in a table.

Requests: at most ``MAX_PAGES`` run list pages (``GET /api/v1/runs``, 100 runs each, created
since the start of the period) and one ``GET /api/v1/queues``; when the period holds more
runs than that, the page says the figures cover only the newest ones. With the admin's
``ADMIN_CACHE_TIMEOUT`` the fetched data is kept in Django's cache like the list pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.exceptions import ApiError, ConfigurationError
from django_trigger.models import Overview, Run

from .querysets import _cached, admin_request_options
from .runs import STATUS_CLASSES

__all__ = ["MAX_PAGES", "OverviewAdmin", "percentile"]

#: Run list pages read per view at most (100 runs each).
MAX_PAGES = 5
PAGE_SIZE = 100
#: Status groups, in stacking order (bottom first), with their labels.
GROUPS = (
    ("success", gettext_lazy("Completed")),
    ("failed", gettext_lazy("Failed")),
    ("canceled", gettext_lazy("Canceled")),
    ("running", gettext_lazy("Running")),
    ("waiting", gettext_lazy("Waiting")),
    ("queued", gettext_lazy("Queued")),
    ("other", gettext_lazy("Other")),
)
#: period -> (label, bucket size, number of buckets)
PERIODS: dict[str, tuple[Any, timedelta, int]] = {
    "24h": (gettext_lazy("Last 24 hours, per hour"), timedelta(hours=1), 24),
    "7d": (gettext_lazy("Last 7 days, per day"), timedelta(days=1), 7),
}
DEFAULT_PERIOD = "24h"
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 720, 200, 2


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0–100) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def period_start(now: datetime, period: str) -> datetime:
    """The first bucket's start: the current hour (or day, in the current time zone) and
    the ``n - 1`` before it, so each bucket is a whole hour or day."""
    _label, step, count = PERIODS[period]
    local = timezone.localtime(now)
    if step == timedelta(days=1):
        floor = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        floor = local.replace(minute=0, second=0, microsecond=0)
    return floor - step * (count - 1)


@dataclass
class TaskStats:
    task: str
    runs: int = 0
    failed: int = 0
    finished: int = 0  # completed or failed (what the failure rate is out of)
    durations: list[float] = field(default_factory=list)

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None

    @property
    def p50(self) -> float | None:
        return percentile(self.durations, 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.durations, 95)


def fetch(alias: str, start: datetime) -> dict[str, Any]:
    """The runs created since ``start`` (at most ``MAX_PAGES`` pages) and the queues, as plain
    data (cacheable), with the number of requests made."""
    client = get_client(alias)
    options = admin_request_options(alias)
    runs: list[list[Any]] = []
    after = None
    requests = 0
    truncated = False
    for _page in range(MAX_PAGES):
        page = client.runs.list(from_=start, limit=PAGE_SIZE, after=after, request_options=options)
        requests += 1
        runs.extend(
            [run.created_at.isoformat(), str(run.status), run.task_identifier, run.duration_ms or 0]
            for run in page.data
        )
        after = page.next_cursor
        if not after:
            break
    else:
        truncated = bool(after)
    queues = client.queues.list(per_page=100, request_options=options)
    requests += 1
    return {
        "runs": runs,
        "truncated": truncated,
        "queues": [[q.name, q.queued, q.running, q.paused] for q in queues.data],
        "queues_truncated": (queues.count or 0) > len(queues.data),
        "requests": requests,
    }


def summarize(data: dict[str, Any], start: datetime, period: str) -> dict[str, Any]:
    _label, step, count = PERIODS[period]
    buckets = [{key: 0 for key, _ in GROUPS} for _ in range(count)]
    tasks: dict[str, TaskStats] = {}
    totals = {key: 0 for key, _ in GROUPS}
    for created, status, task, duration in data["runs"]:
        group = STATUS_CLASSES.get(status, "other")
        index = int((parse_datetime(created) - start) / step)  # type: ignore[operator]
        if 0 <= index < count:
            buckets[index][group] += 1
        totals[group] += 1
        stats = tasks.setdefault(task, TaskStats(task))
        stats.runs += 1
        if group in ("success", "failed"):
            stats.finished += 1
            stats.failed += group == "failed"
            if duration:
                stats.durations.append(float(duration))
    return {
        "buckets": buckets,
        "tasks": sorted(tasks.values(), key=lambda t: t.task),
        "totals": totals,
    }


def _bucket_label(when: datetime, period: str) -> str:
    return date_format(when, "M j" if period == "7d" else "H:i")


def stacked_bars(buckets: list[dict[str, int]], start: datetime, period: str) -> dict[str, Any]:
    """Rectangles of the stacked bar chart (one bar per bucket, groups bottom-up)."""
    _label, step, count = PERIODS[period]
    top = max((sum(b.values()) for b in buckets), default=0) or 1
    width = CHART_WIDTH / count
    bars = []
    for i, bucket in enumerate(buckets):
        when = timezone.localtime(start + step * i)
        y = float(CHART_HEIGHT)
        rects = []
        for key, label in GROUPS:
            n = bucket[key]
            if not n:
                continue
            height = n / top * CHART_HEIGHT
            y -= height
            rects.append(
                {
                    "group": key,
                    "x": round(i * width + BAR_GAP / 2, 2),
                    "y": round(y, 2),
                    "w": round(width - BAR_GAP, 2),
                    "h": round(height, 2),
                    "title": f"{_bucket_label(when, period)} {label}: {n}",
                }
            )
        bars.append(
            {
                "label": _bucket_label(when, period),
                "rects": rects,
                "total": sum(bucket.values()),
                "counts": [bucket[key] for key, _ in GROUPS],
                "x": round(i * width + width / 2, 2),
                "show_label": count <= 12 or i % 3 == 0,
            }
        )
    return {"bars": bars, "max": top, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def horizontal_bars(rows: list[tuple[str, float, str]]) -> dict[str, Any]:
    """A horizontal bar per ``(label, value, text)`` row, scaled to the largest value."""
    top = max((value for _label, value, _text in rows), default=0) or 1
    row_height = 22
    return {
        "rows": [
            {"label": label, "text": text, "y": i * row_height, "w": round(value / top * 380, 2)}
            for i, (label, value, text) in enumerate(rows)
        ],
        "height": max(1, len(rows)) * row_height,
    }


class OverviewAdmin(admin.ModelAdmin):
    """A page, not a list: the ``Overview`` proxy model only gives it its place in the
    admin's navigation. Who may view runs may view it; nothing can be changed here."""

    class Media:
        css = {"all": ("django_trigger/admin.css",)}

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(f"{Run._meta.app_label}.view_run")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            )
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from .base import describe_error, retry_advice

        if not self.has_view_permission(request):
            raise PermissionDenied  # before any request to the API
        period = request.GET.get("period", DEFAULT_PERIOD)
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        alias = request.GET.get("alias", DEFAULT_ALIAS)
        if alias not in trigger_settings.clients:
            alias = DEFAULT_ALIAS
        start = period_start(timezone.now(), period)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Overview"),
            "subtitle": None,
            "opts": self.opts,
            "media": self.media,
            "period": period,
            "periods": [(key, label) for key, (label, _s, _n) in PERIODS.items()],
            "aliases": list(trigger_settings.clients) if len(trigger_settings.clients) > 1 else [],
            "alias": alias,
            "start": timezone.localtime(start),
            "max_pages": MAX_PAGES,
            "max_runs": MAX_PAGES * PAGE_SIZE,
            "groups": GROUPS,
        }
        try:
            data = _cached(
                alias,
                {"model": "overview", "start": start.isoformat()},
                lambda: fetch(alias, start),
            )
        except (ApiError, ConfigurationError) as err:
            context.update(error=describe_error(err), advice=retry_advice(err))
            return TemplateResponse(request, "admin/django_trigger/overview.html", context)
        summary = summarize(data, start, period)
        tasks = summary["tasks"]
        durations = [t for t in tasks if t.p95 is not None]
        failing = sorted((t for t in tasks if t.failed), key=lambda t: (-t.failed, t.task))
        queues = sorted(data["queues"], key=lambda q: (-(q[1] + q[2]), q[0]))
        from .runs import format_duration

        context.update(
            data=data,
            run_count=len(data["runs"]),
            totals=[(key, label, summary["totals"][key]) for key, label in GROUPS],
            chart=stacked_bars(summary["buckets"], start, period),
            tasks=[
                {
                    "task": t.task,
                    "runs": t.runs,
                    "finished": t.finished,
                    "failed": t.failed,
                    "failure_rate": None if t.failure_rate is None else f"{t.failure_rate:.0%}",
                    "p50": format_duration(t.p50) if t.p50 else "-",
                    "p95": format_duration(t.p95) if t.p95 else "-",
                }
                for t in tasks
            ],
            duration_chart=horizontal_bars(
                [
                    (
                        t.task,
                        t.p95 or 0,
                        _("p50 %(p50)s, p95 %(p95)s")
                        % {"p50": format_duration(t.p50 or 0), "p95": format_duration(t.p95 or 0)},
                    )
                    for t in sorted(durations, key=lambda t: -(t.p95 or 0))[:8]
                ]
            ),
            slowest=[
                (t.task, format_duration(t.p95 or 0))
                for t in sorted(durations, key=lambda t: (-(t.p95 or 0), t.task))[:5]
            ],
            failing=[(t.task, t.failed, f"{t.failure_rate or 0:.0%}") for t in failing[:5]],
            queue_chart=horizontal_bars(
                [
                    (
                        name,
                        queued + running,
                        _("%(queued)d queued, %(running)d running")
                        % {"queued": queued, "running": running},
                    )
                    for name, queued, running, _paused in queues[:10]
                ]
            ),
            queues=queues,
        )
        return TemplateResponse(request, "admin/django_trigger/overview.html", context)


admin.site.register(Overview, OverviewAdmin)
