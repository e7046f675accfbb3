"""Every error the client can raise is importable from ``django_trigger`` itself, as the API
reference (docs/reference/exceptions.md) promises, and the lazy exports are the real classes."""

from __future__ import annotations

import inspect

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
