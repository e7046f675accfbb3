"""Relaying a run's output stream (:func:`stream_run`) or an agent session's output
(:func:`stream_session`) to the browser as server-sent events::

    from django.http import Http404
    from django_trigger.views import stream_run

    def follow(request, run_id):                     # a sync view (WSGI or ASGI)
        if not Order.objects.filter(user=request.user, run_id=run_id).exists():
            raise Http404                            # authorization is the view's job
        return stream_run(request, run_id, "ai")

    async def afollow(request, run_id):              # an async view (ASGI)
        ...                                          # the same check, awaited
        return stream_run(request, run_id, "ai", client=get_async_client())

In the page: ``new EventSource(url)``; each chunk is a message whose ``data`` is the chunk as
JSON (``JSON.parse(e.data)``), its ``id`` the upstream event id; ``end`` is sent when the
stream is over (close the ``EventSource`` then, or it reconnects), ``failed`` when reading it
failed (``{"message": ...}``, nothing internal). A reconnecting browser sends its
``Last-Event-ID`` and the relay resumes after it. A comment (``: keep-alive``) goes out after
``keepalive`` seconds without a chunk, so proxies keep the connection open and a browser that
left is noticed by the next write: the upstream connection is then closed.

:func:`sse_response` is the generic part: any iterator (or async iterator) of encoded events
as a ``StreamingHttpResponse`` with the headers an event stream needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext

from django_trigger.exceptions import TriggerError

if TYPE_CHECKING:
    from django_trigger.async_client import AsyncTriggerClient
    from django_trigger.client import TriggerClient
    from django_trigger.resources.streams import SSEReader
    from django_trigger.types.sessions import SessionRecord

__all__ = [
    "encode_comment",
    "encode_event",
    "sse_response",
    "stream_run",
    "stream_session",
]

logger = logging.getLogger("django_trigger.views")
DEFAULT_KEEPALIVE = 15.0
DEFAULT_CHECK_EVERY = 5.0


def encode_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    """One server-sent event: ``data`` split on its line breaks into ``data:`` lines (so any
    text arrives whole), ``event`` and ``id`` when given (one line each)."""
    lines = []
    for name, value in (("event", event), ("id", id)):
        if value is not None:
            if any(c in value for c in "\r\n\0"):
                raise ValueError(f"an event's {name} cannot contain a line break or NUL")
            lines.append(f"{name}: {value}")
    lines += [
        "data: " + part for part in data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str = "keep-alive") -> bytes:
    """A comment line: ignored by ``EventSource``; it keeps an idle connection open."""
    return f": {text}\n\n".encode()


def sse_response(events: Iterable[bytes] | AsyncIterator[bytes]) -> StreamingHttpResponse:
    """``events`` (encoded with :func:`encode_event`/:func:`encode_comment`) as a
    ``StreamingHttpResponse``: ``text/event-stream``, not cached, not buffered by nginx
    (``X-Accel-Buffering: no``). An async iterator streams from an async view without a
    thread; closing the response (the browser left) closes the iterator."""
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def stream_run(
    request: HttpRequest,
    run_id: str,
    stream_key: str = "default",
    *,
    client: TriggerClient | AsyncTriggerClient | None = None,
    using: str | None = None,
    timeout: float = 60.0,
    keepalive: float = DEFAULT_KEEPALIVE,
) -> StreamingHttpResponse:
    """Relay the run's output stream ``stream_key`` to the browser (see the module's
    docstring). **The view must first check that the user may see this run**: the relay
    reads with the project's secret key.

    ``client``: a ``TriggerClient`` (default: ``get_client(using)``) relays from a sync
    generator; an ``AsyncTriggerClient`` from an async one (for async views under ASGI).
    ``timeout``: as ``client.streams.read`` (seconds without a chunk before the relay ends).
    ``keepalive``: seconds (1–300) without a chunk before a keep-alive comment (sent when
    the upstream read returns: at most ``min(keepalive, 5)`` seconds late).

    Arguments are checked now (``InvalidRequestError``), so a bad one is a 500 before any
    byte is sent, not a broken stream. On Django 4.2 under ASGI a browser that left is not
    noticed (Django does not report it): the relay then ends with the stream's ``timeout``.
    """
    keepalive = _keepalive(keepalive)
    client = _client(client, using)
    stream = client.streams.read(
        run_id,
        stream_key,
        last_event_id=request.headers.get("Last-Event-ID") or None,
        timeout=timeout,
        check_every=_check_every(keepalive, timeout),
    )
    return _respond(client, stream, _chunk_event, keepalive)


def stream_session(
    request: HttpRequest,
    session: str,
    *,
    channel: str | None = None,
    client: TriggerClient | AsyncTriggerClient | None = None,
    using: str | None = None,
    timeout: float = 60.0,
    keepalive: float = DEFAULT_KEEPALIVE,
    until_turn_complete: bool = False,
    after: int | None = None,
) -> StreamingHttpResponse:
    """Relay an agent session's ``.out`` channel (of ``channel``, if given) to the browser,
    as :func:`stream_run` relays a run's stream (the same relay; ``client.sessions.read``
    reads it). **The view must first check that the user may see this session.**

    Each data record is a message whose ``data`` is the record's value as JSON and whose
    ``id`` is its sequence number; a control record is an ``event: control`` with
    ``{"control": "turn-complete"}`` (or another subtype). The relay ends (``event: end``)
    when the session is closed, after ``timeout`` seconds without a record, or, with
    ``until_turn_complete=True``, after the first ``turn-complete``. A reconnecting browser's
    ``Last-Event-ID`` resumes after that record; ``after`` (a sequence number, e.g. from the
    page's URL when it opens a new ``EventSource`` for the next turn) when it sent none."""
    keepalive = _keepalive(keepalive)
    client = _client(client, using)
    last = request.headers.get("Last-Event-ID") or ""
    stream = client.sessions.read(
        session,
        channel=channel,
        after=int(last) if last.isascii() and last.isdigit() and len(last) < 20 else after,
        timeout=timeout,
        check_every=_check_every(keepalive, timeout),
        until_turn_complete=until_turn_complete,
    )
    return _respond(client, stream, _record_event, keepalive)


def _keepalive(keepalive: Any) -> float:
    from django_trigger.exceptions import InvalidRequestError

    if isinstance(keepalive, bool) or not isinstance(keepalive, (int, float)):
        raise InvalidRequestError("keepalive must be a number of seconds from 1 to 300")
    if not 1 <= keepalive <= 300:
        raise InvalidRequestError("keepalive must be a number of seconds from 1 to 300")
    return float(keepalive)


def _client(
    client: TriggerClient | AsyncTriggerClient | None, using: str | None
) -> TriggerClient | AsyncTriggerClient:
    if client is not None:
        return client
    from django_trigger.clients import DEFAULT_ALIAS, get_client

    return get_client(using or DEFAULT_ALIAS)


def _check_every(keepalive: float, timeout: Any) -> float:
    # An idle upstream answer ends after check_every seconds: the relay gets control back
    # then, so a keep-alive goes out at most that much after it is due. (A bad timeout is
    # refused by the reader.)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        return DEFAULT_CHECK_EVERY
    return max(1.0, min(keepalive, DEFAULT_CHECK_EVERY, float(timeout)))


Encode = Callable[["SSEReader", Any], bytes]


def _respond(
    client: TriggerClient | AsyncTriggerClient, reader: SSEReader, encode: Encode, keepalive: float
) -> StreamingHttpResponse:
    from django_trigger.async_client import AsyncTriggerClient

    if isinstance(client, AsyncTriggerClient):
        return sse_response(_arelay(reader, encode, keepalive))
    return sse_response(_relay(reader, encode, keepalive))


def _chunk_event(stream: SSEReader, chunk: Any) -> bytes:
    return encode_event(_json(chunk), id=stream.last_event_id)


def _record_event(stream: SSEReader, record: SessionRecord) -> bytes:
    if record.control is not None:
        return encode_event(
            _json({"control": record.control}), event="control", id=stream.last_event_id
        )
    return encode_event(_json(record.value), id=stream.last_event_id)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _failed_event(stream: SSEReader, exc: TriggerError) -> bytes:
    # Logged with what was read, never sent: the browser gets a generic message.
    logger.warning("relaying %r failed: %s", stream, exc)
    message = gettext("The stream could not be read.")
    return encode_event(json.dumps({"message": message}), event="failed")


def _relay(stream: SSEReader, encode: Encode, keepalive: float) -> Iterator[bytes]:
    try:
        yield encode_comment("connected")  # the head goes out now, not with the first chunk
        while True:
            try:
                got, item = stream.next_within(keepalive)
            except StopIteration:
                break
            yield encode(stream, item) if got else encode_comment()
        yield encode_event("{}", event="end")
    except TriggerError as exc:
        yield _failed_event(stream, exc)
    finally:  # also when the server closes this generator because the browser left
        stream.close()


async def _arelay(stream: SSEReader, encode: Encode, keepalive: float) -> AsyncIterator[bytes]:
    try:
        yield encode_comment("connected")
        while True:
            try:
                got, item = await stream.anext_within(keepalive)
            except StopAsyncIteration:
                break
            yield encode(stream, item) if got else encode_comment()
        yield encode_event("{}", event="end")
    except TriggerError as exc:
        yield _failed_event(stream, exc)
    finally:  # also when the browser left: Django cancels this iteration (5.0+)
        await stream.aclose()
