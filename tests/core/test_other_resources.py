"""Schedules, queues, deployments, bulk actions and batch results over HTTP."""

from __future__ import annotations

from django_trigger.exceptions import NotFoundError, UnprocessableEntityError
from django_trigger.types import BulkAction, Queue, RunStatus, Schedule

from .base import ClientTestCase


class ScheduleTests(ClientTestCase):
    @property
    def task(self) -> str:
        return self.emulator.scheduled_tasks[0]

    def test_create_retrieve_update_delete(self):
        created = self.trigger.schedules.create(
            task=self.task,
            cron="0 9 * * 1-5",
            deduplication_key="tenant-7",
            external_id="tenant_7",
            timezone="Europe/London",
        )
        self.assertIsInstance(created, Schedule)
        self.assertEqual(
            self.journal.last().body,
            {
                "task": self.task,
                "cron": "0 9 * * 1-5",
                "deduplicationKey": "tenant-7",
                "externalId": "tenant_7",
                "timezone": "Europe/London",
            },
        )
        self.assertEqual(created.cron, "0 9 * * 1-5")
        self.assertTrue(created.generator.description)
        self.assertTrue(created.active)
        self.assertEqual(self.trigger.schedules.retrieve("tenant-7").id, created.id)
        updated = self.trigger.schedules.update(created.id, task=self.task, cron="30 9 * * *")
        self.assertEqual(updated.timezone, "UTC")  # PUT replaces: omitted timezone is UTC
        self.assertIsNone(updated.external_id)
        self.assertFalse(self.trigger.schedules.deactivate(created.id).active)
        self.assertTrue(self.trigger.schedules.activate(created.id).active)
        self.assertEqual(self.trigger.schedules.delete(created.id).id, created.id)
        with self.assertRaises(NotFoundError):
            self.trigger.schedules.retrieve(created.id)

    def test_same_deduplication_key_updates(self):
        first = self.trigger.schedules.create(
            task=self.task, cron="0 1 * * *", deduplication_key="same"
        )
        second = self.trigger.schedules.create(
            task=self.task, cron="0 2 * * *", deduplication_key="same"
        )
        self.assertEqual(second.id, first.id)
        self.assertEqual(second.cron, "0 2 * * *")

    def test_server_validation_is_a_422(self):
        with self.assertRaises(UnprocessableEntityError) as ctx:
            self.trigger.schedules.create(
                task=self.task, cron="0 9 * * *", deduplication_key="tz", timezone="Etc/UTC"
            )
        self.assertIn("Invalid IANA timezone", ctx.exception.message)
        with self.assertRaises(UnprocessableEntityError):
            self.trigger.schedules.create(
                task="send-email", cron="0 9 * * *", deduplication_key="not-scheduled"
            )

    def test_timezones_need_no_credentials(self):
        zones = self.trigger.schedules.timezones()
        self.assertEqual(zones[0], "UTC")
        self.assertIn("Europe/London", zones)
        self.assertNotIn("authorization", self.journal.last().headers)
        self.assertNotIn("UTC", self.trigger.schedules.timezones(exclude_utc=True))


class QueueTests(ClientTestCase):
    def test_list_retrieve_pause_resume(self):
        page = self.trigger.queues.list()
        self.assertGreater(page.count, 0)
        queue = page.data[0]
        self.assertIsInstance(queue, Queue)
        self.assertEqual(self.trigger.queues.retrieve(queue.id).name, queue.name)
        self.assertTrue(self.trigger.queues.pause(queue.id).paused)
        self.assertEqual(self.journal.last().body, {"type": "id", "action": "pause"})
        self.assertFalse(self.trigger.queues.resume(queue.id).paused)

    def test_lookup_by_task_and_concurrency_override(self):
        queue = self.trigger.queues.retrieve("send-email", type="task")
        self.assertEqual(queue.type, "task")
        overridden = self.trigger.queues.override_concurrency_limit(
            "send-email", type="task", concurrency_limit=3
        )
        self.assertEqual(overridden.concurrency_limit, 3)
        reset = self.trigger.queues.reset_concurrency_limit("send-email", type="task")
        self.assertIsNone(reset.concurrency.override)

    def test_names_with_a_slash_are_double_encoded_like_the_sdk(self):
        with self.assertRaises(NotFoundError):
            self.trigger.queues.retrieve("team/emails", type="custom")
        self.assertEqual(self.journal.last().path, "/api/v1/queues/team%252Femails")


class DeploymentTests(ClientTestCase):
    def test_list_current_retrieve(self):
        client = self.make_client(self.emulator.secret_keys["prod"])
        page = client.deployments.list(limit=5)
        self.assertEqual(self.journal.last().query["page[size]"], ["5"])
        self.assertTrue(page.data)
        deployment = client.deployments.retrieve(page.data[0].id)
        self.assertEqual(deployment.version, page.data[0].version)
        current = client.deployments.current()
        self.assertEqual(current.status, "DEPLOYED")
        walked = list(client.deployments.list(limit=5))
        self.assertEqual(len({d.id for d in walked}), len(walked))

    def test_promote(self):
        client = self.make_client(self.emulator.secret_keys["prod"])
        deployed = [d for d in client.deployments.list() if d.status == "DEPLOYED"]
        older = deployed[-1]
        promoted = client.deployments.promote(older.version, allow_rollbacks=True)
        self.assertEqual(promoted.version, older.version)
        self.assertEqual(self.journal.last().query["allowRollbacks"], ["true"])
        self.assertEqual(client.deployments.current().version, older.version)


class BulkActionTests(ClientTestCase):
    def test_cancel_by_ids(self):
        runs = [self.trigger.tasks.trigger("send-email", {"n": n}).id for n in range(3)]
        created = self.trigger.bulk_actions.create("cancel", run_ids=runs, name="cleanup")
        action = self.trigger.bulk_actions.retrieve(created.id)
        self.assertIsInstance(action, BulkAction)
        self.assertEqual(action.type, "CANCEL")
        self.assertEqual(action.counts.total, 3)
        self.assertTrue(
            all(self.trigger.runs.retrieve(r).status is RunStatus.CANCELED for r in runs)
        )
        self.assertIn(created.id, [a.id for a in self.trigger.bulk_actions.list()])

    def test_filter_goes_as_json(self):
        self.trigger.bulk_actions.create(
            "replay",
            filter={
                "status": ["FAILED"],
                "task_identifier": "send-email",
                "period": "1d",
                "is_test": False,
            },
        )
        self.assertEqual(
            self.journal.last().body["filter"],
            {
                "status": ["FAILED"],
                "taskIdentifier": ["send-email"],
                "period": "1d",
                "isTest": False,
            },
        )


class BatchResultTests(ClientTestCase):
    def test_results_of_a_seeded_batch(self):
        handle = self.trigger.tasks.batch_trigger([{"task": "send-email"}])
        batch = self.trigger.batches.retrieve(handle.id)
        self.assertEqual(batch.processing.errors, [])
        self.assertIsInstance(self.trigger.batches.retrieve_results(handle.id), list)
