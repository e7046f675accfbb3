"""``client.webhooks.create_waiter`` / ``cancel_waiter`` against the emulator over real HTTP:
the body the SDK sends (a hashed or random idempotency key, always), a waiter completed by a
matching delivery, cancelling (and too late), unknown endpoints, bad input refused before
sending."""

from __future__ import annotations

import datetime as dt
import hashlib

import requests

from django_trigger.exceptions import (
    InvalidRequestError,
    NotFoundError,
    UnprocessableEntityError,
)

from .base import ClientTestCase


class WebhookWaiterTests(ClientTestCase):
    def endpoint(self, webhook: str = "stripe-payments"):
        return next(e for e in self.trigger.webhooks.list_endpoints() if e.webhook == webhook)

    def deliver(self, webhook: str, event, headers=None):
        state = self.emulator.state
        with state.lock:
            endpoint = next(e for e in state.webhooks.endpoints.values() if e.webhook == webhook)
            return state.webhooks.add_delivery(endpoint, event=event, headers=headers)

    def test_create_sends_a_key_and_the_matching_delivery_completes_it(self):
        endpoint = self.endpoint()
        waiter = self.trigger.webhooks.create_waiter(
            endpoint.id,
            match={"event.data.metadata.orderId": "o-42", "event.type": "payment.succeeded"},
            timeout="1h",
            tags=["order"],
        )
        self.assertTrue(waiter.id.startswith("waitpoint_"))
        self.assertFalse(waiter.is_cached)
        self.assertIsNone(waiter.url)
        post = self.journal.last(method="POST")
        self.assertEqual(post.path, f"/api/v1/webhooks/endpoints/{endpoint.id}/waiters")
        self.assertEqual(len(post.body["idempotencyKey"]), 36)  # a random UUID when none given
        self.assertEqual(post.body["timeout"], "1h")
        self.deliver("stripe-payments", {"type": "payment.succeeded", "data": {"metadata": {}}})
        self.deliver("github-push", {"type": "payment.succeeded"})  # another endpoint
        self.assertTrue(self.trigger.waitpoints.retrieve_token(waiter.id).is_waiting)
        hit = self.deliver(
            "stripe-payments",
            {"type": "payment.succeeded", "data": {"metadata": {"orderId": "o-42"}}},
        )
        done = self.trigger.waitpoints.retrieve_token(waiter.id)
        self.assertEqual(done.status.value, "COMPLETED")
        self.assertEqual(done.data["deliveryId"], hit.friendly_id)
        self.assertEqual(done.data["event"]["data"]["metadata"]["orderId"], "o-42")
        late = self.trigger.webhooks.cancel_waiter(waiter.id)
        self.assertEqual(
            (late.cancelled, late.reason, late.delivery_id), (False, "too_late", hit.friendly_id)
        )

    def test_by_declared_id_headers_and_a_url_matched_waiter(self):
        waiter = self.trigger.webhooks.create_waiter(
            "github-push", match={"header.x-github-event": "push", "webhook.source": "github"}
        )
        self.deliver("github-push", {"ref": "main"}, headers={"X-GitHub-Event": "ping"})
        self.assertTrue(self.trigger.waitpoints.retrieve_token(waiter.id).is_waiting)
        self.deliver("github-push", {"ref": "main"}, headers={"X-GitHub-Event": "push"})
        self.assertFalse(self.trigger.waitpoints.retrieve_token(waiter.id).is_waiting)
        by_url = self.trigger.webhooks.create_waiter("github-push")
        self.assertIn(f"/waiters/{by_url.id}", by_url.url)
        self.assertNotIn(by_url.url, repr(by_url))

    def test_a_delivery_before_the_waiter_does_not_count(self):
        self.deliver("stripe-payments", {"type": "x"})
        waiter = self.trigger.webhooks.create_waiter("stripe-payments", match={"event.type": "x"})
        self.assertTrue(self.trigger.waitpoints.retrieve_token(waiter.id).is_waiting)

    def test_the_idempotency_key_is_hashed_as_the_sdk_does(self):
        first = self.trigger.webhooks.create_waiter("stripe-payments", idempotency_key="order-42")
        self.assertEqual(
            self.journal.last(method="POST").body["idempotencyKey"],
            hashlib.sha256(b"order-42").hexdigest(),
        )
        again = self.trigger.webhooks.create_waiter("stripe-payments", idempotency_key="order-42")
        self.assertEqual((again.id, again.is_cached), (first.id, True))
        self.trigger.webhooks.create_waiter(
            "stripe-payments", idempotency_key=["order", "42"], idempotency_key_ttl="1h"
        )
        body = self.journal.last(method="POST").body
        self.assertEqual(body["idempotencyKey"], hashlib.sha256(b"order-42").hexdigest())
        self.assertEqual(body["idempotencyKeyTTL"], "1h")

    def test_a_lost_answer_is_retried_with_the_same_key(self):
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        waiter = self.trigger.webhooks.create_waiter("stripe-payments", match={"event.type": "x"})
        posts = [e for e in self.journal.entries if e.method == "POST"]
        self.assertEqual(len(posts), 2)
        self.assertEqual(posts[0].body["idempotencyKey"], posts[1].body["idempotencyKey"])
        self.assertTrue(waiter.is_cached)  # the lost attempt's waiter

    def test_cancel(self):
        waiter = self.trigger.webhooks.create_waiter("stripe-payments", match={"event.type": "x"})
        self.assertTrue(self.trigger.webhooks.cancel_waiter(waiter.id).cancelled)
        self.assertTrue(self.trigger.webhooks.cancel_waiter(waiter.id).cancelled)  # again
        self.deliver("stripe-payments", {"type": "x"})
        token = self.trigger.waitpoints.retrieve_token(waiter.id)
        self.assertIn("WebhookWaiterCancelledError", token.output)
        with self.assertRaises(NotFoundError):
            self.trigger.webhooks.cancel_waiter("waitpoint_doesnotexist")

    def test_the_api_refusals(self):
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.webhooks.create_waiter("no-such-webhook")
        self.assertEqual(caught.exception.code, "webhook_endpoint_not_found")
        with self.assertRaises(UnprocessableEntityError) as caught:
            self.trigger.webhooks.create_waiter("stripe-payments", timeout="100d")
        self.assertEqual(caught.exception.code, "webhook_waiter_limit")
        reply = requests.post(
            self.emulator.url("/api/v1/webhooks/endpoints/stripe-payments/waiters"),
            json={"match": {"event.x": [1]}},
            headers={"Authorization": f"Bearer {self.emulator.secret_key}"},
            timeout=5,
        )
        self.assertEqual(reply.status_code, 400)
        self.assertEqual(reply.json()["code"], "invalid_request")

    def test_bad_input_is_refused_before_sending(self):
        self.journal.clear()
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        for bad in (
            {"match": {}},
            {"match": {"event.x": [1]}},
            {"match": {"": "v"}},
            {"filter": " "},
            {"timeout": past},
            {"timeout": "soon"},
            {"tags": ["x"] * 11},
            {"idempotency_key": ""},
            {"idempotency_key": "k", "idempotency_key_ttl": "forever"},
            {"idempotency_key_ttl": "1h"},
        ):
            with self.subTest(bad=bad), self.assertRaises(InvalidRequestError):
                self.trigger.webhooks.create_waiter("stripe-payments", **bad)
        with self.assertRaises(InvalidRequestError):
            self.trigger.webhooks.cancel_waiter("not-a-waitpoint")
        self.assertEqual(self.journal.count(), 0)
