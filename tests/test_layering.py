"""The layering rules of docs/ARCHITECTURE.md.

import-linter checks the contracts in pyproject.toml ([tool.importlinter]: the layers, the core
never using the emulator, features never using HTTP directly, the emulator importing no other
django_trigger module) on the whole import graph, indirect imports included. What it cannot
express (it sees external packages as ``django``, not ``django.conf``) is checked here on the
same graph (grimp, import-linter's own): only ``conf`` reads Django settings, and in the
emulator only its Django/pytest helpers do.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_READERS = {
    "django_trigger.conf",
    "django_trigger.testing.testcases",
    "django_trigger.testing.pytest_plugin",
}


class LayeringTests(SimpleTestCase):
    def test_import_linter_contracts_are_kept(self):
        # In a process of its own: lint-imports reconfigures logging (dictConfig disables the
        # loggers the other tests assert on) and puts the working directory on sys.path.
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from importlinter.cli import lint_imports; "
                "sys.exit(lint_imports(no_cache=True))",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Contracts: 4 kept, 0 broken.", result.stdout)

    def test_only_conf_reads_django_settings(self):
        graph = grimp.build_graph(
            "django_trigger", include_external_packages=True, exclude_type_checking_imports=True
        )
        problems = [
            f"{module}:{detail['line_number']} {detail['line_contents']}"
            for module in sorted(graph.modules)
            if module.startswith("django_trigger") and module not in SETTINGS_READERS
            for detail in graph.get_import_details(importer=module, imported="django")
            if "django.conf" in detail["line_contents"]
        ]
        self.assertEqual(problems, [])
