"""The typed views of the resources (django_trigger/resources/_typed.py) cannot drift from
the resources: generated from them, and checked here member by member. What mypy infers
through them is checked by ``mypy`` over tests/typing/checks.py (the lint step)."""

from __future__ import annotations

import inspect

from django.test import SimpleTestCase

from django_trigger.async_client import AsyncTriggerClient
from django_trigger.client import TriggerClient, _Resource
from django_trigger.resources import _typed
from django_trigger.resources._base import View

from .generate import TARGET, public_methods, resources, source, views_of

# The View kind each transform records (see resources/_base.py).
KINDS = {
    "raw": "raw",
    "raw_of": "raw",
    "raw_or_none_of": "raw",
    "same": "same",
    "awaited": "awaited",
    "awaited_raw": "awaited_raw",
    "awaited_raw_of": "awaited_raw",
    "awaited_raw_or_none_of": "awaited_raw",
    "awaited_cursor_pages": "cursor_pages",
    "awaited_offset_pages": "offset_pages",
    "awaited_raw_cursor_pages": "raw_cursor_pages",
    "awaited_raw_offset_pages": "raw_offset_pages",
}
VIEW_INDEX = {"WithRawResponse": 0, "Async": 1, "AsyncWithRawResponse": 2}


class TypedViewTests(SimpleTestCase):
    def test_the_generated_module_is_current(self):
        self.assertEqual(
            TARGET.read_text(encoding="utf-8"),
            source(),
            "resources/_typed.py is out of date: python -m tests.typing.generate",
        )

    def test_every_method_has_its_counterpart_with_the_same_parameters(self):
        self.assertGreaterEqual(len(resources()), 20)
        for _attribute, cls in resources():
            name = cls.__name__
            views = {
                "WithRawResponse": getattr(_typed, f"{name}WithRawResponse"),
                "Async": getattr(_typed, f"Async{name}"),
                "AsyncWithRawResponse": getattr(_typed, f"Async{name}WithRawResponse"),
            }
            for label, view in views.items():
                declared = sorted(k for k in vars(view) if not k.startswith("_"))
                declared = [k for k in declared if k != "with_raw_response"]
                with self.subTest(view=view.__name__):
                    self.assertEqual(declared, public_methods(cls))
                for method_name in public_methods(cls):
                    method = getattr(cls, method_name)
                    member = vars(view)[method_name]
                    with self.subTest(view=view.__name__, method=method_name):
                        self.assertIsInstance(member, View)
                        self.assertIs(member.method, method)
                        self.assertEqual(
                            inspect.signature(member.method), inspect.signature(method)
                        )
                        transform = views_of(name, method_name, method)[VIEW_INDEX[label]]
                        self.assertEqual(member.kind, KINDS[transform])

    def test_each_resource_declares_its_raw_view(self):
        for _attribute, cls in resources():
            with self.subTest(resource=cls.__name__):
                self.assertEqual(
                    cls.__annotations__.get("with_raw_response"),
                    f"RawTwin[{cls.__name__}WithRawResponse]",
                )

    def test_the_async_client_has_every_resource_with_its_async_type(self):
        sync = {k: v for k, v in vars(TriggerClient).items() if isinstance(v, _Resource)}
        async_ = {k: v for k, v in vars(AsyncTriggerClient).items() if isinstance(v, _Resource)}
        self.assertEqual(sorted(async_), sorted(sync))
        for attribute, resource in sync.items():
            with self.subTest(resource=attribute):
                self.assertEqual(
                    (async_[attribute].module, async_[attribute].name),
                    (resource.module, resource.name),
                )
                self.assertEqual(
                    AsyncTriggerClient.__annotations__[attribute],
                    f"_Resource[Async{resource.name}]",
                )
                self.assertEqual(
                    TriggerClient.__annotations__[attribute], f"_Resource[{resource.name}]"
                )
