"""``client.schedules``: imperative cron schedules of scheduled tasks (API.md §6.5, §10)."""

from __future__ import annotations

import builtins
import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.exceptions import (
    ApiError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
)
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import OffsetPage
from django_trigger.types import IdResponse, Schedule, SchemaError

from ._base import (
    MAX_PER_PAGE,
    Auth,
    Resource,
    RetrySafety,
    _cooked,
    flow,
    offset_params,
    retry_safety,
    task_identifier,
)

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import SchedulesWithRawResponse

__all__ = ["MAX_PER_PAGE", "Schedules", "validate_cron"]

_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,\-?LW#]+")
_WINDOW = re.compile(r"(0|[1-9]\d*)[mh]|(0|[1-9]\d*)%", re.ASCII)


def validate_cron(cron: object) -> str:
    """Refuse what can never be a valid 5-field cron expression; the server checks the rest
    (ranges, names) and answers 422 with the reason."""
    if not isinstance(cron, str) or not cron.strip():
        raise InvalidRequestError("cron must be a non-empty string like '0 9 * * 1-5'")
    fields = cron.split()
    if len(fields) == 6:
        raise InvalidRequestError("cron expressions with seconds are not allowed (use 5 fields)")
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(field) for field in fields):
        raise InvalidRequestError(
            f"invalid cron expression {cron!r}: expected 5 fields "
            "(minute hour day-of-month month day-of-week)"
        )
    return " ".join(fields)


class Schedules(Resource):
    with_raw_response: RawTwin[SchedulesWithRawResponse]

    @retry_safety(
        RetrySafety.DEDUPLICATED, why="the same deduplication key updates the same schedule"
    )
    def create(
        self,
        *,
        task: str,
        cron: str,
        deduplication_key: str,
        external_id: str | None = None,
        timezone: str | None = None,
        window: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Schedule:
        """Create a schedule; the same ``deduplication_key`` again updates that schedule."""
        body = _body(task, cron, external_id, timezone, window)
        if not isinstance(deduplication_key, str) or not deduplication_key.strip():
            raise InvalidRequestError("deduplication_key must be a non-empty string")
        body["deduplicationKey"] = deduplication_key
        return self._request(
            "POST",
            "/api/v1/schedules",
            operation="schedules.create",
            json_body=body,
            parse=Schedule.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> OffsetPage[Schedule]:
        """Schedules of the environment, with totals. Without ``per_page`` pages hold 100."""
        return self._offset_page(
            "/api/v1/schedules",
            operation="schedules.list",
            item=Schedule.from_api,
            params=offset_params(page, per_page),
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(self, schedule_id: str, *, request_options: RequestOptionsLike = None) -> Schedule:
        """By ``sched_…`` id or by deduplication key."""
        return self._request(
            "GET",
            _path(schedule_id),
            operation="schedules.retrieve",
            parse=Schedule.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.UNSAFE,
        RetrySafety.IDEMPOTENT,
        why="a full replacement is idempotent, but the API creates a new schedule for an "
        "unknown id: after a lost answer the schedule is read, and the update sent again only "
        "if it exists",
    )
    @flow
    def update(
        self,
        schedule_id: str,
        *,
        task: str,
        cron: str,
        external_id: str | None = None,
        timezone: str | None = None,
        window: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Schedule]:
        """Replace a schedule. Like the API, omitted ``external_id`` becomes null and omitted
        ``timezone`` becomes UTC: pass every value you want to keep."""
        body = _body(task, cron, external_id, timezone, window)

        def put(safety: RetrySafety) -> Any:
            return self._request(
                "PUT",
                _path(schedule_id),
                operation="schedules.update",
                json_body=body,
                parse=Schedule.from_api,
                request_options=request_options,
                retry_safety=safety,
                unknown_hint=(
                    f"schedule {schedule_id} does not exist, so the lost attempt may have "
                    "created a new schedule: list the schedules (client.schedules.list()) "
                    f"of task {task!r}"
                ),
            )

        try:
            return (yield put(RetrySafety.UNSAFE))
        except OutcomeUnknownError:
            try:
                yield _cooked(self).retrieve(schedule_id, request_options=request_options)
                exists = True
            except NotFoundError:
                exists = False
            if not exists:
                raise
        return (yield put(RetrySafety.IDEMPOTENT))  # it exists: a repeat sets the same values

    @retry_safety(
        RetrySafety.VERIFIED, why="a retry answered 404 after a lost answer means it was deleted"
    )
    @flow
    def delete(
        self, schedule_id: str, *, request_options: RequestOptionsLike = None
    ) -> Generator[Any, Any, IdResponse]:
        try:
            return (
                yield self._request(
                    "DELETE",
                    _path(schedule_id),
                    operation="schedules.delete",
                    parse=IdResponse.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            if self._done_before(exc, 404):  # the lost attempt deleted it
                return IdResponse.from_api({"id": schedule_id})
            raise

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the active state")
    def activate(self, schedule_id: str, *, request_options: RequestOptionsLike = None) -> Schedule:
        return self._request(
            "POST",
            _path(schedule_id) + "/activate",
            operation="schedules.activate",
            parse=Schedule.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the active state")
    def deactivate(
        self, schedule_id: str, *, request_options: RequestOptionsLike = None
    ) -> Schedule:
        return self._request(
            "POST",
            _path(schedule_id) + "/deactivate",
            operation="schedules.deactivate",
            parse=Schedule.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def timezones(
        self, *, exclude_utc: bool = False, request_options: RequestOptionsLike = None
    ) -> builtins.list[str]:
        """The IANA time zones schedules accept (``UTC`` first). Needs no credentials."""
        return self._request(
            "GET",
            "/api/v1/timezones",
            operation="schedules.timezones",
            auth=Auth.NONE,
            params={"excludeUtc": "true"} if exclude_utc else None,
            parse=_timezones,
            request_options=request_options,
        )


def _path(schedule_id: str) -> str:
    return build_path("/api/v1/schedules/{}", (schedule_id, "schedule"))


def _body(
    task: str, cron: str, external_id: str | None, timezone: str | None, window: str | None
) -> dict[str, Any]:
    task_identifier(task, "task")
    body: dict[str, Any] = {"task": task, "cron": validate_cron(cron)}
    if external_id is not None:
        body["externalId"] = external_id
    if timezone is not None:
        if not isinstance(timezone, str) or not timezone.strip():
            raise InvalidRequestError("timezone must be an IANA name like 'Europe/London'")
        body["timezone"] = timezone
    if window is not None:
        if not isinstance(window, str) or not _WINDOW.fullmatch(window):
            raise InvalidRequestError("window must look like '15m', '2h' (≤ 24h) or '10%'")
        body["window"] = window
    return body


def _timezones(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("timezones"), list):
        raise SchemaError("expected {'timezones': [...]}")
    return [str(zone) for zone in body["timezones"]]
