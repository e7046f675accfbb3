"""Streamed answers (``errors.stream_reply``): chunks flushed as produced, bounded in time,
closed when the client goes away or the emulator stops, no thread left behind."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any, ClassVar

import requests
from django.test import SimpleTestCase

from django_trigger.testing import Emulator, errors
from django_trigger.testing import auth as auth_policies
from django_trigger.testing.app import ApiRequest
from tests.waiting import wait_until

from .base import FROZEN_NOW


class StreamRoutes:
    """Test-only routes: ``/test/stream?n=&gap=&max=`` yields ``n`` events ``gap`` seconds
    apart; ``n=0`` idles until the client leaves or ``max`` seconds pass."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.produced: list[float] = []

    def register(self, emu: Emulator) -> None:
        emu.app.router.get("/test/stream", self.stream, auth=auth_policies.NONE)

    def stream(self, request: ApiRequest) -> errors.Reply:
        n = int(request.arg("n") or "0")
        gap = float(request.arg("gap") or "0.05")

        def idle(seconds: float) -> Any:
            """Yield idle ticks for ``seconds``; True when the emulator stopped."""
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                yield b""
                if request.stop_event.wait(0.02):
                    return True
            return False

        def events() -> Any:
            try:
                for index in range(max(n, 1)):
                    if index and (yield from idle(gap)):
                        return
                    self.produced.append(time.monotonic())
                    yield f"id: {index}\ndata: {index}\n\n".encode()
                if n == 0:
                    yield from idle(3600)
            finally:
                self.closed.set()

        return errors.stream_reply(
            events(), max_seconds=float(request.arg("max") or "5"), headers={"x-test": "1"}
        )


class StreamingCase(SimpleTestCase):
    emu: ClassVar[Emulator]
    routes: ClassVar[StreamRoutes]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.emu = Emulator(seed=1, now=FROZEN_NOW, runs=0).start()
        cls.addClassCleanup(cls.emu.stop)
        cls.routes = StreamRoutes()
        cls.routes.register(cls.emu)

    def setUp(self) -> None:
        self.emu.reset()
        self.routes.closed.clear()
        self.routes.produced.clear()
        self.http = requests.Session()
        self.addCleanup(self.http.close)

    def open_stream(self, query: str) -> requests.Response:
        response = self.http.get(self.emu.url(f"/test/stream?{query}"), stream=True, timeout=5)
        self.addCleanup(response.close)
        return response


class StreamReplyTests(StreamingCase):
    def test_chunks_arrive_as_they_are_produced(self):
        response = self.open_stream("n=3&gap=0.3")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "text/event-stream")
        self.assertEqual(response.headers["Transfer-Encoding"], "chunked")
        self.assertEqual(response.headers["x-test"], "1")
        self.assertNotIn("Content-Length", response.headers)
        received = []
        for chunk in response.iter_content(chunk_size=None):
            received.append((time.monotonic(), chunk))
        self.assertEqual(
            [c for _, c in received], [f"id: {i}\ndata: {i}\n\n".encode() for i in range(3)]
        )
        # Each event reached the client long before the next was produced (not buffered).
        produced = self.routes.produced
        self.assertLess(received[0][0], produced[1] - 0.1)
        self.assertLess(received[1][0], produced[2] - 0.1)
        self.assertTrue(self.routes.closed.wait(2))

    def test_max_seconds_ends_the_body_cleanly(self):
        started = time.monotonic()
        response = self.open_stream("n=0&max=0.4")
        body = response.content  # a clean end: no ChunkedEncodingError
        elapsed = time.monotonic() - started
        self.assertEqual(body, b"id: 0\ndata: 0\n\n")
        self.assertGreaterEqual(elapsed, 0.35)
        self.assertLess(elapsed, 2.0)
        self.assertTrue(self.routes.closed.wait(2))

    def test_client_going_away_closes_the_stream_and_its_connection(self):
        baseline_threads = threading.active_count()
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/test/stream?n=0&max=30")
        response = conn.getresponse()
        self.assertEqual(response.read1(), b"id: 0\ndata: 0\n\n")
        # This stream's own connection, by its client address: connections of earlier tests
        # (their server threads may lag under load) do not count either way.
        mine = conn.sock.getsockname()[:2]
        self.assertIn(mine, self.emu._server.connections.peers())
        gone_at = time.monotonic()
        conn.close()  # the client goes away mid-stream
        # Well before the stream's own end (max=30 s), even on a loaded machine.
        self.assertTrue(self.routes.closed.wait(10), "the handler's generator was not closed")
        self.assertLess(time.monotonic() - gone_at, 10)
        self.assertTrue(wait_until(lambda: mine not in self.emu._server.connections.peers()))
        self.assertTrue(
            wait_until(lambda: threading.active_count() <= baseline_threads, timeout=10)
        )

    def test_the_connection_serves_the_next_request_after_a_stream(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/test/stream?n=2&gap=0.01")
        first = conn.getresponse()
        self.assertEqual(first.read(), b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\n")
        sock = conn.sock
        conn.request(
            "GET", "/api/v1/runs", headers={"Authorization": f"Bearer {self.emu.secret_key}"}
        )
        second = conn.getresponse()
        second.read()
        self.assertEqual(second.status, 200)
        self.assertIs(conn.sock, sock)

    def test_http_1_0_client_gets_a_close_delimited_body(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        conn._http_vsn, conn._http_vsn_str = 10, "HTTP/1.0"
        self.addCleanup(conn.close)
        conn.request("GET", "/test/stream?n=2&gap=0.01")
        response = conn.getresponse()
        self.assertIsNone(response.getheader("Transfer-Encoding"))
        self.assertEqual(response.read(), b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\n")

    def test_cut_fault_closes_the_connection_mid_stream(self):
        self.emu.faults.cut_next(1, after_chunks=2, path="/test/stream")
        response = self.open_stream("n=5&gap=0.01")
        received = []
        with self.assertRaises(requests.exceptions.ChunkedEncodingError):
            for chunk in response.iter_content(chunk_size=None):
                received.append(chunk)
        self.assertEqual(b"".join(received), b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\n")
        self.assertTrue(self.routes.closed.wait(2))
        self.assertEqual(self.emu.journal.entries[-1].fault, "cut")
        # The rule is used up: the next stream is whole.
        self.assertEqual(self.open_stream("n=3&gap=0.01").content.count(b"data:"), 3)

    def test_cut_fault_on_an_answer_that_is_not_streamed_drops_it(self):
        self.emu.faults.cut_next(1, path="/api/v1/runs")
        with self.assertRaises(requests.exceptions.ConnectionError):
            self.http.get(
                self.emu.url("/api/v1/runs"),
                headers={"Authorization": f"Bearer {self.emu.secret_key}"},
                timeout=5,
            )

    def test_stream_reply_needs_a_time_bound(self):
        for bad in (0, -1):
            with self.assertRaisesMessage(ValueError, "max_seconds > 0"):
                errors.stream_reply(iter(()), max_seconds=bad)
        with self.assertRaisesMessage(ValueError, "after_chunks must be at least 1"):
            self.emu.faults.cut_next(1, after_chunks=0)


class StopMidStreamTests(SimpleTestCase):
    def test_stopping_the_emulator_breaks_open_streams_and_joins_everything(self):
        baseline_threads = threading.active_count()
        emu = Emulator(seed=1, now=FROZEN_NOW, runs=0).start()
        routes = StreamRoutes()
        routes.register(emu)
        with requests.Session() as http:
            response = http.get(emu.url("/test/stream?n=0&max=30"), stream=True, timeout=5)
            chunks = response.iter_content(chunk_size=None)
            self.assertEqual(next(chunks), b"id: 0\ndata: 0\n\n")
            started = time.monotonic()
            emu.stop()
            self.assertLess(time.monotonic() - started, 2.0)
            self.assertTrue(routes.closed.wait(2))
            with self.assertRaises(requests.exceptions.RequestException):
                for _ in chunks:
                    pass
            response.close()
        self.assertTrue(wait_until(lambda: threading.active_count() <= baseline_threads))
