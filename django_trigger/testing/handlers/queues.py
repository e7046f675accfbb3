"""Queue routes (API.md §6.6), all family A (secret keys; retrieve also takes a public JWT).

=====================================================  =======================================
``GET  /api/v1/queues``                                offset list (``perPage`` 25, ≤ 100)
``GET  /api/v1/queues/{queue}?type=id|task|custom``    404 ``{"error":"queue-not-found"}``
``POST /api/v1/queues/{queue}/pause``                  ``{"type"?, "action":"pause"|"resume"}``
``POST /api/v1/queues/{queue}/concurrency/override``   exactly one of ``concurrencyLimit`` /
                                                       ``percent``; 404 ``Queue not found``
``POST /api/v1/queues/{queue}/concurrency/reset``      400 ``Queue is not overridden``
=====================================================  =======================================

``{queue}``: the router decodes the path segment once; the route then turns ``%2F`` back into
``/`` (the SDK sends ``/`` as ``%252F``), and for ``task``/``custom`` lookups decodes the value
once more (``decodeURIComponent``) before repeating the ``%2F`` replacement — as the server.
"""

from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import unquote

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.queues import Queue, QueueError, QueueStore, seed_queues
from ..validation import MISSING, Checker
from ..world import Environment, World
from .schedules import offset_pagination

ORDER = 110  # seeds after deployments, whose task catalogue names the task queues
STORES = {"queues": QueueStore}
DEFAULT_PER_PAGE = 25
QUEUE_TYPES = ("id", "task", "custom")


def seed(world: World, rng: random.Random) -> None:
    seed_queues(world, rng)


def register(router: Router) -> None:
    router.get("/api/v1/queues", list_queues, auth=auth.BEARER, authorization="read")
    router.get(
        "/api/v1/queues/{queueParam}", retrieve_queue, auth=auth.BEARER_JWT, authorization="read"
    )
    router.post(
        "/api/v1/queues/{queueParam}/pause", pause_queue, auth=auth.BEARER, authorization="write"
    )
    router.post(
        "/api/v1/queues/{queueParam}/concurrency/override",
        override_queue,
        auth=auth.BEARER,
        authorization="write",
    )
    router.post(
        "/api/v1/queues/{queueParam}/concurrency/reset",
        reset_queue,
        auth=auth.BEARER,
        authorization="write",
    )


def _store(request: ApiRequest) -> QueueStore:
    return request.world.queues


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def _engine_v1(request: ApiRequest) -> bool:
    project = request.principal.project
    return project is not None and project.engine == "V1"


def _decode_uri_component(value: str) -> str:
    """JavaScript's ``decodeURIComponent``: a stray ``%`` or invalid UTF-8 throws (→ 500)."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise errors.internal_error()
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise errors.internal_error() from None


def _lookup(request: ApiRequest, kind: str) -> Queue | None:
    param = request.params["queueParam"].replace("%2F", "/")
    if kind != "id":
        param = _decode_uri_component(param).replace("%2F", "/")
    return _store(request).find(_env(request), param, kind)


def _body(request: ApiRequest) -> tuple[Checker, Any, str]:
    """The action-route body: ``Request body is empty`` / ``Invalid JSON`` first, then the
    object with its optional ``type`` (default ``id``)."""
    body = request.json()
    check = Checker()
    kind = MISSING
    if check.object(body):
        kind = check.enum(body, "type", QUEUE_TYPES, required=False)
    return check, body, kind or "id"


# -- routes ----------------------------------------------------------------------------------------


def list_queues(request: ApiRequest) -> Reply:
    check = Checker()
    page, per_page = offset_pagination(request, check)
    check.raise_if(errors.query_error)
    with request.world.lock:
        request.authorize([("queues", None)])
        if _engine_v1(request):
            raise errors.api_error(400, "engine-version")
        store = _store(request)
        size = per_page or DEFAULT_PER_PAGE
        queues, total_pages, count = store.page(_env(request), page, size)
        return json_reply(
            {
                "data": [store.render(q, with_percent=True) for q in queues],
                "pagination": {"currentPage": page, "totalPages": total_pages, "count": count},
            }
        )


def retrieve_queue(request: ApiRequest) -> Reply:
    check = Checker()
    raw = request.arg("type")
    kind = check.enum({"type": raw} if raw is not None else {}, "type", QUEUE_TYPES, required=False)
    check.raise_if(errors.query_error)
    with request.world.lock:
        request.authorize([("queues", None)])
        if _engine_v1(request):
            raise errors.api_error(400, "engine-version")
        queue = _lookup(request, kind or "id")
        if queue is None:
            raise errors.api_error(404, "queue-not-found")
        return json_reply(_store(request).render(queue, with_percent=True))


def pause_queue(request: ApiRequest) -> Reply:
    check, body, kind = _body(request)
    action = check.enum(body, "action", ("pause", "resume")) if isinstance(body, dict) else None
    check.raise_body_error()
    with request.world.lock:
        request.authorize([("queues", None)])
        if _engine_v1(request):
            raise errors.api_error(400, "engine-version")
        queue = _lookup(request, kind)
        if queue is None:
            raise errors.api_error(404, "queue-not-found")
        queue.paused = action == "pause"
        return json_reply(_store(request).render(queue))


def override_queue(request: ApiRequest) -> Reply:
    check, body, kind = _body(request)
    limit = percent = MISSING
    if isinstance(body, dict):
        limit = check.number(
            body, "concurrencyLimit", required=False, integer=True, minimum=0, maximum=100_000
        )
        percent = check.number(body, "percent", required=False, exclusive_minimum=0, maximum=100)
        if check.ok and ("concurrencyLimit" in body) == ("percent" in body):
            check.add([], "Provide exactly one of `concurrencyLimit` or `percent`")
    check.raise_body_error()
    with request.world.lock:
        request.authorize([("queues", None)])
        queue = _lookup(request, kind)
        if queue is None:
            raise errors.api_error(404, "Queue not found")
        store = _store(request)
        try:
            if percent is not MISSING:
                store.override(_env(request), queue, percent=percent)
            else:
                store.override(_env(request), queue, limit=int(limit))
        except QueueError as exc:
            raise errors.api_error(400, exc.message) from None
        return json_reply(store.render(queue))


def reset_queue(request: ApiRequest) -> Reply:
    check, _body_value, kind = _body(request)
    check.raise_body_error()
    with request.world.lock:
        request.authorize([("queues", None)])
        queue = _lookup(request, kind)
        if queue is None:
            raise errors.api_error(404, "Queue not found")
        store = _store(request)
        try:
            store.reset(queue)
        except QueueError as exc:
            raise errors.api_error(400, exc.message) from None
        return json_reply(store.render(queue))
