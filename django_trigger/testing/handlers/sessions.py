"""Agent sessions and their realtime channels (docs/API-ADDENDUM.md §14): api.v1.sessions*.ts
and realtime.v1.sessions.$session.$io*.ts of the mirrored server; the named-channel routes
(``…/channels/{name}/{io}…``) and the narrowed token scopes are newer than the mirror and follow
SDK 4.8.3 (``ApiClient`` URLs, ``auth.d.ts``).

=====================================================  ==========================================
``POST  /api/v1/sessions``                             create or return (``externalId``) + run;
                                                       201 new, 200 cached; 409 closed/expired
``GET   /api/v1/sessions``                             cursor list, newest first, ``filter[…]``
``GET   /api/v1/sessions/{session}``                   friendly id or externalId; 404
``PATCH /api/v1/sessions/{session}``                   tags, metadata (externalId frozen: 422)
``POST  /api/v1/sessions/{session}/close``             idempotent; first reason kept
``POST  /realtime/v1/sessions/{s}/{io}/append``        one record; raw body; ``X-Part-Id`` dedupe
``GET   /realtime/v1/sessions/{s}/{io}/records``       the records after ``afterEventId`` (no wait)
``PUT   /realtime/v1/sessions/{s}/{io}``               202 ``{version: "v2"}`` + S2 credentials
                                                       (``X-S2-*``) for that one channel
``GET   /realtime/v1/sessions/{s}/{io}``               the channel as S2's SSE (``event: batch``),
                                                       ``Last-Event-ID``, ``Timeout-Seconds``;
                                                       ``HEAD``: ``X-Last-Chunk-Index: 0``
``POST  /s2/v1/streams/{stream}/records``              the S2 append the SDK's writers make
=====================================================  ==========================================

(each realtime route also under ``/realtime/v1/sessions/{s}/channels/{name}/{io}…``).

The emulator is its own S2: ``X-S2-Endpoint`` points at ``/s2/v1`` on the emulator, the access
token it hands out (``s2tok_…``) opens only that channel's stream, and the S2 route implements
what writing takes (JSON appends in ``raw`` or ``base64`` format, the ``trim`` command record,
``match_seq_num``, S2's per-record and per-batch limits), not the rest of S2.

Auth: family A with public JWTs, CORS for browsers (corsStrategy "all"). Scopes:
``read|write:sessions[:{id}]`` (any addressing form), ``{id}:out``, ``{id}:channels:{name}``,
``{id}:channels:{name}:out``; PATCH and close need the ``admin`` action (secret key, or a JWT
with ``admin``); ``.out`` appends need a secret key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..jwt import public_access_token
from ..resources.runs import MACHINE_PRESETS
from ..resources.sessions import ChannelKey, Session, SessionStore
from ..resources.triggering import trigger_run
from ..validation import MISSING, Checker
from ..world import Environment, parse_date, to_ms
from . import streams
from .runs import page_size_issues

ORDER = 90
STORES = {"sessions": SessionStore}

MAX_BODY = 32 * 1024
MAX_CLOSE_BODY = 1024
MAX_APPEND_BODY = 1024 * 1024  # the route's DoS pre-guard
S2_MAX_METERED_BYTES = 1024 * 1024  # S2's per-record limit (body + 8 bytes overhead)
S2_RECORD_OVERHEAD = 8
DEFAULT_PAGE_SIZE = 20
MAX_TAGS = 10
STATUSES = ("ACTIVE", "CLOSED", "EXPIRED")
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
S2_WAIT_S = 60  # REALTIME_STREAMS_S2_WAIT_SECONDS: the read's default wait
TOKEN_SECONDS = 3600  # mintSessionToken's "1h"
PERIOD = re.compile(r"^(\d+)([smhdw])$")
PERIOD_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_CONFIG_OPTIONS = ("machine", "tags", "maxAttempts", "maxDuration", "lockToVersion", "region")


def register(router: Router) -> None:
    router.post(
        "/api/v1/sessions",
        start,
        auth=auth.BEARER_JWT,
        cors=True,
        authorization="write",
        max_content_length=MAX_BODY,
    )
    router.get(
        "/api/v1/sessions", list_sessions, auth=auth.BEARER_JWT, cors=True, authorization="read"
    )
    router.get(
        "/api/v1/sessions/{session}",
        retrieve,
        auth=auth.BEARER_JWT,
        cors=True,
        authorization="read",
    )
    router.patch(
        "/api/v1/sessions/{session}",
        update,
        auth=auth.BEARER_JWT,
        cors=True,
        authorization="admin",
        max_content_length=MAX_BODY,
    )
    router.post(
        "/api/v1/sessions/{session}/close",
        close,
        auth=auth.BEARER_JWT,
        cors=True,
        authorization="admin",
        max_content_length=MAX_CLOSE_BODY,
    )
    for prefix in (
        "/realtime/v1/sessions/{session}",
        "/realtime/v1/sessions/{session}/channels/{name}",
    ):
        router.post(
            prefix + "/{io}/append",
            append,
            auth=auth.BEARER_JWT,
            cors=True,
            authorization="write",
            max_content_length=MAX_APPEND_BODY,
        )
        router.get(
            prefix + "/{io}/records",
            read_records,
            auth=auth.BEARER_JWT,
            cors=True,
            authorization="read",
        )
        router.put(
            prefix + "/{io}", initialize, auth=auth.BEARER_JWT, cors=True, authorization="write"
        )
        router.get(
            prefix + "/{io}", subscribe, auth=auth.BEARER_JWT, cors=True, authorization="read"
        )
        router.add(
            "HEAD",
            prefix + "/{io}",
            subscribe,
            auth=auth.BEARER_JWT,
            cors=True,
            authorization="read",
        )
    router.post("/s2/v1/streams/{stream}/records", s2_append, auth=auth.NONE)


# -- shared ------------------------------------------------------------------------------------


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def _store(request: ApiRequest) -> SessionStore:
    store: SessionStore = request.world.sessions
    return store


def _session_ids(session: Session | None, url_key: str) -> list[str]:
    ids = [url_key]
    if session is not None:
        ids += [session.friendly_id] + ([session.external_id] if session.external_id else [])
    return list(dict.fromkeys(ids))


def _channel_resources(
    session: Session | None, url_key: str, channel: str | None, io: str
) -> list[tuple[str, str | None]]:
    """Every id a scope may name for this channel: the session (any addressing form), or the
    narrowed forms ``{id}:out``, ``{id}:channels:{name}``, ``{id}:channels:{name}:out``."""
    resources: list[tuple[str, str | None]] = []
    for ident in _session_ids(session, url_key):
        resources.append(("sessions", ident))
        if channel is None and io == "out":
            resources.append(("sessions", f"{ident}:out"))
        if channel is not None:
            resources.append(("sessions", f"{ident}:channels:{channel}"))
            if io == "out":
                resources.append(("sessions", f"{ident}:channels:{channel}:out"))
    return resources


def _readable_channel(
    request: ApiRequest, store: SessionStore, channel: str | None, io: str
) -> ChannelKey:
    """The key of the channel a read route addresses, after that route's checks (under the
    world's lock): an unknown ``session_…`` id is a 404, then the caller's scopes; an
    external id without a row reads the channel it will have."""
    env = _env(request)
    url_key = request.params["session"]
    session = store.get(url_key, env)
    if session is None and url_key.startswith("session_"):
        raise errors.not_found_loader(retry=False)
    request.authorize(_channel_resources(session, url_key, channel, io))
    addressing = session.addressing_key if session else url_key
    return store.channel_key(env, addressing, channel, io)


def _channel_params(request: ApiRequest) -> tuple[str | None, str]:
    check = Checker()
    io = request.params["io"]
    if io not in ("in", "out"):
        check.add(
            ["io"],
            f"Invalid enum value. Expected 'out' | 'in', received '{io}'",
            "invalid_enum_value",
        )
    name = request.params.get("name")
    if name is not None and not CHANNEL_NAME.match(name):
        check.add(["name"], "Invalid channel name", "invalid_string")
    check.raise_if(errors.invalid_request_parameters)
    return name, io


def _live_run(request: ApiRequest, session: Session) -> bool:
    if session.current_run_id is None:
        return False
    run = request.world.runs.get(session.current_run_id, _env(request))
    return run is not None and run.completed_at is None


def ensure_run(request: ApiRequest, session: Session) -> None:
    """``ensureRunForSession``: a new run of the session's task when it has no live one, its
    payload the ``basePayload`` with ``sessionId`` (and ``continuation``/``previousRunId``
    after a finished run)."""
    if _live_run(request, session):
        return
    config = session.trigger_config
    payload: dict[str, Any] = dict(config.get("basePayload") or {})
    if config.get("idleTimeoutInSeconds") is not None:
        payload["idleTimeoutInSeconds"] = config["idleTimeoutInSeconds"]
    payload["sessionId"] = session.friendly_id
    if session.current_run_id is not None:
        payload.update(continuation=True, previousRunId=session.current_run_id)
        for key in ("message", "messages", "trigger"):
            payload.pop(key, None)
    options = {key: config[key] for key in _CONFIG_OPTIONS if key in config}
    if config.get("queue"):
        options["queue"] = {"name": config["queue"]}
    outcome = trigger_run(request.world, _env(request), session.task_identifier, payload, options)
    session.current_run_id = outcome.run.friendly_id


def _check_trigger_config(check: Checker, config: dict[str, Any]) -> None:
    """``SessionTriggerConfig`` (core schemas/api.ts): the run options a session's runs get."""
    if not isinstance(config.get("basePayload"), dict):
        check.add(
            ["triggerConfig", "basePayload"],
            "Required" if "basePayload" not in config else "Expected object",
            "invalid_type",
        )

    def at(key: str) -> list[str | int]:
        return ["triggerConfig", key]

    check.enum(config, "machine", MACHINE_PRESETS, required=False, path=at("machine"))
    for key, limit in (("queue", 128), ("lockToVersion", None), ("region", None)):
        check.string(config, key, required=False, max_length=limit, path=at(key))
    tags = check.array(config, "tags", required=False, max_items=5, path=at("tags"))
    if tags is not MISSING:
        for index, tag in enumerate(tags):
            check.string({"tag": tag}, "tag", max_length=128, path=[*at("tags"), index])
    limits = (("maxAttempts", 10), ("maxDuration", None), ("idleTimeoutInSeconds", 3600))
    for key, maximum in limits:
        check.number(
            config,
            key,
            required=False,
            integer=True,
            exclusive_minimum=0,
            maximum=maximum,
            path=at(key),
        )


def _check_external_id(check: Checker, body: Any, *, nullable: bool) -> None:
    value = body.get("externalId", MISSING)
    if value is MISSING or (nullable and value is None):
        return
    if not isinstance(value, str):
        check.string(body, "externalId")
        return
    trimmed = value.strip()
    if not 1 <= len(trimmed) <= 256:
        check.string({"externalId": trimmed}, "externalId", min_length=1, max_length=256)
    elif trimmed.startswith("session_"):
        check.add(
            ["externalId"],
            "externalId cannot start with 'session_' (reserved prefix for internal friendlyIds)",
        )


def _check_tags(check: Checker, body: Any) -> None:
    tags = check.array(body, "tags", required=False, max_items=MAX_TAGS)
    if tags is not MISSING:
        for index, tag in enumerate(tags):
            check.string({"tag": tag}, "tag", max_length=128, path=["tags", index])


# -- sessions ----------------------------------------------------------------------------------


def start(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    if check.object(body):
        check.string(body, "type", min_length=1, max_length=64)
        _check_external_id(check, body, nullable=False)
        check.string(body, "taskIdentifier", min_length=1, max_length=128)
        config = body.get("triggerConfig", MISSING)
        if check.object(config, ["triggerConfig"]):
            _check_trigger_config(check, config)
        _check_tags(check, body)
        if body.get("metadata", None) is not None and not isinstance(body["metadata"], dict):
            check.add(["metadata"], "Expected object", "invalid_type")
        expires = body.get("expiresAt")
        if expires is not None and parse_date(expires) is None:
            check.add(["expiresAt"], "Invalid date", "invalid_date")
    check.raise_body_error()
    request.authorize([("tasks", body["taskIdentifier"]), ("sessions", None)])
    env = _env(request)
    world = request.world
    store = _store(request)
    with world.lock:
        now = world.now()
        external = body["externalId"].strip() if isinstance(body.get("externalId"), str) else None
        session = store.get(external, env) if external else None
        cached = session is not None
        if session is None:
            session = store.add(
                Session(
                    friendly_id=world.ids.friendly("session"),
                    environment_id=env.id,
                    type=body["type"],
                    task_identifier=body["taskIdentifier"],
                    trigger_config=body["triggerConfig"],
                    created_at=now,
                    updated_at=now,
                    external_id=external,
                    tags=list(body.get("tags") or []),
                    metadata=body.get("metadata"),
                    expires_at=parse_date(body["expiresAt"]) if body.get("expiresAt") else None,
                )
            )
        else:
            session.trigger_config = body["triggerConfig"]  # refreshed on the cached path
        if session.closed_at is not None:
            return errors.api_error(
                409, "Session is closed; use a different externalId to create a new session"
            ).reply
        if session.expires_at is not None and session.expires_at < now:
            return errors.api_error(
                409, "Session is expired; use a different externalId to create a new session"
            ).reply
        ensure_run(request, session)
        key = session.addressing_key
        token, _claims = public_access_token(
            env.api_key,
            env.id,
            [f"read:sessions:{key}", f"write:sessions:{key}"],
            world.clock.now_ms() // 1000,
            expires_in_s=TOKEN_SECONDS,
        )
        answer = {
            **session.render(),
            "runId": session.current_run_id,
            "publicAccessToken": token,
            "isCached": cached,
        }
        return json_reply(answer, 200 if cached else 201)


def retrieve(request: ApiRequest) -> Reply:
    with request.world.lock:
        session = _store(request).get(request.params["session"], _env(request))
        if session is None:
            raise errors.not_found_loader(retry=False)
        request.authorize(
            [("sessions", ident) for ident in _session_ids(session, session.friendly_id)]
        )
        return json_reply(session.render())


def update(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    if check.object(body):
        _check_tags(check, body)
        metadata = body.get("metadata", None)
        if metadata is not None and not isinstance(metadata, dict):
            check.add(
                ["metadata"], "Expected object, received " + type(metadata).__name__, "invalid_type"
            )
        _check_external_id(check, body, nullable=True)
    check.raise_body_error()
    request.authorize([("sessions", request.params["session"])])
    with request.world.lock:
        session = _store(request).get(request.params["session"], _env(request))
        if session is None:
            raise errors.api_error(404, "Session not found")
        if "externalId" in body and _trimmed(body["externalId"]) != session.external_id:
            raise errors.api_error(
                422,
                "externalId cannot be changed after creation; close this session and create a "
                "new one with the desired externalId",
            )
        if "tags" in body:
            session.tags = list(body["tags"])
        if "metadata" in body:
            session.metadata = body["metadata"]
        session.updated_at = request.world.now()
        return json_reply(session.render())


def _trimmed(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def close(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    if check.object(body):
        check.string(body, "reason", required=False, max_length=256)
        check.string(body, "callingRunId", required=False)
    check.raise_body_error()
    request.authorize([("sessions", request.params["session"])])
    with request.world.lock:
        session = _store(request).get(request.params["session"], _env(request))
        if session is None:
            raise errors.api_error(404, "Session not found")
        if session.closed_at is None:  # closing is write-once: the first reason stays
            session.closed_at = request.world.now()
            session.closed_reason = body.get("reason")
            session.updated_at = session.closed_at
        return json_reply(session.render())


def list_sessions(request: ApiRequest) -> Reply:
    issues: list[dict[str, Any]] = []
    size, size_issues = page_size_issues(request.arg("page[size]"))
    issues += size_issues
    after, before = request.arg("page[after]"), request.arg("page[before]")
    if after and before:
        issues.append(
            {
                "code": "custom",
                "message": "Cannot pass both page[after] and page[before] on the same request",
                "path": ["page[before]"],
            }
        )
    statuses = _multi(request, "filter[status]")
    for status in statuses or []:
        if status not in STATUSES:
            issues.append(
                {
                    "code": "invalid_union",
                    "message": "Invalid input",
                    "path": ["filter[status]"],
                }
            )
            break
    bounds: dict[str, int] = {}
    for name in ("from", "to"):
        raw = request.arg(f"filter[createdAt][{name}]")
        if raw is not None:
            try:
                bounds[name] = int(raw)
            except ValueError:
                issues.append(
                    {
                        "code": "invalid_type",
                        "message": "Expected number, received nan",
                        "path": [f"filter[createdAt][{name}]"],
                    }
                )
    if issues:
        raise errors.query_error(issues)
    tasks = _multi(request, "filter[taskIdentifier]")
    principal = request.principal
    # read:sessions / read:tasks cover any list; id-scoped task keys must cover every task
    # filtered on (the route's everyResource), so one allowed filter cannot expose others.
    if not principal.can("read", [("sessions", None), ("tasks", None)]) and not (
        tasks and all(principal.can("read", [("tasks", task)]) for task in tasks)
    ):
        raise errors.rbac_forbidden()
    types, tags = _multi(request, "filter[type]"), _multi(request, "filter[tags]")
    external = request.arg("filter[externalId]")
    period = request.arg("filter[createdAt][period]")
    with request.world.lock:
        now = request.world.now()
        found = []
        for session in _store(request).in_environment(_env(request)):
            created = to_ms(session.created_at)
            if types and session.type not in types:
                continue
            if tags and not set(tags) & set(session.tags):
                continue
            if tasks and session.task_identifier not in tasks:
                continue
            if external is not None and session.external_id != external:
                continue
            if statuses and session.status(now) not in statuses:
                continue
            if period and (match := PERIOD.match(period)):
                if created < to_ms(now) - int(match.group(1)) * PERIOD_MS[match.group(2)]:
                    continue
            if "from" in bounds and created < bounds["from"]:
                continue
            if "to" in bounds and created > bounds["to"]:
                continue
            found.append(session)
        page, pagination = _cursor_page(found, size or DEFAULT_PAGE_SIZE, after, before)
        # list rows come from ClickHouse, which has no triggerConfig column
        rows = [{k: v for k, v in s.render().items() if k != "triggerConfig"} for s in page]
        return json_reply({"data": rows, "pagination": pagination})


def _multi(request: ApiRequest, name: str) -> list[str] | None:
    values = request.query.get(name)
    if not values:
        return None
    return [item for value in values for item in value.split(",") if item]


def _cursor_page(
    items: list[Session], size: int, after: str | None, before: str | None
) -> tuple[list[Session], dict[str, str]]:
    """Keyset pages over the newest-first list; the cursor is the boundary session's id."""
    ids = [s.friendly_id for s in items]
    if before:
        end = ids.index(before) if before in ids else 0
        start = max(end - size, 0)
        page = items[start:end]
        pagination = {}
        if start > 0:
            pagination["previous"] = items[start].friendly_id
        if end < len(items):
            pagination["next"] = items[end - 1].friendly_id if end > 0 else ""
        return page, {k: v for k, v in pagination.items() if v}
    start = ids.index(after) + 1 if after in ids else 0
    page = items[start : start + size]
    pagination = {}
    if start + size < len(items):
        pagination["next"] = page[-1].friendly_id
    if start > 0 and page:
        pagination["previous"] = page[0].friendly_id
    return page, pagination


# -- channels ----------------------------------------------------------------------------------


def append(request: ApiRequest) -> Reply:
    channel, io = _channel_params(request)
    env = _env(request)
    store = _store(request)
    world = request.world
    with world.lock:
        session = store.get(request.params["session"], env)
        if session is None:
            raise errors.not_found_action()
        request.authorize(_channel_resources(session, request.params["session"], channel, io))
        if session.closed_at is not None:
            return json_reply({"ok": False, "error": "Cannot append to a closed session"}, 400)
        if session.expires_at is not None and session.expires_at < world.now():
            return json_reply({"ok": False, "error": "Cannot append to an expired session"}, 400)
        if io == "out" and request.principal.kind != "secret_key":
            return json_reply(
                {
                    "ok": False,
                    "error": "Appending to the out channel requires secret key authentication",
                },
                403,
            )
        ensure_run(request, session)
        part = request.body.decode("utf-8", errors="replace")
        client_part_id = request.headers.get("X-Part-Id")
        part_id = client_part_id or world.ids.chars("session-part", 7)
        key = store.channel_key(env, session.addressing_key, channel, io)
        if client_part_id is not None and (key, client_part_id) in store.claimed_parts:
            return json_reply({"ok": True})  # a retry of a committed append: not written twice
        record_body = json.dumps({"data": part, "id": part_id}, separators=(",", ":"))
        metered = len(record_body.encode()) + S2_RECORD_OVERHEAD
        if metered > S2_MAX_METERED_BYTES:
            return json_reply(
                {
                    "ok": False,
                    "error": f"Record metered size {metered} bytes exceeds the S2 per-record "
                    f"limit of {S2_MAX_METERED_BYTES} bytes. Reduce tool-output size or split "
                    "into smaller parts.",
                },
                413,
            )
        if client_part_id is not None:
            store.claimed_parts.add((key, client_part_id))
        record = store.append(key, record_body)
        if io == "in" and channel is None:
            store.play(session, env, part)
        return json_reply({"ok": True, "seq": record.seq_num})


def read_records(request: ApiRequest) -> Reply:
    channel, io = _channel_params(request)
    after_raw = request.arg("afterEventId")
    if after_raw is not None and not re.fullmatch(r"\d+", after_raw):
        raise errors.query_error(
            [{"code": "invalid_string", "message": "Invalid", "path": ["afterEventId"]}]
        )
    store = _store(request)
    with request.world.lock:
        key = _readable_channel(request, store, channel, io)
        records = []
        for record in store.records(key, int(after_raw) if after_raw is not None else None):
            if record.headers and record.headers[0][0] == "":
                continue  # S2 command records (trim) are not application data
            try:
                parsed = json.loads(record.body)
            except ValueError:
                parsed = None
            parsed = parsed if isinstance(parsed, dict) else {}
            item: dict[str, Any] = {
                "data": parsed.get("data", ""),
                "id": parsed.get("id", ""),
                "seqNum": record.seq_num,
            }
            if record.headers:
                item["headers"] = record.headers
            records.append(item)
        return json_reply({"records": records})


def subscribe(request: ApiRequest) -> Reply:
    """``GET …/{io}`` (the SDK's ``out.read()``, ``subscribeToSessionStream``): the channel as
    S2's read session over SSE, as ``streams.s2_events`` serves a v2 run stream. Row-optional:
    an external id without a row reads an empty channel; an unknown ``session_…`` id is a 404.
    A closed session's channel is served as any other (the route does not look at
    ``closedAt``). ``Timeout-Seconds``: an integer 1–600 (``Number()``, unlike the run
    route's ``parseInt``), default 60; ``X-Peek-Settled: 1`` on ``.out`` whose last data or
    control record is a ``turn-complete`` answers ``wait=0`` and ``X-Session-Settled: true``."""
    channel, io = _channel_params(request)
    store = _store(request)
    with request.world.lock:
        key = _readable_channel(request, store, channel, io)
        settled = (
            io == "out" and request.headers.get("X-Peek-Settled") == "1" and store.settled(key)
        )
    if request.method == "HEAD":
        return Reply(status=200, headers={"X-Last-Chunk-Index": "0"}, content_type=None)
    wait = float(S2_WAIT_S)
    raw = request.headers.get("Timeout-Seconds")
    if raw:
        number = streams.js_number(raw)
        if number is None or number != number or number != int(number):
            return _text_reply("Invalid timeout seconds", 400)
        if number < 1:
            return _text_reply("Timeout seconds must be greater than 0", 400)
        if number > 600:
            return _text_reply("Timeout seconds must be less than 600", 400)
        wait = number
    if settled:
        wait = 0.0

    def read(next_seq: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        visible = store.records(key, next_seq - 1 if next_seq else None)
        tail = store.visible_tail(key)
        return [record.render() for record in visible], tail

    headers = {
        "Cache-Control": "no-cache",
        "X-Stream-Version": "v2",
        "Access-Control-Expose-Headers": "*",
    }
    if settled:
        headers["X-Session-Settled"] = "true"
    start = streams.s2_start_seq(request.headers.get("Last-Event-ID") or None)
    return errors.stream_reply(
        streams.s2_events(request, read, start, wait),
        max_seconds=streams.MAX_ANSWER_S,
        headers=headers,
    )


# -- S2 (the channel writers' direct path) -------------------------------------------------------

S2_BASIN = "emulator"
S2_FLUSH_INTERVAL_MS = "200"
S2_MAX_RETRIES = "10"
S2_MAX_BATCH_RECORDS = 1000
S2_MAX_BATCH_BYTES = 1024 * 1024


def _text_reply(message: str, status: int) -> Reply:
    return Reply(status=status, body=message.encode(), content_type="text/plain;charset=UTF-8")


def initialize(request: ApiRequest) -> Reply:
    """``PUT …/{io}``: S2 credentials for the channel. Row-optional as the server is: an
    external-id key without a row initialises the stream it will have."""
    channel, io = _channel_params(request)
    env = _env(request)
    store = _store(request)
    url_key = request.params["session"]
    with request.world.lock:
        session = store.get(url_key, env)
        request.authorize(_channel_resources(session, url_key, channel, io))
        if io == "out" and request.principal.kind != "secret_key":
            return _text_reply(
                "Initializing the out channel requires secret key authentication", 403
            )
        if session is None and url_key.startswith("session_"):
            return _text_reply("Session not found", 404)
        if session is not None and session.closed_at is not None:
            return _text_reply("Cannot initialize a channel on a closed session", 400)
        addressing = session.addressing_key if session else url_key
        key = store.channel_key(env, addressing, channel, io)
        name = f"/sessions/{addressing}" + (f"/channels/{channel}" if channel else "") + f"/{io}"
        token = "s2tok_" + secrets.token_hex(16)
        store.s2_tokens[token] = (name, key)
        headers = {
            "X-S2-Access-Token": token,
            "X-S2-Stream-Name": name,
            "X-S2-Basin": S2_BASIN,
            "X-S2-Flush-Interval-Ms": S2_FLUSH_INTERVAL_MS,
            "X-S2-Max-Retries": S2_MAX_RETRIES,
            "X-S2-Endpoint": f"{request.base_url}/s2/v1",
        }
        return json_reply({"version": "v2"}, 202, headers)


def _s2_error(status: int, code: str, message: str) -> Reply:
    return json_reply({"code": code, "message": message}, status)


def s2_append(request: ApiRequest) -> Reply:
    """S2's ``POST /v1/streams/{stream}/records`` (JSON), for the streams the emulator's
    tokens open. Records: ``{headers?: [[name, value]], body?}``; a command record has one
    header with an empty name (``trim``: an 8-byte big-endian sequence number as body)."""
    store = _store(request)
    raw_auth = request.headers.get("Authorization", "")
    token = raw_auth[len("Bearer ") :] if raw_auth.startswith("Bearer ") else ""
    with request.world.lock:
        grant = store.s2_tokens.get(token)
        if grant is None:
            return _s2_error(401, "unauthorized", "invalid access token")
        name, key = grant
        if request.params["stream"] != name or request.headers.get("S2-Basin") not in (
            None,
            S2_BASIN,
        ):
            return _s2_error(403, "permission_denied", "the token does not grant this stream")
        protobuf = request.headers.get("Content-Type", "").startswith("application/protobuf")
        fmt = (request.headers.get("S2-Format") or "raw").lower()
        if fmt not in ("raw", "base64"):
            return _s2_error(400, "invalid", "S2-Format must be raw or base64")
        try:
            if protobuf:  # what the SDK sends when a record has bytes (a trim)
                body, parsed = _proto_append_input(request.body)
            else:
                body = json.loads(request.body or b"null")
                records = body.get("records") if isinstance(body, dict) else None
                if not isinstance(records, list):
                    raise ValueError("records must be an array")
                parsed = [_s2_record(record, fmt) for record in records]
        except ValueError as exc:
            return _s2_error(400, "invalid", f"the body is not an append input: {exc}")
        if not parsed:
            return _s2_error(400, "invalid", "records must be a non-empty array")
        if len(parsed) > S2_MAX_BATCH_RECORDS:
            return _s2_error(400, "invalid", f"at most {S2_MAX_BATCH_RECORDS} records a batch")
        decoded: list[tuple[list[list[str]], bytes]] = []
        total = 0
        for headers, payload in parsed:
            metered = 8 + 2 * len(headers) + sum(len(n) + len(v) for n, v in headers)
            metered += len(payload)
            if metered > S2_MAX_METERED_BYTES:
                return _s2_error(400, "invalid", f"record metered size {metered} exceeds 1 MiB")
            total += metered
            text = [[n.decode(errors="replace"), v.decode(errors="replace")] for n, v in headers]
            if text and text[0][0] == "" and (text[0][1] != "trim" or len(payload) != 8):
                # checked before anything is written: a batch is appended whole or not at all
                return _s2_error(400, "invalid", "the only command record served is an 8-byte trim")
            decoded.append((text, payload))
        if total > S2_MAX_BATCH_BYTES:
            return _s2_error(400, "invalid", "the batch's metered size exceeds 1 MiB")
        tail = store.tail(key)
        match = body.get("match_seq_num") if isinstance(body, dict) else None
        if match is not None and match != tail:
            return json_reply({"seq_num_mismatch": tail}, 412)
        start = tail
        for headers_text, payload in decoded:
            if headers_text and headers_text[0][0] == "":  # a trim (checked above)
                store.append(key, "", headers_text)
                store.trim(key, int.from_bytes(payload, "big"))
                continue
            store.append(key, payload.decode("utf-8", errors="replace"), headers_text)
        now = request.world.clock.now_ms()
        end = store.tail(key)
        if protobuf:
            ack = b"".join(
                _proto_field(number, _proto_field(1, seq) + _proto_field(2, now))
                for number, seq in ((1, start), (2, end), (3, end))
            )
            return Reply(status=200, body=ack, content_type="application/protobuf")
        return json_reply(
            {
                "start": {"seq_num": start, "timestamp": now},
                "end": {"seq_num": end, "timestamp": now},
                "tail": {"seq_num": end, "timestamp": now},
            }
        )


def _s2_record(record: Any, fmt: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    if not isinstance(record, dict):
        raise ValueError("a record is an object")

    def field(value: Any) -> bytes:
        if not isinstance(value, str):
            raise ValueError("header names, values and bodies are strings")
        if fmt == "raw":
            return value.encode()
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("invalid base64") from None

    headers = record.get("headers") or []
    if not isinstance(headers, list) or not all(
        isinstance(h, list) and len(h) == 2 for h in headers
    ):
        raise ValueError("headers are [name, value] pairs")
    return [(field(n), field(v)) for n, v in headers], field(record.get("body", ""))


# -- S2's protobuf append (s2.v1 AppendInput / AppendAck): only the fields an append has -------


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _proto_fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, varint or bytes) of one message; other wire types refused."""
    fields: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            fields.append((number, value))
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise ValueError("truncated field")
            fields.append((number, data[at : at + length]))
            at += length
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return fields


def _proto_append_input(
    data: bytes,
) -> tuple[dict[str, Any], list[tuple[list[tuple[bytes, bytes]], bytes]]]:
    """``AppendInput {repeated AppendRecord records = 1; optional uint64 match_seq_num = 2;
    optional string fencing_token = 3}``, ``AppendRecord {optional uint64 timestamp = 1;
    repeated Header headers = 2; bytes body = 3}``, ``Header {bytes name = 1; bytes value = 2}``."""
    options: dict[str, Any] = {}
    records = []
    for number, value in _proto_fields(data):
        if number == 1 and isinstance(value, bytes):
            headers: list[tuple[bytes, bytes]] = []
            body = b""
            for field_number, field_value in _proto_fields(value):
                if field_number == 2 and isinstance(field_value, bytes):
                    pair = dict(_proto_fields(field_value))
                    name, val = pair.get(1, b""), pair.get(2, b"")
                    if not isinstance(name, bytes) or not isinstance(val, bytes):
                        raise ValueError("a header is two byte strings")
                    headers.append((name, val))
                elif field_number == 3 and isinstance(field_value, bytes):
                    body = field_value
            records.append((headers, body))
        elif number == 2 and isinstance(value, int):
            options["match_seq_num"] = value
    return options, records


def _proto_field(number: int, value: int | bytes) -> bytes:
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value
