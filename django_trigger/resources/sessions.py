"""``client.sessions``: agent sessions (the SDK's ``sessions.*``, docs/API-ADDENDUM.md §14).

A session is a durable conversation with an agent task: ``start`` creates it (or returns the
one holding an ``external_id``) and triggers its first run; a browser or a view then sends
input to its ``.in`` channel and reads the agent's output from ``.out``. Every call is one
request, except ``write_control`` and ``trim_output`` (the channel's S2 credentials, then the
append to S2 itself: docs/API-ADDENDUM.md §14.4).
"""

from __future__ import annotations

import base64
import builtins
import json
import re
import secrets
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from django_trigger._http.paths import build_path, segment
from django_trigger._http.sse import DEFAULT_MAX_EVENT_BYTES
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types._base import SchemaError
from django_trigger.types.sessions import Session, SessionCreated, SessionRecord

from ._base import (
    Auth,
    Resource,
    RetrySafety,
    _cooked,
    comma_list,
    cursor_params,
    epoch_ms,
    flow,
    known_values,
    nonempty,
    period_filter,
    retry_safety,
    task_identifier,
)
from .runs import validate_tags
from .streams import MAX_RECONNECTS, SSEReader

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import SessionsWithRawResponse

__all__ = [
    "MAX_APPEND_BYTES",
    "SESSION_STATUSES",
    "SessionStatus",
    "SessionStream",
    "Sessions",
]

SessionStatus = Literal["ACTIVE", "CLOSED", "EXPIRED"]
SESSION_STATUSES = ("ACTIVE", "CLOSED", "EXPIRED")
MAX_BODY_BYTES = 32 * 1024  # the create and update routes' maxContentLength
MAX_APPEND_BYTES = 1024 * 1024  # S2's per-record limit, as the append route meters it
_RECORD_OVERHEAD = 8  # S2 meters a header-less record as its body + 8 bytes
_CHANNEL = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
DEFAULT_READ_TIMEOUT = 60.0  # the service's default wait of a session stream (S2 wait)
DEFAULT_CHECK_EVERY = 5.0
_NANOID = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"


class Sessions(Resource):
    with_raw_response: RawTwin[SessionsWithRawResponse]

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        RetrySafety.UNSAFE,
        why="with an external_id the API returns the session the lost attempt created; "
        "without one each call creates a session and triggers a run",
    )
    def start(
        self,
        task: str,
        *,
        type: str,
        external_id: str | None = None,
        base_payload: Mapping[str, Any] | None = None,
        trigger_config: Mapping[str, Any] | None = None,
        tags: str | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        expires_at: datetime | None = None,
        request_options: RequestOptionsLike = None,
    ) -> SessionCreated:
        """Create a session of ``task`` and trigger its first run; with ``external_id`` (your
        conversation's id, up to 256 characters) the same id returns the same session
        (``is_cached=True``) while it is open. ``type`` labels it (``"chat.agent"``).

        ``base_payload``: the payload of every run the session triggers (the API adds
        ``sessionId``); ``trigger_config``: the other run options as the API names them
        (``machine``, ``queue``, ``tags``, ``maxAttempts``, ``maxDuration``, ``ttl``…).
        The answer's ``public_access_token`` lets a browser send input and read output.
        """
        body: dict[str, Any] = {
            "type": _text(type, "type", 64),
            "taskIdentifier": task_identifier(task, "task"),
            "triggerConfig": {
                **dict(trigger_config or {}),
                "basePayload": dict(base_payload or {}),
            },
        }
        if trigger_config is not None and "basePayload" in trigger_config:
            raise InvalidRequestError("pass the run payload as base_payload, not in trigger_config")
        if external_id is not None:
            body["externalId"] = _external_id(external_id)
        if tags is not None:
            body["tags"] = _tags(tags)
        if metadata is not None:
            body["metadata"] = _mapping(metadata, "metadata")
        if expires_at is not None:
            if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
                raise InvalidRequestError("expires_at must be an aware datetime")
            body["expiresAt"] = expires_at.astimezone(timezone.utc).isoformat()
        _fits(body, MAX_BODY_BYTES, "the session")
        return self._request(
            "POST",
            "/api/v1/sessions",
            operation="sessions.start",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=SessionCreated.from_api,
            retry_safety=RetrySafety.DEDUPLICATED if external_id else RetrySafety.UNSAFE,
            unknown_hint="list the sessions (client.sessions.list(period=...)) before starting "
            "another; an external_id makes start safe to repeat",
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(self, session: str, *, request_options: RequestOptionsLike = None) -> Session:
        """By id (``session_…``) or external id."""
        return self._request(
            "GET",
            build_path("/api/v1/sessions/{}", (session, "session")),
            operation="sessions.retrieve",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=Session.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the given fields to the given values")
    def update(
        self,
        session: str,
        *,
        tags: str | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        clear_metadata: bool = False,
        request_options: RequestOptionsLike = None,
    ) -> Session:
        """Replace the session's ``tags`` and/or ``metadata`` (``clear_metadata=True`` removes
        it). The external id cannot change once set."""
        body: dict[str, Any] = {}
        if tags is not None:
            body["tags"] = _tags(tags)
        if clear_metadata:
            if metadata is not None:
                raise InvalidRequestError("pass metadata or clear_metadata=True, not both")
            body["metadata"] = None
        elif metadata is not None:
            body["metadata"] = _mapping(metadata, "metadata")
        if not body:
            raise InvalidRequestError("nothing to update: pass tags, metadata or clear_metadata")
        _fits(body, MAX_BODY_BYTES, "the update")
        return self._request(
            "PATCH",
            build_path("/api/v1/sessions/{}", (session, "session")),
            operation="sessions.update",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=Session.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="closing is write-once: a repeat returns the closed session, first reason kept",
    )
    def close(
        self, session: str, *, reason: str | None = None, request_options: RequestOptionsLike = None
    ) -> Session:
        """Close the session for good: input is refused from then on, and ``start`` with its
        external id answers 409."""
        body: dict[str, Any] = {}
        if reason is not None:
            body["reason"] = _text(reason, "reason", 256)
        return self._request(
            "POST",
            build_path("/api/v1/sessions/{}/close", (session, "session")),
            operation="sessions.close",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=Session.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        type: str | Iterable[str] | None = None,
        tag: str | Iterable[str] | None = None,
        task_identifier: str | Iterable[str] | None = None,
        external_id: str | None = None,
        status: SessionStatus | Iterable[SessionStatus] | None = None,
        period: str | None = None,
        from_: datetime | int | None = None,
        to: datetime | int | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[Session]:
        """Sessions newest first, in cursor pages of up to ``limit`` (default 100); one
        request per page. Filters as the SDK's ``sessions.list``."""
        statuses = known_values(status, "status", SESSION_STATUSES, "session status")
        params: dict[str, Any] = {
            "filter[type]": comma_list(type, "type"),
            "filter[tags]": comma_list(tag, "tag"),
            "filter[taskIdentifier]": comma_list(task_identifier, "task_identifier"),
            "filter[externalId]": nonempty(external_id, "external_id"),
            "filter[status]": statuses,
            "filter[createdAt][period]": period_filter(period),
            "filter[createdAt][from]": epoch_ms(from_, "from_"),
            "filter[createdAt][to]": epoch_ms(to, "to"),
            **cursor_params(limit, after, before),
        }
        return self._cursor_page(
            "/api/v1/sessions",
            operation="sessions.list",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            item=Session.from_api,
            params=params,
            request_options=request_options,
        )

    # -- channels ----------------------------------------------------------------------------

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        why="each call sends one X-Part-Id, the same on every retry: the API writes a part once",
    )
    def send_input(
        self,
        session: str,
        value: Any,
        *,
        channel: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> int | None:
        """Append ``value`` to the session's ``.in`` channel (of ``channel``, a named side
        channel, if given): text as is, anything else as JSON, as the SDK's ``in.send``.
        Returns the record's sequence number (``None`` when a retry found it written).
        Refused once the session is closed (``BadRequestError``)."""
        return self._append(session, "in", value, channel, "sessions.send_input", request_options)

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        why="each call sends one X-Part-Id, the same on every retry: the API writes a part once",
    )
    def append_output(
        self,
        session: str,
        value: Any,
        *,
        channel: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> int | None:
        """Append one record to the session's ``.out`` channel, as the agent does (a secret
        key only). Through the API's append route, where the SDK's ``out.append`` writes to
        S2 directly (docs/API-ADDENDUM.md §14.4)."""
        return self._append(
            session, "out", value, channel, "sessions.append_output", request_options
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def read_records(
        self,
        session: str,
        *,
        io: Literal["in", "out"] = "out",
        channel: str | None = None,
        after: int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> builtins.list[SessionRecord]:
        """The channel's records written so far after sequence number ``after`` (all when
        ``None``), at once, without waiting for more; one request."""
        params = {}
        if after is not None:
            if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                raise InvalidRequestError("after must be a sequence number (an integer ≥ 0)")
            params["afterEventId"] = str(after)
        return self._request(
            "GET",
            _channel_path(session, channel, _io(io)) + "/records",
            operation="sessions.read_records",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            params=params,
            parse=_records,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="reads; a dropped stream resumes after its last record")
    def read(
        self,
        session: str,
        *,
        channel: str | None = None,
        io: Literal["in", "out"] = "out",
        after: int | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        check_every: float = DEFAULT_CHECK_EVERY,
        until_turn_complete: bool = False,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_reconnects: int = MAX_RECONNECTS,
        request_options: RequestOptionsLike = None,
    ) -> SessionStream:
        """Follow a channel (``.out`` by default) as the SDK's ``session.out.read()`` does:
        an iterator of its records (``SessionRecord``: ``.value``, ``.seq_num``,
        ``.control``) as they are written, from the start or after sequence number ``after``.

        Server-sent events (``GET /realtime/v1/sessions/{s}/{io}``, S2's read session): one
        connection at a time; the service ends an idle answer after ``check_every`` seconds
        (1–600, ``Timeout-Seconds``), then the reader retrieves the session: closed, it reads
        what is left (one records request) and ends; open, it reconnects after the last record
        (``Last-Event-ID``). It also ends at the first ``turn-complete`` control record with
        ``until_turn_complete=True``, or after ``timeout`` seconds (1–600) without a record.
        A dropped connection, a 5xx or a 429 reconnects, at most ``max_reconnects`` times in a
        row; a 4xx is raised (an unknown ``session_…`` id: ``NotFoundError``).

        Bounded: one event in memory at a time (``StreamError`` past ``max_event_bytes``); no
        thread is started; ``close()``, leaving a ``with`` block or garbage collection closes
        the connection. ``async for`` (and ``async with``) with ``AsyncTriggerClient``."""
        path = _channel_path(session, channel, _io(io))  # checked now, before any request
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or after < 0
        ):
            raise InvalidRequestError("after must be a sequence number (an integer ≥ 0)")
        return SessionStream(
            self,
            path,
            session,
            channel=channel,
            io=io,
            after=after,
            timeout=timeout,
            check_every=check_every,
            until_turn_complete=bool(until_turn_complete),
            max_event_bytes=max_event_bytes,
            max_reconnects=max_reconnects,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        RetrySafety.UNSAFE,
        why="asking for the channel's S2 credentials stores nothing; the S2 append has no key "
        "to recognise a repeat, so it is not retried once sent",
    )
    @flow
    def write_control(
        self,
        session: str,
        subtype: str,
        *,
        headers: Mapping[str, str] | None = None,
        channel: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, int]:
        """Append a control record (empty body, header ``trigger-control: <subtype>`` plus
        ``headers``) to the session's ``.out``, as the SDK's ``out.writeControl``: the agent's
        ``"turn-complete"``, ``"upgrade-required"``… Returns its sequence number (a
        ``trim_output`` point). Two requests: the channel's S2 credentials, then the append to
        S2 (a secret key only)."""
        pairs = [[CONTROL_HEADER, _text(subtype, "subtype", 128)]]
        for name, value in (headers or {}).items():
            if not isinstance(name, str) or not name or not isinstance(value, str):
                raise InvalidRequestError("headers must map non-empty names to strings")
            pairs.append([name, value])
        stream = yield from self._s2_stream(
            session, channel, "sessions.write_control", request_options
        )
        ack = yield from _s2_append(
            self,
            stream,
            {"records": [{"headers": pairs, "body": ""}]},
            "raw",
            RetrySafety.UNSAFE,
            request_options,
        )
        return ack

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="a trim is monotonic in S2 (max of the old and the new point): repeating it is "
        "harmless",
    )
    @flow
    def trim_output(
        self,
        session: str,
        earliest_seq_num: int,
        *,
        channel: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, None]:
        """Drop the session's ``.out`` records before ``earliest_seq_num`` (the SDK's
        ``out.trimTo``: an S2 ``trim`` command record; S2 never trims past the tail). Two
        requests, a secret key only."""
        if (
            isinstance(earliest_seq_num, bool)
            or not isinstance(earliest_seq_num, int)
            or not 0 <= earliest_seq_num < 2**64
        ):
            raise InvalidRequestError("earliest_seq_num must be a sequence number (an integer ≥ 0)")
        stream = yield from self._s2_stream(
            session, channel, "sessions.trim_output", request_options
        )
        body = base64.b64encode(earliest_seq_num.to_bytes(8, "big")).decode()
        trim = {"headers": [["", base64.b64encode(b"trim").decode()]], "body": body}
        yield from _s2_append(
            self, stream, {"records": [trim]}, "base64", RetrySafety.IDEMPOTENT, request_options
        )

    def _s2_stream(
        self,
        session: str,
        channel: str | None,
        operation: str,
        request_options: RequestOptionsLike,
    ) -> Generator[Any, Any, _S2Stream]:
        """``PUT …/out``: the S2 credentials of the channel (``initializeSessionStream``)."""
        path = _channel_path(session, channel, "out")
        return (
            yield _cooked(self)._request(
                "PUT",
                path,
                operation=operation,
                auth=Auth.SECRET_KEY,
                parse=_S2Stream.from_answer,
                merge_headers={name: name for name in _S2_HEADERS},
                retry_safety=RetrySafety.IDEMPOTENT,
                request_options=request_options,
            )
        )

    def _append(
        self,
        session: str,
        io: str,
        value: Any,
        channel: str | None,
        operation: str,
        request_options: RequestOptionsLike,
    ) -> int | None:
        path = _channel_path(session, channel, io) + "/append"
        if isinstance(value, str):
            text = value
        else:
            try:
                text = json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                raise InvalidRequestError(f"value must be text or a JSON value: {exc}") from None
        part_id = "".join(secrets.choice(_NANOID) for _ in range(21))
        record = json.dumps(
            {"data": text, "id": part_id}, separators=(",", ":"), ensure_ascii=False
        )
        metered = len(record.encode()) + _RECORD_OVERHEAD
        if metered > MAX_APPEND_BYTES:
            raise InvalidRequestError(
                f"the record would be {metered} bytes; a session record is at most "
                f"{MAX_APPEND_BYTES} bytes (the text, JSON-escaped, plus its envelope): split it"
            )
        return self._request(
            "POST",
            path,
            operation=operation,
            auth=Auth.SECRET_KEY if io == "out" else Auth.SECRET_KEY_OR_PUBLIC,
            data=text.encode(),
            # The SDK's zodfetch labels the raw text application/json; the server reads text.
            headers={"X-Part-Id": part_id, "Content-Type": "application/json"},
            parse=_append_seq,
            request_options=request_options,
        )


# -- following a channel -------------------------------------------------------------------------

TURN_COMPLETE = "turn-complete"


class SessionStream(SSEReader):
    """An open read of a session channel (``client.sessions.read``): iterate it (``for`` with
    ``TriggerClient``, ``async for`` with ``AsyncTriggerClient``) for its records."""

    _operation = "sessions.read"

    def __init__(
        self,
        sessions: Sessions,
        path: str,
        session: str,
        *,
        channel: str | None,
        io: str,
        after: int | None,
        timeout: float,
        check_every: float,
        until_turn_complete: bool,
        max_event_bytes: int,
        max_reconnects: int,
        request_options: RequestOptionsLike,
    ) -> None:
        super().__init__(
            sessions._client,
            path,
            cursor=None if after is None else str(after),
            timeout=timeout,
            check_every=check_every,
            max_event_bytes=max_event_bytes,
            max_reconnects=max_reconnects,
        )
        self._sessions = _cooked(sessions)
        self.session, self.channel, self.io = session, channel, io
        self._until_turn_complete = until_turn_complete
        self._options = request_options

    @property
    def last_seq_num(self) -> int | None:
        """The sequence number of the last record returned: a new read resumes after it
        (``after=``)."""
        return None if self.last_event_id is None else int(self.last_event_id)

    def _describe(self) -> str:
        return f"sessions.read({self.session!r})"

    def _item(self, seq_num: Any, headers: list[Any], body: Any) -> tuple[bool, Any]:
        envelope = body if isinstance(body, dict) else {}
        record = SessionRecord.from_api(
            {
                "data": envelope.get("data", ""),
                "id": envelope.get("id", ""),
                "seqNum": seq_num,
                "headers": headers,
            }
        )
        if self._until_turn_complete and record.control == TURN_COMPLETE:
            self._finish()  # this record is still returned
        return True, record

    def _idle_ended(self) -> Generator[Any, Any, None]:
        """The session closed: read what is left (the records route, no wait) and end. Open:
        end after ``timeout`` idle seconds, else reconnect."""
        current = yield self._sessions.retrieve(self.session, request_options=self._options)
        if not current.is_closed:
            if self._idle >= self._timeout:
                self._finish()
            return
        records = yield self._sessions.read_records(
            self.session,
            io=self.io,  # type: ignore[arg-type]
            channel=self.channel,
            after=None if self._cursor is None else int(self._cursor),
            request_options=self._options,
        )
        for record in records:
            if self._closed:
                break
            self._cursor = str(record.seq_num)
            if record.id and record.id in self._seen:
                continue
            self._put(record)
            if self._until_turn_complete and record.control == TURN_COMPLETE:
                break
        self._finish()

    def __repr__(self) -> str:
        where = f"{self.channel}/{self.io}" if self.channel else self.io
        return f"<SessionStream {self.session} {where} {'closed' if self._closed else 'open'}>"


# -- S2 ----------------------------------------------------------------------------------------

CONTROL_HEADER = "trigger-control"
_S2_HEADERS = ("x-s2-access-token", "x-s2-basin", "x-s2-stream-name", "x-s2-endpoint")
_S2_DEFAULT_ENDPOINT = "https://{basin}.b.s2.dev/v1"  # the S2 SDK's default basin endpoint


class _S2Stream:
    """Where and how to write one channel's S2 stream (the ``X-S2-*`` answer headers)."""

    __slots__ = ("basin", "name", "shared", "token", "url")

    def __init__(self, token: str, basin: str, name: str, endpoint: str | None) -> None:
        self.token, self.basin, self.name = token, basin, name
        endpoint = endpoint or _S2_DEFAULT_ENDPOINT
        self.url = _s2_base_url(endpoint, basin)
        self.shared = "{basin}" not in endpoint  # one endpoint for every basin: S2-Basin names it

    @classmethod
    def from_answer(cls, body: Any) -> _S2Stream:
        values = body if isinstance(body, dict) else {}
        token, basin, name = (values.get(h) for h in _S2_HEADERS[:3])
        if not (isinstance(token, str) and token and basin and name):
            raise SchemaError(
                "the API returned no S2 credentials for the channel (x-s2-access-token, "
                "x-s2-basin, x-s2-stream-name)"
            )
        return cls(token, str(basin), str(name), values.get("x-s2-endpoint"))

    def __repr__(self) -> str:  # never the token
        return f"<S2 stream {self.name} in {self.basin}>"


def _s2_base_url(endpoint: str, basin: str) -> str:
    """The S2 SDK's ``EndpointTemplate``: a scheme (https by default), ``{basin}`` replaced,
    ``/v1`` when the endpoint names no path."""
    text = endpoint.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        text = "https://" + text
    parts = urlsplit(text.replace("{basin}", "__basin__"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise SchemaError("the API's x-s2-endpoint is not an http(s) URL")
    path = parts.path if parts.path not in ("",) else "/v1"
    url = f"{parts.scheme}://{parts.netloc}{path}".rstrip("/")
    return url.replace("__basin__", basin)


def _s2_append(
    resource: Resource,
    stream: _S2Stream,
    body: dict[str, Any],
    fmt: str,
    safety: RetrySafety,
    request_options: RequestOptionsLike,
) -> Generator[Any, Any, int]:
    """``POST {endpoint}/streams/{name}/records`` (S2's JSON append); the first record's
    sequence number (``ack.start.seq_num``)."""
    headers = {
        "Authorization": f"Bearer {stream.token}",
        "Content-Type": "application/json",
        "S2-Format": fmt,
    }
    if stream.shared:
        headers["S2-Basin"] = stream.basin
    try:
        raw = yield resource._client._transport.request(
            "POST",
            "<S2 append>",
            url=f"{stream.url}/streams/{quote(stream.name, safe='')}/records",
            data=json.dumps(body, separators=(",", ":")).encode(),
            headers=headers,
            request_options=request_options,
            authenticated=False,
            retry_safety=safety,
        )
    except ApiError as exc:
        if exc.status is None or 200 <= exc.status < 300:
            raise
        raise ApiError(
            f"S2 refused the append to the session channel ({exc.status}): {exc.message}",
            status=exc.status,
            method="POST",
            path="<S2 append>",
        ) from exc
    try:
        ack = json.loads(raw.http_response.content)
        return int(ack["start"]["seq_num"])
    except (ValueError, KeyError, TypeError):
        raise SchemaError("S2's append answer has no start.seq_num") from None


# -- helpers -----------------------------------------------------------------------------------


def _channel_path(session: str, channel: str | None, io: str) -> str:
    base = "/realtime/v1/sessions/" + segment(session, "session")
    if channel is not None:
        if not isinstance(channel, str) or not _CHANNEL.match(channel):
            raise InvalidRequestError(
                f"invalid session channel name {channel!r}: use 1-128 characters from "
                "A-Z a-z 0-9 . _ -"
            )
        base += "/channels/" + channel
    return f"{base}/{io}"


def _io(io: str) -> str:
    if io not in ("in", "out"):
        raise InvalidRequestError(f"io must be 'in' or 'out', not {io!r}")
    return io


def _text(value: Any, name: str, maximum: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{name} must be a non-empty string")
    if len(value) > maximum:
        raise InvalidRequestError(f"{name} must be {maximum} characters or less")
    return value


def _external_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError("external_id must be a non-empty string")
    trimmed = value.strip()
    if len(trimmed) > 256:
        raise InvalidRequestError("external_id must be 256 characters or less")
    if trimmed.startswith("session_"):
        raise InvalidRequestError(
            "external_id cannot start with 'session_' (the prefix of the API's own ids)"
        )
    return trimmed


def _tags(tags: str | Sequence[str]) -> builtins.list[str]:
    tag_list = [tags] if isinstance(tags, str) else builtins.list(tags)
    validate_tags(tag_list)
    return tag_list


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{name} must be a mapping (a JSON object)")
    return dict(value)


def _fits(body: dict[str, Any], limit: int, what: str) -> None:
    try:
        size = len(json.dumps(body, allow_nan=False, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{what} must be JSON-serialisable: {exc}") from None
    if size > limit:
        raise InvalidRequestError(f"{what} is {size} bytes as JSON; the API takes {limit} at most")


def _append_seq(body: Any) -> int | None:
    if not isinstance(body, dict) or body.get("ok") is not True:
        raise SchemaError("expected {'ok': true}")
    seq = body.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise SchemaError("seq must be an integer")
    return seq


def _records(body: Any) -> builtins.list[SessionRecord]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), builtins.list):
        raise SchemaError("expected an object with a 'records' array")
    return [SessionRecord.from_api(item) for item in body["records"]]
