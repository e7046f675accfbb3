"""``x-trigger-request-idempotency-key``: the first 2xx answer is replayed, the handler does not
run again (API.md §4.5)."""

from __future__ import annotations

import requests

from .base import EmulatorCase


class RequestIdempotencyTests(EmulatorCase):
    def trigger(self, key: str | None, **kwargs):
        headers = {"x-trigger-request-idempotency-key": key} if key else {}
        return self.post("/api/v1/tasks/send-email/trigger", json={"payload": {"n": 1}},
                         headers=headers, **kwargs)

    def run_count(self) -> int:
        with self.emu.state.lock:
            return len(self.emu.state.runs)

    def test_repeat_replays_the_first_answer(self):
        before = self.run_count()
        first = self.trigger("key-1")
        second = self.trigger("key-1")
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.json(), first.json())
        self.assertEqual(second.headers["x-trigger-jwt"], first.headers["x-trigger-jwt"])
        self.assertEqual(self.run_count(), before + 1)
        entries = self.emu.journal.filter(method="POST")
        self.assertEqual([e.replayed for e in entries], [False, True])
        self.assertNotEqual(self.trigger("key-2").json()["id"], first.json()["id"])
        self.assertNotEqual(self.trigger(None).json()["id"], first.json()["id"])

    def test_scope_is_key_method_path_and_credential(self):
        first = self.trigger("shared").json()["id"]
        prod = self.trigger("shared", token=self.emu.secret_keys["prod"]).json()["id"]
        self.assertNotEqual(first, prod)
        other_path = self.post("/api/v1/tasks/sync-crm/trigger", json={"payload": {}},
                               headers={"x-trigger-request-idempotency-key": "shared"})
        self.assertNotEqual(other_path.json()["id"], first)

    def test_errors_are_not_remembered(self):
        self.emu.faults.fail_next(1, 503)
        self.assertEqual(self.trigger("retry-me").status_code, 503)
        bad = self.post("/api/v1/tasks/send-email/trigger", data=b"",
                        headers={"x-trigger-request-idempotency-key": "retry-me",
                                 "Content-Type": "application/json"})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(self.trigger("retry-me").status_code, 200)
        self.assertTrue(self.trigger("retry-me").json()["id"].startswith("run_"))
        self.assertEqual(self.emu.journal.filter(method="POST")[-1].replayed, True)

    def test_replay_of_a_202_is_a_200(self):
        headers = {"x-trigger-request-idempotency-key": "batch-1"}
        body = {"items": [{"task": "send-email"}]}
        first = self.post("/api/v2/tasks/batch", json=body, headers=headers)
        again = self.post("/api/v2/tasks/batch", json=body, headers=headers)
        self.assertEqual((first.status_code, again.status_code), (202, 200))
        self.assertEqual(first.json(), again.json())

    def test_remembered_for_24_hours_of_emulated_time(self):
        first = self.trigger("day").json()["id"]
        self.emu.clock.advance(86_399)
        self.assertEqual(self.trigger("day").json()["id"], first)
        self.emu.clock.advance(2)
        self.assertNotEqual(self.trigger("day").json()["id"], first)

    def test_get_requests_are_never_cached(self):
        headers = {"x-trigger-request-idempotency-key": "g"}
        self.get("/api/v1/runs", headers=headers)
        self.get("/api/v1/runs", headers=headers)
        self.assertEqual([e.replayed for e in self.emu.journal.entries], [False, False])

    def test_retry_after_a_lost_answer_is_safe(self):
        before = self.run_count()
        self.emu.faults.drop_next(1, after_processing=True)
        with self.assertRaises(requests.ConnectionError):
            self.trigger("lost")
        self.assertEqual(self.run_count(), before + 1)  # the side effect happened
        retried = self.trigger("lost")
        self.assertEqual(retried.status_code, 200)
        self.assertEqual(self.run_count(), before + 1)  # and was not repeated
        with self.emu.state.lock:
            newest = self.emu.state.runs.in_environment(self.dev_env.id)[0]
        self.assertEqual(retried.json()["id"], newest.friendly_id)
