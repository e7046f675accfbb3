"""Bulk actions (API.md §6.8): create, list (cursor), retrieve, abort."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.bulk_actions import BulkActionStore, decode_cursor, encode_cursor
from ..resources.runs import API_STATUS_TO_INTERNAL, MACHINE_PRESETS, RunFilter, parse_duration
from ..validation import Checker, received_type
from ..world import World, parse_date, to_ms
from .runs import page_size_issues

ORDER = 40
STORES = {"bulk_actions": BulkActionStore}
MAX_CREATE_BYTES = 1_048_576
MAX_RUN_IDS = 500


def register(router: Router) -> None:
    router.post("/api/v1/bulk-actions", create_bulk_action, auth=auth.BEARER,
                authorization="write", max_content_length=MAX_CREATE_BYTES)
    router.get("/api/v1/bulk-actions", list_bulk_actions, auth=auth.BEARER,
               authorization="read")
    router.get("/api/v1/bulk-actions/{bulkActionId}", retrieve_bulk_action, auth=auth.BEARER,
               authorization="read")
    router.post("/api/v1/bulk-actions/{bulkActionId}/abort", abort_bulk_action,
                auth=auth.BEARER, authorization="write")


def seed(world: World, rng: random.Random) -> None:
    """A completed cancel (of some old runs) and a pending replay, in the default dev env."""
    env = world.environment(world.default_project.ref, "DEVELOPMENT",
                            owner_user_id=world.default_user.id)
    if env is None:
        return
    store: BulkActionStore = world.bulk_actions
    runs = [r for r in world.runs.in_environment(env.id) if r.status == "CANCELED"][:4]
    created = world.seeded_at - dt.timedelta(days=3, hours=rng.uniform(0, 5))
    done = store.create(env, "CANCEL", run_ids=[r.friendly_id for r in runs], flt=None,
                        name="Cancel stuck sync-crm runs", process=False, created_at=created)
    done.status, done.completed_at = "COMPLETED", created + dt.timedelta(seconds=4)
    done.failure = done.total  # they were already canceled when it ran
    for run in runs:
        run.bulk_action_ids.append(done.friendly_id)
    failed = [r for r in world.runs.in_environment(env.id)
              if r.status == "COMPLETED_WITH_ERRORS"][:5]
    store.create(env, "REPLAY", run_ids=[r.friendly_id for r in failed], flt=None,
                 process=False, created_at=world.seeded_at - dt.timedelta(minutes=2))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_filter(check: Checker, raw: Any) -> RunFilter:
    """``BulkActionFilterRequestBody`` → :class:`RunFilter` (no implicit time window)."""
    flt = RunFilter(implicit_window=False)
    if not isinstance(raw, dict):
        check.add(["filter"], "Expected object, received " + received_type(raw), "invalid_type")
        return flt
    present = {k: v for k, v in raw.items() if v not in (None, "", [])}
    if not present:
        check.add(["filter"], "At least one filter value must be provided")
        return flt
    if "status" in present:
        statuses = _as_list(present["status"])
        bad = [s for s in statuses if s not in API_STATUS_TO_INTERNAL]
        if bad:
            check.add(["filter", "status"], "Invalid input", "invalid_union")
        else:
            flt.statuses = frozenset(i for s in statuses for i in API_STATUS_TO_INTERNAL[s])
    for key, attr in (("taskIdentifier", "tasks"), ("version", "versions"), ("tag", "tags"),
                      ("region", "regions")):
        if key in present:
            values = _as_list(present[key])
            if not all(isinstance(v, str) for v in values):
                check.add(["filter", key], "Invalid input", "invalid_union")
            else:
                setattr(flt, attr, frozenset(values))
    if "machine" in present:
        machines = _as_list(present["machine"])
        if any(m not in MACHINE_PRESETS for m in machines):
            check.add(["filter", "machine"], "Invalid input", "invalid_union")
        else:
            flt.machines = frozenset(machines)
    if "queue" in present:
        names = []
        for queue in _as_list(present["queue"]):
            if not (isinstance(queue, dict) and queue.get("type") in ("task", "custom")
                    and isinstance(queue.get("name"), str)):
                check.add(["filter", "queue"], "Invalid input", "invalid_union")
                break
            names.append(f"task/{queue['name']}" if queue["type"] == "task" else queue["name"])
        flt.queues = frozenset(names)
    for key, attr in (("from", "from_ms"), ("to", "to_ms")):
        if key in present:
            parsed = parse_date(present[key])
            if parsed is None:
                check.add(["filter", key], "Invalid input", "invalid_union")
            else:
                setattr(flt, attr, to_ms(parsed))
    if "period" in present:
        flt.period_ms = parse_duration(str(present["period"]))
    if "isTest" in present:
        if isinstance(present["isTest"], bool):
            flt.is_test = present["isTest"]
        else:
            check.add(["filter", "isTest"], "Expected boolean, received "
                      + received_type(present["isTest"]), "invalid_type")
    for key, attr in (("bulkAction", "bulk_action"), ("schedule", "schedule"),
                      ("batch", "batch")):
        if key in present:
            setattr(flt, attr, str(present[key]))
    return flt


def create_bulk_action(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    flt = None
    run_ids = None
    if check.object(body):
        action = check.enum(body, "action", ("cancel", "replay"))
        check.string(body, "name", required=False, max_length=255)
        check.string(body, "targetRegion", required=False)
        has_filter, has_ids = body.get("filter") is not None, body.get("runIds") is not None
        if has_filter == has_ids:
            check.add([], "Provide exactly one of filter or runIds")
        elif has_ids:
            ids = check.array(body, "runIds", min_items=1, max_items=MAX_RUN_IDS)
            if isinstance(ids, list):
                if not all(isinstance(i, str) for i in ids):
                    check.add(["runIds"], "Expected string", "invalid_type")
                run_ids = ids
        else:
            flt = parse_filter(check, body["filter"])
        if body.get("targetRegion") is not None and action == "cancel":
            check.add(["targetRegion"], "targetRegion is only supported for replay")
    check.raise_body_error()
    request.authorize([("runs", None)])
    world = request.world
    env = request.principal.environment
    assert env is not None
    with world.lock:
        created = world.bulk_actions.create(
            env, body["action"].upper(), run_ids=run_ids, flt=flt, name=body.get("name"),
            target_region=body.get("targetRegion"))
        return json_reply({"id": created.friendly_id}, 202)


def list_bulk_actions(request: ApiRequest) -> Reply:
    size, issues = page_size_issues(request.arg("page[size]"))
    if issues:
        raise errors.query_error(issues)
    size = size or 25
    after, before = request.arg("page[after]"), request.arg("page[before]")
    request.authorize([("runs", None)])
    if after and before:  # the presenter throws: the loader answers 500
        raise errors.internal_error()
    cursor = None
    if after or before:
        try:
            cursor = decode_cursor(after or before or "")
        except ValueError:
            raise errors.internal_error() from None
    env = request.principal.environment
    assert env is not None
    world = request.world
    with world.lock:
        store: BulkActionStore = world.bulk_actions
        actions = store.in_environment(env.id)  # newest first
        backward = bool(before)
        if cursor is not None:
            if backward:
                actions = [a for a in reversed(actions) if a.sort_key > cursor]
            else:
                actions = [a for a in actions if a.sort_key < cursor]
        has_more = len(actions) > size
        page = actions[:size]
        if backward:
            page.reverse()
        pagination: dict[str, str] = {}
        if page and (has_more or backward):
            pagination["next"] = encode_cursor(page[-1])
        if page and ((not backward and after) or (backward and has_more)):
            pagination["previous"] = encode_cursor(page[0])
        return json_reply({"data": [store.render(a) for a in page], "pagination": pagination})


def retrieve_bulk_action(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        action = request.world.bulk_actions.get(request.params["bulkActionId"], env.id)
        if action is None:
            raise errors.not_found_loader(retry=False)
        return json_reply(request.world.bulk_actions.render(action))


def abort_bulk_action(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        action = request.world.bulk_actions.get(request.params["bulkActionId"], env.id)
        if action is None:
            raise errors.not_found_action()
        request.world.bulk_actions.abort(action)
        return json_reply({"id": action.friendly_id})
