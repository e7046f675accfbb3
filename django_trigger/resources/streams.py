"""``client.streams``: send data to a running task's input stream (docs/API-ADDENDUM.md §9; the
SDK's ``streams.input({id}).send(runId, data)``), and read a run's output stream as it is
written (§13; the SDK's ``streams.read(runId, key)``) as an iterator, sync or ``async for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import OrderedDict, deque
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger._http.sse import DEFAULT_MAX_EVENT_BYTES, SSEEventTooLarge, SSEParser
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    StreamError,
)
from django_trigger.options import RequestOptionsLike

from ._base import Auth, Resource, RetrySafety, retry_safety

if TYPE_CHECKING:
    from typing_extensions import Self

    from django_trigger.client import BaseClient

    from ._base import RawTwin
    from ._typed import StreamsWithRawResponse

__all__ = ["MAX_INPUT_BYTES", "RunStream", "SSEReader", "Streams"]

MAX_INPUT_BYTES = 1024 * 1024  # the route's maxContentLength
DEFAULT_STREAM_TIMEOUT = 60.0  # the SDK's timeoutInSeconds
DEFAULT_CHECK_EVERY = 5.0
MAX_RECONNECTS = 5
SEEN_IDS_CAP = 5000  # the SDK's dedup window of v2 record ids
_PING_S = 15.0  # the longest a live answer stays silent (S2's heartbeat; Redis pings at 10 s)
_READ_SLACK_S = 10.0
_JITTER = random.Random()  # reconnect jitter, not cryptography
_SNAPSHOT_SKIP = ("payload", "payloadType", "output", "outputType", "metadata", "error")


class Streams(Resource):
    with_raw_response: RawTwin[StreamsWithRawResponse]

    @retry_safety(RetrySafety.UNSAFE, why="each call appends a record the task reads")
    def send_input(
        self, run_id: str, stream_id: str, data: Any, *, request_options: RequestOptionsLike = None
    ) -> None:
        """Append ``data`` (any JSON value) to the run's input stream ``stream_id``; the task
        waiting on it (``streams.input({id: ...}).wait()``) gets it. Refused by the API once
        the run has finished."""
        path = build_path(
            "/realtime/v1/streams/{}/input/{}", (run_id, "run"), (stream_id, "stream_id")
        )
        body = {"data": data}
        try:
            size = len(json.dumps(body, allow_nan=False, separators=(",", ":")).encode())
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"data must be a JSON value: {exc}") from None
        if size > MAX_INPUT_BYTES:
            raise InvalidRequestError(
                f"data is {size} bytes as JSON; an input stream record is at most "
                f"{MAX_INPUT_BYTES} bytes"
            )
        return self._request(
            "POST",
            path,
            operation="streams.send_input",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=lambda _: None,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="reads; a dropped stream resumes after its last event")
    def read(
        self,
        run_id: str,
        stream_key: str = "default",
        *,
        start_index: int | None = None,
        last_event_id: str | None = None,
        timeout: float = DEFAULT_STREAM_TIMEOUT,
        check_every: float = DEFAULT_CHECK_EVERY,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_reconnects: int = MAX_RECONNECTS,
    ) -> RunStream:
        """Follow the run's output stream ``stream_key`` (what the task wrote with
        ``streams.pipe``/``append``/``writer``): an iterator of its chunks, each parsed as the
        SDK does (JSON values; text that is not JSON stays text), from the start or from
        ``start_index`` (the n-th record, 0-based, on v2 streams; the SDK sends it as
        ``Last-Event-ID: start_index - 1``), or after ``last_event_id`` (a previous read's
        ``last_event_id``: how a relay resumes after its browser reconnected).

        It ends when the run has finished and everything it wrote was read, or after
        ``timeout`` seconds (1–600) without a new chunk. While idle it asks the run whether it
        finished every ``check_every`` seconds (1–600, at most ``timeout``): the service ends
        an idle answer after that long (``Timeout-Seconds``), the reader looks at the run
        (one realtime snapshot) and reconnects with ``Last-Event-ID`` if it is still running.
        A dropped connection, a 5xx or a 429 reconnects the same way, up to ``max_reconnects``
        times in a row (100 ms doubling to 5 s, jittered, as the SDK); a 4xx is raised.

        Memory is bounded: one event at a time (``StreamError`` when one is larger than
        ``max_event_bytes``), and chunks are yielded as they arrive. ``close()`` (or leaving
        a ``with`` block, or garbage collection) closes the connection at once. A stream the
        finished run never wrote to ends with ``StreamError`` naming the streams it has.

        With ``AsyncTriggerClient``: ``async for chunk in client.streams.read(...)`` (``async
        with`` closes it). A secret key, or a public token that can read the run."""
        return RunStream(
            self._client,
            run_id,
            stream_key,
            start_index=start_index,
            last_event_id=last_event_id,
            timeout=timeout,
            check_every=check_every,
            max_event_bytes=max_event_bytes,
            max_reconnects=max_reconnects,
        )


class _Cut(Exception):
    """The server reported a failed read mid-stream (v2 ``event: error``): reconnect."""

    def __init__(self, error: ApiError) -> None:
        self.error = error


def _seconds(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidRequestError(f"{name} must be a number of seconds from {low:g} to {high:g}")
    return float(value)


def _json_or_text(data: str) -> Any:
    """The SDK's ``safeParseJSON``: the JSON value, or the text itself when it is not JSON."""
    try:
        return json.loads(data)
    except ValueError:
        return data


class SSEReader:
    """What :class:`RunStream` and ``SessionStream`` (``sessions.read``) share: an open read of
    a server-sent event stream of the realtime API, followed across answers. No thread is
    started; each ``next()`` reads in the caller's thread (or task).

    One answer lasts until the service finds the stream idle for ``check_every`` seconds
    (``Timeout-Seconds``); then :meth:`_idle_ended` (a flow: the subclass asks whether its
    source is over) ends the read or reconnects after the last event (``Last-Event-ID``). A
    dropped connection, a 5xx or a 429 reconnects the same way, at most ``max_reconnects``
    times in a row (100 ms doubling to 5 s, jittered, as the SDK's ``SSEStreamSubscription``);
    another error is raised. v2 answers (S2: ``event: batch``) are shared; a subclass turns
    each record into its item (:meth:`_item`)."""

    _operation = "streams.read"

    def __init__(
        self,
        client: BaseClient,
        path: str,
        *,
        cursor: str | None,
        timeout: float,
        check_every: float,
        max_event_bytes: int,
        max_reconnects: int,
    ) -> None:
        self._path = path
        self._timeout = _seconds(timeout, "timeout", 1, 600)
        self._check_every = min(_seconds(check_every, "check_every", 1, 600), self._timeout)
        if isinstance(max_event_bytes, bool) or not isinstance(max_event_bytes, int):
            raise InvalidRequestError("max_event_bytes must be an integer")
        if max_event_bytes < 1024:
            raise InvalidRequestError("max_event_bytes must be at least 1024")
        if isinstance(max_reconnects, bool) or not isinstance(max_reconnects, int):
            raise InvalidRequestError("max_reconnects must be an integer")
        if not 0 <= max_reconnects <= 100:
            raise InvalidRequestError("max_reconnects must be from 0 to 100")
        client._transport.check_auth(Auth.SECRET_KEY_OR_PUBLIC, self._operation)
        self._client = client
        self._max_event_bytes = max_event_bytes
        self._max_reconnects = max_reconnects
        #: The event id of the last item returned: a new read resumes after it.
        self.last_event_id: str | None = cursor
        self._cursor = cursor  # where a reconnection resumes (the last one parsed)
        #: ``"v1"`` or ``"v2"`` (the answer's ``X-Stream-Version``), once connected.
        self.version: str | None = None
        #: connections opened so far (one, then one per idle check or reconnect)
        self.connections = 0
        self._ready: deque[tuple[str | None, Any]] = deque()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._parser = SSEParser(max_event_bytes)
        self._response: Any = None
        self._idle_since = time.monotonic()
        self._received = 0
        self._failures = 0
        self._delay = 0.0
        self._closed = False
        self._async = False
        self._aiter: Any = None

    # -- what a subclass says ----------------------------------------------------------------

    def _item(self, seq_num: Any, headers: list[Any], body: Any) -> tuple[bool, Any]:
        """A v2 data or control record (``body``: its JSON envelope parsed, or ``None``) as
        ``(keep, item)``."""
        raise NotImplementedError

    def _v1_event(self, event: Any) -> None:
        raise StreamError(f"{self!r}: the service answered a v1 stream")

    def _idle_ended(self) -> Generator[Any, Any, None]:
        """A flow: the service ended an idle answer; :meth:`_finish` to end the read, or
        return to reconnect after the last event."""
        raise NotImplementedError
        yield

    def _describe(self) -> str:
        raise NotImplementedError

    # -- iteration -----------------------------------------------------------------------------

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Any:
        while not self._ready:
            if self._closed:
                raise StopIteration
            self._step()
        return self._take()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            await self._astep()
        return self._take()

    def next_within(self, seconds: float) -> tuple[bool, Any]:
        """``(True, item)``, or ``(False, None)`` once ``seconds`` passed without one (a relay
        sends a keep-alive then); ``StopIteration`` at the end. A wait can overrun ``seconds``
        by at most ``check_every`` (the service ends an idle answer after it)."""
        deadline = time.monotonic() + seconds
        while not self._ready:
            if self._closed:
                raise StopIteration
            if time.monotonic() >= deadline:
                return False, None
            self._step()
        return True, self._take()

    async def anext_within(self, seconds: float) -> tuple[bool, Any]:
        """:meth:`next_within` awaited (``StopAsyncIteration`` at the end)."""
        deadline = time.monotonic() + seconds
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            if time.monotonic() >= deadline:
                return False, None
            await self._astep()
        return True, self._take()

    # -- one step, sync ----------------------------------------------------------------------

    def _step(self) -> None:
        from django_trigger._http.transport import read_stream_chunk

        transport = self._client._transport
        if self._response is None:
            if self._delay:
                time.sleep(self._delay)
            try:
                response = transport.open_stream(
                    self._path, headers=self._headers(), read_timeout=self._read_timeout
                )
            except ApiError as exc:
                self._failed(exc)
                return
            if asyncio.iscoroutine(response):
                response.close()
                raise TypeError("a stream of the async client is iterated with 'async for'")
            self._opened(response)
            return
        try:
            chunk = read_stream_chunk(self._response, self._read_timeout)
        except OSError as exc:
            self._drop()
            self._failed(ApiConnectionError(f"the stream was cut: {exc}", method="GET"))
            return
        if chunk:
            try:
                self._feed(chunk)
            except _Cut as cut:
                self._drop()
                self._failed(cut.error)
            if self._closed:
                self._drop()
            return
        self._drop()
        self._client._run_flow(self._idle_ended())

    # -- one step, async ---------------------------------------------------------------------

    async def _astep(self) -> None:
        import httpx

        transport = self._client._transport
        if self._response is None:
            if self._delay:
                await asyncio.sleep(self._delay)
            try:
                response = await transport.open_stream(
                    self._path, headers=self._headers(), read_timeout=self._read_timeout
                )
            except ApiError as exc:
                self._failed(exc)
                return
            self._async = True
            self._opened(response)
            self._aiter = response.aiter_bytes()
            return
        try:
            chunk = await self._aiter.__anext__()
        except StopAsyncIteration:
            chunk = b""
        except httpx.HTTPError as exc:
            await self._adrop()
            self._failed(ApiConnectionError(f"the stream was cut: {exc}", method="GET"))
            return
        except BaseException:
            await self._adrop()  # cancelled: the connection is closed, not left to the pool
            raise
        if chunk:
            try:
                self._feed(chunk)
            except _Cut as cut:
                await self._adrop()
                self._failed(cut.error)
            if self._closed:
                await self._adrop()
            return
        await self._adrop()
        step: Any = self._client._run_flow(self._idle_ended())
        await step  # the async client: a coroutine

    # -- shared ------------------------------------------------------------------------------

    def _take(self) -> Any:
        event_id, item = self._ready.popleft()
        self.last_event_id = event_id
        return item

    def _put(self, item: Any) -> None:
        self._ready.append((self._cursor, item))
        self._received += 1

    @property
    def _idle(self) -> float:
        return time.monotonic() - self._idle_since

    @property
    def _read_timeout(self) -> float:
        # The service writes something at least every _PING_S, and ends an idle answer after
        # check_every: a read waiting longer than that is a dead connection.
        return min(self._check_every, _PING_S) + _READ_SLACK_S

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Timeout-Seconds": f"{self._check_every:.0f}"}
        if self._cursor:
            headers["Last-Event-ID"] = self._cursor
        return headers

    def _opened(self, response: Any) -> None:
        self._response = response
        self.connections += 1
        self.version = response.headers.get("X-Stream-Version") or "v1"
        self._parser = SSEParser(self._max_event_bytes)

    def _failed(self, error: ApiError) -> None:
        """A failed connection: reconnect after a backoff, or raise when it is not worth it."""
        retryable = isinstance(error, (ApiConnectionError, InternalServerError, RateLimitError))
        self._failures += 1
        if not retryable or self._failures > self._max_reconnects:
            self.close()
            raise error
        base = min(0.1 * 2 ** (self._failures - 1), 5.0)
        self._delay = base * (1 - 0.5 * _JITTER.random())

    def _feed(self, chunk: bytes) -> None:
        try:
            events = self._parser.feed(chunk)
        except SSEEventTooLarge as exc:
            self.close()
            raise StreamError(
                f"{self._describe()}: {exc} (max_event_bytes); the stream is closed"
            ) from None
        before = self._received
        for event in events:
            if self._closed:
                break  # the subclass ended the read (until_turn_complete)
            if self.version == "v2":
                self._batch(event.event, event.data)
            else:
                self._v1_event(event)
        if self._received > before:
            self._idle_since = time.monotonic()
            self._failures = 0
            self._delay = 0.0

    def _batch(self, name: str, data: str) -> None:
        if name == "error":  # the SDK reconnects after it
            raise _Cut(ApiConnectionError(f"Stream read failed: {data[:200]}", method="GET"))
        if name != "batch":
            return
        payload = _json_or_text(data)
        records = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            return
        for record in records:
            if self._closed:
                return
            if not isinstance(record, dict) or "seq_num" not in record:
                continue
            self._cursor = str(record["seq_num"])
            headers = record.get("headers") or []
            if headers and isinstance(headers[0], list) and headers[0][:1] == [""]:
                continue  # an S2 command record (trim, fence): not data
            body = record.get("body")
            parsed = _json_or_text(body) if isinstance(body, str) and body else None
            record_id = parsed.get("id") if isinstance(parsed, dict) else None
            if isinstance(record_id, str):
                if record_id in self._seen:
                    continue
                self._seen[record_id] = None
                if len(self._seen) > SEEN_IDS_CAP:
                    self._seen.popitem(last=False)
            keep, item = self._item(record["seq_num"], headers, parsed)
            if keep:
                self._put(item)

    def _finish(self) -> None:
        """End the read once what is ready has been returned (the connection is dropped by
        the step that called this)."""
        self._closed = True

    def _drop(self) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        if not self._async:
            response.close()
            return
        try:  # an httpx response closes asynchronously: on the running loop, if any
            asyncio.get_running_loop().create_task(response.aclose())
        except RuntimeError:
            pass  # no loop: closed with its pool

    async def _adrop(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop: close the connection now (sync client; with the async client, prefer
        ``await aclose()``) and end the iteration."""
        self._closed = True
        self._ready.clear()
        self._drop()

    async def aclose(self) -> None:
        self._closed = True
        self._ready.clear()
        await self._adrop()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Garbage collected while open: release the socket (sync responses close at once;
        # an httpx response is closed with its pool).
        if getattr(self, "_response", None) is not None:
            self._closed = True
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self._drop()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self._path} {state}>"


class RunStream(SSEReader):
    """An open read of a run's output stream (``client.streams.read``): iterate it for the
    chunks."""

    def __init__(
        self,
        client: BaseClient,
        run_id: str,
        stream_key: str,
        *,
        start_index: int | None,
        last_event_id: str | None,
        timeout: float,
        check_every: float,
        max_event_bytes: int,
        max_reconnects: int,
    ) -> None:
        path = build_path("/realtime/v1/streams/{}/{}", (run_id, "run"), (stream_key, "stream_key"))
        if start_index is not None and (
            isinstance(start_index, bool) or not isinstance(start_index, int) or start_index < 0
        ):
            raise InvalidRequestError("start_index must be an integer >= 0")
        if last_event_id is not None and (
            start_index is not None
            or not isinstance(last_event_id, str)
            or not last_event_id.isprintable()
            or len(last_event_id) > 200
        ):
            raise InvalidRequestError(
                "last_event_id must be a short printable string (and not with start_index)"
            )
        super().__init__(
            client,
            path,
            cursor=str(start_index - 1) if start_index else (last_event_id or None),
            timeout=timeout,
            check_every=check_every,
            max_event_bytes=max_event_bytes,
            max_reconnects=max_reconnects,
        )
        self.run_id = run_id
        self.stream_key = stream_key

    def _describe(self) -> str:
        return f"streams.read({self.run_id}, {self.stream_key!r})"

    def _item(self, seq_num: Any, headers: list[Any], body: Any) -> tuple[bool, Any]:
        return True, body.get("data") if isinstance(body, dict) else None

    def _v1_event(self, event: Any) -> None:
        if event.id:
            self._cursor = event.id
        self._put(_json_or_text(event.data))

    def _idle_ended(self) -> Generator[Any, Any, None]:
        """Stop if the run finished or the timeout passed, else reconnect after the last
        event. The run as the realtime feed has it (one request: its first answer), without
        the columns that can be large."""
        from .runs import Runs

        feed = Runs(self._client).subscribe_to_run(
            self.run_id, skip_columns=_SNAPSHOT_SKIP, timeout=30
        )
        run = yield (feed.__anext__() if self._async else next(feed))
        if run.finished_at is None and self._idle < self._timeout:
            return
        self.close()
        if (
            run.finished_at is not None
            and self._received == 0
            and self.stream_key not in run.realtime_streams
        ):
            have = ", ".join(repr(name) for name in run.realtime_streams) or "none"
            raise StreamError(
                f"run {self.run_id} has no output stream {self.stream_key!r} (its streams: {have})"
            )
