"""The run detail page of an unfinished run refreshes its status in place: a small script
polls a JSON view that checks the page's own permission, and stops once the run finished."""

from __future__ import annotations

from django.contrib.staticfiles import finders

from .base import AdminTestCase

RUN_RETRIEVE = "/api/v3/runs/"


class RunStatusRefreshTests(AdminTestCase):
    def start_run(self) -> str:
        from django_trigger import get_client

        run_id = get_client().tasks.trigger("send-email", {"to": "a@example.com"}).id
        self.journal.clear()
        return run_id

    def test_an_unfinished_run_page_loads_the_script(self):
        run_id = self.start_run()
        response = self.client.get(self.url("run_change", run_id))
        status_url = self.url("run_status", run_id)
        self.assertContains(response, 'src="/static/django_trigger/run_status.js"')
        self.assertContains(response, f'data-url="{status_url}"')
        self.assertContains(response, 'data-interval="3000"')
        self.assertEqual(self.journal.count(path_prefix=RUN_RETRIEVE), 1)
        self.assertIsNotNone(finders.find("django_trigger/run_status.js"))

    def test_a_finished_run_page_does_not(self):
        run_id = self.start_run()
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(run_id, {"ok": True})
        response = self.client.get(self.url("run_change", run_id))
        self.assertNotContains(response, "run_status.js")

    def test_the_json_follows_the_run(self):
        run_id = self.start_run()
        response = self.client.get(self.url("run_status", run_id))
        self.assertEqual(response.status_code, 200)
        self.assertIn("no-store", response["Cache-Control"])
        body = response.json()
        self.assertEqual((body["id"], body["status"], body["final"]), (run_id, "QUEUED", False))
        self.assertIn("trigger-status-queued", body["status_html"])
        self.assertEqual(self.journal.count(path_prefix=RUN_RETRIEVE), 1)  # one per poll
        with self.emulator.state.lock:
            self.emulator.state.runs.set_status(run_id, "EXECUTING")
        self.assertEqual(
            self.client.get(self.url("run_status", run_id)).json()["status"], "EXECUTING"
        )
        with self.emulator.state.lock:
            self.emulator.state.runs.fail(run_id, "boom <b>")
        body = self.client.get(self.url("run_status", run_id)).json()
        self.assertEqual((body["status"], body["final"]), ("FAILED", True))
        self.assertTrue(body["message"])

    def test_the_json_checks_the_same_permission(self):
        run_id = self.start_run()
        self.login(self.make_staff("nobody"))
        response = self.client.get(self.url("run_status", run_id))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.api_requests(), [])
        self.login(self.make_staff("viewer", "view_run"))
        self.assertEqual(self.client.get(self.url("run_status", run_id)).status_code, 200)
        self.client.logout()
        anonymous = self.client.get(self.url("run_status", run_id))
        self.assertEqual(anonymous.status_code, 302)  # to the admin login

    def test_unknown_run_and_api_failure(self):
        missing = self.client.get(self.url("run_status", "run_doesnotexist0000"))
        self.assertEqual(missing.status_code, 404)
        self.assertIn("error", missing.json())
        run_id = self.start_run()
        self.emulator.faults.fail_next(10, status=500)
        failed = self.client.get(self.url("run_status", run_id))
        self.assertEqual(failed.status_code, 503)
        self.assertNotIn(self.emulator.secret_key, failed.content.decode())
