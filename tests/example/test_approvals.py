"""The example's approvals page over real HTTP to the emulator: waiting tokens listed in one
request, Approve / Reject behind CSRF and a permission, idempotent on a double click."""

from __future__ import annotations

import json

from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings

from django_trigger import get_client
from django_trigger.testing.alerts import build_payload, sign

from .base import ExampleTestCase

TOKENS = "/api/v1/waitpoints/tokens"


class ApprovalsTests(ExampleTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.grant(self.user, "view_waitpointtoken", "complete_waitpointtoken")
        wp = get_client().waitpoints
        self.order = wp.create_token(tags=["order:42"], timeout="1d")
        self.other = wp.create_token(tags=["order:7"])
        self.done = wp.create_token()
        wp.complete_token(self.done.id, {"approved": True, "by": "bob"})
        self.journal.clear()

    def grant(self, user: User, *codenames: str) -> None:
        for codename in codenames:
            user.user_permissions.add(Permission.objects.get(codename=codename))

    def decide(self, token_id: str, decision: str, client: Client | None = None, **kwargs):
        return (client or self.client).post(
            f"/approvals/{token_id}/", {"decision": decision}, follow=True, **kwargs
        )

    def recorded(self, token_id: str):
        data = get_client().waitpoints.retrieve_token(token_id).data
        self.journal.clear()
        return data

    def test_lists_waiting_tokens_in_one_request(self):
        response = self.client.get("/approvals/")
        self.assertContains(response, self.order.id)
        self.assertContains(response, self.other.id)
        self.assertNotContains(response, self.done.id)
        self.assertContains(response, 'value="approve"', count=2)
        self.assertEqual(self.api_calls(), [("GET", TOKENS)])
        self.assertEqual(self.journal.last().query["filter[status]"], ["WAITING"])
        tagged = self.client.get("/approvals/", {"tag": "order:42"})
        self.assertContains(tagged, self.order.id)
        self.assertNotContains(tagged, self.other.id)

    def test_approve_then_a_double_click(self):
        response = self.decide(self.order.id, "approve")
        self.assertContains(response, f"Approved {self.order.id}.")
        self.assertEqual(self.recorded(self.order.id), {"approved": True, "by": "alice"})
        again = self.decide(self.order.id, "approve")
        self.assertContains(again, f"Approved {self.order.id}.")
        self.assertEqual(self.recorded(self.order.id), {"approved": True, "by": "alice"})

    def test_a_later_different_decision_is_reported_not_stored(self):
        response = self.decide(self.done.id, "reject")
        self.assertContains(response, "had already been decided")
        self.assertContains(response, "by bob")
        self.assertEqual(self.recorded(self.done.id), {"approved": True, "by": "bob"})

    def test_timed_out_token(self):
        self.emulator.clock.advance(86_401)
        response = self.decide(self.order.id, "reject")
        self.assertContains(response, "had already timed out")
        self.assertIsNone(self.recorded(self.order.id))

    def test_unknown_token_and_bad_decisions(self):
        response = self.decide("waitpoint_nope", "approve")
        self.assertContains(response, "There is no waitpoint token")
        self.journal.clear()
        for token_id, decision in ((self.order.id, "maybe"), ("../admin", "approve")):
            with self.subTest(token_id=token_id, decision=decision):
                self.decide(token_id, decision)
        self.assertEqual([c for c in self.api_calls() if c[0] == "POST"], [])
        self.assertEqual(self.client.get(f"/approvals/{self.order.id}/").status_code, 405)

    def test_csrf_is_required(self):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(self.user)
        self.assertEqual(
            browser.post(f"/approvals/{self.order.id}/", {"decision": "approve"}).status_code, 403
        )
        page = browser.get("/approvals/")
        token = page.cookies["csrftoken"].value
        self.assertEqual(
            browser.post(
                f"/approvals/{self.order.id}/",
                {"decision": "approve", "csrfmiddlewaretoken": token},
            ).status_code,
            302,
        )
        self.assertEqual(self.recorded(self.order.id)["approved"], True)

    def test_permissions(self):
        viewer = User.objects.create_user("vic", "v@example.com", "pw")
        self.client.force_login(viewer)
        self.assertEqual(self.client.get("/approvals/").status_code, 403)
        self.grant(viewer, "view_waitpointtoken")
        viewer = User.objects.get(pk=viewer.pk)
        self.client.force_login(viewer)
        self.assertNotContains(self.client.get("/approvals/"), 'value="approve"')
        self.journal.clear()
        self.assertEqual(
            self.client.post(f"/approvals/{self.order.id}/", {"decision": "approve"}).status_code,
            403,
        )
        self.assertEqual(self.api_calls(), [])
        self.client.logout()
        self.assertEqual(self.client.get("/approvals/").status_code, 302)


class WebhookReceiverTests(ExampleTestCase):
    def test_the_example_receives_alerts(self):
        with self.emulator.state.lock:
            payload = build_payload(self.emulator.state, "alert.run.failed")
        body = json.dumps(payload).encode()
        setting = self.trigger_setting(WEBHOOK_SECRET="whsec_example")
        with override_settings(TRIGGER=setting), self.assertLogs("dashboard.alerts") as logs:
            response = self.client.post(
                "/trigger/webhooks/",
                body,
                content_type="application/json",
                headers={"x-trigger-signature-hmacsha256": sign(body, "whsec_example")},
            )
        self.assertEqual(response.status_code, 200)
        self.assertIn(payload["object"]["run"]["id"], logs.output[0])
