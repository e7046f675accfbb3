"""``Record``: a frozen dataclass built from an API object.

Attributes are the snake_case forms of the wire's camelCase keys (``taskIdentifier`` →
``task_identifier``; ``field(metadata={"wire": ...})`` where that rule does not fit). Values
are converted from the annotation: ISO dates to aware ``datetime``, strings to enums (unknown
values kept, the API grows), nested records and lists of them. Unknown keys are tolerated and
the whole decoded object stays available as ``.raw``. A missing required key or a value of the
wrong JSON type raises ``SchemaError``, which the transport reports as
``ApiSchemaValidationError``.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from typing import Any, TypeVar, Union

__all__ = ["Record", "SchemaError", "camel_case", "parse_datetime"]

R = TypeVar("R", bound="Record")


class SchemaError(ValueError):
    """An API object does not have the documented shape."""


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_ISO_Z = re.compile(r"Z$")


def parse_datetime(value: Any) -> datetime:
    """ISO 8601 (``2024-06-25T15:45:26.123Z``) or epoch milliseconds → aware datetime."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if not isinstance(value, str):
        raise SchemaError(f"expected a date string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(_ISO_Z.sub("+00:00", value.strip()))
    except ValueError:
        raise SchemaError(f"invalid date {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls: type[R], data: Any) -> R:
        if not isinstance(data, dict):
            raise SchemaError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        values: dict[str, Any] = {"raw": data}
        for field, convert, wire, required, nullable in _fields(cls):
            value = data.get(wire)
            if value is None:
                if required and wire not in data:
                    raise SchemaError(f"{cls.__name__}: missing required key {wire!r}")
                if required and not nullable:
                    raise SchemaError(f"{cls.__name__}: {wire!r} must not be null")
                if required:
                    values[field] = None  # a required key that may be null (nullable)
                continue
            try:
                values[field] = convert(value)
            except SchemaError as exc:
                raise SchemaError(f"{cls.__name__}.{wire}: {exc}") from None
        return cls(**values)


Converter = Callable[[Any], Any]


FieldSpec = tuple[str, Converter, str, bool, bool]
_FIELDS: dict[type, list[FieldSpec]] = {}


def _fields(cls: type[Record]) -> list[FieldSpec]:
    """(attribute, converter, wire key, required, nullable) of each field, computed once."""
    cached = _FIELDS.get(cls)
    if cached is None:
        cached = _FIELDS[cls] = _field_specs(cls)
    return cached


def _field_specs(cls: type[Record]) -> list[FieldSpec]:
    hints = typing.get_type_hints(cls)
    result = []
    for field in dataclasses.fields(cls):
        if field.name == "raw":
            continue
        annotation = hints[field.name]
        wire = field.metadata.get("wire") or camel_case(field.name)
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        nullable = type(None) in typing.get_args(annotation)
        result.append((field.name, _converter(annotation), wire, required, nullable))
    return result


@cache
def _converter(annotation: Any) -> Converter:
    """A function checking and converting one JSON value to ``annotation``, built once."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [
            _converter(arg) for arg in typing.get_args(annotation) if arg is not type(None)
        ]
        if len(options) == 1:
            return options[0]

        def convert_union(value: Any) -> Any:
            errors = []
            for option in options:
                try:
                    return option(value)
                except SchemaError as exc:
                    errors.append(str(exc))
            raise SchemaError("; ".join(errors))

        return convert_union
    if annotation is Any:
        return _identity
    if origin is list:
        (item_type,) = typing.get_args(annotation) or (Any,)
        item = _converter(item_type)

        def convert_list(value: Any) -> list[Any]:
            if not isinstance(value, list):
                raise SchemaError(f"expected an array, got {type(value).__name__}")
            return value if item is _identity else [item(entry) for entry in value]

        return convert_list
    if origin is dict or annotation is dict:
        return _checker(dict, "an object")
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)

        def convert_literal(value: Any) -> Any:
            if value not in allowed:
                raise SchemaError(f"unexpected value {value!r}")
            return value

        return convert_literal
    if isinstance(annotation, type):
        if issubclass(annotation, Record):
            return annotation.from_api
        if issubclass(annotation, enum.Enum):
            enum_type = annotation
            as_string = _checker(str, "a string")
            return lambda value: enum_type(as_string(value))
        if annotation is datetime:
            return parse_datetime
        if annotation is bool:
            return _checker(bool, "a boolean")
        if annotation in (float, int):
            number = annotation

            def convert_number(value: Any) -> Any:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise SchemaError(f"expected a number, got {type(value).__name__}")
                return number(value)

            return convert_number
        if annotation is str:
            return _checker(str, "a string")
    raise TypeError(f"unsupported annotation {annotation!r}")  # a bug in a Record definition


def _identity(value: Any) -> Any:
    return value


def _checker(kind: type, name: str) -> Converter:
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise SchemaError(f"expected {name}, got {type(value).__name__}")
        return value

    return check
