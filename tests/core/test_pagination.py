"""Cursor pages (runs) in both directions, lazy auto-iteration, and offset pages."""

from __future__ import annotations

import math

from django_trigger.pagination import CursorPage, OffsetPage
from django_trigger.types import RunListItem

from .base import ClientTestCase

TASK = "paginate-me"


class CursorPaginationTests(ClientTestCase):
    emulator_reset_state = False  # the runs made in setUpClass are read-only here

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        client = cls.make_class_client()
        client.tasks.batch_trigger([{"task": TASK, "payload": {"n": i}} for i in range(250)])
        client.close()

    @classmethod
    def make_class_client(cls):
        from django_trigger.client import TriggerClient

        return TriggerClient(cls.emulator.secret_key, base_url=cls.emulator.base_url)

    def test_iterating_walks_every_page_with_the_largest_page_size(self):
        page = self.trigger.runs.list(task_identifier=TASK)
        self.assertIsInstance(page, CursorPage)
        self.assertEqual(len(page.data), 100)
        ids = [run.id for run in page]
        self.assertEqual(len(ids), 250)
        self.assertEqual(len(set(ids)), 250)
        requests = self.journal.count(path="/api/v1/runs")
        self.assertEqual(requests, math.ceil(250 / 100))

    def test_a_page_has_no_len_that_disagrees_with_iterating_it(self):
        # Iterating walks all 250 runs; a len() of 100 (this page) would contradict it.
        page = self.trigger.runs.list(task_identifier=TASK)
        with self.assertRaises(TypeError):
            len(page)
        self.assertTrue(page)
        self.assertEqual(len(list(page)), 250)
        sizes = {e.query["page[size]"][0] for e in self.journal.entries}
        self.assertEqual(sizes, {"100"})

    def test_newest_first(self):
        runs = list(self.trigger.runs.list(task_identifier=TASK, limit=50))
        created = [run.created_at for run in runs]
        self.assertEqual(created, sorted(created, reverse=True))

    def test_limit_sets_the_page_size(self):
        page = self.trigger.runs.list(task_identifier=TASK, limit=30)
        self.assertEqual(len(page.data), 30)
        self.assertEqual(self.journal.last().query["page[size]"], ["30"])
        self.assertIsInstance(page.data[0], RunListItem)

    def test_forward_and_back(self):
        first = self.trigger.runs.list(task_identifier=TASK, limit=100)
        self.assertTrue(first.has_next_page())
        self.assertFalse(first.has_previous_page())
        second = first.get_next_page()
        self.assertEqual(self.journal.last().query["page[after]"], [first.next_cursor])
        third = second.get_next_page()
        self.assertEqual(len(third.data), 50)
        self.assertFalse(third.has_next_page())
        self.assertTrue(third.has_previous_page())
        back = third.get_previous_page()
        self.assertEqual([r.id for r in back.data], [r.id for r in second.data])
        self.assertEqual(self.journal.last().query["page[before]"], [third.previous_cursor])
        self.assertNotIn("page[after]", self.journal.last().query)
        front = back.get_previous_page()
        self.assertEqual([r.id for r in front.data], [r.id for r in first.data])
        self.assertFalse(front.has_previous_page())

    def test_filters_are_kept_across_pages(self):
        page = self.trigger.runs.list(task_identifier=TASK, limit=100, is_test=False)
        page.get_next_page()
        query = self.journal.last().query
        self.assertEqual(query["filter[taskIdentifier]"], [TASK])
        self.assertEqual(query["filter[isTest]"], ["false"])

    def test_iterating_backwards_from_a_before_cursor(self):
        first = self.trigger.runs.list(task_identifier=TASK, limit=100)
        last = first.get_next_page().get_next_page()
        newer = self.trigger.runs.list(task_identifier=TASK, limit=100, before=last.previous_cursor)
        walked = [run.id for run in newer]
        everything = [run.id for run in self.trigger.runs.list(task_identifier=TASK)]
        # Walking back from the last page yields the 200 newer runs, nearest first.
        self.assertEqual(walked, list(reversed(everything[:200])))

    def test_iter_pages_is_lazy(self):
        pages = self.trigger.runs.list(task_identifier=TASK).iter_pages()
        self.journal.clear()
        next(pages)  # the first page is already there
        self.assertEqual(self.journal.count(), 0)
        next(pages)
        self.assertEqual(self.journal.count(), 1)

    def test_raw_first_page(self):
        raw = self.trigger.runs.with_raw_response.list(task_identifier=TASK, limit=10)
        self.assertEqual(raw.status_code, 200)
        self.assertIn("x-ratelimit-limit", raw.headers)
        page = raw.parse()
        self.assertEqual(len(page.data), 10)
        self.assertEqual(len(page.get_next_page().data), 10)


class OffsetPaginationTests(ClientTestCase):
    def test_schedules_pages_with_totals(self):
        for i in range(5):
            self.trigger.schedules.create(
                task=self.emulator_scheduled_task(),
                cron=f"{i} * * * *",
                deduplication_key=f"page-{i}",
            )
        first = self.trigger.schedules.list(per_page=2)
        self.assertIsInstance(first, OffsetPage)
        self.assertEqual(first.current_page, 1)
        self.assertGreaterEqual(first.count, 5)
        self.assertEqual(first.total_pages, math.ceil(first.count / 2))
        second = first.get_next_page()
        self.assertEqual(second.current_page, 2)
        self.assertEqual(self.journal.last().query["page"], ["2"])
        self.assertEqual(second.get_previous_page().current_page, 1)
        everything = list(self.trigger.schedules.list(per_page=2))
        self.assertEqual(len(everything), first.count)

    def emulator_scheduled_task(self) -> str:
        return self.emulator.scheduled_tasks[0]
