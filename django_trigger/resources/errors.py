"""``client.errors``: error groups — the failed runs of a task grouped by error fingerprint —
and their state (docs/API-ADDENDUM.md §10.2). The runs of a group:
``client.runs.list(error=group.id)``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types.operations import ErrorGroup, ErrorGroupDetail

from ._base import (
    Auth,
    Resource,
    RetrySafety,
    comma_list,
    cursor_params,
    epoch_ms,
    known_values,
    nonempty,
    period_filter,
    retry_safety,
    task_filter,
)

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import ErrorsWithRawResponse

__all__ = ["ERROR_STATUSES", "ErrorStatus", "Errors"]

ErrorStatus = Literal["unresolved", "resolved", "ignored"]
ERROR_STATUSES = ("unresolved", "resolved", "ignored")
MAX_SEARCH_LENGTH = 1000
MAX_REASON_LENGTH = 1000


class Errors(Resource):
    with_raw_response: RawTwin[ErrorsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        task_identifier: str | Iterable[str] | None = None,
        version: str | Iterable[str] | None = None,
        status: ErrorStatus | Iterable[ErrorStatus] | None = None,
        search: str | None = None,
        period: str | None = None,
        from_: datetime | int | None = None,
        to: datetime | int | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[ErrorGroup]:
        """Error groups with occurrences in the window (without ``period``/``from_``/``to``:
        the last day), most occurrences first. ``search`` matches the error type or message
        (case-insensitive). One request per page of up to ``limit`` (default 100)."""
        statuses = known_values(status, "status", ERROR_STATUSES, "error status")
        if search is not None and (not isinstance(search, str) or len(search) > MAX_SEARCH_LENGTH):
            raise InvalidRequestError(
                f"search must be a string of at most {MAX_SEARCH_LENGTH} characters"
            )
        params: dict[str, Any] = {
            "filter[taskIdentifier]": task_filter(task_identifier),
            "filter[version]": comma_list(version, "version"),
            "filter[status]": statuses,
            "filter[search]": search or None,
            "filter[period]": period_filter(period),
            "filter[from]": epoch_ms(from_, "from_"),
            "filter[to]": epoch_ms(to, "to"),
            **cursor_params(limit, after, before),
        }
        return self._cursor_page(
            "/api/v1/errors",
            operation="errors.list",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            item=ErrorGroup.from_api,
            params=params,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self, error_id: str, *, request_options: RequestOptionsLike = None
    ) -> ErrorGroupDetail:
        """One group by ``error_…`` id (or fingerprint); ``NotFoundError`` when the
        environment has no such group."""
        return self._request(
            "GET",
            build_path("/api/v1/errors/{}", (error_id, "error")),
            operation="errors.retrieve",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=ErrorGroupDetail.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="sets the group's state (a retry only moves resolved_at by the delay)",
    )
    def resolve(
        self,
        error_id: str,
        *,
        resolved_in_version: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ErrorGroupDetail:
        body: dict[str, Any] = {}
        if resolved_in_version is not None:
            body["resolvedInVersion"] = nonempty(resolved_in_version, "resolved_in_version")
        return self._action(error_id, "resolve", body, request_options)

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="sets the group's state (a retry only moves ignored_at by the delay)",
    )
    def ignore(
        self,
        error_id: str,
        *,
        duration: timedelta | None = None,
        occurrence_rate: float | None = None,
        total_occurrences: int | None = None,
        reason: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ErrorGroupDetail:
        """Ignore the group: for ``duration``, until more than ``occurrence_rate`` per minute,
        or until ``total_occurrences`` more (any combination; none: until unresolved)."""
        body: dict[str, Any] = {}
        if duration is not None:
            if not isinstance(duration, timedelta) or duration.total_seconds() <= 0:
                raise InvalidRequestError("duration must be a positive timedelta")
            body["duration"] = max(1, round(duration.total_seconds() * 1000))
        if occurrence_rate is not None:
            if (
                isinstance(occurrence_rate, bool)
                or not isinstance(occurrence_rate, (int, float))
                or not occurrence_rate > 0
            ):
                raise InvalidRequestError("occurrence_rate must be a positive number")
            body["occurrenceRate"] = occurrence_rate
        if total_occurrences is not None:
            if (
                isinstance(total_occurrences, bool)
                or not isinstance(total_occurrences, int)
                or total_occurrences < 1
            ):
                raise InvalidRequestError("total_occurrences must be a positive integer")
            body["totalOccurrences"] = total_occurrences
        if reason is not None:
            if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
                raise InvalidRequestError(
                    f"reason must be a string of at most {MAX_REASON_LENGTH} characters"
                )
            body["reason"] = reason
        return self._action(error_id, "ignore", body, request_options)

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the group's state")
    def unresolve(
        self, error_id: str, *, request_options: RequestOptionsLike = None
    ) -> ErrorGroupDetail:
        return self._action(error_id, "unresolve", None, request_options)

    def _action(
        self,
        error_id: str,
        action: str,
        body: dict[str, Any] | None,
        request_options: RequestOptionsLike,
    ) -> ErrorGroupDetail:
        return self._request(
            "POST",
            build_path("/api/v1/errors/{}/" + action, (error_id, "error")),
            operation=f"errors.{action}",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=ErrorGroupDetail.from_api,
            request_options=request_options,
        )
