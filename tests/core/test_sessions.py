"""``client.sessions`` against the emulator over real HTTP: the requests the SDK sends, the API's
answers and refusals (closed session, unknown id, scopes, the out channel's secret-key rule),
retry safety of the appends, and bad input refused before anything is sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import threading
import time

import requests

from django_trigger.async_client import AsyncTriggerClient
from django_trigger.exceptions import (
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    StreamError,
)
from django_trigger.resources.sessions import MAX_APPEND_BYTES
from django_trigger.testing.jwt import public_access_token
from tests.waiting import short_stream_waits, wait_until

from .base import FAST_RETRY, ClientTestCase


class SessionTests(ClientTestCase):
    def start(self, external_id: str | None = "chat-1", **options):
        options.setdefault("type", "chat.agent")
        return self.trigger.sessions.start("send-email", external_id=external_id, **options)

    def token(self, *scopes: str) -> str:
        with self.emulator.state.lock:
            env_id = self.emulator.state.environment_for_key(self.emulator.secret_key).id
        now = self.emulator.state.clock.now_ms() // 1000
        return public_access_token(self.emulator.secret_key, env_id, list(scopes), now)[0]

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs):
        """The emulator asked directly (what the client refuses to send)."""
        token = token or self.emulator.secret_key
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, self.emulator.url(path), headers=headers, timeout=5, **kwargs
        )

    def test_start_is_idempotent_on_the_external_id(self):
        created = self.start(base_payload={"chatId": "chat-1"}, tags=["support"])
        self.assertFalse(created.is_cached)
        self.assertTrue(created.id.startswith("session_"))
        self.assertEqual(created.external_id, "chat-1")
        self.assertEqual(created.run_id, created.current_run_id)
        post = self.journal.last(method="POST")
        self.assertEqual(post.path, "/api/v1/sessions")
        self.assertEqual(post.status, 201)
        self.assertEqual(
            post.body,
            {
                "type": "chat.agent",
                "taskIdentifier": "send-email",
                "triggerConfig": {"basePayload": {"chatId": "chat-1"}},
                "externalId": "chat-1",
                "tags": ["support"],
            },
        )
        run = self.trigger.runs.retrieve(created.run_id)
        self.assertEqual(run.payload, {"chatId": "chat-1", "sessionId": created.id})
        again = self.start()
        self.assertTrue(again.is_cached)
        self.assertEqual((again.id, again.run_id), (created.id, created.run_id))
        self.assertEqual(self.journal.last(method="POST").status, 200)
        self.assertNotIn(created.public_access_token, repr(created))

    def test_retrieve_by_either_id_and_unknown_ids(self):
        created = self.start()
        self.assertEqual(self.trigger.sessions.retrieve("chat-1").id, created.id)
        self.assertEqual(self.trigger.sessions.retrieve(created.id).external_id, "chat-1")
        with self.assertRaises(NotFoundError):
            self.trigger.sessions.retrieve("session_doesnotexist")
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.sessions.close("no-such-chat")
        self.assertIn("Session not found", str(caught.exception))

    def test_update_and_the_frozen_external_id(self):
        created = self.start()
        updated = self.trigger.sessions.update(created.id, tags=["a", "b"], metadata={"n": 1})
        self.assertEqual((updated.tags, updated.metadata), (["a", "b"], {"n": 1}))
        self.assertIsNone(self.trigger.sessions.update("chat-1", clear_metadata=True).metadata)
        self.assertEqual(self.journal.last(method="PATCH").body, {"metadata": None})
        with self.assertRaises(InvalidRequestError):
            self.trigger.sessions.update(created.id)
        # The API refuses a new external id; the client has no argument for it, the emulator
        # is checked directly.
        reply = self.request(
            "PATCH", f"/api/v1/sessions/{created.id}", json={"externalId": "other"}
        )
        self.assertEqual(reply.status_code, 422)
        self.assertIn("externalId cannot be changed", reply.json()["error"])

    def test_close_is_final(self):
        self.start()
        closed = self.trigger.sessions.close("chat-1", reason="done")
        self.assertTrue(closed.is_closed)
        self.assertEqual(closed.closed_reason, "done")
        again = self.trigger.sessions.close("chat-1", reason="other")
        self.assertEqual((again.closed_at, again.closed_reason), (closed.closed_at, "done"))
        with self.assertRaises(BadRequestError) as caught:
            self.trigger.sessions.send_input("chat-1", "hello")
        self.assertIn("Cannot append to a closed session", str(caught.exception))
        with self.assertRaises(ConflictError) as caught:
            self.start()
        self.assertIn("Session is closed", str(caught.exception))
        self.assertEqual(self.trigger.sessions.list(status="CLOSED").data[0].id, closed.id)
        self.assertEqual(self.trigger.sessions.list(status="ACTIVE").data, [])

    def test_list_filters_and_pages(self):
        ids = [self.start(f"chat-{n}", tags=[f"t{n % 2}"]).id for n in range(5)]
        self.trigger.sessions.start("send-email", type="other")
        page = self.trigger.sessions.list(type="chat.agent", limit=2)
        self.assertEqual(len(page.data), 2)
        self.assertEqual([s.id for s in page], ids[::-1])  # every page, newest first
        self.assertEqual(
            self.journal.last(path="/api/v1/sessions").query,
            {"filter[type]": ["chat.agent"], "page[size]": ["2"], "page[after]": [ids[1]]},
        )
        self.assertEqual(
            {s.id for s in self.trigger.sessions.list(tag="t0")}, {ids[0], ids[2], ids[4]}
        )
        listed = self.trigger.sessions.list(external_id="chat-3").data[0]
        self.assertEqual(listed.id, ids[3])
        self.assertIsNone(listed.trigger_config)  # list rows omit it; retrieve has it
        self.assertIsNotNone(self.trigger.sessions.retrieve(ids[3]).trigger_config)
        self.assertEqual(len(self.trigger.sessions.list(task_identifier="send-email").data), 6)
        self.assertEqual(len(self.trigger.sessions.list(period="1h").data), 6)
        for bad in ({"status": "OPEN"}, {"limit": 0}, {"after": "a", "before": "b"}):
            with self.subTest(bad=bad), self.assertRaises(InvalidRequestError):
                self.trigger.sessions.list(**bad)

    def test_send_input_sends_the_raw_text_with_a_part_id(self):
        self.start()
        self.assertEqual(self.trigger.sessions.send_input("chat-1", "hello"), 0)
        self.assertEqual(self.trigger.sessions.send_input("chat-1", {"text": "hi"}), 1)
        post = self.journal.last(method="POST")
        self.assertEqual(post.path, "/realtime/v1/sessions/chat-1/in/append")
        self.assertEqual(post.body, {"text": "hi"})
        self.assertEqual(len(post.headers["x-part-id"]), 21)
        records = self.trigger.sessions.read_records("chat-1", io="in")
        self.assertEqual([r.value for r in records], ["hello", {"text": "hi"}])
        self.assertEqual([r.seq_num for r in records], [0, 1])
        self.assertEqual(
            self.trigger.sessions.read_records("chat-1", io="in", after=0)[0].seq_num, 1
        )

    def test_a_retried_append_is_written_once(self):
        self.start()
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        self.trigger.sessions.send_input("chat-1", "once")
        appends = [e for e in self.journal.entries if e.path.endswith("/in/append")]
        self.assertEqual(len(appends), 2)
        self.assertEqual(appends[0].headers["x-part-id"], appends[1].headers["x-part-id"])
        self.assertEqual(len(self.trigger.sessions.read_records("chat-1", io="in")), 1)

    def test_named_channels(self):
        self.start()
        self.trigger.sessions.send_input("chat-1", "side", channel="tools.v1")
        self.assertEqual(
            self.journal.last(method="POST").path,
            "/realtime/v1/sessions/chat-1/channels/tools.v1/in/append",
        )
        self.assertEqual(
            [
                r.data
                for r in self.trigger.sessions.read_records("chat-1", io="in", channel="tools.v1")
            ],
            ["side"],
        )
        self.assertEqual(self.trigger.sessions.read_records("chat-1", io="in"), [])
        for bad in ("", "a/b", "x" * 129, "sp ace"):
            with self.subTest(channel=bad), self.assertRaises(InvalidRequestError):
                self.trigger.sessions.send_input("chat-1", "x", channel=bad)

    def test_the_out_channel_takes_a_secret_key_only(self):
        created = self.start()
        self.assertEqual(self.trigger.sessions.append_output("chat-1", {"type": "text"}), 0)
        browser = self.make_client(created.public_access_token)
        with self.assertRaises(InvalidRequestError):  # refused before sending
            browser.sessions.append_output("chat-1", "forged")
        reply = self.request(
            "POST",
            "/realtime/v1/sessions/chat-1/out/append",
            data=b"forged",
            token=created.public_access_token,
        )
        self.assertEqual(reply.status_code, 403)
        self.assertIn("requires secret key authentication", reply.json()["error"])

    def test_the_session_token_and_narrowed_scopes(self):
        created = self.start()
        browser = self.make_client(created.public_access_token)
        browser.sessions.send_input("chat-1", "from the browser")
        self.assertEqual(browser.sessions.retrieve("chat-1").id, created.id)
        self.assertEqual(len(browser.sessions.read_records("chat-1")), 0)
        with self.assertRaises(PermissionDeniedError):
            browser.sessions.close("chat-1")  # closing takes the admin action
        side = self.make_client(
            self.trigger.auth.create_public_token(
                scopes={"write": {"sessions": f"{created.id}:channels:tools"}}
            )
        )
        side.sessions.send_input("chat-1", "ok", channel="tools")
        with self.assertRaises(PermissionDeniedError):
            side.sessions.send_input("chat-1", "no")
        reader = self.make_client(
            self.trigger.auth.create_public_token(scopes=["read:sessions:chat-1:out"])
        )
        self.assertEqual(reader.sessions.read_records(created.id), [])
        with self.assertRaises(PermissionDeniedError):
            reader.sessions.read_records(created.id, channel="tools")
        other = self.make_client(self.token("read:sessions:chat-2"))
        with self.assertRaises(PermissionDeniedError):
            other.sessions.retrieve("chat-1")
        with self.assertRaises(PermissionDeniedError):
            other.sessions.list()

    def test_narrowed_session_scopes_are_checked_when_signing(self):
        for good in (
            "chat-1",
            "chat-1:out",
            "user:7:chat",
            "s:channels:tools",
            "s:channels:a.b_c-1:out",
        ):
            with self.subTest(scope=good):
                self.trigger.auth.create_public_token(scopes={"read": {"sessions": good}})
        for bad in ("s:channels:", "s:channels:a/b", ":channels:x", "s:channels:x:in"):
            with self.subTest(scope=bad), self.assertRaises(InvalidRequestError) as caught:
                self.trigger.auth.create_public_token(scopes=[f"read:sessions:{bad}"])
            self.assertIn("narrow a session grant", str(caught.exception))

    def test_oversized_and_bad_input_are_refused_before_sending(self):
        self.start()
        self.journal.clear()
        with self.assertRaises(InvalidRequestError) as caught:
            self.trigger.sessions.send_input("chat-1", "x" * MAX_APPEND_BYTES)
        self.assertIn("split it", str(caught.exception))
        with self.assertRaises(InvalidRequestError):  # quotes double when JSON-escaped
            self.trigger.sessions.send_input("chat-1", '"' * (MAX_APPEND_BYTES // 2))
        for bad in (
            {"external_id": "session_x"},
            {"external_id": " "},
            {"type": ""},
            {"tags": ["x"] * 11},
            {"metadata": "text"},
            {"expires_at": dt.datetime(2030, 1, 1)},
            {"trigger_config": {"basePayload": {}}},
        ):
            with self.subTest(bad=bad), self.assertRaises(InvalidRequestError):
                self.start(**{"external_id": "chat-9", **bad})
        with self.assertRaises(InvalidRequestError):
            self.trigger.sessions.send_input("chat-1", object())
        with self.assertRaises(InvalidRequestError):
            self.trigger.sessions.read_records("chat-1", io="sideways")  # type: ignore[arg-type]
        self.assertEqual(self.journal.count(), 0)

    def test_the_api_meters_a_record_with_its_envelope(self):
        self.start()
        body = b'"' * (600 * 1024)  # under the route's 1 MiB, over S2's once escaped
        reply = self.request("POST", "/realtime/v1/sessions/chat-1/in/append", data=body)
        self.assertEqual(reply.status_code, 413)
        self.assertIn("exceeds the S2 per-record limit", reply.json()["error"])

    def test_an_expired_session(self):
        self.start(expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1))
        self.emulator.state.clock.advance(120)
        with self.assertRaises(BadRequestError) as caught:
            self.trigger.sessions.send_input("chat-1", "late")
        self.assertIn("expired", str(caught.exception))
        with self.assertRaises(ConflictError):
            self.start()
        self.assertEqual(self.trigger.sessions.list(status="EXPIRED").data[0].external_id, "chat-1")

    def test_a_scripted_agent_answers_on_the_clock(self):
        created = self.trigger.sessions.start("send-email", type="emulator-echo")
        self.emulator.state.clock.freeze()
        self.trigger.sessions.send_input(created.id, "hello big world")
        self.assertEqual(self.trigger.sessions.read_records(created.id), [])
        self.emulator.state.clock.advance(0.25)
        self.assertEqual(
            [r.value for r in self.trigger.sessions.read_records(created.id)],
            [{"type": "text-delta", "delta": "hello"}, {"type": "text-delta", "delta": "big"}],
        )
        self.emulator.state.clock.advance(1)
        records = self.trigger.sessions.read_records(created.id)
        self.assertEqual(len(records), 4)
        self.assertEqual(records[-1].control, "turn-complete")

    def test_control_records_and_trims_go_through_s2(self):
        self.start()
        self.trigger.sessions.append_output("chat-1", {"type": "text-delta", "delta": "hi"})
        seq = self.trigger.sessions.write_control(
            "chat-1", "turn-complete", headers={"public-access-token": "t"}
        )
        self.assertEqual(seq, 1)
        put, post = self.journal.entries[-2:]
        self.assertEqual(
            (put.method, put.path, put.status), ("PUT", "/realtime/v1/sessions/chat-1/out", 202)
        )
        self.assertEqual(post.path, "/s2/v1/streams/%2Fsessions%2Fchat-1%2Fout/records")
        self.assertEqual(post.headers["s2-basin"], "emulator")
        self.assertEqual(post.headers["s2-format"], "raw")
        self.assertNotIn("x-trigger-request-idempotency-key", post.headers)  # not the API
        self.assertEqual(
            post.body,
            {
                "records": [
                    {
                        "headers": [
                            ["trigger-control", "turn-complete"],
                            ["public-access-token", "t"],
                        ],
                        "body": "",
                    }
                ]
            },
        )
        records = self.trigger.sessions.read_records("chat-1")
        self.assertEqual([r.control for r in records], [None, "turn-complete"])
        self.trigger.sessions.trim_output("chat-1", 1)
        self.assertEqual(
            self.journal.last(method="POST").body["records"][0]["headers"], [["", "dHJpbQ=="]]
        )
        self.assertEqual([r.seq_num for r in self.trigger.sessions.read_records("chat-1")], [1])
        self.trigger.sessions.trim_output("chat-1", 0)  # monotonic: no effect
        self.trigger.sessions.trim_output("chat-1", 99)  # never past the tail (3 records)
        self.assertEqual(self.trigger.sessions.write_control("chat-1", "upgrade-required"), 5)
        self.assertEqual(
            [r.control for r in self.trigger.sessions.read_records("chat-1")], ["upgrade-required"]
        )

    def test_s2_retry_safety(self):
        self.start()
        self.emulator.faults.drop_next(1, after_processing=True, path="/s2/*")
        with self.assertRaises(OutcomeUnknownError):  # an S2 append has no key: not repeated
            self.trigger.sessions.write_control("chat-1", "turn-complete")
        self.emulator.faults.drop_next(1, after_processing=True, path="/s2/*")
        self.trigger.sessions.trim_output("chat-1", 1)  # a trim is: retried
        self.assertEqual(
            self.journal.count(path_prefix="/s2/"), 3, [e.path for e in self.journal.entries]
        )

    def test_s2_credentials_and_their_refusals(self):
        created = self.start()
        reply = self.request(
            "PUT", "/realtime/v1/sessions/chat-1/out", token=created.public_access_token
        )
        self.assertEqual(
            (reply.status_code, reply.text),
            (403, "Initializing the out channel requires secret key authentication"),
        )
        browser = self.make_client(created.public_access_token)
        self.journal.clear()
        with self.assertRaises(InvalidRequestError):
            browser.sessions.write_control("chat-1", "turn-complete")
        self.assertEqual(self.journal.count(), 0)
        put = self.request("PUT", "/realtime/v1/sessions/chat-1/channels/tools/out")
        self.assertEqual(put.status_code, 202)
        token = put.headers["X-S2-Access-Token"]
        self.assertEqual(put.headers["X-S2-Stream-Name"], "/sessions/chat-1/channels/tools/out")
        other = requests.post(
            self.emulator.url("/s2/v1/streams/%2Fsessions%2Fchat-1%2Fout/records"),
            json={"records": [{"body": "forged"}]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        self.assertEqual(other.status_code, 403)  # the token opens its own stream only
        bad = requests.post(
            self.emulator.url("/s2/v1/streams/%2Fsessions%2Fchat-1%2Fout/records"),
            json={"records": [{"body": "x"}]},
            headers={"Authorization": "Bearer s2tok_guess"},
            timeout=5,
        )
        self.assertEqual(bad.status_code, 401)
        self.assertEqual(
            self.request("PUT", "/realtime/v1/sessions/session_nope/out").status_code, 404
        )
        self.trigger.sessions.close("chat-1")
        closed = self.request("PUT", "/realtime/v1/sessions/chat-1/out")
        self.assertEqual(
            (closed.status_code, closed.text),
            (400, "Cannot initialize a channel on a closed session"),
        )
        with self.assertRaises(BadRequestError):
            self.trigger.sessions.trim_output("chat-1", 0)
        for bad_input in ({"subtype": ""}, {"subtype": "x", "headers": {"": "v"}}):
            with self.subTest(bad=bad_input), self.assertRaises(InvalidRequestError):
                self.trigger.sessions.write_control("chat-1", **bad_input)
        for seq in (-1, 2**64, True, "1"):
            with self.subTest(seq=seq), self.assertRaises(InvalidRequestError):
                self.trigger.sessions.trim_output("chat-1", seq)

    def test_browsers_may_call_the_session_routes(self):
        created = self.start()
        origin = {"Origin": "https://chat.example.com"}
        preflight = requests.options(
            self.emulator.url("/realtime/v1/sessions/chat-1/in/append"),
            headers={**origin, "Access-Control-Request-Method": "POST"},
            timeout=5,
        )
        self.assertLess(preflight.status_code, 300)
        self.assertEqual(preflight.headers["Access-Control-Allow-Origin"], origin["Origin"])
        sent = self.request(
            "POST",
            "/realtime/v1/sessions/chat-1/in/append",
            token=created.public_access_token,
            data=b"hi",
            headers=origin,
        )
        self.assertEqual(sent.status_code, 200)
        self.assertIn("Access-Control-Allow-Origin", sent.headers)

    def test_the_api_refuses_a_reserved_external_id(self):
        reply = self.request(
            "POST",
            "/api/v1/sessions",
            json={
                "type": "t",
                "taskIdentifier": "send-email",
                "triggerConfig": {"basePayload": {}},
                "externalId": "session_abc",
            },
        )
        self.assertEqual(reply.status_code, 400)
        self.assertIn("reserved prefix", reply.json()["error"])


class SessionReadCase(ClientTestCase):
    """``sessions.read``: following a channel over server-sent events as the SDK's
    ``out.read()``, bounded in time, resumed after a cut, no thread or connection left."""

    OUT = "/realtime/v1/sessions/echo-1/out"

    def setUp(self) -> None:
        super().setUp()
        self.session = self.trigger.sessions.start(
            "send-email", type="emulator-echo", external_id="echo-1"
        )
        self.threads_before = set(threading.enumerate())
        self.journal.clear()

    def assert_no_thread_left(self) -> None:
        """Every thread alive now that was not before serves the emulator's connections
        (werkzeug's ``process_request_thread``): the reader starts none."""
        started = set(threading.enumerate()) - self.threads_before
        self.assertEqual([t.name for t in started if "process_request" not in t.name], [])

    def open_connections(self) -> int:
        return len(self.emulator._server.connections)

    def subscriptions(self) -> list:
        return [e for e in self.journal.entries if e.path == self.OUT]


class SessionReadTests(SessionReadCase):
    def test_follows_a_scripted_agent_until_its_turn_completes(self):
        self.trigger.sessions.send_input("echo-1", "hello big world")
        reader = self.trigger.sessions.read("echo-1", until_turn_complete=True)
        records = list(reader)
        self.assertEqual(
            [r.value for r in records[:3]],
            [{"type": "text-delta", "delta": w} for w in ("hello", "big", "world")],
        )
        self.assertEqual(records[-1].control, "turn-complete")
        self.assertEqual([r.seq_num for r in records], [0, 1, 2, 3])
        self.assertEqual(reader.last_seq_num, 3)
        self.assertTrue(reader.closed)
        # One SSE answer, as the SDK asks for it; nothing polled.
        (first,) = self.subscriptions()
        self.assertEqual(first.headers["accept"], "text/event-stream")
        self.assertEqual(first.headers["timeout-seconds"], "5")
        self.assertNotIn("last-event-id", first.headers)
        self.assertEqual(first.response_headers["x-stream-version"], "v2")
        self.assertEqual(self.journal.count(path=self.OUT + "/records"), 0)
        self.assert_no_thread_left()
        # The next turn, resumed after the last record read (Last-Event-ID).
        self.trigger.sessions.send_input("echo-1", "again")
        more = self.trigger.sessions.read(
            "echo-1", after=reader.last_seq_num, until_turn_complete=True
        )
        self.assertEqual([r.seq_num for r in more], [4, 5])
        self.assertEqual(self.subscriptions()[-1].headers["last-event-id"], "3")

    def test_ends_when_the_session_closes_after_what_was_written(self):
        short_stream_waits(self, self.emulator)  # the first answer's idle end is not timed
        self.trigger.sessions.append_output("echo-1", "before")
        # The check after the first idle answer is held while a last record is written and
        # the session closed, then released: only the final drain (the records route) can
        # return that record.
        self.emulator.faults.stall_next(1, 25.0, path="/api/v1/sessions/echo-1", method="GET")
        writer = self.make_client()

        def write_then_close() -> None:
            if wait_until(lambda: self.emulator.faults.pending == 0, timeout=30):
                writer.sessions.append_output("echo-1", "after")
                writer.sessions.close("echo-1")
                self.emulator.faults.release_stalls()

        thread = threading.Thread(target=write_then_close)
        thread.start()
        self.addCleanup(thread.join)
        patient = self.make_client(timeout=30.0)  # waits through the stalled retrieve
        reader = patient.sessions.read("echo-1", timeout=30, check_every=1)
        self.assertEqual([r.value for r in reader], ["before", "after"])
        self.assertEqual(len(self.subscriptions()), 1)
        drain = self.journal.entries[-1]
        self.assertEqual(drain.path, self.OUT + "/records")
        self.assertEqual(drain.query["afterEventId"], ["0"])

    def test_a_closed_session_is_read_to_its_end(self):
        short_stream_waits(
            self, self.emulator
        )  # the read ends at the idle end, once it sees the close
        self.trigger.sessions.append_output("echo-1", "last words")
        self.trigger.sessions.close("echo-1")
        started = time.monotonic()
        records = list(self.trigger.sessions.read("echo-1", check_every=1))
        self.assertEqual([r.value for r in records], ["last words"])
        self.assertLess(time.monotonic() - started, 10)
        # Input is refused once closed (the API's error, before anything is written).
        with self.assertRaisesMessage(BadRequestError, "Cannot append to a closed session"):
            self.trigger.sessions.send_input("echo-1", "too late")

    def test_ends_after_the_idle_timeout(self):
        started = time.monotonic()
        records = list(self.trigger.sessions.read("echo-1", timeout=2, check_every=1))
        elapsed = time.monotonic() - started
        self.assertEqual(records, [])
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 10)
        # An answer per idle second, each followed by a look at the session: bounded.
        self.assertLessEqual(len(self.subscriptions()), 3)
        self.assertEqual(
            len(self.subscriptions()), self.journal.count(path="/api/v1/sessions/echo-1")
        )

    def test_a_cut_stream_resumes_after_its_last_record(self):
        # The clock is frozen until the reconnect: the first answer has record 0 only.
        clock = self.emulator.state.clock
        clock.freeze()
        self.trigger.sessions.append_output("echo-1", "a")
        self.trigger.sessions.send_input("echo-1", "b c")  # answered at +0.1 s, +0.2 s…
        self.emulator.faults.cut_next(1, after_chunks=1, path=self.OUT)

        def release() -> None:
            if wait_until(lambda: len(self.subscriptions()) >= 2, timeout=30):
                clock.advance(1)

        thread = threading.Thread(target=release)
        thread.start()
        self.addCleanup(thread.join)
        reader = self.trigger.sessions.read("echo-1", until_turn_complete=True)
        values = [r.value for r in reader]
        self.assertEqual(
            values,
            ["a", {"type": "text-delta", "delta": "b"}, {"type": "text-delta", "delta": "c"}, ""],
        )
        self.assertEqual(self.subscriptions()[0].fault, "cut")
        self.assertEqual(self.subscriptions()[1].headers["last-event-id"], "0")

    def test_a_named_channel_and_a_public_token(self):
        self.trigger.sessions.append_output("echo-1", "side", channel="tools")
        self.journal.clear()
        token = self.session.public_access_token
        reader = self.make_client(token).sessions.read("echo-1", channel="tools", timeout=1)
        self.assertEqual([r.value for r in reader], ["side"])
        self.assertEqual(
            self.journal.entries[0].path, "/realtime/v1/sessions/echo-1/channels/tools/out"
        )

    def test_close_stops_it_and_leaves_no_connection(self):
        self.trigger.close()
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))
        self.trigger.sessions.append_output("echo-1", "one")
        self.trigger.sessions.append_output("echo-1", "two")
        self.trigger.close()
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))
        for how in ("with", "gc"):
            with self.subTest(how=how):
                if how == "with":
                    with self.trigger.sessions.read("echo-1", timeout=30) as reader:
                        self.assertEqual(next(reader).value, "one")
                        self.assertTrue(wait_until(lambda: self.open_connections() == 1))
                    self.assertEqual(list(reader), [])  # closed: what was read ahead is dropped
                else:
                    reader = self.trigger.sessions.read("echo-1", timeout=30)
                    self.assertEqual(next(reader).value, "one")
                    del reader
                    gc.collect()
                self.assertTrue(wait_until(lambda: self.open_connections() == 0))
        self.assert_no_thread_left()

    def test_errors_and_bad_arguments(self):
        with self.assertRaises(NotFoundError):
            next(self.trigger.sessions.read("session_doesnotexist"))
        self.trigger.sessions.append_output("echo-1", "x" * 5000)
        with self.assertRaisesMessage(StreamError, "larger than 1,024 bytes"):
            next(self.trigger.sessions.read("echo-1", max_event_bytes=1024))
        self.journal.clear()
        for bad, message in (
            ({"timeout": 0}, "timeout must be a number of seconds from 1 to 600"),
            ({"check_every": 0.5}, "check_every must be a number of seconds from 1 to 600"),
            ({"after": -1}, "after must be a sequence number"),
            ({"channel": "a b"}, "invalid session channel name"),
            ({"io": "both"}, "io must be 'in' or 'out'"),
            ({"max_reconnects": -1}, "max_reconnects must be from 0 to 100"),
        ):
            with self.subTest(bad=bad), self.assertRaisesMessage(InvalidRequestError, message):
                self.trigger.sessions.read("echo-1", **bad)
        self.assertEqual(self.journal.count(), 0)


class AsyncSessionReadTests(SessionReadCase):
    def make_async(self) -> AsyncTriggerClient:
        return AsyncTriggerClient(
            self.emulator.secret_key,
            base_url=self.emulator.base_url,
            project_ref=self.emulator.project_ref,
            retry=FAST_RETRY,
            timeout=5.0,
        )

    def test_async_for_until_the_turn_completes_and_the_close(self):
        short_stream_waits(self, self.emulator)  # the read ends at the idle end after the close
        self.trigger.sessions.send_input("echo-1", "hi there")

        async def main() -> list:
            client = self.make_async()
            try:
                reader = client.sessions.read("echo-1", until_turn_complete=True)
                first = [(r.value, r.control) async for r in reader]
                closer = asyncio.ensure_future(client.sessions.close("echo-1"))
                rest = [
                    r
                    async for r in client.sessions.read(
                        "echo-1", after=reader.last_seq_num, check_every=1
                    )
                ]
                await closer
                return [first, rest]
            finally:
                await client.aclose()

        first, rest = asyncio.run(main())
        self.assertEqual(
            first,
            [
                ({"type": "text-delta", "delta": "hi"}, None),
                ({"type": "text-delta", "delta": "there"}, None),
                ("", "turn-complete"),
            ],
        )
        self.assertEqual(rest, [])
        self.trigger.close()  # its pooled connection (send_input)
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))

    def test_aclose_and_cancellation_close_the_connection(self):
        self.trigger.sessions.append_output("echo-1", "a")
        self.trigger.close()
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))

        async def main() -> None:
            client = self.make_async()
            try:
                async with client.sessions.read("echo-1", timeout=30) as reader:
                    self.assertEqual((await reader.__anext__()).value, "a")
                    self.assertTrue(wait_until(lambda: self.open_connections() == 1))
                self.assertTrue(reader.closed)
                other = client.sessions.read("echo-1", timeout=30)
                self.assertEqual((await other.__anext__()).value, "a")
                task = asyncio.ensure_future(other.__anext__())
                await asyncio.sleep(0.1)  # let it wait for the next record
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
            finally:
                await client.aclose()

        asyncio.run(main())
        self.assertTrue(wait_until(lambda: self.open_connections() == 0))
