"""``client.streams.read`` against the emulator over real HTTP: chunks parsed as the SDK does
(v1 and v2 streams), the end when the run finishes or after the timeout, resumption with
``Last-Event-ID`` after a cut, the size cap, unknown runs and streams, and no connection or
thread left behind (sync and ``async for``)."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

from django_trigger.async_client import AsyncTriggerClient
from django_trigger.exceptions import InvalidRequestError, NotFoundError, StreamError
from django_trigger.testing.jwt import public_access_token
from tests.waiting import short_stream_waits, wait_until

from .base import FAST_RETRY, ClientTestCase


class StreamReadCase(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.run_id = self.trigger.tasks.trigger("send-email", {"to": "a@example.com"}).id

    def write(self, *parts: str, stream: str = "ai", run_id: str | None = None) -> None:
        with self.emulator.state.lock:
            for part in parts:
                self.emulator.state.output_streams.append(run_id or self.run_id, stream, part)

    def finish(self) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(self.run_id, {"ok": True})

    def later(self, seconds: float, action: Any) -> None:
        timer = threading.Timer(seconds, action)
        timer.start()
        self.addCleanup(timer.cancel)

    def use_v1(self) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.get(self.run_id).realtime_streams_version = "v1"

    def open_connections(self) -> int:
        return len(self.emulator._server.connections)

    def stream_requests(self) -> list:
        return [e for e in self.journal.entries if e.path.startswith("/realtime/v1/streams/")]


class ReadTests(StreamReadCase):
    def test_v2_chunks_then_the_end_when_the_run_finishes(self):
        self.write("Hello", '{"n": 1}')

        def write_while_open() -> None:  # once the first answer is under way
            if wait_until(lambda: self.stream_requests(), timeout=30):
                self.write("world")

        writer = threading.Thread(target=write_while_open)
        writer.start()
        self.addCleanup(writer.join)
        # Finished once the first idle check has found it running (however loaded the
        # machine): the reconnect then ends at the next check.
        self.after_answers(1, "GET", f"/realtime/v1/runs/{self.run_id}", self.finish)
        started = time.monotonic()
        stream = self.trigger.streams.read(self.run_id, "ai", timeout=30, check_every=1)
        chunks = list(stream)
        self.assertEqual(chunks, ["Hello", '{"n": 1}', "world"])  # v2: the part as appended
        self.assertLess(time.monotonic() - started, 6)
        self.assertEqual(stream.version, "v2")
        self.assertTrue(stream.closed)
        first = self.stream_requests()[0]
        self.assertEqual(first.headers["accept"], "text/event-stream")
        self.assertEqual(first.headers["timeout-seconds"], "1")
        self.assertNotIn("last-event-id", first.headers)
        # The idle check found the run running: the reconnect resumed after the last record.
        self.assertEqual(stream.connections, 2)
        self.assertEqual(self.stream_requests()[1].headers["last-event-id"], "2")

    def test_v1_chunks_are_json_parsed_lines(self):
        short_stream_waits(
            self, self.emulator
        )  # the run is finished: the read ends at the idle end
        self.use_v1()
        self.write("Hello", '{"n": 1}')
        self.finish()
        stream = self.trigger.streams.read(self.run_id, "ai", check_every=1)
        # v1 appends store the part JSON-encoded: the SDK's JSON.parse gives the text back.
        self.assertEqual(list(stream), ["Hello", '{"n": 1}'])
        self.assertEqual(stream.version, "v1")
        self.assertRegex(stream.last_event_id, r"^\d+-\d+$")  # the Redis id of the last

    def test_start_index(self):
        short_stream_waits(
            self, self.emulator
        )  # the run is finished: the read ends at the idle end
        self.write("a", "b", "c")
        self.finish()
        self.assertEqual(
            list(self.trigger.streams.read(self.run_id, "ai", start_index=2, check_every=1)),
            ["c"],
        )
        self.assertEqual(self.stream_requests()[0].headers["last-event-id"], "1")
        # start_index 0 sends nothing, as the SDK (`startIndex ? … : undefined`).
        self.assertEqual(
            list(self.trigger.streams.read(self.run_id, "ai", start_index=0, check_every=1)),
            ["a", "b", "c"],
        )

    def test_the_timeout_ends_an_idle_stream_of_a_running_run(self):
        self.write("only")
        started = time.monotonic()
        chunks = list(self.trigger.streams.read(self.run_id, "ai", timeout=2, check_every=1))
        elapsed = time.monotonic() - started
        self.assertEqual(chunks, ["only"])
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 6)

    def test_a_public_token_that_can_read_the_run(self):
        short_stream_waits(
            self, self.emulator
        )  # the run is finished: the read ends at the idle end
        with self.emulator.state.lock:
            env_id = self.emulator.state.environment_for_key(self.emulator.secret_key).id
        token, _ = public_access_token(
            self.emulator.secret_key, env_id, [f"read:runs:{self.run_id}"], int(time.time())
        )
        self.write("x")
        self.finish()
        reader = self.make_client(token)
        self.assertEqual(list(reader.streams.read(self.run_id, "ai", check_every=1)), ["x"])


class ResumeTests(StreamReadCase):
    def check_resumes(self, first_id: str) -> None:
        """One chunk, a cut, then the rest written: read once each, the reconnect resuming
        after the first."""
        short_stream_waits(self, self.emulator)  # the read ends at the idle end after it
        self.write("a")
        self.later(0.2, lambda: self.write("b", "c"))
        self.later(0.4, self.finish)
        self.emulator.faults.cut_next(1, after_chunks=1, path="/realtime/v1/streams/*")
        stream = self.trigger.streams.read(self.run_id, "ai", check_every=1)
        self.assertEqual(list(stream), ["a", "b", "c"])
        requests = self.stream_requests()
        self.assertEqual(requests[0].fault, "cut")
        self.assertRegex(requests[1].headers["last-event-id"], first_id)

    def test_a_cut_v2_stream_resumes_after_its_last_record(self):
        self.check_resumes(r"^0$")

    def test_a_cut_v1_stream_resumes_after_its_last_event(self):
        self.use_v1()
        self.check_resumes(r"^\d+-0$")

    def test_reconnects_are_bounded(self):
        self.emulator.faults.fail_next(10, 503, path="/realtime/v1/streams/*")
        stream = self.trigger.streams.read(self.run_id, "ai", max_reconnects=2)
        with self.assertRaises(Exception) as caught:
            next(stream)
        self.assertEqual(getattr(caught.exception, "status", None), 503)
        self.assertEqual(len(self.stream_requests()), 3)
        self.assertTrue(stream.closed)


class ErrorTests(StreamReadCase):
    def test_unknown_run(self):
        with self.assertRaises(NotFoundError):
            next(self.trigger.streams.read("run_doesnotexist", "ai"))

    def test_a_stream_the_run_never_had(self):
        self.write("x", stream="progress")
        self.finish()
        with self.assertRaises(StreamError) as caught:
            list(self.trigger.streams.read(self.run_id, "ai", check_every=1))
        self.assertIn("has no output stream 'ai' (its streams: 'progress')", str(caught.exception))

    def test_an_oversized_event(self):
        self.write("x" * 5000)
        stream = self.trigger.streams.read(self.run_id, "ai", max_event_bytes=1024)
        with self.assertRaises(StreamError) as caught:
            next(stream)
        self.assertIn("larger than 1,024 bytes", str(caught.exception))
        self.assertTrue(stream.closed)

    def test_bad_arguments_are_refused_before_sending(self):
        for kwargs, message in (
            ({"timeout": 0}, "timeout must be a number of seconds from 1 to 600"),
            ({"timeout": 601}, "timeout must be a number of seconds from 1 to 600"),
            ({"check_every": True}, "check_every must be a number of seconds from 1 to 600"),
            ({"start_index": -1}, "start_index must be an integer >= 0"),
            ({"max_event_bytes": 10}, "max_event_bytes must be at least 1024"),
            ({"max_reconnects": 101}, "max_reconnects must be from 0 to 100"),
        ):
            with (
                self.subTest(kwargs=kwargs),
                self.assertRaisesMessage(InvalidRequestError, message),
            ):
                self.trigger.streams.read(self.run_id, "ai", **kwargs)
        with self.assertRaises(InvalidRequestError):
            self.trigger.streams.read(self.run_id, "")
        self.assertEqual(self.stream_requests(), [])


class NothingLeftBehindTests(StreamReadCase):
    def test_close_and_garbage_collection_close_the_connection(self):
        self.trigger.close()  # the trigger's pooled connection
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))
        threads = threading.active_count()
        self.write("a", "b")
        for how in ("close", "gc"):
            with self.subTest(how=how):
                stream = self.trigger.streams.read(self.run_id, "ai", timeout=30)
                self.assertEqual(next(stream), "a")
                self.assertEqual(self.open_connections(), 1)
                if how == "close":
                    stream.close()
                else:
                    del stream
                    gc.collect()
                self.assertTrue(wait_until(lambda: self.open_connections() == 0))
        self.assertTrue(wait_until(lambda: threading.active_count() <= threads))


class AsyncReadTests(StreamReadCase):
    def make_async(self) -> AsyncTriggerClient:
        return AsyncTriggerClient(
            self.emulator.secret_key,
            base_url=self.emulator.base_url,
            project_ref=self.emulator.project_ref,
            retry=FAST_RETRY,
            timeout=5.0,
        )

    def test_async_for_and_the_end_when_the_run_finishes(self):
        short_stream_waits(self, self.emulator)  # the read ends at the idle end after it
        self.write("Hello")
        self.later(0.3, lambda: self.write("world"))
        self.later(0.6, self.finish)

        async def main() -> list:
            client = self.make_async()
            try:
                return [c async for c in client.streams.read(self.run_id, "ai", check_every=1)]
            finally:
                await client.aclose()

        self.assertEqual(asyncio.run(main()), ["Hello", "world"])

    def test_aclose_and_cancellation_close_the_connection(self):
        self.trigger.close()
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))
        self.write("a")

        async def main() -> None:
            client = self.make_async()
            try:
                async with client.streams.read(self.run_id, "ai", timeout=30) as stream:
                    self.assertEqual(await stream.__anext__(), "a")
                    self.assertEqual(self.open_connections(), 1)
                self.assertTrue(stream.closed)
                # A task cancelled while waiting for the next chunk closes it too.
                other = client.streams.read(self.run_id, "ai", timeout=30)
                self.assertEqual(await other.__anext__(), "a")
                task = asyncio.ensure_future(other.__anext__())
                await asyncio.sleep(0.2)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
            finally:
                await client.aclose()

        asyncio.run(main())
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))

    def test_the_sync_iterator_of_an_async_stream_is_refused(self):
        async def main() -> None:
            client = self.make_async()
            try:
                with self.assertRaisesMessage(TypeError, "async for"):
                    next(client.streams.read(self.run_id, "ai"))
            finally:
                await client.aclose()

        asyncio.run(main())
