"""``queues.metrics`` over HTTP: figures computed by the emulator from its runs, the route's
query validation, JWT scopes, and bad input refused before sending."""

from __future__ import annotations

import requests

from django_trigger.exceptions import InvalidRequestError, PermissionDeniedError
from django_trigger.testing.jwt import public_access_token

from .base import ClientTestCase

PATH = "/api/v1/queues/send-email/metrics"


class QueueMetricsTests(ClientTestCase):
    def test_figures_come_from_the_runs_of_the_queue(self):
        runs = self.emulator.state.runs
        seeded = self.trigger.queues.metrics("send-email")
        ids = [self.trigger.tasks.trigger("send-email", {"n": n}).id for n in range(3)]
        self.emulator.clock.advance(30)
        with self.emulator.state.lock:
            runs.set_status(ids[0], "EXECUTING")
            runs.set_status(ids[1], "EXECUTING")
        before = len(self.journal)
        metrics = self.trigger.queues.metrics("send-email", period="1h")
        self.assertEqual(len(self.journal) - before, 1)
        self.assertEqual(metrics.queue, "task/send-email")
        self.assertEqual(metrics.period, "1h")
        self.assertEqual(metrics.started_count, seeded.started_count + 2)
        self.assertEqual(metrics.started_per_min, round(metrics.started_count / 60, 2))
        self.assertEqual(metrics.bucket_interval_ms, 300_000)  # 1 h / 12
        self.assertEqual(len(metrics.depth_trend), 12)
        self.assertEqual(metrics.depth_trend[-1], seeded.depth_trend[-1] + 1)  # one queued
        self.assertEqual(metrics.peak_queued, max(metrics.depth_trend))
        self.assertGreaterEqual(metrics.wait_ms.p50, 30_000)
        self.assertEqual(metrics.throttled_count, 0)
        self.assertEqual((metrics.to - metrics.from_).total_seconds(), 3600)

    def test_an_unknown_queue_gets_zeroed_metrics(self):
        metrics = self.trigger.queues.metrics("no-such-queue", type="custom", period="7d")
        self.assertEqual(metrics.queue, "no-such-queue")
        self.assertEqual((metrics.started_count, metrics.peak_queued), (0, 0))
        self.assertIsNone(metrics.wait_ms.p50)
        self.assertEqual(metrics.bucket_interval_ms, 50_400_000)  # 7 d / 12

    def test_a_custom_queue_name_with_a_slash(self):
        metrics = self.trigger.queues.metrics("team/emails", type="custom")
        self.assertEqual(metrics.queue, "team/emails")

    def test_raw_response(self):
        raw = self.trigger.queues.with_raw_response.metrics("send-email")
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.parse().period, "1h")

    def test_bad_input_is_refused_before_sending(self):
        for kwargs, message in (
            ({"period": "8d"}, "at most 7 days"),
            ({"period": "169h"}, "at most 7 days"),
            ({"period": "2w"}, "at most 7 days"),
            ({"period": "0h"}, "period must look like"),
            ({"period": "1.5h"}, "period must look like"),
            ({"period": "1y"}, "period must look like"),
            ({"period": 60}, "period must look like"),
            ({"type": "id"}, "type must be 'task' or 'custom'"),
        ):
            with self.subTest(kwargs), self.assertRaisesRegex(InvalidRequestError, message):
                self.trigger.queues.metrics("send-email", **kwargs)
        for queue in ("", "bad task id!", "../x"):
            with self.subTest(queue=queue), self.assertRaises(InvalidRequestError):
                self.trigger.queues.metrics(queue)
        self.assertEqual(len(self.journal), 0)

    def test_the_route_validates_its_query(self):
        """The emulator is no kinder than the route for a client that does not check."""
        url = self.emulator.base_url + PATH
        headers = {"Authorization": f"Bearer {self.emulator.secret_key}"}
        for query, message in (
            ({"period": "8d"}, "period is too large (max 7d)"),
            ({"period": "1y"}, "period must be a shorthand"),
            ({"type": "id"}, "Invalid enum value"),
        ):
            with self.subTest(query):
                answer = requests.get(url, params=query, headers=headers, timeout=5)
                self.assertEqual(answer.status_code, 400)
                self.assertEqual(answer.json()["error"], "Query Error")
                self.assertIn(message, answer.json()["details"][0]["message"])
        self.assertEqual(requests.get(url, timeout=5).status_code, 401)

    def jwt(self, scopes: list[str]) -> str:
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            now = int(self.emulator.state.now().timestamp())
        return public_access_token(self.emulator.secret_key, env.id, scopes, now)[0]

    def test_public_tokens_need_the_query_scope(self):
        denied = self.make_client(self.jwt(["read:runs"]))
        with self.assertRaises(PermissionDeniedError):
            denied.queues.metrics("send-email")
        for scope in ("read:query:queue_metrics", "read:query", "read:all"):
            with self.subTest(scope):
                allowed = self.make_client(self.jwt([scope]))
                self.assertEqual(allowed.queues.metrics("send-email").queue, "task/send-email")
