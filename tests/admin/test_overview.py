"""The overview page over real HTTP to the emulator: its numbers (computed here again from the
emulator's seeded runs, independently of the admin's code), the requests it makes, caching,
truncation, permissions and escaping."""

from __future__ import annotations

import math
from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from django_trigger import get_client
from django_trigger.admin import overview

from .base import RUNS_LIST, AdminTestCase

QUEUES_LIST = "/api/v1/queues"
FAILED = {"FAILED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED", "INTERRUPTED"}


def nearest_rank(values, p):
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


class OverviewTests(AdminTestCase):
    emulator_options = {"seed": 11, "runs": 150}

    def get(self, **params):
        self.journal.clear()
        return self.client.get(self.url("overview_changelist"), params)

    def expected(self, period):
        """Every run of the period, read through the client page by page (not the admin)."""
        local = timezone.localtime()
        if period == "7d":
            start = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
        else:
            start = local.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
        runs, after = [], None
        while True:
            page = get_client().runs.list(from_=start, limit=100, after=after)
            runs.extend(page.data)
            after = page.next_cursor
            if not after:
                break
        self.journal.clear()
        return start, runs

    def test_numbers_match_the_runs_of_the_period(self):
        for period in ("24h", "7d"):
            with self.subTest(period):
                start, runs = self.expected(period)
                self.assertTrue(runs)
                response = self.get(period=period)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.context["run_count"], len(runs))
                self.assertFalse(response.context["data"]["truncated"])
                # Stacked bars: every run in exactly one bucket, the buckets in time order.
                bars = response.context["chart"]["bars"]
                self.assertEqual(len(bars), 24 if period == "24h" else 7)
                self.assertEqual(sum(bar["total"] for bar in bars), len(runs))
                step = timedelta(hours=1) if period == "24h" else timedelta(days=1)
                for i, bar in enumerate(bars):
                    low, high = start + step * i, start + step * (i + 1)
                    self.assertEqual(
                        bar["total"], sum(1 for r in runs if low <= r.created_at < high)
                    )
                totals = {key: n for key, _label, n in response.context["totals"]}
                self.assertEqual(
                    totals["success"], sum(1 for r in runs if str(r.status) == "COMPLETED")
                )
                self.assertEqual(totals["failed"], sum(1 for r in runs if str(r.status) in FAILED))
                # Per task: failure rate over finished runs, nearest-rank p50/p95.
                rows = {row["task"]: row for row in response.context["tasks"]}
                for task in {r.task_identifier for r in runs}:
                    mine = [r for r in runs if r.task_identifier == task]
                    finished = [
                        r for r in mine if str(r.status) == "COMPLETED" or str(r.status) in FAILED
                    ]
                    failed = [r for r in finished if str(r.status) in FAILED]
                    row = rows[task]
                    self.assertEqual(
                        (row["runs"], row["finished"], row["failed"]),
                        (len(mine), len(finished), len(failed)),
                    )
                    if finished:
                        self.assertEqual(row["failure_rate"], f"{len(failed) / len(finished):.0%}")
                    durations = [r.duration_ms for r in finished if r.duration_ms]
                    if durations:
                        from django_trigger.admin.runs import format_duration

                        self.assertEqual(row["p50"], format_duration(nearest_rank(durations, 50)))
                        self.assertEqual(row["p95"], format_duration(nearest_rank(durations, 95)))
                self.assertContains(response, 'class="trigger-svg"', count=3)
                self.assertContains(response, 'id="runs-by-status"')

    def test_bounded_requests_and_the_count_is_shown(self):
        response = self.get()
        lists = self.journal.count(path=RUNS_LIST)
        self.assertGreaterEqual(lists, 1)
        self.assertLessEqual(lists, overview.MAX_PAGES)
        self.assertEqual(self.journal.count(path=QUEUES_LIST), 1)
        self.assertEqual(self.journal.count(), lists + 1)
        self.assertContains(response, f"This page made {lists + 1} requests")

    def test_truncation_is_said(self):
        _start, runs = self.expected("7d")
        self.assertGreater(len(runs), 20)
        for name, value in (("MAX_PAGES", 2), ("PAGE_SIZE", 10)):  # 20 runs at most
            self.addCleanup(setattr, overview, name, getattr(overview, name))
            setattr(overview, name, value)
        response = self.get(period="7d")
        self.assertEqual(self.journal.count(path=RUNS_LIST), 2)
        self.assertEqual(response.context["run_count"], 20)
        self.assertContains(response, "Only the newest 20 runs are counted")

    def test_cached_with_the_list_cache_setting(self):
        with override_settings(
            TRIGGER={"default": self.emulator.client_settings(ADMIN_CACHE_TIMEOUT=60)}
        ):
            first = self.get()
            self.assertGreater(self.journal.count(), 0)
            second = self.get()
            self.assertEqual(self.journal.count(), 0)
        self.assertEqual(first.context["run_count"], second.context["run_count"])

    def test_needs_the_view_run_permission(self):
        self.login(self.make_staff("nobody"))
        self.assertEqual(self.get().status_code, 403)
        self.assertEqual(self.journal.count(), 0)
        response = self.client.get("/admin/")
        self.assertNotContains(response, "/admin/django_trigger/overview/")
        self.login(self.make_staff("viewer", "view_run"))
        self.assertEqual(self.get().status_code, 200)
        self.assertContains(self.client.get("/admin/"), "/admin/django_trigger/overview/")

    def test_api_trouble_is_a_page_with_advice(self):
        self.emulator.faults.fail_next(2, 503, path=RUNS_LIST)
        response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Could not load from Trigger.dev")

    def test_task_names_are_escaped(self):
        get_client().tasks.trigger("<b>x</b>", {"n": 1})
        response = self.get()
        self.assertNotContains(response, "<b>x</b>")
        self.assertContains(response, "&lt;b&gt;x&lt;/b&gt;")
