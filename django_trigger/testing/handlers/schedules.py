"""Schedule routes (API.md §6.5, §10), all family B (``auth.LEGACY``: every auth failure is
401 ``Invalid or Missing API Key``), and ``GET /api/v1/timezones`` (no auth).

==============================================  ===========================================
``POST   /api/v1/schedules``                    create (``deduplicationKey`` upserts)
``GET    /api/v1/schedules``                    offset list (``page``, ``perPage`` ≤ 100)
``GET    /api/v1/schedules/{scheduleId}``       retrieve by ``sched_…`` id or dedup key
``PUT    /api/v1/schedules/{scheduleId}``       full replacement; unknown → a new schedule
``DELETE /api/v1/schedules/{scheduleId}``       → ``{"id"}``
``POST   /api/v1/schedules/{id}/activate``      / ``…/deactivate``
``GET    /api/v1/timezones``                    ``{"timezones": […]}``, ``?excludeUtc=true``
==============================================  ===========================================

Bodies failing the schema → 400 ``Invalid request body`` + zod issues; service validation →
422 ``{"error"}`` (§10.3); a body that is not JSON at all makes the route's ``request.json()``
throw → 500, as on the real server. A schedule bound only to another environment is 404.

``js_number`` and ``offset_pagination`` are shared with the queue routes (same query schema).
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.schedules import (
    ScheduleError,
    ScheduleServerError,
    ScheduleStore,
    parse_window,
    seed_schedules,
    timezones,
)
from ..validation import MISSING, Checker
from ..world import Environment, World

STORES = {"schedules": ScheduleStore}
DEFAULT_PER_PAGE = 20
SERVER_ERROR = "Something went wrong, please try again."


def seed(world: World, rng: random.Random) -> None:
    seed_schedules(world, rng)


def register(router: Router) -> None:
    router.post("/api/v1/schedules", create_schedule, auth=auth.LEGACY)
    router.get("/api/v1/schedules", list_schedules, auth=auth.LEGACY)
    router.get("/api/v1/schedules/{scheduleId}", retrieve_schedule, auth=auth.LEGACY)
    router.put("/api/v1/schedules/{scheduleId}", update_schedule, auth=auth.LEGACY)
    router.delete("/api/v1/schedules/{scheduleId}", delete_schedule, auth=auth.LEGACY)
    router.post("/api/v1/schedules/{scheduleId}/activate", activate_schedule, auth=auth.LEGACY)
    router.post("/api/v1/schedules/{scheduleId}/deactivate", deactivate_schedule, auth=auth.LEGACY)
    # Not a route builder: apiCors with its defaults, so no exposed headers.
    router.get("/api/v1/timezones", list_timezones, auth=auth.NONE, cors=True, cors_exposed=())


# -- shared query parsing ----------------------------------------------------------------------

_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def js_number(text: str) -> float:
    """JavaScript's ``Number(text)`` (what ``z.coerce.number()`` does): blank → 0, decimal,
    hex/binary/octal literals, ``Infinity``; anything else is NaN."""
    text = text.strip()
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text)
    for prefix, base in (("0x", 16), ("0b", 2), ("0o", 8)):
        if text[:2].lower() == prefix:
            try:
                return float(int(text[2:], base))
            except ValueError:
                return math.nan
    if text.lstrip("+-") == "Infinity":
        return -math.inf if text.startswith("-") else math.inf
    return math.nan


def positive_int(check: Checker, raw: str | None, key: str) -> int | None:
    """``z.coerce.number().int().positive().optional()``: the value, or ``None`` (absent or
    invalid — the issues are on ``check``)."""
    if raw is None:
        return None
    value = js_number(raw)
    if value != value:
        check.add(
            [key],
            "Expected number, received nan",
            "invalid_type",
            expected="number",
            received="nan",
        )
        return None
    valid = True
    if not (math.isfinite(value) and value.is_integer()):
        check.add(
            [key],
            "Expected integer, received float",
            "invalid_type",
            expected="integer",
            received="float",
        )
        valid = False
    if not value > 0:
        check.add(
            [key],
            "Number must be greater than 0",
            "too_small",
            minimum=0,
            type="number",
            inclusive=False,
            exact=False,
        )
        valid = False
    return int(value) if valid else None


def offset_pagination(request: ApiRequest, check: Checker) -> tuple[int, int | None]:
    """``page`` (default 1) and ``perPage`` (silently capped at 100; ``None`` when absent)."""
    page = positive_int(check, request.arg("page"), "page")
    per_page = positive_int(check, request.arg("perPage"), "perPage")
    return page or 1, None if per_page is None else min(per_page, 100)


# -- helpers -----------------------------------------------------------------------------------


def _store(request: ApiRequest) -> ScheduleStore:
    return request.world.schedules


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def _json_body(request: ApiRequest) -> Any:
    """``await request.json()``: a body that is not JSON throws → 500."""
    try:
        return errors.load_json(request.body)
    except ValueError:
        raise errors.internal_error() from None


def _validate(body: Any, *, create: bool) -> dict[str, Any]:
    """``CreateScheduleOptions`` / ``UpdateScheduleOptions``; 400 ``Invalid request body``."""
    check = Checker()
    values: dict[str, Any] = {}
    if check.object(body):
        values["task"] = check.string(body, "task")
        values["cron"] = check.string(body, "cron")
        if create:
            values["deduplicationKey"] = check.string(body, "deduplicationKey")
        values["externalId"] = check.string(body, "externalId", required=False)
        values["timezone"] = check.string(body, "timezone", required=False)
        window = check.string(body, "window", required=False)
        if isinstance(window, str):
            try:
                parse_window(window)
            except ValueError as exc:
                check.add(["window"], str(exc))
        values["window"] = window
    check.raise_if(errors.invalid_request_body)
    return {k: (None if v is MISSING else v) for k, v in values.items()}


def _upsert(request: ApiRequest, values: dict[str, Any], **target: Any) -> Reply:
    store = _store(request)
    env = _env(request)
    try:
        schedule = store.upsert(
            env,
            task=values["task"],
            cron=values["cron"],
            timezone=values["timezone"],
            external_id=values["externalId"],
            window=values["window"],
            origin=request.base_url,
            **target,
        )
    except ScheduleError as exc:
        raise errors.api_error(422, str(exc)) from None
    except ScheduleServerError:
        raise errors.api_error(500, SERVER_ERROR) from None
    return json_reply(store.render_upsert(schedule, env))


def _visible(request: ApiRequest):
    status, schedule = _store(request).visibility(_env(request), request.params["scheduleId"])
    if status != "visible" or schedule is None:
        raise errors.api_error(404, "Schedule not found")
    return schedule


# -- routes ------------------------------------------------------------------------------------


def create_schedule(request: ApiRequest) -> Reply:
    values = _validate(_json_body(request), create=True)
    with request.world.lock:
        return _upsert(request, values, deduplication_key=values["deduplicationKey"])


def list_schedules(request: ApiRequest) -> Reply:
    check = Checker()
    page, per_page = offset_pagination(request, check)
    check.raise_if(errors.invalid_request_parameters)
    size = per_page or DEFAULT_PER_PAGE
    with request.world.lock:
        store = _store(request)
        env = _env(request)
        rows = store.in_environment(env)
        chunk = rows[(page - 1) * size : page * size]
        return json_reply(
            {
                "data": [store.render_list_item(s, env) for s in chunk],
                "pagination": {
                    "currentPage": page,
                    "totalPages": math.ceil(len(rows) / size),
                    "count": len(rows),
                },
            }
        )


def retrieve_schedule(request: ApiRequest) -> Reply:
    with request.world.lock:
        schedule = _visible(request)
        return json_reply(_store(request).render_view(schedule, _env(request)))


def update_schedule(request: ApiRequest) -> Reply:
    values = _validate(_json_body(request), create=False)
    with request.world.lock:
        status, _schedule = _store(request).visibility(_env(request), request.params["scheduleId"])
        if status == "hidden":
            raise errors.api_error(404, "Schedule not found")
        return _upsert(request, values, id_or_key=request.params["scheduleId"])


def delete_schedule(request: ApiRequest) -> Reply:
    with request.world.lock:
        schedule = _visible(request)
        _store(request).delete(schedule)
        return json_reply({"id": schedule.friendly_id})


def _set_active(request: ApiRequest, active: bool) -> Reply:
    with request.world.lock:
        schedule = _visible(request)
        schedule.active = active
        schedule.updated_at = request.now
        return json_reply(_store(request).render_view(schedule, _env(request)))


def activate_schedule(request: ApiRequest) -> Reply:
    return _set_active(request, True)


def deactivate_schedule(request: ApiRequest) -> Reply:
    return _set_active(request, False)


def list_timezones(request: ApiRequest) -> Reply:
    return json_reply({"timezones": timezones(include_utc=request.arg("excludeUtc") != "true")})
