"""``EmulatorTestMixin``: a Django test case gets its own running emulator.

    from django.test import TestCase
    from django_trigger.testing import EmulatorTestMixin

    class RunsViewTests(EmulatorTestMixin, TestCase):
        emulator_options = {"seed": 7, "runs": 50}   # passed to Emulator(...)
        emulator_reset_state = True                   # reset the world before each test

        def test_lists_failed_runs(self):
            response = self.client.get("/runs/?status=FAILED")
            self.assertEqual(self.emulator.journal.count(path="/api/v1/runs"), 1)

One emulator per class (started in ``setUpClass``, stopped by a class cleanup). While the class
runs, ``settings.TRIGGER`` is ``{"default": emulator.client_settings()}``. Before each test the
journal and faults are cleared (and the state reset, a cheap snapshot restore, unless
``emulator_reset_state`` is ``False``); if you override ``setUp``, call ``super().setUp()``.
Works with ``SimpleTestCase``, ``TestCase`` and ``TransactionTestCase``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .emulator import Emulator

__all__ = ["EmulatorTestMixin"]


class EmulatorTestMixin:
    emulator_options: ClassVar[dict[str, Any]] = {}
    emulator_reset_state: ClassVar[bool] = True
    emulator: ClassVar[Emulator]

    @classmethod
    def setUpClass(cls) -> None:
        from django.test import override_settings

        emulator = Emulator(**cls.emulator_options).start()
        cls.emulator = emulator
        # Stopped, then dropped: a finished class does not keep its emulator's world in memory.
        cls.addClassCleanup(delattr, cls, "emulator")  # type: ignore[attr-defined]  # a TestCase
        cls.addClassCleanup(emulator.stop)  # type: ignore[attr-defined]
        overridden = override_settings(TRIGGER={"default": emulator.client_settings()})
        overridden.enable()
        cls.addClassCleanup(overridden.disable)  # type: ignore[attr-defined]
        super().setUpClass()  # type: ignore[misc]

    def setUp(self) -> None:
        emulator = type(self).emulator
        if self.emulator_reset_state:
            emulator.reset()
        else:
            emulator.journal.clear()
            emulator.faults.clear()
        super().setUp()  # type: ignore[misc]
