"""Odd request bodies on every write route: wrong JSON types in each field, arrays where objects
are expected, bodies that are not JSON, huge values. The emulator answers them as the service
does (a 400, or the 500 a route's ``request.json()`` throws on invalid JSON), never with a crash
of its own."""

from __future__ import annotations

import json
from typing import Any

from .base import EmulatorCase

ODD_VALUES: list[Any] = [None, True, 1e308, "x" * 70_000, [{}], [1] * 2000, {"a": {"b": [{}]}}]
RAW_BODIES = [
    b"not json",
    b"NaN",
    b'{"a": NaN}',
    b"Infinity",
    b"[1,2]",
    b"null",
    b"0",
    b'"s"',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe",
    b'{"a":1}{"b":2}',
]
# Routes whose handler reads the body with `await request.json()`: invalid JSON throws → 500.
THROWS_ON_INVALID_JSON = ("/api/v1/schedules", "/tags", "/envvars/")  # (in the path)


def mutations(body: dict[str, Any]):
    """The body with each field (and each field of a nested object or of a list's first
    object) replaced by each odd value."""
    for key, value in body.items():
        for odd in ODD_VALUES:
            yield {**body, key: odd}
        if isinstance(value, dict):
            for inner in mutations(value):
                yield {**body, key: inner}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in mutations(value[0]):
                yield {**body, key: [inner]}


class OddBodyTests(EmulatorCase):
    def examples(self) -> dict[tuple[str, str], dict[str, Any]]:
        with self.emu.state.lock:
            dev = self.dev_env
            run = self.emu.state.runs.in_environment(dev.id)[0].friendly_id
            schedule = self.emu.state.schedules.in_environment(dev)[0].friendly_id
        envvars = f"/api/v1/projects/{self.emu.project_ref}/envvars/dev"
        return {
            ("POST", "/api/v1/tasks/send-email/trigger"): {
                "payload": {"a": 1},
                "options": {
                    "tags": ["t"],
                    "idempotencyKey": "k",
                    "idempotencyKeyTTL": "1h",
                    "delay": "1h",
                    "ttl": "1h",
                    "queue": {"name": "q"},
                    "concurrencyKey": "c",
                    "machine": "small-1x",
                    "maxAttempts": 3,
                    "metadata": {"m": 1},
                    "maxDuration": 60,
                    "test": False,
                    "parentRunId": run,
                },
            },
            ("POST", "/api/v1/tasks/send-email/batch"): {
                "items": [{"payload": {}, "options": {"tags": ["a"]}}]
            },
            ("POST", "/api/v1/tasks/batch"): {
                "items": [{"task": "send-email", "payload": {}, "options": {}}]
            },
            ("POST", "/api/v2/tasks/batch"): {
                "items": [{"task": "send-email", "payload": {}, "options": {}}]
            },
            ("POST", "/api/v3/batches"): {"runCount": 1, "idempotencyKey": "k", "parentRunId": run},
            ("POST", "/api/v1/bulk-actions"): {
                "action": "cancel",
                "name": "n",
                "filter": {"status": "QUEUED", "queue": {"type": "task", "name": "send-email"}},
            },
            ("POST", "/api/v1/schedules"): {
                "task": "nightly-cleanup",
                "cron": "0 * * * *",
                "deduplicationKey": "d",
                "timezone": "UTC",
                "externalId": "x",
            },
            ("PUT", f"/api/v1/schedules/{schedule}"): {
                "task": "nightly-cleanup",
                "cron": "0 * * * *",
                "timezone": "UTC",
            },
            ("POST", f"/api/v1/runs/{run}/reschedule"): {"delay": "1h"},
            ("POST", f"/api/v1/runs/{run}/tags"): {"tags": ["a"]},
            ("PUT", f"/api/v1/runs/{run}/metadata"): {"metadata": {"a": 1}, "operations": []},
            ("POST", f"/api/v1/runs/{run}/replay"): {},
            ("POST", "/api/v1/idempotencyKeys/k/reset"): {"taskIdentifier": "send-email"},
            ("POST", "/api/v1/queues/send-email/pause"): {"type": "task", "action": "pause"},
            ("POST", "/api/v1/queues/send-email/concurrency/override"): {
                "type": "task",
                "concurrencyLimit": 3,
            },
            ("POST", "/api/v1/queues/send-email/concurrency/reset"): {"type": "task"},
            ("POST", "/api/v1/auth/public-tokens"): {
                "scopes": {"read": {"runs": True}},
                "expirationTime": "1h",
            },
            ("POST", "/api/v1/waitpoints/tokens"): {
                "idempotencyKey": "k",
                "timeout": "1h",
                "tags": ["a"],
            },
            ("POST", envvars): {"name": "NEW_VAR", "value": "v", "isSecret": True},
            ("POST", envvars + "/import"): {
                "variables": {"A": "1"},
                "override": True,
                "parentVariables": {"B": "2"},
            },
            ("PUT", envvars + "/DATABASE_URL"): {"value": "v"},
        }

    def test_no_route_crashes_on_odd_bodies(self):
        for (method, path), example in self.examples().items():
            token = self.emu.access_token if "/envvars" in path else self.emu.secret_key
            bodies = [json.dumps(body).encode() for body in mutations(example)] + RAW_BODIES
            for body in bodies:
                with self.subTest(method=method, path=path, body=body[:80]):
                    response = self.call(
                        method,
                        path,
                        token=token,
                        data=body,
                        headers={"Content-Type": "application/json"},
                    )
                    if response.status_code == 500:
                        self.assertIn(body, RAW_BODIES, response.text)
                        self.assertTrue(
                            any(part in path for part in THROWS_ON_INVALID_JSON), response.text
                        )
                    self.assertEqual(self.emu.server_errors, [])

    def test_json_is_read_as_javascript_reads_it(self):
        path = "/api/v1/bulk-actions"
        for body in (b"NaN", b'{"action": "cancel", "runIds": [NaN]}', b"Infinity"):
            with self.subTest(body=body):
                response = self.post(path, data=body, headers={"Content-Type": "application/json"})
                self.assertEqual(
                    (response.status_code, response.json()), (400, {"error": "Invalid JSON"})
                )
        # A byte-order mark is dropped and invalid UTF-8 replaced, as request.text() does.
        response = self.post(
            path,
            data='\ufeff{"action": "cancel", "runIds": ["\xff"]}'.encode().replace(
                b"\xc3\xbf", b"\xff"
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 202, response.text)
