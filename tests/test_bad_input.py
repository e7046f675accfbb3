"""Bad input, table-driven: every case is refused with a specific message BEFORE anything is
sent (the emulator's journal stays empty) and nothing is written.

Four tables: the client's public methods, the client's constructor and the settings, the
sources of ``trigger_sync_envvars`` (through the command), and the admin's forms.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, override_settings

from django_trigger.admin.forms import AddTagsForm, EnvVarForm, RescheduleForm, ScheduleForm
from django_trigger.client import TriggerClient
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import ConfigurationError, InvalidRequestError
from django_trigger.resources.tasks import BatchItem, TriggerOptions
from django_trigger.testing import EmulatorTestMixin
from tests.conf.utils import environment

RUN = "run_cm1abc2def3ghi4jkl5mno6pq"
LONG_ID = "t" * 10_000


def schedule(client: TriggerClient, **options: Any) -> Any:
    arguments = {"task": "daily-report", "cron": "0 * * * *", "deduplication_key": "k"}
    return client.schedules.create(**{**arguments, **options})


# (label, call on a secret-key client ``c`` and a personal-token client ``p``, message part)
Case = tuple[str, Callable[[TriggerClient, TriggerClient], Any], str]

CLIENT_CASES: list[Case] = [
    # -- task identifiers: every method that takes one --------------------------------------
    (
        "trigger ../",
        lambda c, p: c.tasks.trigger("../envvars"),
        "task_identifier must be the id of a task, without empty, '.' or '..' parts",
    ),
    ("trigger ..", lambda c, p: c.tasks.trigger(".."), "'.' or '..' parts"),
    (
        "trigger ?",
        lambda c, p: c.tasks.trigger("send?x=1"),
        "task_identifier must be the id of a task, without ?",
    ),
    ("trigger #", lambda c, p: c.tasks.trigger("send#x"), "without #"),
    ("trigger %", lambda c, p: c.tasks.trigger("send%2Fx"), "without %"),
    ("trigger backslash", lambda c, p: c.tasks.trigger("a\\b"), "without \\"),
    (
        "trigger 10,000 chars",
        lambda c, p: c.tasks.trigger(LONG_ID),
        "task_identifier is at most 128 characters, not 10000",
    ),
    ("trigger 129 chars", lambda c, p: c.tasks.trigger("t" * 129), "at most 128 characters"),
    ("trigger empty", lambda c, p: c.tasks.trigger(""), "task_identifier must not be empty"),
    (
        "trigger space",
        lambda c, p: c.tasks.trigger("send email"),
        "must not contain whitespace or control characters",
    ),
    (
        "trigger newline",
        lambda c, p: c.tasks.trigger("send-email\n"),
        "must not contain whitespace or control characters",
    ),
    ("trigger NUL", lambda c, p: c.tasks.trigger("send\x00email"), "control characters"),
    ("trigger tab", lambda c, p: c.tasks.trigger("\tsend"), "control characters"),
    ("trigger U+2028", lambda c, p: c.tasks.trigger("send\u2028email"), "control characters"),
    ("trigger int", lambda c, p: c.tasks.trigger(42), "task_identifier must be a string, not int"),
    ("trigger None", lambda c, p: c.tasks.trigger(None), "must be a string, not NoneType"),
    ("trigger trailing slash", lambda c, p: c.tasks.trigger("emails/"), "'.' or '..' parts"),
    (
        "batch item ../",
        lambda c, p: c.tasks.batch_trigger([{"task": "../x"}]),
        "batch item 0: task must be the id of a task",
    ),
    (
        "batch item 2 long",
        lambda c, p: c.tasks.batch_trigger(
            [BatchItem(task="a"), BatchItem(task="b"), BatchItem(task=LONG_ID)]
        ),
        "batch item 2: task is at most 128 characters",
    ),
    (
        "batch item missing task",
        lambda c, p: c.tasks.batch_trigger([{"payload": 1}]),
        "batch item 0: task must be a string, not NoneType",
    ),
    ("batch item ?", lambda c, p: c.tasks.batch_trigger([{"task": "a?b"}]), "without ?"),
    ("batch empty", lambda c, p: c.tasks.batch_trigger([]), "a batch needs at least one item"),
    (
        "batch too big",
        lambda c, p: c.tasks.batch_trigger([{"task": "a"}] * 1001),
        "a batch holds at most 1000 items",
    ),
    (
        "batch unknown key",
        lambda c, p: c.tasks.batch_trigger([{"task": "a", "x": 1}]),
        "batch item 0: unknown key(s) ['x']",
    ),
    (
        "batch item not mapping",
        lambda c, p: c.tasks.batch_trigger(["a"]),
        "batch item 0 must be a BatchItem or a mapping",
    ),
    (
        "reset key task ../",
        lambda c, p: c.idempotency_keys.reset("../x", "k"),
        "task_identifier must be the id of a task",
    ),
    (
        "reset key task long",
        lambda c, p: c.idempotency_keys.reset(LONG_ID, "k"),
        "task_identifier is at most 128 characters",
    ),
    (
        "reset key empty key",
        lambda c, p: c.idempotency_keys.reset("send-email", ""),
        "idempotency_key must be a non-empty string",
    ),
    (
        "runs.list task ?",
        lambda c, p: c.runs.list(task_identifier="a?b"),
        "task_identifier must be the id of a task, without ?",
    ),
    (
        "runs.list task in list",
        lambda c, p: c.runs.list(task_identifier=["ok", "../x"]),
        "'.' or '..' parts",
    ),
    (
        "runs.list task long",
        lambda c, p: c.runs.list(task_identifier=[LONG_ID]),
        "at most 128 characters",
    ),
    (
        "runs.list task comma",
        lambda c, p: c.runs.list(task_identifier="a,b"),
        "task_identifier values must not contain commas",
    ),
    (
        "runs.list queue task",
        lambda c, p: c.runs.list(queue={"type": "task", "name": "a?b"}),
        "queue's task must be the id of a task",
    ),
    (
        "bulk filter task",
        lambda c, p: c.bulk_actions.create("cancel", filter={"task_identifier": "../x"}),
        "'.' or '..' parts",
    ),
    (
        "schedule task ../",
        lambda c, p: schedule(c, task="../x", cron="0 * * * *"),
        "task must be the id of a task",
    ),
    (
        "schedule task long",
        lambda c, p: schedule(c, task=LONG_ID, cron="0 * * * *"),
        "task is at most 128 characters",
    ),
    (
        "schedule task newline",
        lambda c, p: schedule(c, task="daily\n", cron="0 * * * *"),
        "task must not contain whitespace or control characters",
    ),
    (
        "queues.retrieve task",
        lambda c, p: c.queues.retrieve("a?b", type="task"),
        "queue must be the id of a task, without ?",
    ),
    ("queues.pause task ..", lambda c, p: c.queues.pause("..", type="task"), "'.' or '..'"),
    # -- trigger options --------------------------------------------------------------------
    ("ttl newline", lambda c, p: c.tasks.trigger("t", ttl="1h\n1d"), "ttl must be a duration"),
    ("delay word", lambda c, p: c.tasks.trigger("t", delay="soon"), "delay must be a duration"),
    (
        "delay naive",
        lambda c, p: c.tasks.trigger("t", delay=datetime(2030, 1, 1)),
        "delay must be an aware datetime",
    ),
    (
        "delay negative",
        lambda c, p: c.tasks.trigger("t", delay=timedelta(seconds=-1)),
        "delay must be a positive duration",
    ),
    (
        "idempotency ttl",
        lambda c, p: c.tasks.trigger("t", idempotency_key="k", idempotency_key_ttl="1w"),
        "idempotency_key_ttl must be a duration like '30s'",
    ),
    (
        "idempotency key long",
        lambda c, p: c.tasks.trigger("t", idempotency_key="k" * 2049),
        "idempotency_key is at most 2048 characters",
    ),
    (
        "idempotency ttl fullwidth",
        lambda c, p: c.tasks.trigger("t", idempotency_key="k", idempotency_key_ttl="\uff11h"),
        "idempotency_key_ttl must be a duration like '30s'",
    ),
    (
        "delay fullwidth",
        lambda c, p: c.tasks.trigger("t", delay="\uff11h"),
        "delay must be a duration",
    ),
    (
        "ttl arabic digits",
        lambda c, p: c.tasks.trigger("t", ttl="\u0661\u0660m"),
        "ttl must be a duration",
    ),
    (
        "runs.list period fullwidth",
        lambda c, p: c.runs.list(period="\uff17d"),
        "period must look like '30m'",
    ),
    (
        "tags empty",
        lambda c, p: c.tasks.trigger("t", tags=["ok", " "]),
        "tags must be non-empty strings",
    ),
    (
        "tags too many",
        lambda c, p: c.tasks.trigger("t", tags=[f"t{i}" for i in range(11)]),
        "a run can have at most 10 tags",
    ),
    ("machine", lambda c, p: c.tasks.trigger("t", machine="huge"), "unknown machine 'huge'"),
    ("priority", lambda c, p: c.tasks.trigger("t", priority=-1), "priority must be an integer"),
    (
        "max attempts",
        lambda c, p: c.tasks.trigger("t", max_attempts=0),
        "max_attempts must be an integer >= 1",
    ),
    ("unknown option", lambda c, p: c.tasks.trigger("t", colour="red"), "unknown trigger option"),
    (
        "options twice",
        lambda c, p: c.tasks.trigger("t", options=TriggerOptions(), ttl="1h"),
        "pass options= or option keywords, not both",
    ),
    (
        "payload",
        lambda c, p: c.tasks.trigger("t", {"a": object()}),
        "the payload must be JSON-serialisable",
    ),
    ("metadata", lambda c, p: c.tasks.trigger("t", metadata=[1]), "metadata must be a mapping"),
    ("test flag", lambda c, p: c.tasks.trigger("t", test="yes"), "test must be True or False"),
    # -- env var names and values -----------------------------------------------------------
    (
        "create NAME\\n",
        lambda c, p: c.envvars.create("NAME\n", "v"),
        "invalid environment variable name 'NAME\\n'",
    ),
    (
        "create space",
        lambda c, p: c.envvars.create("MY NAME", "v"),
        "invalid environment variable name 'MY NAME'",
    ),
    ("create dash", lambda c, p: c.envvars.create("MY-NAME", "v"), "invalid environment variable"),
    ("create non-ascii", lambda c, p: c.envvars.create("NAMÉ", "v"), "invalid environment"),
    ("create arabic digit", lambda c, p: c.envvars.create("A\u0661", "v"), "invalid environment"),
    ("create empty name", lambda c, p: c.envvars.create("", "v"), "invalid environment variable"),
    (
        "create reserved",
        lambda c, p: c.envvars.create("TRIGGER_SECRET_KEY", "v"),
        "TRIGGER_SECRET_KEY is reserved",
    ),
    ("create reserved url", lambda c, p: c.envvars.create("TRIGGER_API_URL", "v"), "is reserved"),
    ("create value int", lambda c, p: c.envvars.create("A", 5), "the value of A must be a string"),
    (
        "create secret flag",
        lambda c, p: c.envvars.create("A", "v", is_secret="yes"),
        "is_secret must be True or False",
    ),
    (
        "retrieve NAME\\n",
        lambda c, p: c.envvars.retrieve("NAME\n"),
        "invalid environment variable name",
    ),
    (
        "update NAME\\n",
        lambda c, p: c.envvars.update("NAME\n", "v"),
        "invalid environment variable name",
    ),
    (
        "delete NAME\\n",
        lambda c, p: c.envvars.delete("NAME\n"),
        "invalid environment variable name",
    ),
    ("delete ../", lambda c, p: c.envvars.delete("../x"), "invalid environment variable name"),
    (
        "upload NAME\\n",
        lambda c, p: c.envvars.upload({"OK": "1", "NAME\n": "2"}),
        "invalid environment variable name 'NAME\\n'",
    ),
    (
        "upload value None",
        lambda c, p: c.envvars.upload({"A": None}),
        "the value of A must be a string",
    ),
    (
        "upload parent NAME\\n",
        lambda c, p: c.envvars.upload({"A": "1"}, parent_variables={"B\n": "2"}),
        "invalid environment variable name",
    ),
    (
        "upload file + secret",
        lambda c, p: c.envvars.upload("A=1\n", is_secret=True),
        "is_secret and parent_variables need variables as a mapping",
    ),
    (
        "upload override str",
        lambda c, p: c.envvars.upload({"A": "1"}, override="yes"),
        "override must be True or False",
    ),
    (
        "envvars other env",
        lambda c, p: c.envvars.list(environment="prod"),
        "this secret key belongs to 'dev'",
    ),
    (
        "envvars bad env",
        lambda c, p: p.envvars.list(environment="qa"),
        "environment must be dev, staging (or stg), prod or preview, not 'qa'",
    ),
    (
        "envvars env token",
        lambda c, p: p.envvars.list(environment="tr_prod_abcdefghijkl1234"),
        "environment must be dev, staging (or stg), prod or preview, not tr_prod_…1234",
    ),
    (
        "envvars ref token",
        lambda c, p: p.envvars.list(project_ref="tr_pat_abcdefghijkl9876"),
        "project_ref is not a project ref (proj_…): tr_pat_…9876",
    ),
    (
        "envvars branch space",
        lambda c, p: p.envvars.list(environment="preview", branch="my branch"),
        "branch is not a valid git branch name: 'my branch'",
    ),
    (
        "envvars branch newline",
        lambda c, p: p.envvars.create("A", "v", environment="preview", branch="feat\nX-Evil: 1"),
        "branch is not a valid git branch name",
    ),
    (
        "envvars ref newline",
        lambda c, p: p.envvars.list(project_ref="proj_abc\n"),
        "project_ref is not a project ref",
    ),
    # -- ids in paths -----------------------------------------------------------------------
    (
        "runs.retrieve ../",
        lambda c, p: c.runs.retrieve("../envvars"),
        "'../envvars' is not a valid run",
    ),
    ("runs.retrieve ..", lambda c, p: c.runs.retrieve(".."), "'..' is not allowed in a path"),
    (
        "runs.retrieve newline",
        lambda c, p: c.runs.retrieve(RUN + "\n"),
        "must not contain control characters",
    ),
    (
        "runs.retrieve not a run",
        lambda c, p: c.runs.retrieve("batch_abc"),
        "'batch_abc' is not a valid run",
    ),
    ("runs.retrieve empty", lambda c, p: c.runs.retrieve(""), "run must not be empty"),
    ("runs.cancel int", lambda c, p: c.runs.cancel(5), "run must be a string, not int"),
    ("runs.replay %2e%2e", lambda c, p: c.runs.replay("%2e%2e"), "is not allowed in a path"),
    ("batches.retrieve run id", lambda c, p: c.batches.retrieve(RUN), "is not a valid batch"),
    (
        "bulk retrieve",
        lambda c, p: c.bulk_actions.retrieve("../x"),
        "'../x' is not a valid bulk action",
    ),
    (
        "bulk list both cursors",
        lambda c, p: c.bulk_actions.list(after="a", before="b"),
        "pass either after or before, not both",
    ),
    ("bulk list empty after", lambda c, p: c.bulk_actions.list(after=" "), "after must be"),
    ("bulk list limit", lambda c, p: c.bulk_actions.list(limit=0), "limit must be an integer"),
    ("deployments after", lambda c, p: c.deployments.list(after=""), "after must be"),
    ("deployments limit", lambda c, p: c.deployments.list(limit=101), "limit must be an integer"),
    ("queues.retrieve id", lambda c, p: c.queues.retrieve("task/x"), "is not a queue id"),
    (
        "queues.retrieve type",
        lambda c, p: c.queues.retrieve("x", type="name"),
        "type must be 'id', 'task' or 'custom'",
    ),
    # -- runs: filters and actions ----------------------------------------------------------
    ("runs.list status", lambda c, p: c.runs.list(status="DONE"), "unknown run status DONE"),
    ("runs.list limit 0", lambda c, p: c.runs.list(limit=0), "limit must be an integer from 1"),
    ("runs.list limit 101", lambda c, p: c.runs.list(limit=101), "limit must be an integer"),
    (
        "runs.list period newline",
        lambda c, p: c.runs.list(period="7d\n"),
        "period must look like '30m'",
    ),
    (
        "runs.list from naive",
        lambda c, p: c.runs.list(from_=datetime(2024, 1, 1)),
        "from_ must be an aware datetime",
    ),
    ("runs.list machine", lambda c, p: c.runs.list(machine="huge"), "unknown machine huge"),
    ("runs.list is_test", lambda c, p: c.runs.list(is_test="yes"), "is_test must be True or False"),
    (
        "runs.list tag empty",
        lambda c, p: c.runs.list(tag=["a", ""]),
        "tag must not contain empty values",
    ),
    (
        "runs.list bulk empty",
        lambda c, p: c.runs.list(bulk_action=" "),
        "bulk_action must be a non-empty string",
    ),
    (
        "reschedule delay",
        lambda c, p: c.runs.reschedule(RUN, delay="1h\n2m"),
        "delay must be a duration",
    ),
    ("add_tags none", lambda c, p: c.runs.add_tags(RUN, []), "pass at least one tag"),
    # -- schedules --------------------------------------------------------------------------
    (
        "cron 6 fields",
        lambda c, p: schedule(c, task="t", cron="0 0 * * * *"),
        "cron expressions with seconds are not allowed",
    ),
    (
        "cron garbage",
        lambda c, p: schedule(c, task="t", cron="every day"),
        "invalid cron expression",
    ),
    ("cron empty", lambda c, p: schedule(c, task="t", cron=" "), "cron must be a non-empty string"),
    (
        "window newline",
        lambda c, p: schedule(c, task="t", cron="0 * * * *", window="5m\n"),
        "window must look like '15m'",
    ),
    ("window fullwidth", lambda c, p: schedule(c, window="\uff15m"), "window must look like"),
    (
        "window unit",
        lambda c, p: schedule(c, task="t", cron="0 * * * *", window="5d"),
        "window must look like",
    ),
    (
        "timezone blank",
        lambda c, p: schedule(c, task="t", cron="0 * * * *", timezone=" "),
        "timezone must be an IANA name",
    ),
    (
        "schedules.list per_page",
        lambda c, p: c.schedules.list(per_page=500),
        "per_page must be at most 100",
    ),
    ("queues.list page 0", lambda c, p: c.queues.list(page=0), "page must be a positive integer"),
]

# (label, TriggerClient arguments, message)
CONSTRUCTOR_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no token", {"access_token": ""}, "No Trigger.dev access token"),
    (
        "token with space",
        {"access_token": "tr_dev_abc def"},
        "The access token must not contain whitespace.",
    ),
    ("token newline", {"access_token": "tr_dev_abcdef\n"}, "must not contain whitespace"),
    (
        "url creds",
        {"base_url": "ftp://user:pa55word@host/x"},
        "base_url must not contain credentials (user:password@)",
    ),
    ("url no host", {"base_url": "http://:80"}, "base_url must be an absolute http:// or"),
    (
        "url newline",
        {"base_url": "https://api.trigger.dev\n/x"},
        "base_url must be an absolute http:// or https:// URL without spaces",
    ),
    (
        "dashboard query",
        {"dashboard_url": "https://cloud.trigger.dev/?a=1"},
        "dashboard_url must not contain a query string or a fragment",
    ),
    (
        "ref token",
        {"project_ref": "tr_prod_abcdefghijkl5555"},
        "project_ref is not a project ref (proj_…): tr_prod_…5555",
    ),
    ("ref newline", {"project_ref": "proj_abc\n"}, "project_ref is not a project ref"),
    ("environment", {"environment": "qa"}, "environment must be dev, staging"),
    ("environment other", {"environment": "prod"}, "environment 'prod' contradicts the secret"),
    ("timeout", {"timeout": 0}, "timeout"),
    ("retry", {"retry": {"max_attempts": 0}}, "invalid retry option"),
    (
        "headers auth",
        {"headers": {"authorization": "Bearer x"}},
        "headers must not set Authorization",
    ),
    (
        "headers CRLF",
        {"headers": {"X-A": "1\r\nX-B: 2"}},
        "headers has a control character (a line break?) in the value of X-A",
    ),
    ("headers name", {"headers": {"X A": "1"}}, "headers has a header name that is not a valid"),
    ("branch", {"preview_branch": "feat..x"}, "preview_branch is not a valid git branch name"),
]

# (label, TRIGGER["default"] options, problem message part)
SETTINGS_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("url no host", {"API_URL": "http://:80"}, "['API_URL'] must be an absolute http://"),
    ("url creds", {"API_URL": "https://u:p@api.trigger.dev"}, "must not contain credentials"),
    (
        "ref token",
        {"PROJECT_REF": "tr_prod_abcdefghijkl5555"},
        "['PROJECT_REF'] is not a project ref (proj_…): tr_prod_…5555",
    ),
    (
        "ref comment",
        {"PROJECT_REF": "proj_abc # prod"},
        "is not a project ref (proj_…): 'proj_abc # prod'",
    ),
    ("environment", {"ENVIRONMENT": "qa"}, "['ENVIRONMENT'] must be dev, staging"),
    ("headers CRLF", {"HEADERS": {"X-A": "1\nX-B: 2"}}, "['HEADERS'] has a control character"),
    ("timeout", {"TIMEOUT": "fast"}, "['TIMEOUT'] must be a positive number of seconds"),
    ("retry", {"RETRY": {"MAX_ATTEMPTS": "3"}}, "['RETRY']['MAX_ATTEMPTS'] must be a number"),
    ("unknown key", {"PROJECT": "proj_abc"}, "Unknown key 'PROJECT'"),
    ("branch", {"PREVIEW_BRANCH": "feat\nx"}, "['PREVIEW_BRANCH'] is not a valid git branch"),
    ("token shape", {"ACCESS_TOKEN": "sk_live_abcdef"}, "is not a Trigger.dev access token"),
]


class ClientBadInputTests(EmulatorTestMixin, SimpleTestCase):
    def make_client(self, token: str, **options: Any) -> TriggerClient:
        client = TriggerClient(
            token, base_url=self.emulator.base_url, project_ref=self.emulator.project_ref, **options
        )
        self.addCleanup(client.close)
        return client

    def test_methods_refuse_before_sending(self):
        self.assertGreaterEqual(len(CLIENT_CASES), 100)
        secret = self.make_client(self.emulator.secret_key)
        personal = self.make_client(self.emulator.access_token, environment="dev")
        journal = self.emulator.journal
        journal.clear()
        for label, call, message in CLIENT_CASES:
            with self.subTest(label):
                with self.assertRaises(InvalidRequestError) as caught:
                    call(secret, personal)
                self.assertIn(message, str(caught.exception))
                self.assertEqual(len(journal), 0, [entry.path for entry in journal])
                for token in (self.emulator.secret_key, self.emulator.access_token):
                    self.assertNotIn(token, str(caught.exception))
        self.assertEqual(self.remote_envvar_names(), self.initial_names)

    def setUp(self) -> None:
        super().setUp()
        self.initial_names = self.remote_envvar_names()

    def remote_envvar_names(self) -> set[str]:
        state = self.emulator.state
        with state.lock:
            env = state.environments_by_public_slug(self.emulator.project_ref)["dev"]
            return {name for name, _value, _secret in state.envvars.resolved(env)}

    def test_constructor_refuses(self):
        for label, arguments, message in CONSTRUCTOR_CASES:
            with self.subTest(label):
                arguments = dict(arguments)
                token = arguments.pop("access_token", self.emulator.secret_key)
                with self.assertRaises(ConfigurationError) as caught:
                    TriggerClient(token, **arguments)
                self.assertIn(message, str(caught.exception))
                self.assertNotIn("pa55word", str(caught.exception))
                self.assertNotIn("abcdefghijkl5555", str(caught.exception))
        self.assertEqual(len(self.emulator.journal), 0)


class SettingsBadInputTests(SimpleTestCase):
    def test_settings_problems(self):
        for label, options, message in SETTINGS_CASES:
            with self.subTest(label):
                full = {"ACCESS_TOKEN": "tr_dev_AbCdEfGhIjKlMnOpQrSt1234", **options}
                with override_settings(TRIGGER={"default": full}), environment():
                    problems = [p.message for p in trigger_settings.problems]
                    with self.assertRaises(ConfigurationError):
                        trigger_settings.get()
                self.assertTrue(any(message in p for p in problems), problems)
                self.assertFalse(any("abcdefghijkl5555" in p for p in problems), problems)


class CommandBadInputTests(EmulatorTestMixin, SimpleTestCase):
    """The sync command: every source problem exits 1 before any request."""

    def setUp(self) -> None:
        super().setUp()
        import tempfile
        from pathlib import Path

        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.dir = Path(directory.name)

    def file(self, content: str) -> str:
        path = self.dir / ".env"
        path.write_text(content, encoding="utf-8")
        return str(path)

    def sync(self, *args: str, envvars: Any = None) -> str:
        options = self.emulator.client_settings()
        if envvars is not None:
            options["ENVVARS"] = envvars
        out, err = io.StringIO(), io.StringIO()
        with (
            override_settings(TRIGGER={"default": options}),
            self.assertRaises(CommandError) as caught,
        ):
            call_command("trigger_sync_envvars", *args, "--no-input", stdout=out, stderr=err)
        self.assertEqual(caught.exception.returncode, 1)
        return str(caught.exception) + out.getvalue() + err.getvalue()

    def test_sources_refused_before_sending(self):
        cases: list[tuple[str, Callable[[], str], str]] = [
            (
                "file name with \\x0c",
                lambda: self.sync("--env-file", self.file("A\x0cB=1\n")),
                "the name contains the control character U+000C",
            ),
            (
                "file name with space",
                lambda: self.sync("--env-file", self.file("A B=1\n")),
                "'A B' is not a valid name",
            ),
            (
                "file space before =",
                lambda: self.sync("--env-file", self.file("A =1\n")),
                "spaces before '=' are not allowed",
            ),
            (
                "file indented",
                lambda: self.sync("--env-file", self.file("  A=1\n")),
                "a variable line must not be indented",
            ),
            (
                "file stray line",
                lambda: self.sync("--env-file", self.file("A=1\nrest\n")),
                "not NAME=value: each line must be NAME=value, a # comment or blank.",
            ),
            (
                "file continuation",
                lambda: self.sync("--env-file", self.file('A="one\ntwo"\n')),
                "the previous variable's quoted value seems to continue",
            ),
            (
                "file dash name",
                lambda: self.sync("--env-file", self.file("MY-NAME=1\n")),
                "'MY-NAME' is not a valid name",
            ),
            ("file empty value", lambda: self.sync("--env-file", self.file("A=\n")), "A is empty"),
            (
                "file NUL",
                lambda: self.sync("--env-file", self.file("A=x\x00y\n")),
                "contains a NUL character",
            ),
            (
                "file conflict",
                lambda: self.sync("--env-file", self.file("A=1\nA=2\n")),
                "A is defined with different values",
            ),
            (
                "missing file",
                lambda: self.sync("--env-file", str(self.dir / "nope.env")),
                "cannot read the file",
            ),
            (
                "settings NAME\\n",
                lambda: self.sync(envvars={"NAME\n": "v"}),
                "'NAME\\n' is not a valid name",
            ),
            (
                "settings value int",
                lambda: self.sync(envvars={"A": 1}),
                "must be a string (or None to read the environment), not int",
            ),
            (
                "settings type",
                lambda: self.sync(envvars="A"),
                "must be a dict of names to values or a list of names, not str",
            ),
            (
                "from-env A\\nB",
                lambda: self.sync("--from-env", "A\nB"),
                "--from-env 'A\\nB' is not a valid name",
            ),
            (
                "settings list NAME\\n",
                lambda: self.sync(envvars=["NAME\n"]),
                "'NAME\\n' is not a valid name",
            ),
            (
                "from-env unset",
                lambda: self.sync("--from-env", "DJT_SURELY_UNSET_1"),
                "DJT_SURELY_UNSET_1 (--from-env) is not set in the environment",
            ),
            (
                "prefix bad",
                lambda: self.sync("--prefix", "APP-"),
                "--prefix 'APP-' must be ASCII letters",
            ),
            (
                "secret unknown",
                lambda: self.sync("--env-file", self.file("A=1\n"), "--secret", "B"),
                "--secret B: B is not defined by any source",
            ),
            (
                "secret NAME\\n",
                lambda: self.sync("--env-file", self.file("A=1\n"), "--secret", "A\nB"),
                "--secret 'A\\nB' is not a valid name",
            ),
            ("nothing", lambda: self.sync("--no-settings"), "nothing to sync"),
            (
                "project ref token",
                lambda: self.sync(
                    "--env-file", self.file("A=1\n"), "--project-ref", "tr_pat_abcdefghijkl7777"
                ),
                "tr_pat_…7777",
            ),
            (
                "branch",
                lambda: self.sync("--env-file", self.file("A=1\n"), "--branch", "a..b"),
                "--branch is not a valid git branch name: 'a..b'",
            ),
            (
                "environment",
                lambda: self.sync("--env-file", self.file("A=1\n"), "-e", "qa"),
                "--environment",
            ),
        ]
        journal = self.emulator.journal
        for label, run, message in cases:
            with self.subTest(label):
                journal.clear()
                text = run()
                self.assertIn(message, text)
                self.assertNotIn("abcdefghijkl7777", text)
                self.assertEqual([(e.method, e.path) for e in journal], [])


class AdminFormBadInputTests(SimpleTestCase):
    """The admin's forms refuse before their view calls the API (the views only call it with
    ``cleaned_data``)."""

    def test_forms(self):
        cases: list[tuple[str, Any, dict[str, Any], str, str]] = [
            (
                "envvar NAME\\n",
                EnvVarForm,
                {"name": "A\nB", "value": "v"},
                "name",
                "Use ASCII letters, digits and underscores only.",
            ),
            (
                "envvar dash",
                EnvVarForm,
                {"name": "MY-NAME", "value": "v"},
                "name",
                "Use ASCII letters, digits and underscores only.",
            ),
            (
                "envvar reserved",
                EnvVarForm,
                {"name": "TRIGGER_API_URL", "value": "v"},
                "name",
                "TRIGGER_API_URL is set by Trigger.dev itself and cannot be written.",
            ),
            (
                "envvar blank value",
                EnvVarForm,
                {"name": "A", "value": "   "},
                "value",
                "Enter a value.",
            ),
            ("reschedule newline", RescheduleForm, {"delay": "5m\nx"}, "delay", ""),
            ("reschedule word", RescheduleForm, {"delay": "later"}, "delay", ""),
            ("schedule cron", ScheduleForm, {"task": "t", "cron": "0 0 * * * *"}, "cron", ""),
            ("schedule task", ScheduleForm, {"task": "../x", "cron": "0 * * * *"}, "task", ""),
            (
                "schedule task long",
                ScheduleForm,
                {"task": "t" * 200, "cron": "0 * * * *"},
                "task",
                "",
            ),
            ("tags empty", AddTagsForm, {"tags": " , "}, "tags", ""),
        ]
        for label, form_class, data, field, message in cases:
            with self.subTest(label):
                extra = {"timezones": ["UTC"]} if form_class is ScheduleForm else {}
                form = form_class({"timezone": "UTC", "deduplication_key": "k", **data}, **extra)
                self.assertFalse(form.is_valid())
                self.assertIn(field, form.errors)
                if message:
                    self.assertIn(message, form.errors[field])


class EmulatorTaskIdentifierTests(EmulatorTestMixin, SimpleTestCase):
    """The real service takes any string as a task id (``z.string()`` route params; an unknown
    task gets a run on the queue ``task/<id>`` that waits for a version defining it): so does
    the emulator. The client's rule is ours, not the service's."""

    def test_any_task_id_is_accepted_like_the_real_service(self):
        import requests

        headers = {"Authorization": f"Bearer {self.emulator.secret_key}"}
        for sent, stored in (
            ("..%2Fenvvars", "../envvars"),
            ("a%3Fb", "a?b"),
            ("t" * 10_000, "t" * 10_000),
        ):
            with self.subTest(stored[:20]):
                answer = requests.post(
                    self.emulator.url(f"/api/v1/tasks/{sent}/trigger"),
                    json={"payload": {}},
                    headers=headers,
                    timeout=5,
                )
                self.assertEqual(answer.status_code, 200, answer.text)
                run = requests.get(
                    self.emulator.url(f"/api/v3/runs/{answer.json()['id']}"),
                    headers=headers,
                    timeout=5,
                ).json()
                self.assertEqual(run["taskIdentifier"], stored)


class EmulatorOptionTests(SimpleTestCase):
    def test_credentials_ending_in_a_newline_are_refused(self):
        from django_trigger.testing import Emulator

        for option, value in (
            ("secret_key", "tr_dev_abcdefgh12\n"),
            ("access_token", "tr_pat_abcdefgh12\n"),
            ("project_ref", "proj_abcd\n"),
        ):
            with self.subTest(option), self.assertRaises(ValueError):
                Emulator(**{option: value})


class EmulatorEndOfStringTests(SimpleTestCase):
    """The service's patterns are JavaScript, where ``$`` is the end of the string; Python's
    ``$`` also matches before a final newline, so the emulator matches whole strings."""

    def test_a_ttl_ending_in_a_newline_is_no_ttl(self):
        import datetime as dt

        from django_trigger.testing.resources.triggering import (
            DEFAULT_IDEMPOTENCY_TTL,
            idempotency_expiry,
        )
        from django_trigger.testing.resources.waitpoints import parse_ttl

        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        self.assertEqual(idempotency_expiry("1h", now), now + dt.timedelta(hours=1))
        self.assertEqual(idempotency_expiry("1h\n", now), now + DEFAULT_IDEMPOTENCY_TTL)
        self.assertEqual(parse_ttl("1h", now), now + dt.timedelta(hours=1))
        self.assertIsNone(parse_ttl("1h\n", now))
