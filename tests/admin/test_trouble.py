"""The admin when the API fails: a page that renders with a message and retry advice, never a
server error; at most one retry per view."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.test import override_settings

from django_trigger.admin.base import retry_advice
from django_trigger.exceptions import ConfigurationRefusalError, InvalidRequestError

from .base import RUNS_LIST, AdminTestCase


class ApiTroubleTests(AdminTestCase):
    def messages_of(self, response) -> list[str]:
        return [str(m) for m in get_messages(response.wsgi_request)]

    def test_server_errors_on_the_changelist(self):
        self.emulator.faults.fail_next(2, 503, path=RUNS_LIST)
        response = self.client.get(self.url("run_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Could not load from Trigger.dev")
        self.assertContains(response, "had an internal error")
        self.assertContains(response, "reload the page in a moment")
        self.assertEqual(list(response.context["cl"].result_list), [])
        self.assertNotContains(response, 'name="action"')
        self.assertEqual(self.journal.count(path=RUNS_LIST), 2)  # one retry, then the page
        # Once the API is back, the same page works.
        self.journal.clear()
        response = self.client.get(self.url("run_changelist"))
        self.assertNotContains(response, "Could not load from Trigger.dev")
        self.assertTrue(response.context["cl"].result_list)

    def test_api_unreachable(self):
        self.emulator.faults.drop_next(2)
        response = self.client.get(self.url("run_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("could not be reached", " ".join(self.messages_of(response)))

    @override_settings()
    def test_nothing_listening(self):
        with self.settings(
            TRIGGER={
                "default": {**self.emulator.client_settings(), "API_URL": "http://127.0.0.1:9"}
            }
        ):
            response = self.client.get(self.url("run_changelist"))
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, "could not be reached")
            response = self.client.get(self.url("run_change", "run_abc123"))
            self.assertEqual(response.status_code, 503)
            self.assertContains(response, "Trigger.dev API unavailable", status_code=503)
            self.assertContains(response, "Retry", status_code=503)

    def test_rejected_token(self):
        with self.settings(
            TRIGGER={
                "default": self.emulator.client_settings(ACCESS_TOKEN="tr_dev_wrongwrongwrong1234")
            }
        ):
            response = self.client.get(self.url("run_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "refused the access token")
        self.assertContains(response, "Check ACCESS_TOKEN")

    def test_wrong_project_ref_points_at_project_ref(self):
        emu = self.emulator
        for token in (emu.secret_key, emu.access_token):
            with (
                self.subTest(token=token[:6]),
                self.settings(
                    TRIGGER={
                        "default": emu.client_settings(
                            ACCESS_TOKEN=token, PROJECT_REF="proj_wrongwrongwrong"
                        )
                    }
                ),
            ):
                response = self.client.get(self.url("envvar_changelist"))
                self.assertContains(response, "Check PROJECT_REF", status_code=response.status_code)
                self.assertNotContains(
                    response, "usually temporary", status_code=response.status_code
                )

    def test_pages_a_personal_access_token_cannot_show_say_so(self):
        # A personal access token reaches the run list and environment variables only
        # (docs/client.md); the other pages say so, having sent nothing, rather than showing
        # Django's "Database error" page, a 404 for a run the list just showed, or a 500.
        run_id = self.runs()[0].id
        emu = self.emulator
        with self.settings(TRIGGER={"default": emu.client_settings(ACCESS_TOKEN=emu.access_token)}):
            response = self.client.get(self.url("run_changelist"))
            self.assertContains(response, run_id)
            for name in ("schedule_changelist", "waitpointtoken_changelist", "overview_changelist"):
                with self.subTest(name):
                    self.journal.clear()
                    response = self.client.get(self.url(name))
                    self.assertEqual(response.status_code, 200)
                    self.assertContains(response, "Nothing was sent to Trigger.dev")
                    self.assertContains(response, "needs a secret key")
                    self.assertContains(response, "give this client a secret key")
                    self.assertNotContains(response, "Database error")
                    self.assertEqual(self.journal.count(), 0)
            self.journal.clear()
            response = self.client.get(self.url("run_change", run_id))
            self.assertContains(
                response, "Not possible with this client&#x27;s settings", status_code=403
            )
            self.assertContains(response, "runs.retrieve needs a secret key", status_code=403)
            self.assertEqual(self.journal.count(), 0)

    def test_environment_variables_without_a_project_ref_ask_for_it(self):
        # The minimal configuration (a secret key only) has no project ref, which the
        # environment variables API needs: the page says so, not "Database error".
        options = self.emulator.client_settings()
        del options["PROJECT_REF"]
        with self.settings(TRIGGER={"default": options}):
            self.journal.clear()
            response = self.client.get(self.url("envvar_changelist"))
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, "envvars.list needs a project ref")
            self.assertContains(response, "Set PROJECT_REF in the TRIGGER setting")
            self.assertNotContains(response, "Database error")
            self.assertEqual(self.journal.count(), 0)
            response = self.client.get(self.url("envvar_change", "REGION"))
            self.assertContains(response, "Set PROJECT_REF", status_code=403)

    def test_a_personal_access_token_without_an_environment_asks_for_one(self):
        emu = self.emulator
        options = emu.client_settings(ACCESS_TOKEN=emu.access_token)
        del options["ENVIRONMENT"]
        with self.settings(TRIGGER={"default": options}):
            for name in ("run_changelist", "envvar_changelist"):
                with self.subTest(name):
                    self.journal.clear()
                    response = self.client.get(self.url(name))
                    self.assertEqual(response.status_code, 200)
                    self.assertContains(response, "needs an environment")
                    self.assertContains(response, "Set ENVIRONMENT in the TRIGGER setting")
                    self.assertNotContains(response, "Database error")
                    self.assertEqual(self.journal.count(), 0)

    def test_refusals_are_told_apart_by_class_not_wording(self):
        # The advice follows ConfigurationRefusalError and its reason; an InvalidRequestError
        # worded like a refusal (an id, a filter value) gets none of it.
        advice = {
            ConfigurationRefusalError.PROJECT_REF: "Set PROJECT_REF",
            ConfigurationRefusalError.ENVIRONMENT: "Set ENVIRONMENT",
            ConfigurationRefusalError.TOKEN_KIND: "give this client a secret key",
        }
        for reason, expected in advice.items():
            with self.subTest(reason):
                error = ConfigurationRefusalError("x.y is not possible here", reason=reason)
                self.assertIn(expected, retry_advice(error))
        lookalike = InvalidRequestError(
            "runs.list needs a project ref (proj_…); this client is configured with a key"
        )
        self.assertNotIn("PROJECT_REF", retry_advice(lookalike))
        self.assertNotIn("secret key", retry_advice(lookalike))

    def test_misconfigured_client(self):
        with self.settings(TRIGGER={"default": {"ACCESS_TOKEN": "not-a-token"}}):
            response = self.client.get(self.url("run_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "not configured correctly")
        self.assertContains(response, "manage.py check")

    def test_detail_page_error_is_a_page_not_a_500(self):
        run_id = self.runs()[0].id
        self.emulator.faults.fail_next(2, 500, path=f"/api/v3/runs/{run_id}")
        response = self.client.get(self.url("run_change", run_id))
        self.assertEqual(response.status_code, 503)
        self.assertContains(response, "internal error", status_code=503)
        self.assertContains(response, "reload the page in a moment", status_code=503)

    def test_action_errors_are_messages(self):
        run_id = self.runs(status=["QUEUED", "EXECUTING"])[0].id
        self.emulator.faults.fail_next(2, 503, path=f"/api/v2/runs/{run_id}/cancel")
        response = self.client.post(self.url("run_cancel", run_id), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        (message,) = self.messages_of(response)
        self.assertIn(f"Could not cancel {run_id}", message)

    def test_timeout(self):
        with self.settings(TRIGGER={"default": self.emulator.client_settings(TIMEOUT=0.2)}):
            self.emulator.faults.stall_next(2, seconds=2, path=RUNS_LIST)
            response = self.client.get(self.url("run_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Could not load from Trigger.dev")
