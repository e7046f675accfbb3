"""``GET /api/v1/queues/{queue}/metrics`` (api.v1.queues.$queueParam.metrics.ts).

Family A with public JWTs (``read:query:queue_metrics``, ``read:query``, ``read:all``).
``?type=task|custom`` (default ``task``: ``task/`` is prepended unless already there),
``?period=`` a shorthand ``[1-9]\\d*[smhdw]`` of at most 7 days (default ``1h``); anything else
is 400 ``Query Error``. The queue name is not looked up: an unknown queue gets zeroed metrics.

The real service reads ClickHouse; the emulator computes the same figures from its runs of that
queue in the key's environment, over the same bucket grid (12 buckets, at least 60 s each, the
window's end snapped up to the grid): ``waitMs`` p50/p95 of ``startedAt - createdAt`` for runs
started in the window (nearest rank; null when none), ``startedCount`` those runs,
``depthTrend`` the runs queued (created, not started, not finished) at each bucket's end,
``peakQueued`` its maximum, ``throttledCount`` 0 (the emulator does not throttle).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..validation import Checker
from ..world import format_date, to_ms

UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
MAX_PERIOD_MS = 7 * UNIT_MS["d"]
TREND_POINTS = 12


def register(router: Router) -> None:
    router.get(
        "/api/v1/queues/{queueParam}/metrics",
        queue_metrics,
        auth=auth.BEARER_JWT,
        authorization="read",
    )


def _query(request: ApiRequest) -> tuple[str, str]:
    check = Checker()
    raw_type = request.arg("type")
    kind = (
        check.enum(
            {"type": raw_type} if raw_type is not None else {},
            "type",
            ("task", "custom"),
            required=False,
        )
        or "task"
    )
    period = request.arg("period")
    if period is None:
        period = "1h"
    elif not re.fullmatch(r"[1-9]\d*[smhdw]", period):
        check.add(
            ["period"],
            "period must be a shorthand like '15m', '1h', or '24h'",
            "invalid_string",
            validation="regex",
        )
    elif int(period[:-1]) * UNIT_MS[period[-1]] > MAX_PERIOD_MS:
        check.add(["period"], "period is too large (max 7d)")
    check.raise_if(errors.query_error)
    return kind, period


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def queue_metrics(request: ApiRequest) -> Reply:
    kind, period = _query(request)
    with request.world.lock:
        request.authorize([("query", "queue_metrics")])
        env = request.principal.environment
        assert env is not None
        name = request.params["queueParam"].replace("%2F", "/")
        queue = f"task/{name}" if kind == "task" and not name.startswith("task/") else name
        window_ms = int(period[:-1]) * UNIT_MS[period[-1]]
        bucket_ms = max(60, round(window_ms / 1000 / TREND_POINTS)) * 1000
        now_ms = to_ms(request.world.now())
        end_ms = math.ceil(now_ms / bucket_ms) * bucket_ms
        start_ms = end_ms - window_ms
        grid_start = start_ms // bucket_ms * bucket_ms
        buckets = round((end_ms - grid_start) / bucket_ms)
        runs = [r for r in request.world.runs.in_environment(env.id) if r.queue == queue]

        waits = [
            to_ms(r.started_at) - to_ms(r.created_at)
            for r in runs
            if r.started_at is not None and start_ms <= to_ms(r.started_at) < end_ms
        ]

        def queued_at(at_ms: int) -> int:
            return sum(
                1
                for r in runs
                if to_ms(r.created_at) <= at_ms
                and (r.started_at is None or to_ms(r.started_at) > at_ms)
                and (r.completed_at is None or to_ms(r.completed_at) > at_ms)
            )

        trend = [queued_at(min(grid_start + (i + 1) * bucket_ms, now_ms)) for i in range(buckets)]
        utc = dt.timezone.utc
        return json_reply(
            {
                "queue": queue,
                "period": period,
                "from": format_date(dt.datetime.fromtimestamp(start_ms / 1000, utc)),
                "to": format_date(dt.datetime.fromtimestamp(end_ms / 1000, utc)),
                "waitMs": {"p50": _percentile(waits, 0.5), "p95": _percentile(waits, 0.95)},
                "peakQueued": max(trend, default=0),
                "startedCount": len(waits),
                "startedPerMin": round(len(waits) / (window_ms / 60_000), 2),
                "throttledCount": 0,
                "bucketIntervalMs": bucket_ms,
                "depthTrend": trend,
            }
        )
