"""The API reference (docs/reference/) covers every resource and every types module: a new
one that is not added there would be missing from the documentation site silently."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from django.test import SimpleTestCase

import django_trigger.resources
import django_trigger.types
from django_trigger.resources._base import Resource

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def public_modules(package) -> list[str]:
    return [
        f"{package.__name__}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]


class ReferenceCoverageTests(SimpleTestCase):
    def test_every_resource_class_is_documented(self):
        page = (REFERENCE / "resources.md").read_text()
        found = 0
        for name in public_modules(django_trigger.resources):
            module = importlib.import_module(name)
            for cls_name, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, Resource) and cls is not Resource and cls.__module__ == name:
                    found += 1
                    with self.subTest(cls_name):
                        self.assertIn(f".. autoclass:: {name}.{cls_name}\n", page)
        self.assertGreater(found, 10)

    def test_every_types_module_is_documented(self):
        page = (REFERENCE / "types.md").read_text()
        for name in public_modules(django_trigger.types):
            with self.subTest(name):
                self.assertIn(f".. automodule:: {name}\n", page)
