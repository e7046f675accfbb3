"""``bulk_actions.poll`` against the emulator: a pending bulk action is processed (playing the
server's worker) after a given number of the client's retrievals; the loop is the one
``runs.poll`` uses."""

from __future__ import annotations

from django_trigger.exceptions import InvalidRequestError, PollTimeoutError

from .base import ClientTestCase


class BulkActionPollTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.trigger.tasks.trigger("send-email", {"to": "a@example.com"})
        state = self.emulator.state
        with state.lock:
            env = state.environment_for_key(self.emulator.secret_key)
            self.action = state.bulk_actions.create(
                env, "CANCEL", run_ids=None, flt=None, process=False
            )
        self.action_id = self.action.friendly_id
        self.path = f"/api/v1/bulk-actions/{self.action_id}"

    def test_polls_until_the_action_is_no_longer_pending(self):
        def finish() -> None:
            with self.emulator.state.lock:
                self.emulator.state.bulk_actions.process(self.action)

        self.after_answers(3, "GET", self.path, finish)  # the 4th reads it processed
        action = self.trigger.bulk_actions.poll(self.action_id, interval=0.05, timeout=30)
        self.assertEqual(action.status, "COMPLETED")
        self.assertGreaterEqual(action.counts.total, 1)
        self.assertEqual(self.journal.count(method="GET", path=self.path), 4)

    def test_an_aborted_action_ends_the_poll(self):
        self.trigger.bulk_actions.abort(self.action_id)
        action = self.trigger.bulk_actions.poll(self.action_id)  # default interval: never slept
        self.assertEqual(action.status, "ABORTED")
        self.assertEqual(self.journal.count(method="GET", path=self.path), 1)

    def test_timeout_is_a_deadline(self):
        with self.assertRaisesRegex(PollTimeoutError, "still PENDING after 0.5 s") as caught:
            self.trigger.bulk_actions.poll(self.action_id, interval=0.2, timeout=0.5)
        self.assertEqual(caught.exception.last.status, "PENDING")
        # Retrievals at 0, .2 and .4 s; a loaded machine may fit only two in the time.
        self.assertIn(self.journal.count(method="GET", path=self.path), (2, 3))

    def test_max_attempts(self):
        with self.assertRaisesRegex(PollTimeoutError, "after 2 retrievals"):
            self.trigger.bulk_actions.poll(self.action_id, interval=0.01, max_attempts=2)
        self.assertEqual(self.journal.count(method="GET", path=self.path), 2)

    def test_bad_arguments_send_nothing(self):
        before = len(self.journal)
        for kwargs in (
            {"interval": 0},
            {"interval": True},
            {"timeout": -1},
            {"max_attempts": 0},
            {"request_options": {"nope": 1}},
        ):
            with self.subTest(kwargs=kwargs), self.assertRaises(InvalidRequestError):
                self.trigger.bulk_actions.poll(self.action_id, **kwargs)
        for bad_id in ("", "bulk_/../x", 42):
            with self.subTest(bad_id=bad_id), self.assertRaises(InvalidRequestError):
                self.trigger.bulk_actions.poll(bad_id)  # type: ignore[arg-type]
        self.assertEqual(len(self.journal), before)

    def test_an_unknown_action_is_not_polled_again(self):
        from django_trigger.exceptions import NotFoundError

        with self.assertRaises(NotFoundError):
            self.trigger.bulk_actions.poll("bulk_doesnotexist", interval=0.01)
