"""The compiled record parsers (``Record.from_api``) give exactly what a plain field-by-field
parse gives: the same types and values, the same ``raw``, the same ``SchemaError`` messages.

``reference_from_api`` below is the straightforward definition (what ``from_api`` did before it
was compiled): it is the oracle, over the emulator's seeded runs and over every field of every
record class with every kind of JSON value."""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import pkgutil
import types
import typing
from datetime import datetime
from typing import Any, Literal, Union

from django.test import SimpleTestCase

import django_trigger.types
from django_trigger.types import Record, SchemaError, parse_datetime
from django_trigger.types._base import camel_case
from django_trigger.types.runs import _CommonRunFields

from .base import ClientTestCase

# Resolving the annotations is the slow part of the oracle (and not what it checks): once a class.
type_hints = functools.cache(typing.get_type_hints)


def reference_from_api(cls: type[Record], data: Any) -> Any:
    if not isinstance(data, dict):
        raise SchemaError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = type_hints(cls)
    values: dict[str, Any] = {"raw": data}
    for field in dataclasses.fields(cls):
        if field.name == "raw":
            continue
        annotation = hints[field.name]
        wire = field.metadata.get("wire") or camel_case(field.name)
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        value = data.get(wire)
        if value is None:
            if required and wire not in data:
                raise SchemaError(f"{cls.__name__}: missing required key {wire!r}")
            if required and type(None) not in typing.get_args(annotation):
                raise SchemaError(f"{cls.__name__}: {wire!r} must not be null")
            if required:
                values[field.name] = None
            continue
        try:
            values[field.name] = reference_convert(annotation, value)
        except SchemaError as exc:
            raise SchemaError(f"{cls.__name__}.{wire}: {exc}") from None
    return cls(**values)


def reference_convert(annotation: Any, value: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        errors = []
        for option in options:
            try:
                return reference_convert(option, value)
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError("; ".join(errors))
    if annotation is Any:
        return value
    if origin is list:
        (item_type,) = typing.get_args(annotation) or (Any,)
        if not isinstance(value, list):
            raise SchemaError(f"expected an array, got {type(value).__name__}")
        return value if item_type is Any else [reference_convert(item_type, v) for v in value]
    if origin is Literal:
        if value not in typing.get_args(annotation):
            raise SchemaError(f"unexpected value {value!r}")
        return value
    expected = {dict: "an object", str: "a string", bool: "a boolean"}
    kind = dict if origin is dict else annotation
    if kind in expected:
        if not isinstance(value, kind):
            raise SchemaError(f"expected {expected[kind]}, got {type(value).__name__}")
        return value
    if issubclass(annotation, Record):
        return reference_from_api(annotation, value)
    if issubclass(annotation, enum.Enum):
        return annotation(reference_convert(str, value))
    if annotation is datetime:
        return parse_datetime(value)
    if annotation in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"expected a number, got {type(value).__name__}")
        return annotation(value)
    raise TypeError(annotation)


def record_classes() -> list[type[Record]]:
    """Every record class of every module of ``django_trigger.types``."""
    for module in pkgutil.iter_modules(django_trigger.types.__path__):
        importlib.import_module(f"django_trigger.types.{module.name}")
    found: list[type[Record]] = []
    pending = [Record]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith("django_trigger.") and sub not in found:
                found.append(sub)
            pending.append(sub)
    return found


def outcome(parse: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", parse(data)
    except SchemaError as exc:
        return "error", str(exc)


class Same:
    """Assertions that two parse results are identical, not merely equal."""

    def assertSameRecord(self, new: Any, expected: Any, where: str = "") -> None:
        test: Any = self
        test.assertIs(type(new), type(expected), where)
        if isinstance(expected, Record):
            test.assertEqual(new.raw, expected.raw, where)
            test.assertEqual(list(vars(new)), list(vars(expected)), where)
            for name in vars(expected):
                if name != "raw":
                    self.assertSameRecord(
                        getattr(new, name), getattr(expected, name), f"{where}.{name}"
                    )
        elif isinstance(expected, list):
            test.assertEqual(len(new), len(expected), where)
            for index, (a, b) in enumerate(zip(new, expected)):
                self.assertSameRecord(a, b, f"{where}[{index}]")
        elif isinstance(expected, datetime):
            test.assertEqual((new, new.tzinfo), (expected, expected.tzinfo), where)
        else:
            test.assertEqual(new, expected, where)

    def assertSameOutcome(self, cls: type[Record], data: Any, where: str = "") -> None:
        expected = outcome(lambda d: reference_from_api(cls, d), data)
        new = outcome(cls.from_api, data)
        test: Any = self
        test.assertEqual(new[0], expected[0], f"{where}: {new[1]!r} vs {expected[1]!r}")
        if expected[0] == "error":
            test.assertEqual(new[1], expected[1], where)
        else:
            self.assertSameRecord(new[1], expected[1], where)
            test.assertIs(new[1].raw, data, where)  # the decoded object itself, not a copy


#: Every kind of JSON value, and the special strings the converters care about.
VALUES: list[Any] = [
    None,
    "",
    "text",
    "COMPLETED",
    "SOMETHING_NEW",
    "CRON",
    0,
    7,
    -3,
    2.5,
    True,
    False,
    [],
    ["a", "b"],
    [{"id": "x"}],
    [1],
    {},
    {"id": "x", "name": "n"},
    {"a": [1]},
    "2026-11-28T10:00:00.123Z",
    "2026-11-28T10:00:00Z",
    "2026-11-28T10:00:00.123456+02:00",
    "2026-11-28T10:00:00",
    " 2026-11-28T10:00:00Z ",
    "2026-11-28",
    "2026-11-28T10:00:00z",
    "yesterday",
    1764324000123,
    1764324000.5,
]


def sample(annotation: Any, depth: int = 0) -> Any:
    """A valid JSON value for ``annotation``."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return sample(typing.get_args(annotation)[0], depth)
    if annotation is Any or annotation is dict or origin is dict:
        return {"k": [1, "v"]}
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return [sample(item, depth)] if depth < 3 else []
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return full_object(annotation, depth + 1)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation)).value
    return {str: "s", bool: True, int: 4, float: 1.25, datetime: "2026-01-02T03:04:05.006Z"}[
        annotation
    ]


def full_object(cls: type[Record], depth: int = 0) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {
        field.metadata.get("wire") or camel_case(field.name): sample(hints[field.name], depth)
        for field in dataclasses.fields(cls)
        if field.name != "raw"
    }


class EveryRecordClassTests(Same, SimpleTestCase):
    def test_every_field_with_every_kind_of_value(self):
        classes = record_classes()
        self.assertGreater(len(classes), 25)
        for cls in classes:
            if cls is _CommonRunFields:
                continue
            base = full_object(cls)
            with self.subTest(cls=cls.__name__):
                self.assertSameOutcome(cls, base, f"{cls.__name__} full")
                self.assertSameOutcome(cls, {**base, "unknownKey": {"x": 1}}, "unknown key")
                for bad in (None, [], "x", 1):
                    self.assertSameOutcome(cls, bad, f"{cls.__name__}: not an object")
                for wire in base:
                    for value in VALUES:
                        self.assertSameOutcome(
                            cls, {**base, wire: value}, f"{cls.__name__}.{wire}={value!r}"
                        )
                    missing = {key: value for key, value in base.items() if key != wire}
                    self.assertSameOutcome(cls, missing, f"{cls.__name__} without {wire}")

    def test_required_fields_only(self):
        for cls in record_classes():
            required = {
                field.metadata.get("wire") or camel_case(field.name)
                for field in dataclasses.fields(cls)
                if field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            }
            data = {key: value for key, value in full_object(cls).items() if key in required}
            with self.subTest(cls=cls.__name__):
                self.assertSameOutcome(cls, data, cls.__name__)
                record = cls.from_api(data)
                for field in dataclasses.fields(cls):
                    if field.default_factory is not dataclasses.MISSING and field.name != "raw":
                        # a fresh default per record, as the dataclass __init__ gives
                        self.assertIsNot(
                            getattr(record, field.name), getattr(cls.from_api(data), field.name)
                        )

    def test_records_stay_frozen(self):
        run = record_classes()[0].from_api(full_object(record_classes()[0]))
        with self.assertRaises(dataclasses.FrozenInstanceError):
            run.id = "other"  # type: ignore[misc]


class SeededRunsTests(Same, ClientTestCase):
    emulator_options = {"seed": 11, "runs": 250}

    def test_list_pages_and_retrieves_of_every_seeded_run(self):
        from django_trigger.types import Run, RunListItem

        page = self.trigger.runs.with_raw_response.list(period="3650d").json()
        items = []
        while True:
            items += page["data"]
            after = page["pagination"].get("next")
            if not after:
                break
            page = self.trigger.runs.with_raw_response.list(period="3650d", after=after).json()
        self.assertGreaterEqual(len(items), 250)
        for item in items:
            self.assertSameOutcome(RunListItem, item, item["id"])
            body = self.trigger.runs.with_raw_response.retrieve(item["id"]).json()
            self.assertSameOutcome(Run, body, item["id"])
