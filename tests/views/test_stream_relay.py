"""``django_trigger.views.stream_run``: a run's output stream relayed to the browser as
server-sent events, from a sync view (the test client's streaming response) and from an async
view under ASGI (Django's ``AsyncClient``), against the emulator over real HTTP: the events,
keep-alives, the end, a failure, and the upstream connection closed when the browser leaves."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.test import SimpleTestCase, override_settings
from django.urls import path

from django_trigger.clients import get_async_client, get_client
from django_trigger.exceptions import InvalidRequestError
from django_trigger.testing import EmulatorTestMixin
from django_trigger.views import (
    encode_comment,
    encode_event,
    sse_response,
    stream_run,
    stream_session,
)
from tests.waiting import short_stream_waits, wait_until


def follow(request: HttpRequest, run_id: str) -> StreamingHttpResponse:
    return stream_run(request, run_id, "ai", timeout=3, keepalive=1)


async def afollow(request: HttpRequest, run_id: str) -> StreamingHttpResponse:
    return stream_run(request, run_id, "ai", client=get_async_client(), timeout=3, keepalive=1)


def chat(request: HttpRequest, session: str) -> StreamingHttpResponse:
    return stream_session(request, session, timeout=3, keepalive=1)


async def achat(request: HttpRequest, session: str) -> StreamingHttpResponse:
    return stream_session(request, session, client=get_async_client(), timeout=3, keepalive=1)


urlpatterns = [
    path("follow/<str:run_id>/", follow),
    path("afollow/<str:run_id>/", afollow),
    path("chat/<str:session>/", chat),
    path("achat/<str:session>/", achat),
]


def parse(body: bytes) -> list[dict[str, str]]:
    out = []
    for block in body.decode().split("\n\n"):
        if not block:
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        out.append(fields)
    return out


@override_settings(ROOT_URLCONF="tests.views.test_stream_relay")
class RelayTests(EmulatorTestMixin, SimpleTestCase):
    # Closing a response (as the WSGI server does) sends request_finished, whose
    # close_old_connections checks this thread's database connection, as in production:
    # pytest-django refuses that in a test that declares no database.
    databases = {"default"}

    def setUp(self) -> None:
        super().setUp()
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            run = next(
                r for r in self.emulator.state.runs.in_environment(env.id) if r.completed_at is None
            )
            self.run_id = run.friendly_id

    def write(self, *parts: str) -> None:
        with self.emulator.state.lock:
            for part in parts:
                self.emulator.state.output_streams.append(self.run_id, "ai", part)

    def finish(self) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(self.run_id, {"ok": True})

    def later(self, seconds: float, action: Any) -> None:
        timer = threading.Timer(seconds, action)
        timer.start()
        self.addCleanup(timer.cancel)

    def upstream_sockets(self) -> set:
        """The emulator's open client sockets (the relay's upstream is one of them)."""
        registry = self.emulator._server.connections
        with registry._lock:
            return set(registry._sockets)

    def test_sync_view_relays_chunks_keepalives_and_the_end(self):
        short_stream_waits(self, self.emulator)  # the relay ends at the idle end after it
        self.write('{"role": "assistant"}', "Hel")
        started = time.monotonic()
        response = self.client.get(f"/follow/{self.run_id}/")
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "text/event-stream; charset=utf-8")
        self.assertEqual(response["Cache-Control"], "no-cache")
        body = b""
        for chunk in response.streaming_content:  # the rest once a keep-alive came (1 s idle)
            if b": keep-alive" in chunk and b": keep-alive" not in body:
                self.write("lo")
                self.finish()
            body += chunk
        self.assertLess(time.monotonic() - started, 10)
        events = parse(body)
        self.assertEqual(events[0], {"": "connected"})
        messages = [e for e in events if "data" in e and "event" not in e]
        self.assertEqual(
            [json.loads(e["data"]) for e in messages], ['{"role": "assistant"}', "Hel", "lo"]
        )
        self.assertTrue(all(e["id"] for e in messages))
        self.assertIn({"": "keep-alive"}, events)  # 1 s without a chunk
        self.assertEqual(events[-1], {"event": "end", "data": "{}"})

    def test_a_reconnecting_browser_resumes_after_its_last_event_id(self):
        short_stream_waits(self, self.emulator)  # the relay ends at the idle end after it
        self.write("a", "b", "c")
        self.finish()
        first = parse(b"".join(self.client.get(f"/follow/{self.run_id}/").streaming_content))
        ids = [e["id"] for e in first if "id" in e]
        resumed = self.client.get(f"/follow/{self.run_id}/", headers={"Last-Event-ID": ids[0]})
        data = [
            json.loads(e["data"]) for e in parse(b"".join(resumed.streaming_content)) if "id" in e
        ]
        self.assertEqual(data, ["b", "c"])

    def test_a_failure_is_reported_without_details(self):
        response = self.client.get("/follow/run_doesnotexist/")
        with self.assertLogs("django_trigger.views", "WARNING"):
            events = parse(b"".join(response.streaming_content))
        self.assertEqual(events[-1]["event"], "failed")
        self.assertEqual(
            json.loads(events[-1]["data"]), {"message": "The stream could not be read."}
        )

    def test_the_browser_leaving_closes_the_upstream(self):
        self.write("a")
        get_client().close()  # no pooled connection to reuse: the relay opens its own
        before = self.upstream_sockets()
        threads = threading.active_count()
        response = self.client.get(f"/follow/{self.run_id}/")
        chunks = iter(response.streaming_content)
        self.assertEqual(next(chunks), encode_comment("connected"))
        self.assertIn(b'data: "a"', next(c for c in chunks if c != encode_comment()))
        upstream = self.upstream_sockets() - before
        self.assertEqual(len(upstream), 1)
        response.close()  # what the WSGI server does when the write to the browser fails
        self.assertTrue(wait_until(lambda: not upstream & self.upstream_sockets()))
        self.assertTrue(wait_until(lambda: threading.active_count() <= threads))

    def test_async_view_under_asgi(self):
        self.write("Hel")
        self.later(0.5, lambda: self.write("lo"))
        self.later(1.0, self.finish)

        async def main() -> list[dict[str, str]]:
            response = await self.async_client.get(f"/afollow/{self.run_id}/")
            self.assertTrue(response.is_async)
            body = b"".join([chunk async for chunk in response.streaming_content])
            return parse(body)

        events = asyncio.run(main())
        data = [json.loads(e["data"]) for e in events if "id" in e]
        self.assertEqual(data, ["Hel", "lo"])
        self.assertEqual(events[-1], {"event": "end", "data": "{}"})

    def test_async_relay_closed_early_closes_the_upstream(self):
        self.write("a")
        before = self.upstream_sockets()
        upstream: set = set()

        async def main() -> None:
            response = await self.async_client.get(f"/afollow/{self.run_id}/")
            chunks = response.streaming_content.__aiter__()
            self.assertEqual(await chunks.__anext__(), encode_comment("connected"))
            chunk = encode_comment()
            while chunk == encode_comment():
                chunk = await chunks.__anext__()
            self.assertIn(b'data: "a"', chunk)
            upstream.update(self.upstream_sockets() - before)
            self.assertEqual(len(upstream), 1)
            await chunks.aclose()  # as Django's ASGI handler on http.disconnect (5.0+)

        asyncio.run(main())
        self.assertTrue(wait_until(lambda: not upstream & self.upstream_sockets()))


@override_settings(ROOT_URLCONF="tests.views.test_stream_relay")
class SessionRelayTests(EmulatorTestMixin, SimpleTestCase):
    """``stream_session``: the same relay over ``sessions.read``, with a scripted agent."""

    # Closing a response (as the WSGI server does) sends request_finished, whose
    # close_old_connections checks this thread's database connection, as in production:
    # pytest-django refuses that in a test that declares no database.
    databases = {"default"}

    def setUp(self) -> None:
        super().setUp()
        get_client().sessions.start("send-email", type="emulator-echo", external_id="chat-1")

    def upstream_sockets(self) -> set:
        registry = self.emulator._server.connections
        with registry._lock:
            return set(registry._sockets)

    def later(self, seconds: float, action: Any) -> None:
        timer = threading.Timer(seconds, action)
        timer.start()
        self.addCleanup(timer.cancel)

    def test_sync_view_relays_records_control_events_and_the_end_on_close(self):
        short_stream_waits(self, self.emulator)  # the relay ends at the idle end after it
        get_client().sessions.send_input("chat-1", "hello world")
        writer = self.make_closer()
        started = time.monotonic()
        response = self.client.get("/chat/chat-1/")
        self.assertEqual(response["Content-Type"], "text/event-stream; charset=utf-8")
        events = []
        for chunk in response.streaming_content:
            events += parse(chunk)
            if events[-1].get("event") == "control":
                writer()  # the turn is over: the session closes, the relay ends
        self.assertLess(time.monotonic() - started, 15)
        self.assertEqual(events[0], {"": "connected"})
        messages = [e for e in events if "id" in e]
        self.assertEqual(
            [(e.get("event"), json.loads(e["data"]), e["id"]) for e in messages],
            [
                (None, {"type": "text-delta", "delta": "hello"}, "0"),
                (None, {"type": "text-delta", "delta": "world"}, "1"),
                ("control", {"control": "turn-complete"}, "2"),
            ],
        )
        self.assertEqual(events[-1], {"event": "end", "data": "{}"})

    def make_closer(self) -> Any:
        closer = get_client()
        return lambda: closer.sessions.close("chat-1")

    def test_a_reconnecting_browser_resumes_after_its_last_event_id(self):
        short_stream_waits(self, self.emulator)  # the relay ends at the idle end after it
        client = get_client()
        for word in ("a", "b", "c"):
            client.sessions.append_output("chat-1", word)
        client.sessions.close("chat-1")
        for last, expected in (("0", ["b", "c"]), ("not a number", ["a", "b", "c"])):
            with self.subTest(last=last):
                response = self.client.get("/chat/chat-1/", headers={"Last-Event-ID": last})
                events = parse(b"".join(response.streaming_content))
                self.assertEqual([json.loads(e["data"]) for e in events if "id" in e], expected)

    def test_an_unknown_session_is_reported_without_details(self):
        response = self.client.get("/chat/session_doesnotexist/")
        with self.assertLogs("django_trigger.views", "WARNING") as logs:
            events = parse(b"".join(response.streaming_content))
        self.assertEqual(events[-1]["event"], "failed")
        self.assertEqual(
            json.loads(events[-1]["data"]), {"message": "The stream could not be read."}
        )
        self.assertIn("session_doesnotexist", logs.output[0])
        self.assertNotIn(self.emulator.secret_key, logs.output[0])

    def test_the_browser_leaving_closes_the_upstream(self):
        get_client().sessions.append_output("chat-1", "a")
        get_client().close()
        before = self.upstream_sockets()
        threads = threading.active_count()
        response = self.client.get("/chat/chat-1/")
        chunks = iter(response.streaming_content)
        self.assertEqual(next(chunks), encode_comment("connected"))
        self.assertIn(b'data: "a"', next(c for c in chunks if c != encode_comment()))
        upstream = self.upstream_sockets() - before
        self.assertEqual(len(upstream), 1)
        response.close()
        self.assertTrue(wait_until(lambda: not upstream & self.upstream_sockets()))
        self.assertTrue(wait_until(lambda: threading.active_count() <= threads))

    def test_async_view_under_asgi_until_the_session_closes(self):
        short_stream_waits(self, self.emulator)  # the relay ends at the idle end after it
        get_client().sessions.send_input("chat-1", "hi")
        closer = self.make_closer()

        async def main() -> list[dict[str, str]]:
            response = await self.async_client.get("/achat/chat-1/")
            self.assertTrue(response.is_async)
            events: list[dict[str, str]] = []
            async for chunk in response.streaming_content:
                events += parse(chunk)
                if events[-1].get("event") == "control":
                    await asyncio.to_thread(closer)
            return events

        events = asyncio.run(main())
        data = [json.loads(e["data"]) for e in events if "id" in e]
        self.assertEqual(
            data, [{"type": "text-delta", "delta": "hi"}, {"control": "turn-complete"}]
        )
        self.assertEqual(events[-1], {"event": "end", "data": "{}"})

    def test_async_relay_closed_early_closes_the_upstream(self):
        get_client().sessions.append_output("chat-1", "a")
        before = self.upstream_sockets()
        upstream: set = set()

        async def main() -> None:
            response = await self.async_client.get("/achat/chat-1/")
            chunks = response.streaming_content.__aiter__()
            self.assertEqual(await chunks.__anext__(), encode_comment("connected"))
            chunk = encode_comment()
            while chunk == encode_comment():
                chunk = await chunks.__anext__()
            self.assertIn(b'data: "a"', chunk)
            upstream.update(self.upstream_sockets() - before)
            self.assertEqual(len(upstream), 1)
            await chunks.aclose()

        asyncio.run(main())
        self.assertTrue(wait_until(lambda: not upstream & self.upstream_sockets()))

    def test_bad_arguments_before_any_byte(self):
        for kwargs in ({"keepalive": 0}, {"timeout": 0}, {"channel": "a b"}, {"after": -1}):
            with self.subTest(kwargs=kwargs), self.assertRaises(InvalidRequestError):
                stream_session(HttpRequest(), "chat-1", **kwargs)


class EncodingTests(SimpleTestCase):
    def test_events_and_comments(self):
        self.assertEqual(
            encode_event("a\nb\r\nc", event="x", id="7"),
            b"event: x\nid: 7\ndata: a\ndata: b\ndata: c\n\n",
        )
        self.assertEqual(encode_comment(), b": keep-alive\n\n")
        with self.assertRaises(ValueError):
            encode_event("x", id="1\n2")

    def test_sse_response_and_bad_keepalive(self):
        response = sse_response(iter([b"data: 1\n\n"]))
        self.assertEqual(response["X-Accel-Buffering"], "no")
        self.assertEqual(b"".join(response.streaming_content), b"data: 1\n\n")
        with self.assertRaisesMessage(InvalidRequestError, "keepalive must be"):
            stream_run(HttpRequest(), "run_x", keepalive=0)
