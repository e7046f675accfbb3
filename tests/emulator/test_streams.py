"""The emulator's input-stream route at the wire: the order of its checks and its answers."""

from __future__ import annotations

from .base import EmulatorCase


class InputStreamRouteTests(EmulatorCase):
    def test_answers(self):
        run_id = self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}}).json()["id"]
        path = f"/realtime/v1/streams/{run_id}/input/approval"
        self.assertEqual(self.post(path, json={"data": [1, 2]}).json(), {"ok": True})
        self.assertEqual(self.post(path, json={}).json(), {"ok": True})  # data: undefined
        response = self.post(path, json=[1])
        self.assertEqual(
            (response.status_code, response.json()),
            (400, {"ok": False, "error": "Invalid request body"}),
        )
        self.assertEqual(
            self.post(path, data=b"{", headers={"Content-Type": "application/json"}).status_code,
            500,
        )
        self.assertEqual(self.post(path, data=b"x" * (1024 * 1024 + 1)).status_code, 413)
        response = self.post("/realtime/v1/streams/run_nope/input/approval", json={"data": 1})
        self.assertEqual(
            (response.status_code, response.json()), (404, {"ok": False, "error": "Run not found"})
        )
        with self.emu.state.lock:
            records = self.emu.state.input_streams.records(run_id, "approval")
        self.assertEqual([r["data"] for r in records], [[1, 2], None])
        self.assertTrue(all(r["id"].startswith("inp_") and len(r["id"]) == 16 for r in records))
        self.assert_no_server_errors()
