"""Request idempotency as the service applies it (API.md §4.5, ``request_idempotency.py``):
by default like the service's code (the header deduplicates nothing, a reused batch key is
refused), and opt-in as documented (trigger, v2 batch and v3 batch create replay)."""

from __future__ import annotations

import hashlib
import json
import uuid

import requests
from django.test import SimpleTestCase

from django_trigger.testing import Emulator
from django_trigger.testing.request_idempotency import RequestIdempotency, scope_key

from .base import EmulatorCase


class _Helpers(EmulatorCase):
    def trigger(self, key: str | None, task: str = "send-email", **kwargs):
        headers = {"x-trigger-request-idempotency-key": key} if key else {}
        return self.post(
            f"/api/v1/tasks/{task}/trigger", json={"payload": {"n": 1}}, headers=headers, **kwargs
        )

    def run_count(self) -> int:
        with self.emu.state.lock:
            return len(self.emu.state.runs)

    def batch_count(self) -> int:
        with self.emu.state.lock:
            return len(self.emu.state.batches.by_id)

    def create_batch(self, key: str | None, tasks=("send-email",)):
        body = {"runCount": 2, "taskIdentifiers": list(tasks)}
        if key:
            body["idempotencyKey"] = key
        return self.post("/api/v3/batches", json=body)


class ServiceBehaviourTests(_Helpers):
    """The default: what the service's code does."""

    def test_a_repeated_trigger_starts_another_run(self):
        key = str(uuid.uuid4())
        before = self.run_count()
        first = self.trigger(key).json()["id"]
        second = self.trigger(key).json()["id"]
        self.assertNotEqual(first, second)
        self.assertEqual(self.run_count(), before + 2)
        self.assertEqual(
            [e.replayed for e in self.emu.journal.filter(method="POST")], [False, False]
        )

    def test_a_lost_answer_then_a_retry_makes_two_runs(self):
        key = str(uuid.uuid4())
        before = self.run_count()
        self.emu.faults.drop_next(1, after_processing=True)
        with self.assertRaises(requests.ConnectionError):
            self.trigger(key)
        self.assertEqual(self.trigger(key).status_code, 200)
        self.assertEqual(self.run_count(), before + 2)

    def test_a_repeated_v2_batch_creates_another_batch(self):
        headers = {"x-trigger-request-idempotency-key": str(uuid.uuid4())}
        body = {"items": [{"task": "send-email"}]}
        first = self.post("/api/v2/tasks/batch", json=body, headers=headers)
        again = self.post("/api/v2/tasks/batch", json=body, headers=headers)
        self.assertEqual((first.status_code, again.status_code), (202, 202))
        self.assertNotEqual(first.json()["id"], again.json()["id"])

    def test_a_reused_batch_key_is_refused(self):
        before = self.batch_count()
        self.assertEqual(self.create_batch("batch-key").status_code, 202)
        for tasks in (("send-email",), ("other",)):  # the unique index ignores the tasks
            with self.subTest(tasks=tasks):
                self.assertError(
                    self.create_batch("batch-key", tasks),
                    422,
                    "Cannot create batch as it has already been created with the "
                    "same idempotency key.",
                )
        self.assertEqual(self.batch_count(), before + 1)

    def test_the_scoped_key_is_never_a_uuid(self):
        # The reason for all of the above, as the service's code computes it.
        cache = RequestIdempotency("service")
        key = str(uuid.uuid4())
        scoped = scope_key(key, ["env_1", "send-email"])
        expected = hashlib.sha256(
            json.dumps([key, "env_1", "send-email"], separators=(",", ":")).encode()
        ).hexdigest()
        self.assertEqual(scoped, expected)
        cache.save("trigger", scoped, "run_1", 0)
        self.assertIsNone(cache.check("trigger", scoped, 1))
        cache.save("trigger", key, "run_1", 0)  # an unscoped v4 UUID would be remembered
        self.assertEqual(cache.check("trigger", key, 1), "run_1")


class DocumentedBehaviourTests(_Helpers):
    """``Emulator(request_idempotency="documented")``: API.md §4.5 as written."""

    emulator_kwargs = {"request_idempotency": "documented"}

    def test_a_repeated_trigger_replays_the_run(self):
        before = self.run_count()
        first = self.trigger("key-1")
        second = self.trigger("key-1")
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.json(), {"id": first.json()["id"], "isCached": False})
        self.assertIn("x-trigger-jwt", second.headers)
        self.assertEqual(self.run_count(), before + 1)
        self.assertEqual(
            [e.replayed for e in self.emu.journal.filter(method="POST")], [False, True]
        )
        self.assertNotEqual(self.trigger("key-2").json()["id"], first.json()["id"])
        self.assertNotEqual(self.trigger(None).json()["id"], first.json()["id"])

    def test_scope_is_key_environment_and_task(self):
        first = self.trigger("shared").json()["id"]
        prod = self.trigger("shared", token=self.emu.secret_keys["prod"]).json()["id"]
        other_task = self.trigger("shared", task="sync-crm").json()["id"]
        self.assertEqual(len({first, prod, other_task}), 3)

    def test_errors_are_not_remembered(self):
        self.emu.faults.fail_next(1, 503)
        self.assertEqual(self.trigger("retry-me").status_code, 503)
        first = self.trigger("retry-me").json()["id"]
        self.assertEqual(self.trigger("retry-me").json()["id"], first)

    def test_other_routes_ignore_the_header(self):
        headers = {"x-trigger-request-idempotency-key": "same"}
        run_id = self.trigger(None).json()["id"]
        for _ in range(2):
            self.assertEqual(
                self.post(f"/api/v1/runs/{run_id}/replay", headers=headers).status_code, 200
            )
        self.assertFalse(any(e.replayed for e in self.emu.journal.entries))

    def test_v2_batch_replay_is_a_200_with_the_batch(self):
        headers = {"x-trigger-request-idempotency-key": "batch-1"}
        body = {"items": [{"task": "send-email"}, {"task": "send-email"}]}
        first = self.post("/api/v2/tasks/batch", json=body, headers=headers)
        again = self.post("/api/v2/tasks/batch", json=body, headers=headers)
        self.assertEqual((first.status_code, again.status_code), (202, 200))
        self.assertEqual(again.json(), {"id": first.json()["id"], "runCount": 2})

    def test_v3_batch_create_replays_cached(self):
        first = self.create_batch("batch-key").json()
        again = self.create_batch("batch-key")
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json(), {"id": first["id"], "runCount": 2, "isCached": True})
        # Other tasks: another scope, but the same key in the batch table.
        self.assertEqual(self.create_batch("batch-key", ("x",)).status_code, 422)

    def test_remembered_for_24_hours_of_emulated_time(self):
        first = self.trigger("day").json()["id"]
        self.emu.clock.advance(86_399)
        self.assertEqual(self.trigger("day").json()["id"], first)
        self.emu.clock.advance(2)
        self.assertNotEqual(self.trigger("day").json()["id"], first)


class ModeValidationTests(SimpleTestCase):
    def test_unknown_mode(self):
        with self.assertRaises(ValueError):
            Emulator(request_idempotency="kind")  # type: ignore[arg-type]
