"""``client.webhooks`` over HTTP: the hosted webhook endpoints and deliveries the emulator
seeds, secret rotation (the secret kept out of reprs), pages, replays and bad input."""

from __future__ import annotations

import datetime as dt
import logging

import requests

from django_trigger.exceptions import InvalidRequestError, NotFoundError

from .base import ClientTestCase


class WebhooksApiTests(ClientTestCase):
    def store(self):
        return self.emulator.state.webhooks

    def stripe(self):
        endpoints = self.trigger.webhooks.list_endpoints(webhook="stripe-payments")
        self.assertEqual(len(endpoints), 1)
        return endpoints[0]

    def test_endpoints(self):
        endpoints = self.trigger.webhooks.list_endpoints()
        self.assertEqual([e.webhook for e in endpoints], ["github-push", "stripe-payments"])
        stripe = self.stripe()
        self.assertRegex(stripe.id, r"^wh_")
        self.assertEqual(
            (stripe.source, stripe.status, stripe.secret_set), ("stripe", "active", False)
        )
        self.assertIn("/webhooks/v1/ingest/", stripe.url)
        self.assertNotIn(stripe.url, repr(stripe))
        self.assertEqual(self.trigger.webhooks.retrieve_endpoint(stripe.id).id, stripe.id)
        self.assertEqual(len(self.journal), 3)

    def test_disable_and_enable(self):
        stripe = self.stripe()
        self.assertEqual(self.trigger.webhooks.disable_endpoint(stripe.id).status, "inactive")
        self.assertEqual(self.trigger.webhooks.disable_endpoint(stripe.id).status, "inactive")
        self.assertEqual(self.trigger.webhooks.enable_endpoint(stripe.id).status, "active")

    def test_rotate_secret(self):
        stripe = self.stripe()
        with self.assertLogs("django_trigger", logging.DEBUG) as logs:
            answer = self.trigger.webhooks.rotate_endpoint_secret(stripe.id, confirm=True)
        secret = str(answer.secret)
        self.assertRegex(secret, r"^whsec_[0-9a-f]{64}$")
        self.assertNotIn(secret, repr(answer))
        self.assertNotIn(secret, "\n".join(logs.output))
        self.assertTrue(self.trigger.webhooks.retrieve_endpoint(stripe.id).secret_set)
        again = self.trigger.webhooks.rotate_endpoint_secret(stripe.id, confirm=True)
        self.assertNotEqual(str(again.secret), secret)

    def test_rotation_needs_confirm(self):
        for confirm in (False, "yes"):
            with self.assertRaisesRegex(InvalidRequestError, "pass confirm=True"):
                self.trigger.webhooks.rotate_endpoint_secret("wh_abc", confirm=confirm)
        self.assertEqual(len(self.journal), 0)

    def test_deliveries_pages_and_filters(self):
        stripe = self.stripe()
        with self.emulator.state.lock:
            endpoint = self.store().endpoints[stripe.id]
            for n in range(5):
                self.store().add_delivery(endpoint, event={"n": n})
        self.journal.clear()
        page = self.trigger.webhooks.list_deliveries(limit=3)
        self.assertEqual(len(page.data), 3)
        everything = list(page)  # walks the pages
        self.assertEqual(len(everything), 8)
        self.assertEqual(len(self.journal), 3)
        created = [d.created_at for d in everything]
        self.assertEqual(created, sorted(created, reverse=True))
        failed = self.trigger.webhooks.list_deliveries(status="failed")
        self.assertEqual([d.status for d in failed.data], ["failed"])
        github = self.trigger.webhooks.list_deliveries(webhook="github-push")
        self.assertEqual([d.webhook for d in github.data], ["github-push"])
        recent = self.trigger.webhooks.list_deliveries(period="1h")
        self.assertEqual(len(recent.data), 5)
        older = self.trigger.webhooks.list_deliveries(
            to=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        )
        self.assertEqual(len(older.data), 3)

    def test_delivery_detail_and_replay(self):
        failed = self.trigger.webhooks.list_deliveries(status="failed").data[0]
        detail = self.trigger.webhooks.retrieve_delivery(failed.id)
        self.assertEqual(
            (detail.event, detail.error), ({"type": "charge.failed"}, "Task run failed")
        )
        self.assertNotIn("charge.failed", repr(detail))
        replay = self.trigger.webhooks.replay_delivery(failed.id)
        self.assertEqual(replay.replayed_from, failed.id)
        copy = self.trigger.webhooks.retrieve_delivery(replay.delivery_id)
        self.assertEqual((copy.status, copy.event), ("pending", {"type": "charge.failed"}))

    def test_unknown_ids(self):
        with self.assertRaises(NotFoundError):
            self.trigger.webhooks.retrieve_endpoint("wh_unknown")
        with self.assertRaises(NotFoundError):
            self.trigger.webhooks.disable_endpoint("wh_unknown")
        with self.assertRaises(NotFoundError):
            self.trigger.webhooks.replay_delivery("whd_unknown")

    def test_bad_input_is_refused_before_sending(self):
        hooks = self.trigger.webhooks
        for call, message in (
            (lambda: hooks.retrieve_endpoint("whd_x"), "not a valid webhook endpoint"),
            (lambda: hooks.retrieve_delivery("wh_x"), "not a valid webhook delivery"),
            (lambda: hooks.replay_delivery("../x"), "not a valid webhook delivery|not allowed"),
            (lambda: hooks.list_deliveries(status="done"), "unknown delivery status done"),
            (lambda: hooks.list_deliveries(limit=101), "limit must be"),
            (lambda: hooks.list_deliveries(period="soon"), "period"),
            (lambda: hooks.list_deliveries(after="a", before="b"), "either after or before"),
            (lambda: hooks.list_endpoints(webhook=["a,b"]), "commas"),
        ):
            with self.subTest(message), self.assertRaisesRegex(InvalidRequestError, message):
                call()
        self.assertEqual(len(self.journal), 0)

    def test_the_routes_validate(self):
        """The emulator is no kinder than the routes for a client that does not check."""
        url = f"{self.emulator.base_url}/api/v1/webhooks/deliveries"
        headers = {"Authorization": f"Bearer {self.emulator.secret_key}"}
        answer = requests.get(url, params={"filter[status]": "done"}, headers=headers, timeout=5)
        self.assertEqual((answer.status_code, answer.json()["error"]), (400, "Query Error"))
        answer = requests.get(url, params={"page[size]": "0"}, headers=headers, timeout=5)
        self.assertEqual(answer.status_code, 400)
        pat = {"Authorization": f"Bearer {self.emulator.access_token}"}
        self.assertEqual(requests.get(url, headers=pat, timeout=5).status_code, 401)
