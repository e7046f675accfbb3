"""``client.runs`` over HTTP: filters on the wire, typed results, actions, PAT project runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django_trigger.exceptions import InvalidRequestError, NotFoundError
from django_trigger.types import Run, RunListItem, RunStatus

from .base import ClientTestCase


class ListFilterTests(ClientTestCase):
    def test_every_filter_maps_to_its_wire_name(self):
        since = datetime(2026, 11, 1, tzinfo=timezone.utc)
        until = datetime(2026, 11, 2, tzinfo=timezone.utc)
        self.trigger.runs.list(
            status=["FAILED", RunStatus.CRASHED],
            task_identifier=["send-email", "resize"],
            version="20240523.1",
            tag=["a", "b"],
            bulk_action="bulk_123",
            schedule="sched_123",
            batch="batch_123",
            is_test=True,
            from_=since,
            to=until,
            queue=[{"type": "task", "name": "send-email"}, "custom-q"],
            machine=["small-1x", "large-2x"],
            region="eu-central-1",
            limit=10,
        )
        query = {key: values[0] for key, values in self.journal.last().query.items()}
        self.assertEqual(
            query,
            {
                "filter[status]": "FAILED,CRASHED",
                "filter[taskIdentifier]": "send-email,resize",
                "filter[version]": "20240523.1",
                "filter[tag]": "a,b",
                "filter[bulkAction]": "bulk_123",
                "filter[schedule]": "sched_123",
                "filter[batch]": "batch_123",
                "filter[isTest]": "true",
                "filter[createdAt][from]": str(int(since.timestamp() * 1000)),
                "filter[createdAt][to]": str(int(until.timestamp() * 1000)),
                "filter[queue]": "task/send-email,custom-q",
                "filter[machine]": "small-1x,large-2x",
                "filter[region]": "eu-central-1",
                "page[size]": "10",
            },
        )

    def test_status_filter_returns_only_that_status(self):
        page = self.trigger.runs.list(status=["FAILED"], period="30d", limit=100)
        self.assertTrue(page.data)
        self.assertEqual({run.status for run in page.data}, {RunStatus.FAILED})
        self.assertTrue(all(run.is_failed for run in page.data))

    def test_without_a_time_filter_only_the_last_seven_days(self):
        cutoff = datetime.now(timezone.utc) - timedelta(days=7, minutes=5)
        recent = list(self.trigger.runs.list())
        self.assertTrue(recent)
        self.assertTrue(all(run.created_at >= cutoff for run in recent))
        everything = list(self.trigger.runs.list(period="60d"))
        self.assertGreater(len(everything), len(recent))

    def test_naive_datetimes_are_refused(self):
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.list(from_=datetime(2026, 1, 1))
        self.assertEqual(self.journal.count(), 0)


class RunTests(ClientTestCase):
    def test_retrieve_is_typed(self):
        item = self.trigger.runs.list(status="COMPLETED", period="30d", limit=1).data[0]
        self.assertIsInstance(item, RunListItem)
        run = self.trigger.runs.retrieve(item.id)
        self.assertIsInstance(run, Run)
        self.assertEqual(run.id, item.id)
        self.assertIs(run.status, RunStatus.COMPLETED)
        self.assertTrue(run.is_completed and run.is_success and run.is_final)
        self.assertIsInstance(run.created_at, datetime)
        self.assertIsNotNone(run.created_at.tzinfo)
        self.assertEqual(run.raw["id"], run.id)
        self.assertIsInstance(run.related_runs.children, list)
        self.assertEqual(self.journal.last().path, f"/api/v3/runs/{item.id}")

    def test_cancel_a_queued_run(self):
        triggered = self.trigger.tasks.trigger("send-email", {"to": "x@example.com"})
        result = self.trigger.runs.cancel(triggered.id)
        self.assertEqual(result.id, triggered.id)
        run = self.trigger.runs.retrieve(triggered.id)
        self.assertIs(run.status, RunStatus.CANCELED)
        self.assertTrue(run.is_cancelled)

    def test_cancel_of_a_finished_run_leaves_it(self):
        item = self.trigger.runs.list(status="COMPLETED", period="30d", limit=1).data[0]
        self.trigger.runs.cancel(item.id)
        self.assertIs(self.trigger.runs.retrieve(item.id).status, RunStatus.COMPLETED)

    def test_replay_creates_a_new_run(self):
        triggered = self.trigger.tasks.trigger("send-email", {"n": 1})
        replayed = self.trigger.runs.replay(triggered.id)
        self.assertNotEqual(replayed.id, triggered.id)
        run = self.trigger.runs.retrieve(replayed.id)
        self.assertEqual(run.task_identifier, "send-email")
        self.assertEqual(run.payload, {"n": 1})

    def test_reschedule_a_delayed_run(self):
        triggered = self.trigger.tasks.trigger("send-email", {}, delay="1h")
        self.assertIs(self.trigger.runs.retrieve(triggered.id).status, RunStatus.DELAYED)
        when = datetime.now(timezone.utc) + timedelta(hours=3)
        run = self.trigger.runs.reschedule(triggered.id, delay=when)
        self.assertIs(run.status, RunStatus.DELAYED)
        self.assertAlmostEqual(run.delayed_until.timestamp(), when.timestamp(), delta=1)
        run = self.trigger.runs.reschedule(triggered.id, delay=timedelta(minutes=90))
        self.assertEqual(self.journal.last().body, {"delay": "5400s"})

    def test_add_tags(self):
        triggered = self.trigger.tasks.trigger("send-email", {}, tags=["a"])
        message = self.trigger.runs.add_tags(triggered.id, ["b", "c"])
        self.assertIn("2", message.message)
        self.assertEqual(self.trigger.runs.retrieve(triggered.id).tags, ["a", "b", "c"])

    def test_update_metadata(self):
        triggered = self.trigger.tasks.trigger("send-email", {}, metadata={"step": 1})
        metadata = self.trigger.runs.update_metadata(
            triggered.id, operations=[{"type": "set", "key": "step", "value": 2}]
        )
        self.assertEqual(metadata["step"], 2)
        metadata = self.trigger.runs.update_metadata(triggered.id, {"fresh": True})
        self.assertEqual(metadata, {"fresh": True})

    def test_result_of_a_finished_and_an_unfinished_run(self):
        done = self.trigger.runs.list(status="COMPLETED", period="30d", limit=1).data[0]
        result = self.trigger.runs.retrieve_result(done.id)
        self.assertTrue(result.ok)
        self.assertEqual(result.id, done.id)
        raw = self.trigger.runs.with_raw_response.retrieve_result(done.id)
        assert raw is not None
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.parse().id, done.id)
        pending = self.trigger.tasks.trigger("send-email", {})
        self.assertIsNone(self.trigger.runs.retrieve_result(pending.id))
        # Raw too: a 404 is "no result yet", not an error (the type says RawResponse | None).
        self.assertIsNone(self.trigger.runs.with_raw_response.retrieve_result(pending.id))

    def test_events_and_trace(self):
        done = self.trigger.runs.list(status="COMPLETED", period="30d", limit=1).data[0]
        self.assertIsInstance(self.trigger.runs.retrieve_events(done.id), list)
        trace = self.trigger.runs.retrieve_trace(done.id)
        self.assertIn("rootSpan", trace)

    def test_raw_response(self):
        done = self.trigger.runs.list(status="COMPLETED", period="30d", limit=1).data[0]
        raw = self.trigger.runs.with_raw_response.retrieve(done.id)
        self.assertEqual(raw.status_code, 200)
        self.assertTrue(raw.headers["content-type"].startswith("application/json"))
        self.assertEqual(raw.json()["id"], done.id)
        self.assertEqual(raw.parse().id, done.id)


class ProjectRunsTests(ClientTestCase):
    def test_pat_lists_a_projects_environment(self):
        client = self.pat_client(environment="prod")
        page = client.runs.list(period="30d", limit=5)
        entry = self.journal.last()
        self.assertEqual(entry.path, f"/api/v1/projects/{self.emulator.project_ref}/runs")
        self.assertEqual(entry.query["filter[env]"], ["prod"])
        self.assertTrue(all(run.env.name == "prod" for run in page.data))

    def test_staging_goes_on_the_wire_as_stg(self):
        client = self.pat_client(environment="staging")
        client.runs.list(limit=1)
        self.assertEqual(self.journal.last().query["filter[env]"], ["stg"])

    def test_unknown_project(self):
        client = self.pat_client()
        with self.assertRaises(NotFoundError) as ctx:
            client.runs.list(project_ref="proj_doesnotexist00000000")
        self.assertEqual(ctx.exception.message, "Project not found")

    def test_secret_key_cannot_use_the_pat_route(self):
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.list(environment="dev")
        self.assertEqual(self.journal.count(), 0)
