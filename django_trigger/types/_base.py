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
import sys
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
        raise SchemaError(f"invalid date {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls: type[R], data: Any) -> R:
        try:
            parse = _PARSERS[cls]
        except KeyError:
            parse = _PARSERS[cls] = _compile_parser(cls)
        return parse(data)  # type: ignore[no-any-return]


Converter = Callable[[Any], Any]

_PARSERS: dict[type, Converter] = {}


def _compile_parser(cls: type[Record]) -> Converter:
    """Generate and compile ``cls``'s parse function (once per class, on first use).

    The function is straight-line Python with one block per field, for example::

        v3 = get('taskIdentifier')
        if v3 is None:
            if 'taskIdentifier' not in data:
                raise SchemaError("RunListItem: missing required key 'taskIdentifier'")
            raise SchemaError("RunListItem: 'taskIdentifier' must not be null")
        elif type(v3) is not str:
            v3 = convert(convert3, 'RunListItem.taskIdentifier', v3)

    The common case (a value of exactly the expected JSON type, an ISO date, a known enum
    value) is handled inline; anything else goes to the field's general converter
    (``_converter``), which converts what it accepts and words every error. A missing or null
    optional field takes its default. The instance is then filled directly, without the
    dataclass ``__init__`` (records have no ``__post_init__``), which makes parsing a page of
    records about as fast as decoding its JSON.
    """
    name = cls.__name__
    if "__post_init__" in dir(cls) or "__slots__" in cls.__dict__:
        raise TypeError(f"{name}: records are filled without __init__; no __post_init__/slots")
    namespace: dict[str, Any] = {
        "cls": cls,
        "new": object.__new__,
        "SchemaError": SchemaError,
        "convert": _convert,
        "fromisoformat": _fromisoformat,
        "parse_datetime": parse_datetime,
        "utc": timezone.utc,
    }
    lines = [
        "def parse(data):",
        "    if type(data) is not dict and not isinstance(data, dict):",
        f"        raise SchemaError({name + ': expected an object, got '!r} + type(data).__name__)",
        "    get = data.get",
    ]
    stores = ["    values['raw'] = data"]
    hints = typing.get_type_hints(cls)
    for n, field in enumerate(dataclasses.fields(cls)):
        if field.name == "raw":
            continue
        if not field.init:
            raise TypeError(f"{name}.{field.name}: records have no init=False fields")
        annotation = hints[field.name]
        wire = field.metadata.get("wire") or camel_case(field.name)
        v = f"v{n}"
        lines += [f"    {v} = get({wire!r})", f"    if {v} is None:"]
        if field.default is not dataclasses.MISSING:
            namespace[f"default{n}"] = field.default
            lines.append(f"        {v} = default{n}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"factory{n}"] = field.default_factory
            lines.append(f"        {v} = factory{n}()")
        else:
            lines += [
                f"        if {wire!r} not in data:",
                f"            raise SchemaError({f'{name}: missing required key {wire!r}'!r})",
            ]
            if type(None) not in typing.get_args(annotation):
                lines.append(f"        raise SchemaError({f'{name}: {wire!r} must not be null'!r})")
        convert = _converter(annotation)
        if convert is not _identity:
            namespace[f"convert{n}"] = convert
            lines += _fast_path(_non_null(annotation), n, f"{name}.{wire}", namespace)
        stores.append(f"    values[{field.name!r}] = {v}")
    # Stored one by one into the new instance's own __dict__ (in field order, as __init__
    # would): about a third cheaper than building a dict and setting __dict__ to it.
    lines += ["    record = new(cls)", "    values = record.__dict__", *stores, "    return record"]
    source = "\n".join(lines)  # built only from our own class definitions, never from input
    exec(compile(source, f"<{cls.__module__}.{name}.from_api>", "exec"), namespace)  # noqa: S102
    return namespace["parse"]  # type: ignore[no-any-return]


def _fast_path(annotation: Any, n: int, where: str, namespace: dict[str, Any]) -> list[str]:
    """Source lines converting field ``n``'s common JSON values of ``annotation`` inline, then
    the field's full converter (``convert{n}``) for every other value."""
    v = f"v{n}"
    general = f"{v} = convert(convert{n}, {where!r}, {v})"
    keep = {str: "str", bool: "bool", int: "int", dict: "dict"}
    origin = typing.get_origin(annotation)
    if annotation in keep or origin is dict:
        kind = keep.get(annotation, "dict")
        return [f"    elif type({v}) is not {kind}:", f"        {general}"]
    if annotation is float:
        return [
            f"    elif type({v}) is int:",
            f"        {v} = float({v})",
            f"    elif type({v}) is not float:",
            f"        {general}",
        ]
    if annotation is datetime:
        # The API's usual forms go straight to fromisoformat (what it rejects takes
        # parse_datetime, which words the error); a naive time is UTC, as in parse_datetime.
        return [
            f"    elif type({v}) is str:",
            "        try:",
            f"            {v} = fromisoformat({v})",
            "        except ValueError:",
            f"            {v} = convert(parse_datetime, {where!r}, {v})",
            "        else:",
            f"            if {v}.tzinfo is None:",
            f"                {v} = {v}.replace(tzinfo=utc)",
            "    else:",
            f"        {general}",
        ]
    if origin is list and typing.get_args(annotation) and typing.get_args(annotation)[0] in keep:
        # A list of plain values: a copy when every item has exactly the type (what the
        # converter returns then), else the converter (other items, and every error).
        kind = keep[typing.get_args(annotation)[0]]
        return [
            f"    elif type({v}) is list:",
            f"        for item in {v}:",
            f"            if type(item) is not {kind}:",
            f"                {general}",
            "                break",
            "        else:",
            f"            {v} = {v}[:]",
            "    else:",
            f"        {general}",
        ]
    if isinstance(annotation, type) and issubclass(annotation, Record):
        # A nested record: its own parser, errors prefixed with this field as convert() does.
        namespace[f"record{n}"] = annotation.from_api
        return [
            f"    elif type({v}) is dict:",
            "        try:",
            f"            {v} = record{n}({v})",
            "        except SchemaError as exc:",
            f"            raise SchemaError({where + ': '!r} + str(exc)) from None",
            "    else:",
            f"        {general}",
        ]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        namespace[f"members{n}"] = annotation._value2member_map_
        return [
            f"    elif type({v}) is str and {v} in members{n}:",
            f"        {v} = members{n}[{v}]",
            "    else:",
            f"        {general}",
        ]
    return ["    else:", f"        {general}"]


def _non_null(annotation: Any) -> Any:
    """``X | None`` → ``X``; any other annotation unchanged."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(options) == 1:
            return options[0]
    return annotation


def _convert(converter: Converter, where: str, value: Any) -> Any:
    try:
        return converter(value)
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from None


if sys.version_info >= (3, 11):
    _fromisoformat = datetime.fromisoformat
else:  # Python 3.10's fromisoformat does not take the "Z" the API sends

    def _fromisoformat(value: str) -> datetime:
        return datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] == "Z" else value)


@cache
def _converter(annotation: Any) -> Converter:
    """A function checking and converting one JSON value to ``annotation``, built once."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [_converter(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
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
