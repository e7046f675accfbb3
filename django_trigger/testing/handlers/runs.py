"""Runs endpoints (API.md §6.1): list (secret key and PAT project list), retrieve, cancel,
replay, reschedule, tags, metadata, result, events, trace, spans."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.runs import (
    API_STATUS_TO_INTERNAL,
    MACHINE_PRESETS,
    Run,
    RunFilter,
    RunStore,
    boolean_helpers,
    parse_duration,
)
from ..resources.runs_seed import seed_world
from ..resources.triggering import (
    MAX_TAGS,
    check_options,
    delay_until_of,
    idempotency_expiry,
    packet_text,
    stringify_duration,
)
from ..validation import MISSING, Checker, received_type
from ..world import World, format_date, parse_date, to_ms

ORDER = 10
STORES = {"runs": RunStore}
MAX_METADATA_BYTES = 2_097_152
PRISMA_NOT_FOUND = (
    "An operation failed because it depends on one or more records that were "
    "required but not found. Record to update not found."
)


def seed(world: World, rng: random.Random) -> None:
    seed_world(world, rng)


def register(router: Router) -> None:
    router.get("/api/v1/runs", list_runs, auth=auth.BEARER_JWT, authorization="read", cors=True)
    router.get(
        "/api/v1/projects/{projectRef}/runs",
        list_project_runs,
        auth=auth.PAT,
        pre_auth=_validate_list_query,
        cors=True,
    )
    router.get(
        "/api/v3/runs/{runId}", retrieve_run, auth=auth.BEARER_JWT, authorization="read", cors=True
    )
    router.post(
        "/api/v2/runs/{runId}/cancel", cancel_run, auth=auth.BEARER_JWT, authorization="write"
    )
    router.post("/api/v1/runs/{runId}/replay", replay_run, auth=auth.BEARER, authorization="write")
    router.post(
        "/api/v1/runs/{runId}/reschedule",
        reschedule_run,
        auth=auth.legacy("Invalid or missing API Key"),
    )
    router.post("/api/v1/runs/{runId}/tags", add_tags, auth=auth.LEGACY)
    router.get("/api/v1/runs/{runId}/metadata", get_metadata, auth=auth.LEGACY)
    router.put(
        "/api/v1/runs/{runId}/metadata",
        update_metadata,
        auth=auth.BEARER_JWT,
        authorization="write",
        max_content_length=MAX_METADATA_BYTES,
    )
    router.get("/api/v1/runs/{runId}/result", run_result, auth=auth.LEGACY)
    router.get(
        "/api/v1/runs/{runId}/events",
        run_events,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.get(
        "/api/v1/runs/{runId}/trace",
        run_trace,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.get(
        "/api/v1/runs/{runId}/spans/{spanId}",
        run_span,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )


# -- list query ---------------------------------------------------------------------------------


def _split(value: str | None) -> list[str] | None:
    return value.split(",") if value else None


def page_size_issues(raw: str | None, key: str = "page[size]") -> tuple[int | None, list[dict]]:
    """``z.coerce.number().int().positive().min(1).max(100).optional()``."""
    if raw is None:
        return None, []
    text = raw.strip()
    try:
        value = float(text) if text else 0.0
    except ValueError:
        return None, [
            {
                "code": "invalid_type",
                "expected": "number",
                "received": "nan",
                "path": [key],
                "message": "Expected number, received nan",
            }
        ]
    issues: list[dict] = []
    if not value.is_integer():
        issues.append(
            {
                "code": "invalid_type",
                "expected": "integer",
                "received": "float",
                "path": [key],
                "message": "Expected integer, received float",
            }
        )
    if value <= 0:
        issues.append(
            {
                "code": "too_small",
                "minimum": 0,
                "type": "number",
                "inclusive": False,
                "exact": False,
                "path": [key],
                "message": "Number must be greater than 0",
            }
        )
    if value < 1:
        issues.append(
            {
                "code": "too_small",
                "minimum": 1,
                "type": "number",
                "inclusive": True,
                "exact": False,
                "path": [key],
                "message": "Number must be greater than or equal to 1",
            }
        )
    if value > 100:
        issues.append(
            {
                "code": "too_big",
                "maximum": 100,
                "type": "number",
                "inclusive": True,
                "exact": False,
                "path": [key],
                "message": "Number must be less than or equal to 100",
            }
        )
    return (None if issues else int(value)), issues


def parse_list_query(request: ApiRequest) -> tuple[RunFilter, int, str | None, str | None]:
    """Parse §6.1.1's query or raise 400 ``Query Error`` with every issue."""
    issues: list[dict[str, Any]] = []
    size, size_issues = page_size_issues(request.arg("page[size]"))
    issues += size_issues
    flt = RunFilter()

    statuses = _split(request.arg("filter[status]"))
    if statuses:
        invalid = [s for s in statuses if s not in API_STATUS_TO_INTERNAL]
        if invalid:
            issues.append(
                {
                    "code": "custom",
                    "message": f"Invalid status values: {', '.join(invalid)}",
                    "path": ["filter[status]"],
                }
            )
        else:
            flt.statuses = frozenset(i for s in statuses for i in API_STATUS_TO_INTERNAL[s])

    is_test = request.arg("filter[isTest]")
    if is_test:
        if is_test in ("true", "false"):
            flt.is_test = is_test == "true"
        else:
            issues.append(
                {
                    "code": "custom",
                    "message": f"Invalid value for isTest: {is_test}",
                    "path": ["filter[isTest]"],
                }
            )

    for key, attr in (("filter[createdAt][from]", "from_ms"), ("filter[createdAt][to]", "to_ms")):
        raw = request.arg(key)
        if raw is None or raw == "":
            continue
        parsed = parse_date(raw)
        if parsed is None:
            issues.append({"code": "invalid_date", "path": [key], "message": "Invalid date"})
        else:
            setattr(flt, attr, to_ms(parsed))

    machines = _split(request.arg("filter[machine]"))
    if machines:
        invalid = [m for m in machines if m not in MACHINE_PRESETS]
        if invalid:
            issues.append(
                {
                    "code": "custom",
                    "message": f"Invalid machine values: {', '.join(invalid)}",
                    "path": ["filter[machine]"],
                }
            )
        else:
            flt.machines = frozenset(machines)
    if issues:
        raise errors.query_error(issues)

    period = request.arg("filter[createdAt][period]")
    if period:
        flt.period_ms = parse_duration(period)
        if flt.period_ms is None:  # unparsable: no time filter at all
            flt.implicit_window = False
    for key, attr in (
        ("filter[taskIdentifier]", "tasks"),
        ("filter[version]", "versions"),
        ("filter[tag]", "tags"),
        ("filter[queue]", "queues"),
        ("filter[region]", "regions"),
    ):
        values = _split(request.arg(key))
        if values:
            setattr(flt, attr, frozenset(values))
    flt.bulk_action = request.arg("filter[bulkAction]") or None
    flt.schedule = request.arg("filter[schedule]") or None
    flt.batch = request.arg("filter[batch]") or None
    flt.error_group = request.arg("filter[error]") or None
    return flt, size or 25, request.arg("page[after]") or None, request.arg("page[before]") or None


def _validate_list_query(request: ApiRequest) -> None:
    parse_list_query(request)


def _page_reply(
    request: ApiRequest,
    store: RunStore,
    environment_id: str,
    flt: RunFilter,
    size: int,
    after: str | None,
    before: str | None,
    viewer_user_id: str | None,
) -> Reply:
    page = store.list(environment_id, flt, size, after, before)
    pagination: dict[str, str] = {}
    if page.next:
        pagination["next"] = page.next
    if page.previous:
        pagination["previous"] = page.previous
    v2 = request.v2_statuses
    data = store.render_list_items(page.runs, v2, viewer_user_id)
    return json_reply({"data": data, "pagination": pagination})


def list_runs(request: ApiRequest) -> Reply:
    flt, size, after, before = parse_list_query(request)
    request.authorize([("runs", None)])
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        return _page_reply(
            request, request.world.runs, env.id, flt, size, after, before, env.owner_user_id
        )


def list_project_runs(request: ApiRequest) -> Reply:
    flt, size, after, before = parse_list_query(request)
    world = request.world
    user = request.principal.user
    with world.lock:
        project = world.projects.get(request.params["projectRef"])
        if project is None or user is None or not world.user_can_see(user, project):
            raise errors.api_error(404, "Project not found")
        slugs = _split(request.arg("filter[env]")) or []
        env = next((e for e in world.project_environments(project.ref) if e.slug in slugs), None)
        if env is None:  # the presenter gets no environment and fails
            raise errors.internal_error()
        return _page_reply(request, world.runs, env.id, flt, size, after, before, user.id)


# -- single run ---------------------------------------------------------------------------------


def _run_or_404(request: ApiRequest, loader: bool = True, message: str | None = None) -> Run:
    run = request.world.runs.get(request.params["runId"], request.principal.environment)
    if run is None:
        if message is not None:
            raise errors.api_error(404, message)
        raise errors.not_found_loader(retry=True) if loader else errors.not_found_action()
    return run


def _run_resources(run: Run) -> list[tuple[str, str | None]]:
    resources: list[tuple[str, str | None]] = [
        ("runs", run.friendly_id),
        ("tasks", run.task_identifier),
    ]
    resources += [("tags", tag) for tag in run.tags]
    if run.batch_id:
        resources.append(("batch", run.batch_id))
    return resources


def retrieve_run(request: ApiRequest) -> Reply:
    with request.world.lock:
        run = _run_or_404(request)
        request.authorize(_run_resources(run))
        store: RunStore = request.world.runs
        # Public access tokens never see payloads/outputs.
        data = store.render_retrieve(
            run,
            request.v2_statuses,
            include_packets=request.principal.kind != "jwt",
            base_url=request.base_url,
        )
        return json_reply(data)


def cancel_run(request: ApiRequest) -> Reply:
    with request.world.lock:
        run = _run_or_404(request, loader=False)
        request.authorize(_run_resources(run))
        request.world.runs.cancel(run)
        return json_reply({"id": run.friendly_id})


REPLAY_KEYS = (
    "payload",
    "payloadType",
    "metadata",
    "tags",
    "queue",
    "concurrencyKey",
    "machine",
    "version",
    "region",
    "delay",
    "ttl",
    "idempotencyKey",
    "idempotencyKeyTTL",
    "maxAttempts",
    "maxDuration",
    "priority",
)


def replay_run(request: ApiRequest) -> Reply:
    """The overrides of the SDK 4.8.3 body (``ReplayRunRequestBody``, a strict object),
    applied as ``ReplayTaskRunService`` applies the dashboard's (API-ADDENDUM §11)."""
    body = request.json() if request.body else {}
    check = Checker()
    if check.object(body):
        _check_replay_body(check, body)
    check.raise_body_error()
    world = request.world
    with world.lock:
        run = _run_or_404(request, loader=False)
        request.authorize(_run_resources(run))
        env = world.environments[run.environment_id]
        key = body.get("idempotencyKey")
        if key:
            cached = world.runs.find_by_idempotency_key(env, run.task_identifier, key)
            if cached is not None:
                return json_reply({"id": cached.friendly_id})
        new_run = world.runs.replay(run, **_replay_overrides(body, key, world.now()))
        return json_reply({"id": new_run.friendly_id})


def _check_replay_body(check: Checker, body: dict[str, Any]) -> None:
    unknown = [k for k in body if k not in REPLAY_KEYS]
    if unknown:
        check.add(
            [],
            "Unrecognized key(s) in object: " + ", ".join(f"'{k}'" for k in unknown),
            "unrecognized_keys",
            keys=unknown,
        )
    check.enum(body, "payloadType", ("application/json", "application/super+json"), required=False)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        check.add(["metadata"], "Expected object, received " + received_type(metadata))
    for key in ("queue", "version", "region", "idempotencyKeyTTL"):
        check.string(body, key, required=False)
    delay = body.get("delay")  # z.string().or(z.coerce.date())
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (str, int, float))):
        check.add(["delay"], "Invalid input", "invalid_union")
    elif isinstance(delay, (int, float)) and _epoch_ms_date(delay) is None:
        check.add(["delay"], "Invalid date", "invalid_date")
    check.string(body, "idempotencyKey", required=False, max_length=2048)
    # The trigger options' own checks (tags, machine, ttl, concurrencyKey, numbers).
    ttl = body.get("ttl")  # z.string().or(z.number().nonnegative().int())
    if isinstance(ttl, float) and not ttl.is_integer():
        check.add(["ttl"], "Invalid input", "invalid_union")
    shared = ("tags", "machine", "ttl", "concurrencyKey", "priority")
    check_options(check, {k: body[k] for k in shared if k in body}, [])
    check.number(body, "maxAttempts", required=False, integer=True, minimum=1)
    check.number(body, "maxDuration", required=False, minimum=0)


def _epoch_ms_date(value: float) -> dt.datetime | None:
    """``new Date(value)``, or ``None`` where JavaScript's would be an Invalid Date."""
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _replay_overrides(body: dict[str, Any], key: str | None, now: dt.datetime) -> dict[str, Any]:
    """``RunStore.replay`` arguments for the body's overrides (the run's own values stay for
    the others); more than 10 tags is the trigger's 422."""
    overrides: dict[str, Any] = {}
    if "payload" in body:
        payload_type = body.get("payloadType") or "application/json"
        overrides["payload"] = packet_text(body["payload"], payload_type)
        overrides["payload_type"] = payload_type
    if body.get("metadata") is not None:
        overrides["metadata"] = json.dumps(body["metadata"], ensure_ascii=False)
        overrides["metadata_type"] = "application/json"
    if body.get("tags") is not None:
        tags = [body["tags"]] if isinstance(body["tags"], str) else body["tags"]
        tags = list(dict.fromkeys(t for t in tags if t.strip()))
        if len(tags) > MAX_TAGS:
            raise errors.api_error(
                422, f"Runs can only have {MAX_TAGS} tags, you're trying to set {len(tags)}."
            )
        overrides["tags"] = tags
    for wire, name in (("queue", "queue"), ("machine", "machine"), ("region", "region")):
        if body.get(wire):
            overrides[name] = body[wire]
    if body.get("concurrencyKey") is not None:
        overrides["concurrency_key"] = str(body["concurrencyKey"])
    if body.get("version"):
        version = None if body["version"] == "latest" else body["version"]
        overrides["locked_to_version"] = overrides["version"] = version
    delay = body.get("delay")
    if isinstance(delay, (int, float)):  # a date as epoch ms (checked above)
        delay = format_date(_epoch_ms_date(delay) or now)
    delay_until = delay_until_of(delay, now)
    if delay_until is not None:
        overrides["delay_until"] = delay_until
    ttl = body.get("ttl")
    if ttl is not None:
        overrides["ttl"] = ttl if isinstance(ttl, str) else stringify_duration(int(ttl))
    if key:
        overrides["idempotency_key"] = key
        overrides["idempotency_key_expires_at"] = idempotency_expiry(
            body.get("idempotencyKeyTTL"), now
        )
    for wire, name in (
        ("maxAttempts", "max_attempts"),
        ("maxDuration", "max_duration"),
        ("priority", "priority"),
    ):
        if body.get(wire) is not None:
            overrides[name] = body[wire] if wire != "priority" else int(body[wire])
    return overrides


def parse_delay(value: Any, now: dt.datetime) -> dt.datetime | None:
    """A delay (``1h30m``, ``2w``) or a date, as an absolute time; ``None`` if unparsable."""
    if isinstance(value, str):
        ms = parse_duration(value)
        if ms is not None:
            return now + dt.timedelta(milliseconds=ms)
        parsed = parse_date(value) if not value.strip().lstrip("-").isdigit() else None
        return parsed
    return None


def reschedule_run(request: ApiRequest) -> Reply:
    body = request.json_or_none()
    delay = body.get("delay") if isinstance(body, dict) else None
    if not isinstance(delay, str):
        got = received_type(MISSING if delay is None else delay)
        raise errors.invalid_request_body(
            [
                {
                    "code": "invalid_type",
                    "expected": "string",
                    "received": got,
                    "path": ["delay"],
                    "message": "Required" if delay is None else f"Expected string, received {got}",
                }
            ]
        )
    world = request.world
    with world.lock:
        run = world.runs.get(request.params["runId"], request.principal.environment)
        if run is None:
            raise errors.api_error(404, "Run not found")
        if run.status != "DELAYED":
            raise errors.api_error(400, "Cannot reschedule a run that is not delayed")
        when = parse_delay(delay, world.now())
        if when is None or when <= world.now():
            raise errors.api_error(400, f"Invalid delay: {delay}")
        world.runs.reschedule(run, when)
        return json_reply(
            world.runs.render_retrieve(run, request.v2_statuses, base_url=request.base_url)
        )


MAX_TAGS_PER_RUN = 10


def add_tags(request: ApiRequest) -> Reply:
    try:
        body = errors.load_json(request.body or b"")
    except ValueError:  # `await request.json()` throws inside the route's try/catch
        raise errors.api_error(500, "Something went wrong, please try again.") from None
    tags = body.get("tags") if isinstance(body, dict) else None
    issues = _tag_issues(tags)
    if issues:
        raise errors.invalid_request_body(issues)
    wanted = [tags] if isinstance(tags, str) else list(tags or ())  # a list: checked above
    world = request.world
    with world.lock:
        run = world.runs.get(request.params["runId"], request.principal.environment)
        existing = list(run.tags) if run else []
        new_tags = [t for t in wanted if t.strip() and t not in existing]
        if len(existing) + len(new_tags) > MAX_TAGS_PER_RUN:
            shown = ", ".join(f"'{t}'" for t in new_tags)
            raise errors.api_error(
                422,
                f"Runs can only have {MAX_TAGS_PER_RUN} tags, you're trying to set "
                f"{len(existing) + len(new_tags)}. These tags have not been set: {shown}.",
            )
        if not new_tags:
            return json_reply({"message": "No new tags to add"})
        if run is None:
            raise errors.api_error(500, PRISMA_NOT_FOUND)
        for tag in new_tags:
            if tag not in run.tags:
                run.tags.append(tag)
        world.runs.touch(run)
        return json_reply({"message": f"Successfully set {len(new_tags)} new tags."})


def _tag_issues(tags: Any) -> list[dict[str, Any]]:
    def too_long(path: list[Any]) -> dict[str, Any]:
        return {
            "code": "too_big",
            "maximum": 128,
            "type": "string",
            "inclusive": True,
            "exact": False,
            "message": "Tags must be less than 128 characters",
            "path": path,
        }

    if isinstance(tags, str):
        return [too_long(["tags"])] if len(tags) > 128 else []
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return [too_long(["tags", i]) for i, t in enumerate(tags) if len(t) > 128]
    return [
        {"code": "invalid_union", "unionErrors": [], "path": ["tags"], "message": "Invalid input"}
    ]


def get_metadata(request: ApiRequest) -> Reply:
    with request.world.lock:
        run = request.world.runs.get(request.params["runId"], request.principal.environment)
        if run is None:
            raise errors.api_error(404, "Run not found")
        # The raw stored string (API.md §13: the SDK's schema expects an object here).
        return json_reply({"metadata": run.metadata, "metadataType": run.metadata_type})


METADATA_OPS = ("update", "set", "delete", "append", "remove", "increment")


def update_metadata(request: ApiRequest) -> Reply:
    body = request.json()
    issues = _metadata_body_issues(body)
    if issues:
        raise errors.body_validation_error(issues)
    world = request.world
    with world.lock:
        run = world.runs.get(request.params["runId"], request.principal.environment)
        if run is None:
            raise errors.api_error(404, "Task Run not found")
        request.authorize(_run_resources(run))
        if run.is_final:
            raise errors.api_error(422, "Cannot update metadata for a completed run")
        current = run.metadata_object() or {}
        if body.get("operations"):
            current = apply_metadata_operations(current, body["operations"])
        elif "metadata" in body:
            current = body["metadata"]
        _store_metadata(run, current)
        for ops_key, target_id in (
            ("parentOperations", run.parent_id),
            ("rootOperations", run.root_id),
        ):
            target = world.runs.get(target_id) if target_id else None
            if body.get(ops_key) and target is not None and not target.is_final:
                _store_metadata(
                    target, apply_metadata_operations(target.metadata_object() or {}, body[ops_key])
                )
        world.runs.touch(run)
        return json_reply({"metadata": current})


def _store_metadata(run: Run, value: dict[str, Any]) -> None:
    run.metadata = json.dumps(value, ensure_ascii=False)
    run.metadata_type = "application/json"


def _metadata_body_issues(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [
            {
                "code": "invalid_type",
                "expected": "object",
                "path": [],
                "message": "Expected object, received " + received_type(body),
            }
        ]
    issues: list[dict[str, Any]] = []
    if "metadata" in body and not isinstance(body["metadata"], dict):
        issues.append(
            {
                "code": "invalid_type",
                "expected": "object",
                "path": ["metadata"],
                "message": "Expected object, received " + received_type(body["metadata"]),
            }
        )
    for key in ("operations", "parentOperations", "rootOperations"):
        ops = body.get(key)
        if ops is None:
            continue
        if not isinstance(ops, list):
            issues.append(
                {
                    "code": "invalid_type",
                    "expected": "array",
                    "path": [key],
                    "message": "Expected array, received " + received_type(ops),
                }
            )
            continue
        for i, op in enumerate(ops):
            if not isinstance(op, dict) or op.get("type") not in METADATA_OPS:
                issues.append(
                    {
                        "code": "invalid_union_discriminator",
                        "path": [key, i, "type"],
                        "options": list(METADATA_OPS),
                        "message": "Invalid discriminator value. Expected "
                        + " | ".join(f"'{o}'" for o in METADATA_OPS),
                    }
                )
            elif op["type"] == "update" and not isinstance(op.get("value"), dict):
                issues.append(
                    {
                        "code": "invalid_type",
                        "expected": "object",
                        "path": [key, i, "value"],
                        "message": "Required",
                    }
                )
            elif op["type"] != "update" and not isinstance(op.get("key"), str):
                issues.append(
                    {
                        "code": "invalid_type",
                        "expected": "string",
                        "path": [key, i, "key"],
                        "message": "Required",
                    }
                )
            elif op["type"] == "increment" and (
                isinstance(op.get("value"), bool) or not isinstance(op.get("value"), (int, float))
            ):
                issues.append(
                    {
                        "code": "invalid_type",
                        "expected": "number",
                        "path": [key, i, "value"],
                        "message": "Required",
                    }
                )
    return issues


def _path(key: str) -> list[str] | None:
    return key[2:].split(".") if key.startswith("$.") else None


def _get_path(obj: dict[str, Any], parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _set_path(obj: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[parts[-1]] = value


def apply_metadata_operations(
    current: dict[str, Any], operations: list[dict[str, Any]]
) -> dict[str, Any]:
    """core ``applyMetadataOperations`` (``$.a.b`` keys address nested values)."""
    meta = json.loads(json.dumps(current))
    for op in operations:
        kind, key, value = op["type"], op.get("key", ""), op.get("value")
        parts = _path(key) if key else None
        if kind == "set":
            if parts:
                _set_path(meta, parts, value)
            else:
                meta[key] = value
        elif kind == "delete":
            meta.pop(key, None)
        elif kind == "append":
            existing = _get_path(meta, parts) if parts else meta.get(key)
            if existing is None:
                new = [value]
            elif isinstance(existing, list):
                new = [*existing, value]
            elif parts:
                new = [existing, value]
            else:
                continue  # unapplied
            if parts:
                _set_path(meta, parts, new)
            else:
                meta[key] = new
        elif kind == "remove":
            existing = _get_path(meta, parts) if parts else meta.get(key)
            if isinstance(existing, list):
                new = [item for item in existing if item != value]
                if parts:
                    _set_path(meta, parts, new)
                else:
                    meta[key] = new
        elif kind == "increment":
            existing = _get_path(meta, parts) if parts else meta.get(key)
            base = (
                existing
                if isinstance(existing, (int, float)) and not isinstance(existing, bool)
                else 0
            )
            amount: float = op["value"]  # a number: checked by the route's validation
            if parts:
                _set_path(meta, parts, base + amount)
            else:
                meta[key] = base + amount
        elif kind == "update":
            meta = value
    return meta


def run_result(request: ApiRequest) -> Reply:
    with request.world.lock:
        run = request.world.runs.get(request.params["runId"], request.principal.environment)
        if run is None or not run.is_final:
            raise errors.api_error(404, "Run either doesn't exist or is not finished")
        return json_reply(request.world.runs.render_execution_result(run))


# -- events, trace, spans -------------------------------------------------------------------------


def _spans(world: World, run: Run) -> list[dict[str, Any]]:
    """A deterministic span tree for a run: the run span plus one span per attempt."""
    store: RunStore = world.runs
    status = store.render_status(run, True)
    flags = boolean_helpers(status)
    start = run.started_at or run.created_at
    end = run.completed_at or (world.now() if run.started_at else start)
    root_id = run.span_id
    duration_ms = max(0, int((end - start).total_seconds() * 1000))
    spans = [
        {
            "id": root_id,
            "parentId": None,
            "message": run.task_identifier,
            "start": start,
            "durationMs": duration_ms,
            "isError": flags["isFailed"] and not flags["isCancelled"],
            "isPartial": not run.is_final,
            "isCancelled": flags["isCancelled"],
            "level": "TRACE",
            "attempt": None,
        }
    ]
    per_attempt = (duration_ms // run.attempt_count) if run.attempt_count else 0
    for n in range(1, run.attempt_count + 1):
        last = n == run.attempt_count
        span_id = hashlib.sha256(f"{run.id}:{n}".encode()).hexdigest()[:16]
        spans.append(
            {
                "id": span_id,
                "parentId": root_id,
                "message": f"Attempt {n}",
                "start": start + dt.timedelta(milliseconds=per_attempt * (n - 1)),
                "durationMs": per_attempt,
                "isError": (not last) or (last and spans[0]["isError"]),
                "isPartial": last and not run.is_final,
                "isCancelled": last and flags["isCancelled"],
                "level": "TRACE",
                "attempt": n,
            }
        )
    return spans


def _ns(when: dt.datetime) -> str:
    return str(to_ms(when) * 1_000_000)


def run_events(request: ApiRequest) -> Reply:
    world = request.world
    with world.lock:
        run = _run_or_404(request)
        request.authorize(_run_resources(run))
        events = []
        for span in _spans(world, run):
            events.append(
                {
                    "spanId": span["id"],
                    "parentId": span["parentId"],
                    "runId": run.friendly_id,
                    "message": span["message"],
                    "startTime": _ns(span["start"]),
                    "duration": span["durationMs"] * 1_000_000,
                    "isError": span["isError"],
                    "isPartial": span["isPartial"],
                    "isCancelled": span["isCancelled"],
                    "level": span["level"],
                    "kind": "INTERNAL",
                    "attemptNumber": span["attempt"],
                    "taskSlug": run.task_identifier,
                    "events": [],
                }
            )
        return json_reply({"events": events})


def _trace_span(world: World, run: Run, span: dict[str, Any], env_type: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "runId": run.friendly_id,
        "message": span["message"],
        "taskSlug": run.task_identifier,
        "events": [],
        "startTime": format_date(span["start"]),
        "duration": span["durationMs"] * 1_000_000,
        "isError": span["isError"],
        "isPartial": span["isPartial"],
        "isCancelled": span["isCancelled"],
        "level": span["level"],
        "environmentType": env_type,
        "properties": {},
    }
    if span["attempt"] is not None:
        data["attemptNumber"] = span["attempt"]
    if run.version:
        data["workerVersion"] = run.version
    data["queueName"] = run.queue
    data["machinePreset"] = run.machine
    out: dict[str, Any] = {
        "id": span["id"],
        "runId": run.friendly_id,
        "message": span["message"],
        "data": data,
        "children": [],
    }
    if span["parentId"]:
        out["parentId"] = span["parentId"]
    return out


def run_trace(request: ApiRequest) -> Reply:
    world = request.world
    with world.lock:
        run = _run_or_404(request)
        request.authorize(_run_resources(run))
        env = world.environments[run.environment_id]
        spans = _spans(world, run)
        root = _trace_span(world, run, spans[0], env.type)
        root["children"] = [_trace_span(world, run, s, env.type) for s in spans[1:]]
        return json_reply({"trace": {"traceId": run.trace_id, "rootSpan": root}})


def run_span(request: ApiRequest) -> Reply:
    world = request.world
    with world.lock:
        run = _run_or_404(request)
        request.authorize(_run_resources(run))
        span = next((s for s in _spans(world, run) if s["id"] == request.params["spanId"]), None)
        if span is None:
            raise errors.api_error(404, "Span not found")
        data: dict[str, Any] = {
            "spanId": span["id"],
            "parentId": span["parentId"],
            "runId": run.friendly_id,
            "message": span["message"],
            "isError": span["isError"],
            "isPartial": span["isPartial"],
            "isCancelled": span["isCancelled"],
            "level": span["level"],
            "startTime": format_date(span["start"]),
            "durationMs": span["durationMs"],
            "events": [],
        }
        return json_reply(data)
