"""Overlapping item streams of one batch (API.md §9.2, the service's StreamBatchItemsService):
a retried stream that overlaps one still in flight, several at once, a stream answered after
processing but lost — each item index becomes one run, whatever the order the streams land in.
And a request that arrived before ``emu.reset()`` (a stalled one of an earlier test) does not
write into the reset world."""

from __future__ import annotations

import json
import threading
import time

import requests

from .base import EmulatorCase

COUNT = 25
NDJSON = {"Content-Type": "application/x-ndjson"}


def items_body(count: int = COUNT) -> bytes:
    lines = (
        json.dumps({"index": i, "task": "paginate-me", "payload": {"n": i}}) for i in range(count)
    )
    return "\n".join(lines).encode() + b"\n"


class OverlappingStreamsTests(EmulatorCase):
    def create_batch(self) -> str:
        created = self.post("/api/v3/batches", json={"runCount": COUNT})
        self.assertEqual(created.status_code, 202, created.text)
        return created.json()["id"]

    def stream_in_thread(self, path: str, answers: list) -> threading.Thread:
        def send() -> None:
            try:
                answers.append(
                    requests.post(
                        self.emu.url(path),
                        data=items_body(),
                        headers={"Authorization": f"Bearer {self.emu.secret_key}", **NDJSON},
                        timeout=10,
                    )
                )
            except requests.ConnectionError as exc:
                answers.append(exc)

        thread = threading.Thread(target=send)
        thread.start()
        return thread

    def runs_of(self, batch_id: str) -> dict[int, list[str]]:
        with self.emu.state.lock:
            runs = [r for r in self.emu.state.runs.by_id.values() if r.batch_id == batch_id]
        by_index: dict[int, list[str]] = {}
        for run in runs:
            payload = json.loads(run.payload)
            by_index.setdefault(payload["n"], []).append(run.friendly_id)
        return by_index

    def assertOneRunPerIndex(self, batch_id: str) -> None:
        by_index = self.runs_of(batch_id)
        self.assertEqual(sorted(by_index), list(range(COUNT)))
        self.assertEqual({i: ids for i, ids in by_index.items() if len(ids) > 1}, {})
        batch = self.get(f"/api/v2/batches/{batch_id}").json()
        self.assertEqual((batch["status"], len(batch["runs"])), ("COMPLETED", COUNT))

    def test_a_retried_stream_overlapping_a_stalled_one(self):
        batch_id = self.create_batch()
        path = f"/api/v3/batches/{batch_id}/items"
        # The first stream is held (past the client's patience); the client streams again and
        # that answer is lost after processing; a third try finds the batch sealed; then the
        # first stream lands. Held and released by the test, not by a timer that a loaded
        # machine outruns.
        held, release = threading.Event(), threading.Event()
        dispatch = self.emu.app.dispatch

        def hold_the_first(request, entry=None):
            if request.path == path and not held.is_set():
                held.set()
                release.wait(30)
            return dispatch(request, entry)

        self.emu.app.dispatch = hold_the_first
        self.addCleanup(vars(self.emu.app).pop, "dispatch", None)
        self.addCleanup(release.set)
        answers: list = []
        first = self.stream_in_thread(path, answers)
        self.assertTrue(held.wait(30))
        self.emu.faults.drop_next(1, path=path, after_processing=True)
        with self.assertRaises(requests.ConnectionError):
            self.post(path, data=items_body(), headers=NDJSON)
        third = self.post(path, data=items_body(), headers=NDJSON).json()
        self.assertEqual((third["sealed"], third["itemsAccepted"]), (True, 0))
        release.set()
        first.join()
        self.assertEqual(answers[0].json()["itemsAccepted"], 0)
        self.assertOneRunPerIndex(batch_id)

    def test_streams_sent_at_once(self):
        batch_id = self.create_batch()
        path = f"/api/v3/batches/{batch_id}/items"
        answers: list = []
        threads = [self.stream_in_thread(path, answers) for _ in range(6)]
        for thread in threads:
            thread.join()
        bodies = [a.json() for a in answers]
        self.assertEqual(sum(b["itemsAccepted"] for b in bodies), COUNT)
        self.assertTrue(all(b["sealed"] for b in bodies))
        self.assertOneRunPerIndex(batch_id)

    def test_a_stream_broken_by_a_bad_item_keeps_nothing_twice(self):
        # The service enqueues items as they arrive and stops at the first failure (the batch
        # stays unsealed); the SDK's retry streams everything again and indexes deduplicate.
        batch_id = self.create_batch()
        path = f"/api/v3/batches/{batch_id}/items"
        half = items_body(12) + b'{"index": 12, "task": 5}\n'
        broken = self.post(path, data=half, headers=NDJSON)
        self.assertGreaterEqual(broken.status_code, 400)
        again = self.post(path, data=items_body(), headers=NDJSON).json()
        self.assertTrue(again["sealed"])
        self.assertEqual(again["itemsAccepted"] + again["itemsDeduplicated"], COUNT)
        self.assertOneRunPerIndex(batch_id)


class ResetTests(EmulatorCase):
    def test_a_request_from_before_a_reset_does_not_reach_the_new_world(self):
        # Held until released after the reset below, however loaded the machine.
        self.emu.faults.stall_next(1, 30, path="/api/v1/tasks/late/trigger")
        answers: list = []

        def send() -> None:
            try:
                answers.append(
                    requests.post(
                        self.emu.url("/api/v1/tasks/late/trigger"),
                        json={"payload": {}},
                        headers={"Authorization": f"Bearer {self.emu.secret_key}"},
                        timeout=10,
                    )
                )
            except requests.ConnectionError as exc:
                answers.append(exc)

        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.monotonic() + 30
        while self.emu.faults.pending and time.monotonic() < deadline:  # until it is stalled
            time.sleep(0.005)
        self.emu.reset()  # the next test starts while the stalled request waits
        self.emu.faults.release_stalls()
        thread.join()
        self.assertIsInstance(answers[0], requests.ConnectionError)  # as if the server restarted
        self.assertEqual([r for r in self.dev_runs() if r.task_identifier == "late"], [])
        self.assertEqual(self.emu.journal.count(path="/api/v1/tasks/late/trigger"), 0)
