"""Errors API (api.v1.errors*.ts, ApiErrorListPresenter, ApiErrorGroupPresenter): error groups
derived from the environment's failed runs (``resources/errors.py``).

=============================================  ===============================================
``GET  /api/v1/errors``                        cursor list, most occurrences first; filters
                                               ``taskIdentifier``, ``version``, ``status``
                                               (``unresolved|resolved|ignored``), ``search``
                                               (type or message, case-insensitive),
                                               ``period`` / ``from`` / ``to`` (default: 1 day)
``GET  /api/v1/errors/{errorId}``              detail; 404 ``Not found``
``POST /api/v1/errors/{errorId}/resolve``      ``{"resolvedInVersion"?}`` → detail
``POST /api/v1/errors/{errorId}/ignore``       ``{"duration"?, "occurrenceRate"?,
                                               "totalOccurrences"?, "reason"?}`` → detail
``POST /api/v1/errors/{errorId}/unresolve``    no body → detail
=============================================  ===============================================

Family A with public JWTs (``read:errors``, ``write:errors[:<id>]``). ``errorId`` is
``error_<fingerprint>`` or the bare fingerprint. The list's ``count`` counts the runs created
in the window, the detail's all of them. Not modelled: the plan's retention clamp (30 days).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.errors import (
    ErrorGroup,
    ErrorState,
    ErrorStore,
    error_message,
    error_type,
)
from ..validation import MISSING, Checker
from ..world import Environment, format_date, to_ms

STORES = {"error_groups": ErrorStore}
DEFAULT_PAGE_SIZE = 25
API_STATUSES = {"unresolved": "UNRESOLVED", "resolved": "RESOLVED", "ignored": "IGNORED"}
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def register(router: Router) -> None:
    router.get("/api/v1/errors", list_errors, auth=auth.BEARER_JWT, authorization="read", cors=True)
    router.get(
        "/api/v1/errors/{errorId}",
        retrieve_error,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    for action in ("resolve", "ignore", "unresolve"):
        router.post(
            f"/api/v1/errors/{{errorId}}/{action}",
            _ACTIONS[action],
            auth=auth.BEARER_JWT,
            authorization="write",
            cors=True,
        )


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def _store(request: ApiRequest) -> ErrorStore:
    return request.world.error_groups


def _fingerprint(error_id: str) -> str:
    return error_id[len("error_") :] if error_id.startswith("error_") else error_id


def _detail(request: ApiRequest, group: ErrorGroup) -> dict[str, Any]:
    state = _store(request).state(_env(request).id, group)
    created = [r.created_at for r in group.runs]
    versions = sorted({r.version for r in group.runs if r.version}, key=_version_key, reverse=True)[
        :5
    ]
    return {
        "id": "error_" + group.fingerprint,
        "fingerprint": group.fingerprint,
        "taskIdentifier": group.task_identifier,
        "errorType": error_type(group.error),
        "errorMessage": error_message(group.error),
        "count": len(group.runs),
        "firstSeen": format_date(min(created)),
        "lastSeen": format_date(max(created)),
        "affectedVersions": versions,
        "status": state.status.lower(),
        "resolvedAt": _date(state.resolved_at),
        "resolvedInVersion": state.resolved_in_version,
        "resolvedBy": None,
        "ignoredAt": _date(state.ignored_at),
        "ignoredUntil": _date(state.ignored_until),
        "ignoredReason": state.ignored_reason,
        "ignoredByUserId": None,
        "ignoredUntilOccurrenceRate": state.ignored_until_occurrence_rate,
        "ignoredUntilTotalOccurrences": state.ignored_until_total_occurrences,
    }


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-]", version))


def _date(value: dt.datetime | None) -> str | None:
    return format_date(value) if value is not None else None


# -- list --------------------------------------------------------------------------------------


def _cursor(count: int, group: ErrorGroup) -> str:
    raw = json.dumps(
        {
            "occurrenceCount": count,
            "fingerprint": group.fingerprint,
            "taskIdentifier": group.task_identifier,
        },
        separators=(",", ":"),
    )
    return base64.b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[int, str, str] | None:
    """An unreadable cursor is ignored (first page), as the presenter's ``decodeCursor``."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.b64decode(cursor + "=" * (-len(cursor) % 4)))
        count, print_, task = data["occurrenceCount"], data["fingerprint"], data["taskIdentifier"]
    except (ValueError, KeyError, TypeError):
        return None
    if (
        not isinstance(count, (int, float))
        or isinstance(count, bool)
        or not isinstance(print_, str)
        or not isinstance(task, str)
    ):
        return None
    return int(count), print_, task


def _date_arg(check: Checker, request: ApiRequest, name: str) -> dt.datetime | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", raw):
            return dt.datetime.fromtimestamp(float(raw) / 1000, dt.timezone.utc)
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        check.add([name], "Invalid date", "invalid_date")
        return None


def list_errors(request: ApiRequest) -> Reply:
    check = Checker()
    size_raw = request.arg("page[size]")
    size = DEFAULT_PAGE_SIZE
    if size_raw is not None:
        try:
            size = int(float(size_raw))
            if size != float(size_raw) or not 1 <= size <= 100:
                raise ValueError
        except ValueError:
            check.add(["page[size]"], "Number must be between 1 and 100")
    statuses = None
    status_raw = request.arg("filter[status]")
    if status_raw:
        wanted = status_raw.split(",")
        invalid = [s for s in wanted if s not in API_STATUSES]
        if invalid:
            check.add(
                ["filter[status]"],
                f"Invalid status values: {', '.join(invalid)}. "
                "Allowed: unresolved, resolved, ignored.",
            )
        statuses = {API_STATUSES[s] for s in wanted if s in API_STATUSES}
    search = request.arg("filter[search]")
    if search is not None and len(search) > 1000:
        check.add(["filter[search]"], "String must contain at most 1000 character(s)", "too_big")
    from_ = _date_arg(check, request, "filter[from]")
    to = _date_arg(check, request, "filter[to]")
    check.raise_if(errors.query_error)
    tasks = (
        (request.arg("filter[taskIdentifier]") or "").split(",")
        if request.arg("filter[taskIdentifier]")
        else None
    )
    versions = (
        (request.arg("filter[version]") or "").split(",")
        if request.arg("filter[version]")
        else None
    )

    with request.world.lock:
        request.authorize([("errors", None)])
        env = _env(request)
        store = _store(request)
        now = request.world.now()
        period = request.arg("filter[period]")
        if period and re.fullmatch(r"[1-9]\d*[smhdw]", period) and from_ is None:
            from_ = now - dt.timedelta(milliseconds=int(period[:-1]) * UNIT_MS[period[-1]])
        if from_ is None:
            from_ = now - dt.timedelta(days=1) if to is None else None
        start_ms = to_ms(from_) // 60_000 * 60_000 if from_ is not None else None
        end_ms = to_ms(to or now) // 60_000 * 60_000 + 59_999

        rows: list[tuple[int, ErrorGroup]] = []
        for group in store.groups(env.id):
            if tasks is not None and group.task_identifier not in tasks:
                continue
            if statuses is not None and store.state(env.id, group).status not in statuses:
                continue
            in_window = [
                r
                for r in group.runs
                if (start_ms is None or to_ms(r.created_at) >= start_ms)
                and to_ms(r.created_at) <= end_ms
                and (versions is None or r.version in versions)
            ]
            if not in_window:
                continue
            if search and search.strip():
                term = search.strip().lower()
                if (
                    term not in error_type(group.error).lower()
                    and term not in error_message(group.error).lower()
                ):
                    continue
            rows.append((len(in_window), group))

        def key(row: tuple[int, ErrorGroup]) -> tuple[int, str, str]:
            return row[0], row[1].fingerprint, row[1].task_identifier

        backward = bool(request.arg("page[before]"))
        cursor = _decode_cursor(
            request.arg("page[before]") if backward else request.arg("page[after]")
        )
        rows.sort(key=key, reverse=not backward)
        if cursor is not None:
            rows = [r for r in rows if (key(r) > cursor if backward else key(r) < cursor)]
        has_more = len(rows) > size
        page = rows[:size]
        if backward:
            page.reverse()
        pagination: dict[str, str] = {}
        if page:
            first, last = _cursor(*page[0]), _cursor(*page[-1])
            if backward:
                pagination["next"] = last
                if has_more:
                    pagination["previous"] = first
            else:
                if has_more:
                    pagination["next"] = last
                if cursor is not None:
                    pagination["previous"] = first
        data = []
        for count, group in page:
            detail = _detail(request, group)
            data.append(
                {
                    name: detail[name]
                    for name in (
                        "id",
                        "fingerprint",
                        "taskIdentifier",
                        "errorType",
                        "errorMessage",
                        "status",
                    )
                }
                | {
                    "count": count,
                    "firstSeen": detail["firstSeen"],
                    "lastSeen": detail["lastSeen"],
                    "resolvedAt": detail["resolvedAt"],
                    "ignoredUntil": detail["ignoredUntil"],
                }
            )
        return json_reply({"data": data, "pagination": pagination})


# -- one group -----------------------------------------------------------------------------------


def _group(request: ApiRequest, loader: bool) -> ErrorGroup:
    group = _store(request).find(_env(request).id, _fingerprint(request.params["errorId"]))
    if group is None:
        raise errors.not_found_loader(retry=False) if loader else errors.not_found_action()
    return group


def retrieve_error(request: ApiRequest) -> Reply:
    with request.world.lock:
        group = _group(request, loader=True)
        request.authorize([("errors", request.params["errorId"])])
        return json_reply(_detail(request, group))


def _body(request: ApiRequest) -> tuple[Checker, Any]:
    body = request.json()
    check = Checker()
    check.object(body)
    return check, body


def resolve(request: ApiRequest) -> Reply:
    check, body = _body(request)
    version = check.string(body, "resolvedInVersion", required=False)
    check.raise_body_error()
    with request.world.lock:
        group = _group(request, loader=False)
        request.authorize([("errors", request.params["errorId"])])
        _store(request).set_state(
            _env(request).id,
            group,
            ErrorState(
                status="RESOLVED",
                resolved_at=request.world.now(),
                resolved_in_version=None if version is MISSING else version,
            ),
        )
        return json_reply(_detail(request, group))


def ignore(request: ApiRequest) -> Reply:
    check, body = _body(request)
    duration = check.number(body, "duration", required=False, integer=True, exclusive_minimum=0)
    rate = check.number(body, "occurrenceRate", required=False, exclusive_minimum=0)
    total = check.number(
        body, "totalOccurrences", required=False, integer=True, exclusive_minimum=0
    )
    reason = check.string(body, "reason", required=False, max_length=1000)
    check.raise_body_error()
    with request.world.lock:
        group = _group(request, loader=False)
        request.authorize([("errors", request.params["errorId"])])
        now = request.world.now()
        _store(request).set_state(
            _env(request).id,
            group,
            ErrorState(
                status="IGNORED",
                ignored_at=now,
                ignored_until=(
                    None if duration is MISSING else now + dt.timedelta(milliseconds=duration)
                ),
                ignored_until_occurrence_rate=None if rate is MISSING else rate,
                ignored_until_total_occurrences=None if total is MISSING else total,
                ignored_reason=None if reason is MISSING else reason,
            ),
        )
        return json_reply(_detail(request, group))


def unresolve(request: ApiRequest) -> Reply:
    with request.world.lock:
        group = _group(request, loader=False)
        request.authorize([("errors", request.params["errorId"])])
        _store(request).set_state(_env(request).id, group, ErrorState())
        return json_reply(_detail(request, group))


_ACTIONS = {"resolve": resolve, "ignore": ignore, "unresolve": unresolve}
