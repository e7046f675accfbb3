"""``POST /api/v1/idempotencyKeys/{key}/reset`` (API.md §6.9): forget a run idempotency key so
the next trigger with it creates a new run."""

from __future__ import annotations

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..validation import Checker

ORDER = 50


def register(router: Router) -> None:
    router.post(
        "/api/v1/idempotencyKeys/{key}/reset",
        reset_idempotency_key,
        auth=auth.BEARER,
        authorization="write",
        cors=True,
    )


def reset_idempotency_key(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    if check.object(body):
        check.string(body, "taskIdentifier", min_length=1)
    check.raise_body_error()
    key, task = request.params["key"], body["taskIdentifier"]
    request.authorize([("tasks", task)])
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        if request.world.runs.reset_idempotency_key(env, task, key) == 0:
            raise errors.api_error(
                404, f"No runs found with idempotency key: {key} and task: {task}"
            )
        return json_reply({"id": key})
