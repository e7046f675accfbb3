"""Records: snake_case attributes from camelCase keys, conversions, tolerance, shape errors."""

from __future__ import annotations

from datetime import datetime, timezone

from django.test import SimpleTestCase

from django_trigger.types import EnvVar, Queue, RunListItem, RunStatus, Schedule, SchemaError

RUN = {
    "id": "run_1",
    "status": "COMPLETED",
    "taskIdentifier": "send-email",
    "isQueued": False,
    "isExecuting": False,
    "isWaiting": False,
    "isCompleted": True,
    "isSuccess": True,
    "isFailed": False,
    "isCancelled": False,
    "isTest": False,
    "createdAt": "2026-11-28T10:00:00.123Z",
    "updatedAt": "2026-11-28T10:00:01Z",
    "tags": ["a"],
    "costInCents": 1,
    "baseCostInCents": 0.5,
    "durationMs": 12,
    "env": {"id": "env_1", "name": "dev"},
}


class RecordTests(SimpleTestCase):
    def test_conversions(self):
        run = RunListItem.from_api({**RUN, "somethingNew": {"x": 1}})
        self.assertEqual(run.task_identifier, "send-email")
        self.assertIs(run.status, RunStatus.COMPLETED)
        self.assertEqual(run.created_at, datetime(2026, 11, 28, 10, 0, 0, 123000, timezone.utc))
        self.assertEqual((run.cost_in_cents, run.duration_ms), (1.0, 12.0))
        self.assertEqual(run.env.name, "dev")
        self.assertEqual(run.raw["somethingNew"], {"x": 1})  # unknown keys kept, not failing
        self.assertIsNone(run.finished_at)

    def test_unknown_enum_values_are_kept(self):
        run = RunListItem.from_api({**RUN, "status": "PAUSED_FOREVER"})
        self.assertEqual(run.status, "PAUSED_FOREVER")
        self.assertFalse(run.status.is_final)

    def test_shape_errors_name_the_key(self):
        cases = [
            ({k: v for k, v in RUN.items() if k != "id"}, "missing required key 'id'"),
            ({**RUN, "isTest": "no"}, "RunListItem.isTest: expected a boolean, got str"),
            ({**RUN, "tags": "a"}, "RunListItem.tags: expected an array"),
            ({**RUN, "costInCents": True}, "expected a number, got bool"),
            ({**RUN, "createdAt": "yesterday"}, "invalid date 'yesterday'"),
            ({**RUN, "env": {"id": "e"}}, "RunListItem.env: RunEnvironment: missing required"),
            ({**RUN, "status": None}, "'status' must not be null"),
        ]
        for data, message in cases:
            with self.subTest(message=message), self.assertRaises(SchemaError) as ctx:
                RunListItem.from_api(data)
            self.assertIn(message, str(ctx.exception))
        with self.assertRaises(SchemaError):
            RunListItem.from_api(["not", "an", "object"])

    def test_required_but_nullable(self):
        queue = Queue.from_api(
            {
                "id": "queue_1",
                "name": "q",
                "type": "task",
                "running": 0,
                "queued": 2,
                "paused": False,
                "concurrencyLimit": None,
            }
        )
        self.assertIsNone(queue.concurrency_limit)
        with self.assertRaises(SchemaError):
            Queue.from_api(
                {
                    "id": "queue_1",
                    "name": "q",
                    "type": "task",
                    "running": 0,
                    "queued": 2,
                    "paused": False,
                }
            )

    def test_nested_lists_of_records(self):
        schedule = Schedule.from_api(
            {
                "id": "sched_1",
                "type": "IMPERATIVE",
                "task": "t",
                "active": True,
                "generator": {"type": "CRON", "expression": "0 0 * * *", "description": "At 12"},
                "environments": [{"id": "e1", "type": "PRODUCTION"}],
                "externalId": None,
            }
        )
        self.assertEqual(schedule.environments[0].type, "PRODUCTION")
        self.assertEqual(schedule.cron, "0 0 * * *")
        self.assertIsNone(schedule.external_id)

    def test_values_of_env_vars_stay_out_of_reprs(self):
        var = EnvVar.from_api({"name": "TOKEN", "value": "hunter2", "isSecret": False})
        self.assertNotIn("hunter2", repr(var))
        self.assertEqual(var.value, "hunter2")
