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
        response = self.post("/api/v1/bulk-actions", json={
            "action": "cancel", "runIds": queued + done, "name": "Tidy up"})
        self.assertEqual(response.status_code, 202)
        bulk_id = response.json()["id"]
        self.assertTrue(bulk_id.startswith("bulk_"))
        body = self.get(f"/api/v1/bulk-actions/{bulk_id}").json()
        self.assertEqual((body["type"], body["status"], body["name"], body["counts"]),
                         ("CANCEL", "COMPLETED", "Tidy up",
                          {"total": 3, "success": 1, "failure": 2}))
        self.assertIn("completedAt", body)
        self.assertEqual(self.get(f"/api/v3/runs/{queued[0]}").json()["status"], "CANCELED")
        listed = self.get("/api/v1/runs", params={"filter[bulkAction]": bulk_id,
                                                  "filter[createdAt][period]": "60d"}).json()
        self.assertEqual(sorted(r["id"] for r in listed["data"]), sorted(queued + done))

    def test_replay_by_filter(self):
        failed = {r.friendly_id for r in self.dev_runs()
                  if r.status == "COMPLETED_WITH_ERRORS" and r.task_identifier == "sync-crm"}
        self.assertTrue(failed)
        response = self.post("/api/v1/bulk-actions", json={
            "action": "replay", "filter": {"status": "FAILED", "taskIdentifier": ["sync-crm"]},
            "targetRegion": "eu-central-1"})
        body = self.get(f"/api/v1/bulk-actions/{response.json()['id']}").json()
        self.assertEqual(body["counts"], {"total": len(failed), "success": len(failed),
                                          "failure": 0})
        replays = self.get("/api/v1/runs", params={"filter[bulkAction]": response.json()["id"],
                                                   "filter[status]": "QUEUED"}).json()["data"]
        self.assertEqual(len(replays), len(failed))
        self.assertEqual({r["region"] for r in replays}, {"eu-central-1"})

    def test_validation(self):
        cases = [
            {"action": "cancel"},
            {"action": "cancel", "runIds": ["run_a"], "filter": {"isTest": True}},
            {"action": "explode", "runIds": ["run_a"]},
            {"action": "cancel", "runIds": []},
            {"action": "cancel", "runIds": ["run_a"] * 501},
            {"action": "cancel", "filter": {}},
            {"action": "cancel", "runIds": ["run_a"], "name": "n" * 256},
        ]
        for body in cases:
            with self.subTest(body=str(body)[:60]):
                response = self.post("/api/v1/bulk-actions", json=body)
                self.assertEqual(response.status_code, 400)
                self.assertTrue(response.json()["error"].startswith("Validation error: "))

    def test_list_pagination_both_ways(self):
        for i in range(5):
            self.post("/api/v1/bulk-actions", json={"action": "cancel", "runIds": ["run_x"],
                                                    "name": f"b{i}"})
            self.emu.clock.advance(1)
        everything = [a["id"] for a in self.get("/api/v1/bulk-actions").json()["data"]]
        self.assertEqual(len(everything), 7)  # 5 + 2 seeded
        first = self.get("/api/v1/bulk-actions", params={"page[size]": 3}).json()
        self.assertNotIn("previous", first["pagination"])
        cursor = first["pagination"]["next"]
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=="))
        self.assertEqual(set(decoded), {"createdAt", "id"})
        second = self.get("/api/v1/bulk-actions", params={"page[size]": 3,
                                                          "page[after]": cursor}).json()
        self.assertEqual([a["id"] for a in first["data"] + second["data"]], everything[:6])
        back = self.get("/api/v1/bulk-actions", params={
            "page[size]": 3, "page[before]": second["pagination"]["previous"]}).json()
        self.assertEqual([a["id"] for a in back["data"]], everything[:3])
        self.assertIn("next", back["pagination"])
        both = self.get("/api/v1/bulk-actions", params={"page[after]": cursor,
                                                        "page[before]": cursor})
        self.assertError(both, 500, "Internal Server Error")
        self.assertError(self.get("/api/v1/bulk-actions", params={"page[after]": "junk"}), 500,
                         "Internal Server Error")

    def test_abort(self):
        pending = next(a for a in self.get("/api/v1/bulk-actions").json()["data"]
                       if a["status"] == "PENDING")
        self.assertEqual(self.post(f"/api/v1/bulk-actions/{pending['id']}/abort").json(),
                         {"id": pending["id"]})
        self.assertEqual(self.get(f"/api/v1/bulk-actions/{pending['id']}").json()["status"],
                         "ABORTED")
        self.assertError(self.post("/api/v1/bulk-actions/bulk_nope/abort"), 404,
                         "Resource not found")
        missing = self.get("/api/v1/bulk-actions/bulk_nope")
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "false")
