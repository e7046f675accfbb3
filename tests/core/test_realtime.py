"""Realtime subscriptions (``runs.subscribe_to_run`` & co.) over real HTTP: the emulator holds
live requests like the service; runs move by the emulator's lifecycle or by hand."""

from __future__ import annotations

import threading
import time
from typing import Any

from django_trigger.exceptions import (
    ApiTimeoutError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from django_trigger.resources.realtime import RealtimeRun
from django_trigger.testing.lifecycle import Lifecycle
from django_trigger.types import RunStatus

from .base import ClientTestCase


class RealtimeCase(ClientTestCase):
    emulator_options = {"realtime_hold": 0.5}

    def setUp(self) -> None:
        super().setUp()
        self.threads_before = set(threading.enumerate())
        self.addCleanup(self.assert_no_thread_left)

    def assert_no_thread_left(self) -> None:
        """The client starts no thread: every thread alive now that was not before serves
        the emulator's connections (werkzeug's ``process_request_thread``)."""
        started = set(threading.enumerate()) - self.threads_before
        self.assertEqual([t.name for t in started if "process_request" not in t.name], [])

    def start_run(self, task: str = "send-email", **kwargs: Any) -> str:
        return self.trigger.tasks.trigger(task, {"to": "a@example.com"}, **kwargs).id

    def set_status(self, run_id: str, status: str) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.set_status(run_id, status)

    def complete(self, run_id: str, output: Any = None) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(run_id, output)

    def realtime_requests(self) -> list[Any]:
        return [e for e in self.journal.entries if e.path.startswith("/realtime/")]


class SubscribeToRunTests(RealtimeCase):
    def test_follows_a_run_to_its_end(self):
        run_id = self.start_run(tags=["order_7"])
        with self.trigger.runs.subscribe_to_run(run_id, timeout=10) as runs:
            first = next(runs)
            self.assertIsInstance(first, RealtimeRun)
            self.assertEqual((first.id, first.status), (run_id, RunStatus.QUEUED))
            self.assertTrue(first.is_queued)
            self.assertEqual(first.payload, {"to": "a@example.com"})
            self.assertEqual(first.tags, ["order_7"])
            self.assertIsNone(first.finished_at)
            self.set_status(run_id, "EXECUTING")
            executing = next(runs)
            self.assertTrue(executing.is_executing)
            self.assertIsNotNone(executing.started_at)
            self.complete(run_id, {"messageId": "m1"})
            done = next(runs)
            self.assertEqual(done.status, RunStatus.COMPLETED)
            self.assertEqual(done.output, {"messageId": "m1"})
            self.assertTrue(done.is_completed and done.is_success)
            self.assertIsNotNone(done.finished_at)
            with self.assertRaises(StopIteration):
                next(runs)
        self.assertEqual(runs.requests, 3)  # the snapshot, then one live answer per change

    def test_the_wire(self):
        run_id = self.start_run()
        runs = self.trigger.runs.subscribe_to_run(run_id, skip_columns=["payload"], timeout=5)
        self.assertIsNone(next(runs).payload)
        self.complete(run_id)
        next(runs)
        # (a live request of an earlier test may still end while this one runs)
        first, live = [e for e in self.realtime_requests() if "skipColumns" in e.query]
        self.assertEqual(first.path, f"/realtime/v1/runs/{run_id}")
        self.assertEqual(first.query, {"skipColumns": ["payload"], "offset": ["-1"]})
        self.assertEqual(first.headers["x-trigger-electric-version"], "1.0.0-beta.1")
        self.assertEqual(live.query["live"], ["true"])
        self.assertEqual(live.query["handle"], [f"run-{run_id[4:]}"])
        self.assertNotEqual(live.query["offset"], ["-1"])

    def test_a_run_that_is_already_finished_ends_at_once(self):
        run_id = self.start_run()
        self.complete(run_id)
        self.assertEqual(
            [r.status for r in self.trigger.runs.subscribe_to_run(run_id)], [RunStatus.COMPLETED]
        )

    def test_a_cancelled_run_ends_the_subscription(self):
        run_id = self.start_run()
        runs = self.trigger.runs.subscribe_to_run(run_id, timeout=5)
        next(runs)
        self.trigger.runs.cancel(run_id)
        cancelled = next(runs)
        self.assertTrue(cancelled.is_cancelled)
        self.assertFalse(cancelled.is_completed)  # as the SDK says
        self.assertEqual(list(runs), [])

    def test_timeout_bounds_it_and_no_thread_is_left(self):
        run_id = self.start_run()
        runs = self.trigger.runs.subscribe_to_run(run_id, timeout=1.2)
        next(runs)
        started = time.monotonic()
        with self.assertRaisesMessage(ApiTimeoutError, "after 1.2 s"):
            next(runs)
        self.assertLess(time.monotonic() - started, 3)
        self.assertTrue(runs.closed)

    def test_closing_stops_it(self):
        run_id = self.start_run()
        with self.trigger.runs.subscribe_to_run(run_id) as runs:
            next(runs)
        self.set_status(run_id, "EXECUTING")
        with self.assertRaises(StopIteration):
            next(runs)
        self.assertEqual(runs.requests, 1)

    def test_stop_on_completion_false_keeps_following(self):
        run_id = self.start_run()
        self.complete(run_id)
        runs = self.trigger.runs.subscribe_to_run(run_id, stop_on_completion=False, timeout=1)
        next(runs)
        with self.assertRaises(ApiTimeoutError):
            next(runs)

    def test_unknown_run_and_bad_input(self):
        with self.assertRaises(NotFoundError):
            next(self.trigger.runs.subscribe_to_run("run_doesnotexist"))
        self.journal.clear()
        for call, message in (
            (lambda: self.trigger.runs.subscribe_to_run(""), "run"),
            (lambda: self.trigger.runs.subscribe_to_run("run_1", timeout=0), "timeout"),
            (lambda: self.trigger.runs.subscribe_to_run("run_1", timeout=float("inf")), "timeout"),
            (
                lambda: self.trigger.runs.subscribe_to_run("run_1", skip_columns=["id"]),
                "cannot skip 'id'",
            ),
            (
                lambda: self.trigger.runs.subscribe_to_run("run_1", skip_columns="payload"),
                "list of column names",
            ),
            (lambda: self.trigger.runs.subscribe_to_runs_with_tag("a,b"), "character"),
            (lambda: self.trigger.runs.subscribe_to_runs_with_tag(""), "non-empty"),
            (lambda: self.trigger.runs.subscribe_to_runs_with_tag([]), "at least one tag"),
            (
                lambda: self.trigger.runs.subscribe_to_runs_with_tag("t", created_at=""),
                "created_at",
            ),
            (lambda: self.pat_client().runs.subscribe_to_run("run_1"), "secret key"),
        ):
            with self.subTest(message=message):
                with self.assertRaisesMessage(InvalidRequestError, message):
                    call()
        self.assertEqual(len(self.journal), 0)


class PublicTokenRealtimeTests(RealtimeCase):
    def test_a_token_for_one_run(self):
        run_id, other = self.start_run(), self.start_run()
        token = self.trigger.auth.create_public_token(scopes={"read": {"runs": run_id}})
        browser = self.make_client(token)
        runs = browser.runs.subscribe_to_run(run_id, timeout=5)
        self.assertEqual(next(runs).id, run_id)
        self.complete(run_id)
        self.assertTrue(next(runs).is_success)
        with self.assertRaises(PermissionDeniedError):
            next(browser.runs.subscribe_to_run(other))

    def test_skip_columns_of_the_token_win(self):
        run_id = self.start_run()
        token = self.trigger.auth.create_public_token(
            scopes={"read": {"runs": run_id}}, realtime={"skipColumns": ["payload"]}
        )
        self.assertIsNone(next(self.make_client(token).runs.subscribe_to_run(run_id)).payload)

    def test_an_expired_token_is_refused(self):
        run_id = self.start_run()
        token = self.trigger.auth.create_public_token(
            scopes={"read": {"runs": run_id}}, expiration_time="1m"
        )
        self.emulator.clock.advance(61)
        from django_trigger.exceptions import AuthenticationError

        with self.assertRaisesMessage(AuthenticationError, "Public Access Token is invalid"):
            next(self.make_client(token).runs.subscribe_to_run(run_id))


class TagAndBatchTests(RealtimeCase):
    def test_runs_with_a_tag(self):
        first, second = self.start_run(tags=["cart_1"]), self.start_run(tags=["cart_1", "vip"])
        self.start_run(tags=["cart_2"])
        runs = self.trigger.runs.subscribe_to_runs_with_tag("cart_1", timeout=5)
        self.assertEqual({next(runs).id, next(runs).id}, {first, second})
        self.complete(second)
        changed = next(runs)
        self.assertEqual((changed.id, changed.status), (second, RunStatus.COMPLETED))
        third = self.start_run(tags=["cart_1"])
        self.assertEqual(next(runs).id, third)  # a new run of the tag shows up
        runs.close()
        both = self.trigger.runs.subscribe_to_runs_with_tag(["cart_1", "vip"], timeout=5)
        self.assertEqual(next(both).id, second)
        token = self.trigger.auth.create_public_token(scopes={"read": {"tags": "cart_1"}})
        self.assertIn(
            next(self.make_client(token).runs.subscribe_to_runs_with_tag("cart_1")).id,
            {first, second, third},
        )
        with self.assertRaises(PermissionDeniedError):
            next(self.make_client(token).runs.subscribe_to_runs_with_tag("cart_2"))

    def test_runs_of_a_batch(self):
        handle = self.trigger.tasks.batch_trigger(
            [
                {"task": "send-email", "payload": {"n": 1}},
                {"task": "send-email", "payload": {"n": 2}},
            ]
        )
        run_ids = self.trigger.batches.retrieve(handle.id).runs
        token = self.trigger.auth.create_public_token(scopes={"read": {"batch": handle.id}})
        runs = self.make_client(token).runs.subscribe_to_batch(handle.id, timeout=1.5)
        self.assertEqual(sorted(next(runs).id for _ in run_ids), sorted(run_ids))
        self.complete(run_ids[0])
        self.assertEqual(next(runs).id, run_ids[0])
        with self.assertRaises(ApiTimeoutError):
            next(runs)
        with self.assertRaises(NotFoundError):
            next(self.trigger.runs.subscribe_to_batch("batch_doesnotexist", timeout=2))


class LifecycleTests(RealtimeCase):
    emulator_options = {
        "realtime_hold": 5,
        "lifecycle": Lifecycle(queued=0.2, executing=0.3, fail_tasks=("boom",)),
    }

    def test_runs_move_by_themselves(self):
        run_id = self.start_run()
        statuses = [run.status for run in self.trigger.runs.subscribe_to_run(run_id, timeout=10)]
        self.assertEqual(statuses, [RunStatus.QUEUED, RunStatus.EXECUTING, RunStatus.COMPLETED])
        failed = self.start_run("boom")
        self.assertEqual(self.trigger.runs.poll(failed, interval=0.1).status, RunStatus.FAILED)

    def test_seeded_runs_stay_where_they_are(self):
        with self.emulator.state.lock:
            waiting = [r.friendly_id for r in self.emulator.state.runs if r.status == "EXECUTING"]
        self.assertTrue(waiting)
        time.sleep(0.6)
        self.assertEqual(self.trigger.runs.retrieve(waiting[0]).status, RunStatus.EXECUTING)
