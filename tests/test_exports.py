"""Every error the client can raise is importable from ``django_trigger`` itself, as the API
reference (docs/reference/exceptions.md) promises, and the lazy exports are the real classes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from django.test import SimpleTestCase

import django_trigger
from django_trigger import exceptions


class ExportTests(SimpleTestCase):
    def test_every_public_exception_is_exported_at_the_top(self):
        classes = {
            name
            for name, value in vars(exceptions).items()
            if inspect.isclass(value)
            and issubclass(value, exceptions.TriggerError)
            and value.__module__ == exceptions.__name__
            and not name.startswith("_")
        }
        self.assertIn("StreamError", classes)  # the walk sees the newer errors too
        self.assertEqual(classes - set(django_trigger.__all__), set())
        for name in classes:
            with self.subTest(name=name):
                self.assertIs(getattr(django_trigger, name), getattr(exceptions, name))

    def test_unknown_names_are_attribute_errors(self):
        with self.assertRaisesMessage(AttributeError, "no attribute 'Nope'"):
            django_trigger.Nope

    def test_every_name_in_every_public_modules_all_resolves(self):
        """Lazy exports (module ``__getattr__``) and first-use imports keep the public import
        surface whole: every name a public module lists in ``__all__`` resolves."""
        checked = 0
        packages = ("django_trigger", "django_trigger.types", "django_trigger.resources")
        for package in map(importlib.import_module, packages):
            for info in [None, *pkgutil.iter_modules(package.__path__)]:
                if info is not None and (info.name.startswith("_") or info.ispkg):
                    continue
                name = package.__name__ + ("" if info is None else f".{info.name}")
                module = importlib.import_module(name)
                for attribute in getattr(module, "__all__", ()):
                    with self.subTest(f"{name}.{attribute}"):
                        self.assertTrue(hasattr(module, attribute))
                        checked += 1
        self.assertGreater(checked, 250)
