"""Server-sent events: an incremental parser (the WHATWG ``text/event-stream`` rules that the
SDK's ``eventsource-parser`` follows). The encoder of what a Django view relays is
:mod:`django_trigger.views`'s.

Transport-free, so the sync and the async readers (and anything else reading an SSE body:
run streams, session channels) share it::

    parser = SSEParser(max_event_bytes=2 * 1024 * 1024)
    for event in parser.feed(chunk):     # bytes as they arrive, cut anywhere
        event.event, event.data, event.id

Bounded: a line or an event larger than ``max_event_bytes`` raises :class:`SSEEventTooLarge`
instead of growing the buffer. Comments (``: ping``) dispatch nothing; ``parser.comments``
counts them (keep-alive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SSEEventTooLarge", "SSEParser", "ServerSentEvent"]

DEFAULT_MAX_EVENT_BYTES = 2 * 1024 * 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")


class SSEEventTooLarge(ValueError):
    """An event (or one line of it) is larger than the parser's ``max_event_bytes``."""


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: ``event`` is ``"message"`` when the stream named none; ``id`` is
    the last event id seen so far (it persists across events, as in a browser)."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEParser:
    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        if max_event_bytes < 1:
            raise ValueError("max_event_bytes must be at least 1")
        self.max_event_bytes = max_event_bytes
        self.last_event_id: str | None = None
        self.comments = 0
        self._buffer = b""
        self._first = True
        self._pending_cr = False
        self._reset_event()

    def _reset_event(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._retry: int | None = None
        self._size = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk`` (an incomplete line waits for the next one)."""
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the "\n" of a "\r\n" split across chunks
        self._pending_cr = False
        buffer = self._buffer + chunk
        if self._first and len(buffer) >= 3:
            if buffer.startswith(b"\xef\xbb\xbf"):
                buffer = buffer[3:]
            self._first = False
        events: list[ServerSentEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            if match.group() == b"\r" and match.end() == len(buffer):
                self._pending_cr = True  # maybe the first half of "\r\n"
            event = self._line(buffer[start : match.start()])
            if event is not None:
                events.append(event)
            start = match.end()
        self._buffer = buffer[start:]
        if len(self._buffer) > self.max_event_bytes:
            self._buffer = b""
            raise SSEEventTooLarge(
                f"a server-sent event line is larger than {self.max_event_bytes:,} bytes"
            )
        return events

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            self.comments += 1
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._size += len(raw)
            if self._size > self.max_event_bytes:
                self._reset_event()
                raise SSEEventTooLarge(
                    f"a server-sent event is larger than {self.max_event_bytes:,} bytes"
                )
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._reset_event()
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self.last_event_id,
            retry=self._retry,
        )
        self._reset_event()
        return event
