"""Shared set-up for the client's tests: one emulator per test class (fresh state per test)
and a ``TriggerClient`` pointed at it with tiny retry delays."""

from __future__ import annotations

from typing import Any

from django.test import SimpleTestCase

from django_trigger.client import TriggerClient
from django_trigger.testing import EmulatorTestMixin

FAST_RETRY = {"min_delay": 0.001, "max_delay": 0.005}


class ClientTestCase(EmulatorTestMixin, SimpleTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.trigger = self.make_client()

    def tearDown(self) -> None:
        self.trigger.close()
        super().tearDown()

    def make_client(self, token: str | None = None, **overrides: Any) -> TriggerClient:
        options: dict[str, Any] = {
            "base_url": self.emulator.base_url,
            "project_ref": self.emulator.project_ref,
            "retry": FAST_RETRY,
            "timeout": 5.0,
        }
        options.update(overrides)
        client = TriggerClient(token or self.emulator.secret_key, **options)
        self.addCleanup(client.close)
        return client

    def pat_client(self, **overrides: Any) -> TriggerClient:
        overrides.setdefault("environment", "dev")
        return self.make_client(self.emulator.access_token, **overrides)

    @property
    def journal(self):
        return self.emulator.journal
