"""Waitpoint tokens (docs/API-ADDENDUM.md §1): create, list, retrieve, complete, and the
callback URL a token's ``url`` points at.

``GET /api/v1/waitpoints/tokens/{id}`` answers an unknown token with 500, as the real loader
does (its presenter throws a ServiceValidationError that only action builders map to 4xx).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.runs import parse_duration
from ..resources.triggering import jwt_headers
from ..resources.waitpoints import ABSENT, WaitpointStore, WaitpointToken, parse_ttl
from ..validation import MISSING, Checker
from ..world import parse_date, to_ms
from .runs import page_size_issues

ORDER = 60
STORES = {"waitpoints": WaitpointStore}
MAX_CREATE_BYTES = 10 * 1024
MAX_COMPLETE_BYTES = 3_145_728  # TASK_PAYLOAD_MAXIMUM_SIZE
MAX_TAGS = 10
DEFAULT_PAGE_SIZE = 25
STATUSES = ("WAITING", "COMPLETED", "TIMED_OUT")
_NATURAL = re.compile(r"^(\d+(?:w|d|hr|h|m|s))+$")
_UNIT_MS = (
    ("w", r"(\d+)w", 604_800_000),
    ("d", r"(\d+)d", 86_400_000),
    ("h", r"(\d+)(?:hr|h)", 3_600_000),
    ("m", r"(\d+)m", 60_000),
    ("s", r"(\d+)s", 1000),
)


def register(router: Router) -> None:
    router.post(
        "/api/v1/waitpoints/tokens",
        create_token,
        auth=auth.BEARER,
        max_content_length=MAX_CREATE_BYTES,
    )
    router.get("/api/v1/waitpoints/tokens", list_tokens, auth=auth.BEARER)
    router.get("/api/v1/waitpoints/tokens/{waitpointFriendlyId}", retrieve_token, auth=auth.BEARER)
    router.post(
        "/api/v1/waitpoints/tokens/{waitpointFriendlyId}/complete",
        complete_token,
        auth=auth.BEARER_JWT,
        authorization="write",
        max_content_length=MAX_COMPLETE_BYTES,
        cors=True,
    )
    router.post(
        "/api/v1/waitpoints/tokens/{waitpointFriendlyId}/callback/{hash}",
        complete_by_callback,
        auth=auth.NONE,
    )


# -- timeouts as the server parses them --------------------------------------------------------


def parse_delay(value: str, now: dt.datetime) -> dt.datetime | None:
    """``parseDelay``: a date (a past one means no timeout) or ``parseNaturalLanguageDuration``
    (each unit's first number counts; anything unparsable means no timeout)."""
    when = parse_date(value) if not value.strip().isdigit() else None
    if when is not None:
        return when if when > now else None
    if len(value) > 100 or not _NATURAL.fullmatch(value):  # JS "$": the very end
        return None
    total = 0
    for _unit, pattern, unit_ms in _UNIT_MS:
        match = re.search(pattern, value)
        if match:
            total += int(match[1]) * unit_ms
    return now + dt.timedelta(milliseconds=total)


# -- routes -----------------------------------------------------------------------------------


def create_token(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    if check.object(body):
        key = check.string(body, "idempotencyKey", required=False, max_length=2048)
        check.string(body, "idempotencyKeyTTL", required=False)
        timeout = body.get("timeout", MISSING)
        if timeout is not MISSING and not isinstance(timeout, str):
            check.add(["timeout"], "Invalid input", "invalid_union")
        check.string_or_list(body, "tags", max_length=128)
    check.raise_body_error()
    env = request.principal.environment
    assert env is not None
    tags_value = body.get("tags")
    tags = [tags_value] if isinstance(tags_value, str) else list(tags_value or [])
    if len(tags) > MAX_TAGS:
        raise errors.api_error(
            422, f"Waitpoints can only have {MAX_TAGS} tags, you're trying to set {len(tags)}."
        )
    world = request.world
    with world.lock:
        now = world.now()
        key = body.get("idempotencyKey") or None
        token, cached = world.waitpoints.create(
            env,
            idempotency_key=key,
            key_expires_at=parse_ttl(body.get("idempotencyKeyTTL"), now) if key else None,
            timeout_at=parse_delay(body["timeout"], now) if body.get("timeout") else None,
            tags=tags,
            now=now,
        )
        answer = {
            "id": token.friendly_id,
            "isCached": cached,
            "url": world.waitpoints.callback_url(request.base_url, token),
        }
        return json_reply(
            answer, 200, jwt_headers(world, env, [f"write:waitpoints:{token.friendly_id}"])
        )


def list_tokens(request: ApiRequest) -> Reply:
    issues: list[dict[str, Any]] = []
    size, size_issues = page_size_issues(request.arg("page[size]"))
    issues += size_issues
    statuses: set[str] = set()
    raw_status = request.arg("filter[status]")
    if raw_status:
        given = raw_status.split(",")
        invalid = [s for s in given if s not in STATUSES]
        if invalid:
            issues.append(
                {
                    "code": "custom",
                    "path": ["filter[status]"],
                    "message": f"Invalid status values: {', '.join(invalid)}",
                }
            )
        statuses = set(given)
    bounds: dict[str, int] = {}
    for key in ("filter[createdAt][from]", "filter[createdAt][to]"):
        raw = request.arg(key)
        if raw:
            parsed = parse_date(raw)
            if parsed is None:
                issues.append({"code": "invalid_date", "path": [key], "message": "Invalid date"})
            else:
                bounds[key] = to_ms(parsed)
    if issues:
        raise errors.query_error(issues)

    env = request.principal.environment
    assert env is not None
    world = request.world
    now_ms = world.clock.now_ms()
    lower: int | None = None
    period = request.arg("filter[createdAt][period]")
    period_ms = parse_duration(period) if period else None
    if period_ms is not None:
        lower = now_ms - period_ms
    if "filter[createdAt][from]" in bounds:
        lower = max(lower or 0, bounds["filter[createdAt][from]"])
    upper = bounds.get("filter[createdAt][to]")
    tags = set((request.arg("filter[tags]") or "").split(",")) - {""}
    idempotency_key = request.arg("filter[idempotencyKey]")
    # One status: COMPLETED and TIMED_OUT differ by the error flag; several: by stored status.
    stored = {"WAITING": "PENDING", "COMPLETED": "COMPLETED", "TIMED_OUT": "COMPLETED"}
    only_error = (
        {"COMPLETED": False, "TIMED_OUT": True}.get(next(iter(statuses)))
        if len(statuses) == 1
        else None
    )

    def matches(token: WaitpointToken) -> bool:
        created = to_ms(token.created_at)
        return (
            (not statuses or token.status in {stored[s] for s in statuses})
            and (only_error is None or token.output_is_error is only_error)
            and (
                not idempotency_key
                or idempotency_key in (token.idempotency_key, token.inactive_idempotency_key)
            )
            and (lower is None or created >= lower)
            and (upper is None or created <= upper)
            and (not tags or bool(tags & set(token.tags)))
        )

    page_size = size or DEFAULT_PAGE_SIZE
    after, before = request.arg("page[after]"), request.arg("page[before]")
    backward = bool(before)
    cursor = before if backward else after
    with world.lock:
        rows = [t for t in world.waitpoints.in_environment(env.id) if matches(t)]
        if backward:
            rows = sorted((t for t in rows if t.id > cursor), key=lambda t: t.id)
        elif cursor:
            rows = [t for t in rows if t.id < cursor]
        rows = rows[: page_size + 1]
        has_more = len(rows) > page_size
        pagination: dict[str, str] = {}
        if backward:
            rows.reverse()
            if has_more:
                pagination = {"next": rows[page_size].id, "previous": rows[1].id}
                rows = rows[1 : page_size + 1]
            elif len(rows) >= page_size:
                pagination = {"next": rows[page_size - 1].id}
        else:
            if cursor and rows:
                pagination["previous"] = rows[0].id
            if has_more:
                pagination["next"] = rows[page_size - 1].id
            rows = rows[:page_size]
        data = [world.waitpoints.render_list_item(t, request.base_url) for t in rows]
    return json_reply({"data": data, "pagination": pagination})


def retrieve_token(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    friendly = request.params["waitpointFriendlyId"]
    _check_friendly_id(friendly)
    with request.world.lock:
        token = request.world.waitpoints.get(friendly, env)
        if token is None:
            raise errors.internal_error()
        return json_reply(request.world.waitpoints.render_retrieve(token, request.base_url))


def complete_token(request: ApiRequest) -> Reply:
    friendly = request.params["waitpointFriendlyId"]
    body = request.json()
    check = Checker()
    check.object(body)
    check.raise_body_error()
    request.authorize([("waitpoints", friendly)])
    _check_friendly_id(friendly)
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        if request.world.waitpoints.get(friendly, env) is None:
            raise errors.api_error(404, "Waitpoint not found")
        request.world.waitpoints.complete(friendly, body.get("data", ABSENT))
    return json_reply({"success": True})


def complete_by_callback(request: ApiRequest) -> Reply:
    if not request.headers.get("Content-Length"):
        raise errors.api_error(411, "Content-Length header is required")
    if int(request.headers["Content-Length"]) > MAX_COMPLETE_BYTES:
        raise errors.api_error(413, "Request body too large")
    friendly = request.params["waitpointFriendlyId"]
    _check_friendly_id(friendly)
    store = request.world.waitpoints
    with request.world.lock:
        token = store.get(friendly)
        if token is None:
            raise errors.api_error(404, "Waitpoint not found")
        if request.params["hash"] != store.callback_hash(token):
            raise errors.api_error(401, "Invalid URL, hash doesn't match")
        body = request.json_or_none()
        store.complete(friendly, {} if body is None else body)
    return json_reply({"success": True})


def _check_friendly_id(friendly: str) -> None:
    # WaitpointId.toId throws outside the routes' error handling for "waitpoint_a_b": a 500.
    if friendly.startswith("waitpoint_") and len(friendly.split("_")) != 2:
        raise errors.internal_error()
