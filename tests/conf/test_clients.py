"""get_client() / clients: one client per alias per thread, rebuilt when settings change."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from django.test import override_settings

from django_trigger import get_client
from django_trigger.client import TriggerClient
from django_trigger.clients import clients
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import ConfigurationError
from django_trigger.options import RetryPolicy

from .utils import DEV_KEY, PAT, PROD_KEY, PROJECT_REF, ConfTestCase, environment

TRIGGER = {
    "default": {
        "ACCESS_TOKEN": DEV_KEY,
        "API_URL": "http://127.0.0.1:9/",
        "RETRY": {"MAX_ATTEMPTS": 2},
        "TIMEOUT": 5,
    },
    "ops": {"ACCESS_TOKEN": PAT, "PROJECT_REF": PROJECT_REF, "ENVIRONMENT": "prod"},
}


def in_thread(function):
    """Run ``function`` in a new thread and return its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


@override_settings(TRIGGER=TRIGGER)
class GetClientTests(ConfTestCase):
    def tearDown(self):
        clients.close_all()
        super().tearDown()

    def test_client_is_built_from_settings(self):
        client = get_client()
        self.assertIsInstance(client, TriggerClient)
        self.assertEqual(client.alias, "default")
        self.assertEqual(client.base_url, "http://127.0.0.1:9")
        self.assertEqual(client.retry, RetryPolicy(max_attempts=2))
        self.assertEqual((client.timeout, client.connect_timeout), (5.0, 10.0))
        self.assertEqual(client.environment, "dev")  # the secret key's own
        self.assertEqual(repr(client), "<TriggerClient 'default' http://127.0.0.1:9 tr_dev_…1234>")
        ops = get_client("ops")
        self.assertEqual(
            (ops.alias, ops.project_ref, ops.environment), ("ops", PROJECT_REF, "prod")
        )
        self.assertTrue(ops.uses_personal_token)

    def test_cached_per_alias(self):
        self.assertIs(get_client(), get_client("default"))
        self.assertIs(get_client(), clients["default"])
        self.assertIs(get_client("ops"), get_client("ops"))
        self.assertIsNot(get_client(), get_client("ops"))

    def test_cached_per_thread(self):
        mine = get_client()
        theirs = in_thread(lambda: (get_client(), get_client()))
        self.assertIs(theirs[0], theirs[1])  # same thread: same client
        self.assertIsNot(theirs[0], mine)  # other thread: its own
        self.assertIs(get_client(), mine)

    def test_requests_served_by_one_thread_share_its_client(self):
        # Under ASGI each request runs sync code (views, get_client) in a worker thread with a
        # fresh context; like database connections (thread_critical), the client and its
        # connection pool belong to the thread and outlive the request.
        import asyncio

        from asgiref.sync import sync_to_async

        def serve_one_request():
            async def view():
                return await sync_to_async(get_client, thread_sensitive=True)()

            return asyncio.run(view())

        # From a fresh thread, so that no context value is inherited by the "requests".
        first, second = in_thread(lambda: (serve_one_request(), serve_one_request()))
        self.assertIs(first, second)

    def test_threads_at_once_each_build_their_own(self):
        barrier = threading.Barrier(8)
        built = []

        def work():
            barrier.wait()
            built.append((threading.get_ident(), get_client(), get_client()))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(built), 8)
        self.assertTrue(all(first is second for _, first, second in built))
        self.assertEqual(len({id(first) for _, first, _ in built}), 8)

    def test_unknown_alias(self):
        with self.assertRaisesMessage(
            ConfigurationError,
            "No Trigger.dev client alias 'staging' in TRIGGER (configured: 'default', 'ops').",
        ):
            get_client("staging")

    def test_bad_settings_raise_with_id_and_hint(self):
        with override_settings(TRIGGER={"default": {"ACCESS_TOKEN": PAT}}):
            with self.assertRaises(ConfigurationError) as caught:
                get_client()
        self.assertIn("(django_trigger.E007)", str(caught.exception))
        self.assertIn("HINT: Set PROJECT_REF", str(caught.exception))
        self.assertNotIn(PAT, str(caught.exception))

    def test_settings_change_builds_a_new_client(self):
        before = get_client()
        with override_settings(TRIGGER={"default": {"ACCESS_TOKEN": PROD_KEY}}):
            during = get_client()
            self.assertIsNot(during, before)
            self.assertEqual(during.base_url, "https://api.trigger.dev")
            self.assertEqual(during.environment, "prod")
        after = get_client()
        self.assertIsNot(after, during)
        self.assertEqual(after.base_url, "http://127.0.0.1:9")

    def test_reload_builds_a_new_client_in_every_thread(self):
        # Another thread's cached client is not reachable from here; it notices on next use.
        with (
            override_settings(TRIGGER={"default": {}}),
            environment(TRIGGER_SECRET_KEY=DEV_KEY, TRIGGER_PREVIEW_BRANCH="one"),
        ):
            first = get_client()
            ready, go, done = threading.Event(), threading.Event(), []

            def other():
                done.append(get_client())
                ready.set()
                go.wait()
                done.append(get_client())

            thread = threading.Thread(target=other)
            thread.start()
            ready.wait()
            os.environ["TRIGGER_PREVIEW_BRANCH"] = "two"
            self.assertIs(get_client(), first)  # nothing re-read yet
            trigger_settings.reload()
            second = get_client()
            go.set()
            thread.join()
            self.assertIsNot(second, first)
            self.assertEqual((first.preview_branch, second.preview_branch), ("one", "two"))
            self.assertIsNot(done[1], done[0])
            self.assertEqual(done[1].preview_branch, "two")

    def test_handler_iterates_aliases(self):
        self.assertEqual(list(clients), ["default", "ops"])
        self.assertEqual(clients.all(initialized_only=True), [])
        ops = clients["ops"]
        self.assertEqual(clients.all(initialized_only=True), [ops])
        every = clients.all()
        self.assertEqual([c.alias for c in every], ["default", "ops"])
        self.assertIs(every[1], ops)
        clients.close_all()
        self.assertEqual(clients.all(initialized_only=True), [])
        self.assertIsNot(clients["ops"], ops)

    def test_explicit_client_ignores_settings(self):
        with environment(
            TRIGGER_API_URL="https://env.example.com", TRIGGER_PROJECT_REF=PROJECT_REF
        ):
            client = TriggerClient(PROD_KEY)
        self.assertEqual(client.base_url, "https://api.trigger.dev")
        self.assertIsNone(client.project_ref)
        self.assertIsNone(client.alias)
        self.assertEqual(client.retry, RetryPolicy())


class LayeringTests(ConfTestCase):
    def test_core_imports_without_django_settings(self):
        code = (
            "import sys\n"
            "import django_trigger\n"
            "from django_trigger import client, credentials, exceptions, options\n"
            "from django_trigger.client import TriggerClient\n"
            "TriggerClient('tr_dev_AbCdEfGhIjKlMnOpQrSt1234').close()\n"
            "from django.conf import settings\n"
            "assert not settings.configured, 'settings were configured'\n"
            "glue = sorted(m for m in sys.modules if m in ("
            "'django_trigger.conf', 'django_trigger.clients', 'django_trigger.checks'))\n"
            "assert not glue, glue\n"
            "print('ok')\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        root = Path(__file__).resolve().parents[2]
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "ok\n")
