"""Client and per-request options: the retry policy and request overrides.

Core module: no Django settings, no I/O. ``conf`` builds these from ``settings.TRIGGER``;
callers pass ``request_options=`` to any client call to override them for that call.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DASHBOARD_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_NOT_FOUND_RETRY_BUDGET",
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_TIMEOUT",
    "RequestOptions",
    "RequestOptionsLike",
    "RetryPolicy",
]

DEFAULT_BASE_URL = "https://api.trigger.dev"
DEFAULT_DASHBOARD_URL = "https://cloud.trigger.dev"
DEFAULT_TIMEOUT = 60.0  # seconds to wait for the server to answer
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to establish the connection
# Seconds one call may take in all: connect, every retry and its sleep, reading the body.
# Above one full answer (CONNECT_TIMEOUT + TIMEOUT = 70 s) plus the default retry sleeps
# (1 + 1.6 + 2.56 + 4.1 s), so a slow but live answer is never cut; bounded where per-read
# timeouts are not (a trickled body, timeouts multiplied by retries).
DEFAULT_DEADLINE = 90.0
# Seconds of sleeps allowed for retrying 404s marked x-should-retry (read-after-write lag):
# a few quick retries, then NotFoundError in about a second instead of ~9 s.
DEFAULT_NOT_FOUND_RETRY_BUDGET = 1.0
DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024  # bytes of decoded body; the API's pages are KBs
# Pooled connections kept per host: at least requests' 10, and enough for a default
# ThreadPoolExecutor (up to 32 workers) sharing one client without discarding connections.
DEFAULT_POOL_MAXSIZE = 32


T = TypeVar("T")

if TYPE_CHECKING:
    from dataclasses import Field


class _Factory:
    """The default of a field filled by a factory (``dataclasses``' ``<factory>``)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY: Any = _Factory()


class _DataclassMetadata:
    """``__dataclass_fields__`` or ``__dataclass_params__`` of a ``_frozen_record``, built
    by ``dataclasses`` on first use: on first access it decorates a copy of the class's
    fields and defaults with ``dataclass(frozen=True)`` and stores that dataclass's two
    attributes on the class in place of these descriptors."""

    def __init__(self, cls: type, name: str, factories: Mapping[str, Callable[[], Any]]) -> None:
        self.cls = cls
        self.name = name
        self.factories = factories

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        import dataclasses

        cls = self.cls
        namespace: dict[str, Any] = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__annotations__": cls.__annotations__,
        }
        for name in cls.__annotations__:
            if name in self.factories:
                namespace[name] = dataclasses.field(default_factory=self.factories[name])
            elif name in vars(cls):
                namespace[name] = vars(cls)[name]
        twin: Any = dataclasses.dataclass(frozen=True)(type(cls.__name__, (), namespace))
        for attribute in ("__dataclass_fields__", "__dataclass_params__"):
            setattr(cls, attribute, getattr(twin, attribute))
        return getattr(cls, self.name)


def _frozen_record(**factories: Callable[[], Any]) -> Callable[[type[T]], type[T]]:
    """What ``dataclass(frozen=True)`` makes of ``cls``, for a class that writes its own
    ``__init__``: the generated repr, equality, hash and frozen ``__setattr__``/
    ``__delattr__``, ``__match_args__``, and the fields ``dataclasses.fields()``,
    ``replace()``, ``asdict()`` and ``is_dataclass()`` read, built on first use.

    The two option classes are imported with the client, and ``dataclasses`` (which imports
    ``inspect``, ``ast`` and ``dis``) plus the code a dataclass compiles for each class cost
    more than the rest of the client's own modules (issue #14); tests/core/test_options_record.py
    checks each behaviour against the real dataclass. ``factories``: fields whose default is
    made by a factory (the ``__init__`` takes ``_FACTORY`` as their default).
    """
    return lambda cls: _make_frozen(cls, factories)


def _make_frozen(cls: type[T], factories: Mapping[str, Callable[[], Any]]) -> type[T]:
    names = tuple(cls.__annotations__)

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({fields})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return _values_tuple(self) == _values_tuple(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(_values_tuple(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    def _values_tuple(self: Any) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in names)

    for method in (__repr__, __eq__, __hash__, __setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    cls.__match_args__ = names  # type: ignore[attr-defined,misc]
    for attribute in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, attribute, _DataclassMetadata(cls, attribute, factories))
    return cls


def _frozen_error(message: str) -> Exception:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


def _values(record: Any) -> dict[str, Any]:
    """A ``_frozen_record``'s fields by name."""
    return {name: getattr(record, name) for name in record.__match_args__}


@_frozen_record()
class RetryPolicy:
    """The official SDK's retry options (``ApiClient`` defaults), in seconds.

    ``max_attempts`` counts every request including the first, so ``max_attempts=1`` disables
    retries. The n-th retry waits ``min(max_delay, r * min_delay * factor ** (n - 1))`` with
    ``r = 1``, or ``1 + random()`` when ``randomize`` is on: 1, 1.6, 2.56, 4.096 s by default.
    """

    max_attempts: int = 5
    factor: float = 1.6
    min_delay: float = 1.0
    max_delay: float = 30.0
    randomize: bool = False
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
        __match_args__: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        max_attempts: int = 5,
        factor: float = 1.6,
        min_delay: float = 1.0,
        max_delay: float = 30.0,
        randomize: bool = False,
    ) -> None:
        _set = object.__setattr__
        _set(self, "max_attempts", max_attempts)
        _set(self, "factor", factor)
        _set(self, "min_delay", min_delay)
        _set(self, "max_delay", max_delay)
        _set(self, "randomize", randomize)
        self.__post_init__()

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid retry policy: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Human-readable reasons this policy is invalid (empty when valid)."""
        found = []
        if not _is_int(self.max_attempts) or self.max_attempts < 1:
            found.append(f"max_attempts must be an integer >= 1, not {self.max_attempts!r}")
        if not _is_number(self.factor) or self.factor < 1:
            found.append(f"factor must be a number >= 1, not {self.factor!r}")
        if not _is_number(self.min_delay) or self.min_delay < 0:
            found.append(f"min_delay must be a number of seconds >= 0, not {self.min_delay!r}")
        if not _is_number(self.max_delay) or self.max_delay < 0:
            found.append(f"max_delay must be a number of seconds >= 0, not {self.max_delay!r}")
        elif _is_number(self.min_delay) and self.max_delay < self.min_delay:
            found.append("max_delay must not be smaller than min_delay")
        if not isinstance(self.randomize, bool):
            found.append(f"randomize must be True or False, not {self.randomize!r}")
        return found

    def delay(self, attempt: int, random: float = 0.0) -> float:
        """Seconds to wait after ``attempt`` requests have been made (1 after the first)."""
        r = 1 + random if self.randomize else 1
        ms = min(self.max_delay * 1000, r * self.min_delay * 1000 * self.factor ** (attempt - 1))
        return round(ms) / 1000

    def merged(self, overrides: RetryPolicy | Mapping[str, Any] | None) -> RetryPolicy:
        """This policy with ``overrides`` applied key by key (the SDK's ``mergeRequestOptions``).

        A ``RetryPolicy`` replaces this one; a mapping overrides only the keys it names.
        """
        if overrides is None:
            return self
        if isinstance(overrides, RetryPolicy):
            return overrides
        unknown = set(overrides) - set(self.__match_args__)
        if unknown:
            raise ValueError(f"unknown retry option(s): {', '.join(sorted(unknown))}")
        return type(self)(**{**_values(self), **overrides})


Timeout = float | tuple[float, float]


@_frozen_record(headers=dict)
class RequestOptions:
    """Per-call overrides, merged over the client's defaults (``None`` means inherit).

    ``retry`` may be a whole ``RetryPolicy`` or a mapping of the fields to change, e.g.
    ``RequestOptions(retry={"max_attempts": 1})``. ``timeout`` is the read timeout in seconds,
    or a ``(connect, read)`` pair. ``headers`` are added to (and win over) the client's.
    ``deadline`` bounds the whole call (every attempt, sleep and the body) in seconds;
    ``not_found_retry_budget`` the seconds spent retrying 404s (0: no 404 retries).
    """

    retry: RetryPolicy | Mapping[str, Any] | None = None
    timeout: Timeout | None = None
    headers: Mapping[str, str]
    deadline: float | None = None
    not_found_retry_budget: float | None = None
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
        __match_args__: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        retry: RetryPolicy | Mapping[str, Any] | None = None,
        timeout: Timeout | None = None,
        headers: Mapping[str, str] = _FACTORY,
        deadline: float | None = None,
        not_found_retry_budget: float | None = None,
    ) -> None:
        _set = object.__setattr__
        _set(self, "retry", retry)
        _set(self, "timeout", timeout)
        _set(self, "headers", {} if headers is _FACTORY else headers)
        _set(self, "deadline", deadline)
        _set(self, "not_found_retry_budget", not_found_retry_budget)

    @classmethod
    def coerce(cls, value: RequestOptionsLike) -> RequestOptions:
        if value is None:
            return cls()
        if isinstance(value, RequestOptions):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - set(cls.__match_args__)
            if unknown:
                raise ValueError(f"unknown request option(s): {', '.join(sorted(unknown))}")
            return cls(**{**value, "headers": value.get("headers") or {}})
        raise TypeError(f"request_options must be a RequestOptions or a dict, not {value!r}")


RequestOptionsLike = RequestOptions | Mapping[str, Any] | None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_timeout(value: Any, name: str = "timeout") -> list[str]:
    """Problems with a timeout value: a positive finite number of seconds (never infinite)."""
    if isinstance(value, tuple):
        if len(value) != 2:
            return [f"{name} must be a number or a (connect, read) pair, not {value!r}"]
        return validate_timeout(value[0], f"{name}[connect]") + validate_timeout(
            value[1], f"{name}[read]"
        )
    if not _is_number(value) or value <= 0:
        return [f"{name} must be a positive number of seconds, not {value!r}"]
    return []


def validate_budget(value: Any, name: str) -> list[str]:
    """Problems with a time budget: a finite number of seconds >= 0 (0 turns it off)."""
    if not _is_number(value) or value < 0:
        return [f"{name} must be a number of seconds >= 0, not {value!r}"]
    return []


def validate_count(value: Any, name: str) -> list[str]:
    """Problems with a size or count: an integer >= 1."""
    if not _is_int(value) or value < 1:
        return [f"{name} must be an integer >= 1, not {value!r}"]
    return []
