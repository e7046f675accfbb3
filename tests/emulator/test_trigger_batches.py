"""Trigger (API.md §9.1), run idempotency keys (§4.5, §6.9), and the batch endpoints (§6.2,
§6.3, §9.2, §9.3) including the SDK's two-phase NDJSON flow."""

from __future__ import annotations

import datetime as dt
import json

from .base import FROZEN_NOW, EmulatorCase

NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(*items) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


class TriggerTests(EmulatorCase):
    def test_trigger_creates_a_queued_run(self):
        response = self.post(
            "/api/v1/tasks/send-email/trigger",
            json={
                "payload": {"to": "a@example.com", "name": "Zoë <b>"},
                "options": {
                    "tags": ["order_42", "vip"],
                    "machine": "small-2x",
                    "test": True,
                    "metadata": {"step": "queued"},
                    "maxAttempts": 3,
                },
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(set(response.json()), {"id", "isCached"})
        self.assertFalse(response.json()["isCached"])
        self.assertTrue(response.headers["x-trigger-jwt"].startswith("ey"))
        run = self.get(f"/api/v3/runs/{response.json()['id']}").json()
        self.assertEqual(
            (run["status"], run["isTest"], run["ttl"], run["tags"]),
            ("QUEUED", True, "10m", ["order_42", "vip"]),
        )
        self.assertEqual(run["payload"], {"to": "a@example.com", "name": "Zoë <b>"})
        self.assertEqual(run["metadata"], {"step": "queued"})
        self.assertEqual(run["createdAt"], "2026-03-18T12:00:00.000Z")

    def test_task_ids_are_url_decoded_and_unknown_tasks_accepted(self):
        run_id = self.post("/api/v1/tasks/my%2Ftask/trigger", json={"payload": 1}).json()["id"]
        self.assertEqual(self.get(f"/api/v3/runs/{run_id}").json()["taskIdentifier"], "my/task")
        prod = self.post(
            "/api/v1/tasks/never-deployed/trigger",
            token=self.emu.secret_keys["prod"],
            json={"payload": {}},
        )
        status = self.get(
            f"/api/v3/runs/{prod.json()['id']}", token=self.emu.secret_keys["prod"]
        ).json()["status"]
        self.assertEqual(status, "PENDING_VERSION")

    def test_delay_and_ttl(self):
        cases = [
            ("1h30m", "2026-03-18T13:30:00.000Z"),
            ("2w", "2026-04-01T12:00:00.000Z"),
            ("2026-03-19T00:00:00Z", "2026-03-19T00:00:00.000Z"),
        ]
        for delay, expected in cases:
            with self.subTest(delay=delay):
                run_id = self.trigger(delay=delay, ttl=3600)
                run = self.get(f"/api/v3/runs/{run_id}").json()
                self.assertEqual(
                    (run["status"], run["delayedUntil"], run["ttl"]), ("DELAYED", expected, "1h")
                )
        for ignored in ("2020-01-01T00:00:00Z", "whenever"):
            with self.subTest(delay=ignored):
                run = self.get(f"/api/v3/runs/{self.trigger(delay=ignored)}").json()
                self.assertEqual(run["status"], "QUEUED")
                self.assertNotIn("delayedUntil", run)

    def test_body_errors(self):
        path = "/api/v1/tasks/send-email/trigger"
        self.assertError(
            self.post(path, data=b"", headers={"Content-Type": "application/json"}),
            400,
            "Request body is empty",
        )
        self.assertError(
            self.post(path, data=b"null", headers={"Content-Type": "application/json"}),
            400,
            "Invalid JSON",
        )
        bad = self.post(path, json={"payload": 1, "options": {"machine": "huge", "tags": 5}})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(
            bad.json()["error"],
            'Validation error: Invalid input at "options.tags"; Invalid enum value. '
            "Expected 'micro' | 'small-1x' | 'small-2x' | 'medium-1x' | 'medium-2x'"
            " | 'large-1x' | 'large-2x', received 'huge' at \"options.machine\"",
        )
        self.assertError(
            self.post(path, json={"payload": 1, "options": {"tags": [f"t{i}" for i in range(11)]}}),
            422,
            "Runs can only have 10 tags, you're trying to set 11.",
        )

    def test_sdk_options_are_validated_as_the_service(self):
        # TriggerTaskRequestBody.options: debounce {key<=512, delay, mode?, maxDelay?},
        # externalDeploymentId <= 128, idempotencyKeyOptions {key, scope}.
        path = "/api/v1/tasks/send-email/trigger"
        for options, where in (
            ({"debounce": {"key": "k"}}, "options.debounce.delay"),
            ({"debounce": {"key": "k" * 513, "delay": "1s"}}, "options.debounce.key"),
            ({"debounce": {"key": "k", "delay": "1s", "mode": "x"}}, "options.debounce.mode"),
            ({"externalDeploymentId": "x" * 129}, "options.externalDeploymentId"),
            (
                {"idempotencyKeyOptions": {"key": "k", "scope": "x"}},
                "options.idempotencyKeyOptions.scope",
            ),
        ):
            with self.subTest(options=options):
                response = self.post(path, json={"payload": 1, "options": options})
                self.assertEqual(response.status_code, 400)
                self.assertIn(f'at "{where}"', response.json()["error"])
        for debounce, message in (
            ({"key": "k", "delay": "0s"}, "Debounce requires a valid delay"),
            ({"key": "k", "delay": "2099-01-01T00:00:00Z"}, "must be a duration, not a date"),
            ({"key": "k", "delay": "1m", "maxDelay": "1m"}, "must be longer than"),
            ({"key": "k", "delay": "1m", "maxDelay": "soon"}, "Invalid debounce maxDelay"),
        ):
            with self.subTest(debounce=debounce):
                response = self.post(path, json={"payload": 1, "options": {"debounce": debounce}})
                self.assertEqual(response.status_code, 422, response.text)
                self.assertIn(message, response.json()["error"])
        ok = self.post(
            path,
            json={
                "payload": 1,
                "options": {
                    "debounce": {"key": "k", "delay": "1s", "mode": "leading", "maxDelay": "1m"},
                    "externalDeploymentId": "x" * 128,
                    "idempotencyKey": "k",
                    "idempotencyKeyOptions": {"key": "k", "scope": "attempt"},
                },
            },
        )
        self.assertEqual(ok.status_code, 200, ok.text)

    def test_content_length_is_required(self):
        def chunks():
            yield b'{"payload": 1}'

        response = self.post(
            "/api/v1/tasks/send-email/trigger",
            data=chunks(),
            headers={"Content-Type": "application/json"},
        )
        self.assertError(response, 413, "Request body too large")

    def test_idempotency_key_too_long_is_a_headers_error(self):
        response = self.post(
            "/api/v1/tasks/send-email/trigger",
            json={"payload": 1},
            headers={"idempotency-key": "k" * 2049},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "Headers Error")

    def test_parent_run(self):
        parent = self.trigger("generate-report")
        child = self.trigger("resize-image", parentRunId=parent, resumeParentOnCompletion=True)
        body = self.get(f"/api/v3/runs/{child}").json()
        self.assertEqual((body["depth"], body["triggerFunction"]), (1, "triggerAndWait"))
        self.assertEqual(body["relatedRuns"]["parent"]["id"], parent)


class RunIdempotencyTests(EmulatorCase):
    def trigger_with_key(self, key: str, task: str = "send-email", **options):
        return self.post(
            f"/api/v1/tasks/{task}/trigger",
            json={"payload": {"n": 1}, "options": {"idempotencyKey": key, **options}},
        )

    def test_same_key_returns_the_existing_run(self):
        first = self.trigger_with_key("order-1").json()
        again = self.trigger_with_key("order-1").json()
        self.assertEqual(again, {"id": first["id"], "isCached": True})
        other_task = self.trigger_with_key("order-1", task="sync-crm").json()
        self.assertNotEqual(other_task["id"], first["id"])
        header = self.post(
            "/api/v1/tasks/send-email/trigger",
            json={"payload": {}},
            headers={"idempotency-key": "order-1"},
        ).json()
        self.assertEqual(header, {"id": first["id"], "isCached": True})

    def test_failed_runs_release_their_key_but_canceled_ones_do_not(self):
        first = self.trigger_with_key("k").json()["id"]
        self.post(f"/api/v2/runs/{first}/cancel")
        self.assertEqual(self.trigger_with_key("k").json()["id"], first)
        with self.emu.state.lock:
            self.emu.state.runs.fail(first, "boom")
        retry = self.trigger_with_key("k").json()
        self.assertEqual(retry["isCached"], False)
        self.assertNotEqual(retry["id"], first)

    def test_key_ttl(self):
        first = self.trigger_with_key("short", idempotencyKeyTTL="10m").json()["id"]
        self.emu.clock.advance(9 * 60)
        self.assertEqual(self.trigger_with_key("short").json()["id"], first)
        self.emu.clock.advance(61)
        self.assertNotEqual(self.trigger_with_key("short").json()["id"], first)
        # An invalid TTL silently means 30 days.
        long = self.trigger_with_key("long", idempotencyKeyTTL="10 minutes").json()["id"]
        self.emu.clock.advance(29 * 86400)
        self.assertEqual(self.trigger_with_key("long").json()["id"], long)

    def test_reset_endpoint(self):
        first = self.trigger_with_key("reset-me").json()["id"]
        response = self.post(
            "/api/v1/idempotencyKeys/reset-me/reset", json={"taskIdentifier": "send-email"}
        )
        self.assertEqual(response.json(), {"id": "reset-me"})
        self.assertNotEqual(self.trigger_with_key("reset-me").json()["id"], first)
        self.assertNotIn("idempotencyKey", self.get(f"/api/v3/runs/{first}").json())
        self.assertError(
            self.post("/api/v1/idempotencyKeys/nope/reset", json={"taskIdentifier": "send-email"}),
            404,
            "No runs found with idempotency key: nope and task: send-email",
        )
        self.assertEqual(
            self.post("/api/v1/idempotencyKeys/x/reset", json={"taskIdentifier": ""}).status_code,
            400,
        )

    def test_retrieve_shows_the_original_key_the_list_the_stored_one(self):
        hashed = "a" * 64
        run_id = self.trigger_with_key(
            hashed, idempotencyKeyOptions={"key": "order-9", "scope": "global"}
        ).json()["id"]
        self.assertEqual(self.get(f"/api/v3/runs/{run_id}").json()["idempotencyKey"], "order-9")
        listed = self.get("/api/v1/runs", params={"page[size]": 1}).json()["data"][0]
        self.assertEqual((listed["id"], listed["idempotencyKey"]), (run_id, hashed))


class TwoPhaseBatchTests(EmulatorCase):
    def create(self, run_count: int = 2, **extra):
        response = self.post(
            "/api/v3/batches",
            json={"runCount": run_count, "taskIdentifiers": ["send-email"], **extra},
        )
        return response

    def test_create_then_stream_items(self):
        created = self.create(3)
        self.assertEqual(created.status_code, 202)
        body = created.json()
        self.assertEqual((body["runCount"], body["isCached"]), (3, False))
        self.assertIn("x-trigger-jwt", created.headers)
        batch_id = body["id"]
        path = f"/api/v3/batches/{batch_id}/items"
        part = self.post(
            path,
            data=ndjson(
                {"index": 0, "task": "send-email", "payload": {"i": 0}},
                {"index": 1, "task": "send-email"},
            ),
            headers=NDJSON,
        )
        self.assertEqual(
            part.json(),
            {
                "id": batch_id,
                "itemsAccepted": 2,
                "itemsDeduplicated": 0,
                "sealed": False,
                "enqueuedCount": 2,
                "expectedCount": 3,
                "runCount": 3,
            },
        )
        pending = self.get(f"/api/v2/batches/{batch_id}").json()
        self.assertEqual((pending["status"], pending["processing"]), ("PENDING", {"errors": []}))
        rest = self.post(
            path,
            data=ndjson(
                {"index": 1, "task": "send-email"},
                {"index": 2, "task": "send-email", "options": {"tags": ["batch"]}},
            ),
            headers={"Content-Type": "application/ndjson"},
        )
        self.assertEqual(
            rest.json(),
            {
                "id": batch_id,
                "itemsAccepted": 1,
                "itemsDeduplicated": 1,
                "sealed": True,
                "runCount": 3,
            },
        )
        # Streaming again to a sealed batch is the service's "Phase 2 retry": done, no runs.
        again = self.post(path, data=ndjson({"index": 0, "task": "send-email"}), headers=NDJSON)
        self.assertEqual(
            again.json(),
            {
                "id": batch_id,
                "itemsAccepted": 0,
                "itemsDeduplicated": 0,
                "sealed": True,
                "runCount": 3,
            },
        )
        batch = self.get(f"/api/v2/batches/{batch_id}").json()
        self.assertEqual(
            (batch["status"], batch["runCount"], len(batch["runs"])), ("COMPLETED", 3, 3)
        )
        self.assertIn("processingCompletedAt", batch)
        run = self.get(f"/api/v3/runs/{batch['runs'][2]}").json()
        self.assertEqual(
            (run["batchId"], run["triggerFunction"], run["tags"]),
            (batch_id, "batchTrigger", ["batch"]),
        )
        listed = self.get("/api/v1/runs", params={"filter[batch]": batch_id}).json()["data"]
        self.assertEqual(sorted(r["id"] for r in listed), sorted(batch["runs"]))

    def test_reused_idempotency_key(self):
        # The service refuses it (test_request_idempotency has both modes).
        self.assertEqual(self.create(2, idempotencyKey="batch-key").status_code, 202)
        self.assertEqual(self.create(2, idempotencyKey="batch-key").status_code, 422)

    def test_create_and_item_errors(self):
        self.assertError(
            self.create(1001), 400, "Batch runCount of 1001 exceeds maximum allowed of 1000."
        )
        self.assertEqual(self.create(0).status_code, 400)
        batch_id = self.create(1).json()["id"]
        path = f"/api/v3/batches/{batch_id}/items"
        self.assertEqual(
            self.post(
                path,
                data=ndjson({"index": 0, "task": "a"}),
                headers={"Content-Type": "application/json"},
            ).status_code,
            415,
        )
        self.assertEqual(self.post(path, data=b"{oops\n", headers=NDJSON).status_code, 400)
        self.assertEqual(
            self.post(path, data=ndjson({"index": 5, "task": "a"}), headers=NDJSON).status_code, 422
        )
        self.assertEqual(
            self.post(
                "/api/v3/batches/batch_nope/items",
                data=ndjson({"index": 0, "task": "a"}),
                headers=NDJSON,
            ).status_code,
            422,
        )


class OlderBatchEndpointTests(EmulatorCase):
    def test_v2_batch(self):
        response = self.post(
            "/api/v2/tasks/batch",
            json={
                "items": [
                    {"task": "send-email", "payload": {"i": 1}},
                    {"task": "sync-crm", "options": {"idempotencyKey": "once"}},
                ]
            },
        )
        self.assertEqual(response.status_code, 202)
        self.assertEqual(response.json()["runCount"], 2)
        batch = self.get(f"/api/v1/batches/{response.json()['id']}").json()
        self.assertEqual(len(batch["runs"]), 2)
        self.assertNotIn("errors", batch)
        self.assertNotIn("successfulRunCount", batch)  # runs not finished yet

    def test_v1_batch_answers_202_with_runs(self):
        response = self.post(
            "/api/v1/tasks/batch",
            json={"items": [{"task": "send-email", "payload": {}}, {"task": "resize-image"}]},
        )
        self.assertEqual(response.status_code, 202)
        body = response.json()
        self.assertEqual(body["isCached"], False)
        self.assertEqual(
            [r["taskIdentifier"] for r in body["runs"]], ["send-email", "resize-image"]
        )
        self.assertTrue(all(r["id"].startswith("run_") for r in body["runs"]))

    def test_task_batch(self):
        response = self.post(
            "/api/v1/tasks/send-email/batch",
            json={"items": [{"payload": {"i": i}} for i in range(3)]},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["runs"]), 3)
        self.assertTrue(response.json()["batchId"].startswith("batch_"))
        self.assertError(
            self.post("/api/v1/tasks/send-email/batch", json={"items": []}),
            400,
            "No items to trigger",
        )
        self.assertError(
            self.post("/api/v1/tasks/send-email/batch", json={"items": [{"payload": 1}] * 101}),
            400,
            "Too many items. Maximum allowed batch size is 100.",
        )

    def test_batch_limits(self):
        for path in ("/api/v1/tasks/batch", "/api/v2/tasks/batch"):
            with self.subTest(path=path):
                empty = self.post(path, json={"items": []})
                self.assertEqual(empty.status_code, 403)
                self.assertEqual(empty.json()["code"], "unauthorized")
                big = self.post(path, json={"items": [{"task": "t"}] * 501})
                self.assertError(
                    big, 400, "Batch size of 501 is too large. Maximum allowed batch size is 500."
                )


class BatchRetrievalTests(EmulatorCase):
    def seeded_batch(self, status: str):
        with self.emu.state.lock:
            return next(b for b in self.emu.state.batches.by_id.values() if b.status == status)

    def test_v1_and_v2_shapes_and_results(self):
        batch = self.seeded_batch("COMPLETED")
        v2 = self.get(f"/api/v2/batches/{batch.friendly_id}").json()
        self.assertEqual(v2["processing"]["errors"], [])
        v1 = self.get(f"/api/v1/batches/{batch.friendly_id}").json()
        self.assertEqual((v1["successfulRunCount"], v1["failedRunCount"]), (3, 0))
        results = self.get(f"/api/v1/batches/{batch.friendly_id}/results").json()
        self.assertEqual(len(results["items"]), 3)
        self.assertTrue(all(item["ok"] for item in results["items"]))

    def test_missing_batches(self):
        missing = self.get("/api/v2/batches/batch_nope")
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "true")
        self.assertError(self.get("/api/v1/batches/batch_nope/results"), 404, "Batch not found")
        other_env = self.seeded_batch("COMPLETED").friendly_id
        self.assertEqual(
            self.get(
                f"/api/v1/batches/{other_env}", token=self.emu.secret_keys["prod"]
            ).status_code,
            404,
        )

    def test_seeded_pending_batch_accepts_its_items(self):
        batch = self.seeded_batch("PENDING")
        response = self.post(
            f"/api/v3/batches/{batch.friendly_id}/items",
            data=ndjson(*({"index": i, "task": "resize-image"} for i in range(batch.run_count))),
            headers=NDJSON,
        )
        self.assertTrue(response.json()["sealed"])

    def test_dates(self):
        created = self.post("/api/v3/batches", json={"runCount": 1}).json()["id"]
        body = self.get(f"/api/v2/batches/{created}").json()
        self.assertEqual(body["createdAt"], FROZEN_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        self.assertEqual(
            dt.datetime.fromisoformat(body["updatedAt"].replace("Z", "+00:00")), FROZEN_NOW
        )
