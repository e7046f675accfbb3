"""Batch trigger and batch retrieval (API.md §6.2, §6.3, §9.2, §9.3): the current SDK's
two-phase flow (``POST /api/v3/batches`` then NDJSON ``…/items``), the older
``/api/v1/tasks/batch``, ``/api/v1/tasks/{id}/batch`` and ``/api/v2/tasks/batch``, and
``GET /api/v1|v2/batches/{id}`` + ``…/results``."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..request_idempotency import scope_key
from ..resources.batches import Batch, BatchStore
from ..resources.triggering import check_options, idempotency_expiry, jwt_headers, trigger_run
from ..validation import Checker, received_type
from ..world import World
from .public_tokens import authorize_every, check_one_time_use, mark_used
from .tasks import idempotency_headers

ORDER = 30
STORES = {"batches": BatchStore}
MAX_V1_BATCH_BYTES = 1_000_000
MAX_TASK_BATCH_BYTES = 3_145_728
MAX_CREATE_BATCH_BYTES = 131_072
MAX_ITEM_BYTES = 3_145_728
MAX_BATCH_ITEMS = 500
MAX_TASK_BATCH_ITEMS = 100
MAX_RUN_COUNT = 1000
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson")

STREAMS_VERSION = "x-trigger-realtime-streams-version"


def register(router: Router) -> None:
    router.post(
        "/api/v1/tasks/batch",
        batch_trigger_v1,
        auth=auth.BEARER,
        authorization="trigger",
        max_content_length=MAX_V1_BATCH_BYTES,
        cors=True,
    )
    router.post(
        "/api/v1/tasks/{taskIdentifier}/batch",
        batch_trigger_task,
        auth=auth.BEARER,
        authorization="trigger",
        max_content_length=MAX_TASK_BATCH_BYTES,
    )
    router.post(
        "/api/v2/tasks/batch",
        batch_trigger_v2,
        auth=auth.BEARER_JWT,
        authorization="batchTrigger",
        max_content_length=MAX_V1_BATCH_BYTES,
        cors=True,
    )
    router.post(
        "/api/v3/batches",
        create_batch,
        auth=auth.BEARER_JWT,
        authorization="batchTrigger",
        max_content_length=MAX_CREATE_BATCH_BYTES,
        cors=True,
    )
    router.post(
        "/api/v3/batches/{batchId}/items",
        stream_batch_items,
        auth=auth.BEARER_JWT,
        authorization="batchTrigger",
    )
    router.get(
        "/api/v1/batches/{batchId}",
        retrieve_batch_v1,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.get(
        "/api/v2/batches/{batchId}",
        retrieve_batch_v2,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.get("/api/v1/batches/{batchId}/results", batch_results, auth=auth.LEGACY)


def seed(world: World, rng: random.Random) -> None:
    """Two batches in the default dev environment: one processed (three runs), one created
    but still waiting for its items (the two-phase flow's phase 1)."""
    env = world.environment(
        world.default_project.ref, "DEVELOPMENT", owner_user_id=world.default_user.id
    )
    if env is None:
        return
    store: BatchStore = world.batches
    created = world.seeded_at - dt.timedelta(hours=rng.uniform(2, 30))
    done = store.create(
        env.id, 3, created_at=created, task_identifiers=["send-email"], status="PENDING"
    )
    for index in range(3):
        run = world.runs.new_run(
            env,
            "send-email",
            status="COMPLETED_SUCCESSFULLY",
            created_at=created + dt.timedelta(milliseconds=5 * index),
            started_at=created + dt.timedelta(seconds=2),
            completed_at=created + dt.timedelta(seconds=4),
            updated_at=created + dt.timedelta(seconds=4),
            usage_duration_ms=1800 + index,
            attempt_count=1,
            batch_id=done.friendly_id,
            trigger_function="batchTrigger",
            payload=json.dumps({"to": f"batch{index}@example.com"}),
            output=json.dumps({"messageId": f"msg_b{index}"}),
            ttl="10m",
        )
        store.add_run(done, index, run.friendly_id)
    store.finish_processing(done)
    store.create(
        env.id,
        2,
        created_at=world.seeded_at - dt.timedelta(minutes=3),
        task_identifiers=["resize-image"],
        status="PENDING",
    )


# -- helpers --------------------------------------------------------------------------------------


def _env(request: ApiRequest) -> Any:
    env = request.principal.environment
    assert env is not None
    return env


def _check_items(body: Any, *, with_task: bool = True) -> list[dict[str, Any]]:
    check = Checker()
    items = check.array(body, "items") if check.object(body) else None
    if isinstance(items, list):
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                check.add(
                    ["items", i], "Expected object, received " + received_type(item), "invalid_type"
                )
                continue
            if with_task:
                sub = Checker(["items", i])
                sub.string(item, "task")
                check.issues += sub.issues
            check_options(check, item.get("options"), ["items", i, "options"])
    check.raise_body_error()
    return items or []


def _authorize_tasks(request: ApiRequest, tasks: list[str]) -> None:
    """``everyResource`` over the items' tasks: an empty batch authorises nothing (403)."""
    if not tasks:
        raise errors.rbac_forbidden()
    request.authorize([("tasks", t) for t in sorted(set(tasks))])


def _create_runs(
    request: ApiRequest,
    batch: Batch,
    items: list[dict[str, Any]],
    trigger_function: str,
    task: str | None = None,
    indices: list[int] | None = None,
) -> list[tuple[Any, bool]]:
    world = request.world
    env = _env(request)
    out = []
    for position, item in enumerate(items):
        index = indices[position] if indices is not None else position
        outcome = trigger_run(
            world,
            env,
            task or item["task"],
            item.get("payload"),
            item.get("options"),
            batch_id=batch.friendly_id,
            trigger_function=trigger_function,
            streams_version=request.headers.get(STREAMS_VERSION),
        )
        world.batches.add_run(batch, index, outcome.run.friendly_id)
        out.append((outcome.run, outcome.cached))
    return out


# -- batch trigger (older endpoints) --------------------------------------------------------------


def batch_trigger_v1(request: ApiRequest) -> Reply:
    key, key_ttl = idempotency_headers(request)
    body = request.json()
    items = _check_items(body)
    _authorize_tasks(request, [i["task"] for i in items])
    if len(items) > MAX_BATCH_ITEMS:
        raise errors.api_error(
            400,
            f"Batch size of {len(items)} is too large. Maximum allowed "
            f"batch size is {MAX_BATCH_ITEMS}.",
        )
    world = request.world
    env = _env(request)
    with world.lock:
        tasks = [i["task"] for i in items]
        if key:
            cached = world.batches.find_by_idempotency_key(env.id, key, tasks)
            if cached is not None:
                return json_reply(_v1_batch_body(world, cached, cached=True), 202)
        batch = world.batches.create(
            env.id,
            len(items),
            task_identifiers=tasks,
            idempotency_key=key,
            idempotency_key_expires_at=_key_expiry(world, key_ttl) if key else None,
        )
        _create_runs(request, batch, items, "batchTrigger")
        world.batches.finish_processing(batch)
        return json_reply(_v1_batch_body(world, batch, cached=False), 202)


def _key_expiry(world: World, ttl: str | None) -> dt.datetime:
    return idempotency_expiry(ttl, world.now())


def _v1_batch_body(world: World, batch: Batch, cached: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": batch.friendly_id, "isCached": cached}
    if batch.idempotency_key:
        body["idempotencyKey"] = batch.idempotency_key
    runs = []
    for run_id in batch.run_ids:
        run = world.runs.by_id.get(run_id)
        if run is None:
            continue
        entry: dict[str, Any] = {
            "id": run.friendly_id,
            "taskIdentifier": run.task_identifier,
            "isCached": cached or run.batch_id != batch.friendly_id,
        }
        if run.idempotency_key:
            entry["idempotencyKey"] = run.idempotency_key
        runs.append(entry)
    body["runs"] = runs
    return body


def batch_trigger_task(request: ApiRequest) -> Reply:
    body = request.json()
    items = _check_items(body, with_task=False)
    task = request.params["taskIdentifier"]
    request.authorize([("tasks", task)])
    if not items:
        raise errors.api_error(400, "No items to trigger")
    if len(items) > MAX_TASK_BATCH_ITEMS:
        raise errors.api_error(
            400, f"Too many items. Maximum allowed batch size is {MAX_TASK_BATCH_ITEMS}."
        )
    world = request.world
    with world.lock:
        batch = world.batches.create(_env(request).id, len(items), task_identifiers=[task])
        runs = _create_runs(request, batch, items, "batchTrigger", task=task)
        world.batches.finish_processing(batch)
        return json_reply({"batchId": batch.friendly_id, "runs": [r.friendly_id for r, _ in runs]})


def batch_trigger_v2(request: ApiRequest) -> Reply:
    body = request.json()
    items = _check_items(body)
    authorize_every(
        request, "batchTrigger", [("tasks", t) for t in sorted({i["task"] for i in items})]
    )
    if len(items) > MAX_BATCH_ITEMS:
        raise errors.api_error(
            400,
            f"Batch size of {len(items)} is too large. Maximum allowed "
            f"batch size is {MAX_BATCH_ITEMS}.",
            headers={"x-should-retry": "false"},
        )
    world = request.world
    env = _env(request)
    tasks = [i["task"] for i in items]
    scoped = scope_key(
        request.headers.get("x-trigger-request-idempotency-key"), [env.id, *sorted(set(tasks))]
    )
    with world.lock:
        now_ms = world.clock.now_ms()
        cached = world.batches.get(
            request.idempotency.check("batch-trigger", scoped, now_ms) or "", env.id
        )
        if cached is not None:
            request.replayed = True
            return json_reply(
                {"id": cached.friendly_id, "runCount": cached.run_count},
                200,
                _batch_jwt(world, env, cached),
            )
        one_time = check_one_time_use(
            request, "Cannot batch trigger with a one-time use token as it has already been used."
        )
        batch = world.batches.create(
            env.id,
            len(items),
            task_identifiers=tasks,
            resume_parent=bool(body.get("resumeParentOnCompletion")),
            parent_run_id=body.get("parentRunId"),
        )
        function = "batchTriggerAndWait" if batch.resume_parent else "batchTrigger"
        _create_runs(request, batch, items, function)
        world.batches.finish_processing(batch)
        mark_used(request, one_time)
        request.idempotency.save("batch-trigger", scoped, batch.friendly_id, now_ms)
        return json_reply(
            {"id": batch.friendly_id, "runCount": batch.run_count},
            202,
            _batch_jwt(world, env, batch),
        )


# -- two-phase batch (current SDK) ----------------------------------------------------------------


def create_batch(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    if check.object(body):
        check.number(body, "runCount", integer=True, exclusive_minimum=0)
        tasks = check.array(body, "taskIdentifiers", required=False, min_items=1)
        if isinstance(tasks, list):
            for i, task in enumerate(tasks):
                if not isinstance(task, str) or not task:
                    check.add(
                        ["taskIdentifiers", i],
                        "String must contain at least 1 character(s)",
                        "too_small",
                    )
        check.string(body, "idempotencyKey", required=False, max_length=2048)
        check.string(body, "parentRunId", required=False)
        check.boolean(body, "resumeParentOnCompletion")
    check.raise_body_error()
    run_count = int(body["runCount"])
    tasks = list(body.get("taskIdentifiers") or [])
    collection = (("batch", None), ("tasks", None))
    if tasks:  # newer SDKs declare the tasks: every one must be allowed
        authorize_every(request, "batchTrigger", [("tasks", t) for t in tasks], collection)
    else:
        request.authorize(collection)
    if run_count > MAX_RUN_COUNT:
        raise errors.api_error(
            400, f"Batch runCount of {run_count} exceeds maximum allowed of {MAX_RUN_COUNT}."
        )
    world = request.world
    env = _env(request)
    key = body.get("idempotencyKey") or None
    scoped = scope_key(key, [env.id, *sorted(set(tasks))])
    with world.lock:
        now_ms = world.clock.now_ms()
        cached = world.batches.get(
            request.idempotency.check("create-batch", scoped, now_ms) or "", env.id
        )
        if cached is not None:
            request.replayed = True
            out: dict[str, Any] = {
                "id": cached.friendly_id,
                "runCount": cached.run_count,
                "isCached": True,
            }
            return json_reply(out, 200, _batch_jwt(world, env, cached))
        if key and world.batches.holding_key(env.id, key) is not None:
            # The unique (environment, idempotencyKey) index refuses the insert.
            raise errors.api_error(
                422,
                "Cannot create batch as it has already been created with the same idempotency key.",
            )
        one_time = check_one_time_use(
            request, "Cannot create batch with a one-time use token as it has already been used."
        )
        batch = world.batches.create(
            env.id,
            run_count,
            task_identifiers=tasks,
            idempotency_key=key,
            idempotency_key_expires_at=_key_expiry(world, None) if key else None,
            resume_parent=bool(body.get("resumeParentOnCompletion")),
            parent_run_id=body.get("parentRunId"),
        )
        mark_used(request, one_time)
        request.idempotency.save("create-batch", scoped, batch.friendly_id, now_ms)
        out = {"id": batch.friendly_id, "runCount": run_count, "isCached": False}
        if key:
            out["idempotencyKey"] = key
        return json_reply(out, 202, _batch_jwt(world, env, batch))


def _authorize_items(request: ApiRequest) -> None:
    """``authorizedBatchItemStream``: ``write:batch:<id>`` allows any item; otherwise every
    item's task needs ``batchTrigger`` and a stream with no item is refused, before the batch
    is looked up (403 ``{"error": "Unauthorized"}``)."""
    principal = request.principal
    if principal.can("write", [("batch", request.params["batchId"])]):
        return
    tasks = []
    for line in request.body.split(b"\n"):
        if line.strip():
            try:
                item = errors.load_json(line)
            except ValueError:
                break  # the parse error is reported by the handler
            tasks.append(item.get("task") if isinstance(item, dict) else None)
    if not tasks or not all(
        isinstance(task, str) and principal.can("batchTrigger", [("tasks", task)]) for task in tasks
    ):
        raise errors.HttpError(json_reply({"error": "Unauthorized"}, 403))


def _batch_jwt(world: World, env: Any, batch: Batch) -> dict[str, str]:
    return jwt_headers(world, env, [f"read:batch:{batch.friendly_id}"])


def stream_batch_items(request: ApiRequest) -> Reply:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in NDJSON_TYPES:
        raise errors.api_error(
            415, "Content-Type must be application/x-ndjson or application/ndjson"
        )
    world = request.world
    env = _env(request)
    _authorize_items(request)
    with world.lock:
        batch = world.batches.get(request.params["batchId"], env.id)
        if batch is None:  # a ServiceValidationError: 422
            raise errors.api_error(422, f"Batch {request.params['batchId']} not found")
        if batch.sealed:
            # The service's Phase 2 retry check: the work is done, nothing is enqueued.
            return json_reply(
                {
                    "id": batch.friendly_id,
                    "itemsAccepted": 0,
                    "itemsDeduplicated": 0,
                    "sealed": True,
                    "runCount": batch.run_count,
                }
            )
        parsed: list[tuple[int, dict[str, Any]]] = []
        for number, line in enumerate(request.body.split(b"\n"), start=1):
            if not line.strip():
                continue
            if len(line) > MAX_ITEM_BYTES:
                raise errors.api_error(
                    413, f"Item at line {number} exceeds the maximum size of {MAX_ITEM_BYTES} bytes"
                )
            try:
                item = errors.load_json(line)
            except ValueError:
                raise errors.api_error(400, f"Invalid JSON at line {number}") from None
            check = Checker()
            if check.object(item):
                check.number(item, "index", integer=True, minimum=0)
                check.string(item, "task")
                check_options(check, item.get("options"), ["options"])
            if not check.ok:
                raise errors.body_validation_error(check.issues)
            if item["index"] >= batch.run_count:
                raise errors.api_error(
                    422,
                    f"Item index {item['index']} is out of range for a batch of "
                    f"{batch.run_count} items",
                )
            parsed.append((int(item["index"]), item))
        accepted = deduplicated = 0
        function = "batchTriggerAndWait" if batch.resume_parent else "batchTrigger"
        for index, item in parsed:
            if index in batch.items:
                deduplicated += 1
                continue
            outcome = trigger_run(
                world,
                env,
                item["task"],
                item.get("payload"),
                item.get("options"),
                batch_id=batch.friendly_id,
                trigger_function=function,
                streams_version=request.headers.get(STREAMS_VERSION),
            )
            world.batches.add_run(batch, index, outcome.run.friendly_id)
            accepted += 1
        world.batches.finish_processing(batch)
        out: dict[str, Any] = {
            "id": batch.friendly_id,
            "itemsAccepted": accepted,
            "itemsDeduplicated": deduplicated,
            "sealed": batch.sealed,
        }
        if not batch.sealed:
            out["enqueuedCount"] = len(batch.items)
            out["expectedCount"] = batch.run_count
        out["runCount"] = batch.run_count
        return json_reply(out)


# -- retrieval ------------------------------------------------------------------------------------


def _batch_or_404(request: ApiRequest, loader: bool = True) -> Batch:
    batch = request.world.batches.get(request.params["batchId"], _env(request).id)
    if batch is None:
        if loader:
            raise errors.not_found_loader(retry=True)
        raise errors.api_error(404, "Batch not found")
    return batch


def retrieve_batch_v1(request: ApiRequest) -> Reply:
    with request.world.lock:
        batch = _batch_or_404(request)
        request.authorize([("batch", batch.friendly_id)])
        return json_reply(request.world.batches.render_v1(batch))


def retrieve_batch_v2(request: ApiRequest) -> Reply:
    with request.world.lock:
        batch = _batch_or_404(request)
        request.authorize([("batch", batch.friendly_id)])
        return json_reply(request.world.batches.render_v2(batch))


def batch_results(request: ApiRequest) -> Reply:
    world = request.world
    with world.lock:
        batch = _batch_or_404(request, loader=False)
        items = []
        for run_id in batch.run_ids:
            run = world.runs.by_id.get(run_id)
            if run is not None and run.is_final:
                items.append(world.runs.render_execution_result(run))
        return json_reply({"id": batch.friendly_id, "items": items})
