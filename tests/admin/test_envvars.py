"""The env vars admin: masked list per environment, create/edit/delete, reveal (POST, change +
reveal permission), escaping, and no value ever in the HTML otherwise."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages
from django.test import Client, override_settings

from django_trigger import get_client

from .base import AdminTestCase


class EnvVarAdminTests(AdminTestCase):
    def envvars_path(self, environment: str = "dev") -> str:
        return f"/api/v1/projects/{self.emulator.project_ref}/envvars/{environment}"

    def values(self) -> dict[str, str]:
        result = {v.name: v.value for v in get_client().envvars.list()}
        self.journal.clear()
        return result

    def messages_of(self, response) -> list[str]:
        return [str(m) for m in get_messages(response.wsgi_request)]

    def test_list_masks_every_value_with_one_request(self):
        values = self.values()
        response = self.client.get(self.url("envvar_changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.api_requests(), [("GET", self.envvars_path())])
        for name, value in values.items():
            self.assertContains(response, name)
            if value != "<redacted>":
                self.assertNotContains(response, value)
        self.assertContains(response, "Variables of the dev environment")
        self.assertContains(response, "••••••••")

    def test_change_page_never_shows_the_value(self):
        values = self.values()
        response = self.client.get(self.url("envvar_change", "REGION"))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, values["REGION"])
        self.assertContains(response, 'type="password"')
        self.assertContains(response, "Reveal value")

    def test_reveal_needs_post_and_both_permissions(self):
        values = self.values()
        url = self.url("envvar_reveal", "REGION")
        self.assertEqual(self.client.get(url).status_code, 405)
        response = self.client.post(url)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, values["REGION"])
        self.assertIn("no-store", response["Cache-Control"])

        self.login(self.make_staff("editor", "view_envvar", "change_envvar"))
        self.assertNotContains(self.client.get(self.url("envvar_change", "REGION")), "Reveal value")
        self.assertEqual(self.client.post(url).status_code, 403)
        self.login(self.make_staff("revealer", "view_envvar", "reveal_envvar"))
        self.assertEqual(self.client.post(url).status_code, 403)
        self.login(self.make_staff("both", "view_envvar", "change_envvar", "reveal_envvar"))
        self.assertContains(self.client.post(url), values["REGION"])

    def test_reveal_needs_csrf(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin_user)
        self.assertEqual(client.post(self.url("envvar_reveal", "REGION")).status_code, 403)

    def test_secret_values_cannot_be_revealed(self):
        response = self.client.post(self.url("envvar_reveal", "SLACK_API_KEY"))
        self.assertContains(response, "Trigger.dev never returns its value")

    def test_create_edit_delete(self):
        response = self.client.post(
            self.url("envvar_add"), {"name": "NEW_VAR", "value": "<script>alert(1)</script>"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            self.journal.last(method="POST").body, {"name": "NEW_VAR", "value": "<redacted>"}
        )  # names only
        self.assertEqual(self.values()["NEW_VAR"], "<script>alert(1)</script>")
        response = self.client.post(self.url("envvar_reveal", "NEW_VAR"))
        self.assertNotContains(response, "<script>alert(1)</script>")
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")

        response = self.client.post(self.url("envvar_change", "NEW_VAR"), {"value": "two"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.journal.last(method="PUT").body, {"value": "<redacted>"})
        self.assertEqual(self.values()["NEW_VAR"], "two")

        response = self.client.post(self.url("envvar_delete", "NEW_VAR"), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertNotIn("NEW_VAR", self.values())

    def test_bad_names_are_refused_before_sending(self):
        for name in ("has space", "TRIGGER_SECRET_KEY", "ÜMLAUT", ""):
            with self.subTest(name=name):
                response = self.client.post(self.url("envvar_add"), {"name": name, "value": "x"})
                self.assertEqual(response.status_code, 200)
                self.assertIn("name", response.context["adminform"].form.errors)
        self.assertEqual(self.journal.count(method="POST"), 0)

    def test_permissions(self):
        self.login(self.make_staff("nobody"))
        for url in (
            self.url("envvar_changelist"),
            self.url("envvar_change", "REGION"),
            self.url("envvar_add"),
            self.url("envvar_delete", "REGION"),
        ):
            self.assertEqual(self.client.get(url).status_code, 403, url)
        self.assertEqual(self.client.post(self.url("envvar_reveal", "REGION")).status_code, 403)
        self.login(self.make_staff("viewer", "view_envvar"))
        response = self.client.post(self.url("envvar_change", "REGION"), {"value": "x"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.get(self.url("envvar_add")).status_code, 403)
        self.assertEqual(self.journal.count(method="PUT") + self.journal.count(method="POST"), 0)

    def test_missing_variable_is_a_404(self):
        response = self.client.get(self.url("envvar_change", "NOPE"))
        self.assertEqual(response.status_code, 404)

    def test_environments_with_a_personal_access_token(self):
        emu = self.emulator
        with override_settings(
            TRIGGER={
                "default": emu.client_settings(ACCESS_TOKEN=emu.access_token, ENVIRONMENT="dev")
            }
        ):
            response = self.client.get(self.url("envvar_changelist"))
            self.assertContains(response, "?environment=prod")
            self.journal.clear()
            response = self.client.get(self.url("envvar_changelist"), {"environment": "prod"})
            self.assertEqual(self.api_requests(), [("GET", self.envvars_path("prod"))])
            self.assertContains(response, "SENTRY_DSN")
            link = self.url("envvar_change", "REGION") + "?environment=prod"
            self.assertRegex(
                response.content.decode(),
                re.escape(self.url("envvar_change", "REGION")) + r'\?[^"]*environment=prod',
            )
            self.journal.clear()
            self.assertEqual(self.client.get(link).status_code, 200)
            self.assertEqual(self.api_requests(), [("GET", self.envvars_path("prod") + "/REGION")])
