"""A session channel followed over server-sent events (API-ADDENDUM §14.2, the SDK's
``out.read()``): S2's batches after ``Last-Event-ID``, the route's ``Timeout-Seconds`` checks,
row-optional addressing, its auth, the settled peek, ``HEAD``, and scripted chunks arriving on
the emulator's clock."""

from __future__ import annotations

import json
from typing import Any

import requests

from .base import _DEFAULT
from .test_output_streams import events
from .test_public_tokens import RBAC_403
from .test_realtime import RealtimeCase

OUT = "/realtime/v1/sessions/chat-1/out"


class SessionStreamTests(RealtimeCase):
    # Every read here waits for the answer's idle end (Timeout-Seconds: 1) and times nothing.
    emulator_kwargs = {**RealtimeCase.emulator_kwargs, "stream_wait_cap": 0.1}

    def setUp(self) -> None:
        super().setUp()
        started = self.post(
            "/api/v1/sessions",
            json={
                "type": "emulator-echo",
                "taskIdentifier": "send-email",
                "externalId": "chat-1",
                "triggerConfig": {"basePayload": {}},
            },
        )
        self.assertEqual(started.status_code, 201, started.text)
        self.session_id = started.json()["id"]

    def append(self, part: str, io: str = "out") -> None:
        reply = self.post(f"/realtime/v1/sessions/chat-1/{io}/append", data=part.encode())
        self.assertEqual(reply.status_code, 200, reply.text)

    def read(self, path: str = OUT, token: Any = _DEFAULT, **headers: str) -> requests.Response:
        return self.get(
            path,
            headers={"Accept": "text/event-stream", "Timeout-Seconds": "1", **headers},
            token=token,
        )

    def records(self, response: requests.Response) -> list[dict[str, Any]]:
        batches = [e for e in events(response.content) if e.get("event") == "batch"]
        return [r for b in batches for r in json.loads(b["data"])["records"]]

    def test_batches_of_records_after_the_last_event_id(self):
        self.append("one")
        self.append('{"n": 2}')
        response = self.read()
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/event-stream"))
        self.assertEqual(response.headers["X-Stream-Version"], "v2")
        self.assertEqual(response.headers["Cache-Control"], "no-cache")
        records = self.records(response)
        self.assertEqual([r["seq_num"] for r in records], [0, 1])
        self.assertEqual(
            [json.loads(r["body"])["data"] for r in records], ["one", '{"n": 2}']
        )  # the part as sent, in S2's {"data", "id"} envelope
        # Either addressing form reaches the same channel; Last-Event-ID resumes after it.
        resumed = self.read(
            f"/realtime/v1/sessions/{self.session_id}/out", **{"Last-Event-ID": "0"}
        )
        self.assertEqual([r["seq_num"] for r in self.records(resumed)], [1])

    def test_cors_keeps_the_routes_exposed_headers(self):
        # The route sets "Access-Control-Expose-Headers: *" (S2RealtimeStreams); the route
        # builder's remix-utils cors() then appends its own with Headers.append: one header,
        # "*, x-trigger-jwt,x-trigger-jwt-claims", the origin reflected when there is one.
        origin = "https://chat.example.com"
        for headers, allowed in (({"Origin": origin}, origin), ({}, None)):
            with self.subTest(origin=allowed):
                response = self.read(**headers)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response.raw.headers.getlist("Access-Control-Expose-Headers"),
                    ["*, x-trigger-jwt,x-trigger-jwt-claims"],
                )
                self.assertEqual(response.headers.get("Access-Control-Allow-Origin"), allowed)
                self.assertEqual(response.headers.get("Vary"), "Origin" if allowed else None)

    def test_scripted_chunks_arrive_on_the_clock(self):
        self.append("hello world", io="in")
        self.assertEqual(self.records(self.read()), [])  # the clock is frozen
        self.emu.state.clock.advance(1)
        records = self.records(self.read())
        self.assertEqual(
            [json.loads(r["body"])["data"]["delta"] for r in records[:2]], ["hello", "world"]
        )
        self.assertEqual(records[2]["headers"], [["trigger-control", "turn-complete"]])

    def test_the_settled_peek(self):
        self.append("hi", io="in")
        self.assertNotIn("X-Session-Settled", self.read(**{"X-Peek-Settled": "1"}).headers)
        self.emu.state.clock.advance(1)  # the turn completed
        settled = self.read(**{"X-Peek-Settled": "1", "Timeout-Seconds": "600"})
        self.assertEqual(settled.headers["X-Session-Settled"], "true")
        self.assertEqual(len(self.records(settled)), 2)  # wait=0: what is there, at once

    def test_timeout_seconds_and_other_refusals(self):
        for value, message in (
            ("1.5", "Invalid timeout seconds"),
            ("10abc", "Invalid timeout seconds"),
            ("0", "Timeout seconds must be greater than 0"),
            ("601", "Timeout seconds must be less than 600"),
        ):
            with self.subTest(value=value):
                response = self.read(**{"Timeout-Seconds": value})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.text, message)
        unknown = self.read("/realtime/v1/sessions/session_doesnotexist/out")
        self.assertError(unknown, 404, "Not found")
        # Any other key without a row is an empty channel (row-optional, as the SDK's
        # transport opens it before the agent created the row).
        self.assertEqual(self.records(self.read("/realtime/v1/sessions/not-yet/out")), [])
        self.assertEqual(self.read("/realtime/v1/sessions/chat-1/both").status_code, 400)
        self.assertEqual(self.read(token=None).status_code, 401)

    def test_a_closed_session_is_still_read(self):
        self.append("last")
        self.assertEqual(self.post("/api/v1/sessions/chat-1/close", json={}).status_code, 200)
        self.assertEqual(len(self.records(self.read())), 1)

    def test_who_may_read(self):
        allowed = ("read:sessions:chat-1", f"read:sessions:{self.session_id}:out", "read:sessions")
        for scope in allowed:
            with self.subTest(scope=scope):
                self.assertEqual(self.read(token=self.token([scope])).status_code, 200)
        for scope in ("read:sessions:chat-2", "write:sessions:chat-1", "read:runs"):
            with self.subTest(scope=scope):
                response = self.read(token=self.token([scope]))
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response.json(), RBAC_403)

    def test_head(self):
        response = self.call("HEAD", OUT)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["X-Last-Chunk-Index"], "0")
