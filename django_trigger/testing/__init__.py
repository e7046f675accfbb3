"""A faithful local emulator of the Trigger.dev management API, for tests and demos.

Like stripe-mock or moto: an in-memory model of the API (projects, environments, keys, runs,
batches, bulk actions, …) served over real HTTP on 127.0.0.1, close enough to the real server
that the official TypeScript SDK cannot tell the difference for the endpoints it implements.

In Python::

    from django_trigger.testing import Emulator

    with Emulator(seed=1) as emu:
        emu.base_url, emu.secret_key, emu.access_token, emu.project_ref
        emu.state        # the in-memory world (emu.state.runs, …; lock: emu.state.lock)
        emu.journal      # every request received (token masked), with count()/last()
        emu.faults       # fail_next / drop_next / stall_next / rate_limit_next / latency
        emu.reset()      # back to the seeded state

In Django tests: :class:`EmulatorTestMixin` (``django_trigger.testing.testcases``). With
pytest: the ``trigger_emulator`` and ``trigger_settings`` fixtures (the ``pytest11`` plugin
``django_trigger.testing.pytest_plugin``). On the command line::

    python -m django_trigger.testing --port 8787 --seed 1

Requires the ``testing`` extra (``pip install "path/to/checkout[testing]"``). This package
imports no other ``django_trigger`` module: it is an independent oracle of the real API.
Internals: ``app`` (pipeline, router, how to add a handler module), ``world`` (state),
``auth``, ``errors``, ``faults``, ``journal``, ``handlers/`` and ``resources/``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Emulator", "EmulatorTestMixin"]

_EXPORTS = {
    "Emulator": "django_trigger.testing.emulator",
    "EmulatorTestMixin": "django_trigger.testing.testcases",
}

if TYPE_CHECKING:  # pragma: no cover
    from .emulator import Emulator
    from .testcases import EmulatorTestMixin


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'django_trigger.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
