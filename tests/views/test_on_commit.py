"""``trigger_on_commit`` with real transactions on SQLite: nothing is sent before the commit,
nothing after a rollback (of the transaction or of the savepoint it was registered in), and a
commit hook run twice cannot start two runs."""

from __future__ import annotations

import logging

from django.contrib.auth.models import Group
from django.db import transaction
from django.test import TestCase, TransactionTestCase

from django_trigger.exceptions import (
    ConfigurationError,
    InvalidRequestError,
    PermissionDeniedError,
)
from django_trigger.testing import EmulatorTestMixin
from django_trigger.transactions import _HAS_ROBUST, trigger_on_commit

TRIGGER_PATH = "/api/v1/tasks/send-email/trigger"


class Rollback(Exception):
    pass


class OnCommitTransactionTests(EmulatorTestMixin, TransactionTestCase):
    def sent(self) -> int:
        return self.emulator.journal.count(method="POST", path=TRIGGER_PATH)

    def test_sent_after_the_commit_only(self):
        with transaction.atomic():
            group = Group.objects.create(name="orders")
            deferred = trigger_on_commit("send-email", {"group": group.pk}, tags=["orders"])
            self.assertEqual(self.sent(), 0)
            self.assertFalse(deferred.sent)
        self.assertEqual(self.sent(), 1)
        self.assertTrue(deferred.result.id.startswith("run_"))
        body = self.emulator.journal.last(method="POST").body
        self.assertEqual(body["payload"], {"group": group.pk})
        self.assertEqual(body["options"]["idempotencyKeyOptions"]["key"], deferred.idempotency_key)

    def test_nothing_sent_after_a_rollback(self):
        with self.assertRaises(Rollback), transaction.atomic():
            Group.objects.create(name="gone")
            deferred = trigger_on_commit("send-email", {"n": 1})
            raise Rollback
        self.assertEqual(self.sent(), 0)
        self.assertFalse(Group.objects.exists())
        self.assertFalse(deferred.sent)

    def test_a_rolled_back_savepoint_drops_its_trigger_only(self):
        with transaction.atomic():
            kept = trigger_on_commit("send-email", {"n": "outer"})
            with self.assertRaises(Rollback), transaction.atomic():
                dropped = trigger_on_commit("send-email", {"n": "inner"})
                raise Rollback
            with transaction.atomic():
                nested = trigger_on_commit("send-email", {"n": "nested"})
            self.assertEqual(self.sent(), 0)  # a released savepoint is no commit
        self.assertEqual(self.sent(), 2)
        self.assertTrue(kept.sent and nested.sent)
        self.assertFalse(dropped.sent)
        payloads = [e.body["payload"] for e in self.emulator.journal.filter(method="POST")]
        self.assertEqual(payloads, [{"n": "outer"}, {"n": "nested"}])

    def test_outside_a_transaction_it_is_sent_at_once(self):
        deferred = trigger_on_commit("send-email", {"n": 1})
        self.assertTrue(deferred.sent)
        self.assertEqual(self.sent(), 1)

    def test_the_payload_is_copied_when_called(self):
        payload = {"n": 1}
        with transaction.atomic():
            trigger_on_commit("send-email", payload)
            payload["n"] = 2
        self.assertEqual(self.emulator.journal.last(method="POST").body["payload"], {"n": 1})

    def test_robust_hooks_log_and_the_next_hooks_run(self):
        logger = "django.db.backends.base" if _HAS_ROBUST else "django_trigger.transactions"
        with self.assertLogs(logger, level=logging.ERROR) as logs, transaction.atomic():
            self.emulator.faults.fail_next(1, 403, method="POST")
            failing = trigger_on_commit("send-email", {"n": 1}, robust=True)
            after = trigger_on_commit("send-email", {"n": 2})
        self.assertIsInstance(failing.error, PermissionDeniedError)
        self.assertFalse(failing.sent)
        self.assertTrue(after.sent)
        self.assertIn("send", "\n".join(logs.output))


class OnCommitCapturedTests(EmulatorTestMixin, TestCase):
    def test_a_hook_run_twice_starts_one_run(self):
        with self.emulator.state.lock:
            runs_before = len(self.emulator.state.runs)
        with self.captureOnCommitCallbacks() as callbacks:
            deferred = trigger_on_commit("send-email", {"n": 1})
        self.assertEqual(len(callbacks), 1)
        callbacks[0]()
        first = deferred.result
        callbacks[0]()  # e.g. a retried hook
        self.assertEqual(deferred.result.id, first.id)
        self.assertTrue(deferred.result.is_cached)
        self.assertEqual(self.emulator.journal.count(method="POST", path=TRIGGER_PATH), 2)
        with self.emulator.state.lock:
            self.assertEqual(len(self.emulator.state.runs), runs_before + 1)

    def test_using_another_database_alias_is_passed_on(self):
        with self.captureOnCommitCallbacks(using="default") as callbacks:
            trigger_on_commit("send-email", {}, using="default")
        self.assertEqual(len(callbacks), 1)

    def test_bad_calls_fail_inside_the_transaction_and_register_nothing(self):
        cases = [
            ({"payload": {1, 2}}, InvalidRequestError, "JSON-serialisable"),
            ({"delay": "soon"}, InvalidRequestError, "delay"),
            ({"colour": "red"}, InvalidRequestError, "unknown trigger option"),
            ({"alias": "nope"}, ConfigurationError, "nope"),
        ]
        for kwargs, error, message in cases:
            with self.subTest(kwargs), self.captureOnCommitCallbacks() as callbacks:
                payload = kwargs.pop("payload", {})
                with self.assertRaisesRegex(error, message):
                    trigger_on_commit("send-email", payload, **kwargs)
            self.assertEqual(callbacks, [])
        with self.captureOnCommitCallbacks() as callbacks, self.assertRaises(InvalidRequestError):
            trigger_on_commit("", {})
        self.assertEqual(callbacks, [])
        self.assertEqual(len(self.emulator.journal.entries), 0)
