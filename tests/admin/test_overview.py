"""The overview page over real HTTP to the emulator: its numbers (computed here again from the
emulator's runs, independently of the admin's code), the requests each path makes (two queries,
or the bounded run list when the query API is missing or refuses), the same figures either
way in several time zones and on DST days, caching, truncation, permissions and escaping."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase, override_settings
from django.utils import timezone as dj_timezone

from django_trigger import get_client
from django_trigger.admin import overview
from django_trigger.admin.runs import STATUS_CLASSES, format_duration
from django_trigger.testing.resources.runs import V1, V2
from django_trigger.testing.resources.trql import RUN_STATUS_TITLES

from .base import RUNS_LIST, AdminTestCase

QUEUES_LIST = "/api/v1/queues"
QUERY = "/api/v1/query"
FAILED = {"FAILED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED", "INTERRUPTED"}
# What the page shows, compared between the two paths.
FIGURES = ("run_count", "totals", "chart", "tasks", "duration_chart", "slowest", "failing")


def interpolated(values, p):
    """The p-th percentile, linear between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class OverviewTests(AdminTestCase):
    emulator_options = {"seed": 11, "runs": 150}

    def get(self, **params):
        self.journal.clear()
        return self.client.get(self.url("overview_changelist"), params)

    def get_from_lists(self, status=404, **params):
        """The page when the query route answers ``status`` (404: a server without it)."""
        self.emulator.faults.fail_next(1, status, path=QUERY)
        response = self.get(**params)
        self.assertEqual(response.context["data"]["source"], "list")
        return response

    def in_one_window(self, views):
        """The responses of ``views`` (callables), all drawn for the same buckets: the admin
        reads the real clock, so a run of them that straddles an hour (or midnight) is
        simply done again (bounded)."""
        for _attempt in range(3):
            responses = [view() for view in views]
            if len({r.context["start"].timestamp() for r in responses}) == 1:
                return responses
        self.fail("three hour boundaries in a row")

    def expected(self, period):
        """Every run of the period, read through the client page by page (not the admin)."""
        local = dj_timezone.localtime()
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
            for path in ("query", "list"):
                with self.subTest(period=period, path=path):
                    found = {}

                    def runs(period=period):
                        found["start"], found["runs"] = self.expected(period)
                        return SimpleNamespace(context={"start": found["start"]})

                    def page(period=period, path=path):
                        if path == "query":
                            return self.get(period=period)
                        return self.get_from_lists(period=period)

                    _, response = self.in_one_window([runs, page])
                    self.assertTrue(found["runs"])
                    self.assertEqual(response.status_code, 200)
                    self.assertEqual(response.context["data"]["source"], path)
                    self.assertEqual(response.context["start"], found["start"])
                    self.check_numbers(response, period, found["start"], found["runs"])

    def check_numbers(self, response, period, start, runs):
        self.assertEqual(response.context["run_count"], len(runs))
        self.assertFalse(response.context["data"]["truncated"])
        # Stacked bars: every run in exactly one bucket, the buckets in time order (UTC here).
        bars = response.context["chart"]["bars"]
        self.assertEqual(len(bars), 24 if period == "24h" else 7)
        self.assertEqual(sum(bar["total"] for bar in bars), len(runs))
        step = timedelta(hours=1) if period == "24h" else timedelta(days=1)
        for i, bar in enumerate(bars):
            low, high = start + step * i, start + step * (i + 1)
            self.assertEqual(bar["total"], sum(1 for r in runs if low <= r.created_at < high))
        totals = {key: n for key, _label, n in response.context["totals"]}
        self.assertEqual(totals["success"], sum(1 for r in runs if str(r.status) == "COMPLETED"))
        self.assertEqual(totals["failed"], sum(1 for r in runs if str(r.status) in FAILED))
        # Per task: failure rate over finished runs, interpolated p50/p95.
        rows = {row["task"]: row for row in response.context["tasks"]}
        self.assertEqual(set(rows), {r.task_identifier for r in runs})
        p95s, failures = {}, {}
        for task in rows:
            mine = [r for r in runs if r.task_identifier == task]
            finished = [r for r in mine if str(r.status) == "COMPLETED" or str(r.status) in FAILED]
            failed = [r for r in finished if str(r.status) in FAILED]
            row = rows[task]
            self.assertEqual(
                (row["runs"], row["finished"], row["failed"]),
                (len(mine), len(finished), len(failed)),
            )
            if finished:
                self.assertEqual(row["failure_rate"], f"{len(failed) / len(finished):.0%}")
            if failed:
                failures[task] = (len(failed), f"{len(failed) / len(finished):.0%}")
            durations = [r.duration_ms for r in finished if r.duration_ms]
            if durations:
                p95s[task] = interpolated(durations, 95)
                self.assertEqual(row["p50"], format_duration(interpolated(durations, 50)))
                self.assertEqual(row["p95"], format_duration(p95s[task]))
            else:
                self.assertEqual((row["p50"], row["p95"]), ("-", "-"))
        # The rankings: five at most, the slowest by p95, the most failing by failed runs.
        self.assertTrue(p95s and failures)
        slowest = sorted(p95s, key=lambda task: (-p95s[task], task))[:5]
        self.assertEqual(
            response.context["slowest"], [(t, format_duration(p95s[t])) for t in slowest]
        )
        failing = sorted(failures, key=lambda task: (-failures[task][0], task))[:5]
        self.assertEqual(response.context["failing"], [(t, *failures[t]) for t in failing])
        self.assertContains(response, 'class="trigger-svg"', count=3)
        for table in ("runs-by-status", "task-stats", "queue-depth"):  # the numbers of each
            self.assertContains(response, f'<table class="trigger-data" id="{table}">')

    def test_both_paths_show_the_same_figures_in_any_time_zone(self):
        for zone in ("UTC", "Asia/Kolkata", "America/New_York", "Asia/Kathmandu"):
            for period in ("24h", "7d"):
                with self.subTest(zone=zone, period=period), override_settings(TIME_ZONE=zone):
                    by_query, by_list = self.in_one_window(
                        [
                            lambda period=period: self.get(period=period),
                            lambda period=period: self.get_from_lists(period=period),
                        ]
                    )
                    self.assertEqual(by_query.context["data"]["source"], "query")
                    self.assertGreater(by_query.context["run_count"], 0)
                    for name in FIGURES:
                        self.assertEqual(by_query.context[name], by_list.context[name], name)

    def test_requests_per_path(self):
        response = self.get()
        self.assertEqual(self.journal.count(method="POST", path=QUERY), 2)
        self.assertEqual(self.journal.count(path=QUEUES_LIST), 1)
        self.assertEqual(self.journal.count(), 3)
        self.assertContains(response, "This page made 3 requests")
        # No query route (404), or the query refused (403: the key; 400: the query): the run
        # list, bounded, after the one refused query.
        for status in (404, 403, 400):
            with self.subTest(status):
                response = self.get_from_lists(status)
                lists = self.journal.count(path=RUNS_LIST)
                self.assertGreaterEqual(lists, 1)
                self.assertLessEqual(lists, overview.MAX_PAGES)
                self.assertEqual(self.journal.count(path=QUERY), 1)
                self.assertEqual(self.journal.count(path=QUEUES_LIST), 1)
                self.assertEqual(self.journal.count(), lists + 2)
                self.assertContains(response, f"This page made {lists + 2} requests")
                self.assertContains(response, "the query API was not available")

    def test_queue_depth_is_the_queue_list(self):
        queues = get_client().queues.list(per_page=100).data
        self.assertTrue(any(q.queued or q.running for q in queues))
        expected = sorted(
            ([q.name, q.queued, q.running, q.paused] for q in queues),
            key=lambda q: (-(q[1] + q[2]), q[0]),
        )
        for response in (self.get(), self.get_from_lists()):
            self.assertEqual([list(q) for q in response.context["queues"]], expected)
            name, queued, running, _paused = expected[0]
            self.assertContains(
                response,
                f'<th scope="row"><code>{name}</code></th><td>{queued}</td><td>{running}</td>',
            )
            self.assertContains(response, f"{queued} queued, {running} running")

    def test_a_zone_without_a_name_reads_the_list_only(self):
        with dj_timezone.override(timezone(timedelta(hours=5, minutes=45))):
            response = self.get(period="7d")
        self.assertEqual(response.context["data"]["source"], "list")
        self.assertEqual(self.journal.count(path=QUERY), 0)
        self.assertEqual(self.journal.count(), self.journal.count(path=RUNS_LIST) + 1)

    def test_truncation_is_said(self):
        _start, runs = self.expected("7d")
        self.assertGreater(len(runs), 20)
        for name, value in (("MAX_PAGES", 2), ("PAGE_SIZE", 10)):  # 20 runs at most
            self.addCleanup(setattr, overview, name, getattr(overview, name))
            setattr(overview, name, value)
        response = self.get_from_lists(period="7d")
        self.assertEqual(self.journal.count(path=RUNS_LIST), 2)
        self.assertEqual(response.context["run_count"], 20)
        self.assertContains(response, "Only the newest 20 runs are counted")

    def test_cached_with_the_list_cache_setting(self):
        with override_settings(
            TRIGGER={"default": self.emulator.client_settings(ADMIN_CACHE_TIMEOUT=60)}
        ):
            first, second = self.in_one_window([self.get, self.get])
            self.assertEqual(self.journal.count(), 0)  # the second: from the cache
            # the list path's figures are cached alike (another period: another entry)
            _by_list, cached = self.in_one_window(
                [lambda: self.get_from_lists(period="7d"), lambda: self.get(period="7d")]
            )
            self.assertEqual(cached.context["data"]["source"], "list")
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
        for path in (QUERY, RUNS_LIST):
            with self.subTest(path):
                if path == RUNS_LIST:  # the list path, in trouble too
                    self.emulator.faults.fail_next(1, 404, path=QUERY)
                self.emulator.faults.fail_next(2, 503, path=path)
                response = self.get()
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "Could not load from Trigger.dev")
                self.emulator.faults.clear()

    def test_task_names_are_escaped(self):
        get_client().tasks.trigger("<b>x</b>", {"n": 1})
        for response in (self.get(), self.get_from_lists()):
            self.assertNotContains(response, "<b>x</b>")
            self.assertContains(response, "&lt;b&gt;x&lt;/b&gt;")


class StatusGroupTests(SimpleTestCase):
    def test_a_run_is_in_the_same_group_by_title_and_by_list_status(self):
        for internal, title in RUN_STATUS_TITLES.items():
            with self.subTest(internal):
                group = overview.TITLE_GROUPS[title]
                self.assertEqual(STATUS_CLASSES.get(V1[internal], "other"), group)
                self.assertEqual(STATUS_CLASSES.get(V2[internal], "other"), group)


class BucketTests(AdminTestCase):
    """Both paths on days whose hours are not plain: a DST change (25 and 23 hours) and a
    +05:45 zone, with the emulator's clock set on such a day (the admin's ``fetch`` is called
    with the buckets of that instant)."""

    emulator_options = {"seed": 3, "runs": 0}
    TASKS = ("dst-a", "dst-b")

    def world_around(self, now: datetime) -> None:
        """60 runs, one every 47 minutes back from ``now`` (about two days), each triggered
        with the emulator's clock at its instant; then the clock stays at ``now``."""
        clock = self.emulator.state.clock
        self.addCleanup(clock.reset)
        statuses = ["COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS", "PENDING", "CANCELED"]
        client = get_client()
        for n in reversed(range(60)):
            clock.freeze(now - timedelta(minutes=47 * n + 1))
            run_id = client.tasks.trigger(self.TASKS[n % 2], {"n": n}).id
            with self.emulator.state.lock:
                run = self.emulator.state.runs.set_status(run_id, statuses[n % 4])
                run.usage_duration_ms = (n * 7919) % 5000 if n % 5 else 0
        clock.freeze(now)

    def both(self, period: str, zone: ZoneInfo):
        now = self.emulator.state.now()
        starts = overview.bucket_starts(now, period, zone)
        by_query = overview.fetch("default", period, starts[0], zone)
        self.emulator.faults.fail_next(1, 404, path=QUERY)
        by_list = overview.fetch("default", period, starts[0], zone)
        return starts, by_query, by_list

    def test_dst_days_and_odd_offsets_bucket_alike(self):
        for now, zone, hours in (
            ("2026-11-01T20:00:00+00:00", "America/New_York", 25),  # falls back at 06:00 UTC
            ("2026-03-08T20:00:00+00:00", "America/New_York", 23),  # springs forward at 07:00
            ("2026-10-04T12:00:00+00:00", "Australia/Lord_Howe", 23.5),  # a half-hour change
            ("2026-11-30T12:00:00+00:00", "Asia/Kathmandu", 24),  # +05:45
        ):
            when = datetime.fromisoformat(now)
            self.world_around(when)
            for period in ("24h", "7d"):
                with self.subTest(now=now, period=period):
                    starts, by_query, by_list = self.both(period, ZoneInfo(zone))
                    self.assertEqual((by_query["source"], by_list["source"]), ("query", "list"))
                    for key in ("counts", "totals", "run_count", "tasks"):
                        self.assertEqual(by_query[key], by_list[key], key)
                    self.assertGreater(by_query["run_count"], 20)
                    # every run of this day's world in its bucket (the seeded ones are later)
                    epochs = [int(start.timestamp()) for start in starts]
                    self.assertEqual(len(set(epochs)), len(starts))
                    created = [when - timedelta(minutes=47 * n + 1) for n in range(60)]
                    self.assertEqual(
                        sum(sum(by_query["counts"].get(e, {}).values()) for e in epochs),
                        sum(1 for c in created if c >= starts[0]),
                    )
                    if period == "7d":  # the local day of `now` is `hours` long
                        following = starts[-1].date() + timedelta(days=1)
                        end = datetime.combine(following, time(), ZoneInfo(zone))
                        length = end.timestamp() - starts[-1].timestamp()
                        self.assertEqual(length / 3600, hours)
                    else:  # 24 buckets of real hours ending with the current one
                        self.assertEqual(len(starts), 24)
                        self.assertLess(self.emulator.state.now() - starts[-1], timedelta(hours=1))
            self.emulator.state.clock.reset()
            self.emulator.state.reset()  # the runs of this day go


class BackdatedRunTests(AdminTestCase):
    """Runs a test puts in the past (``emu.state.runs.create``) are in the bar of the day they
    were created in, by either path."""

    emulator_options = {"seed": 3, "runs": 0}  # real time, as the admin's clock

    def page(self, path: str):
        if path == "list":
            self.emulator.faults.fail_next(1, 404, path=QUERY)
        response = self.client.get(self.url("overview_changelist"), {"period": "7d"})
        self.assertEqual(response.context["data"]["source"], path)
        return response

    def test_in_the_bar_of_their_day(self):
        for path in ("query", "list"):
            with self.subTest(path=path):
                for _attempt in range(3):  # drawn again when midnight passes in between
                    self.emulator.reset()
                    before = self.page(path).context
                    start = before["start"]
                    day = timedelta(days=1)
                    with self.emulator.state.lock:
                        runs = self.emulator.state.runs
                        for status, when in (
                            ("COMPLETED", start + 2 * day + timedelta(hours=3)),
                            ("COMPLETED", start + 2 * day + timedelta(hours=20)),
                            ("FAILED", start + 2 * day + timedelta(hours=23, minutes=59)),
                            ("COMPLETED", start + 5 * day),
                            ("COMPLETED", start - timedelta(seconds=2)),  # the day before
                        ):
                            runs.create("backdated", status=status, created_at=when)
                    response = self.page(path)
                    if response.context["start"] == start:
                        break
                else:
                    self.fail("three midnights in a row")
                # Added to what the seeded world shows (its batch's three runs, today).
                added = [
                    after["total"] - earlier["total"]
                    for earlier, after in zip(
                        before["chart"]["bars"], response.context["chart"]["bars"], strict=True
                    )
                ]
                self.assertEqual(added, [0, 0, 3, 0, 0, 1, 0])
                totals = {key: n for key, _label, n in before["totals"]}
                now = {key: n for key, _label, n in response.context["totals"]}
                self.assertEqual(
                    (now["success"] - totals["success"], now["failed"] - totals["failed"]), (3, 1)
                )
                self.assertEqual(response.context["run_count"] - before["run_count"], 4)
