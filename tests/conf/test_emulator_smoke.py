"""get_client() against the emulator over real HTTP: settings reach the wire."""

from __future__ import annotations

from django.test import override_settings

from django_trigger import get_client
from django_trigger.clients import clients
from django_trigger.credentials import redact
from django_trigger.testing import Emulator

from .utils import ConfTestCase, environment, without_trigger_setting


class GetClientOverHttpTests(ConfTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emulator = Emulator(seed=3, runs=5).start()
        cls.addClassCleanup(cls.emulator.stop)

    def setUp(self):
        super().setUp()
        self.emulator.journal.clear()
        self.addCleanup(clients.close_all)

    def test_aliases_use_their_own_credentials(self):
        emu = self.emulator
        trigger = {
            "default": emu.client_settings(),
            "prod": emu.client_settings(
                ACCESS_TOKEN=emu.secret_keys["prod"], ENVIRONMENT="prod", HEADERS={"X-Team": "ops"}
            ),
        }
        with override_settings(TRIGGER=trigger):
            dev_page = get_client().runs.list(limit=1)
            prod_page = get_client("prod").runs.list(limit=1)
        self.assertEqual(len(dev_page.data), 1)
        self.assertEqual(len(prod_page.data), 1)
        dev, prod = emu.journal.filter(path="/api/v1/runs")
        self.assertEqual(dev.credential, redact(emu.secret_key))
        self.assertEqual(prod.credential, redact(emu.secret_keys["prod"]))
        self.assertEqual(prod.header("x-team"), "ops")
        self.assertIsNone(dev.header("x-team"))
        self.assertEqual(emu.server_errors, [])

    def test_default_alias_from_the_environment_only(self):
        emu = self.emulator
        with (
            environment(TRIGGER_SECRET_KEY=emu.secret_key, TRIGGER_API_URL=emu.base_url + "/"),
            without_trigger_setting(),
        ):
            get_client().runs.list(limit=2)
        entry = emu.journal.last(path="/api/v1/runs")
        self.assertEqual(entry.credential, redact(emu.secret_key))
        self.assertEqual(entry.status, 200)
