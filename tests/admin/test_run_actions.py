"""Run actions: confirmation pages, POST with CSRF, permissions, bulk actions, messages naming
each run, and what reaches the API."""

from __future__ import annotations

import re

from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from django_trigger import get_client
from django_trigger.admin.runs import BULK_THRESHOLD

from .base import RUNS_LIST, AdminTestCase

CHECKBOX = helpers.ACTION_CHECKBOX_NAME


class RunActionTestCase(AdminTestCase):
    def runs_with_status(self, *statuses: str, limit: int = 100) -> list[str]:
        page = get_client().runs.list(status=list(statuses), limit=limit, from_=1)
        self.journal.clear()
        return [run.id for run in page.data]

    def status_of(self, run_id: str) -> str:
        status = str(get_client().runs.retrieve(run_id).status)
        self.journal.clear()
        return status

    def messages_of(self, response) -> list[str]:
        return [str(m) for m in get_messages(response.wsgi_request)]

    def changelist_post(self, action: str, ids: list[str], **extra):
        data = {"action": action, CHECKBOX: ids, **extra}
        return self.client.post(self.url("run_changelist"), data)


class DetailActionTests(RunActionTestCase):
    def test_cancel_from_the_detail_page(self):
        run_id = self.runs_with_status("QUEUED", "EXECUTING")[0]
        url = self.url("run_cancel", run_id)
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Cancel this run?")
        self.assertContains(response, run_id)
        self.assertContains(response, "csrfmiddlewaretoken")
        # Asking reads the run once (is it still cancellable?), nothing more.
        self.assertEqual(self.api_requests(), [("GET", f"/api/v3/runs/{run_id}")])
        self.journal.clear()

        response = self.client.post(url, {"post": "yes"})
        self.assertRedirects(
            response, self.url("run_change", run_id), fetch_redirect_response=False
        )
        self.assertEqual(
            self.api_requests(),
            [("GET", f"/api/v3/runs/{run_id}"), ("POST", f"/api/v2/runs/{run_id}/cancel")],
        )
        self.assertEqual(self.messages_of(response), [f"Cancelled run: {run_id}."])
        self.assertEqual(self.status_of(run_id), "CANCELED")

    def test_actions_are_offered_by_state(self):
        finished = self.runs_with_status("COMPLETED")[0]
        response = self.client.get(self.url("run_change", finished))
        self.assertNotContains(response, self.url("run_cancel", finished))
        self.assertNotContains(response, self.url("run_reschedule", finished))
        self.assertContains(response, self.url("run_replay", finished))
        self.assertContains(response, self.url("run_tag", finished))
        delayed = self.runs_with_status("DELAYED")[0]
        response = self.client.get(self.url("run_change", delayed))
        self.assertContains(response, self.url("run_cancel", delayed))
        self.assertContains(response, self.url("run_reschedule", delayed))

    def test_cancelling_a_cancelled_run_says_so_and_sends_nothing(self):
        run_id = self.runs_with_status("CANCELED")[0]
        for method in ("get", "post"):
            with self.subTest(method):
                self.journal.clear()
                response = getattr(self.client, method)(
                    self.url("run_cancel", run_id), {"post": "yes"}
                )
                self.assertRedirects(
                    response, self.url("run_change", run_id), fetch_redirect_response=False
                )
                self.assertEqual(
                    self.messages_of(response)[-1],
                    f"Did not cancel {run_id}: it has already finished (canceled), "
                    "there is nothing to cancel.",
                )
                self.assertEqual(self.journal.count(method="POST"), 0)

    def test_replay_names_the_new_run(self):
        run_id = self.runs_with_status("FAILED")[0]
        response = self.client.post(self.url("run_replay", run_id), {"post": "yes"})
        (message,) = self.messages_of(response)
        self.assertTrue(message.startswith(f"Replayed run: {run_id} as run_"), message)
        new_id = message.rsplit(" ", 1)[1].rstrip(".")
        self.assertNotEqual(new_id, run_id)
        self.assertEqual(self.status_of(new_id), "QUEUED")

    def test_reschedule_needs_a_valid_delay(self):
        run_id = self.runs_with_status("DELAYED")[0]
        url = self.url("run_reschedule", run_id)
        response = self.client.get(url)
        self.assertContains(response, 'name="delay"')
        for bad in ("", "soon", "2030-01-01T09:00:00", "-5m"):
            with self.subTest(delay=bad):
                response = self.client.post(url, {"post": "yes", "delay": bad})
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.context["form"].errors)
        self.assertEqual(self.journal.count(method="POST"), 0)
        response = self.client.post(url, {"post": "yes", "delay": "2h"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.journal.last().body, {"delay": "2h"})
        self.assertEqual(self.messages_of(response), [f"Rescheduled run: {run_id}."])

    def test_reschedule_of_a_run_that_is_not_delayed_is_explained(self):
        run_id = self.runs_with_status("COMPLETED")[0]
        response = self.client.post(
            self.url("run_reschedule", run_id), {"post": "yes", "delay": "1h"}
        )
        self.assertEqual(
            self.messages_of(response),
            [
                f"Did not reschedule {run_id}: only delayed runs can be rescheduled, and it is "
                "completed."
            ],
        )
        self.assertEqual(self.journal.count(method="POST"), 0)

    def test_a_refused_action_is_said_plainly(self):
        # The API's own sentence, not "404 … (POST /api/v1/runs/…/replay)".
        response = self.changelist_post("replay_selected", ["run_nosuchrun0000"], post="yes")
        (message,) = self.messages_of(response)
        self.assertRegex(message, r"^Could not replay run_nosuchrun0000: [A-Z][^()]*\.$")
        self.assertNotIn("404", message)

    def test_add_tags(self):
        run_id = self.runs_with_status("COMPLETED")[0]
        response = self.client.post(
            self.url("run_tag", run_id), {"post": "yes", "tags": "vip, <b>bold</b>, vip"}
        )
        self.assertEqual(self.messages_of(response), [f"Tagged run: {run_id}."])
        self.assertEqual(self.journal.last().body, {"tags": ["vip", "<b>bold</b>"]})
        tags = get_client().runs.retrieve(run_id).tags
        self.assertIn("<b>bold</b>", tags)
        response = self.client.get(self.url("run_change", run_id))
        self.assertContains(response, "&lt;b&gt;bold&lt;/b&gt;")
        self.assertNotContains(response, "<b>bold</b>")

    def test_too_many_tags_are_refused_before_sending(self):
        run_id = self.runs_with_status("COMPLETED")[0]
        tags = ",".join(f"t{i}" for i in range(11))
        response = self.client.post(self.url("run_tag", run_id), {"post": "yes", "tags": tags})
        self.assertEqual(response.status_code, 200)
        self.assertIn("tags", response.context["form"].errors)
        self.assertEqual(self.api_requests(), [])

    def test_missing_run_is_named_in_the_error(self):
        response = self.client.post(self.url("run_cancel", "run_nosuchrun0000"), {"post": "yes"})
        (message,) = self.messages_of(response)
        self.assertIn("Could not cancel run_nosuchrun0000", message)


class ChangelistActionTests(RunActionTestCase):
    def test_confirmation_then_one_request_per_run(self):
        ids = self.runs_with_status("QUEUED", "EXECUTING", "WAITING")[:3]
        response = self.changelist_post("cancel_selected", ids, index="0")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "admin/django_trigger/run/action_confirmation.html")
        for run_id in ids:
            self.assertContains(response, run_id)
        self.assertEqual(self.api_requests(), [])  # an action POST does not list runs

        response = self.changelist_post("cancel_selected", ids, post="yes")
        self.assertEqual(response.status_code, 302)
        # Each run is read (still cancellable?), then cancelled.
        self.assertEqual(
            sorted(self.api_requests()),
            sorted(
                [("POST", f"/api/v2/runs/{i}/cancel") for i in ids]
                + [("GET", f"/api/v3/runs/{i}") for i in ids]
            ),
        )
        self.assertEqual(self.messages_of(response), [f"Cancelled 3 runs: {', '.join(ids)}."])
        for run_id in ids:
            self.assertEqual(self.status_of(run_id), "CANCELED")

    def test_partial_failure_names_each_run(self):
        ids = self.runs_with_status("COMPLETED")[:2]
        delayed = self.runs_with_status("DELAYED")[:1]
        response = self.changelist_post(
            "reschedule_selected", ids + delayed, post="yes", delay="3h"
        )
        messages = self.messages_of(response)
        self.assertEqual(
            messages,
            [
                "Skipped 2 runs: "
                + "; ".join(
                    f"{run_id} (only delayed runs can be rescheduled, and it is completed)"
                    for run_id in ids
                )
                + ".",
                f"Rescheduled run: {delayed[0]}.",
            ],
        )
        self.assertEqual(self.journal.count(method="POST"), 1)

    def test_cancel_selection_skips_finished_runs(self):
        finished = self.runs_with_status("CANCELED", "COMPLETED")[:2]
        queued = self.runs_with_status("QUEUED")[:1]
        response = self.changelist_post("cancel_selected", finished + queued, post="yes")
        messages = self.messages_of(response)
        self.assertEqual(len(messages), 2, messages)
        self.assertTrue(messages[0].startswith("Skipped 2 runs: "), messages)
        for run_id in finished:
            self.assertIn(run_id, messages[0])
        self.assertIn("already finished", messages[0])
        self.assertEqual(messages[1], f"Cancelled run: {queued[0]}.")
        self.assertEqual(self.journal.count(method="POST"), 1)

    def test_large_selection_goes_through_one_bulk_action(self):
        ids = self.runs_with_status("COMPLETED")[: BULK_THRESHOLD + 1]
        self.assertEqual(len(ids), BULK_THRESHOLD + 1)
        response = self.changelist_post("replay_selected", ids, index="0")
        self.assertContains(response, "one bulk action")
        response = self.changelist_post("replay_selected", ids, post="yes")
        self.assertEqual(self.api_requests(), [("POST", "/api/v1/bulk-actions")])
        body = self.journal.last().body
        self.assertEqual(body["action"], "replay")
        self.assertEqual(body["runIds"], ids)
        (message,) = self.messages_of(response)
        self.assertIn("Started bulk action bulk_", message)
        for run_id in ids:
            self.assertIn(run_id, message)

    def test_select_across_maps_to_a_bulk_action_with_the_same_filters(self):
        ids = self.runs_with_status("QUEUED")[:1]
        url = self.url("run_changelist") + "?status=QUEUED&task=send-email"
        data = {"action": "cancel_selected", CHECKBOX: ids, "select_across": "1", "index": "0"}
        response = self.client.post(url, data)
        self.assertContains(response, "every run that matches these filters")
        self.assertEqual(self.api_requests(), [])
        data.pop("index")
        response = self.client.post(url, {**data, "post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.api_requests(), [("POST", "/api/v1/bulk-actions")])
        self.assertEqual(
            self.journal.last().body,
            {
                "action": "cancel",
                "filter": {"status": ["QUEUED"], "taskIdentifier": ["send-email"], "period": "7d"},
                "name": "Django admin: cancel by root",
            },
        )

    def test_select_across_sends_only_v2_statuses_to_the_bulk_action(self):
        # The list filter sends EXECUTING,REATTEMPTING; the bulk filter takes V2 names only.
        ids = self.runs_with_status("EXECUTING")[:1]
        url = self.url("run_changelist") + "?status=EXECUTING"
        response = self.client.post(
            url, {"action": "cancel_selected", CHECKBOX: ids, "select_across": "1", "post": "yes"}
        )
        self.assertEqual(response.status_code, 302, self.messages_of(response))
        self.assertEqual(self.journal.last().body["filter"]["status"], ["EXECUTING"])
        self.assertTrue(self.messages_of(response)[0].startswith("Started bulk action"))

    def test_select_across_is_refused_without_a_bulk_equivalent(self):
        ids = self.runs_with_status("COMPLETED")[:1]
        response = self.changelist_post("tag_selected", ids, select_across="1", index="0")
        self.assertEqual(response.status_code, 302)
        (message,) = self.messages_of(response)
        self.assertIn("cannot be applied to every run matching the filters", message)
        self.assertEqual(self.api_requests(), [])

    def test_nothing_selected(self):
        response = self.client.post(
            self.url("run_changelist"), {"action": "cancel_selected", "index": "0"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertIn("Items must be selected", self.messages_of(response)[0])
        self.assertEqual(self.journal.count(method="POST"), 0)


class PermissionTests(RunActionTestCase):
    def test_without_view_permission_nothing_is_shown_or_fetched(self):
        self.login(self.make_staff("nobody"))
        run_id = "run_abc123"
        for url in (
            self.url("run_changelist"),
            self.url("run_change", run_id),
            self.url("run_cancel", run_id),
            self.url("run_history", run_id),
            self.url("run_changelist") + f"?q={run_id}",
        ):
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 403)
        response = self.client.get("/admin/")
        self.assertNotContains(response, "/admin/django_trigger/run/")
        self.assertEqual(self.api_requests(), [])

    def test_staff_without_permission_cannot_act(self):
        run_id = self.runs_with_status("QUEUED")[0]
        self.login(self.make_staff("nobody"))
        response = self.client.post(self.url("run_cancel", run_id), {"post": "yes"})
        self.assertEqual(response.status_code, 403)
        response = self.changelist_post("cancel_selected", [run_id], post="yes")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.api_requests(), [])

    def test_view_only_user_gets_no_actions(self):
        run_id = self.runs_with_status("QUEUED")[0]
        self.login(self.make_staff("viewer", "view_run"))
        response = self.client.get(self.url("run_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "cancel_selected")
        self.assertNotContains(response, 'name="action"')
        for name in ("cancel", "replay", "reschedule", "tag"):
            with self.subTest(action=name):
                response = self.client.post(self.url(f"run_{name}", run_id), {"post": "yes"})
                self.assertEqual(response.status_code, 403)
        self.journal.clear()
        response = self.changelist_post("cancel_selected", [run_id], post="yes")
        self.assertEqual(self.journal.count(method="POST"), 0)
        self.assertEqual(self.status_of(run_id), "QUEUED")

    def test_each_action_needs_its_own_permission(self):
        ids = self.runs_with_status("COMPLETED")[:2]
        self.assertEqual(len(ids), 2)
        self.login(self.make_staff("tagger", "view_run", "tag_run"))
        response = self.client.get(self.url("run_changelist"))
        self.assertContains(response, "tag_selected")
        self.assertNotContains(response, "cancel_selected")
        response = self.changelist_post("cancel_selected", ids, post="yes")
        self.assertEqual(self.journal.count(method="POST"), 0)
        response = self.changelist_post("tag_selected", ids, post="yes", tags="ok")
        self.assertEqual(self.journal.count(method="POST"), 2, self.messages_of(response))
        self.assertEqual(self.client.get(self.url("run_cancel", ids[0])).status_code, 403)
        self.assertEqual(self.client.get(self.url("run_tag", ids[0])).status_code, 200)

    def test_no_add_change_or_delete(self):
        run_id = self.runs_with_status("QUEUED")[0]
        self.assertEqual(self.client.get(self.url("run_add")).status_code, 403)
        self.assertEqual(self.client.post(self.url("run_change", run_id), {}).status_code, 403)
        self.assertEqual(self.client.get(self.url("run_delete", run_id)).status_code, 403)
        self.assertNotContains(self.client.get(self.url("run_changelist")), "delete_selected")


class CsrfTests(RunActionTestCase):
    def test_actions_need_the_csrf_token(self):
        run_id = self.runs_with_status("QUEUED")[0]
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin_user)
        response = client.post(self.url("run_cancel", run_id), {"post": "yes"})
        self.assertEqual(response.status_code, 403)
        response = client.post(
            self.url("run_changelist"),
            {"action": "cancel_selected", CHECKBOX: [run_id], "post": "yes"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.api_requests(), [])
        # With the token from the confirmation page, it goes through.
        page = client.get(self.url("run_cancel", run_id))
        token = page.context["csrf_token"]
        response = client.post(
            self.url("run_cancel", run_id), {"post": "yes", "csrfmiddlewaretoken": str(token)}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.status_of(run_id), "CANCELED")


class RequestCountTests(RunActionTestCase):
    def test_requests_per_view(self):
        self.client.get(self.url("run_changelist"))
        self.assertEqual(self.api_requests(), [("GET", RUNS_LIST)])
        self.journal.clear()
        self.client.get(
            self.url("run_changelist"), {"status": "FAILED", "created": "30d", "tag": "org_acme"}
        )
        self.assertEqual(self.api_requests(), [("GET", RUNS_LIST)])
        run_id = self.runs_with_status("COMPLETED")[0]
        self.client.get(self.url("run_change", run_id))
        self.assertEqual(self.api_requests(), [("GET", f"/api/v3/runs/{run_id}")])
        self.journal.clear()
        self.client.get(self.url("run_reschedule", run_id))  # reads the run: is it delayed?
        self.assertEqual(self.api_requests(), [("GET", f"/api/v3/runs/{run_id}")])
        self.journal.clear()
        self.client.get(self.url("run_tag", run_id))  # applies to any run: no request
        self.assertEqual(self.api_requests(), [])


class BulkActionProgressTests(RunActionTestCase):
    @staticmethod
    def bulk_url(bulk_id: str) -> str:
        return reverse("admin:django_trigger_run_bulk_action", args=[bulk_id])

    def start_bulk(self) -> str:
        ids = self.runs_with_status("COMPLETED")[: BULK_THRESHOLD + 1]
        response = self.changelist_post("replay_selected", ids, post="yes")
        self.assertEqual(response.status_code, 302)
        (message,) = self.messages_of(response)
        bulk_id = re.search(r"bulk_[0-9a-z]+", message)[0]
        self.assertEqual(response["Location"], self.bulk_url(bulk_id))
        return bulk_id

    def test_starting_a_bulk_action_leads_to_its_progress(self):
        bulk_id = self.start_bulk()
        self.journal.clear()
        response = self.client.get(self.bulk_url(bulk_id))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.api_requests(), [("GET", f"/api/v1/bulk-actions/{bulk_id}")])
        self.assertContains(response, "COMPLETED")
        self.assertContains(response, f"{BULK_THRESHOLD + 1} of {BULK_THRESHOLD + 1} runs (100%)")
        self.assertNotContains(response, 'http-equiv="refresh"')
        self.journal.clear()
        runs = self.client.get(response.context["runs_url"])
        self.assertEqual(runs.status_code, 200)
        self.assertEqual(self.journal.last().query["filter[bulkAction]"], [bulk_id])

    def test_a_pending_bulk_action_reloads_until_done(self):
        # The service works through a bulk action in batches: 8 runs between two looks here.
        self.emulator.state.bulk_actions.batch_size = 8
        self.addCleanup(setattr, self.emulator.state.bulk_actions, "batch_size", None)
        bulk_id = self.start_bulk()
        total = BULK_THRESHOLD + 1
        seen = []
        for _look in range(10):
            response = self.client.get(self.bulk_url(bulk_id))
            self.assertEqual(response.status_code, 200)
            seen.append(response.context["processed"])
            if not response.context["pending"]:
                break
            self.assertContains(response, 'http-equiv="refresh" content="3"')
            self.assertContains(response, "PENDING")
            self.assertContains(response, f'<progress max="{total}" value="{seen[-1]}">')
            self.assertContains(response, "reloads every 3 seconds")
        self.assertEqual(seen, [*range(8, total, 8), total])
        self.assertGreaterEqual(len(seen), 3)
        self.assertContains(response, "COMPLETED")
        self.assertNotContains(response, 'http-equiv="refresh"')
        self.assertContains(response, f"{total} of {total} runs (100%)")

    def test_permissions_and_unknown_ids(self):
        bulk_id = self.start_bulk()
        self.journal.clear()
        self.login(self.make_staff("viewer", "view_run"))
        response = self.client.get(self.bulk_url(bulk_id))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.api_requests(), [])
        self.login(self.make_staff("operator", "view_run", "cancel_run"))
        self.assertEqual(self.client.get(self.bulk_url(bulk_id)).status_code, 200)
        missing = self.client.get(self.bulk_url("bulk_nosuchaction00"))
        self.assertEqual(missing.status_code, 404)
        bad = self.client.get(self.bulk_url("not-a-bulk-id"))
        self.assertEqual(bad.status_code, 404)
