"""Bulk actions (API.md §6.8): create, list (cursor), retrieve, abort."""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import re
from typing import Any

from .. import auth, errors
from .. import validation as v
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.bulk_actions import BulkActionStore, decode_cursor, encode_cursor
from ..resources.runs import API_STATUS_TO_INTERNAL, MACHINE_PRESETS, RunFilter, parse_duration
from ..world import World, to_ms
from .runs import page_size_issues

ORDER = 40
STORES = {"bulk_actions": BulkActionStore}
MAX_CREATE_BYTES = 1_048_576
MAX_RUN_IDS = 500


def register(router: Router) -> None:
    router.post(
        "/api/v1/bulk-actions",
        create_bulk_action,
        auth=auth.BEARER,
        authorization="write",
        max_content_length=MAX_CREATE_BYTES,
    )
    router.get("/api/v1/bulk-actions", list_bulk_actions, auth=auth.BEARER, authorization="read")
    router.get(
        "/api/v1/bulk-actions/{bulkActionId}",
        retrieve_bulk_action,
        auth=auth.BEARER,
        authorization="read",
    )
    router.post(
        "/api/v1/bulk-actions/{bulkActionId}/abort",
        abort_bulk_action,
        auth=auth.BEARER,
        authorization="write",
    )


def seed(world: World, rng: random.Random) -> None:
    """A completed cancel (of some old runs) and a pending replay, in the default dev env."""
    env = world.environment(
        world.default_project.ref, "DEVELOPMENT", owner_user_id=world.default_user.id
    )
    if env is None:
        return
    store: BulkActionStore = world.bulk_actions
    runs = [r for r in world.runs.in_environment(env.id) if r.status == "CANCELED"][:4]
    created = world.seeded_at - dt.timedelta(days=3, hours=rng.uniform(0, 5))
    done = store.create(
        env,
        "CANCEL",
        run_ids=[r.friendly_id for r in runs],
        flt=None,
        name="Cancel stuck sync-crm runs",
        process=False,
        created_at=created,
    )
    done.status, done.completed_at = "COMPLETED", created + dt.timedelta(seconds=4)
    done.failure = done.total  # they were already canceled when it ran
    for run in runs:
        run.bulk_action_ids.append(done.friendly_id)
    failed = [r for r in world.runs.in_environment(env.id) if r.status == "COMPLETED_WITH_ERRORS"][
        :5
    ]
    store.create(
        env,
        "REPLAY",
        run_ids=[r.friendly_id for r in failed],
        flt=None,
        process=False,
        created_at=world.seeded_at - dt.timedelta(minutes=2),
    )


# -- CreateBulkActionRequestBody (packages/core/src/v3/schemas/api.ts) -------------------------
#
# Checked as zod checks it, so odd JSON gets the service's 400 (never a crash): each field's
# union is tried whole, an invalid type anywhere stops the refinements, and the issues come in
# the schema's field order.

RUN_STATUSES = (
    "PENDING_VERSION",
    "QUEUED",
    "DEQUEUED",
    "EXECUTING",
    "WAITING",
    "COMPLETED",
    "CANCELED",
    "FAILED",
    "CRASHED",
    "SYSTEM_FAILURE",
    "DELAYED",
    "EXPIRED",
    "TIMED_OUT",
)  # RunStatus: the V2 vocabulary only
_MAX_DATE_MS = 8.64e15


def _js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` for JSON values (what ``new Date(array)`` parses)."""
    if value is None:
        return ""  # (inside an array; Array.prototype.join writes null as "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join(_js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_date_ms(value: Any) -> int | None:
    """``new Date(value).getTime()`` for a JSON value; ``None`` for an Invalid Date. Strings are
    parsed as ISO 8601 (also ``YYYY`` and ``YYYY-MM``) or RFC 2822 dates; V8's legacy parser
    takes a few more exotic forms, which the emulator refuses."""
    if value is None or isinstance(value, bool):
        return int(bool(value))
    if isinstance(value, (int, float)):
        return int(value) if math.isfinite(value) and abs(value) <= _MAX_DATE_MS else None
    text = _js_string(value).strip()
    if re.fullmatch(r"\d{4}(-\d{2})?", text):
        text += "-01" * (2 - text.count("-"))
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    ms = to_ms(parsed)
    return ms if abs(ms) <= _MAX_DATE_MS else None


def _coerced_date(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
    """``z.coerce.date()`` (parsed as epoch milliseconds)."""
    ms = _js_date_ms(value)
    if ms is None:
        return [v.issue(path, "Invalid date", "invalid_date")], value
    return [], ms


def _single_or_array(item: v.Check) -> v.Check:
    return v.union(item, v.array_of(item))


_QUEUE = v.object_of({"type": v.one_of(("task", "custom")), "name": v.is_string}, required=True)
FILTER_FIELDS: dict[str, v.Check] = {
    "status": _single_or_array(v.one_of(RUN_STATUSES)),
    "taskIdentifier": _single_or_array(v.is_string),
    "version": _single_or_array(v.is_string),
    "from": v.union(_coerced_date, v.is_number),
    "to": v.union(_coerced_date, v.is_number),
    "period": v.is_string,
    "bulkAction": v.is_string,
    "tag": _single_or_array(v.is_string),
    "schedule": v.is_string,
    "isTest": v.is_boolean,
    "batch": v.is_string,
    "queue": _single_or_array(_QUEUE),
    "machine": _single_or_array(v.one_of(MACHINE_PRESETS)),
    "region": _single_or_array(v.is_string),
}
_filter_object = v.object_of(FILTER_FIELDS)


def _non_empty(value: Any) -> bool:
    """``isNonEmptyBulkActionFilterValue``."""
    if isinstance(value, list):
        return any(_non_empty(item) for item in value)
    if isinstance(value, str):
        return bool(value.strip())  # (JavaScript's trim() and Python's strip() agree on JSON)
    return True


def _js_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # UTF-16 code units, as String.length counts


def parse_create_body(body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``CreateBulkActionRequestBody.safeParse(body)``: ``(issues, parsed body)``."""
    if not isinstance(body, dict):
        return [v.type_issue([], "object", body)], {}
    action = body.get("action")
    if not isinstance(action, str) or action not in ("cancel", "replay"):
        return [
            v.issue(
                ["action"],
                "Invalid discriminator value. Expected 'cancel' | 'replay'",
                "invalid_union_discriminator",
                options=["cancel", "replay"],
            )
        ], {}
    issues: list[dict[str, Any]] = []
    dirty: list[dict[str, Any]] = []  # issues that do not stop the refinements
    parsed: dict[str, Any] = {"action": action}
    if "targetRegion" in body:
        value = body["targetRegion"]
        if action == "cancel":
            issues.append(v.type_issue(["targetRegion"], "never", value))
        else:
            issues += v.is_string(value, ["targetRegion"])[0]
        parsed["targetRegion"] = value
    if "filter" in body:
        found, flt = _filter_object(body["filter"], ["filter"])
        issues += found
        if not found and not any(_non_empty(value) for value in flt.values()):
            dirty.append(v.issue(["filter"], "At least one filter must be provided"))
        parsed["filter"] = flt
    if "runIds" in body:
        value = body["runIds"]
        if isinstance(value, list) and not value:
            dirty.append(
                v.issue(
                    ["runIds"],
                    "Array must contain at least 1 element(s)",
                    "too_small",
                    minimum=1,
                    type="array",
                    inclusive=True,
                    exact=False,
                )
            )
        issues += v.array_of(v.is_string)(value, ["runIds"])[0]
        parsed["runIds"] = value
    if "name" in body:
        value = body["name"]
        found = v.is_string(value, ["name"])[0]
        if not found and _js_length(value) > 255:
            dirty.append(
                v.issue(
                    ["name"],
                    "Name must be less than 255 characters",
                    "too_big",
                    maximum=255,
                    type="string",
                    inclusive=True,
                    exact=False,
                )
            )
        issues += found
        parsed["name"] = value
    if issues:  # an invalid type: zod stops before the refinements
        return _in_field_order(issues + dirty), parsed
    if ("filter" in parsed) + ("runIds" in parsed) != 1:
        dirty.append(v.issue([], "Exactly one of filter or runIds must be provided"))
    return _in_field_order(dirty), parsed


_FIELD_ORDER = ("action", "targetRegion", "filter", "runIds", "name")


def _in_field_order(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(found: dict[str, Any]) -> int:
        path = found["path"]
        return _FIELD_ORDER.index(path[0]) if path else len(_FIELD_ORDER)

    return sorted(issues, key=key)  # (stable: nested issues keep their order)


def run_filter(flt: dict[str, Any]) -> RunFilter:
    """``bulkActionFilterToRunListFilters`` (no implicit time window)."""
    out = RunFilter(implicit_window=False)

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    if flt.get("status"):
        out.statuses = frozenset(
            internal
            for status in as_list(flt["status"])
            for internal in API_STATUS_TO_INTERNAL[status]
        )
    for key, attr in (
        ("taskIdentifier", "tasks"),
        ("version", "versions"),
        ("tag", "tags"),
        ("machine", "machines"),
        ("region", "regions"),
    ):
        if flt.get(key):
            setattr(out, attr, frozenset(as_list(flt[key])))
    for key, attr in (("bulkAction", "bulk_action"), ("schedule", "schedule"), ("batch", "batch")):
        if flt.get(key):
            setattr(out, attr, flt[key])
    if "isTest" in flt:
        out.is_test = flt["isTest"]
    for key, attr in (("from", "from_ms"), ("to", "to_ms")):
        if key in flt:
            setattr(out, attr, int(flt[key]))
    if flt.get("period"):
        out.period_ms = parse_duration(flt["period"])
    if flt.get("queue"):
        out.queues = frozenset(
            f"task/{q['name']}" if q["type"] == "task" else q["name"] for q in as_list(flt["queue"])
        )
    return out


def create_bulk_action(request: ApiRequest) -> Reply:
    issues, body = parse_create_body(request.json())
    if issues:
        raise errors.body_validation_error(issues)
    run_ids = body.get("runIds")
    if run_ids is not None and len(run_ids) > MAX_RUN_IDS:
        raise errors.api_error(
            400,
            f"Too many runIds ({len(run_ids)}). Maximum is "
            f"{MAX_RUN_IDS}. Use a filter to select more runs.",
        )
    request.authorize([("runs", None)])
    world = request.world
    env = request.principal.environment
    assert env is not None
    with world.lock:
        created = world.bulk_actions.create(
            env,
            body["action"].upper(),
            run_ids=run_ids,
            flt=run_filter(body["filter"]) if run_ids is None else None,
            name=body.get("name"),
            target_region=body.get("targetRegion"),
        )
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
        store = request.world.bulk_actions
        if store.batch_size is not None:  # a batch processed since the last look
            store.process(action, limit=store.batch_size)
        return json_reply(store.render(action))


def abort_bulk_action(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        action = request.world.bulk_actions.get(request.params["bulkActionId"], env.id)
        if action is None:
            raise errors.not_found_action()
        refused = request.world.bulk_actions.abort(action)
        if refused is not None:
            raise errors.api_error(409, refused)
        return json_reply({"id": action.friendly_id})
