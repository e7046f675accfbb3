"""One set of checks for the client's arguments and the settings: every bad value is refused
by ``TriggerClient(...)`` and by ``TRIGGER`` with the same message, and no message echoes a
credential, a token or a long value."""

from __future__ import annotations

from django.test import override_settings

from django_trigger import validators
from django_trigger.client import TriggerClient
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import ConfigurationError, InvalidRequestError
from tests.conf.utils import DEV_KEY, PAT, ConfTestCase, environment

SECRET = "hunter2-pa55"  # marks what must never appear in a message

# (setting key, client argument, bad value, the message after the value's name)
CASES = [
    (
        "API_URL",
        "base_url",
        f"ftp://user:{SECRET}@host/x",
        "must not contain credentials (user:password@)",
    ),
    (
        "API_URL",
        "base_url",
        f"https://user:{SECRET}@host",
        "must not contain credentials (user:password@)",
    ),
    (
        "API_URL",
        "base_url",
        "http://:80",
        "must be an absolute http:// or https:// URL with a host",
    ),
    (
        "API_URL",
        "base_url",
        "api.trigger.dev",
        "must be an absolute http:// or https:// URL with a host",
    ),
    ("API_URL", "base_url", "https://", "must be an absolute http:// or https:// URL with a host"),
    (
        "API_URL",
        "base_url",
        f"https://api.trigger.dev/?key={SECRET}",
        "must not contain a query string or a fragment",
    ),
    (
        "API_URL",
        "base_url",
        f"https://api.trigger.dev/#{SECRET}",
        "must not contain a query string or a fragment",
    ),
    (
        "API_URL",
        "base_url",
        "https://api.trigger.dev:http",
        "must have a numeric port between 0 and 65535",
    ),
    (
        "API_URL",
        "base_url",
        "https://api.trigger.dev:99999",
        "must have a numeric port between 0 and 65535",
    ),
    (
        "API_URL",
        "base_url",
        f"https://api.trigger.dev/\n{SECRET}",
        "must be an absolute http:// or https:// URL without spaces or control characters",
    ),
    ("API_URL", "base_url", 8080, "must be a string, not int"),
    (
        "DASHBOARD_URL",
        "dashboard_url",
        f"https://u:{SECRET}@cloud.trigger.dev",
        "must not contain credentials (user:password@)",
    ),
    ("PROJECT_REF", "project_ref", DEV_KEY, "is not a project ref (proj_…): tr_dev_…1234"),
    ("PROJECT_REF", "project_ref", PAT, "is not a project ref (proj_…): tr_pat_…7890"),
    ("PROJECT_REF", "project_ref", "my-project", "is not a project ref (proj_…): 'my-project'"),
    ("PROJECT_REF", "project_ref", "proj_abc-def", "is not a project ref (proj_…): 'proj_abc-def'"),
    (
        "PROJECT_REF",
        "project_ref",
        f"proj_abc # {SECRET}" * 3,
        "is not a project ref (proj_…): a 69-character string",
    ),
    (
        "PROJECT_REF",
        "project_ref",
        "proj_abc\u0661",
        "is not a project ref (proj_…): 'proj_abc\u0661'",
    ),
    ("PROJECT_REF", "project_ref", ["proj_abc"], "must be a string, not list"),
    (
        "ENVIRONMENT",
        "environment",
        "qa",
        "must be dev, staging (or stg), prod or preview, not 'qa'",
    ),
    (
        "ENVIRONMENT",
        "environment",
        DEV_KEY,
        "must be dev, staging (or stg), prod or preview, not tr_dev_…1234",
    ),
    (
        "HEADERS",
        "headers",
        {"Authorization": f"Bearer {SECRET}"},
        "must not set Authorization (the token is ACCESS_TOKEN / access_token)",
    ),
    (
        "HEADERS",
        "headers",
        {"X-Team": f"a\r\nX-Injected: {SECRET}"},
        "has a control character (a line break?) in the value of X-Team",
    ),
    (
        "HEADERS",
        "headers",
        {"X Team": SECRET},
        "has a header name that is not a valid HTTP token: 'X Team'",
    ),
    ("HEADERS", "headers", {"X-Team": 5}, "must map X-Team to a string, not int"),
    ("HEADERS", "headers", [("X-Team", SECRET)], "must be a dict, not list"),
    *[
        (
            "PREVIEW_BRANCH",
            "preview_branch",
            value,
            f"is not a valid git branch name: {shown} (no spaces, control characters, ~ ^ : ? * "
            "[ \\, '..', '//' or '@{', no leading or trailing '/', no '.lock' ending)",
        )
        for value, shown in [
            ("feature login", "'feature login'"),
            ("a..b", "'a..b'"),
            ("fe\nat", "'fe\\nat'"),
            ("/feat", "'/feat'"),
            ("feat.lock", "'feat.lock'"),
            ("a@{1}", "'a@{1}'"),
        ]
    ],
    ("PREVIEW_BRANCH", "preview_branch", 5, "must be a string, not int"),
]


class SameRulesOnBothPathsTests(ConfTestCase):
    def client_error(self, argument: str, value: object) -> str:
        options: dict[str, object] = {argument: value}
        token = PAT if argument == "environment" else DEV_KEY
        with self.assertRaises(ConfigurationError) as caught:
            TriggerClient(token, **options)  # type: ignore[arg-type]
        return str(caught.exception)

    def settings_problems(self, key: str, value: object) -> list[str]:
        options = {"ACCESS_TOKEN": PAT, "PROJECT_REF": "proj_abc123", key: value}
        with override_settings(TRIGGER={"default": options}), environment():
            return [problem.message for problem in trigger_settings.problems]

    def test_every_bad_value_is_refused_the_same_way(self):
        for key, argument, value, message in CASES:
            with self.subTest(key=key, value=value):
                client_message = self.client_error(argument, value)
                self.assertEqual(client_message, f"{argument} {message}")
                problems = self.settings_problems(key, value)
                self.assertIn(f"TRIGGER['default'][{key!r}] {message}.", problems)
                for text in [client_message, *problems]:
                    self.assertNotIn(SECRET, text)
                    self.assertNotIn(DEV_KEY, text)
                    self.assertNotIn(PAT, text)

    def test_good_values_are_accepted_the_same_way(self):
        good = [
            ("API_URL", "base_url", "http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
            ("API_URL", "base_url", " https://api.trigger.dev ", "https://api.trigger.dev"),
            ("API_URL", "base_url", "http://[::1]:3030", "http://[::1]:3030"),
            (
                "PROJECT_REF",
                "project_ref",
                "proj_yubjwjsfkxnylobaqvqz",
                "proj_yubjwjsfkxnylobaqvqz",
            ),
            ("ENVIRONMENT", "environment", "stg", "staging"),
            ("HEADERS", "headers", {"X-Team": "ops\tnight"}, {"X-Team": "ops\tnight"}),
        ]
        for key, argument, value, cleaned in good:
            with self.subTest(key=key, value=value):
                token = PAT if argument == "environment" else DEV_KEY
                client = TriggerClient(token, **{argument: value})  # type: ignore[arg-type]
                self.assertEqual(getattr(client, argument), cleaned)
                client.close()
                options = {"ACCESS_TOKEN": PAT, "PROJECT_REF": "proj_abc123", key: value}
                with override_settings(TRIGGER={"default": options}), environment():
                    self.assertEqual(trigger_settings.problems, ())
                    self.assertEqual(trigger_settings.get()[key], cleaned)

    def test_a_project_ref_per_call_is_checked_with_the_same_rule(self):
        client = TriggerClient(PAT, environment="dev")
        self.addCleanup(client.close)
        with self.assertRaises(InvalidRequestError) as caught:
            client.envvars.list(project_ref=DEV_KEY)
        self.assertEqual(
            str(caught.exception), "project_ref is not a project ref (proj_…): tr_dev_…1234"
        )
        with self.assertRaises(InvalidRequestError) as caught:
            client.envvars.list(project_ref="proj_abc\n")
        self.assertEqual(
            str(caught.exception), "project_ref is not a project ref (proj_…): 'proj_abc\\n'"
        )

    def test_one_pattern_for_project_refs(self):
        """The client, the settings and the resources use ``validators.PROJECT_REF``."""
        import inspect

        from django_trigger import client, conf

        for module in (client, conf):
            self.assertNotIn("proj_[", inspect.getsource(module))
        self.assertTrue(validators.PROJECT_REF.fullmatch("proj_abc"))
        self.assertFalse(validators.PROJECT_REF.fullmatch("proj_abc\n"))


class TaskIdentifierTests(ConfTestCase):
    def test_rule(self):
        for good in ("send-email", "emails/welcome", "a", "x" * 128, "Task_1.v2", "café"):
            with self.subTest(good=good):
                self.assertEqual(validators.task_identifier(good), good)
        bad = {
            "": "must not be empty",
            "x" * 129: "is at most 128 characters, not 129",
            "send email": "must not contain whitespace or control characters: 'send email'",
            "send-email\n": "must not contain whitespace or control characters",
            "a\x00b": "must not contain whitespace or control characters",
            "../envvars": "without empty, '.' or '..' parts between slashes",
            "a/../b": "without empty, '.' or '..' parts between slashes",
            "/a": "without empty, '.' or '..' parts between slashes",
            "a//b": "without empty, '.' or '..' parts between slashes",
            ".": "without empty, '.' or '..' parts between slashes",
            "a?b=1": "must be the id of a task, without ?",
            "a#b": "must be the id of a task, without #",
            "a%2Fb": "must be the id of a task, without %",
            "a\\b": "must be the id of a task, without \\",
        }
        for value, message in bad.items():
            with self.subTest(value=value), self.assertRaises(ValueError) as caught:
                validators.task_identifier(value)
            self.assertIn(message, str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            validators.task_identifier("y" * 10_000)
        self.assertEqual(str(caught.exception), "is at most 128 characters, not 10000")
