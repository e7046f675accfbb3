"""Relaying a run's output stream to the browser as server-sent events::

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
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext

from django_trigger.exceptions import TriggerError

if TYPE_CHECKING:
    from django_trigger.async_client import AsyncTriggerClient
    from django_trigger.client import TriggerClient
    from django_trigger.resources.streams import RunStream

__all__ = ["encode_comment", "encode_event", "sse_response", "stream_run"]

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
    from django_trigger.exceptions import InvalidRequestError

    if isinstance(keepalive, bool) or not isinstance(keepalive, (int, float)):
        raise InvalidRequestError("keepalive must be a number of seconds from 1 to 300")
    if not 1 <= keepalive <= 300:
        raise InvalidRequestError("keepalive must be a number of seconds from 1 to 300")
    if client is None:
        from django_trigger.clients import DEFAULT_ALIAS, get_client

        client = get_client(using or DEFAULT_ALIAS)
    last_event_id = request.headers.get("Last-Event-ID") or None
    # An idle upstream answer ends after check_every seconds: the relay gets control back
    # then, so a keep-alive goes out at most that much after it is due.
    stream = client.streams.read(
        run_id,
        stream_key,
        last_event_id=last_event_id,
        timeout=timeout,
        check_every=max(1.0, min(float(keepalive), DEFAULT_CHECK_EVERY, float(timeout))),
    )
    from django_trigger.async_client import AsyncTriggerClient

    if isinstance(client, AsyncTriggerClient):
        return sse_response(_arelay(stream, float(keepalive)))
    return sse_response(_relay(stream, float(keepalive)))


def _chunk_event(stream: RunStream, chunk: Any) -> bytes:
    return encode_event(
        json.dumps(chunk, ensure_ascii=False, separators=(",", ":"), default=str),
        id=stream.last_event_id,
    )


def _failed_event(stream: RunStream, exc: TriggerError) -> bytes:
    # Logged with the run, never sent: the browser gets a generic message.
    logger.warning("relaying run %s stream %r failed: %s", stream.run_id, stream.stream_key, exc)
    message = gettext("The stream could not be read.")
    return encode_event(json.dumps({"message": message}), event="failed")


def _relay(stream: RunStream, keepalive: float) -> Iterator[bytes]:
    try:
        yield encode_comment("connected")  # the head goes out now, not with the first chunk
        while True:
            try:
                got, chunk = stream.next_within(keepalive)
            except StopIteration:
                break
            yield _chunk_event(stream, chunk) if got else encode_comment()
        yield encode_event("{}", event="end")
    except TriggerError as exc:
        yield _failed_event(stream, exc)
    finally:  # also when the server closes this generator because the browser left
        stream.close()


async def _arelay(stream: RunStream, keepalive: float) -> AsyncIterator[bytes]:
    try:
        yield encode_comment("connected")
        while True:
            try:
                got, chunk = await stream.anext_within(keepalive)
            except StopAsyncIteration:
                break
            yield _chunk_event(stream, chunk) if got else encode_comment()
        yield encode_event("{}", event="end")
    except TriggerError as exc:
        yield _failed_event(stream, exc)
    finally:  # also when the browser left: Django cancels this iteration (5.0+)
        await stream.aclose()
