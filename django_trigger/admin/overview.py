"""Trigger.dev › Overview: what is happening, for whoever opens the admin first.

Runs by status over the chosen period (a stacked bar per hour or day of the admin's current
time zone), failure rate and p50/p95 duration per task, the slowest and most-failing tasks,
and queue depth, drawn as server-rendered SVG (no script, no build step), each chart with its
numbers in a table.

Requests, answered from the query API where the server has it (docs/API-ADDENDUM.md §19,
"Query for the admin's Overview"):

- **query path**: two ``POST /api/v1/query`` (runs per bucket and status; per task: runs,
  finished, failed, p50 and p95) and one ``GET /api/v1/queues`` — three requests, whatever
  the number of runs;
- **list path**, when the server has no query route (404) or refuses the query (400, 403:
  e.g. a key without query access) or the time zone has no IANA name: the refused query
  (if one was sent), at most ``MAX_PAGES`` run list pages (``GET /api/v1/runs``, 100 runs
  each, created since the start of the period) and one ``GET /api/v1/queues``; when the
  period holds more runs than that, the page says the figures cover only the newest ones.

Both paths give the same figures: buckets are ClickHouse's ``toStartOfHour``/``toStartOfDay``
in the time zone (the start of the local day plus whole hours, so half-hour zones and DST
days bucket alike), and p50/p95 are ClickHouse's ``quantile`` (linear interpolation between
the nearest ranks) computed here from the listed durations. With the admin's
``ADMIN_CACHE_TIMEOUT`` the result is kept in Django's cache like the list pages.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.exceptions import ApiError, ConfigurationError, InvalidRequestError
from django_trigger.models import Overview, Run

from .api import _cached, admin_request_options
from .runs import STATUS_CLASSES

__all__ = ["MAX_PAGES", "OverviewAdmin", "percentile"]

#: Run list pages read per view at most on the list path (100 runs each).
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
#: TRQL's ``status`` titles (``runStatusTitleFromStatus``) in the groups the run list's
#: statuses of the same runs have in ``STATUS_CLASSES``.
TITLE_GROUPS = {
    "Completed": "success",
    "Failed": "failed",
    "Crashed": "failed",
    "System failure": "failed",
    "Timed out": "failed",
    "Expired": "failed",
    "Interrupted": "failed",
    "Canceled": "canceled",
    "Executing": "running",
    "Dequeued": "running",
    "Reattempting": "running",
    "Waiting": "waiting",
    "Paused": "waiting",
    "Queued": "queued",
    "Delayed": "queued",
    "Pending version": "queued",
}
#: period -> (label, TRQL function of the bucket, number of buckets)
PERIODS: dict[str, tuple[Any, str, int]] = {
    "24h": (gettext_lazy("Last 24 hours, per hour"), "toStartOfHour", 24),
    "7d": (gettext_lazy("Last 7 days, per day"), "toStartOfDay", 7),
}
DEFAULT_PERIOD = "24h"
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 720, 200, 2
#: Answers on which the query path gives way to the list path.
FALLBACK_STATUSES = (400, 403, 404)
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)


def _titles(group: str) -> str:
    return ", ".join(f"'{title}'" for title, g in TITLE_GROUPS.items() if g == group)


_FINISHED = f"status IN ({_titles('success')}, {_titles('failed')})"
_BUCKETS_QUERY = (
    "SELECT toUnixTimestamp({function}(toTimeZone(triggered_at, '{zone}'))) AS bucket, "
    "status, count() AS runs FROM runs GROUP BY bucket, status"
)
# (S608: TRQL built from the fixed titles above, no input)
_TASKS_QUERY = (
    f"SELECT task_identifier, count() AS runs, countIf({_FINISHED}) AS finished, "  # noqa: S608
    f"countIf(status IN ({_titles('failed')})) AS failed, "
    f"quantileIf(0.5)(usage_duration, {_FINISHED} AND usage_duration > 0) AS p50, "
    f"quantileIf(0.95)(usage_duration, {_FINISHED} AND usage_duration > 0) AS p95 "
    "FROM runs GROUP BY task_identifier"
)


def percentile(values: list[float], p: float) -> float | None:
    """ClickHouse's ``quantile`` at ``p`` (0–100): the sorted values linearly interpolated
    at ``p / 100 * (n - 1)``; ``None`` when empty (ClickHouse's NaN, sent as null)."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0.0, min(len(ordered) - 1.0, p / 100 * (len(ordered) - 1)))
    left = int(index)
    if left + 1 == len(ordered):
        return float(ordered[left])
    return float(ordered[left]) * (left + 1 - index) + float(ordered[left + 1]) * (index - left)


def bucket_start(instant: datetime, period: str, zone: tzinfo) -> datetime:
    """The start of ``instant``'s bucket in ``zone``, as ClickHouse's ``toStartOfDay`` /
    ``toStartOfHour`` give it: the first instant of the local date, plus whole elapsed hours
    for an hour (a 25-hour day has 25 buckets; a +05:30 zone's hours start at :30 UTC)."""
    local = instant.astimezone(zone)
    day = datetime.combine(local.date(), time(), tzinfo=zone)
    if PERIODS[period][1] == "toStartOfDay":
        return day
    since = math.floor(instant.timestamp()) - int(day.timestamp())
    return datetime.fromtimestamp(day.timestamp() + since // 3600 * 3600, zone)


def bucket_starts(now: datetime, period: str, zone: tzinfo) -> list[datetime]:
    """The period's buckets, oldest first: the current hour (or day) and the ones before."""
    _label, _function, count = PERIODS[period]
    starts = [bucket_start(now, period, zone)]
    while len(starts) < count:  # (in UTC: arithmetic on zoned datetimes is wall-clock)
        before = starts[0].astimezone(dt_timezone.utc) - timedelta(seconds=1)
        starts.insert(0, bucket_start(before, period, zone))
    return starts


def zone_name(zone: tzinfo) -> str | None:
    """The zone's IANA name for TRQL's ``toTimeZone`` (``None``: the list path only)."""
    if zone is dt_timezone.utc:
        return "UTC"
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) and _ZONE_NAME.fullmatch(key) else None


class TaskStats:
    # (a plain class: a dataclass cost ~0.3 ms of every start-up)
    __slots__ = ("durations", "failed", "finished", "p50", "p95", "runs", "task")

    def __init__(
        self,
        task: str,
        runs: int = 0,
        failed: int = 0,
        finished: int = 0,  # completed or failed (what the failure rate is out of)
        p50: float | None = None,
        p95: float | None = None,
    ) -> None:
        self.task = task
        self.runs = runs
        self.failed = failed
        self.finished = finished
        self.p50 = p50
        self.p95 = p95
        self.durations: list[float] = []  # the list path's, for p50/p95

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


def _empty() -> dict[str, int]:
    return {key: 0 for key, _ in GROUPS}


def fetch(alias: str, period: str, start: datetime, zone: tzinfo) -> dict[str, Any]:
    """The period's figures since ``start`` (the first bucket's start) and the queues, as
    plain data (cacheable): from two queries, else from the run list (see the module's
    docstring), with the number of requests made and the path taken."""
    client = get_client(alias)
    options = admin_request_options(alias)
    name = zone_name(zone)
    data: dict[str, Any] | None = None
    requests = 0
    if name is not None:
        function = PERIODS[period][1]
        try:
            requests += 1
            buckets = client.query.execute(
                _BUCKETS_QUERY.format(function=function, zone=name),
                from_=start,
                request_options=options,
            )
            requests += 1
            tasks = client.query.execute(_TASKS_QUERY, from_=start, request_options=options)
        except ApiError as err:
            if err.status not in FALLBACK_STATUSES:
                raise
        else:
            data = _from_query(buckets.rows, tasks.rows)
    if data is None:
        data, pages = _from_list(client, options, period, start, zone)
        requests += pages
    queues = client.queues.list(per_page=100, request_options=options)
    requests += 1
    data.update(
        queues=[[q.name, q.queued, q.running, q.paused] for q in queues.data],
        queues_truncated=(queues.count or 0) > len(queues.data),
        requests=requests,
    )
    return data


def _from_query(buckets: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[int, dict[str, int]] = {}
    totals = _empty()
    for row in buckets:
        group = TITLE_GROUPS.get(row["status"], "other")
        counts.setdefault(int(row["bucket"]), _empty())[group] += int(row["runs"])
        totals[group] += int(row["runs"])
    return {
        "source": "query",
        "counts": counts,
        "totals": totals,
        "run_count": sum(totals.values()),
        "truncated": False,
        "tasks": sorted(
            [
                row["task_identifier"],
                int(row["runs"]),
                int(row["finished"]),
                int(row["failed"]),
                None if row["p50"] is None else float(row["p50"]),
                None if row["p95"] is None else float(row["p95"]),
            ]
            for row in tasks
        ),
    }


def _from_list(
    client: Any, options: Any, period: str, start: datetime, zone: tzinfo
) -> tuple[dict[str, Any], int]:
    counts: dict[int, dict[str, int]] = {}
    totals = _empty()
    tasks: dict[str, TaskStats] = {}
    after = None
    pages = 0
    run_count = 0
    truncated = False
    for _page in range(MAX_PAGES):
        page = client.runs.list(from_=start, limit=PAGE_SIZE, after=after, request_options=options)
        pages += 1
        for run in page.data:
            group = STATUS_CLASSES.get(str(run.status), "other")
            bucket = int(bucket_start(run.created_at, period, zone).timestamp())
            counts.setdefault(bucket, _empty())[group] += 1
            totals[group] += 1
            run_count += 1
            stats = tasks.setdefault(run.task_identifier, TaskStats(run.task_identifier))
            stats.runs += 1
            if group in ("success", "failed"):
                stats.finished += 1
                stats.failed += group == "failed"
                if run.duration_ms:
                    stats.durations.append(float(run.duration_ms))
        after = page.next_cursor
        if not after:
            break
    else:
        truncated = bool(after)
    return {
        "source": "list",
        "counts": counts,
        "totals": totals,
        "run_count": run_count,
        "truncated": truncated,
        "tasks": sorted(
            [
                t.task,
                t.runs,
                t.finished,
                t.failed,
                percentile(t.durations, 50),
                percentile(t.durations, 95),
            ]
            for t in tasks.values()
        ),
    }, pages


def _bucket_label(when: datetime, period: str) -> str:
    return date_format(when, "M j" if period == "7d" else "H:i")


def stacked_bars(
    counts: dict[int, dict[str, int]], starts: list[datetime], period: str
) -> dict[str, Any]:
    """Rectangles of the stacked bar chart (one bar per bucket, groups bottom-up)."""
    count = len(starts)
    buckets = [counts.get(int(when.timestamp()), _empty()) for when in starts]
    top = max((sum(b.values()) for b in buckets), default=0) or 1
    width = CHART_WIDTH / count
    bars = []
    for i, (when, bucket) in enumerate(zip(starts, buckets, strict=True)):
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
        zone = timezone.get_current_timezone()
        starts = bucket_starts(timezone.now(), period, zone)
        start = starts[0]
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Overview"),
            "subtitle": None,
            "opts": self.opts,
            "media": self.media,
            "period": period,
            "periods": [(key, label) for key, (label, _f, _n) in PERIODS.items()],
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
                {"model": "overview", "period": period, "start": start, "zone": str(zone)},
                lambda: fetch(alias, period, start, zone),
            )
        except (ApiError, ConfigurationError, InvalidRequestError) as err:
            # InvalidRequestError: the client refuses the query for this alias's kind of token
            context.update(error=describe_error(err), advice=retry_advice(err))
            return TemplateResponse(request, "admin/django_trigger/overview.html", context)
        tasks = [
            TaskStats(task, runs, failed, finished, p50, p95)
            for task, runs, finished, failed, p50, p95 in data["tasks"]
        ]
        durations = [t for t in tasks if t.p95 is not None]
        failing = sorted((t for t in tasks if t.failed), key=lambda t: (-t.failed, t.task))
        queues = sorted(data["queues"], key=lambda q: (-(q[1] + q[2]), q[0]))
        from .runs import format_duration

        context.update(
            data=data,
            run_count=data["run_count"],
            totals=[(key, label, data["totals"][key]) for key, label in GROUPS],
            chart=stacked_bars(data["counts"], starts, period),
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
