"""``client.streams.send_input`` against the emulator over real HTTP: the body the SDK sends,
the API's refusals (unknown run, finished run, scopes), no retry after sending, and bad input
refused before anything is sent."""

from __future__ import annotations

import time

from django_trigger.exceptions import (
    BadRequestError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
)
from django_trigger.resources.streams import MAX_INPUT_BYTES
from django_trigger.testing.jwt import public_access_token

from .base import ClientTestCase


class SendInputTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.run_id = self.trigger.tasks.trigger("send-email", {"to": "a@example.com"}).id
        self.journal.clear()

    def records(self, stream_id: str) -> list:
        with self.emulator.state.lock:
            return self.emulator.state.input_streams.records(self.run_id, stream_id)

    def test_send(self):
        self.assertIsNone(self.trigger.streams.send_input(self.run_id, "approval", {"ok": True}))
        self.trigger.streams.send_input(self.run_id, "approval", "again")
        self.assertEqual(len(self.journal.entries), 2)
        post = self.journal.last(method="POST")
        self.assertEqual(post.path, f"/realtime/v1/streams/{self.run_id}/input/approval")
        self.assertEqual(post.body, {"data": "again"})
        self.assertEqual([r["data"] for r in self.records("approval")], [{"ok": True}, "again"])
        raw = self.trigger.streams.with_raw_response.send_input(self.run_id, "approval", 1)
        self.assertEqual(raw.json(), {"ok": True})

    def test_refusals(self):
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.streams.send_input("run_doesnotexist", "approval", 1)
        self.assertIn("Run not found", str(caught.exception))
        with self.emulator.state.lock:
            finished = next(
                r
                for r in self.emulator.state.runs.in_environment(
                    self.emulator.state.environment_for_key(self.emulator.secret_key).id
                )
                if r.completed_at is not None
            )
        with self.assertRaises(BadRequestError) as caught:
            self.trigger.streams.send_input(finished.friendly_id, "approval", 1)
        self.assertIn("Cannot send to input stream on a completed run", str(caught.exception))

    def test_public_token_scope(self):
        writer = self.make_client(
            self.trigger.auth.create_public_token(scopes={"write": {"inputStreams": self.run_id}})
        )
        writer.streams.send_input(self.run_id, "approval", "yes")
        with self.emulator.state.lock:
            env_id = self.emulator.state.environment_for_key(self.emulator.secret_key).id
        token, _ = public_access_token(
            self.emulator.secret_key, env_id, [f"read:runs:{self.run_id}"], int(time.time())
        )
        with self.assertRaises(PermissionDeniedError):
            self.make_client(token).streams.send_input(self.run_id, "approval", "no")
        self.assertEqual([r["data"] for r in self.records("approval")], ["yes"])

    def test_not_retried_after_sending(self):
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        with self.assertRaises(OutcomeUnknownError):
            self.trigger.streams.send_input(self.run_id, "approval", "once")
        self.assertEqual(len(self.journal.entries), 1)
        self.assertEqual(len(self.records("approval")), 1)  # the lost attempt appended it

    def test_bad_input_is_refused_before_sending(self):
        big = "x" * MAX_INPUT_BYTES
        cases = [
            (lambda: self.trigger.streams.send_input("nope", "s", 1), "not a valid run"),
            (lambda: self.trigger.streams.send_input(self.run_id, "", 1), "must not be empty"),
            (lambda: self.trigger.streams.send_input(self.run_id, "..", 1), "not allowed"),
            (lambda: self.trigger.streams.send_input(self.run_id, "s", object()), "JSON value"),
            (lambda: self.trigger.streams.send_input(self.run_id, "s", float("inf")), "JSON value"),
            (lambda: self.trigger.streams.send_input(self.run_id, "s", big), "at most 1048576"),
        ]
        for call, message in cases:
            with self.subTest(message):
                with self.assertRaises(InvalidRequestError) as caught:
                    call()
                self.assertIn(message, str(caught.exception))
        self.assertEqual(self.journal.entries, [])
