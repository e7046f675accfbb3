"""werkzeug's threaded WSGI server, with HTTP/1.1 keep-alive.

werkzeug 3's request handler answers every request with ``Connection: close`` and then drains
the socket for 10 ms (its ``run_wsgi``), which makes connection pooling impossible and caps a
connection at ~100 requests/s. Our handler keeps werkzeug's server, request-line/header parsing
and WSGI environ, and replaces only ``run_wsgi``: the application always sets
``Content-Length`` and always reads the whole request body, so the connection can serve the
next request. The server also tracks open connections so ``stop()`` can close idle keep-alive
sockets instead of leaving threads blocked on them, and counts the connections it accepted
(``Emulator.connections_opened``). An app returning a generator instead of a list is
streamed: the head first, then each chunk as it is produced (the ``trickle`` fault, streamed
answers). Without a ``Content-Length`` the body goes out with ``Transfer-Encoding: chunked``
(HTTP/1.1; the connection stays reusable); an empty chunk from the app writes nothing but lets
the server look whether the client closed its end, and if so the app's generator is closed at
once instead of at its next write.
"""

from __future__ import annotations

import select
import socket
import threading
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["ConnectionRegistry", "KeepAliveRequestHandler", "create_server"]

DROPPED = "django_trigger.testing.dropped"


class KeepAliveRequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one write per answer; never wait on delayed ACKs

    def setup(self) -> None:
        super().setup()
        registry = getattr(self.server, "connections", None)
        if registry is not None:
            registry.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            registry = getattr(self.server, "connections", None)
            if registry is not None:
                registry.discard(self.connection)

    def run_wsgi(self) -> None:
        # The request logger of the moment the request arrived: the answer is logged after it
        # is sent, by when the client may have gone on and set another logger (a test's),
        # which must not see a request of before it was set.
        self._request_log = getattr(self.server, "request_log", None)
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        state: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            state["status"], state["headers"] = status, headers
            return lambda data: state.setdefault("written", []).append(data)

        try:
            result = self.server.app(environ, start_response)
            if not isinstance(result, list):  # a generator: headers now, then chunk by chunk
                try:
                    self._write_streamed(state, result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
                return
            body = b"".join([*state.get("written", []), *result])
            if environ.get(DROPPED):
                self.close_connection = True
                return
            head, code = self._head(state, len(body))
            payload = head if environ["REQUEST_METHOD"] == "HEAD" else head + body
            self.wfile.write(payload)
            self.log_request(code, len(body))
        except OSError as exc:  # includes ConnectionError and socket timeouts
            self.close_connection = True
            self.connection_dropped(exc, environ)

    def _head(
        self, state: dict[str, Any], length: int | None, chunked: bool = False
    ) -> tuple[bytes, int]:
        """The status line and headers (``Content-Length: length`` unless the app set one;
        ``chunked``: ``Transfer-Encoding: chunked`` when it did not)."""
        status = state["status"]
        code = int(status.split(None, 1)[0])
        lines = [f"{self.protocol_version} {status}\r\n", f"Server: {self.version_string()}\r\n"]
        if not any(name.lower() == "date" for name, _value in state["headers"]):
            lines.append(f"Date: {self.date_time_string()}\r\n")
        has_length = False
        for name, value in state["headers"]:
            if name.lower() == "content-length":
                has_length = True
            lines.append(f"{name}: {value}\r\n")
        if not has_length:
            if chunked:
                lines.append("Transfer-Encoding: chunked\r\n")
            elif length is None:  # the body's end is the connection's end
                self.close_connection = True
            else:
                lines.append(f"Content-Length: {length}\r\n")
        if self.close_connection or self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1"), code

    def _write_streamed(self, state: dict[str, Any], result: Any) -> None:
        """Write the head at once, then each chunk as it comes (chunked when the app set no
        ``Content-Length`` and the client speaks HTTP/1.1)."""
        has_length = any(name.lower() == "content-length" for name, _ in state["headers"])
        chunked = not has_length and self.request_version == "HTTP/1.1"
        head, code = self._head(state, None, chunked)
        self.wfile.write(head)
        self.wfile.flush()
        size = 0
        for chunk in result:
            if not chunk:
                if self._client_gone():
                    raise ConnectionResetError("the client closed the connection mid-stream")
                continue
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            self.wfile.flush()
            size += len(chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        self.log_request(code, size)

    def _client_gone(self) -> bool:
        """Whether the client closed (or reset) its end: readable with nothing to read."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):  # reset, or already closed
            return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed request lines: answer like http.server, but keep it quiet.
        try:
            super().send_error(code, message or HTTPStatus(code).phrase, explain)
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # (A malformed request never reached run_wsgi: the logger of now.)
        log = self.__dict__.pop("_request_log", getattr(self.server, "request_log", None))
        if log is not None:
            log(self.command, self.path, code)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class ConnectionRegistry:
    """The server's open client sockets, so ``stop()`` can close idle keep-alive ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.opened = 0  # connections accepted since the server started (pooling tests)

    def add(self, conn: socket.socket) -> None:
        with self._lock:
            self._sockets.add(conn)
            self.opened += 1

    def discard(self, conn: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(conn)

    def close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for conn in sockets:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __len__(self) -> int:
        with self._lock:
            return len(self._sockets)

    def peers(self) -> set[tuple[str, int]]:
        """The client addresses of the open connections (tests find their own among them)."""
        with self._lock:
            sockets = list(self._sockets)
        peers = set()
        for conn in sockets:
            try:
                peers.add(conn.getpeername()[:2])
            except OSError:  # closed meanwhile
                pass
        return peers


def create_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    """``werkzeug.serving.make_server(..., threaded=True)`` with the keep-alive handler and a
    :class:`ConnectionRegistry` as ``server.connections``."""
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    server.connections = ConnectionRegistry()  # type: ignore[attr-defined]
    server.request_log = None  # type: ignore[attr-defined]
    # A client vanishing mid-request is normal for an emulator that drops connections.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    return server
