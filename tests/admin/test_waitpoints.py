"""Waitpoint tokens in the admin: one API request per changelist page, the filters, the detail
page (never the callback URL), and the complete action with its permission and outcomes."""

from __future__ import annotations

from django.contrib.admin import helpers

from django_trigger import get_client

from .base import AdminTestCase

TOKENS = "/api/v1/waitpoints/tokens"


class WaitpointAdminTests(AdminTestCase):
    def setUp(self) -> None:
        super().setUp()
        wp = get_client().waitpoints
        self.waiting = wp.create_token(tags=["order:1"], timeout="1h")
        self.other = wp.create_token(tags=["order:2"])
        self.done = wp.create_token()
        wp.complete_token(self.done.id, {"approved": True})
        self.journal.clear()

    def changelist(self, **params):
        return self.client.get(self.url("waitpointtoken_changelist"), params)

    def post_action(self, ids, **extra):
        data = {"action": "complete_selected", helpers.ACTION_CHECKBOX_NAME: ids, **extra}
        return self.client.post(self.url("waitpointtoken_changelist"), data)

    def test_changelist_is_one_request_per_page(self):
        response = self.changelist()
        self.assertEqual(response.status_code, 200)
        for token in (self.waiting, self.other, self.done):
            self.assertContains(response, token.id)
        self.assertEqual(self.api_requests(), [("GET", TOKENS)])
        self.assertNotContains(response, "/callback/")

    def test_filters_go_to_the_api(self):
        response = self.changelist(status="WAITING", tag="order:1")
        self.assertContains(response, self.waiting.id)
        self.assertNotContains(response, self.other.id)
        self.assertNotContains(response, self.done.id)
        query = self.journal.last(method="GET").query
        self.assertEqual(
            (query["filter[status]"], query["filter[tags]"]), (["WAITING"], ["order:1"])
        )
        self.assertEqual(self.changelist(status="DONE").status_code, 302)  # ?e=1

    def test_detail_shows_the_data_and_not_the_url(self):
        response = self.client.get(self.url("waitpointtoken_change", self.done.id))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "approved")
        self.assertNotContains(response, "/callback/")
        self.assertEqual(self.api_requests(), [("GET", f"{TOKENS}/{self.done.id}")])

    def test_complete_asks_then_completes(self):
        confirm = self.post_action([self.waiting.id])
        self.assertContains(confirm, "Data (JSON)")
        self.assertEqual(self.api_requests(), [])  # nothing sent before confirming
        response = self.post_action(
            [self.waiting.id, self.done.id], post="yes", data='{"approved": false}'
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(len(self.api_requests()), 4)  # two per token
        token = get_client().waitpoints.retrieve_token(self.waiting.id)
        self.assertEqual(token.data, {"approved": False})
        again = get_client().waitpoints.retrieve_token(self.done.id)
        self.assertEqual(again.data, {"approved": True})  # the first data stays

    def test_bad_json_sends_nothing(self):
        response = self.post_action([self.waiting.id], post="yes", data="{nope")
        self.assertContains(response, "Not valid JSON")
        self.assertEqual(self.api_requests(), [])

    def test_timed_out_tokens_are_reported(self):
        self.emulator.clock.advance(3601)
        response = self.client.post(
            self.url("waitpointtoken_changelist"),
            {
                "action": "complete_selected",
                helpers.ACTION_CHECKBOX_NAME: [self.waiting.id],
                "post": "yes",
                "data": "1",
            },
            follow=True,
        )
        self.assertContains(response, "Had already timed out")

    def test_the_permission(self):
        viewer = self.make_staff("viewer", "view_waitpointtoken")
        self.login(viewer)
        self.assertNotContains(self.changelist(), "complete_selected")
        self.journal.clear()
        self.post_action([self.waiting.id], post="yes", data="1")
        self.assertEqual([e for e in self.api_requests() if e[0] == "POST"], [])
        completer = self.make_staff("completer", "view_waitpointtoken", "complete_waitpointtoken")
        self.login(completer)
        self.assertContains(self.changelist(), "complete_selected")
