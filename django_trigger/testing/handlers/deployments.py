"""Deployment routes (API.md §6.7).

=====================================================  ====================================
``GET  /api/v1/deployments``                           family A (JWT allowed), forward-only
                                                       cursor, ``page[size]`` 1–100 then
                                                       clamped to 5–100 (default 20)
``GET  /api/v1/deployments/current``                   family A (JWT allowed), not rate
                                                       limited, 404 ``Not found`` when none
``GET  /api/v1/deployments/{deploymentId}``            family C (``read:deployments``)
``GET  /api/v1/deployments/latest``                    family C, the newest UNMANAGED one
``POST /api/v1/deployments/{version}/promote``         family C (``write:deployments``),
                                                       ``?allowRollbacks=true``
=====================================================  ====================================

The list's ``page[after]`` is a deployment id of the caller's environment; an unknown id is
ignored (the first page comes back), as on the real server. A bad ``period``/``from``/``to``
throws inside the loader, which the real route builder turns into a 500.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.deployments import (
    LIST_STATUSES,
    Deployment,
    DeploymentError,
    DeploymentStore,
    seed_deployments,
)
from ..resources.runs import parse_duration
from ..validation import Checker
from ..world import World, parse_date
from .schedules import js_number

STORES = {"deployments": DeploymentStore}
DEFAULT_PAGE_SIZE = 20


def seed(world: World, rng: random.Random) -> None:
    seed_deployments(world, rng)


def register(router: Router) -> None:
    router.get("/api/v1/deployments", list_deployments, auth=auth.BEARER_JWT, authorization="read")
    router.get(
        "/api/v1/deployments/current",
        current_deployment,
        auth=auth.BEARER_JWT,
        authorization="read",
    )
    router.get(
        "/api/v1/deployments/latest", latest_deployment, auth=auth.scoped("read:deployments")
    )
    router.get(
        "/api/v1/deployments/{deploymentId}",
        retrieve_deployment,
        auth=auth.scoped("read:deployments"),
    )
    router.post(
        "/api/v1/deployments/{version}/promote",
        promote_deployment,
        auth=auth.scoped("write:deployments"),
    )


def _store(request: ApiRequest) -> DeploymentStore:
    return request.world.deployments


def _env(request: ApiRequest):
    env = request.principal.environment
    assert env is not None
    return env


# -- list ------------------------------------------------------------------------------------------


def _page_size(raw: str | None, check: Checker) -> float | None:
    """``z.coerce.number().min(1, …).max(100, …)`` — no integer check."""
    if raw is None:
        return None
    value = js_number(raw)
    if value != value:  # NaN
        check.add(
            ["page[size]"],
            "Expected number, received nan",
            "invalid_type",
            expected="number",
            received="nan",
        )
        return None
    if value < 1:
        check.add(
            ["page[size]"],
            "Limit must be at least 1",
            "too_small",
            minimum=1,
            type="number",
            inclusive=True,
            exact=False,
        )
    if value > 100:
        check.add(
            ["page[size]"],
            "Limit must be less than 100",
            "too_big",
            maximum=100,
            type="number",
            inclusive=True,
            exact=False,
        )
    return value


def _parse_date_param(value: str) -> dt.datetime:
    """core ``parseDate``: 10-digit epoch seconds, 13-digit epoch ms, or a date string."""
    if re.fullmatch(r"\d+", value):
        if len(value) == 10:
            return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc)
        if len(value) == 13:
            return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.timezone.utc)
        raise errors.internal_error()
    parsed = parse_date(value)
    if parsed is None:
        raise errors.internal_error()
    return parsed


def _created_window(request: ApiRequest) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``getCreatedAtFilter``: ``period`` wins, then ``from`` + ``to``, then ``from`` alone
    (``to`` alone is ignored). Invalid values throw → 500."""
    period, start, end = request.arg("period"), request.arg("from"), request.arg("to")
    if period:
        duration = parse_duration(period)
        if not duration:
            raise errors.internal_error()
        now = request.now
        return now - dt.timedelta(milliseconds=duration), now
    if start and end:
        return _parse_date_param(start), _parse_date_param(end)
    if start:
        return _parse_date_param(start), None
    return None, None


def list_deployments(request: ApiRequest) -> Reply:
    check = Checker()
    size = _page_size(request.arg("page[size]"), check)
    raw_status = request.arg("status")
    status = check.enum(
        {"status": raw_status} if raw_status is not None else {},
        "status",
        LIST_STATUSES,
        required=False,
    )
    check.raise_if(errors.query_error)
    limit = max(min(size if size is not None else DEFAULT_PAGE_SIZE, 100), 5)
    if limit != int(limit):
        raise errors.internal_error()  # Prisma refuses a fractional ``take``
    limit = int(limit)
    with request.world.lock:
        request.authorize([("deployments", "list")])
        start, end = _created_window(request)
        store = _store(request)
        env = _env(request)
        rows = store.in_environment(env.id)
        after_id = request.arg("page[after]")
        after = store.get(env.id, after_id) if after_id else None
        if after is not None:
            rows = [d for d in rows if d.sort_key < after.sort_key]
        if start is not None:
            rows = [d for d in rows if d.created_at >= start]
        if end is not None:
            rows = [d for d in rows if d.created_at <= end]
        if status:
            rows = [d for d in rows if d.status == status]
        page = rows[:limit]
        pagination: dict[str, Any] = {}
        if len(rows) > limit:
            pagination["next"] = page[-1].friendly_id
        return json_reply({"data": [d.list_item() for d in page], "pagination": pagination})


def current_deployment(request: ApiRequest) -> Reply:
    with request.world.lock:
        deployment = _store(request).current_for(_env(request))
        if deployment is None:  # the resource lookup runs before authorization on loaders
            raise errors.not_found_loader(retry=False)
        request.authorize([("deployments", "current")])
        return json_reply(deployment.list_item())


# -- family C --------------------------------------------------------------------------------------


def _not_found() -> errors.HttpError:
    return errors.api_error(404, "Deployment not found")


def retrieve_deployment(request: ApiRequest) -> Reply:
    with request.world.lock:
        deployment = _store(request).get(_env(request).id, request.params["deploymentId"])
        if deployment is None:
            raise _not_found()
        return json_reply(deployment.detail())


def latest_deployment(request: ApiRequest) -> Reply:
    with request.world.lock:
        deployment = _store(request).latest_unmanaged(_env(request))
        if deployment is None:
            raise _not_found()
        return json_reply(deployment.latest())


def promote_deployment(request: ApiRequest) -> Reply:
    allow_rollbacks = request.arg("allowRollbacks") == "true"
    with request.world.lock:
        store = _store(request)
        deployment: Deployment | None = store.by_version(
            _env(request).id, request.params["version"]
        )
        if deployment is None:
            raise _not_found()
        try:
            store.promote(deployment, allow_rollbacks=allow_rollbacks)
        except DeploymentError as exc:
            raise errors.api_error(400, str(exc)) from None
        return json_reply(
            {
                "id": deployment.friendly_id,
                "version": deployment.version,
                "shortCode": deployment.short_code,
            }
        )
