"""Bulk actions (API.md §6.8): create by ids or filter, list with cursors, retrieve, abort."""

from __future__ import annotations

import base64
import json

from .base import EmulatorCase


class BulkActionTests(EmulatorCase):
    def test_cancel_by_ids(self):
        runs = self.dev_runs()
        queued = [r.friendly_id for r in runs if r.status == "PENDING"][:1]
        done = [r.friendly_id for r in runs if r.status == "COMPLETED_SUCCESSFULLY"][:2]
        response = self.post(
            "/api/v1/bulk-actions",
            json={"action": "cancel", "runIds": queued + done, "name": "Tidy up"},
        )
        self.assertEqual(response.status_code, 202)
        bulk_id = response.json()["id"]
        self.assertTrue(bulk_id.startswith("bulk_"))
        body = self.get(f"/api/v1/bulk-actions/{bulk_id}").json()
        self.assertEqual(
            (body["type"], body["status"], body["name"], body["counts"]),
            ("CANCEL", "COMPLETED", "Tidy up", {"total": 3, "success": 1, "failure": 2}),
        )
        self.assertIn("completedAt", body)
        self.assertEqual(self.get(f"/api/v3/runs/{queued[0]}").json()["status"], "CANCELED")
        listed = self.get(
            "/api/v1/runs",
            params={"filter[bulkAction]": bulk_id, "filter[createdAt][period]": "60d"},
        ).json()
        self.assertEqual(sorted(r["id"] for r in listed["data"]), sorted(queued + done))

    def test_replay_by_filter(self):
        failed = {
            r.friendly_id
            for r in self.dev_runs()
            if r.status == "COMPLETED_WITH_ERRORS" and r.task_identifier == "sync-crm"
        }
        self.assertTrue(failed)
        response = self.post(
            "/api/v1/bulk-actions",
            json={
                "action": "replay",
                "filter": {"status": "FAILED", "taskIdentifier": ["sync-crm"]},
                "targetRegion": "eu-central-1",
            },
        )
        body = self.get(f"/api/v1/bulk-actions/{response.json()['id']}").json()
        self.assertEqual(
            body["counts"], {"total": len(failed), "success": len(failed), "failure": 0}
        )
        replays = self.get(
            "/api/v1/runs",
            params={"filter[bulkAction]": response.json()["id"], "filter[status]": "QUEUED"},
        ).json()["data"]
        self.assertEqual(len(replays), len(failed))
        self.assertEqual({r["region"] for r in replays}, {"eu-central-1"})

    def test_validation(self):
        """CreateBulkActionRequestBody as zod + zod-validation-error answer it."""
        statuses = " | ".join(
            f"'{s}'"
            for s in (
                "PENDING_VERSION",
                "QUEUED",
                "DEQUEUED",
                "EXECUTING",
                "WAITING",
                "COMPLETED",
                "CANCELED",
                "FAILED",
                "CRASHED",
                "SYSTEM_FAILURE",
                "DELAYED",
                "EXPIRED",
                "TIMED_OUT",
            )
        )
        cases = [
            ({"action": "cancel"}, "Exactly one of filter or runIds must be provided"),
            (
                {"action": "cancel", "runIds": ["run_a"], "filter": {"isTest": True}},
                "Exactly one of filter or runIds must be provided",
            ),
            (
                {"action": "explode", "runIds": ["run_a"]},
                "Invalid discriminator value. Expected 'cancel' | 'replay' at \"action\"",
            ),
            (
                {"runIds": ["run_a"]},
                "Invalid discriminator value. Expected 'cancel' | 'replay' at \"action\"",
            ),
            ([{"action": "cancel"}], "Expected object, received array"),
            (
                {"action": "cancel", "runIds": []},
                'Array must contain at least 1 element(s) at "runIds"',
            ),
            (
                {"action": "cancel", "runIds": [1, None]},
                'Expected string, received number at "runIds[0]"; '
                'Expected string, received null at "runIds[1]"',
            ),
            (
                {"action": "cancel", "runIds": "run_a"},
                'Expected array, received string at "runIds"',
            ),
            (
                {"action": "cancel", "filter": {}},
                'At least one filter must be provided at "filter"',
            ),
            (
                {"action": "cancel", "filter": {"tag": ["  "], "status": []}},
                'At least one filter must be provided at "filter"',
            ),
            ({"action": "cancel", "filter": None}, 'Expected object, received null at "filter"'),
            (
                {"action": "cancel", "runIds": ["run_a"], "name": "n" * 256},
                'Name must be less than 255 characters at "name"',
            ),
            (
                {"action": "cancel", "runIds": ["run_a"], "name": 7},
                'Expected string, received number at "name"',
            ),
            (
                {"action": "cancel", "runIds": ["run_a"], "targetRegion": "eu-central-1"},
                'Expected never, received string at "targetRegion"',
            ),
            (
                {"action": "replay", "runIds": ["run_a"], "targetRegion": ["eu"]},
                'Expected string, received array at "targetRegion"',
            ),
            # Odd JSON in every filter field: the service's 400, never a crash.
            (
                {"action": "cancel", "filter": {"status": [{}]}},
                f'Expected {statuses}, received array at "filter.status", or '
                f'Expected {statuses}, received object at "filter.status[0]"',
            ),
            (
                {"action": "cancel", "filter": {"status": "REATTEMPTING"}},
                f"Invalid enum value. Expected {statuses}, received 'REATTEMPTING' at "
                '"filter.status", or Expected array, received string at "filter.status"',
            ),
            (
                {"action": "cancel", "filter": {"status": None}},
                f'Expected {statuses}, received null at "filter.status", or '
                'Expected array, received null at "filter.status"',
            ),
            (
                {"action": "cancel", "filter": {"taskIdentifier": {"a": {"b": 1}}}},
                'Expected string, received object at "filter.taskIdentifier", or '
                'Expected array, received object at "filter.taskIdentifier"',
            ),
            (
                {"action": "cancel", "filter": {"tag": ["ok", 5, ["x"]]}},
                'Expected string, received array at "filter.tag", or '
                'Expected string, received number at "filter.tag[1]"; '
                'Expected string, received array at "filter.tag[2]"',
            ),
            (
                {"action": "cancel", "filter": {"version": 20240101}},
                'Expected string, received number at "filter.version", or '
                'Expected array, received number at "filter.version"',
            ),
            (
                {"action": "cancel", "filter": {"region": True}},
                'Expected string, received boolean at "filter.region", or '
                'Expected array, received boolean at "filter.region"',
            ),
            (
                {"action": "cancel", "filter": {"from": {}}},
                'Invalid date at "filter.from", or Expected number, received object at '
                '"filter.from"',
            ),
            (
                {"action": "cancel", "filter": {"to": "yesterday"}},
                'Invalid date at "filter.to", or Expected number, received string at "filter.to"',
            ),
            (
                {"action": "cancel", "filter": {"period": 7}},
                'Expected string, received number at "filter.period"',
            ),
            (
                {"action": "cancel", "filter": {"bulkAction": ["bulk_x"]}},
                'Expected string, received array at "filter.bulkAction"',
            ),
            (
                {"action": "cancel", "filter": {"schedule": None}},
                'Expected string, received null at "filter.schedule"',
            ),
            (
                {"action": "cancel", "filter": {"batch": {"id": "batch_x"}}},
                'Expected string, received object at "filter.batch"',
            ),
            (
                {"action": "cancel", "filter": {"isTest": "true"}},
                'Expected boolean, received string at "filter.isTest"',
            ),
            (
                {"action": "cancel", "filter": {"queue": [{"type": "queue"}]}},
                'Expected object, received array at "filter.queue", or Invalid enum value. '
                "Expected 'task' | 'custom', received 'queue' at \"filter.queue[0].type\"; "
                'Required at "filter.queue[0].name"',
            ),
            (
                {"action": "cancel", "filter": {"queue": "send-email"}},
                'Expected object, received string at "filter.queue", or '
                'Expected array, received string at "filter.queue"',
            ),
            (
                {"action": "cancel", "filter": {"machine": ["small-1x", "huge"]}},
                "Expected 'micro' | 'small-1x' | 'small-2x' | 'medium-1x' | 'medium-2x' | "
                "'large-1x' | 'large-2x', received array at \"filter.machine\", or Invalid enum "
                "value. Expected 'micro' | 'small-1x' | 'small-2x' | 'medium-1x' | 'medium-2x' | "
                "'large-1x' | 'large-2x', received 'huge' at \"filter.machine[1]\"",
            ),
            (
                {"action": "cancel", "filter": {"isTest": 1, "period": None}},
                'Expected string, received null at "filter.period"; '
                'Expected boolean, received number at "filter.isTest"',
            ),
        ]
        for body, message in cases:
            with self.subTest(body=str(body)[:80]):
                response = self.post("/api/v1/bulk-actions", json=body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertEqual(response.json(), {"error": "Validation error: " + message})
        self.assertEqual(len(self.get("/api/v1/bulk-actions").json()["data"]), 2)  # seeded only

    def test_huge_arrays_in_a_filter(self):
        response = self.post(
            "/api/v1/bulk-actions", json={"action": "cancel", "filter": {"tag": [{}] * 5000}}
        )
        self.assertEqual(response.status_code, 400)
        error = response.json()["error"]
        self.assertTrue(
            error.startswith(
                "Validation error: Expected string, received array at "
                '"filter.tag", or Expected string, received object at '
                '"filter.tag[0]"; '
            ),
            error[:200],
        )
        self.assertEqual(error.count("received object"), 5000)
        self.assertEqual(
            self.post(
                "/api/v1/bulk-actions", json={"action": "cancel", "filter": {"tag": ["t"] * 20_000}}
            ).status_code,
            202,
        )

    def test_too_many_run_ids_is_the_routes_own_check(self):
        response = self.post(
            "/api/v1/bulk-actions", json={"action": "cancel", "runIds": ["run_a"] * 501}
        )
        self.assertEqual(
            response.json(),
            {"error": "Too many runIds (501). Maximum is 500. Use a filter to select more runs."},
        )
        self.assertEqual(response.status_code, 400)

    def test_odd_but_valid_filter_values(self):
        """What zod accepts: null dates coerce to the epoch, numbers pass as numbers, a
        ``false`` flag is a filter value."""
        for flt in (
            {"from": None},
            {"to": 1e300},
            {"from": "2026-03-01"},
            {"isTest": False},
            {"status": "QUEUED", "unknownKey": {"x": [1]}},
            {"queue": {"type": "task", "name": "send-email"}},
        ):
            with self.subTest(flt=flt):
                response = self.post(
                    "/api/v1/bulk-actions", json={"action": "cancel", "filter": flt}
                )
                self.assertEqual(response.status_code, 202, response.text)

    def test_list_pagination_both_ways(self):
        for i in range(5):
            self.post(
                "/api/v1/bulk-actions",
                json={"action": "cancel", "runIds": ["run_x"], "name": f"b{i}"},
            )
            self.emu.clock.advance(1)
        everything = [a["id"] for a in self.get("/api/v1/bulk-actions").json()["data"]]
        self.assertEqual(len(everything), 7)  # 5 + 2 seeded
        first = self.get("/api/v1/bulk-actions", params={"page[size]": 3}).json()
        self.assertNotIn("previous", first["pagination"])
        cursor = first["pagination"]["next"]
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=="))
        self.assertEqual(set(decoded), {"createdAt", "id"})
        second = self.get(
            "/api/v1/bulk-actions", params={"page[size]": 3, "page[after]": cursor}
        ).json()
        self.assertEqual([a["id"] for a in first["data"] + second["data"]], everything[:6])
        back = self.get(
            "/api/v1/bulk-actions",
            params={"page[size]": 3, "page[before]": second["pagination"]["previous"]},
        ).json()
        self.assertEqual([a["id"] for a in back["data"]], everything[:3])
        self.assertIn("next", back["pagination"])
        both = self.get(
            "/api/v1/bulk-actions", params={"page[after]": cursor, "page[before]": cursor}
        )
        self.assertError(both, 500, "Internal Server Error")
        self.assertError(
            self.get("/api/v1/bulk-actions", params={"page[after]": "junk"}),
            500,
            "Internal Server Error",
        )

    def test_abort(self):
        pending = next(
            a for a in self.get("/api/v1/bulk-actions").json()["data"] if a["status"] == "PENDING"
        )
        self.assertEqual(
            self.post(f"/api/v1/bulk-actions/{pending['id']}/abort").json(), {"id": pending["id"]}
        )
        self.assertEqual(
            self.get(f"/api/v1/bulk-actions/{pending['id']}").json()["status"], "ABORTED"
        )
        self.assertError(
            self.post(f"/api/v1/bulk-actions/{pending['id']}/abort"),
            409,
            f"Bulk action group already aborted: {pending['id']}",
        )
        done = next(
            a for a in self.get("/api/v1/bulk-actions").json()["data"] if a["status"] == "COMPLETED"
        )
        self.assertError(
            self.post(f"/api/v1/bulk-actions/{done['id']}/abort"),
            409,
            f"Bulk action group already completed: {done['id']}",
        )
        self.assertError(
            self.post("/api/v1/bulk-actions/bulk_nope/abort"), 404, "Resource not found"
        )
        missing = self.get("/api/v1/bulk-actions/bulk_nope")
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "false")
