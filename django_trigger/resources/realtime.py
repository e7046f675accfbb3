"""Following runs as they change: the SDK's ``runs.subscribeToRun``,
``subscribeToRunsWithTag`` and ``subscribeToBatch`` as Python iterators.

The realtime routes speak Electric's HTTP shape-stream protocol (what the SDK's
``ShapeStream`` reads): the first request (``offset=-1``) answers the current rows (an
``insert`` each) then ``up-to-date``, with ``electric-offset``/``electric-handle`` headers and
the column types in ``electric-schema``; each next request sends the offset and handle back
with ``live=true`` and is held by the server until a row changes (the changed rows, then
``up-to-date``) or about 20 s pass (``up-to-date`` alone). Every value arrives as a string and
is decoded by its column type. After each ``up-to-date`` the iterator yields one
:class:`RealtimeRun` per row that changed.

No thread is started: each ``next()`` makes at most the requests it needs, in the caller's
thread, through the client's pooled session.
"""

from __future__ import annotations

import inspect
import json
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from django_trigger._http.transport import Auth
from django_trigger.exceptions import ApiTimeoutError, InvalidRequestError
from django_trigger.types import RunStatus, SchemaError

if TYPE_CHECKING:
    from django_trigger.client import BaseClient

__all__ = ["DEFAULT_TIMEOUT", "RealtimeRun", "RunSubscription"]

DEFAULT_TIMEOUT = 600.0  # a subscription ends (ApiTimeoutError) after 10 minutes by default
LIVE_READ_TIMEOUT = 60.0  # the server holds a live request ~20 s (±15%); this is the cap
ELECTRIC_VERSION = "1.0.0-beta.1"  # what the SDK sends as x-trigger-electric-version
SKIPPABLE_COLUMNS = (
    "startedAt",
    "delayUntil",
    "queuedAt",
    "expiredAt",
    "completedAt",
    "number",
    "isTest",
    "usageDurationMs",
    "costInCents",
    "baseCostInCents",
    "ttl",
    "payload",
    "payloadType",
    "metadata",
    "output",
    "outputType",
    "runTags",
    "error",
)

# runStream.ts apiStatusFromRunStatus: the database status -> the API's.
_STATUSES = {
    "DELAYED": "DELAYED",
    "WAITING_FOR_DEPLOY": "PENDING_VERSION",
    "PENDING_VERSION": "PENDING_VERSION",
    "PENDING": "QUEUED",
    "PAUSED": "WAITING",
    "WAITING_TO_RESUME": "WAITING",
    "DEQUEUED": "DEQUEUED",
    "RETRYING_AFTER_FAILURE": "EXECUTING",
    "EXECUTING": "EXECUTING",
    "CANCELED": "CANCELED",
    "COMPLETED_SUCCESSFULLY": "COMPLETED",
    "SYSTEM_FAILURE": "SYSTEM_FAILURE",
    "CRASHED": "CRASHED",
    "INTERRUPTED": "FAILED",
    "COMPLETED_WITH_ERRORS": "FAILED",
    "EXPIRED": "EXPIRED",
    "TIMED_OUT": "TIMED_OUT",
}
_QUEUED = {"PENDING_VERSION", "QUEUED", "PENDING", "DELAYED"}
_FAILED = {"FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"}


@dataclass(frozen=True)
class RealtimeRun:
    """One snapshot of a run, as the SDK's ``RunShape`` has it. ``is_completed`` follows the
    SDK (success or failure; a cancelled run is ``is_cancelled`` and has ``finished_at``)."""

    id: str
    task_identifier: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    delayed_until: datetime | None
    queued_at: datetime | None
    expired_at: datetime | None
    payload: Any
    output: Any
    metadata: dict[str, Any] | None
    error: dict[str, Any] | None
    tags: list[str]
    is_test: bool
    duration_ms: int
    cost_in_cents: float
    base_cost_in_cents: float
    ttl: str | None
    realtime_streams: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_queued(self) -> bool:
        return self.status.value in _QUEUED

    @property
    def is_waiting(self) -> bool:
        return self.status is RunStatus.WAITING

    @property
    def is_executing(self) -> bool:
        return self.status in (RunStatus.DEQUEUED, RunStatus.EXECUTING)

    @property
    def is_success(self) -> bool:
        return self.status is RunStatus.COMPLETED

    @property
    def is_failed(self) -> bool:
        return self.status.value in _FAILED

    @property
    def is_completed(self) -> bool:
        return self.is_success or self.is_failed

    @property
    def is_cancelled(self) -> bool:
        return self.status is RunStatus.CANCELED

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RealtimeRun:
        try:
            status = RunStatus(_STATUSES.get(str(row["status"]), "QUEUED"))
            return cls(
                id=str(row["friendlyId"]),
                task_identifier=str(row["taskIdentifier"]),
                status=status,
                created_at=_required_date(row["createdAt"]),
                updated_at=_required_date(row["updatedAt"]),
                started_at=row.get("startedAt"),
                finished_at=row.get("completedAt"),
                delayed_until=row.get("delayUntil"),
                queued_at=row.get("queuedAt"),
                expired_at=row.get("expiredAt"),
                payload=_packet(row.get("payload"), row.get("payloadType")),
                output=_packet(row.get("output"), row.get("outputType")),
                metadata=_packet(row.get("metadata"), row.get("metadataType")),
                error=row.get("error") or None,
                tags=list(row.get("runTags") or []),
                is_test=bool(row.get("isTest") or False),
                duration_ms=int(row.get("usageDurationMs") or 0),
                cost_in_cents=float(row.get("costInCents") or 0),
                base_cost_in_cents=float(row.get("baseCostInCents") or 0),
                ttl=row.get("ttl"),
                realtime_streams=list(row.get("realtimeStreams") or []),
                raw=dict(row),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"unexpected realtime row: {exc}") from exc


class RunSubscription(Iterator[RealtimeRun]):
    """Iterate to get each change of the subscribed runs; ends when the run finishes (for
    ``subscribe_to_run`` with ``stop_on_completion``), on :meth:`close`, or raises
    ``ApiTimeoutError`` once ``timeout`` seconds have passed. Use it as a context manager
    (or call :meth:`close`) to stop early; nothing keeps running in the background."""

    def __init__(
        self,
        client: BaseClient,
        path: str,
        params: Mapping[str, str],
        *,
        operation: str,
        stop_on_completion: bool,
        timeout: float,
    ) -> None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not (0 < timeout < float("inf"))
        ):
            raise InvalidRequestError("timeout must be a positive, finite number of seconds")
        client._transport.check_auth(Auth.SECRET_KEY_OR_PUBLIC, operation)
        self._client = client
        self._path = path
        self._params = dict(params)
        self._operation = operation
        self._stop_on_completion = stop_on_completion
        self._timeout = float(timeout)
        self._deadline = time.monotonic() + self._timeout
        self._offset = "-1"
        self._handle: str | None = None
        self._cursor: str | None = None
        self._schema: dict[str, Any] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self._changed: list[str] = []
        self._ready: deque[RealtimeRun] = deque()
        self._closed = False
        #: requests made so far (one snapshot, then one per change or per ~20 s hold)
        self.requests = 0

    def __iter__(self) -> RunSubscription:
        return self

    def __next__(self) -> RealtimeRun:
        while not self._ready:
            if self._closed:
                raise StopIteration
            self._poll()
        return self._take()

    def _take(self) -> RealtimeRun:
        run = self._ready.popleft()
        if self._stop_on_completion and run.finished_at is not None:
            self._closed = True
            self._ready.clear()
        return run

    # With ``AsyncTriggerClient``: ``async for run in subscription`` (``async with`` closes it).

    def __aiter__(self) -> RunSubscription:
        return self

    async def __anext__(self) -> RealtimeRun:
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            params, remaining = self._next_params()
            try:
                raw = await self._send(params, remaining)
            except ApiTimeoutError as exc:
                error = self._timeout_error(exc)
                if error is exc:
                    raise
                raise error from exc
            self._apply_answer(raw)
        return self._take()

    async def __aenter__(self) -> RunSubscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop: the next ``next()`` ends the iteration. (Called from another thread while a
        live request is held, that request still finishes first: at most the server's hold.)"""
        self._closed = True
        self._ready.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> RunSubscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<RunSubscription {self._path} {state}>"

    # -- one request -------------------------------------------------------------------------

    def _poll(self) -> None:
        params, remaining = self._next_params()
        raw = self._send(params, remaining)
        if inspect.iscoroutine(raw):
            raw.close()  # never awaited: no "coroutine was never awaited" warning
            raise TypeError("a subscription of the async client is iterated with 'async for'")
        self._apply_answer(raw)

    def _send(self, params: dict[str, str], remaining: float) -> Any:
        """The request (with the async client, an awaitable of it); a timeout past the
        subscription's own bound becomes its timeout error (see ``_timeout_error``)."""
        try:
            return self._client._transport.request(
                "GET",
                self._path,
                params=params,
                headers={"x-trigger-electric-version": ELECTRIC_VERSION},
                request_options={
                    "timeout": min(remaining, LIVE_READ_TIMEOUT),
                    "deadline": remaining,
                },
            )
        except ApiTimeoutError as exc:
            error = self._timeout_error(exc)
            if error is exc:
                raise
            raise error from exc

    def _timeout_error(self, exc: ApiTimeoutError) -> ApiTimeoutError:
        if time.monotonic() >= self._deadline:  # our bound, not a slow server
            return self._timed_out()
        return exc

    def _next_params(self) -> tuple[dict[str, str], float]:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        params = dict(self._params, offset=self._offset)
        if self._handle is not None:
            params["handle"] = self._handle
            if self._offset != "-1":
                params["live"] = "true"
            if self._cursor is not None:
                params["cursor"] = self._cursor
        return params, remaining

    def _apply_answer(self, raw: Any) -> None:
        self.requests += 1
        headers = raw.headers
        offset, handle = headers.get("electric-offset"), headers.get("electric-handle")
        if not offset or not handle:
            raise SchemaError("the realtime answer has no electric-offset/electric-handle")
        if headers.get("electric-schema"):
            self._schema = json.loads(headers["electric-schema"])
        self._offset, self._handle = offset, handle
        self._cursor = headers.get("electric-cursor") or self._cursor
        messages = raw.json()
        if not isinstance(messages, list):
            raise SchemaError("the realtime answer is not a list of messages")
        self._apply(messages)

    def _timed_out(self) -> ApiTimeoutError:
        self._closed = True
        return ApiTimeoutError(
            f"{self._operation}: no end after {self._timeout:g} s (the timeout)",
            method="GET",
            path=self._path,
        )

    def _apply(self, messages: list[Any]) -> None:
        up_to_date = False
        for message in messages:
            headers = message.get("headers") if isinstance(message, dict) else None
            if not isinstance(headers, dict):
                raise SchemaError("a realtime message has no headers")
            operation, control = headers.get("operation"), headers.get("control")
            if operation in ("insert", "update"):
                key, value = message.get("key"), message.get("value")
                if not isinstance(key, str) or not isinstance(value, dict):
                    raise SchemaError("a realtime change has no key or value")
                decoded = {name: self._decode(name, text) for name, text in value.items()}
                self._rows[key] = {**self._rows.get(key, {}), **decoded}
                if key not in self._changed:
                    self._changed.append(key)
            elif operation == "delete":
                self._rows.pop(str(message.get("key")), None)
            elif control == "must-refetch":  # the shape was rotated: start over
                self._rows.clear()
                self._changed.clear()
                self._offset, self._handle, self._cursor = "-1", None, None
            elif control == "up-to-date":
                up_to_date = True
        if up_to_date:  # like the SDK: rows are emitted once the batch is consistent
            for key in self._changed:
                if key in self._rows:
                    self._ready.append(RealtimeRun.from_row(self._rows[key]))
            self._changed.clear()

    def _decode(self, name: str, text: Any) -> Any:
        if text is None:
            return None
        column = self._schema.get(name) or {}
        kind, dims = column.get("type", "text"), column.get("dims", 0)
        if dims:
            return [_scalar(kind, item) for item in _pg_array(str(text))]
        return _scalar(kind, text)


# -- decoding ----------------------------------------------------------------------------------


def _scalar(kind: str, text: Any) -> Any:
    if text is None:
        return None
    if kind in ("int2", "int4", "int8"):
        return int(text)
    if kind in ("float4", "float8", "numeric"):
        return float(text)
    if kind == "bool":
        return text in ("t", "true", True)
    if kind in ("json", "jsonb"):
        return json.loads(text) if isinstance(text, str) else text
    if kind in ("timestamp", "timestamptz"):
        return _date(str(text))
    return str(text)


def _date(text: str) -> datetime:
    # Electric sends timestamps without a zone; they are UTC (the SDK appends "Z").
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _required_date(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError("a date is missing")
    return value


def _pg_array(text: str) -> list[str | None]:
    """A one-dimensional Postgres array literal: ``{a,"b c","d\\"e",NULL}``."""
    if not (text.startswith("{") and text.endswith("}")):
        raise SchemaError(f"not an array literal: {text[:40]!r}")
    items: list[str | None] = []
    body, i = text[1:-1], 0
    while i < len(body):
        if body[i] == '"':
            i += 1
            chars = []
            while body[i] != '"':
                if body[i] == "\\":
                    i += 1
                chars.append(body[i])
                i += 1
            items.append("".join(chars))
            i += 1
        else:
            end = body.find(",", i)
            end = len(body) if end < 0 else end
            token = body[i:end]
            items.append(None if token == "NULL" else token)
            i = end
        i += 1  # the comma
    return items


def _packet(data: Any, data_type: Any) -> Any:
    """A payload/output/metadata packet: JSON is decoded; other types are left as text."""
    if data is None or data_type is None:
        return None
    if data_type == "application/json":
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data
