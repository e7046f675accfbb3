"""Values that go into a URL path are validated and quoted: nothing reaches another endpoint."""

from __future__ import annotations

from django.test import SimpleTestCase

from django_trigger._http.paths import build_path, segment
from django_trigger.exceptions import InvalidRequestError, NotFoundError

from .base import ClientTestCase


class SegmentTests(SimpleTestCase):
    def test_quotes_one_segment(self):
        self.assertEqual(segment("a/b c", "schedule"), "a%2Fb%20c")
        self.assertEqual(segment("100%", "schedule"), "100%25")
        self.assertEqual(
            build_path("/api/v3/runs/{}", ("run_abc123", "run")), "/api/v3/runs/run_abc123"
        )

    def test_refuses_traversal_and_junk(self):
        for value in ("", " ", ".", "..", "%2e%2e", "%2E%2E", "a\nb", "a\x00b"):
            with self.subTest(value=value), self.assertRaises(InvalidRequestError):
                segment(value, "schedule")
        with self.assertRaises(InvalidRequestError):
            segment(123, "run")

    def test_ids_must_look_like_ids(self):
        for value in ("../envvars", "run_abc/../x", "sched_abc", "run_", "run_a b"):
            with self.subTest(value=value), self.assertRaises(InvalidRequestError):
                segment(value, "run")


class PathsOverHttpTests(ClientTestCase):
    def test_traversal_never_reaches_the_api(self):
        attempts = [
            lambda: self.trigger.runs.retrieve("../envvars"),
            lambda: self.trigger.runs.cancel("run_x/../../v1/schedules"),
            lambda: self.trigger.schedules.retrieve(".."),
            lambda: self.trigger.schedules.delete("%2e%2e"),
            lambda: self.trigger.envvars.retrieve("../dev"),
            lambda: self.trigger.batches.retrieve("batch_1/../../runs"),
        ]
        for index, call in enumerate(attempts):
            with self.subTest(call=index), self.assertRaises(InvalidRequestError):
                call()
        self.assertEqual(self.journal.count(), 0)

    def test_odd_schedule_keys_are_quoted_into_one_segment(self):
        # A deduplication key may contain anything; it travels as one quoted segment.
        with self.assertRaises(NotFoundError):
            self.trigger.schedules.retrieve("tenant/7 nightly")
        self.assertEqual(self.journal.last().path, "/api/v1/schedules/tenant%2F7%20nightly")
