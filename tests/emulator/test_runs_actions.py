"""Single-run endpoints (API.md §6.1, §7.3, §7.5): retrieve, cancel, replay, reschedule, tags,
metadata, result, events, trace and spans."""

from __future__ import annotations

import datetime as dt
import json

from .base import FROZEN_NOW, EmulatorCase


class RunActionCase(EmulatorCase):
    def run_with(self, status: str, **conditions):
        for run in self.dev_runs():
            if run.status == status and all(getattr(run, k) == v for k, v in conditions.items()):
                return run
        self.fail(f"no seeded {status} run")


class RetrieveTests(RunActionCase):
    def test_completed_run_has_payload_output_and_related_runs(self):
        run = self.run_with("COMPLETED_SUCCESSFULLY")
        body = self.get(f"/api/v3/runs/{run.friendly_id}").json()
        self.assertEqual(body["id"], run.friendly_id)
        self.assertEqual(body["payload"], json.loads(run.payload))
        self.assertEqual(body["output"], json.loads(run.output))
        self.assertEqual(body["attempts"], [])
        self.assertEqual(body["relatedRuns"]["children"], [])
        for key in ("depth", "triggerFunction", "attemptCount", "isTest", "durationMs"):
            self.assertIn(key, body)
        self.assertNotIn("env", body)
        self.assertNotIn(None, body.values())

    def test_failed_run_has_error_but_no_output(self):
        run = self.run_with("COMPLETED_WITH_ERRORS")
        body = self.get(f"/api/v3/runs/{run.friendly_id}").json()
        self.assertIn("message", body["error"])
        self.assertNotIn("output", body)
        crashed = self.get(f"/api/v3/runs/{self.run_with('CRASHED').friendly_id}").json()
        self.assertEqual(
            crashed["error"]["message"], "trigger.dev internal error (TASK_PROCESS_OOM_KILLED)"
        )

    def test_child_run_shows_parent_and_root(self):
        child = next(r for r in self.dev_runs() if r.parent_id)
        body = self.get(f"/api/v3/runs/{child.friendly_id}").json()
        self.assertEqual(body["depth"], 1)
        self.assertEqual(body["triggerFunction"], "triggerAndWait")
        self.assertEqual(body["relatedRuns"]["parent"]["id"], child.parent_id)
        self.assertEqual(body["relatedRuns"]["root"]["id"], child.parent_id)
        self.assertNotIn("payload", body["relatedRuns"]["parent"])
        parent = self.get(f"/api/v3/runs/{child.parent_id}").json()
        self.assertIn(child.friendly_id, [c["id"] for c in parent["relatedRuns"]["children"]])

    def test_scheduled_run_and_version_lock(self):
        scheduled = next(r for r in self.dev_runs() if r.schedule)
        body = self.get(f"/api/v3/runs/{scheduled.friendly_id}").json()
        self.assertEqual(
            body["schedule"]["generator"],
            {"type": "CRON", "expression": "0 3 * * *", "description": "At 03:00 AM"},
        )
        # Dev runs are not version-locked: the list shows the version, retrieve does not.
        ran = self.run_with("COMPLETED_SUCCESSFULLY")
        self.assertNotIn("version", self.get(f"/api/v3/runs/{ran.friendly_id}").json())
        prod_key = self.emu.secret_keys["prod"]
        prod_run = self.get(
            "/api/v1/runs", token=prod_key, params={"filter[status]": "COMPLETED"}
        ).json()["data"][0]
        self.assertEqual(
            self.get(f"/api/v3/runs/{prod_run['id']}", token=prod_key).json()["version"],
            prod_run["version"],
        )
        self.assertGreater(prod_run["costInCents"], 0)

    def test_unknown_run_is_a_retryable_404(self):
        response = self.get("/api/v3/runs/run_doesnotexist")
        self.assertError(response, 404, "Not found")
        self.assertEqual(response.headers["x-should-retry"], "true")


class CancelReplayTests(RunActionCase):
    def test_cancel_only_changes_runs_that_are_not_final(self):
        queued = self.run_with("PENDING")
        response = self.post(f"/api/v2/runs/{queued.friendly_id}/cancel")
        self.assertEqual(response.json(), {"id": queued.friendly_id})
        body = self.get(f"/api/v3/runs/{queued.friendly_id}").json()
        self.assertEqual(
            (body["status"], body["isCancelled"], body["isCompleted"]), ("CANCELED", True, True)
        )
        done = self.run_with("COMPLETED_SUCCESSFULLY")
        self.assertEqual(self.post(f"/api/v2/runs/{done.friendly_id}/cancel").status_code, 200)
        self.assertEqual(self.get(f"/api/v3/runs/{done.friendly_id}").json()["status"], "COMPLETED")

    def test_cancel_unknown_run(self):
        response = self.post("/api/v2/runs/run_nope/cancel")
        self.assertError(response, 404, "Resource not found")
        self.assertNotIn("x-should-retry", response.headers)

    def test_replay_creates_a_new_run_with_the_same_input(self):
        original = self.run_with("COMPLETED_WITH_ERRORS")
        response = self.post(f"/api/v1/runs/{original.friendly_id}/replay")
        new_id = response.json()["id"]
        self.assertNotEqual(new_id, original.friendly_id)
        new = self.get(f"/api/v3/runs/{new_id}").json()
        self.assertEqual(new["taskIdentifier"], original.task_identifier)
        self.assertEqual(new["payload"], json.loads(original.payload))
        self.assertEqual(new["status"], "QUEUED")
        self.assertEqual(
            self.get("/api/v1/runs", params={"page[size]": 1}).json()["data"][0]["id"], new_id
        )
        self.assertError(self.post("/api/v1/runs/run_nope/replay"), 404, "Resource not found")

    def test_replay_overrides_and_their_checks(self):
        """The SDK 4.8.3 body (a strict ``ReplayRunRequestBody``), applied as
        ``ReplayTaskRunService`` applies overrides (API-ADDENDUM §11, assumed)."""
        original = self.run_with("COMPLETED_WITH_ERRORS")
        path = f"/api/v1/runs/{original.friendly_id}/replay"
        body = {
            "payload": '{"json":{"to":"b"}}',
            "payloadType": "application/super+json",
            "tags": "t1",
            "queue": "emails",
            "concurrencyKey": 7,
            "machine": "large-1x",
            "version": "20261201.1",
            "maxAttempts": 2,
            "priority": 5,
        }
        new = self.get(f"/api/v3/runs/{self.post(path, json=body).json()['id']}").json()
        self.assertEqual((new["payload"], new["tags"]), ({"to": "b"}, ["t1"]))
        self.assertEqual(new["version"], "20261201.1")
        stored = self.emu.state.runs.by_id[new["id"]]
        self.assertEqual(
            (stored.queue, stored.concurrency_key, stored.machine, stored.max_attempts),
            ("emails", "7", "large-1x", 2),
        )
        self.assertEqual(stored.replayed_from, original.friendly_id)
        for bad, message in (
            ({"nope": 1}, "Unrecognized key(s) in object: 'nope'"),
            ({"payloadType": "text/plain"}, "received 'text/plain' at \"payloadType\""),
            ({"maxAttempts": 0}, 'greater than or equal to 1 at "maxAttempts"'),
            ({"machine": "huge"}, 'at "machine"'),
            ({"delay": True}, 'Invalid input at "delay"'),
            ({"metadata": [1]}, 'at "metadata"'),
            ({"idempotencyKey": "k" * 2049}, 'at "idempotencyKey"'),
        ):
            with self.subTest(body=bad):
                response = self.post(path, json=bad)
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.json()["error"])
        tags = {"tags": [f"t{n}" for n in range(11)]}
        self.assertError(
            self.post(path, json=tags), 422, "Runs can only have 10 tags, you're trying to set 11."
        )
        self.assertError(self.post(path, data="{bad"), 400, "Invalid JSON")


class RescheduleTests(RunActionCase):
    def test_reschedule_a_delayed_run(self):
        delayed = self.run_with("DELAYED")
        response = self.post(f"/api/v1/runs/{delayed.friendly_id}/reschedule", json={"delay": "2h"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["delayedUntil"], "2026-03-18T14:00:00.000Z")
        when = (FROZEN_NOW + dt.timedelta(days=2)).isoformat()
        again = self.post(f"/api/v1/runs/{delayed.friendly_id}/reschedule", json={"delay": when})
        self.assertEqual(again.json()["delayedUntil"], "2026-03-20T12:00:00.000Z")

    def test_reschedule_errors(self):
        delayed = self.run_with("DELAYED")
        path = f"/api/v1/runs/{delayed.friendly_id}/reschedule"
        self.assertError(self.post(path, json={"delay": "soon"}), 400, "Invalid delay: soon")
        past = (FROZEN_NOW - dt.timedelta(hours=1)).isoformat()
        self.assertError(self.post(path, json={"delay": past}), 400, f"Invalid delay: {past}")
        self.assertError(self.post(path, json={}), 400, "Invalid request body")
        queued = self.run_with("PENDING")
        self.assertError(
            self.post(f"/api/v1/runs/{queued.friendly_id}/reschedule", json={"delay": "1h"}),
            400,
            "Cannot reschedule a run that is not delayed",
        )
        self.assertError(
            self.post("/api/v1/runs/run_nope/reschedule", json={"delay": "1h"}),
            404,
            "Run not found",
        )

    def test_delayed_run_is_queued_when_its_time_comes(self):
        delayed = self.run_with("DELAYED")
        self.post(f"/api/v1/runs/{delayed.friendly_id}/reschedule", json={"delay": "30m"})
        self.emu.clock.advance(31 * 60)
        self.assertEqual(self.get(f"/api/v3/runs/{delayed.friendly_id}").json()["status"], "QUEUED")


class TagsTests(RunActionCase):
    def test_add_tags_ignores_duplicates(self):
        run = self.run_with("PENDING", tags=[])
        path = f"/api/v1/runs/{run.friendly_id}/tags"
        self.assertEqual(
            self.post(path, json={"tags": ["b", "a"]}).json(),
            {"message": "Successfully set 2 new tags."},
        )
        self.assertEqual(
            self.post(path, json={"tags": "a"}).json(), {"message": "No new tags to add"}
        )
        self.assertEqual(self.get(f"/api/v3/runs/{run.friendly_id}").json()["tags"], ["a", "b"])

    def test_tag_limits(self):
        run = self.run_with("PENDING", tags=[])
        path = f"/api/v1/runs/{run.friendly_id}/tags"
        self.post(path, json={"tags": [f"t{i}" for i in range(9)]})
        response = self.post(path, json={"tags": ["x", "y"]})
        self.assertError(
            response,
            422,
            "Runs can only have 10 tags, you're trying to set 11. "
            "These tags have not been set: 'x', 'y'.",
        )
        too_long = self.post(path, json={"tags": "x" * 129})
        self.assertEqual(too_long.status_code, 400)
        self.assertEqual(too_long.json()["error"], "Invalid request body")
        self.assertEqual(
            too_long.json()["issues"][0]["message"], "Tags must be less than 128 characters"
        )


class MetadataTests(RunActionCase):
    def test_get_returns_the_raw_stored_string(self):
        run = next(r for r in self.dev_runs() if r.metadata)
        body = self.get(f"/api/v1/runs/{run.friendly_id}/metadata").json()
        self.assertEqual(body, {"metadata": run.metadata, "metadataType": "application/json"})
        self.assertIsInstance(body["metadata"], str)
        empty = next(r for r in self.dev_runs() if r.metadata is None)
        self.assertEqual(
            self.get(f"/api/v1/runs/{empty.friendly_id}/metadata").json(),
            {"metadata": None, "metadataType": "application/json"},
        )

    def test_put_replaces_or_applies_operations(self):
        run = self.run_with("EXECUTING")
        path = f"/api/v1/runs/{run.friendly_id}/metadata"
        self.assertEqual(
            self.put(path, json={"metadata": {"a": 1, "list": [1]}}).json(),
            {"metadata": {"a": 1, "list": [1]}},
        )
        ops = [
            {"type": "increment", "key": "a", "value": 2},
            {"type": "append", "key": "list", "value": 2},
            {"type": "remove", "key": "list", "value": 1},
            {"type": "set", "key": "$.nested.deep", "value": "x"},
            {"type": "set", "key": "gone", "value": True},
            {"type": "delete", "key": "gone"},
        ]
        body = self.put(path, json={"operations": ops}).json()
        self.assertEqual(body, {"metadata": {"a": 3, "list": [2], "nested": {"deep": "x"}}})
        stored = self.get(f"/api/v1/runs/{run.friendly_id}/metadata").json()["metadata"]
        self.assertEqual(json.loads(stored), body["metadata"])

    def test_put_errors(self):
        done = self.run_with("COMPLETED_SUCCESSFULLY")
        self.assertError(
            self.put(f"/api/v1/runs/{done.friendly_id}/metadata", json={"metadata": {}}),
            422,
            "Cannot update metadata for a completed run",
        )
        self.assertError(
            self.put("/api/v1/runs/run_nope/metadata", json={"metadata": {}}),
            404,
            "Task Run not found",
        )
        running = self.run_with("EXECUTING").friendly_id
        bad = self.put(f"/api/v1/runs/{running}/metadata", json={"operations": [{"type": "x"}]})
        self.assertEqual(bad.status_code, 400)
        self.assertTrue(bad.json()["error"].startswith("Validation error: Invalid discriminator"))
        self.assertError(
            self.put(
                f"/api/v1/runs/{running}/metadata",
                data=b"",
                headers={"Content-Type": "application/json"},
            ),
            400,
            "Request body is empty",
        )
        self.assertError(
            self.put(
                f"/api/v1/runs/{running}/metadata",
                data=b"{nope",
                headers={"Content-Type": "application/json"},
            ),
            400,
            "Invalid JSON",
        )


class ResultTests(RunActionCase):
    def test_results_of_finished_runs(self):
        ok = self.run_with("COMPLETED_SUCCESSFULLY")
        body = self.get(f"/api/v1/runs/{ok.friendly_id}/result").json()
        self.assertEqual(
            (body["ok"], body["output"], body["outputType"]), (True, ok.output, "application/json")
        )
        queued = self.run_with("PENDING")
        self.post(f"/api/v2/runs/{queued.friendly_id}/cancel")
        canceled = self.get(f"/api/v1/runs/{queued.friendly_id}/result").json()
        self.assertEqual(canceled["ok"], False)
        self.assertEqual(canceled["error"]["code"], "TASK_RUN_CANCELLED")

    def test_unfinished_or_unknown(self):
        for run_id in (self.run_with("EXECUTING").friendly_id, "run_nope"):
            self.assertError(
                self.get(f"/api/v1/runs/{run_id}/result"),
                404,
                "Run either doesn't exist or is not finished",
            )


class TraceTests(RunActionCase):
    def test_events_trace_and_span(self):
        run = next(r for r in self.dev_runs() if r.attempt_count >= 2 and r.is_final)
        events = self.get(f"/api/v1/runs/{run.friendly_id}/events").json()["events"]
        self.assertEqual(len(events), 1 + run.attempt_count)
        self.assertTrue(all(e["runId"] == run.friendly_id for e in events))
        trace = self.get(f"/api/v1/runs/{run.friendly_id}/trace").json()["trace"]
        root = trace["rootSpan"]
        self.assertEqual(len(root["children"]), run.attempt_count)
        self.assertNotIn("parentId", root)
        self.assertEqual(root["data"]["environmentType"], "DEVELOPMENT")
        span_id = root["children"][0]["id"]
        span = self.get(f"/api/v1/runs/{run.friendly_id}/spans/{span_id}").json()
        self.assertEqual((span["spanId"], span["parentId"]), (span_id, root["id"]))
        self.assertError(
            self.get(f"/api/v1/runs/{run.friendly_id}/spans/nope"), 404, "Span not found"
        )
        missing = self.get("/api/v1/runs/run_nope/trace")
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "true")
