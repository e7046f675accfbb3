"""Concurrency limit routes (docs/API-ADDENDUM.md §16), family A (secret keys).

==========================================================  ==================================
``GET  /api/v1/concurrency-limits``                         offset list (``perPage`` 25, ≤ 100)
``GET  /api/v1/concurrency-limits/{name}[?concurrencyKey=]``  the limit, or one key's view
``POST /api/v1/concurrency-limits/{name}/override``         ``{perKey?, total?}`` or
                                                            ``{concurrencyKey, perKey, ttl?}``
``POST /api/v1/concurrency-limits/{name}/reset``            ``{}`` or ``{concurrencyKey}``
``POST /api/v1/concurrency-limits/{name}/pause``            ``{"action":"pause"|"resume"}``
==========================================================  ==================================

The server's routes are not in the mirrored source: bodies are checked as the SDK's schemas
(``OverrideConcurrencyLimitRequestBody`` and friends, their messages verbatim), errors use the
A-family shapes; an unknown name is 404 ``{"error":"Concurrency limit not found"}``.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.concurrency_limits import (
    DEFAULT_KEY_TTL,
    MAX_KEY_TTL,
    ConcurrencyLimit,
    ConcurrencyLimitStore,
    seed_concurrency_limits,
)
from ..validation import MISSING, Checker
from ..world import Environment, World
from .schedules import offset_pagination

ORDER = 120  # after queues: the inline limits are the task queues' code-defined limits
STORES = {"concurrency_limits": ConcurrencyLimitStore}
DEFAULT_PER_PAGE = 25
MAX_BOUND = 100_000
_DURATION = re.compile(r"(?:\d+(?:w|d|hr|h|m|s))+")
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "hr": 3_600, "h": 3_600, "m": 60, "s": 1}


def seed(world: World, rng: random.Random) -> None:
    seed_concurrency_limits(world, rng)


def register(router: Router) -> None:
    base = "/api/v1/concurrency-limits"
    router.get(base, list_limits, auth=auth.BEARER, authorization="read")
    router.get(base + "/{name}", retrieve_limit, auth=auth.BEARER, authorization="read")
    router.post(base + "/{name}/override", override_limit, auth=auth.BEARER, authorization="write")
    router.post(base + "/{name}/reset", reset_limit, auth=auth.BEARER, authorization="write")
    router.post(base + "/{name}/pause", pause_limit, auth=auth.BEARER, authorization="write")


def _store(request: ApiRequest) -> ConcurrencyLimitStore:
    return request.world.concurrency_limits


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def _limit(request: ApiRequest) -> ConcurrencyLimit:
    request.authorize([("queues", None)])
    limit = _store(request).find(_env(request), request.params["name"])
    if limit is None:
        raise errors.api_error(404, "Concurrency limit not found")
    return limit


def _key(check: Checker, body: Any, required: bool = False) -> Any:
    """``OverrideConcurrencyKeySchema``: a string or number, as a string of 1–128 chars."""
    value = body.get("concurrencyKey", MISSING) if isinstance(body, dict) else MISSING
    if value is MISSING:
        if required:
            check.add(["concurrencyKey"], "Required", "invalid_type", expected="string")
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        check.add(["concurrencyKey"], "Invalid input", "invalid_union")
        return MISSING
    text = value if isinstance(value, str) else _js_string(value)
    check.string({"concurrencyKey": text}, "concurrencyKey", min_length=1, max_length=128)
    return text


def _js_string(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def _ttl(check: Checker, body: dict[str, Any]) -> dt.timedelta | None:
    """``ttl``: a duration string (``"7d"``, ``"12h"``) or a positive integer of seconds."""
    value = body.get("ttl", MISSING)
    if value is MISSING:
        return None
    if isinstance(value, str) and _DURATION.fullmatch(value):
        seconds = sum(
            int(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"(\d+)(w|d|hr|h|m|s)", value)
        )
    elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
        seconds = value
    else:
        check.add(["ttl"], "ttl must be a duration such as '7d' or a positive number of seconds")
        return None
    ttl = dt.timedelta(seconds=seconds)
    if ttl > MAX_KEY_TTL:
        check.add(["ttl"], "ttl must be at most 30 days")
    elif seconds <= 0:
        check.add(["ttl"], "ttl must be a positive duration")
    return ttl


# -- routes ----------------------------------------------------------------------------------------


def list_limits(request: ApiRequest) -> Reply:
    check = Checker()
    page, per_page = offset_pagination(request, check)
    check.raise_if(errors.query_error)
    with request.world.lock:
        request.authorize([("queues", None)])
        store = _store(request)
        limits, total_pages, count = store.page(_env(request), page, per_page or DEFAULT_PER_PAGE)
        return json_reply(
            {
                "data": [store.render(limit) for limit in limits],
                "pagination": {"currentPage": page, "totalPages": total_pages, "count": count},
            }
        )


def retrieve_limit(request: ApiRequest) -> Reply:
    check = Checker()
    raw = request.arg("concurrencyKey")
    key = _key(check, {"concurrencyKey": raw} if raw is not None else {})
    check.raise_if(errors.query_error)
    with request.world.lock:
        limit = _limit(request)
        store = _store(request)
        if key is MISSING:
            return json_reply(store.render(limit))
        return json_reply(store.render_key(limit, key))


def override_limit(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    key = per_key = total = MISSING
    ttl = None
    if check.object(body):
        per_key = check.number(
            body, "perKey", required=False, integer=True, minimum=0, maximum=MAX_BOUND
        )
        total = check.number(
            body, "total", required=False, integer=True, minimum=0, maximum=MAX_BOUND
        )
        key = _key(check, body)
        ttl = _ttl(check, body)
        if "concurrencyKey" in body:
            if "perKey" not in body:
                check.add(["perKey"], "A per-key override needs `perKey`")
            if "total" in body:
                check.add(
                    ["total"],
                    "`total` is not per key; omit it when overriding one concurrencyKey",
                )
        else:
            if "ttl" in body:
                check.add(
                    ["ttl"],
                    "`ttl` only applies to a per-key override; pass `concurrencyKey` with it",
                )
            if "perKey" not in body and "total" not in body:
                check.add([], "Provide at least one of `perKey` or `total`")
    check.raise_body_error()
    with request.world.lock:
        limit = _limit(request)
        store = _store(request)
        if key is not MISSING:
            store.override_key(limit, key, int(per_key), ttl or DEFAULT_KEY_TTL)
            return json_reply(store.render_key(limit, key))
        store.override(
            limit,
            per_key=None if per_key is MISSING else int(per_key),
            total=None if total is MISSING else int(total),
        )
        return json_reply(store.render(limit))


def reset_limit(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    key = _key(check, body) if check.object(body) else MISSING
    check.raise_body_error()
    with request.world.lock:
        limit = _limit(request)
        store = _store(request)
        if key is not MISSING:
            store.reset_key(limit, key)
            return json_reply(store.render_key(limit, key))
        store.reset(limit)
        return json_reply(store.render(limit))


def pause_limit(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    action = check.enum(body, "action", ("pause", "resume")) if check.object(body) else MISSING
    check.raise_body_error()
    with request.world.lock:
        limit = _limit(request)
        limit.paused = action == "pause"
        return json_reply(_store(request).render(limit))
