"""``client.tasks`` and ``client.batches``: trigger options on the wire, idempotency keys,
the two-phase batch trigger."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from django_trigger.exceptions import InvalidRequestError, UnprocessableEntityError
from django_trigger.resources.tasks import (
    BatchItem,
    Debounce,
    TriggerOptions,
    hash_idempotency_key,
)
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
                    "idempotencyKeyOptions": {"key": "order-42", "scope": "run"},
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


class SdkOptionsTests(ClientTestCase):
    """The options @trigger.dev/sdk 4.8.3 sends that are not in the test above."""

    def _stored(self, run_id):
        with self.emulator.state.lock:
            return self.emulator.state.runs.get(run_id)

    def test_debounce_and_external_deployment_id(self):
        result = self.trigger.tasks.trigger(
            "send-email",
            {},
            debounce=Debounce(key="user-7", delay="5s", mode="trailing", max_delay="1m"),
            external_deployment_id="3f2c9a1",
            lock_to_version="20261201.1",
            region="eu-central-1",
        )
        options = self.journal.last().body["options"]
        self.assertEqual(
            options["debounce"],
            {"key": "user-7", "delay": "5s", "mode": "trailing", "maxDelay": "1m"},
        )
        self.assertEqual(options["externalDeploymentId"], "3f2c9a1")
        run = self._stored(result.id)
        self.assertEqual(run.external_deployment_id, "3f2c9a1")
        self.assertEqual(run.debounce["key"], "user-7")
        self.assertEqual(run.locked_to_version, "20261201.1")
        self.assertEqual(run.region, "eu-central-1")
        # As a mapping, with the service's default mode left out.
        self.trigger.tasks.trigger("send-email", {}, debounce={"key": "k", "delay": 10})
        self.assertEqual(
            self.journal.last().body["options"]["debounce"], {"key": "k", "delay": "10s"}
        )

    def test_debounce_pushes_the_delayed_run_back(self):
        # The run engine's semantics: the same key (per task) while its run is DELAYED returns
        # that run (isCached false) and moves it to now + delay; "leading" keeps the first
        # payload, "trailing" the last; past max_delay from its creation a new run starts.
        window = {"key": "u", "delay": "1m"}
        first = self.trigger.tasks.trigger("send-email", {"n": 1}, debounce=window)
        due = self.trigger.runs.retrieve(first.id).delayed_until
        self.emulator.clock.advance(30)
        again = self.trigger.tasks.trigger("send-email", {"n": 2}, debounce=window)
        self.assertEqual(again.id, first.id)
        self.assertFalse(again.is_cached)
        run = self.trigger.runs.retrieve(first.id)
        self.assertAlmostEqual((run.delayed_until - due).total_seconds(), 30, delta=1)
        self.assertEqual(run.payload, {"n": 1})
        other_task = self.trigger.tasks.trigger("resize", {}, debounce=window)
        self.assertNotEqual(other_task.id, first.id)

        trailing = Debounce(key="t", delay="1m", mode="trailing", max_delay="2m")
        first = self.trigger.tasks.trigger("send-email", {"n": 1}, debounce=trailing, tags=["a"])
        self.emulator.clock.advance(50)
        again = self.trigger.tasks.trigger("send-email", {"n": 2}, debounce=trailing, tags=["b"])
        self.assertEqual(again.id, first.id)
        run = self.trigger.runs.retrieve(first.id)
        self.assertEqual((run.payload, run.tags), ({"n": 2}, ["b"]))
        self.emulator.clock.advance(70)  # now + 1m would pass created + 2m
        later = self.trigger.tasks.trigger("send-email", {"n": 3}, debounce=trailing)
        self.assertNotEqual(later.id, first.id)

    def test_idempotency_key_scope(self):
        # Outside a task every scope hashes the key alone (the SDK adds the run id and
        # attempt only inside one); the scope is recorded, and "run" is the SDK's default.
        first = self.trigger.tasks.trigger("send-email", {}, idempotency_key="s-1")
        self.assertEqual(
            self.journal.last().body["options"]["idempotencyKeyOptions"],
            {"key": "s-1", "scope": "run"},
        )
        for scope in ("attempt", "global"):
            again = self.trigger.tasks.trigger(
                "send-email", {}, idempotency_key="s-1", idempotency_key_scope=scope
            )
            self.assertEqual(again.id, first.id)
            options = self.journal.last().body["options"]
            self.assertEqual(options["idempotencyKey"], hashlib.sha256(b"s-1").hexdigest())
            self.assertEqual(options["idempotencyKeyOptions"]["scope"], scope)
        self.assertEqual(self._stored(first.id).idempotency_key_options["scope"], "run")
        # A ready-made 64-character key goes without options, as in the SDK.
        self.trigger.tasks.trigger("send-email", {}, idempotency_key="b" * 64)
        self.assertNotIn("idempotencyKeyOptions", self.journal.last().body["options"])

    def test_realtime_streams_header_on_trigger_and_batch(self):
        result = self.trigger.tasks.trigger("send-email", {})
        self.assertEqual(self.journal.last().headers["x-trigger-realtime-streams-version"], "v2")
        self.assertEqual(self._stored(result.id).realtime_streams_version, "v2")
        handle = self.trigger.tasks.batch_trigger([{"task": "send-email"}])
        create, items = self.journal.entries[-2:]
        for entry in (create, items):
            self.assertEqual(entry.headers["x-trigger-realtime-streams-version"], "v2")
        run_id = self.trigger.batches.retrieve(handle.id).runs[0]
        self.assertEqual(self._stored(run_id).realtime_streams_version, "v2")

    def test_bad_options_are_refused_before_sending(self):
        bad = [
            ({"debounce": {"key": "k"}}, "debounce"),
            ({"debounce": {"key": "x" * 513, "delay": "1s"}}, "debounce key is at most 512"),
            ({"debounce": Debounce(key="k", delay="soon")}, "debounce delay"),
            ({"debounce": Debounce(key="k", delay="1s", mode="middle")}, "leading"),
            ({"debounce": "k"}, "debounce must be"),
            ({"debounce": Debounce(key="k", delay="1m", max_delay="60s")}, "must be longer"),
            ({"debounce": {"key": "k", "delay": datetime.now(timezone.utc)}}, "not dates"),
            ({"external_deployment_id": "x" * 129}, "at most 128"),
            ({"external_deployment_id": ""}, "external_deployment_id"),
            ({"idempotency_key": "k", "idempotency_key_scope": "task"}, "'run', 'attempt'"),
        ]
        for options, message in bad:
            with self.subTest(options=options):
                before = self.journal.count()
                with self.assertRaisesMessage(InvalidRequestError, message):
                    self.trigger.tasks.trigger("send-email", {}, **options)
                self.assertEqual(self.journal.count(), before)


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
                {"index": 0, "task": "send-email", "payload": {"n": 1}, "options": {"tags": ["b"]}},
                {"index": 1, "task": "resize", "payload": {"n": 2}, "options": {"delay": "1h"}},
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
