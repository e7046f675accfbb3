"""``client.errors`` over HTTP: error groups the emulator derives from its failed runs
(the service's fingerprint), their state, their runs, pages, and bad input."""

from __future__ import annotations

from datetime import timedelta

import requests

from django_trigger.exceptions import InvalidRequestError, NotFoundError

from .base import ClientTestCase


class ErrorsApiTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        runs = self.emulator.state.runs
        self.failed = []
        for message, name in (
            ("Order 12345 failed", "OrderError"),
            ("Order 67890 failed", "OrderError"),
            ("Ledger locked", "LedgerError"),
        ):
            run_id = self.trigger.tasks.trigger("send-email", {"m": message}).id
            with self.emulator.state.lock:
                runs.fail(run_id, message, name=name)
            self.failed.append(run_id)
        self.journal.clear()

    def order_group(self):
        page = self.trigger.errors.list(search="ORDER")  # case-insensitive
        self.assertEqual(len(page.data), 1)
        return page.data[0]

    def test_groups_by_fingerprint(self):
        group = self.order_group()
        self.assertRegex(group.id, r"^error_[0-9a-f]{16}$")
        self.assertEqual(group.id, "error_" + group.fingerprint)
        self.assertEqual(group.count, 2)  # numbers of 4+ digits are normalised away
        self.assertEqual((group.task_identifier, group.error_type), ("send-email", "OrderError"))
        self.assertEqual(group.status, "unresolved")
        self.assertLessEqual(group.first_seen, group.last_seen)
        other = self.trigger.errors.list(search="ledger").data
        self.assertEqual([g.count for g in other], [1])
        self.assertNotEqual(other[0].fingerprint, group.fingerprint)
        self.assertEqual(len(self.journal), 2)

    def test_retrieve_and_the_runs_of_a_group(self):
        group = self.order_group()
        detail = self.trigger.errors.retrieve(group.id)
        self.assertEqual((detail.count, detail.error_message[:6]), (2, "Order "))
        self.assertIsNone(detail.resolved_in_version)
        self.assertEqual(self.trigger.errors.retrieve(group.fingerprint).id, group.id)
        runs = self.trigger.runs.list(error=group.id)
        self.assertEqual(sorted(r.id for r in runs), sorted(self.failed[:2]))

    def test_resolve_ignore_unresolve(self):
        group = self.order_group()
        resolved = self.trigger.errors.resolve(group.id, resolved_in_version="20261201.1")
        self.assertEqual(
            (resolved.status, resolved.resolved_in_version), ("resolved", "20261201.1")
        )
        self.assertIsNotNone(resolved.resolved_at)
        self.assertEqual([g.id for g in self.trigger.errors.list(status="resolved")], [group.id])
        self.assertNotIn(group.id, [g.id for g in self.trigger.errors.list(status="unresolved")])
        ignored = self.trigger.errors.ignore(
            group.id, duration=timedelta(hours=1), total_occurrences=10, reason="flaky upstream"
        )
        self.assertEqual(
            (ignored.status, ignored.ignored_reason, ignored.resolved_at),
            ("ignored", "flaky upstream", None),
        )
        self.assertEqual(ignored.ignored_until - ignored.ignored_at, timedelta(hours=1))
        self.assertEqual(ignored.ignored_until_total_occurrences, 10)
        back = self.trigger.errors.unresolve(group.id)
        self.assertEqual((back.status, back.ignored_until), ("unresolved", None))
        bodies = [e.body for e in self.journal.entries if e.method == "POST"]
        self.assertEqual(bodies[0], {"resolvedInVersion": "20261201.1"})
        self.assertFalse(bodies[-1])  # unresolve has no body

    def test_pages(self):
        names = []
        page = self.trigger.errors.list(limit=1, task_identifier="send-email")
        for group in page:  # walks every page
            names.append(group.fingerprint)
        self.assertEqual(len(names), len(set(names)))
        self.assertGreaterEqual(len(names), 2)
        counts = [g.count for g in self.trigger.errors.list(task_identifier="send-email")]
        self.assertEqual(counts, sorted(counts, reverse=True))

    def test_unknown_group(self):
        with self.assertRaises(NotFoundError):
            self.trigger.errors.retrieve("error_0000000000000000")
        with self.assertRaises(NotFoundError):
            self.trigger.errors.resolve("error_0000000000000000")

    def test_bad_input_is_refused_before_sending(self):
        errors = self.trigger.errors
        for call, message in (
            (lambda: errors.list(status="open"), "unknown error status open"),
            (lambda: errors.list(limit=0), "limit must be"),
            (lambda: errors.list(search="x" * 1001), "at most 1000"),
            (lambda: errors.list(period="1y"), "period"),
            (lambda: errors.list(after="a", before="b"), "either after or before"),
            (lambda: errors.retrieve("bad id!"), "not a valid error"),
            (lambda: errors.retrieve(""), "must not be empty"),
            (lambda: errors.ignore("error_ab", duration=timedelta(0)), "positive timedelta"),
            (lambda: errors.ignore("error_ab", duration=60), "positive timedelta"),
            (lambda: errors.ignore("error_ab", total_occurrences=0), "positive integer"),
            (lambda: errors.ignore("error_ab", occurrence_rate=-1), "positive number"),
            (lambda: errors.ignore("error_ab", reason="r" * 1001), "at most 1000"),
            (lambda: errors.resolve("error_ab", resolved_in_version=""), "non-empty"),
            (lambda: self.trigger.runs.list(error="../x"), "error"),
        ):
            with self.subTest(message), self.assertRaisesRegex(InvalidRequestError, message):
                call()
        self.assertEqual(len(self.journal), 0)

    def test_the_routes_validate(self):
        """The emulator is no kinder than the routes for a client that does not check."""
        group = self.order_group()
        base = f"{self.emulator.base_url}/api/v1/errors"
        headers = {"Authorization": f"Bearer {self.emulator.secret_key}"}
        answer = requests.get(base, params={"filter[status]": "open"}, headers=headers, timeout=5)
        self.assertEqual((answer.status_code, answer.json()["error"]), (400, "Query Error"))
        self.assertIn(
            "Allowed: unresolved, resolved, ignored.", answer.json()["details"][0]["message"]
        )
        answer = requests.post(f"{base}/{group.id}/resolve", headers=headers, timeout=5)
        self.assertEqual(answer.json(), {"error": "Request body is empty"})
        answer = requests.post(
            f"{base}/{group.id}/ignore", json={"duration": -1}, headers=headers, timeout=5
        )
        self.assertEqual(answer.status_code, 400)
        self.assertEqual(self.trigger.errors.retrieve(group.id).status, "unresolved")
