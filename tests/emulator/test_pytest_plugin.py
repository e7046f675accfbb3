"""The pytest fixtures, run by pytest in a subprocess on a generated test file."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from importlib import metadata
from pathlib import Path

from django.test import SimpleTestCase

REPO = Path(__file__).resolve().parents[2]

CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def trigger_emulator_options():
    return {"seed": 5, "runs": 7}
"""

TESTS = """
import requests

PORTS = []


def auth(emu):
    return {"Authorization": f"Bearer {emu.secret_key}"}


def test_fixture_serves_the_api(trigger_emulator):
    PORTS.append(trigger_emulator.port)
    assert trigger_emulator.seed == 5
    r = requests.get(trigger_emulator.url("/api/v1/runs"), headers=auth(trigger_emulator))
    assert r.status_code == 200
    r = requests.post(trigger_emulator.url("/api/v1/tasks/t/trigger"), json={"payload": 1},
                      headers=auth(trigger_emulator))
    assert r.status_code == 200
    trigger_emulator.faults.fail_next(3)


def test_state_is_reset_between_tests(trigger_emulator):
    PORTS.append(trigger_emulator.port)
    assert trigger_emulator.journal.count() == 0
    assert trigger_emulator.faults.pending == 0
    r = requests.get(trigger_emulator.url("/api/v1/runs"), headers=auth(trigger_emulator))
    assert r.status_code == 200


def test_one_server_per_session(trigger_emulator):
    PORTS.append(trigger_emulator.port)
    assert len(set(PORTS)) == 1


def test_settings_fixture(trigger_settings, settings, trigger_emulator):
    assert settings.TRIGGER == {"default": trigger_settings}
    assert trigger_settings["API_URL"] == trigger_emulator.base_url
    assert trigger_settings["ACCESS_TOKEN"] == trigger_emulator.secret_key
"""


PLUGIN = "django_trigger.testing.pytest_plugin"


def plugin_is_installed() -> bool:
    """An (editable) install registers the plugin as the ``django_trigger`` entry point."""
    return any(
        ep.name == "django_trigger" and ep.value == PLUGIN
        for ep in metadata.entry_points(group="pytest11")
    )


class PytestPluginTests(SimpleTestCase):
    def test_fixtures_in_a_real_pytest_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "conftest.py").write_text(CONFTEST)
            Path(tmp, "test_generated.py").write_text(textwrap.dedent(TESTS))
            # Only the two plugins the run needs: autoloading every installed pytest11 plugin
            # (hypothesis, schemathesis, ...) tripled its CPU time, and it hit the timeout on a
            # loaded machine. "-p django_trigger" still loads ours by its entry point name.
            ours = "django_trigger" if plugin_is_installed() else PLUGIN
            args = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                ours,
                "-p",
                "pytest_django.plugin",
                "--ds=tests.settings",
                "--rootdir",
                tmp,
                tmp,
            ]
            env = {**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            proc = subprocess.run(
                args, cwd=tmp, env=env, capture_output=True, text=True, timeout=120
            )
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("4 passed", proc.stdout)

    def test_importing_the_plugin_is_cheap(self):
        code = (
            "import sys, django_trigger.testing.pytest_plugin; "
            "heavy = [m for m in ('werkzeug', 'django.conf', 'requests') if m in sys.modules]; "
            "print(heavy)"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        self.assertEqual(proc.stdout.strip(), "[]", proc.stderr)
