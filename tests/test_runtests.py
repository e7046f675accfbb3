"""runtests.py's scheduling: the slow classes first, each within Django's order of kinds."""

from __future__ import annotations

import importlib

from django.test import SimpleTestCase, TestCase, TransactionTestCase
from django.test.runner import DiscoverRunner

import runtests


class ScheduleTests(SimpleTestCase):
    def classes(self, *labels: str) -> list[type]:
        runner = runtests.make_runner(DiscoverRunner, None)(verbosity=0, parallel=4)
        suite = runner.build_suite(list(labels))
        return [runtests._class_of(subsuite) for subsuite in suite.subsuites]

    def test_slow_classes_start_first_within_their_kind(self):
        classes = self.classes(
            "tests.views.test_on_commit", "tests.test_startup", "tests.admin.test_runs"
        )
        labels = [runtests._label(cls) for cls in classes]
        kinds = [0 if issubclass(cls, TestCase) else 1 for cls in classes]
        self.assertEqual(kinds, sorted(kinds), labels)  # every TestCase class first
        self.assertEqual(labels[0], "tests.admin.test_runs.RunChangelistTests")
        first_other = kinds.index(1)
        self.assertEqual(labels[first_other], "tests.test_startup.StartupTests")
        transaction = [  # TestCase is a TransactionTestCase too
            i
            for i, cls in enumerate(classes)
            if issubclass(cls, TransactionTestCase) and not issubclass(cls, TestCase)
        ]
        self.assertTrue(transaction)
        self.assertGreater(min(transaction), max(i for i, k in enumerate(kinds) if k == 0))

    def test_every_slow_class_exists(self):
        for label in runtests.SLOW_FIRST:
            module, name = label.rsplit(".", 1)
            with self.subTest(label):
                self.assertTrue(
                    issubclass(getattr(importlib.import_module(module), name), SimpleTestCase)
                )
