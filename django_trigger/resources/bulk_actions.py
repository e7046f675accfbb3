"""``client.bulk_actions``: cancel or replay many runs server-side (API.md §6.8)."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from django_trigger._http.paths import build_path
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types import BulkAction, IdResponse
from django_trigger.types._base import camel_case

from ._base import (
    POLL_INTERVAL,
    POLL_MAX_ATTEMPTS,
    Resource,
    RetrySafety,
    _cooked,
    comma_list,
    cursor_params,
    epoch_ms,
    flow,
    machine_filter,
    nonempty,
    period_filter,
    poll_until,
    queue_filter,
    retry_safety,
    status_filter,
    task_filter,
)

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import BulkActionsWithRawResponse

__all__ = ["MAX_RUN_IDS", "BulkActions"]

MAX_RUN_IDS = 500


class BulkActions(Resource):
    with_raw_response: RawTwin[BulkActionsWithRawResponse]

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        RetrySafety.UNSAFE,
        why="a second cancel action cancels nothing more; a second replay action replays "
        "every run again, and the API has no key to recognise it",
    )
    def create(
        self,
        action: Literal["cancel", "replay"],
        *,
        run_ids: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        name: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> IdResponse:
        """Start a bulk action over explicit ``run_ids`` (1–500) or over every run matching
        ``filter`` (the keywords of ``runs.list``: ``status``, ``task_identifier``, ``tag``,
        ``from_``, ``to``, ``period``, ...)."""
        if action not in ("cancel", "replay"):
            raise InvalidRequestError("action must be 'cancel' or 'replay'")
        if (run_ids is None) == (filter is None):
            raise InvalidRequestError("pass exactly one of run_ids and filter")
        body: dict[str, Any] = {"action": action}
        if run_ids is not None:
            ids = list(run_ids)
            if not 1 <= len(ids) <= MAX_RUN_IDS:
                raise InvalidRequestError(f"run_ids must hold 1 to {MAX_RUN_IDS} ids")
            for run_id in ids:
                build_path("{}", (run_id, "run"))  # validates the id
            body["runIds"] = ids
        else:
            body["filter"] = _filter(filter or {})
        if name is not None:
            if not isinstance(name, str) or len(name) > 255:
                raise InvalidRequestError("name must be a string of at most 255 characters")
            body["name"] = name
        return self._request(
            "POST",
            "/api/v1/bulk-actions",
            operation="bulk_actions.create",
            json_body=body,
            parse=IdResponse.from_api,
            request_options=request_options,
            retry_safety=RetrySafety.IDEMPOTENT if action == "cancel" else RetrySafety.UNSAFE,
            unknown_hint=(
                "list the bulk actions (client.bulk_actions.list()) for a replay action "
                "created at or after {sent_at} before starting another"
            ),
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[BulkAction]:
        return self._cursor_page(
            "/api/v1/bulk-actions",
            operation="bulk_actions.list",
            item=BulkAction.from_api,
            params=cursor_params(limit, after, before),
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self, bulk_action_id: str, *, request_options: RequestOptionsLike = None
    ) -> BulkAction:
        return self._request(
            "GET",
            build_path("/api/v1/bulk-actions/{}", (bulk_action_id, "bulk_action")),
            operation="bulk_actions.retrieve",
            parse=BulkAction.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="repeated reads")
    @flow
    def poll(
        self,
        bulk_action_id: str,
        *,
        interval: float = POLL_INTERVAL,
        timeout: float | None = None,
        max_attempts: int = POLL_MAX_ATTEMPTS,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, BulkAction]:
        """Retrieve the bulk action every ``interval`` seconds until it is no longer
        ``PENDING`` (``COMPLETED`` or ``ABORTED``) and return it; ``PollTimeoutError`` (with
        ``.last``) after ``max_attempts`` retrievals or once ``timeout`` seconds would be
        exceeded, exactly as ``runs.poll``. The SDK's ``runs.bulk.poll`` (1 s, 500
        attempts). One ``GET /api/v1/bulk-actions/{id}`` per attempt."""
        build_path("/api/v1/bulk-actions/{}", (bulk_action_id, "bulk_action"))
        actions = _cooked(self)
        return (
            yield from poll_until(
                lambda options: actions.retrieve(bulk_action_id, request_options=options),
                lambda action: action.status != "PENDING",
                what=f"bulk action {bulk_action_id}",
                state=lambda action: action.status,
                interval=interval,
                timeout=timeout,
                max_attempts=max_attempts,
                request_options=request_options,
                sleep=self._client._sleep,
            )
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="a retry refused 'already aborted' (409) after a lost answer means done",
    )
    @flow
    def abort(
        self, bulk_action_id: str, *, request_options: RequestOptionsLike = None
    ) -> Generator[Any, Any, IdResponse]:
        try:
            return (
                yield self._request(
                    "POST",
                    build_path("/api/v1/bulk-actions/{}/abort", (bulk_action_id, "bulk_action")),
                    operation="bulk_actions.abort",
                    parse=IdResponse.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            if self._done_before(exc, 409, "already aborted"):  # the lost attempt aborted it
                return IdResponse.from_api({"id": bulk_action_id})
            raise


def _filter(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``runs.list`` keywords → the JSON filter of a bulk action (multi-values as arrays)."""
    wire: dict[str, Any] = {}
    for key, value in spec.items():
        if value is None:
            continue
        if key == "status":
            wire["status"] = _split(status_filter(value))
        elif key == "machine":
            wire["machine"] = _split(machine_filter(value))
        elif key == "task_identifier":
            wire["taskIdentifier"] = _split(task_filter(value))
        elif key in ("version", "tag", "region"):
            wire[camel_case(key)] = _split(comma_list(value, key))
        elif key in ("bulk_action", "schedule", "batch"):
            wire[camel_case(key)] = nonempty(value, key)
        elif key == "queue":
            wire["queue"] = [
                {"type": "task", "name": name[5:]}
                if name.startswith("task/")
                else {"type": "custom", "name": name}
                for name in _split(queue_filter(value))
            ]
        elif key in ("from_", "to"):
            wire[key.rstrip("_")] = epoch_ms(value, key)
        elif key == "period":
            wire["period"] = period_filter(value)
        elif key == "is_test":
            if not isinstance(value, bool):
                raise InvalidRequestError("is_test must be True or False")
            wire["isTest"] = value
        else:
            raise InvalidRequestError(f"unknown bulk action filter {key!r}")
    wire = {key: value for key, value in wire.items() if value not in (None, [])}
    if not wire:
        raise InvalidRequestError("a bulk action filter needs at least one value")
    return wire


def _split(joined: str | None) -> list[str]:
    return joined.split(",") if joined else []
