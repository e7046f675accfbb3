"""The example's views under the test settings: its app and URLconf added, two clients
("default" = the dev key, "prod" = the prod key) pointed at one emulator per class."""

from __future__ import annotations

import copy
import re
import socket
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.test import TestCase, override_settings

from django_trigger.clients import clients
from django_trigger.testing import EmulatorTestMixin

RUNS_LIST = "/api/v1/runs"
RUN_LINK = re.compile(r'href="/runs/(run_[0-9a-z]+)/')


def _templates() -> list[dict[str, Any]]:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"].append("dashboard.context_processors.demo_mode")
    return templates


@override_settings(
    INSTALLED_APPS=["dashboard", *settings.INSTALLED_APPS],
    TEMPLATES=_templates(),
    ROOT_URLCONF="example_site.urls",
    LOGIN_URL="admin:login",
    DEMO_EMULATOR_URL="",
)
class ExampleTestCase(EmulatorTestMixin, TestCase):
    emulator_options = {"seed": 21, "runs": 300}

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        overridden = override_settings(TRIGGER=cls.trigger_setting())
        overridden.enable()
        cls.addClassCleanup(overridden.disable)

    @classmethod
    def trigger_setting(cls, **default: Any) -> dict[str, Any]:
        emulator = cls.emulator
        return {
            "default": emulator.client_settings(**default),
            "prod": emulator.client_settings(
                ACCESS_TOKEN=emulator.secret_keys["prod"], ENVIRONMENT="prod"
            ),
        }

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(clients.close_all)
        self.user = User.objects.create_user("alice", "alice@example.com", "pw", is_staff=True)
        self.client.force_login(self.user)

    # -- helpers ----------------------------------------------------------------------------

    @property
    def journal(self):
        return self.emulator.journal

    def api_calls(self) -> list[tuple[str, str]]:
        return [(entry.method, entry.path) for entry in self.journal.entries]

    def api_runs(self, alias: str = "default", **filters: Any) -> list[Any]:
        """What the API lists (read with the library, then forgotten by the journal)."""
        from django_trigger import get_client

        runs = get_client(alias).runs.list(**filters).data
        self.journal.clear()
        return runs

    @staticmethod
    def run_ids(html: str) -> list[str]:
        return list(dict.fromkeys(RUN_LINK.findall(html)))

    @staticmethod
    def closed_port_url() -> str:
        """A loopback URL where nothing listens."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"
