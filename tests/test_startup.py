"""Start-up stays cheap: Django starting with django_trigger installed (models, admin, checks,
URLs) imports neither requests nor the record classes, and ``import django_trigger.client``
imports no resource module. Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parents[1]

HEAVY = (
    "requests",
    "urllib3",
    "django_trigger._http",
    "django_trigger.resources.runs",
    "django_trigger.types.runs",
    "django_trigger.client",
    "environ",  # read through sys.modules when the settings imported it (conf._environment)
    "orjson",  # imported on the first decode
)


def imported_after(code: str) -> list[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": ""},
    )
    return json.loads(result.stdout.splitlines()[-1])


def heavy(modules: list[str], names: tuple[str, ...] = HEAVY) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


class StartupTests(SimpleTestCase):
    def test_django_setup_and_checks_import_nothing_heavy(self):
        modules = imported_after(
            "import django; django.setup()\n"
            "from django.core.management import call_command; call_command('check')\n"
            "from django.urls import resolve; resolve('/admin/')"
        )
        self.assertIn("django_trigger.admin.runs", modules)  # the admin was loaded…
        self.assertEqual(heavy(modules), [])  # …without the client
        # …and without what only its pages use (querysets, changelists, forms): issue #14
        pages = ("django_trigger.admin.querysets", "django_trigger.admin.changelist")
        self.assertEqual(heavy(modules, (*pages, "django_trigger.admin.forms")), [])

    def test_get_client_imports_the_client_on_first_use(self):
        modules = imported_after(
            "import django; django.setup()\n"
            "from django.test.utils import override_settings\n"
            "from django_trigger import get_client\n"
            "with override_settings(TRIGGER={'default': {'ACCESS_TOKEN': 'tr_dev_"
            + "a" * 20
            + "'}}):\n    get_client().runs"
        )
        self.assertIn("requests", modules)
        self.assertIn("django_trigger.resources.runs", modules)

    def test_importing_the_client_imports_resources_on_first_use(self):
        modules = imported_after("import django_trigger.client")
        self.assertIn("requests", modules)
        self.assertEqual(
            heavy(
                modules,
                (
                    "django_trigger.resources",
                    "django_trigger.types.runs",
                    "django_trigger.pagination",
                    "orjson",
                ),
            ),
            [],
        )

    def test_importing_the_client_leaves_dataclasses_and_records_for_first_use(self):
        """``dataclasses`` (with ``inspect``, ``ast``, ``dis``) and the record base cost more
        than the client's own modules: they load with the first record class (issue #14)."""
        modules = imported_after("import django_trigger.client")
        self.assertIn("django_trigger.options", modules)
        # What requests itself imports is not ours to defer (on Python 3.12+ it imports
        # ``inspect``, through importlib.metadata).
        by_requests = set(imported_after("import requests"))
        for name in ("dataclasses", "inspect", "django_trigger.types._base"):
            if name not in by_requests:
                self.assertNotIn(name, modules)
        self.assertNotIn("django_trigger.types._base", by_requests)
