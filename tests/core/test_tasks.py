"""``client.tasks`` and ``client.batches``: trigger options on the wire, idempotency keys,
the two-phase batch trigger."""

from __future__ import annotations

import hashlib
import json

from django_trigger.exceptions import UnprocessableEntityError
from django_trigger.resources.tasks import BatchItem, TriggerOptions, hash_idempotency_key
from django_trigger.types import BatchHandle, RunStatus, TriggerResult

from .base import ClientTestCase


class TriggerTests(ClientTestCase):
    def test_trigger_sends_plain_json_and_options(self):
        result = self.trigger.tasks.trigger(
            "send-email",
            {"to": "a@example.com"},
            idempotency_key="order-42",
            idempotency_key_ttl="1h",
            delay="10m",
            ttl="1h",
            tags=["order_42"],
            queue="emails",
            concurrency_key="tenant-7",
            max_attempts=3,
            max_duration=60,
            metadata={"source": "django"},
            machine="small-1x",
            priority=10,
            test=True,
        )
        self.assertIsInstance(result, TriggerResult)
        self.assertTrue(result.id.startswith("run_"))
        self.assertFalse(result.is_cached)
        self.assertTrue(result.public_access_token)
        self.assertNotIn(result.public_access_token, repr(result))
        entry = self.journal.last()
        self.assertEqual(entry.path, "/api/v1/tasks/send-email/trigger")
        self.assertEqual(
            entry.body,
            {
                "payload": {"to": "a@example.com"},
                "options": {
                    "idempotencyKey": hashlib.sha256(b"order-42").hexdigest(),
                    "idempotencyKeyOptions": {"key": "order-42", "scope": "global"},
                    "idempotencyKeyTTL": "1h",
                    "delay": "10m",
                    "ttl": "1h",
                    "tags": ["order_42"],
                    "queue": {"name": "emails"},
                    "concurrencyKey": "tenant-7",
                    "maxAttempts": 3,
                    "maxDuration": 60,
                    "metadata": {"source": "django"},
                    "machine": "small-1x",
                    "priority": 10,
                    "test": True,
                },
            },
        )
        run = self.trigger.runs.retrieve(result.id)
        self.assertIs(run.status, RunStatus.DELAYED)
        self.assertEqual(run.idempotency_key, "order-42")
        self.assertTrue(run.is_test)

    def test_options_object(self):
        options = TriggerOptions(tags="one", ttl=300)
        self.trigger.tasks.trigger("resize", None, options=options)
        self.assertEqual(self.journal.last().body["options"], {"tags": ["one"], "ttl": "300s"})

    def test_idempotency_key_returns_the_same_run(self):
        first = self.trigger.tasks.trigger("send-email", {}, idempotency_key="welcome-7")
        again = self.trigger.tasks.trigger("send-email", {}, idempotency_key="welcome-7")
        self.assertEqual(again.id, first.id)
        self.assertTrue(again.is_cached)
        other_task = self.trigger.tasks.trigger("resize", {}, idempotency_key="welcome-7")
        self.assertNotEqual(other_task.id, first.id)

    def test_reset_idempotency_key(self):
        first = self.trigger.tasks.trigger("send-email", {}, idempotency_key="once")
        self.trigger.idempotency_keys.reset("send-email", "once")
        again = self.trigger.tasks.trigger("send-email", {}, idempotency_key="once")
        self.assertNotEqual(again.id, first.id)

    def test_sixty_four_character_keys_are_sent_as_is(self):
        key = "a" * 64
        self.assertEqual(hash_idempotency_key(key), key)
        self.trigger.tasks.trigger("send-email", {}, idempotency_key=key)
        self.assertEqual(self.journal.last().body["options"]["idempotencyKey"], key)

    def test_task_identifier_is_quoted(self):
        self.trigger.tasks.trigger("emails/welcome", {})
        self.assertEqual(self.journal.last().path, "/api/v1/tasks/emails%2Fwelcome/trigger")


class BatchTriggerTests(ClientTestCase):
    def test_two_phase_batch(self):
        handle = self.trigger.tasks.batch_trigger(
            [
                {"task": "send-email", "payload": {"n": 1}, "options": {"tags": ["b"]}},
                BatchItem(task="resize", payload={"n": 2}, options=TriggerOptions(delay="1h")),
            ]
        )
        self.assertIsInstance(handle, BatchHandle)
        self.assertEqual(handle.run_count, 2)
        create, items = self.journal.entries[-2:]
        self.assertEqual(create.path, "/api/v3/batches")
        self.assertEqual(create.body, {"runCount": 2, "taskIdentifiers": ["resize", "send-email"]})
        self.assertEqual(items.path, f"/api/v3/batches/{handle.id}/items")
        self.assertEqual(items.headers["content-type"], "application/x-ndjson")
        lines = [json.loads(line) for line in items.body.splitlines() if line]
        self.assertEqual(
            lines,
            [
                {"index": 0, "task": "send-email", "payload": {"n": 1},
                 "options": {"tags": ["b"]}},
                {"index": 1, "task": "resize", "payload": {"n": 2},
                 "options": {"delay": "1h"}},
            ],
        )
        batch = self.trigger.batches.retrieve(handle.id)
        self.assertEqual(batch.run_count, 2)
        self.assertEqual(len(batch.runs), 2)
        statuses = {self.trigger.runs.retrieve(run_id).task_identifier for run_id in batch.runs}
        self.assertEqual(statuses, {"send-email", "resize"})

    def test_batch_idempotency(self):
        items = [{"task": "send-email", "payload": {"n": i}} for i in range(3)]
        first = self.trigger.tasks.batch_trigger(items, idempotency_key="nightly-2026-11-29")
        self.journal.clear()
        # The service refuses a batch key it has seen (as for the official SDK); the
        # retry-safety tests cover a lost answer and a service that answers isCached.
        with self.assertRaises(UnprocessableEntityError):
            self.trigger.tasks.batch_trigger(items, idempotency_key="nightly-2026-11-29")
        self.assertEqual(self.journal.count(), 1)
        self.assertEqual(len(self.trigger.batches.retrieve(first.id).runs), 3)

    def test_item_keys_derive_from_the_batch_key(self):
        self.trigger.tasks.batch_trigger(
            [{"task": "send-email"}, {"task": "send-email"}], idempotency_key="k"
        )
        items = self.journal.last()
        self.assertEqual(items.path.rsplit("/", 1)[-1], "items")
        lines = [json.loads(line) for line in items.body.splitlines()]
        self.assertEqual(
            [line["options"]["idempotencyKey"] for line in lines],
            [hashlib.sha256(b"k-0").hexdigest(), hashlib.sha256(b"k-1").hexdigest()],
        )
