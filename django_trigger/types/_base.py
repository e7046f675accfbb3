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
        for field, annotation, wire, required in _fields(cls):
            if wire not in data or data[wire] is None:
                if required and wire not in data:
                    raise SchemaError(f"{cls.__name__}: missing required key {wire!r}")
                if required and not _allows_none(annotation):
                    raise SchemaError(f"{cls.__name__}: {wire!r} must not be null")
                if required:
                    values[field] = None  # a required key that may be null (nullable)
                continue
            try:
                values[field] = _convert(annotation, data[wire])
            except SchemaError as exc:
                raise SchemaError(f"{cls.__name__}.{wire}: {exc}") from None
        return cls(**values)


@cache
def _fields(cls: type[Record]) -> list[tuple[str, Any, str, bool]]:
    hints = typing.get_type_hints(cls)
    result = []
    for field in dataclasses.fields(cls):
        if field.name == "raw":
            continue
        wire = field.metadata.get("wire") or camel_case(field.name)
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        result.append((field.name, hints[field.name], wire, required))
    return result


def _allows_none(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _convert(annotation: Any, value: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value)
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError("; ".join(errors))
    if annotation is Any:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise SchemaError(f"expected an array, got {type(value).__name__}")
        (item_type,) = typing.get_args(annotation) or (Any,)
        return [_convert(item_type, item) for item in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(f"expected an object, got {type(value).__name__}")
        return value
    if origin is typing.Literal:
        if value not in typing.get_args(annotation):
            raise SchemaError(f"unexpected value {value!r}")
        return value
    if isinstance(annotation, type):
        if issubclass(annotation, Record):
            return annotation.from_api(value)
        if issubclass(annotation, enum.Enum):
            if not isinstance(value, str):
                raise SchemaError(f"expected a string, got {type(value).__name__}")
            return annotation(value)
        if annotation is datetime:
            return parse_datetime(value)
        if annotation is bool:
            if not isinstance(value, bool):
                raise SchemaError(f"expected a boolean, got {type(value).__name__}")
            return value
        if annotation is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SchemaError(f"expected a number, got {type(value).__name__}")
            return float(value)
        if annotation is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SchemaError(f"expected a number, got {type(value).__name__}")
            return int(value)
        if annotation is str:
            if not isinstance(value, str):
                raise SchemaError(f"expected a string, got {type(value).__name__}")
            return value
        if annotation is dict:
            if not isinstance(value, dict):
                raise SchemaError(f"expected an object, got {type(value).__name__}")
            return value
    raise TypeError(f"unsupported annotation {annotation!r}")  # a bug in a Record definition
