"""The admin's checkbox column is Django's HTML exactly (rendered once per language, filled in
per row), escaping included."""

from __future__ import annotations

from django.contrib import admin
from django.test import SimpleTestCase
from django.utils import translation

from django_trigger.admin.runs import RunAdmin
from django_trigger.models import Run


class Thing:
    def __init__(self, pk: str, label: str) -> None:
        self.pk = pk
        self.label = label

    def __str__(self) -> str:
        return self.label


class CheckboxTests(SimpleTestCase):
    def test_same_html_as_django(self):
        ours = RunAdmin(Run, admin.site)
        things = [
            Thing("run_abc123", "run_abc123"),
            Thing("a<b>&\"c'", "<script>x</script> & 'q'"),
            Thing("éü 🚀", "name with spaces"),
        ]
        for language in ("en", "fr", "de"):
            with translation.override(language):
                for thing in things:
                    with self.subTest(language=language, pk=thing.pk):
                        self.assertEqual(
                            str(ours.action_checkbox(thing)),
                            str(admin.ModelAdmin.action_checkbox(ours, thing)),
                        )
        self.assertEqual(vars(RunAdmin.action_checkbox), vars(admin.ModelAdmin.action_checkbox))
