"""ADMIN_CACHE_TIMEOUT: list pages come from Django's cache for a short time; an action in the
admin forgets them."""

from __future__ import annotations

from django.core.cache import cache
from django.test import override_settings

from .base import RUNS_LIST, AdminTestCase


class ListCacheTests(AdminTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)

    def test_off_by_default(self):
        self.client.get(self.url("run_changelist"))
        self.client.get(self.url("run_changelist"))
        self.assertEqual(self.journal.count(path=RUNS_LIST), 2)

    def test_cached_list_pages_and_invalidation_by_actions(self):
        settings = self.emulator.client_settings(ADMIN_CACHE_TIMEOUT=60)
        with override_settings(TRIGGER={"default": settings}):
            first = self.client.get(self.url("run_changelist"), {"status": "QUEUED"})
            self.client.get(self.url("run_changelist"), {"status": "QUEUED"})
            self.assertEqual(self.journal.count(path=RUNS_LIST), 1)
            self.client.get(self.url("run_changelist"), {"status": "FAILED"})
            self.assertEqual(self.journal.count(path=RUNS_LIST), 2)  # other filters, other key

            run_id = first.context["cl"].result_list[0].id
            self.client.post(self.url("run_cancel", run_id), {"post": "yes"})
            response = self.client.get(self.url("run_changelist"), {"status": "QUEUED"})
            self.assertEqual(self.journal.count(path=RUNS_LIST), 3)
            self.assertNotIn(run_id, [row.id for row in response.context["cl"].result_list])

    def test_schedules_are_cached_too(self):
        settings = self.emulator.client_settings(ADMIN_CACHE_TIMEOUT=60)
        with override_settings(TRIGGER={"default": settings}):
            self.client.get(self.url("schedule_changelist"))
            self.client.get(self.url("schedule_changelist"))
        self.assertEqual(self.journal.count(path="/api/v1/schedules"), 1)
