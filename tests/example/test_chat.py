"""The example's chat page: a conversation with the emulator's echo agent, its history, a
message sent (with and without JavaScript), the answer relayed as server-sent events until its
turn completes, the end of a conversation, and the refusals."""

from __future__ import annotations

import json

from .base import ExampleTestCase


def event_data(body: str) -> list[tuple[str | None, str, object]]:
    """(event, id, data) of each event of an SSE body."""
    out = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "data" in fields:
            out.append((fields.get("event"), fields.get("id", ""), json.loads(fields["data"])))
    return out


class ChatPageTests(ExampleTestCase):
    def start(self) -> str:
        response = self.client.post("/chat/start/")
        self.assertRedirects(response, "/chat/", fetch_redirect_response=False)
        return self.client.session["dashboard_chat"]

    def test_a_conversation(self):
        page = self.client.get("/chat/")
        self.assertContains(page, 'action="/chat/start/"')
        self.assertEqual(self.journal.entries, [])  # nothing to show: nothing asked
        chat_id = self.start()
        self.assertTrue(chat_id.startswith(f"example-chat-{self.user.pk}-"))
        started = self.journal.entries[0]
        self.assertEqual((started.method, started.path), ("POST", "/api/v1/sessions"))
        self.assertEqual(started.body["type"], "emulator-echo")

        sent = self.client.post(
            "/chat/send/", {"message": "hello <b>world</b>"}, headers={"Accept": "application/json"}
        )
        self.assertEqual(sent.json(), {"seq": 0})
        events = self.client.get("/chat/events/")
        self.assertEqual(events["Content-Type"], "text/event-stream; charset=utf-8")
        body = b"".join(events.streaming_content).decode()
        self.assertEqual(
            event_data(body),
            [
                (None, "0", {"type": "text-delta", "delta": "hello"}),
                (None, "1", {"type": "text-delta", "delta": "<b>world</b>"}),
                ("control", "2", {"control": "turn-complete"}),
                ("end", "", {}),
            ],
        )
        # The next turn's stream starts after the last record seen.
        self.client.post("/chat/send/", {"message": "again"})  # no JavaScript: a redirect
        body = b"".join(self.client.get("/chat/events/?after=2").streaming_content).decode()
        self.assertEqual(event_data(body)[0], (None, "3", {"type": "text-delta", "delta": "again"}))
        # The history, autoescaped, and where the page's stream resumes.
        page = self.client.get("/chat/")
        self.assertContains(page, "hello &lt;b&gt;world&lt;/b&gt;", count=2)  # asked, answered
        self.assertContains(page, 'data-after="4"')  # again, then its turn-complete
        self.assertContains(page, "new EventSource(")

        self.assertRedirects(
            self.client.post("/chat/end/"), "/chat/", fetch_redirect_response=False
        )
        self.assertNotIn("dashboard_chat", self.client.session)
        self.assertEqual(self.journal.entries[-1].path, f"/api/v1/sessions/{chat_id}/close")

    def test_refusals(self):
        self.assertEqual(self.client.get("/chat/events/").status_code, 404)  # no conversation
        reply = self.client.post(
            "/chat/send/", {"message": "hi"}, headers={"Accept": "application/json"}
        )
        self.assertEqual(reply.status_code, 400)
        self.assertEqual(reply.json(), {"error": "Start a conversation first."})
        self.start()
        self.journal.clear()
        for message in ("", "x" * 4001):
            with self.subTest(length=len(message)):
                reply = self.client.post(
                    "/chat/send/", {"message": message}, headers={"Accept": "application/json"}
                )
                self.assertEqual(reply.status_code, 400)
        self.assertEqual(self.journal.entries, [])  # refused before anything was sent
        self.assertEqual(self.client.get("/chat/start/").status_code, 405)
        self.client.logout()
        self.assertEqual(self.client.get("/chat/events/").status_code, 302)
