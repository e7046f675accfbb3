"""``client.concurrency_limits`` over HTTP: pages, bounds and per-key overrides, live counts
from the emulator's runs, the route's body checks, auth, retries, and bad input refused before
anything is sent."""

from __future__ import annotations

from datetime import timedelta

import requests

from django_trigger.exceptions import InvalidRequestError, NotFoundError
from django_trigger.testing.jwt import public_access_token
from django_trigger.types.concurrency import ConcurrencyLimit, ConcurrencyLimitKey

from .base import ClientTestCase

BASE = "/api/v1/concurrency-limits"
SLACK = timedelta(seconds=5)  # the emulated clock runs in real time


class ConcurrencyLimitTests(ClientTestCase):
    def test_list_pages_through_every_limit_by_name(self):
        first = self.trigger.concurrency_limits.list(per_page=2)
        self.assertEqual(len(first.data), 2)
        self.assertEqual(first.count, 5)
        names = [limit.name for limit in self.trigger.concurrency_limits.list(per_page=2)]
        self.assertEqual(
            names,
            [
                "crm-api",
                "openai",
                "task/generate-report",
                "task/nightly-cleanup",
                "task/process-payment",
            ],
        )
        self.assertEqual(self.journal.count(path=BASE), 4)  # the first call + 3 pages
        self.assertEqual(self.journal.entries[-1].query.get("page"), ["3"])

    def test_declared_bounds_and_inline_limits_from_the_task_queues(self):
        openai = self.trigger.concurrency_limits.retrieve("openai")
        self.assertIsInstance(openai, ConcurrencyLimit)
        self.assertTrue(openai.id.startswith("climit_"))
        self.assertEqual((openai.per_key.current, openai.per_key.base), (2, 2))
        self.assertEqual(
            (openai.total.current, openai.total.base, openai.total.override), (10, 10, None)
        )
        self.assertFalse(openai.paused)
        # The task queue "process-payment" declares a limit of 5: its inline limit.
        inline = self.trigger.concurrency_limits.retrieve("task/process-payment")
        self.assertEqual(inline.per_key.base, 5)
        self.assertIsNone(inline.total.base)
        self.assertIn(
            "/api/v1/concurrency-limits/task%2Fprocess-payment", self.journal.entries[-1].path
        )

    def test_running_and_queued_count_the_runs_of_the_tasks_holding_it(self):
        before = self.trigger.concurrency_limits.retrieve("openai")
        a = self.trigger.tasks.trigger("generate-report", {}, concurrency_key="acme").id
        self.trigger.tasks.trigger("resize-image", {}, concurrency_key="acme")
        self.trigger.tasks.trigger("resize-image", {}, concurrency_key="globex")
        self.trigger.tasks.trigger("send-email", {})  # holds no limit
        with self.emulator.state.lock:
            self.emulator.state.runs.set_status(a, "EXECUTING")
        after = self.trigger.concurrency_limits.retrieve("openai")
        self.assertEqual(after.running, before.running + 1)
        self.assertEqual(after.queued, before.queued + 2)
        key = self.trigger.concurrency_limits.retrieve("openai", concurrency_key="acme")
        self.assertIsInstance(key, ConcurrencyLimitKey)
        self.assertEqual((key.name, key.concurrency_key, key.running), ("openai", "acme", 1))
        self.assertEqual(
            (key.per_key.current, key.per_key.base, key.per_key.override), (2, 2, None)
        )
        self.assertEqual(self.journal.entries[-1].query, {"concurrencyKey": ["acme"]})

    def test_override_bounds_then_reset(self):
        limits = self.trigger.concurrency_limits
        changed = limits.override("openai", total=4)
        self.assertEqual(
            (changed.total.current, changed.total.base, changed.total.override), (4, 10, 4)
        )
        self.assertIsNotNone(changed.total.overridden_at)
        self.assertIsNone(changed.per_key.override)  # only the given bound changes
        self.assertEqual(self.journal.entries[-1].body, {"total": 4})
        both = limits.override("openai", per_key=0, total=6)
        self.assertEqual((both.per_key.current, both.total.current), (0, 6))
        # current is clamped to the environment's concurrency limit (25 for dev keys)
        self.assertEqual(limits.override("openai", total=500).total.current, 25)
        reset = limits.reset("openai")
        self.assertEqual(self.journal.entries[-1].body, {})
        self.assertEqual((reset.per_key.current, reset.total.current), (2, 10))
        self.assertIsNone(reset.total.overridden_at)
        again = limits.reset("openai")  # nothing to reset: the limit as declared
        self.assertEqual(again.total.current, 10)

    def test_a_per_key_override_lasts_its_ttl(self):
        limits = self.trigger.concurrency_limits
        now = self.emulator.state.now()
        key = limits.override("openai", per_key=0, concurrency_key=42, ttl="1d")
        self.assertEqual(
            self.journal.entries[-1].body, {"concurrencyKey": "42", "perKey": 0, "ttl": "1d"}
        )
        self.assertEqual((key.concurrency_key, key.per_key.current, key.per_key.base), ("42", 0, 2))
        self.assertAlmostEqual(key.per_key.expires_at - now, timedelta(days=1), delta=SLACK)
        self.assertIsNone(limits.retrieve("openai").per_key.override)  # the limit is untouched
        default = limits.override("openai", per_key=1, concurrency_key="b")
        self.assertAlmostEqual(default.per_key.expires_at - now, timedelta(days=7), delta=SLACK)
        seconds = limits.override("openai", per_key=1, concurrency_key="c", ttl=timedelta(hours=2))
        self.assertEqual(self.journal.entries[-1].body["ttl"], 7200)
        self.assertAlmostEqual(seconds.per_key.expires_at - now, timedelta(hours=2), delta=SLACK)
        self.emulator.clock.advance(86_400)
        lapsed = limits.retrieve("openai", concurrency_key="42")
        self.assertEqual((lapsed.per_key.current, lapsed.per_key.override), (2, None))
        cleared = limits.reset("openai", concurrency_key="b")
        self.assertEqual(self.journal.entries[-1].body, {"concurrencyKey": "b"})
        self.assertIsNone(cleared.per_key.expires_at)

    def test_pause_and_resume(self):
        self.assertTrue(self.trigger.concurrency_limits.pause("crm-api").paused)
        self.assertEqual(self.journal.entries[-1].body, {"action": "pause"})
        self.assertTrue(self.trigger.concurrency_limits.retrieve("crm-api").paused)
        self.assertTrue(
            self.trigger.concurrency_limits.retrieve("crm-api", concurrency_key="x").paused
        )
        resumed = self.trigger.concurrency_limits.resume("crm-api")
        self.assertEqual(self.journal.entries[-1].body, {"action": "resume"})
        self.assertFalse(resumed.paused)
        self.assertEqual(resumed.total.current, 3)  # bounds kept

    def test_unknown_limit_is_404(self):
        with self.assertRaises(NotFoundError) as ctx:
            self.trigger.concurrency_limits.retrieve("nope")
        self.assertIn("Concurrency limit not found", str(ctx.exception))
        with self.assertRaises(NotFoundError):
            self.trigger.concurrency_limits.pause("nope")

    def test_raw_response(self):
        raw = self.trigger.concurrency_limits.with_raw_response.retrieve("openai")
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.parse().name, "openai")

    def test_bad_input_is_refused_before_sending(self):
        limits = self.trigger.concurrency_limits
        for call, message in (
            (lambda: limits.override("openai"), "pass per_key, total or both"),
            (lambda: limits.override("openai", total=-1), "total must be an integer from 0"),
            (lambda: limits.override("openai", per_key=100_001), "per_key must be an integer"),
            (lambda: limits.override("openai", per_key=True), "per_key must be an integer"),
            (lambda: limits.override("openai", total="3"), "total must be an integer"),
            (lambda: limits.override("openai", total=1, ttl="1d"), "ttl only applies"),
            (
                lambda: limits.override("openai", per_key=1, total=2, concurrency_key="k"),
                "total is not per key",
            ),
            (lambda: limits.override("openai", concurrency_key="k"), "needs per_key"),
            (
                lambda: limits.override("openai", per_key=1, concurrency_key="k", ttl="31d"),
                "at most 30 days",
            ),
            (
                lambda: limits.override("openai", per_key=1, concurrency_key="k", ttl="0s"),
                "positive",
            ),
            (
                lambda: limits.override("openai", per_key=1, concurrency_key="k", ttl="soon"),
                "ttl must be a duration",
            ),
            (lambda: limits.retrieve("openai", concurrency_key=""), "1 to 128"),
            (lambda: limits.retrieve("openai", concurrency_key="k" * 129), "1 to 128"),
            (lambda: limits.retrieve("openai", concurrency_key=1.5), "string or an integer"),
            (lambda: limits.reset("openai", concurrency_key=True), "string or an integer"),
            (lambda: limits.retrieve(""), "must not be empty"),
            (lambda: limits.retrieve(".."), "not allowed"),
            (lambda: limits.pause("x" * 129), "at most 128"),
            (lambda: limits.list(per_page=101), "per_page must be at most 100"),
        ):
            with self.subTest(message), self.assertRaisesRegex(InvalidRequestError, message):
                call()
        self.assertEqual(len(self.journal), 0)

    def test_the_route_checks_its_body(self):
        """The emulator is no kinder than the SDK's schemas for a client that does not check."""
        headers = {"Authorization": f"Bearer {self.emulator.secret_key}"}
        url = self.emulator.base_url + BASE + "/openai/override"
        for body, message in (
            ({}, "Provide at least one of `perKey` or `total`"),
            ({"total": 1.5}, "Expected integer"),
            ({"total": 100_001}, "less than or equal to 100000"),
            ({"concurrencyKey": "k"}, "A per-key override needs `perKey`"),
            ({"concurrencyKey": "k", "perKey": 1, "total": 2}, "`total` is not per key"),
            ({"total": 2, "ttl": "1d"}, "`ttl` only applies to a per-key override"),
            ({"concurrencyKey": "k", "perKey": 1, "ttl": "90d"}, "at most 30 days"),
        ):
            with self.subTest(body):
                answer = requests.post(url, json=body, headers=headers, timeout=5)
                self.assertEqual(answer.status_code, 400)
                self.assertIn(message, answer.json()["error"])
        pause = self.emulator.base_url + BASE + "/openai/pause"
        answer = requests.post(pause, json={"action": "stop"}, headers=headers, timeout=5)
        self.assertEqual(answer.status_code, 400)
        self.assertIn("Invalid enum value", answer.json()["error"])
        answer = requests.post(pause, headers=headers, timeout=5)
        self.assertEqual(answer.json(), {"error": "Request body is empty"})
        self.assertFalse(self.trigger.concurrency_limits.retrieve("openai").paused)

    def test_auth_secret_keys_only(self):
        with self.assertRaisesRegex(InvalidRequestError, "needs a secret key"):
            self.pat_client().concurrency_limits.list()
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            now = int(self.emulator.state.now().timestamp())
        jwt = public_access_token(self.emulator.secret_key, env.id, ["read:all"], now)[0]
        with self.assertRaisesRegex(InvalidRequestError, "needs a secret key"):
            self.make_client(jwt).concurrency_limits.list()
        self.assertEqual(len(self.journal), 0)
        url = self.emulator.base_url + BASE
        for token in (self.emulator.access_token, jwt, "tr_dev_wrong"):
            with self.subTest(token=token[:7]):
                answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
                self.assertEqual(answer.status_code, 401)
        self.assertEqual(requests.get(url, timeout=5).status_code, 401)

    def test_a_lost_answer_is_retried(self):
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        changed = self.trigger.concurrency_limits.override("openai", total=3)
        self.assertEqual(changed.total.current, 3)
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        self.assertTrue(self.trigger.concurrency_limits.pause("openai").paused)
        self.emulator.faults.drop_next(1, after_processing=True, method="POST")
        self.assertEqual(self.trigger.concurrency_limits.reset("openai").total.current, 10)
        self.assertEqual(self.journal.count(method="POST"), 6)
