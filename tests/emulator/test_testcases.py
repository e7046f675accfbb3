"""``EmulatorTestMixin`` with SimpleTestCase and TestCase."""

from __future__ import annotations

import unittest

import requests
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import SimpleTestCase, TestCase, TransactionTestCase

from django_trigger.testing import EmulatorTestMixin


def run_case(case: type) -> unittest.TestResult:
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    return result


class MixinOnSimpleTestCaseTests(EmulatorTestMixin, SimpleTestCase):
    emulator_options = {"seed": 11, "runs": 20}

    def test_settings_point_at_the_emulator(self):
        self.assertEqual(settings.TRIGGER, {"default": self.emulator.client_settings()})
        self.assertEqual(self.emulator.seed, 11)
        response = requests.get(
            self.emulator.url("/api/v1/runs"),
            timeout=5,
            headers={"Authorization": f"Bearer {self.emulator.secret_key}"},
        )
        self.assertEqual(response.status_code, 200)


class MixinOnTestCaseTests(EmulatorTestMixin, TestCase):
    emulator_options = {"runs": 5}

    def test_database_and_emulator_together(self):
        Group.objects.create(name="operators")
        self.assertEqual(Group.objects.count(), 1)
        self.assertTrue(self.emulator.running)
        self.assertEqual(settings.TRIGGER["default"]["API_URL"], self.emulator.base_url)


class MixinOnTransactionTestCaseTests(EmulatorTestMixin, TransactionTestCase):
    emulator_options = {"runs": 3}

    def test_emulator_is_up(self):
        self.assertTrue(self.emulator.running)
        self.assertEqual(settings.TRIGGER["default"]["ACCESS_TOKEN"], self.emulator.secret_key)


class MixinLifecycleTests(SimpleTestCase):
    def make_case(self, reset_state: bool, seen: dict):
        class Inner(EmulatorTestMixin, SimpleTestCase):
            emulator_options = {"seed": 2, "runs": 5}
            emulator_reset_state = reset_state

            def test_1_change_everything(self):
                emulator = self.emulator
                seen["seeded"] = len(emulator.state.runs)
                requests.post(
                    emulator.url("/api/v1/tasks/t/trigger"),
                    json={"payload": 1},
                    headers={"Authorization": f"Bearer {emulator.secret_key}"},
                    timeout=5,
                )
                seen["after_trigger"] = len(emulator.state.runs)
                emulator.faults.fail_next(5, path="/elsewhere")
                seen["emulator"] = emulator

            def test_2_observe(self):
                seen["runs"] = len(self.emulator.state.runs)
                seen["journal"] = self.emulator.journal.count()
                seen["faults"] = self.emulator.faults.pending

        return Inner

    def test_state_journal_and_faults_reset_between_tests(self):
        before = settings.TRIGGER
        seen: dict = {}
        result = run_case(self.make_case(True, seen))
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(seen["after_trigger"], seen["seeded"] + 1)
        self.assertEqual((seen["runs"], seen["journal"], seen["faults"]), (seen["seeded"], 0, 0))
        # After the class: settings restored, server stopped.
        self.assertEqual(settings.TRIGGER, before)
        self.assertFalse(seen["emulator"].running)

    def test_state_kept_when_asked(self):
        seen: dict = {}
        result = run_case(self.make_case(False, seen))
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(
            (seen["runs"], seen["journal"], seen["faults"]), (seen["after_trigger"], 0, 0)
        )
