"""Realtime run feeds (``runs.subscribeToRun``, ``subscribeToRunsWithTag``,
``subscribeToBatch``): ``GET /realtime/v1/runs/{runId}``, ``/realtime/v1/runs?tags=``,
``/realtime/v1/batches/{batchId}``, answered like the service's native realtime client
(``services/realtime/nativeRealtimeClient.server.ts``), which speaks Electric's HTTP
shape-stream protocol to the SDK's ``ShapeStream``:

* ``offset=-1`` (or no ``handle``): a snapshot — an ``insert`` per run, then ``up-to-date``;
  headers ``electric-offset``, ``electric-handle``, ``electric-schema`` (column types).
* ``offset=<o>&handle=<h>&live=true``: held until a run of the feed changes (the rows that
  changed, then ``up-to-date``) or ``realtime_hold`` seconds pass (a bare ``up-to-date``).
* ``offset=<o>&handle=<h>`` without ``live``: the snapshot again, under the same handle.
* without ``x-trigger-electric-version`` the legacy header names ``electric-chunk-last-offset``
  / ``electric-shape-id``; without ``x-trigger-api-version: 2025-07-16`` ``DEQUEUED`` reads
  ``EXECUTING``.

Authorization (RBAC ``read``): a run by ``runs:<id>``, ``tasks:<task>``, ``tags:<tag>`` or
``batch:<id>``; the tag feed by ``runs``, ``tags`` or ``tags:<tag>`` of a filter tag; a batch
by ``batch:<id>`` or ``runs``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply
from ..resources.realtime import RealtimeFeeds, schema_header
from ..resources.runs import Run, parse_duration
from ..world import Environment

ORDER = 40
STORES = {"realtime": RealtimeFeeds}
DEFAULT_HOLD_S = 20.0  # Electric's live long-poll hold (the service jitters it ±15%)
POLL_S = 0.05
MAX_CREATED_AT_AGE = dt.timedelta(days=1)  # REALTIME_MAXIMUM_CREATED_AT_FILTER_AGE_IN_MS
UNSAFE_TAG = re.compile(r'[\x00-\x1f\x7f\\"]')


def register(router: Router) -> None:
    router.get(
        "/realtime/v1/runs/{runId}",
        subscribe_run,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.get(
        "/realtime/v1/runs", subscribe_tags, auth=auth.BEARER_JWT, authorization="read", cors=True
    )
    router.get(
        "/realtime/v1/batches/{batchId}",
        subscribe_batch,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def subscribe_run(request: ApiRequest) -> Reply:
    world, env = request.world, _env(request)
    with world.lock:
        run = world.runs.get(request.params["runId"], env)
        if run is None:
            raise errors.not_found_loader(retry=False)
        resources: list[tuple[str, str | None]] = [
            ("runs", run.friendly_id),
            ("tasks", run.task_identifier),
        ]
        resources += [("tags", tag) for tag in run.tags]
        if run.batch_id:
            resources.append(("batch", run.batch_id))
    request.authorize(resources)
    run_id = run.friendly_id

    def select() -> list[Run]:
        found = world.runs.get(run_id, env)
        return [found] if found is not None else []

    return _feed(request, select, f"run-{run.id}")


def subscribe_tags(request: ApiRequest) -> Reply:
    raw = request.arg("tags")
    tags = raw.split(",") if raw else []
    for tag in tags:
        if not tag or UNSAFE_TAG.search(tag):
            raise errors.query_error(
                [{"code": "custom", "path": ["tags"], "message": f"Invalid tag: {json.dumps(tag)}"}]
            )
    request.authorize([("runs", None), ("tags", None), *(("tags", tag) for tag in tags)])
    world, env = request.world, _env(request)
    now = world.now()
    window_ms = parse_duration(request.arg("createdAt") or "24h") or 86_400_000
    after = max(now - dt.timedelta(milliseconds=window_ms), now - MAX_CREATED_AT_AGE)
    wanted = set(tags)

    def select() -> list[Run]:
        return sorted(
            (
                run
                for run in world.runs.in_environment(env.id)
                if wanted <= set(run.tags) and run.created_at > after
            ),
            key=lambda run: run.sort_key,
        )

    return _feed(request, select, None, handle_prefix="runs")


def subscribe_batch(request: ApiRequest) -> Reply:
    world, env = request.world, _env(request)
    batch_id = request.params["batchId"]
    with world.lock:
        batch = world.batches.get(batch_id, env.id)
    if batch is None:
        raise errors.not_found_loader(retry=True)
    request.authorize([("batch", batch.friendly_id), ("runs", None)])
    friendly = batch.friendly_id

    def select() -> list[Run]:
        return sorted(
            (run for run in world.runs.in_environment(env.id) if run.batch_id == friendly),
            key=lambda run: run.sort_key,
        )

    return _feed(request, select, None, handle_prefix=f"batch_{friendly}")


def _feed(
    request: ApiRequest, select: Any, fixed_handle: str | None, handle_prefix: str = ""
) -> Reply:
    world, env = request.world, _env(request)
    feeds: RealtimeFeeds = world.realtime
    offset = request.arg("offset") or "-1"
    handle = request.arg("handle") or request.arg("shape_id")
    skip = [c.strip() for c in (request.arg("skipColumns") or "").split(",")]
    realtime = request.principal.claims.get("realtime")
    if isinstance(realtime, dict) and isinstance(realtime.get("skipColumns"), list):
        skip = [str(c) for c in realtime["skipColumns"]]  # the token's choice wins
    modern = request.headers.get("x-trigger-electric-version") is not None

    if offset != "-1" and handle and request.arg("live") == "true":
        deadline = time.monotonic() + float(getattr(world, "realtime_hold", DEFAULT_HOLD_S))
        while True:
            with world.lock:
                world.runs.tick()
                found = feeds.changes(env.id, offset, select(), skip)
                seq = feeds.next_seq()
            if found is not None:
                messages, new_offset = found
                return _reply(request, messages, new_offset, handle, modern, cursor=seq)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or request.stop_event.wait(min(POLL_S, remaining)):
                return _reply(
                    request,
                    [{"headers": {"control": "up-to-date"}}],
                    offset,
                    handle,
                    modern,
                    cursor=seq,
                )

    with world.lock:
        world.runs.tick()
        messages, new_offset, _ = feeds.snapshot(env.id, select(), skip)
        if not handle:
            handle = fixed_handle or feeds.mint_handle(handle_prefix)
    return _reply(request, messages, new_offset, handle, modern, schema=schema_header(skip))


def _reply(
    request: ApiRequest,
    messages: list[dict[str, Any]],
    offset: str,
    handle: str,
    modern: bool,
    *,
    cursor: int | None = None,
    schema: str | None = None,
) -> Reply:
    body = json.dumps(messages, separators=(",", ":"))
    if not request.v2_statuses:
        body = body.replace('"status":"DEQUEUED"', '"status":"EXECUTING"')
    headers = {
        "cache-control": "no-store",
        "access-control-allow-origin": "*",
        "access-control-expose-headers": "*",
    }
    if modern:
        headers.update({"electric-offset": offset, "electric-handle": handle})
    else:
        headers.update({"electric-chunk-last-offset": offset, "electric-shape-id": handle})
    if cursor is not None:
        headers["electric-cursor"] = str(cursor)
    if schema is not None:
        headers["electric-schema"] = schema
    return Reply(200, body.encode(), headers)
