"""The schedules admin: offset pages with the API's count, create/edit forms, actions,
permissions and errors."""

from __future__ import annotations

from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.core.cache import cache

from django_trigger import get_client

from .base import AdminTestCase

SCHEDULES = "/api/v1/schedules"
CHECKBOX = helpers.ACTION_CHECKBOX_NAME


class ScheduleAdminTests(AdminTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()  # the time zone list is cached

    def schedules(self):
        page = get_client().schedules.list(per_page=100)
        self.journal.clear()
        return page.data

    def messages_of(self, response) -> list[str]:
        return [str(m) for m in get_messages(response.wsgi_request)]

    def test_changelist_one_request_with_real_count_and_pages(self):
        total = len(self.schedules())
        self.assertGreater(total, 25)
        response = self.client.get(self.url("schedule_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            [(e.method, e.path, e.query) for e in self.journal.entries],
            [("GET", SCHEDULES, {"page": ["1"], "perPage": ["25"]})],
        )
        cl = response.context["cl"]
        self.assertEqual(cl.result_count, total)
        self.assertEqual(len(cl.result_list), 25)
        self.assertContains(response, f"{total} schedules")
        self.assertContains(response, "?p=2")
        self.journal.clear()
        response = self.client.get(self.url("schedule_changelist"), {"p": "2"})
        self.assertEqual(self.journal.entries[0].query["page"], ["2"])
        self.assertEqual(len(response.context["cl"].result_list), total - 25)
        self.assertEqual(self.journal.count(), 1)

    def test_page_out_of_range(self):
        response = self.client.get(self.url("schedule_changelist"), {"p": "99"})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].endswith("?e=1"))

    def test_create_validates_cron_and_offers_the_api_time_zones(self):
        response = self.client.get(self.url("schedule_add"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<option value="Europe/London">')
        self.assertEqual(self.api_requests(), [("GET", "/api/v1/timezones")])
        self.journal.clear()
        data = {
            "task": "nightly-cleanup",
            "cron": "0 9 * * 1-5 *",
            "timezone": "Europe/London",
            "deduplication_key": "admin-test",
            "external_id": "ext",
        }
        response = self.client.post(self.url("schedule_add"), data)
        self.assertEqual(response.status_code, 200)
        self.assertIn("cron", response.context["adminform"].form.errors)
        self.assertEqual(self.journal.count(method="POST"), 0)  # refused before sending
        response = self.client.post(self.url("schedule_add"), {**data, "timezone": "Mars/Base"})
        self.assertIn("timezone", response.context["adminform"].form.errors)

        response = self.client.post(self.url("schedule_add"), {**data, "cron": "0 9 * * 1-5"})
        self.assertEqual(response.status_code, 302)
        post = self.journal.last(method="POST")
        self.assertEqual(
            post.body,
            {
                "task": "nightly-cleanup",
                "cron": "0 9 * * 1-5",
                "timezone": "Europe/London",
                "externalId": "ext",
                "deduplicationKey": "admin-test",
            },
        )
        self.assertIn("was added", self.messages_of(response)[0])
        created = [s for s in self.schedules() if s.deduplication_key == "admin-test"]
        self.assertEqual(len(created), 1)

    def test_api_validation_errors_become_form_errors(self):
        data = {
            "task": "no-such-task",
            "cron": "0 9 * * *",
            "timezone": "UTC",
            "deduplication_key": "x",
        }
        response = self.client.post(self.url("schedule_add"), data)
        self.assertEqual(response.status_code, 200)
        errors = response.context["adminform"].form.non_field_errors()
        self.assertTrue(any("no-such-task" in e for e in errors), errors)

    def test_edit(self):
        schedule = next(s for s in self.schedules() if s.type == "IMPERATIVE")
        response = self.client.get(self.url("schedule_change", schedule.id))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, schedule.generator.expression)
        self.assertEqual(self.journal.count(path=f"{SCHEDULES}/{schedule.id}"), 1)
        response = self.client.post(
            self.url("schedule_change", schedule.id),
            {
                "task": schedule.task,
                "cron": "15 4 * * *",
                "timezone": "UTC",
                "external_id": schedule.external_id or "",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.journal.last(method="PUT").body["cron"], "15 4 * * *")
        self.assertEqual(get_client().schedules.retrieve(schedule.id).cron, "15 4 * * *")

    def test_activate_deactivate_delete(self):
        ids = [s.id for s in self.schedules() if s.type == "IMPERATIVE"][:2]
        url = self.url("schedule_changelist")
        response = self.client.post(
            url, {"action": "deactivate_selected", CHECKBOX: ids, "index": "0"}
        )
        self.assertEqual(
            self.messages_of(response), [f"Deactivated 2 schedules: {', '.join(ids)}."]
        )
        self.assertFalse(any(get_client().schedules.retrieve(i).active for i in ids))
        self.client.post(url, {"action": "activate_selected", CHECKBOX: ids, "index": "0"})
        self.assertTrue(all(get_client().schedules.retrieve(i).active for i in ids))
        self.journal.clear()
        response = self.client.post(
            url, {"action": "delete_selected_schedules", CHECKBOX: ids, "index": "0"}
        )
        self.assertContains(response, "This cannot be undone")
        self.assertEqual(self.journal.count(method="DELETE"), 0)
        response = self.client.post(
            url, {"action": "delete_selected_schedules", CHECKBOX: ids, "post": "yes"}
        )
        self.assertEqual(self.journal.count(method="DELETE"), 2)
        remaining = {s.id for s in self.schedules()}
        self.assertFalse(set(ids) & remaining)

    def test_edit_page_shows_the_state_and_toggles_it(self):
        schedule = next(s for s in self.schedules() if s.active and s.type == "IMPERATIVE")
        page = self.client.get(self.url("schedule_change", schedule.id))
        self.assertContains(page, "trigger-state-on")
        deactivate = self.url("schedule_deactivate", schedule.id)
        self.assertContains(page, f'action="{deactivate}"')
        self.assertEqual(self.client.get(deactivate).status_code, 405)  # POST only
        self.journal.clear()
        response = self.client.post(deactivate)
        self.assertRedirects(
            response, self.url("schedule_change", schedule.id), fetch_redirect_response=False
        )
        self.assertEqual(
            [(e.method, e.path) for e in self.journal.entries],
            [("POST", f"{SCHEDULES}/{schedule.id}/deactivate")],
        )
        self.assertFalse(get_client().schedules.retrieve(schedule.id).active)
        page = self.client.get(self.url("schedule_change", schedule.id))
        self.assertContains(page, "Inactive")
        self.assertContains(page, f'action="{self.url("schedule_activate", schedule.id)}"')
        # Without the change permission: no button, and the POST is refused.
        self.login(self.make_staff("viewer", "view_schedule"))
        page = self.client.get(self.url("schedule_change", schedule.id))
        self.assertContains(page, "Inactive")
        self.assertNotContains(page, "trigger-schedule-toggle")
        self.journal.clear()
        self.assertEqual(
            self.client.post(self.url("schedule_activate", schedule.id)).status_code, 403
        )
        self.assertEqual(self.journal.count(), 0)

    def test_delete_page(self):
        schedule = next(s for s in self.schedules() if s.type == "IMPERATIVE")
        url = self.url("schedule_delete", schedule.id)
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        response = self.client.post(url, {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.journal.count(method="DELETE"), 1)
        self.assertNotIn(schedule.id, {s.id for s in self.schedules()})

    def test_missing_schedule_is_a_404(self):
        response = self.client.get(self.url("schedule_change", "sched_nope"))
        self.assertEqual(response.status_code, 404)

    def test_permissions(self):
        schedule = next(s for s in self.schedules() if s.type == "IMPERATIVE")
        self.login(self.make_staff("nobody"))
        for url in (
            self.url("schedule_changelist"),
            self.url("schedule_add"),
            self.url("schedule_change", schedule.id),
            self.url("schedule_delete", schedule.id),
        ):
            self.assertEqual(self.client.get(url).status_code, 403, url)
        self.assertEqual(self.api_requests(), [])

        self.login(self.make_staff("viewer", "view_schedule"))
        response = self.client.get(self.url("schedule_changelist"))
        self.assertNotContains(response, "activate_selected")
        response = self.client.get(self.url("schedule_change", schedule.id))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, 'name="_save"')
        response = self.client.post(
            self.url("schedule_change", schedule.id),
            {"task": "x", "cron": "* * * * *", "timezone": "UTC"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.get(self.url("schedule_add")).status_code, 403)
        self.assertEqual(self.journal.count(method="PUT"), 0)

    def test_api_down(self):
        self.emulator.faults.fail_next(2, 503, path=SCHEDULES)
        response = self.client.get(self.url("schedule_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Could not load from Trigger.dev")
