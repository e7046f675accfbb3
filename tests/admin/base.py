"""Shared set-up of the admin tests: one emulator per class (reset before each test), the
admin's URLs, users with chosen permissions, and request counting through the journal."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.test import TestCase
from django.urls import reverse

from django_trigger.clients import clients
from django_trigger.testing import EmulatorTestMixin

RUNS_LIST = "/api/v1/runs"
RUN_RETRIEVE = "/api/v3/runs/"


class AdminTestCase(EmulatorTestMixin, TestCase):
    emulator_options = {"seed": 11, "runs": 150}

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(clients.close_all)
        self.admin_user = User.objects.create_superuser("root", "root@example.com", "pw")
        self.client.force_login(self.admin_user)

    # -- users ------------------------------------------------------------------------------

    def make_staff(self, username: str, *codenames: str) -> User:
        user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
        for codename in codenames:
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label="django_trigger", codename=codename)
            )
        return User.objects.get(pk=user.pk)  # fresh permission cache

    def login(self, user: User) -> None:
        self.client.force_login(user)

    # -- urls -------------------------------------------------------------------------------

    @staticmethod
    def url(name: str, *args: Any) -> str:
        return reverse(f"admin:django_trigger_{name}", args=[quote(a) for a in args])

    # -- emulator ---------------------------------------------------------------------------

    @property
    def journal(self):
        return self.emulator.journal

    def api_requests(self) -> list[tuple[str, str]]:
        return [(entry.method, entry.path) for entry in self.journal.entries]

    def runs(self, **filters: Any) -> list[Any]:
        """The runs the API lists for the default alias, newest first (read through the
        emulator's own store, not the admin)."""
        from django_trigger import get_client

        page = get_client().runs.list(limit=100, **filters)
        self.journal.clear()
        return page.data
