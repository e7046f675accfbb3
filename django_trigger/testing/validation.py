"""zod-style validation issues, so the emulator's 400 bodies read like the real server's.

Collect issues with a :class:`Checker`, then raise the error shape your route family uses::

    check = Checker()
    name = check.string(body, "name", max_length=255, required=False)
    ids = check.array(body, "runIds", min_items=1, max_items=500)
    check.raise_body_error()     # 400 {"error": "Validation error: … at \"runIds\""}
    # or, for legacy routes: check.raise_if(errors.invalid_request_body)
    #                        # 400 {"error": "Invalid request body", "issues": […]}

Messages are zod 3's defaults ("Required", "Expected string, received number",
"String must contain at most 128 character(s)", …).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from . import errors

__all__ = ["MISSING", "Checker", "received_type"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def received_type(value: Any) -> str:
    """zod's ``getParsedType`` name for a JSON value."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "nan" if isinstance(value, float) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class Checker:
    """Collects zod-like issues; every accessor returns the value (or ``MISSING``)."""

    def __init__(self, prefix: Iterable[str | int] = ()) -> None:
        self.issues: list[dict[str, Any]] = []
        self.prefix = list(prefix)

    # -- building blocks --------------------------------------------------------------------

    def add(
        self, path: Iterable[str | int], message: str, code: str = "custom", **extra: Any
    ) -> None:
        self.issues.append(
            {"code": code, **extra, "path": [*self.prefix, *path], "message": message}
        )

    def _get(self, obj: Any, key: str) -> Any:
        return obj.get(key, MISSING) if isinstance(obj, dict) else MISSING

    def _type_issue(self, path: list[str | int], expected: str, value: Any) -> None:
        got = received_type(value)
        message = "Required" if value is MISSING else f"Expected {expected}, received {got}"
        self.add(path, message, "invalid_type", expected=expected, received=got)

    def _size(
        self,
        path: list[str | int],
        kind: str,
        size: int,
        minimum: int | None,
        maximum: int | None,
    ) -> None:
        """zod's ``too_small``/``too_big`` issues for a string's length or an array's size."""
        noun, unit = ("String", "character") if kind == "string" else ("Array", "element")
        if minimum is not None and size < minimum:
            self.add(
                path,
                f"{noun} must contain at least {minimum} {unit}(s)",
                "too_small",
                minimum=minimum,
                type=kind,
                inclusive=True,
                exact=False,
            )
        if maximum is not None and size > maximum:
            self.add(
                path,
                f"{noun} must contain at most {maximum} {unit}(s)",
                "too_big",
                maximum=maximum,
                type=kind,
                inclusive=True,
                exact=False,
            )

    # -- typed accessors --------------------------------------------------------------------

    def object(self, value: Any, path: Iterable[str | int] = ()) -> bool:
        if isinstance(value, dict):
            return True
        self._type_issue(list(path), "object", value)
        return False

    def string(
        self,
        obj: Any,
        key: str,
        *,
        required: bool = True,
        min_length: int | None = None,
        max_length: int | None = None,
        nullable: bool = False,
        path: list[str | int] | None = None,
    ) -> Any:
        value = self._get(obj, key)
        where: list[str | int] = path if path is not None else [key]
        if value is MISSING or (value is None and nullable):
            if required and value is MISSING:
                self._type_issue(where, "string", value)
            return MISSING if value is MISSING else None
        if not isinstance(value, str):
            self._type_issue(where, "string", value)
            return MISSING
        self._size(where, "string", len(value), min_length, max_length)
        return value

    def number(
        self,
        obj: Any,
        key: str,
        *,
        required: bool = True,
        integer: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        path: list[str | int] | None = None,
    ) -> Any:
        value = self._get(obj, key)
        where: list[str | int] = path if path is not None else [key]
        if value is MISSING:
            if required:
                self._type_issue(where, "number", value)
            return MISSING
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._type_issue(where, "number", value)
            return MISSING
        if integer and not float(value).is_integer():
            self.add(
                where,
                "Expected integer, received float",
                "invalid_type",
                expected="integer",
                received="float",
            )
        if exclusive_minimum is not None and not value > exclusive_minimum:
            self.add(
                where,
                f"Number must be greater than {_js_number(exclusive_minimum)}",
                "too_small",
                minimum=exclusive_minimum,
                type="number",
                inclusive=False,
                exact=False,
            )
        if minimum is not None and value < minimum:
            self.add(
                where,
                f"Number must be greater than or equal to {_js_number(minimum)}",
                "too_small",
                minimum=minimum,
                type="number",
                inclusive=True,
                exact=False,
            )
        if maximum is not None and value > maximum:
            self.add(
                where,
                f"Number must be less than or equal to {_js_number(maximum)}",
                "too_big",
                maximum=maximum,
                type="number",
                inclusive=True,
                exact=False,
            )
        return value

    def boolean(self, obj: Any, key: str, *, required: bool = False) -> Any:
        value = self._get(obj, key)
        if value is MISSING:
            if required:
                self._type_issue([key], "boolean", value)
            return MISSING
        if not isinstance(value, bool):
            self._type_issue([key], "boolean", value)
            return MISSING
        return value

    def enum(
        self,
        obj: Any,
        key: str,
        options: Iterable[str],
        *,
        required: bool = True,
        path: list[str | int] | None = None,
    ) -> Any:
        value = self._get(obj, key)
        where: list[str | int] = path if path is not None else [key]
        options = list(options)
        if value is MISSING:
            if required:
                self.add(
                    where,
                    "Required",
                    "invalid_type",
                    expected=_enum_expected(options),
                    received="undefined",
                )
            return MISSING
        if value not in options:
            shown = f"'{value}'" if isinstance(value, str) else str(value)
            self.add(
                where,
                "Invalid enum value. Expected "
                + " | ".join(f"'{o}'" for o in options)
                + f", received {shown}",
                "invalid_enum_value",
                options=options,
                received=value,
            )
            return MISSING
        return value

    def array(
        self,
        obj: Any,
        key: str,
        *,
        required: bool = True,
        min_items: int | None = None,
        max_items: int | None = None,
        path: list[str | int] | None = None,
    ) -> Any:
        value = self._get(obj, key)
        where: list[str | int] = path if path is not None else [key]
        if value is MISSING:
            if required:
                self._type_issue(where, "array", value)
            return MISSING
        if not isinstance(value, list):
            self._type_issue(where, "array", value)
            return MISSING
        self._size(where, "array", len(value), min_items, max_items)
        return value

    def string_or_list(
        self, obj: Any, key: str, *, required: bool = False, max_length: int | None = None
    ) -> Any:
        """``z.string().or(z.array(z.string()))`` — returns a list (or ``MISSING``)."""
        value = self._get(obj, key)
        if value is MISSING:
            if required:
                self._type_issue([key], "string", value)
            return MISSING
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.add([key], "Invalid input", "invalid_union")
            return MISSING
        for index, item in enumerate(items):
            where: list[str | int] = [key] if isinstance(value, str) else [key, index]
            self._size(where, "string", len(item), None, max_length)
        return items

    # -- raising ----------------------------------------------------------------------------

    @property
    def ok(self) -> bool:
        return not self.issues

    def raise_if(self, make: Callable[[list[dict[str, Any]]], errors.HttpError]) -> None:
        if self.issues:
            raise make(self.issues)

    def raise_body_error(self) -> None:
        """The A-family action-route body error (one ``Validation error: …`` string)."""
        self.raise_if(errors.body_validation_error)


def _enum_expected(options: list[str]) -> str:
    return " | ".join(f"'{o}'" for o in options)


def _js_number(value: float) -> str:
    """Number formatting as JavaScript's ``String(n)`` (``10`` not ``10.0``)."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


# -- zod unions -------------------------------------------------------------------------------
#
# A few schemas need zod's exact union behaviour (``z.union([A, z.array(A)])``): every option
# is tried, and when all fail the issue is ``invalid_union`` carrying each option's issues,
# which zod-validation-error spells out (``… at "filter.status", or … at "filter.status[0]"``).
# A check below returns its issues (empty when the value is valid) and the parsed value.

Check = Callable[[Any, list[str | int]], tuple[list[dict[str, Any]], Any]]


def issue(
    path: list[str | int], message: str, code: str = "custom", **extra: Any
) -> dict[str, Any]:
    return {"code": code, **extra, "path": list(path), "message": message}


def type_issue(path: list[str | int], expected: str, value: Any) -> dict[str, Any]:
    got = received_type(value)
    message = "Required" if value is MISSING else f"Expected {expected}, received {got}"
    return issue(path, message, "invalid_type", expected=expected, received=got)


def is_string(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
    return ([] if isinstance(value, str) else [type_issue(path, "string", value)]), value


def is_boolean(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
    return ([] if isinstance(value, bool) else [type_issue(path, "boolean", value)]), value


def is_number(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ([] if ok else [type_issue(path, "number", value)]), value


def one_of(options: Iterable[str]) -> Check:
    """``z.enum(options)``."""
    options = list(options)
    expected = _enum_expected(options)

    def check(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
        if not isinstance(value, str):
            return [type_issue(path, expected, value)], value
        if value not in options:
            return [
                issue(
                    path,
                    f"Invalid enum value. Expected {expected}, received '{value}'",
                    "invalid_enum_value",
                    options=options,
                    received=value,
                )
            ], value
        return [], value

    return check


def array_of(item: Check) -> Check:
    """``z.array(item)``: every element is checked (all their issues are reported)."""

    def check(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
        if not isinstance(value, list):
            return [type_issue(path, "array", value)], value
        issues: list[dict[str, Any]] = []
        parsed = []
        for index, element in enumerate(value):
            found, element = item(element, [*path, index])
            issues += found
            parsed.append(element)
        return issues, parsed

    return check


def union(*options: Check) -> Check:
    """``z.union(options)`` (options that fail only abort, as type and enum checks do)."""

    def check(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
        errors_of_options = []
        for option in options:
            found, parsed = option(value, path)
            if not found:
                return [], parsed
            errors_of_options.append({"issues": found, "name": "ZodError"})
        return [issue(path, "Invalid input", "invalid_union", unionErrors=errors_of_options)], value

    return check


def object_of(fields: dict[str, Check], *, required: bool = False) -> Check:
    """``z.object(fields)``: every field optional, or every field ``required`` (unknown keys
    are stripped)."""

    def check(value: Any, path: list[str | int]) -> tuple[list[dict[str, Any]], Any]:
        if not isinstance(value, dict):
            return [type_issue(path, "object", value)], value
        issues: list[dict[str, Any]] = []
        parsed = {}
        for key, field_check in fields.items():
            if required or key in value:
                found, parsed[key] = field_check(value.get(key, MISSING), [*path, key])
                issues += found
        return issues, parsed

    return check
