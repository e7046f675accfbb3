"""``runs.poll`` against the emulator: the run moves through its lifecycle after given
numbers of the client's retrievals (playing the worker), and the request count is what the
docstring promises."""

from __future__ import annotations

import time

from django_trigger.exceptions import ApiTimeoutError, InvalidRequestError, PollTimeoutError
from django_trigger.types import RunStatus

from .base import ClientTestCase


class PollTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.run_id = self.trigger.tasks.trigger("send-email", {"to": "a@example.com"}).id
        self.path = f"/api/v3/runs/{self.run_id}"

    def worker(self, *statuses: str, output=None) -> None:
        """Move the run through ``statuses`` then complete it, one step per call."""
        steps = list(statuses)

        def step() -> None:
            with self.emulator.state.lock:
                if steps:
                    self.emulator.state.runs.set_status(self.run_id, steps.pop(0))
                else:
                    self.emulator.state.runs.complete(self.run_id, output)

        return step

    def test_polls_until_the_run_is_final(self):
        step = self.worker("EXECUTING", output={"sent": True})
        self.after_answers(2, "GET", self.path, step)  # the 3rd and 4th read EXECUTING
        self.after_answers(4, "GET", self.path, step)  # the 5th reads COMPLETED
        run = self.trigger.runs.poll(self.run_id, interval=0.05)
        self.assertIs(run.status, RunStatus.COMPLETED)
        self.assertEqual(run.output, {"sent": True})
        self.assertEqual(self.journal.count(method="GET", path=self.path), 5)

    def test_a_final_run_takes_one_request(self):
        with self.emulator.state.lock:
            self.emulator.state.runs.fail(self.run_id, "boom")
        run = self.trigger.runs.poll(self.run_id)  # default interval: never slept
        self.assertIs(run.status, RunStatus.FAILED)
        self.assertEqual(self.journal.count(method="GET", path=self.path), 1)

    def test_expired_runs_end_the_poll_unlike_the_sdk(self):
        with self.emulator.state.lock:
            self.emulator.state.runs.set_status(self.run_id, "EXPIRED")
        run = self.trigger.runs.poll(self.run_id, interval=0.01, max_attempts=3)
        self.assertIs(run.status, RunStatus.EXPIRED)

    def test_max_attempts(self):
        with self.assertRaises(PollTimeoutError) as caught:
            self.trigger.runs.poll(self.run_id, interval=0.01, max_attempts=3)
        self.assertEqual(self.journal.count(method="GET", path=self.path), 3)
        self.assertIs(caught.exception.last.status, RunStatus.QUEUED)
        self.assertIn("after 3 retrievals", str(caught.exception))
        self.assertIsInstance(caught.exception, TimeoutError)

    def test_timeout(self):
        with self.assertRaisesRegex(PollTimeoutError, "still QUEUED after 0.5 s"):
            self.trigger.runs.poll(self.run_id, interval=0.2, timeout=0.5)
        # Retrievals at 0, .2 and .4 s; a loaded machine may fit only two in the time.
        self.assertIn(self.journal.count(method="GET", path=self.path), (2, 3))

    def test_a_stalled_retrieval_does_not_outlast_the_timeout(self):
        self.emulator.faults.stall_next(1, seconds=5, path=self.path)
        started = time.monotonic()
        with self.assertRaisesRegex(PollTimeoutError, "not retrieved after 0.5 s") as caught:
            self.trigger.runs.poll(self.run_id, interval=0.1, timeout=0.5)
        self.assertLess(time.monotonic() - started, 4)  # not the 5 s stall
        self.assertIsNone(caught.exception.last)
        self.assertIsInstance(caught.exception.__cause__, ApiTimeoutError)
        self.assertIn("Deadline", str(caught.exception.__cause__))

    def test_a_stall_after_a_retrieval_keeps_the_last_run(self):
        def stall() -> None:
            self.emulator.faults.stall_next(1, seconds=5, path=self.path)

        self.after_answers(1, "GET", self.path, stall)  # the second retrieval stalls
        with self.assertRaisesRegex(
            PollTimeoutError, r"still QUEUED after 1 s \(1 retrievals"
        ) as caught:
            self.trigger.runs.poll(self.run_id, interval=0.05, timeout=1)
        self.assertIs(caught.exception.last.status, RunStatus.QUEUED)
        self.assertIsInstance(caught.exception.__cause__, ApiTimeoutError)

    def test_the_callers_own_shorter_deadline_is_an_api_timeout(self):
        self.emulator.faults.stall_next(1, seconds=5, path=self.path)
        with self.assertRaisesRegex(ApiTimeoutError, "Deadline of 0.2s"):
            self.trigger.runs.poll(
                self.run_id, interval=0.1, timeout=30, request_options={"deadline": 0.2}
            )

    def test_bad_arguments_send_nothing(self):
        self.journal.clear()
        for kwargs, message in [
            ({"interval": 0}, "interval"),
            ({"interval": "1"}, "interval"),
            ({"timeout": -1}, "timeout"),
            ({"max_attempts": 0}, "attempts"),
            ({"request_options": {"colour": 1}}, "unknown request option"),
        ]:
            with self.subTest(kwargs), self.assertRaisesRegex(InvalidRequestError, message):
                self.trigger.runs.poll(self.run_id, **kwargs)
        with self.assertRaisesRegex(InvalidRequestError, "not a valid run"):
            self.trigger.runs.poll("waitpoint_1")
        self.assertEqual(len(self.journal.entries), 0)
