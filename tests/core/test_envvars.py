"""``client.envvars`` over HTTP: defaults from the client, secret keys vs PATs, branches."""

from __future__ import annotations

from django_trigger.exceptions import BadRequestError, InvalidRequestError, NotFoundError
from django_trigger.types import REDACTED, EnvVar

from .base import ClientTestCase


class EnvVarTests(ClientTestCase):
    def base_path(self, env: str) -> str:
        return f"/api/v1/projects/{self.emulator.project_ref}/envvars/{env}"

    def test_list_defaults_to_the_clients_project_and_environment(self):
        variables = self.trigger.envvars.list()
        self.assertTrue(variables)
        self.assertIsInstance(variables[0], EnvVar)
        self.assertEqual(self.journal.last().path, self.base_path("dev"))
        secret = next(v for v in variables if v.is_secret)
        self.assertEqual(secret.value, REDACTED)
        self.assertTrue(secret.is_redacted)
        self.assertNotIn("value=", repr(secret))

    def test_create_retrieve_update_delete(self):
        self.trigger.envvars.create("NEW_VAR", "one")
        # The journal keeps the name; the value is checked by reading it back.
        self.assertEqual(self.journal.last().body, {"name": "NEW_VAR", "value": REDACTED})
        self.assertEqual(self.trigger.envvars.retrieve("NEW_VAR").value, "one")
        self.trigger.envvars.update("NEW_VAR", "two")
        self.assertEqual(self.journal.last().method, "PUT")
        self.assertEqual(self.trigger.envvars.retrieve("NEW_VAR").value, "two")
        self.trigger.envvars.delete("NEW_VAR")
        with self.assertRaises(NotFoundError):
            self.trigger.envvars.retrieve("NEW_VAR", request_options={"retry": {"max_attempts": 1}})

    def test_create_secret(self):
        self.trigger.envvars.create("API_TOKEN", "s3cr3t", is_secret=True)
        var = self.trigger.envvars.retrieve("API_TOKEN")
        self.assertTrue(var.is_secret)
        self.assertEqual(var.value, REDACTED)

    def test_upload_json_without_override_refuses_existing_names(self):
        with self.assertRaises(BadRequestError) as ctx:
            self.trigger.envvars.upload({"REGION": "us", "BRAND_NEW": "x"})
        self.assertIn("variableErrors", ctx.exception.body)
        names = {v.name for v in self.trigger.envvars.list()}
        self.assertNotIn("BRAND_NEW", names)  # nothing was written

    def test_upload_json_with_override(self):
        self.trigger.envvars.upload({"REGION": "us", "BRAND_NEW": "x"}, override=True)
        self.assertEqual(
            self.journal.last().body,
            {"variables": {"REGION": REDACTED, "BRAND_NEW": REDACTED}, "override": True},
        )
        values = {v.name: v.value for v in self.trigger.envvars.list()}
        self.assertEqual((values["REGION"], values["BRAND_NEW"]), ("us", "x"))

    def test_upload_dotenv_text_as_multipart(self):
        self.trigger.envvars.upload("FROM_FILE=1\nOTHER=two\n", override=True)
        entry = self.journal.last()
        self.assertTrue(entry.headers["content-type"].startswith("multipart/form-data"))
        self.assertEqual(
            entry.body,
            {"variables": {"FROM_FILE": REDACTED, "OTHER": REDACTED}, "override": "true"},
        )
        values = {v.name: v.value for v in self.trigger.envvars.list()}
        self.assertEqual((values["FROM_FILE"], values["OTHER"]), ("1", "two"))

    def test_secret_key_cannot_target_another_environment(self):
        with self.assertRaises(InvalidRequestError) as ctx:
            self.trigger.envvars.create("X", "1", environment="prod")
        self.assertIn("personal access token", str(ctx.exception))
        self.assertEqual(self.journal.count(), 0)

    def test_pat_reaches_any_environment(self):
        client = self.pat_client()
        client.envvars.create("ONLY_IN_PROD", "p", environment="prod")
        self.assertEqual(self.journal.last().path, self.base_path("prod"))
        client.envvars.create("ONLY_IN_STAGING", "s", environment="staging")
        self.assertEqual(self.journal.last().path, self.base_path("staging"))
        prod = {v.name for v in client.envvars.list(environment="prod")}
        dev = {v.name for v in client.envvars.list(environment="dev")}
        self.assertIn("ONLY_IN_PROD", prod)
        self.assertNotIn("ONLY_IN_PROD", dev)

    def test_preview_branch_header(self):
        client = self.pat_client()
        client.envvars.create("BRANCH_ONLY", "b", environment="preview", branch="feature-login")
        self.assertEqual(self.journal.last().headers["x-trigger-branch"], "feature-login")
        names = {v.name for v in client.envvars.list(environment="preview", branch="feature-login")}
        self.assertIn("BRANCH_ONLY", names)
        with self.assertRaises(NotFoundError):
            client.envvars.list(environment="preview", branch="no-such-branch")

    def test_needs_a_project_ref(self):
        client = self.make_client(project_ref=None)
        with self.assertRaises(InvalidRequestError):
            client.envvars.list()
        self.assertEqual(self.journal.count(), 0)
