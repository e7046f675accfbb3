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
        response = requests.get(self.emulator.url("/api/v1/runs"), timeout=5,
                                headers={"Authorization": f"Bearer {self.emulator.secret_key}"})
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
    def make_case(self, reset_state: bool, seen: list):
        class Inner(EmulatorTestMixin, SimpleTestCase):
            emulator_options = {"seed": 2, "runs": 5}
            emulator_reset_state = reset_state

            def test_1_trigger(self):
                self.emulator.faults.fail_next(5)
                requests.post(self.emulator.url("/api/v1/tasks/t/trigger"), json={"payload": 1},
                              headers={"Authorization": f"Bearer {self.emulator.secret_key}"},
                              timeout=5)
                seen.append(("runs", len(self.emulator.state.runs)))

            def test_2_observe(self):
                seen.append(("runs", len(self.emulator.state.runs)))
                seen.append(("journal", self.emulator.journal.count()))
                seen.append(("faults", self.emulator.faults.pending))
                seen.append(("emulator", self.emulator))

        return Inner

    def test_reset_between_tests_and_cleanup_after_the_class(self):
        before = settings.TRIGGER
        seen: list = []
        result = run_case(self.make_case(True, seen))
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        observed = dict(seen[1:4])
        self.assertEqual(observed["journal"], 0)
        self.assertEqual(observed["faults"], 0)
        self.assertEqual(settings.TRIGGER, before)
        self.assertFalse(seen[4][1].running)

    def test_state_kept_when_asked(self):
        seen: list = []
        self.assertTrue(run_case(self.make_case(True, seen)).wasSuccessful())
        with_reset = seen[0][1], seen[1][1]
        seen.clear()
        # The first test's trigger was faulted (fail_next), so counts match either way; trigger
        # for real to see the difference.
        kept: list = []
        case = self.make_case(False, kept)
        case.test_1_trigger = lambda self: (
            requests.post(self.emulator.url("/api/v1/tasks/t/trigger"), json={"payload": 1},
                          headers={"Authorization": f"Bearer {self.emulator.secret_key}"},
                          timeout=5),
            kept.append(("runs", len(self.emulator.state.runs))))
        self.assertTrue(run_case(case).wasSuccessful())
        self.assertEqual(kept[0][1], kept[1][1])  # the triggered run is still there
        self.assertEqual(with_reset[0], with_reset[1])
