"""The suite turns deprecations raised from our code into errors (runtests.py and the pytest
configuration install the same filters), so a Python or Django release that deprecates what
we call fails here first."""

from __future__ import annotations

import warnings

from django.test import SimpleTestCase
from django.utils import deprecation


class DeprecationsAreErrorsTests(SimpleTestCase):
    def test_a_python_deprecation_raised_from_our_code_fails(self) -> None:
        with self.assertRaises(DeprecationWarning):
            warnings.warn("deprecated", DeprecationWarning, stacklevel=1)

    def test_a_pending_deprecation_raised_from_our_code_fails(self) -> None:
        with self.assertRaises(PendingDeprecationWarning):
            warnings.warn("soon deprecated", PendingDeprecationWarning, stacklevel=1)

    def test_djangos_removal_warnings_fail(self) -> None:
        removals = [
            getattr(deprecation, name)
            for name in dir(deprecation)
            if name.startswith("RemovedInDjango")
        ]
        self.assertTrue(removals)
        for category in removals:
            with self.subTest(category=category.__name__), self.assertRaises(category):
                warnings.warn("removed soon", category, stacklevel=1)
