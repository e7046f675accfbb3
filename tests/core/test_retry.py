"""The SDK's retry rules, exercised for real with the emulator's fault injection."""

from __future__ import annotations

import random
import time

from django.test import SimpleTestCase

from django_trigger._http.retry import TriggerRetry
from django_trigger.exceptions import (
    ApiConnectionError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from django_trigger.options import RetryPolicy

from .base import ClientTestCase


class BackoffFormulaTests(SimpleTestCase):
    def test_sdk_default_ladder(self):
        policy = RetryPolicy()
        self.assertEqual([policy.delay(n) for n in range(1, 5)], [1.0, 1.6, 2.56, 4.096])
        self.assertEqual(policy.delay(20), 30.0)

    def test_randomize_multiplies_by_one_to_two(self):
        policy = RetryPolicy(randomize=True)
        self.assertEqual(policy.delay(1, random=0.5), 1.5)
        self.assertEqual(RetryPolicy().delay(1, random=0.5), 1.0)

    def test_invalid_policies(self):
        for bad in (
            {"max_attempts": 0},
            {"factor": 0.5},
            {"min_delay": -1},
            {"max_delay": 0.5, "min_delay": 1},
            {"randomize": "yes"},
        ):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                RetryPolicy(**bad)


class RetryRuleTests(ClientTestCase):
    def assertAttempts(self, n):
        self.assertEqual(self.journal.count(path="/api/v1/runs"), n)

    def test_5xx_is_retried_then_succeeds(self):
        for status in (500, 502, 503):
            with self.subTest(status=status):
                self.journal.clear()
                self.emulator.faults.fail_next(2, status)
                page = self.trigger.runs.list(limit=5)
                self.assertEqual(len(page.data), 5)
                self.assertAttempts(3)

    def test_retries_keep_one_idempotency_key(self):
        self.emulator.faults.fail_next(2, 503)
        self.trigger.runs.list(limit=1)
        keys = {e.headers["x-trigger-request-idempotency-key"] for e in self.journal.entries}
        self.assertEqual(len(keys), 1)

    def test_408_and_409_are_retried(self):
        self.emulator.faults.fail_next(1, 408)
        self.emulator.faults.fail_next(1, 409)
        self.trigger.runs.list(limit=1)
        self.assertAttempts(3)

    def test_exhausted_retries_raise_the_last_status(self):
        self.emulator.faults.fail_next(5, 503)
        with self.assertRaises(InternalServerError) as ctx:
            self.trigger.runs.list(limit=1)
        self.assertEqual(ctx.exception.status, 503)
        self.assertAttempts(5)  # the SDK default: 5 attempts in all

    def test_conflict_after_retries(self):
        self.emulator.faults.fail_next(5, 409)
        with self.assertRaises(ConflictError):
            self.trigger.runs.list(limit=1)
        self.assertAttempts(5)

    def test_max_attempts_one_disables_retries(self):
        self.emulator.faults.fail_next(1, 503)
        with self.assertRaises(InternalServerError):
            self.trigger.runs.list(limit=1, request_options={"retry": {"max_attempts": 1}})
        self.assertAttempts(1)

    def test_client_level_max_attempts(self):
        client = self.make_client(retry={"max_attempts": 2, "min_delay": 0.001})
        self.emulator.faults.fail_next(3, 502)
        with self.assertRaises(InternalServerError):
            client.runs.list(limit=1)
        self.assertAttempts(2)

    def test_should_retry_false_wins_over_status(self):
        self.emulator.faults.fail_next(1, 503, headers={"x-should-retry": "false"})
        with self.assertRaises(InternalServerError):
            self.trigger.runs.list(limit=1)
        self.assertAttempts(1)

    def test_should_retry_true_wins_over_status(self):
        self.emulator.faults.fail_next(1, 400, headers={"x-should-retry": "true"})
        self.trigger.runs.list(limit=1)
        self.assertAttempts(2)

    def test_unknown_run_404_is_retried_because_the_server_says_so(self):
        # The real server marks a missing run's 404 with x-should-retry: true.
        with self.assertRaises(NotFoundError):
            self.trigger.runs.retrieve("run_doesnotexist0000000000")
        self.assertEqual(self.journal.count(path_prefix="/api/v3/runs/"), 5)

    def test_client_errors_are_not_retried(self):
        self.emulator.faults.fail_next(1, 400)
        with self.assertRaises(BadRequestError):
            self.trigger.runs.list(limit=1)
        self.assertAttempts(1)

    def test_429_waits_until_the_reset(self):
        self.emulator.faults.rate_limit_next(1, reset_after=0.3)
        started = time.monotonic()
        self.trigger.runs.list(limit=1)
        elapsed = time.monotonic() - started
        self.assertAttempts(2)
        # x-ratelimit-reset is 0.3 s away; the SDK adds 0-1 s of jitter.
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 2.5)

    def test_429_exhausted(self):
        self.emulator.faults.rate_limit_next(2, reset_after=0.01)
        client = self.make_client(retry={"max_attempts": 2, "min_delay": 0.001})
        with self.assertRaises(RateLimitError) as ctx:
            client.runs.list(limit=1)
        self.assertIn("x-ratelimit-reset", ctx.exception.headers)
        self.assertIsNotNone(ctx.exception.seconds_until_reset)

    def test_retry_after_is_honoured(self):
        self.emulator.faults.fail_next(1, 503, headers={"Retry-After": "0.2"})
        started = time.monotonic()
        self.trigger.runs.list(limit=1)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertAttempts(2)

    def test_long_server_wait_is_not_slept_through(self):
        self.emulator.faults.fail_next(1, 503, headers={"Retry-After": "3600"})
        started = time.monotonic()
        with self.assertRaises(InternalServerError):
            self.trigger.runs.list(limit=1)
        self.assertLess(time.monotonic() - started, 1)
        self.assertAttempts(1)

    def test_dropped_connection_is_retried(self):
        self.emulator.faults.drop_next(2)
        self.trigger.runs.list(limit=1)
        self.assertGreaterEqual(self.journal.count(path="/api/v1/runs"), 1)

    def test_dropped_connections_exhaust_into_connection_error(self):
        self.emulator.faults.drop_next(5)
        with self.assertRaises(ApiConnectionError):
            self.trigger.runs.list(limit=1)

    def test_retries_of_a_post_keep_its_request_idempotency_key(self):
        # The key does not make retries safe (the service ignores it, see test_retry_safety),
        # but it is sent like the SDK does: one per logical call.
        self.emulator.faults.fail_next(1, 503, method="POST")
        self.trigger.tasks.trigger("retry-safely", {"to": "a@example.com"}, idempotency_key="k")
        posts = [e for e in self.journal.entries if e.method == "POST"]
        self.assertEqual(len(posts), 2)
        self.assertEqual(
            posts[0].headers["x-trigger-request-idempotency-key"],
            posts[1].headers["x-trigger-request-idempotency-key"],
        )

    def test_logged_delays_follow_the_formula(self):
        client = self.make_client(retry={"min_delay": 0.01, "factor": 2, "max_delay": 0.03})
        self.emulator.faults.fail_next(3, 500)
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            client.runs.list(limit=1)
        delays = [line.split(" in ")[1].split("s ")[0] for line in logs.output]
        self.assertEqual(delays, ["0.010", "0.020", "0.030"])


class RetryObjectTests(SimpleTestCase):
    def test_new_keeps_the_policy(self):
        policy = RetryPolicy(max_attempts=3, factor=2)
        retry = TriggerRetry(policy, rng=random.Random(1))
        clone = retry.new(total=1)
        self.assertIs(clone.policy, policy)
        self.assertIs(clone.rng, retry.rng)
        self.assertEqual(retry.total, 2)
        self.assertFalse(retry.raise_on_status)
        self.assertIsNone(retry.allowed_methods)
