"""The secret-leak suite: with every logger at DEBUG, the sync command (text and JSON, -v 0 to
3, dry run and apply, failures) and the admin's env var pages never put an env var value or
an access token in a log record, stdout, stderr or HTML; only the reveal page (its HTML, not
its logs) and ``--show-values`` show values. Reprs of envsync objects and the command's
inputs show names only.

(The technical 500 page and the transport's own channels are covered by the transport
tests.)"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, override_settings

from django_trigger import envsync, get_client
from django_trigger.testing import EmulatorTestMixin
from tests.admin.base import AdminTestCase

from .capture import all_logs

# Values that must never leak: distinct, so a leak names its source.
FILE_VALUES = {
    "DATABASE_URL": "postgres://app:VALUE-db-9f3k@db/app",
    "STRIPE_KEY": "VALUE-stripe-7q2m",
    "REGION": "VALUE-region-eu1x",
}
ENV_VALUES = {"APP_MODE": "VALUE-env-mode-4t8w"}
SETTINGS_VALUES = {"FEATURE_FLAG": "VALUE-settings-flag-6h1z"}


class SecretsMixin:
    emulator: Any

    def secrets(self) -> list[str]:
        """Every value and token of the test, plus the emulator's own env var values."""
        found = [
            *FILE_VALUES.values(),
            *ENV_VALUES.values(),
            *SETTINGS_VALUES.values(),
            self.emulator.secret_key,
            self.emulator.access_token,
        ]
        state = self.emulator.state
        with state.lock:
            for env in state.environments_by_public_slug(self.emulator.project_ref).values():
                found.extend(
                    value
                    for _name, value, _secret in state.envvars.resolved(env)
                    if len(value) >= 6
                )
        return sorted(set(found))

    def assertNoSecret(self, label: str, text: str, allowed: tuple[str, ...] = ()) -> None:
        leaked = [secret for secret in self.secrets() if secret in text and secret not in allowed]
        self.assertEqual(leaked, [], f"{label} shows {leaked}")


class CommandLeakTests(SecretsMixin, EmulatorTestMixin, SimpleTestCase):
    def setUp(self) -> None:
        super().setUp()
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.env_file = Path(directory.name) / ".env.prod"
        self.env_file.write_text(
            "".join(f"{k}={v}\n" for k, v in FILE_VALUES.items()), encoding="utf-8"
        )

    def sync(self, *args: str, token: str | None = None) -> tuple[int, str, str]:
        options = self.emulator.client_settings(ENVVARS=SETTINGS_VALUES)
        if token is not None:
            options.update(ACCESS_TOKEN=token, ENVIRONMENT="dev")
        out, err = io.StringIO(), io.StringIO()
        code, message = 0, ""
        with override_settings(TRIGGER={"default": options}):
            try:
                call_command(
                    "trigger_sync_envvars",
                    "--env-file",
                    str(self.env_file),
                    "--prefix",
                    "APP_",
                    "--secret",
                    "STRIPE_KEY",
                    "--no-input",
                    *args,
                    stdout=out,
                    stderr=err,
                )
            except CommandError as exc:
                code, message = exc.returncode, str(exc)
        return code, out.getvalue(), err.getvalue() + message

    def run_everything(self, extra: tuple[str, ...], token: str | None = None) -> None:
        import os

        os.environ.update(ENV_VALUES)
        self.addCleanup(lambda: [os.environ.pop(name, None) for name in ENV_VALUES])
        for output in ("text", "json"):
            for verbosity in ("0", "1", "2", "3"):
                for mode in (("--dry-run",), (), ("--check",)):
                    label = f"{output} -v{verbosity} {' '.join(mode + extra)}"
                    with self.subTest(label), all_logs() as logs:
                        code, stdout, stderr = self.sync(
                            "--format", output, "-v", verbosity, *mode, *extra, token=token
                        )
                        self.assertIn(code, (0, 1, 3), stderr)
                        self.assertNoSecret(f"{label} stdout", stdout)
                        self.assertNoSecret(f"{label} stderr", stderr)
                        self.assertEqual(logs.containing(*self.secrets()), [], label)
                        if output == "json":
                            json.loads(stdout)

    def test_runs_never_show_values_or_tokens(self):
        self.run_everything(())

    def test_runs_with_prune_and_overwrite(self):
        self.run_everything(("--prune", "--overwrite-secrets"))

    def test_runs_with_a_personal_access_token(self):
        self.run_everything(("-e", "dev"), token=self.emulator.access_token)

    def test_failures_never_show_values_or_tokens(self):
        faults = self.emulator.faults
        import_path = f"/api/v1/projects/{self.emulator.project_ref}/envvars/*/import"
        scenarios = {
            "import 500": lambda: faults.fail_next(5, 500, path=import_path),
            "import 400": lambda: faults.respond_next(
                1,
                400,
                body={
                    "error": "bad",
                    "variableErrors": [{"key": "REGION", "error": "already set"}],
                },
                path=import_path,
            ),
            "list 401": lambda: faults.fail_next(1, 401),
            "dropped": lambda: faults.drop_next(10),
        }
        for label, arrange in scenarios.items():
            for output in ("text", "json"):
                with self.subTest(label, output=output), all_logs() as logs:
                    self.emulator.reset()
                    arrange()
                    code, stdout, stderr = self.sync("--format", output, "-v", "3", "--prune")
                    self.assertEqual(code, 1, stdout + stderr)
                    self.assertNoSecret(f"{label} stdout", stdout)
                    self.assertNoSecret(f"{label} stderr", stderr)
                    self.assertEqual(logs.containing(*self.secrets()), [], label)

    def test_show_values_shows_only_values(self):
        code, stdout, stderr = self.sync("--dry-run", "--show-values", "-v", "2")
        self.assertEqual(code, 0, stderr)
        self.assertIn(FILE_VALUES["REGION"], stdout)
        self.assertNotIn(self.emulator.secret_key, stdout + stderr)

    def test_reprs_show_names_only(self):
        import os

        sources = envsync.Sources(
            env_files=[self.env_file],
            settings_envvars=SETTINGS_VALUES,
            environ=dict(os.environ, **ENV_VALUES),
            prefixes=["APP_"],
        )
        desired = envsync.collect(sources)
        client = get_client_for(self.emulator)
        target = envsync.resolve_targets(client)[0]
        plan = envsync.plan(client, target, desired, prune=True)
        result = envsync.apply(client, plan)
        for label, obj in (
            ("sources", sources),
            ("desired", desired),
            ("plan", plan),
            ("result", result),
            ("batches", envsync.import_batches(plan)),
            ("verification", result.verification),
        ):
            with self.subTest(label):
                self.assertNoSecret(label, repr(obj))
                self.assertNoSecret(label, str(obj))


def get_client_for(emulator: Any) -> Any:
    from django_trigger.client import TriggerClient

    return TriggerClient(
        emulator.secret_key, base_url=emulator.base_url, project_ref=emulator.project_ref
    )


class AdminLeakTests(SecretsMixin, AdminTestCase):
    def setUp(self) -> None:
        super().setUp()
        client = get_client()
        client.envvars.upload(FILE_VALUES, override=True)
        self.journal.clear()

    def test_pages_never_show_values_or_tokens(self):
        name = "REGION"
        pages = [
            ("changelist", lambda: self.client.get(self.url("envvar_changelist"))),
            (
                "changelist prod",
                lambda: self.client.get(self.url("envvar_changelist"), {"environment": "prod"}),
            ),
            ("change", lambda: self.client.get(self.url("envvar_change", name))),
            ("add", lambda: self.client.get(self.url("envvar_add"))),
            (
                "add POST",
                lambda: self.client.post(
                    self.url("envvar_add"), {"name": "ADDED", "value": "VALUE-added-2k9d"}
                ),
            ),
            (
                "add POST invalid",
                lambda: self.client.post(
                    self.url("envvar_add"), {"name": "BAD NAME", "value": "VALUE-invalid-5j3s"}
                ),
            ),
            (
                "change POST",
                lambda: self.client.post(
                    self.url("envvar_change", name), {"value": "VALUE-changed-8w1e"}
                ),
            ),
            ("delete", lambda: self.client.get(self.url("envvar_delete", "DATABASE_URL"))),
            (
                "delete POST",
                lambda: self.client.post(
                    self.url("envvar_delete", "DATABASE_URL"), {"post": "yes"}
                ),
            ),
            ("missing", lambda: self.client.get(self.url("envvar_change", "NOPE"))),
        ]
        extra = ("VALUE-added-2k9d", "VALUE-invalid-5j3s", "VALUE-changed-8w1e")
        for label, request in pages:
            with self.subTest(label), all_logs() as logs:
                response = request()
                self.assertIn(response.status_code, (200, 302, 404), label)
                html = response.content.decode()
                secrets = [*self.secrets(), *extra]
                self.assertEqual([s for s in secrets if s in html], [], label)
                self.assertEqual(logs.containing(*secrets), [], label)

    def test_api_errors_never_show_values_or_tokens(self):
        self.emulator.faults.fail_next(1, 500)
        with all_logs() as logs:
            response = self.client.post(
                self.url("envvar_change", "REGION"), {"value": "VALUE-failed-3n7b"}
            )
        html = response.content.decode()
        secrets = [*self.secrets(), "VALUE-failed-3n7b"]
        self.assertEqual([s for s in secrets if s in html], [])
        self.assertEqual(logs.containing(*secrets), [])

    def test_reveal_shows_the_value_in_the_page_only(self):
        """Django's template engine logs unresolved variables at DEBUG with the context's
        repr (the admin's base template asks for ``subtitle``): the value must not be in it."""
        value = FILE_VALUES["REGION"]
        with all_logs() as logs:
            response = self.client.post(self.url("envvar_reveal", "REGION"))
        self.assertContains(response, value)
        self.assertTrue(
            any(record.name == "django.template" for record in logs.records),
            "the template engine logged no unresolved variable: the test proves nothing",
        )
        self.assertEqual(logs.containing(value), [])
        self.assertEqual(logs.containing(*[s for s in self.secrets() if s != value]), [])

    def test_posted_values_are_hidden_from_error_reports(self):
        """Django's error reports (DEBUG 500 page, AdminEmailHandler, django.request) show
        POST data; the value field is marked sensitive on the add and change views."""
        from django.views.debug import SafeExceptionReporterFilter

        for label, url, data in (
            ("add", self.url("envvar_add"), {"name": "ADDED", "value": "VALUE-added-2k9d"}),
            ("change", self.url("envvar_change", "REGION"), {"value": "VALUE-changed-8w1e"}),
        ):
            with self.subTest(label):
                response = self.client.post(url, data)
                request = response.wsgi_request
                cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
                self.assertEqual(cleansed["value"], "********************")
                self.assertEqual(request.POST["value"], data["value"])


class ReprFieldTests(SimpleTestCase):
    def test_every_value_field_of_envsync_is_left_out_of_reprs(self):
        """A new dataclass field holding a value must say ``repr=False`` (or the class hide
        it in its own ``__repr__``), like ``Sources``."""
        import dataclasses

        from django_trigger import models
        from django_trigger.types import EnvVar

        checked = 0
        for obj in [*vars(envsync).values(), EnvVar]:
            if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
                continue
            own_repr = "__repr__" in vars(obj) and not getattr(obj.__repr__, "__wrapped__", None)
            for item in dataclasses.fields(obj):
                if "value" in item.name or item.name in ("environ", "settings_envvars"):
                    checked += 1
                    with self.subTest(f"{obj.__name__}.{item.name}"):
                        self.assertTrue(not item.repr or own_repr)
        self.assertGreaterEqual(checked, 6)
        self.assertNotIn("s3cret", repr(models.EnvVar(name="A", value="s3cret")))
