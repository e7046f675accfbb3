"""``POST /api/v1/tasks/{taskIdentifier}/trigger`` (API.md §6.2, §9.1)."""

from __future__ import annotations

from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..request_idempotency import scope_key
from ..resources.triggering import check_options, jwt_headers, trigger_run
from ..validation import Checker
from .public_tokens import check_one_time_use, mark_used

ORDER = 20
MAX_TRIGGER_BYTES = 3_145_728


def register(router: Router) -> None:
    router.post(
        "/api/v1/tasks/{taskIdentifier}/trigger",
        trigger_task,
        auth=auth.BEARER_JWT,
        authorization="trigger",
        max_content_length=MAX_TRIGGER_BYTES,
        cors=True,
    )


def idempotency_headers(request: ApiRequest) -> tuple[str | None, str | None]:
    """The ``idempotency-key`` / ``idempotency-key-ttl`` headers (400 Headers Error when the
    key is longer than 2048)."""
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > 2048:
        raise errors.headers_error(
            [
                {
                    "code": "too_big",
                    "maximum": 2048,
                    "type": "string",
                    "inclusive": True,
                    "exact": False,
                    "message": "String must contain at most 2048 character(s)",
                    "path": ["idempotency-key"],
                }
            ]
        )
    return key or None, request.headers.get("idempotency-key-ttl") or None


def trigger_task(request: ApiRequest) -> Reply:
    key, key_ttl = idempotency_headers(request)
    body = request.json()
    check = Checker()
    if check.object(body):
        check_options(check, body.get("options"), ["options"])
    check.raise_body_error()
    task = request.params["taskIdentifier"]
    request.authorize([("tasks", task)])
    world = request.world
    env = request.principal.environment
    assert env is not None
    options: dict[str, Any] = body.get("options") or {}
    scoped = scope_key(request.headers.get("x-trigger-request-idempotency-key"), [env.id, task])
    with world.lock:
        now_ms = world.clock.now_ms()
        cached = world.runs.by_id.get(request.idempotency.check("trigger", scoped, now_ms) or "")
        if cached is not None:
            request.replayed = True
            return json_reply(
                {"id": cached.friendly_id, "isCached": False},
                200,
                _run_jwt(request, cached.friendly_id),
            )
        one_time = check_one_time_use(
            request, f"Cannot trigger {task} with a one-time use token as it has already been used."
        )
        outcome = trigger_run(
            world,
            env,
            task,
            body.get("payload"),
            options,
            idempotency_key=key,
            idempotency_key_ttl=key_ttl,
            streams_version=request.headers.get("x-trigger-realtime-streams-version"),
        )
        mark_used(request, one_time)
        run_id = outcome.run.friendly_id
        request.idempotency.save("trigger", scoped, run_id, now_ms)
        return json_reply(
            {"id": run_id, "isCached": outcome.cached}, 200, _run_jwt(request, run_id)
        )


def _run_jwt(request: ApiRequest, run_id: str) -> dict[str, str]:
    env = request.principal.environment
    assert env is not None  # an authenticated request's principal has its environment
    return jwt_headers(request.world, env, [f"read:runs:{run_id}", f"write:inputStreams:{run_id}"])
