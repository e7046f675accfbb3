"""envsync is pure logic (docs/ARCHITECTURE.md rule 6): it reads files and calls the client it
is given, but never prints, never reads settings, never touches the HTTP layer; the command is
the only place that does I/O with the user."""

from __future__ import annotations

import ast
from pathlib import Path

from django.test import SimpleTestCase

import django_trigger.envsync

FORBIDDEN_IMPORTS = (
    "requests",
    "urllib3",
    "django.conf",
    "django_trigger._http",
    "django_trigger.conf",
    "django_trigger.clients",
    "django.core.management",
)


def modules() -> list[Path]:
    return sorted(Path(django_trigger.envsync.__file__).parent.glob("*.py"))


class EnvsyncLayeringTests(SimpleTestCase):
    def test_no_print_no_input_no_settings_no_http(self):
        self.assertGreaterEqual(len(modules()), 5)
        for path in modules():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    self.assertNotIn(node.func.id, ("print", "input"), f"{path.name}:{node.lineno}")
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    self.assertFalse(name.startswith(FORBIDDEN_IMPORTS), f"{path.name}: {name}")
                    self.assertNotIn(name, ("os", "sys"), f"{path.name}: {name}")
