"""What every resource shares: one ``_request`` per endpoint call, page builders, the raw
response twin, and the conversions of Python values to the wire's query formats."""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from django_trigger import validators
from django_trigger._http.retry import RetrySafety
from django_trigger._http.transport import Auth, RawResponse, parse_with
from django_trigger.exceptions import (
    ApiError,
    ApiTimeoutError,
    InvalidRequestError,
    PollTimeoutError,
)
from django_trigger.options import RequestOptions, RequestOptionsLike
from django_trigger.pagination import (
    AsyncCursorPage,
    AsyncOffsetPage,
    AsyncPager,
    CursorPage,
    OffsetPage,
    Page,
)
from django_trigger.types import RunStatus, SchemaError

if TYPE_CHECKING:
    from django_trigger.client import BaseClient

__all__ = [
    "MACHINE_PRESETS",
    "MAX_PAGE_SIZE",
    "Auth",
    "QueueFilter",
    "RawTwin",
    "Resource",
    "RetrySafety",
    "flow",
    "retry_safety",
]

MAX_PAGE_SIZE = 100  # page[size] of cursor lists: 1 to 100
MAX_PER_PAGE = 100  # perPage of offset lists (schedules, queues): the server caps it at 100
MACHINE_PRESETS = (
    "micro",
    "small-1x",
    "small-2x",
    "medium-1x",
    "medium-2x",
    "large-1x",
    "large-2x",
)
_KNOWN_STATUSES = frozenset(status.value for status in RunStatus)
QueueFilter = str | Mapping[str, str]

T = TypeVar("T")
P = TypeVar("P", bound=Page[Any])
Self = TypeVar("Self", bound="Resource")
Fetch = Callable[[dict[str, Any]], Any]
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R", bound="Resource")
P_ = ParamSpec("P_")
W = TypeVar("W")

# The classes declared by the resource method running now (set by @retry_safety).
_declared: ContextVar[tuple[RetrySafety, ...]] = ContextVar("retry_safety", default=())


def retry_safety(*classes: RetrySafety, why: str) -> Callable[[F], F]:
    """Declare which ``RetrySafety`` classes a resource method's requests use, and why (the
    README's policy table is checked against these). A method with one class needs nothing
    more; one with several (it depends on the arguments) passes ``retry_safety=`` to each
    ``_request``, which must be one of the declared."""
    if not classes or not why:
        raise TypeError("declare at least one RetrySafety and why")

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _declared.set(classes)
            try:
                result = method(*args, **kwargs)
            finally:
                _declared.reset(token)
            if inspect.iscoroutine(result):  # the async client: declared while it runs
                return _declaring(classes, result)
            return result

        wrapper.retry_safety = classes  # type: ignore[attr-defined]
        wrapper.retry_safety_why = why  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


async def _declaring(classes: tuple[RetrySafety, ...], call: Awaitable[T]) -> T:
    token = _declared.set(classes)
    try:
        return await call
    finally:
        _declared.reset(token)


def flow(
    method: Callable[Concatenate[R, P_], Generator[Any, Any, T]],
) -> Callable[Concatenate[R, P_], T]:
    """A resource method that makes several requests, or looks at an answer before returning
    (a verified retry, a read-back, polling): written once as a generator that ``yield``s each
    request (``x = yield self._request(...)``, or another method's call) and each pause
    (``yield self._client._sleep(s)``). The sync client runs it as plain calls; the async client
    awaits each yielded step, throwing its errors back in at the ``yield``."""

    @functools.wraps(method)
    def run(self: R, *args: P_.args, **kwargs: P_.kwargs) -> T:
        return self._client._run_flow(method(self, *args, **kwargs))

    run.is_flow = True  # type: ignore[attr-defined]
    return cast(Callable[Concatenate[R, P_], T], run)


def _safety_for(method: str, given: RetrySafety | None) -> RetrySafety:
    """The class of one request: a GET is a read; anything else uses the running method's
    declaration (the one declared, or ``given`` when it declared several)."""
    if method == "GET":
        return RetrySafety.READ
    declared = _declared.get()
    if given is None:
        if len(declared) != 1:
            raise TypeError(
                f"{method} request without a retry safety: decorate the resource method with "
                "@retry_safety(...) and pass retry_safety= when it declares several"
            )
        return declared[0]
    if given not in declared:
        raise TypeError(f"retry_safety={given} is not among the method's {declared}")
    return given


class RawTwin(Generic[W]):
    """``resource.with_raw_response``: the same resource, whose calls return the
    ``RawResponse`` instead of the parsed result. Typed as the resource's ``...WithRawResponse``
    class (``W``, in resources/_typed.py), which lists every method with that result."""

    @overload
    def __get__(self, resource: None, owner: type) -> RawTwin[W]: ...
    @overload
    def __get__(self, resource: Resource, owner: type) -> W: ...
    def __get__(self, resource: Resource | None, owner: type) -> RawTwin[W] | W:
        if resource is None:
            return self
        return cast(W, resource._as_raw())  # has W's methods: its own, answering raw


class Resource:
    """Base of ``client.runs``, ``client.envvars``, ...

    ``resource.with_raw_response.<method>(...)`` makes the same call but returns the
    ``RawResponse`` (status, headers, ``parse()``) instead of the parsed result. Each resource
    class declares its type: ``with_raw_response: RawTwin[RunsWithRawResponse]``.
    """

    with_raw_response: RawTwin[Any] = RawTwin()

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self._raw = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    def _as_raw(self: Self) -> Self:
        """This resource answering raw (what ``with_raw_response`` is, typed as itself)."""
        twin = copy.copy(self)
        twin._raw = True
        return twin

    def _done_before(self, error: ApiError, status: int, message: str | None = None) -> bool:
        """Whether ``error``, the answer to a retry after a lost answer, says that the lost
        attempt already did the work (``status``, and ``message`` in its message if given).
        Raw-response calls get the error as is: there is no response to hand back."""
        return (
            not self._raw
            and error.retried_after_unknown_outcome
            and error.status == status
            and (message is None or message.lower() in error.message.lower())
        )

    # -- calls -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        parse: Callable[[Any], T],
        auth: Auth = Auth.SECRET_KEY,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        request_options: RequestOptionsLike = None,
        merge_headers: Mapping[str, str] | None = None,
        retry_safety: RetrySafety | None = None,
        unknown_hint: str | None = None,
    ) -> T:
        transport = self._client._transport
        transport.check_auth(auth, operation)
        safety = _safety_for(method, retry_safety)
        raw = transport.request(
            method,
            path,
            params=params,
            json_body=json_body,
            data=data,
            files=files,
            headers=headers,
            request_options=request_options,
            authenticated=auth is not Auth.NONE,
            retry_safety=safety,
            unknown_hint=unknown_hint,
        )
        return self._client._then(raw, lambda answer: self._finish(answer, parse, merge_headers))

    def _finish(
        self,
        raw: RawResponse[Any],
        parse: Callable[[Any], T],
        merge_headers: Mapping[str, str] | None,
    ) -> T:
        raw._parser = lambda response: parse_with(response, parse, merge_headers)
        if self._raw:
            return raw  # type: ignore[return-value]
        return raw.parse()

    def _cursor_page(
        self,
        path: str,
        *,
        operation: str,
        item: Callable[[Any], T],
        params: dict[str, Any],
        auth: Auth = Auth.SECRET_KEY,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[T]:
        params = {key: value for key, value in params.items() if value is not None}

        def build(
            data: list[Any], pagination: dict[str, Any], page_params: dict[str, Any], fetch: Fetch
        ) -> CursorPage[T]:
            return self._client._pages[0](
                [item(entry) for entry in data],
                next_cursor=_cursor(pagination, "next"),
                previous_cursor=_cursor(pagination, "previous"),
                params=page_params,
                fetch=fetch,
            )

        return self._page(path, operation, params, auth, request_options, build)

    def _offset_page(
        self,
        path: str,
        *,
        operation: str,
        item: Callable[[Any], T],
        params: dict[str, Any],
        auth: Auth = Auth.SECRET_KEY,
        request_options: RequestOptionsLike = None,
    ) -> OffsetPage[T]:
        def build(
            data: list[Any], pagination: dict[str, Any], page_params: dict[str, Any], fetch: Fetch
        ) -> OffsetPage[T]:
            try:
                current = int(pagination["currentPage"])
                total = int(pagination["totalPages"])
                count = int(pagination["count"])
            except (KeyError, TypeError, ValueError) as exc:
                raise SchemaError("pagination needs currentPage, totalPages and count") from exc
            return self._client._pages[1](
                [item(entry) for entry in data],
                current_page=current,
                total_pages=total,
                count=count,
                params=page_params,
                fetch=fetch,
            )

        return self._page(path, operation, params, auth, request_options, build)

    def _page(
        self,
        path: str,
        operation: str,
        params: dict[str, Any],
        auth: Auth,
        request_options: RequestOptionsLike,
        build: Callable[[list[Any], dict[str, Any], dict[str, Any], Fetch], P],
    ) -> P:
        """GET one page of a list; ``build`` makes the page from its data and pagination, with a
        ``fetch`` that gets another page of the same listing (always typed, even when this
        first page was asked for raw)."""

        def fetch(page_params: dict[str, Any]) -> P:
            return Resource._request(
                _cooked(self),
                "GET",
                path,
                operation=operation,
                auth=auth,
                params=page_params,
                request_options=request_options,
                parse=lambda body: parse(body, page_params),
            )

        def parse(body: Any, page_params: dict[str, Any]) -> P:
            data, pagination = _list_envelope(body)
            return build(data, pagination, page_params, fetch)

        return self._client._pager(
            self._request(
                "GET",
                path,
                operation=operation,
                auth=auth,
                params=params,
                request_options=request_options,
                parse=lambda body: parse(body, params),
            )
        )


# -- how each client shows a resource method (the typed views of resources/_typed.py) -------
# Each takes the resource's own method, so a view's parameters are the method's; at run time
# the views are never instantiated (the clients hand out the resources themselves).

_Method = Callable[Concatenate[Any, P_], T]


@dataclasses.dataclass(frozen=True)
class View:
    """A method as a typed view declares it (``kind``: how that client returns its result;
    ``result``: the parsed type of a raw answer that is not the method's result)."""

    method: Callable[..., Any]
    kind: str
    result: type | None = None


def raw(method: _Method[P_, T]) -> _Method[P_, RawResponse[T]]:
    """``with_raw_response`` of the sync client: the ``RawResponse`` of the call."""
    return cast("_Method[P_, RawResponse[T]]", View(method, "raw"))


def raw_of(method: _Method[P_, Any], result: type[T]) -> _Method[P_, RawResponse[T]]:
    """``raw`` of a method whose raw answer is one of its requests' (``result``), not its
    own result (``waitpoints.complete_token``: the POST's, before the read-back)."""
    return cast("_Method[P_, RawResponse[T]]", View(method, "raw", result))


def awaited_raw_of(
    method: _Method[P_, Any], result: type[T]
) -> _Method[P_, Awaitable[RawResponse[T]]]:
    """``raw_of`` on the async client."""
    return cast("_Method[P_, Awaitable[RawResponse[T]]]", View(method, "awaited_raw", result))


def raw_or_none_of(method: _Method[P_, Any], result: type[T]) -> _Method[P_, RawResponse[T] | None]:
    """``raw_of`` of a method that answers ``None`` rather than an error response
    (``runs.retrieve_result`` of an unfinished run: a 404, with no result to parse)."""
    return cast("_Method[P_, RawResponse[T] | None]", View(method, "raw", result))


def awaited_raw_or_none_of(
    method: _Method[P_, Any], result: type[T]
) -> _Method[P_, Awaitable[RawResponse[T] | None]]:
    """``raw_or_none_of`` on the async client."""
    return cast(
        "_Method[P_, Awaitable[RawResponse[T] | None]]", View(method, "awaited_raw", result)
    )


def same(method: _Method[P_, T]) -> _Method[P_, T]:
    """A method whose result is the same on both clients (a subscription: iterated with
    ``for`` or ``async for``)."""
    return cast("_Method[P_, T]", View(method, "same"))


def awaited(method: _Method[P_, T]) -> _Method[P_, Coroutine[Any, Any, T]]:
    """The async client: a coroutine of the result."""
    return cast("_Method[P_, Coroutine[Any, Any, T]]", View(method, "awaited"))


def awaited_raw(method: _Method[P_, T]) -> _Method[P_, Awaitable[RawResponse[T]]]:
    """``with_raw_response`` of the async client."""
    return cast("_Method[P_, Awaitable[RawResponse[T]]]", View(method, "awaited_raw"))


def awaited_cursor_pages(
    method: _Method[P_, CursorPage[T]],
) -> _Method[P_, AsyncPager[AsyncCursorPage[T], T]]:
    """A cursor list on the async client: awaited, the first page; ``async for``, every item."""
    return cast("_Method[P_, AsyncPager[AsyncCursorPage[T], T]]", View(method, "cursor_pages"))


def awaited_offset_pages(
    method: _Method[P_, OffsetPage[T]],
) -> _Method[P_, AsyncPager[AsyncOffsetPage[T], T]]:
    """An offset list on the async client (as ``awaited_cursor_pages``)."""
    return cast("_Method[P_, AsyncPager[AsyncOffsetPage[T], T]]", View(method, "offset_pages"))


def awaited_raw_cursor_pages(
    method: _Method[P_, CursorPage[T]],
) -> _Method[P_, Awaitable[RawResponse[AsyncCursorPage[T]]]]:
    """A cursor list's ``with_raw_response`` on the async client (``parse()``: the page)."""
    return cast(
        "_Method[P_, Awaitable[RawResponse[AsyncCursorPage[T]]]]", View(method, "raw_cursor_pages")
    )


def awaited_raw_offset_pages(
    method: _Method[P_, OffsetPage[T]],
) -> _Method[P_, Awaitable[RawResponse[AsyncOffsetPage[T]]]]:
    """An offset list's ``with_raw_response`` on the async client."""
    return cast(
        "_Method[P_, Awaitable[RawResponse[AsyncOffsetPage[T]]]]", View(method, "raw_offset_pages")
    )


POLL_INTERVAL = 1.0  # seconds, as the SDK's pollIntervalMs default
POLL_MAX_ATTEMPTS = 500  # as the SDK


def poll_until(
    retrieve: Callable[[RequestOptions], Any],
    finished: Callable[[T], bool],
    *,
    what: str,
    state: Callable[[T], str],
    interval: float,
    timeout: float | None,
    max_attempts: int,
    request_options: RequestOptionsLike,
    sleep: Callable[[float], Any],
) -> Generator[Any, Any, T]:
    """A flow's steps (``yield from`` it in a ``@flow``): call ``retrieve`` (a resource's
    method) every ``interval`` seconds (``sleep``: the client's) until ``finished`` says so
    and return the last result; ``PollTimeoutError`` (``.last``: the last result) after
    ``max_attempts`` calls or once the next call would start after ``timeout`` seconds. A
    call in progress gets the time left as its deadline, so the poll never outlasts
    ``timeout``; when that deadline ends it, the poll's timeout is what happened:
    ``PollTimeoutError`` too (its ``__cause__`` the call's ``ApiTimeoutError``), whether the
    API stalled or a loaded machine started the call late. The arguments are checked before
    the first call."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not (interval > 0):
        raise InvalidRequestError("interval must be a positive number of seconds")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise InvalidRequestError("timeout must be a positive number of seconds or None")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or (max_attempts < 1):
        raise InvalidRequestError("max_attempts must be a positive integer")
    try:
        options = RequestOptions.coerce(request_options)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(str(exc)) from None
    deadline = None if timeout is None else time.monotonic() + timeout
    result: Any = None
    for attempt in range(1, max_attempts + 1):
        call_options = options
        capped = False  # whether the poll's time left, not the caller's deadline, bounds the call
        if deadline is not None:  # a retrieval never runs past the poll's timeout
            remaining = max(deadline - time.monotonic(), 0.001)
            capped = options.deadline is None or remaining < options.deadline
            call_options = dataclasses.replace(
                options, deadline=min(options.deadline or remaining, remaining)
            )
        try:
            result = yield retrieve(call_options)
        except ApiTimeoutError as exc:
            # A shorter read timeout of the caller's own ends the call before the deadline.
            if not capped or deadline is None or time.monotonic() < deadline:
                raise
            seen = f"still {state(result)}" if attempt > 1 else "not retrieved"
            raise PollTimeoutError(
                f"{what} is {seen} after {timeout} s ({attempt - 1} retrievals; the next one "
                "did not finish in time)",
                last=result,
            ) from exc
        if finished(result):
            return result
        if attempt == max_attempts:
            break
        if deadline is not None and time.monotonic() + interval > deadline:
            raise PollTimeoutError(
                f"{what} is still {state(result)} after {timeout} s ({attempt} retrievals)",
                last=result,
            )
        yield sleep(interval)
        if deadline is not None and time.monotonic() >= deadline:  # the sleep overran
            raise PollTimeoutError(
                f"{what} is still {state(result)} after {timeout} s ({attempt} retrievals)",
                last=result,
            )
    raise PollTimeoutError(
        f"{what} is still {state(result)} after {max_attempts} retrievals", last=result
    )


def _cooked(resource: Self) -> Self:
    if not resource._raw:
        return resource
    twin = copy.copy(resource)
    twin._raw = False
    return twin


def _list_envelope(body: Any) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise SchemaError("expected an object with a 'data' array")
    pagination = body.get("pagination")
    if not isinstance(pagination, dict):
        raise SchemaError("expected a 'pagination' object")
    return body["data"], pagination


def _cursor(pagination: dict[str, Any], key: str) -> str | None:
    value = pagination.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SchemaError(f"pagination.{key} must be a string")
    return value or None


# -- conversions of Python values to query/body formats ------------------------------------


def comma_list(value: str | Iterable[Any] | None, name: str) -> str | None:
    """``["a", "b"]`` → ``"a,b"`` (the API takes multi-value filters as one comma list)."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    texts = []
    for item in items:
        text = str(item.value if hasattr(item, "value") else item).strip()
        if not text:
            raise InvalidRequestError(f"{name} must not contain empty values")
        if "," in text:
            raise InvalidRequestError(f"{name} values must not contain commas: {text!r}")
        texts.append(text)
    if not texts:
        return None
    return ",".join(texts)


def task_identifier(value: object, name: str = "task_identifier") -> str:
    """A task's id (``validators.task_identifier``), refused before anything is sent."""
    try:
        return validators.task_identifier(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{name} {exc}") from None


def task_filter(value: str | Iterable[str] | None) -> str | None:
    """``task_identifier=`` of the run lists and bulk action filters: ids as one comma list."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        task_identifier(item)
    return comma_list(items, "task_identifier")


def epoch_ms(value: datetime | date | int | float | None, name: str) -> int | None:
    """Dates go on the wire as epoch milliseconds, like the SDK's ``Date.getTime()``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be a datetime or epoch milliseconds")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidRequestError(
                f"{name} must be an aware datetime (for example django.utils.timezone.now())"
            )
        return int(value.timestamp() * 1000)
    raise InvalidRequestError(f"{name} must be a datetime or epoch milliseconds, not {value!r}")


_DURATION = re.compile(r"(?:\d+(?:w|d|hr|h|m|s))+", re.ASCII)  # the server's \d: 0-9 only


def duration(value: str | int | timedelta | datetime, name: str) -> str:
    """A delay/ttl as the API takes it: ``"1h30m"``, ISO date for a datetime, seconds for
    a timedelta (rounded up to whole seconds)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidRequestError(f"{name} must be an aware datetime")
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = int(-(-value.total_seconds() // 1))
        if seconds <= 0:
            raise InvalidRequestError(f"{name} must be a positive duration")
        return f"{seconds}s"
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidRequestError(f"{name} must not be negative")
        return f"{value}s"
    if isinstance(value, str) and _DURATION.fullmatch(value.strip()):
        return value.strip()
    raise InvalidRequestError(
        f"{name} must be a duration like '30s', '10m', '1h30m', '2d', '1w', a timedelta or "
        f"an aware datetime, not {value!r}"
    )


def boolean(value: bool | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be True or False, not {value!r}")
    return "true" if value else "false"


def known_values(
    value: str | Iterable[Any] | None, name: str, allowed: Iterable[str], what: str
) -> str | None:
    """:func:`comma_list` whose every value is one of ``allowed`` (``what`` names them in the
    error, e.g. "session status")."""
    joined = comma_list(value, name)
    if joined is None:
        return None
    allowed = tuple(allowed)
    unknown = [s for s in joined.split(",") if s not in allowed]
    if unknown:
        raise InvalidRequestError(
            f"unknown {what} {', '.join(unknown)}; expected: {', '.join(allowed)}"
        )
    return joined


def status_filter(value: RunStatus | str | Iterable[RunStatus | str] | None) -> str | None:
    joined = comma_list(value, "status")
    if joined is None:
        return None
    unknown = [s for s in joined.split(",") if s not in _KNOWN_STATUSES]
    if unknown:
        known = ", ".join(s.value for s in RunStatus.v2())
        raise InvalidRequestError(f"unknown run status {', '.join(unknown)}; expected: {known}")
    return joined


def machine_filter(value: str | Iterable[str] | None) -> str | None:
    joined = comma_list(value, "machine")
    if joined is None:
        return None
    unknown = [m for m in joined.split(",") if m not in MACHINE_PRESETS]
    if unknown:
        raise InvalidRequestError(
            f"unknown machine {', '.join(unknown)}; expected: {', '.join(MACHINE_PRESETS)}"
        )
    return joined


def queue_filter(value: QueueFilter | Iterable[QueueFilter] | None) -> str | None:
    """A queue is a custom queue's name, or ``{"type": "task", "name": ...}`` (→ ``task/...``)
    or ``{"type": "custom", "name": ...}``."""
    if value is None:
        return None
    items = [value] if isinstance(value, (str, Mapping)) else list(value)
    names = []
    for item in items:
        if isinstance(item, Mapping):
            kind, name = item.get("type", "custom"), item.get("name")
            if kind not in ("task", "custom") or not isinstance(name, str) or not name:
                raise InvalidRequestError(
                    'queue must be a name or {"type": "task"|"custom", "name": ...}'
                )
            if kind == "task":
                task_identifier(name, "queue's task")
            names.append(f"task/{name}" if kind == "task" else name)
        else:
            names.append(item)
    return comma_list(names, "queue")


def nonempty(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name} must be a non-empty string")
    return value


def period_filter(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]*[smhdw]", value):
        raise InvalidRequestError(f"period must look like '30m', '1h', '7d' or '2w', not {value!r}")
    return value


def page_size_param(limit: int | None) -> int:
    if limit is None:
        return MAX_PAGE_SIZE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    return limit


def cursor_params(limit: int | None, after: str | None, before: str | None) -> dict[str, Any]:
    """``page[size]``/``page[after]``/``page[before]`` of a cursor list (the largest page when
    no ``limit`` is given); a page is walked one way, so not both cursors."""
    if after and before:
        raise InvalidRequestError("pass either after or before, not both")
    return {
        "page[size]": page_size_param(limit),
        "page[after]": nonempty(after, "after"),
        "page[before]": nonempty(before, "before"),
    }


def positive_int(value: int | None, name: str, *, default: int, maximum: int | None = None) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a positive integer")
    if maximum is not None and value > maximum:
        raise InvalidRequestError(f"{name} must be at most {maximum}")
    return value


def offset_params(page: int | None, per_page: int | None) -> dict[str, int]:
    """``page``/``perPage`` of an offset list; without ``per_page``, the largest page."""
    return {
        "page": positive_int(page, "page", default=1),
        "perPage": positive_int(per_page, "per_page", default=MAX_PER_PAGE, maximum=MAX_PER_PAGE),
    }
