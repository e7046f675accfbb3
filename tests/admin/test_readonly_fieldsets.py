"""The run detail's fields are Django's HTML exactly: ``readonly_fieldsets_html`` renders
Django's fieldset template once per language and layout and fills in each page's contents;
here each page's fieldsets are compared with Django's own ``admin/change_form.html`` rendered
from the same context, over runs of every shape, in three languages and both layouts."""

from __future__ import annotations

import json

from django.template.loader import render_to_string
from django.utils import translation

from django_trigger.admin.base import RemoteModelAdmin
from django_trigger.admin.runs import RunAdmin

from .base import AdminTestCase


def fieldsets(html: str) -> str:
    start, end = html.index("<fieldset"), html.rindex("</fieldset>")
    return html[start:end]


class ReadonlyFieldsetsTests(AdminTestCase):
    def assertSameAsDjango(self, run_id: str) -> None:
        response = self.client.get(self.url("run_change", run_id))
        self.assertEqual(response.status_code, 200)
        context = {}
        names = [template.name for template in response.templates]
        page = response.context[names.index("admin/django_trigger/run/change_form.html")]
        for layer in page.dicts:  # the page template's own context
            if isinstance(layer, dict):  # (not every layer is a dict on Django 4.2)
                context.update(layer)
        django_page = render_to_string("admin/change_form.html", context, response.wsgi_request)
        ours = fieldsets(response.content.decode())
        self.assertEqual(ours, fieldsets(django_page))
        self.assertGreaterEqual(ours.count('<div class="readonly">'), 27)

    def dev_runs(self) -> list:
        dev = self.emulator.state.environments_by_public_slug(self.emulator.project_ref)["dev"]
        return [r for r in self.emulator.state.runs if r.environment_id == dev.id]

    def test_same_html_as_django(self):
        with self.emulator.state.lock:
            runs = self.dev_runs()
            parents = {r.parent_id for r in runs if r.parent_id}
            chosen = {
                "error": next(r for r in runs if r.error),
                "schedule": next(r for r in runs if r.schedule),
                "child": next(r for r in runs if r.parent_id),
                "parent": next(r for r in runs if r.friendly_id in parents),
                "markup": next(r for r in runs if r.payload and "<script>" in r.payload),
                "unicode": next(r for r in runs if r.payload and "Renée 🚀" in r.payload),
                "delayed": next(r for r in runs if r.delay_until),
                "tags": next(r for r in runs if len(r.tags) > 1),
                "metadata": next(r for r in runs if r.metadata),
            }
            empty = chosen["empty"] = next(r for r in runs if r not in chosen.values())
            empty.payload = empty.output = empty.metadata = None
            # A payload holding the placeholders' own form cannot fill in another field.
            marked = chosen["placeholders"] = next(r for r in runs if r not in chosen.values())
            marked.payload = json.dumps({"a": "\x000\x00 \x001\x00 <b>&amp;</b>"})
            marked.tags = ["\x002\x00", "<i>'\"</i>"]
            marked.idempotency_key = "<b>key</b> & \x003\x00\nline"  # a model field's value
        for language in ("en", "fr", "de"):
            for name, run in chosen.items():
                with self.subTest(language=language, run=name), translation.override(language):
                    self.assertSameAsDjango(run.friendly_id)
        with self.settings(
            TRIGGER={"default": self.emulator.client_settings(DASHBOARD_URL="https://t.example")}
        ):
            self.assertSameAsDjango(chosen["error"].friendly_id)
        # Two layouts (with and without the dashboard row) per language: nothing per run.
        keys = [
            key
            for key in RemoteModelAdmin._readonly_skeletons
            if key[0] is RunAdmin and key[1] in ("en", "fr", "de")
        ]
        self.assertLessEqual(len(keys), 6)
