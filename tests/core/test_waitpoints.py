"""``client.waitpoints`` against the emulator over real HTTP: typed records, the request count
of each call, retries, and bad input refused before anything is sent."""

from __future__ import annotations

import datetime as dt

from django_trigger.exceptions import (
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    WaitpointTimedOutError,
)
from django_trigger.types import WaitpointTokenStatus

from .base import ClientTestCase

TOKENS = "/api/v1/waitpoints/tokens"


class WaitpointClientTests(ClientTestCase):
    def requests_made(self) -> int:
        return len(self.journal.entries)

    def test_create_retrieve_complete(self):
        created = self.trigger.waitpoints.create_token(timeout="1h", tags=["user:1"])
        self.assertFalse(created.is_cached)
        self.assertTrue(created.url.startswith(self.emulator.base_url + TOKENS))
        self.assertTrue(created.public_access_token)
        self.assertNotIn(created.url, repr(created))
        self.assertNotIn(created.public_access_token, repr(created))
        token = self.trigger.waitpoints.retrieve_token(created.id)
        self.assertIs(token.status, WaitpointTokenStatus.WAITING)
        self.assertTrue(token.is_waiting)
        self.assertEqual(token.tags, ["user:1"])
        self.assertEqual(token.timeout_at - token.created_at, dt.timedelta(hours=1))
        self.assertIsNone(token.data)

        self.journal.clear()
        done = self.trigger.waitpoints.complete_token(created.id, {"approved": True, "by": "ann"})
        self.assertEqual(self.requests_made(), 2)  # the POST and the GET that checks it
        self.assertIs(done.status, WaitpointTokenStatus.COMPLETED)
        self.assertEqual(done.data, {"approved": True, "by": "ann"})
        self.assertIsNotNone(done.completed_at)
        post = self.journal.last(method="POST")
        self.assertEqual(post.body, {"data": {"approved": True, "by": "ann"}})

    def test_create_sends_what_the_sdk_sends(self):
        when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
        self.trigger.waitpoints.create_token(
            timeout=dt.timedelta(minutes=5),
            idempotency_key="order-42",
            idempotency_key_ttl="1d",
            tags="vip",
        )
        self.assertEqual(
            self.journal.last(method="POST").body,
            {
                "timeout": "300s",
                "idempotencyKey": "order-42",
                "idempotencyKeyTTL": "1d",
                "tags": ["vip"],
            },
        )
        self.trigger.waitpoints.create_token(timeout=when)
        self.assertEqual(self.journal.last(method="POST").body, {"timeout": when.isoformat()})

    def test_idempotency_key_returns_the_same_token(self):
        first = self.trigger.waitpoints.create_token(idempotency_key="approve-7")
        again = self.trigger.waitpoints.create_token(idempotency_key="approve-7")
        self.assertEqual((again.id, again.is_cached), (first.id, True))

    def test_a_lost_create_answer_with_a_key_is_retried_without_a_second_token(self):
        self.emulator.faults.drop_next(1, after_processing=True, method="POST", path=TOKENS)
        created = self.trigger.waitpoints.create_token(idempotency_key="k-1")
        self.assertTrue(created.is_cached)
        with self.emulator.state.lock:
            self.assertEqual(len(self.emulator.state.waitpoints.tokens), 1)

    def test_a_lost_create_answer_without_a_key_is_not_retried(self):
        self.emulator.faults.drop_next(1, after_processing=True, method="POST", path=TOKENS)
        with self.assertRaises(OutcomeUnknownError):
            self.trigger.waitpoints.create_token()
        with self.emulator.state.lock:
            self.assertEqual(len(self.emulator.state.waitpoints.tokens), 1)

    def test_complete_is_retried_after_a_lost_answer(self):
        created = self.trigger.waitpoints.create_token()
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        done = self.trigger.waitpoints.complete_token(created.id, "yes")
        self.assertEqual(done.data, "yes")

    def test_completing_twice_keeps_the_first_data(self):
        created = self.trigger.waitpoints.create_token()
        self.trigger.waitpoints.complete_token(created.id, {"approved": True})
        again = self.trigger.waitpoints.complete_token(created.id, {"approved": False})
        self.assertEqual(again.data, {"approved": True})

    def test_completing_a_timed_out_token_is_an_error_and_stores_nothing(self):
        created = self.trigger.waitpoints.create_token(timeout="30s")
        self.emulator.clock.advance(31)
        with self.assertRaises(WaitpointTimedOutError) as caught:
            self.trigger.waitpoints.complete_token(created.id, {"approved": True})
        self.assertIn(created.id, str(caught.exception))
        self.assertIn("timed out at", str(caught.exception))
        token = self.trigger.waitpoints.retrieve_token(created.id)
        self.assertIs(token.status, WaitpointTokenStatus.TIMED_OUT)
        self.assertIsNone(token.data)
        self.assertIn("Waitpoint timed out at", token.error_message)

    def test_unknown_tokens(self):
        with self.assertRaises(NotFoundError):
            self.trigger.waitpoints.complete_token("waitpoint_unknown1", {})
        self.assertEqual(self.journal.count(method="GET"), 0)  # no check after a refusal
        self.journal.clear()
        with self.assertRaises(InternalServerError):  # the real loader's answer
            self.trigger.waitpoints.retrieve_token("waitpoint_unknown1")
        self.assertEqual(self.requests_made(), self.trigger.retry.max_attempts)

    def test_bad_input_is_refused_before_sending(self):
        wp = self.trigger.waitpoints
        cases = [
            (lambda: wp.retrieve_token("run_123"), "not a valid waitpoint"),
            (lambda: wp.complete_token("../tokens", {}), "not a valid waitpoint"),
            (lambda: wp.complete_token("waitpoint_x", {1, 2}), "JSON-serializable"),
            (lambda: wp.create_token(timeout="soon"), "timeout must be a duration"),
            (
                lambda: wp.create_token(timeout=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)),
                "in the past",
            ),
            (
                lambda: wp.create_token(idempotency_key="k", idempotency_key_ttl="1w"),
                "idempotency_key_ttl must look like",
            ),
            (lambda: wp.create_token(idempotency_key_ttl="1h"), "needs an idempotency_key"),
            (lambda: wp.create_token(idempotency_key="k" * 2049), "2048"),
            (lambda: wp.create_token(tags=[f"t{i}" for i in range(11)]), "at most 10"),
            (lambda: wp.list_tokens(status="DONE"), "unknown waitpoint token status DONE"),
            (lambda: wp.list_tokens(period="1h", from_=0), "period or from_/to"),
            (lambda: wp.list_tokens(after="a", before="b"), "either after or before"),
        ]
        for call, message in cases:
            with self.subTest(message), self.assertRaisesRegex(InvalidRequestError, message):
                call()
        self.assertEqual(self.requests_made(), 0)

    def test_list_pages_and_filters(self):
        ids = [self.trigger.waitpoints.create_token(tags=[f"n:{i % 2}"]).id for i in range(5)]
        self.trigger.waitpoints.complete_token(ids[0], 1)
        self.journal.clear()
        page = self.trigger.waitpoints.list_tokens(limit=2)
        self.assertEqual([t.id for t in page.data], ids[::-1][:2])
        self.assertEqual([t.id for t in page], ids[::-1])  # walks every page
        self.assertEqual(self.journal.count(method="GET", path=TOKENS), 3)
        waiting = self.trigger.waitpoints.list_tokens(
            status=WaitpointTokenStatus.WAITING, tags=["n:0"]
        )
        self.assertEqual({t.id for t in waiting}, {ids[2], ids[4]})
        self.assertEqual(self.journal.last(method="GET").query["filter[status]"], ["WAITING"])
        completed = list(
            self.trigger.waitpoints.list_tokens(status=["COMPLETED", "TIMED_OUT"], period="1h")
        )
        self.assertEqual([t.id for t in completed], [ids[0]])

    def test_raw_response(self):
        created = self.trigger.waitpoints.create_token()
        raw = self.trigger.waitpoints.with_raw_response.complete_token(created.id, 1)
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.parse().success, True)
