"""pytest fixtures for the emulator (registered through the ``pytest11`` entry point).

    def test_lists_runs(trigger_emulator):
        response = requests.get(trigger_emulator.url("/api/v1/runs"),
                                headers={"Authorization": f"Bearer {trigger_emulator.secret_key}"})

    def test_view(client, trigger_settings):           # pytest-django: TRIGGER points at it
        client.get("/runs/")

``trigger_emulator``: one server for the whole session, reset (state, journal, faults) before
each test. ``trigger_settings``: the client settings dict; with pytest-django's ``settings``
fixture available, ``settings.TRIGGER`` is set to ``{"default": <that dict>}`` for the test.
Override the session-scoped ``trigger_emulator_options`` fixture in a ``conftest.py`` to pass
``Emulator`` options (``{"seed": 3, "runs": 1000}``).

This module imports nothing heavy: werkzeug and Django are imported when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from .emulator import Emulator


@pytest.fixture(scope="session")
def trigger_emulator_options() -> dict[str, Any]:
    """Keyword arguments for the session's ``Emulator`` (override in conftest.py)."""
    return {}


@pytest.fixture(scope="session")
def trigger_emulator_server(trigger_emulator_options: dict[str, Any]) -> Iterator[Emulator]:
    from .emulator import Emulator

    emulator = Emulator(**trigger_emulator_options).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def trigger_emulator(trigger_emulator_server: Emulator) -> Emulator:
    """The session's emulator, reset to its seeded state for this test."""
    trigger_emulator_server.reset()
    return trigger_emulator_server


@pytest.fixture
def trigger_settings(
    request: pytest.FixtureRequest, trigger_emulator: Emulator
) -> Iterator[dict[str, Any]]:
    """``TRIGGER["default"]`` settings for the emulator, applied to Django for this test."""
    alias_settings = trigger_emulator.client_settings()
    try:
        settings = request.getfixturevalue("settings")  # pytest-django
    except pytest.FixtureLookupError:
        settings = None
    if settings is not None:
        settings.TRIGGER = {"default": alias_settings}
        yield alias_settings
        return
    from django.conf import settings as django_settings

    if not django_settings.configured:
        yield alias_settings
        return
    from django.test import override_settings

    with override_settings(TRIGGER={"default": alias_settings}):
        yield alias_settings
