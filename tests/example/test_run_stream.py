"""The example's chat-like page following a run's output stream, and its SSE relay view, end
to end against the emulator (Django's test client reads the streaming response)."""

from __future__ import annotations

import json
import threading

from tests.waiting import short_stream_waits

from .base import ExampleTestCase


class RunStreamPageTests(ExampleTestCase):
    def setUp(self) -> None:
        super().setUp()
        from django_trigger import get_client

        self.run_id = get_client().tasks.trigger("send-email", {"to": "a@example.com"}).id
        self.journal.clear()

    def write(self, *parts: str) -> None:
        with self.emulator.state.lock:
            for part in parts:
                self.emulator.state.output_streams.append(self.run_id, "ai", part)

    def test_the_page_and_its_event_source(self):
        page = self.client.get(f"/runs/{self.run_id}/stream/?stream=ai")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "new EventSource(")
        # The URL as a JS string (escapejs): ?stream=ai&client=default
        self.assertContains(page, f"/runs/{self.run_id}/stream/events/?stream\\u003Dai\\u0026")
        self.assertEqual(self.journal.entries, [])  # the page itself calls nothing
        detail = self.client.get(f"/runs/{self.run_id}/")
        self.assertContains(detail, f'href="/runs/{self.run_id}/stream/"')

    def test_the_events_follow_the_run_until_it_finishes(self):
        short_stream_waits(self, self.emulator)  # the relay ends at the idle end after it
        self.write("Hello", "world")
        timer = threading.Timer(0.5, self.finish)
        timer.start()
        self.addCleanup(timer.cancel)
        response = self.client.get(f"/runs/{self.run_id}/stream/events/?stream=ai")
        self.assertEqual(response["Content-Type"], "text/event-stream; charset=utf-8")
        body = b"".join(response.streaming_content).decode()
        data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
        self.assertEqual(data, ["Hello", "world", {}])  # the chunks, then "end"
        self.assertIn("event: end", body)
        paths = [e.path for e in self.journal.entries]
        self.assertEqual(paths[0], f"/api/v3/runs/{self.run_id}")  # the authorization check
        self.assertIn(f"/realtime/v1/streams/{self.run_id}/ai", paths)

    def finish(self) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(self.run_id, {"ok": True})

    def test_refusals(self):
        self.assertEqual(self.client.get("/runs/run_doesnotexist/stream/events/").status_code, 404)
        self.assertEqual(
            self.client.get(f"/runs/{self.run_id}/stream/?stream=a%20b").status_code, 404
        )
        self.client.logout()
        response = self.client.get(f"/runs/{self.run_id}/stream/events/")
        self.assertEqual(response.status_code, 302)
        self.assertEqual([e for e in self.journal.entries if e.path.startswith("/realtime/")], [])
