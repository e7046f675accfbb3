"""The operator commands' messages go through gettext (the static checks of
``test_translation``, applied to their modules)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from django.core.management import load_command_class
from django.test import SimpleTestCase

from django_trigger.management import _common
from django_trigger.management.commands import (
    trigger_doctor,
    trigger_pull_envvars,
    trigger_runs,
)

from .test_translation import untranslated, unwrapped_help

MODULES = (_common, trigger_doctor, trigger_pull_envvars, trigger_runs)


class OperatorCommandSourceTests(SimpleTestCase):
    def test_no_prose_outside_gettext(self):
        for module in MODULES:
            with self.subTest(module=module.__name__):
                source = Path(module.__file__).read_text(encoding="utf-8")
                self.assertEqual(untranslated(source), [])

    def test_help_texts_are_translations(self):
        for module in MODULES:
            with self.subTest(module=module.__name__):
                source = Path(module.__file__).read_text(encoding="utf-8")
                self.assertEqual(unwrapped_help(source), [])


class HelpTests(SimpleTestCase):
    def test_every_help_page_renders(self):
        # (argparse cannot format a lazy translation as the description)
        for name, argv in (
            ("trigger_doctor", ["--help"]),
            ("trigger_runs", ["--help"]),
            ("trigger_runs", ["export", "--help"]),
            ("trigger_pull_envvars", ["--help"]),
        ):
            with self.subTest(name=name, argv=argv):
                parser = load_command_class("django_trigger", name).create_parser("manage.py", name)
                out = io.StringIO()
                with contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
                    parser.parse_args(argv)
                self.assertIn("usage:", out.getvalue())
