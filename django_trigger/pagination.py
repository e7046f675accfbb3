"""Pages of list results.

``CursorPage`` (runs, bulk actions, deployments: ``page[size]``/``page[after]``/``page[before]``)
and ``OffsetPage`` (schedules, queues: ``page``/``perPage``) share one interface:

    page.data                 the items of this page
    page.has_next_page()      / page.get_next_page()
    page.has_previous_page()  / page.get_previous_page()
    page.iter_pages()         this page, then each following page, fetched lazily
    for item in page: ...     every item of every page, lazily, one page in memory at a time
    len(page.data)            the items of this page (a page has no len(): see ``Page``)

A cursor listing started with ``before=`` walks backwards (towards newer items), like stripe.

A server that answers with the cursor (or page number) of a page already fetched would make
iteration endless: ``ApiSchemaValidationError`` is raised instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django_trigger.exceptions import ApiSchemaValidationError

__all__ = [
    "AsyncCursorPage",
    "AsyncOffsetPage",
    "AsyncPage",
    "AsyncPager",
    "CursorPage",
    "OffsetPage",
    "Page",
    "SyncPage",
]

if TYPE_CHECKING:
    from typing_extensions import Self

T = TypeVar("T")
P = TypeVar("P")


class Page(Generic[T]):
    """What every page has; ``CursorPage``/``OffsetPage`` (sync) and ``AsyncCursorPage``/
    ``AsyncOffsetPage`` add how it is walked."""

    data: list[T]
    # Another page of the same listing from its query parameters (the async client: an
    # awaitable of one).
    _fetch: Callable[[dict[str, Any]], Any]

    def has_next_page(self) -> bool:
        raise NotImplementedError

    def has_previous_page(self) -> bool:
        raise NotImplementedError

    def _forwards(self) -> bool:
        return True

    def _position(self) -> Any:
        """What this page was asked for (a cursor, a page number)."""
        raise NotImplementedError

    def _next_position(self, forwards: bool) -> Any:
        """What the page after this one (in the direction of travel) will be asked for."""
        raise NotImplementedError

    def _params_of(self, forwards: bool) -> dict[str, Any]:
        """The query of the next (``forwards``) or previous page; ``ValueError`` when there is
        none."""
        raise NotImplementedError

    def _get(self, forwards: bool) -> Any:
        """The next or previous page (the async client: an awaitable of it)."""
        return self._fetch(self._params_of(forwards))

    def _following(self, forwards: bool, seen: set[Any]) -> Any:
        """The next page in the direction of travel (a page, or with the async client an
        awaitable of one), ``None`` at the end; ``seen`` guards against endless listings."""
        if not self.data or not (self.has_next_page() if forwards else self.has_previous_page()):
            return None
        position = self._next_position(forwards)
        if position in seen:
            raise _repeated(position)
        seen.add(position)
        return self._get(forwards)

    # No __len__: iterating walks every page, so a len() of this page alone would contradict
    # it (and a len() of the listing would fetch all of it). ``len(page.data)`` is this page.

    def __bool__(self) -> bool:
        """Whether this page has items."""
        return bool(self.data)


class SyncPage(Page[T]):
    """A page of the sync client: ``get_next_page()`` fetches it, ``for`` walks the listing."""

    def get_next_page(self) -> Self:
        page: Self = self._get(True)  # a page of this class: built by the same listing
        return page

    def get_previous_page(self) -> Self:
        page: Self = self._get(False)
        return page

    def iter_pages(self) -> Iterator[Self]:
        page: Self | None = self
        forwards = self._forwards()
        seen = {self._position()}
        while page is not None:
            yield page
            page = page._following(forwards, seen)

    def __iter__(self) -> Iterator[T]:
        forwards = self._forwards()
        for page in self.iter_pages():
            yield from page.data if forwards else reversed(page.data)


class AsyncPage(Page[T]):
    """A page of the async client: ``await page.get_next_page()``, ``async for item in page``
    and ``async for page in page.iter_pages()``, lazily, in the listing's direction."""

    def get_next_page(self) -> Awaitable[Self]:
        page: Awaitable[Self] = self._get(True)
        return page

    def get_previous_page(self) -> Awaitable[Self]:
        page: Awaitable[Self] = self._get(False)
        return page

    async def iter_pages(self) -> AsyncIterator[Self]:
        page: Self | None = self
        forwards = self._forwards()
        seen = {self._position()}
        while page is not None:
            yield page
            following = page._following(forwards, seen)
            page = None if following is None else await following

    async def __aiter__(self) -> AsyncIterator[T]:
        forwards = self._forwards()
        async for page in self.iter_pages():
            for item in page.data if forwards else reversed(page.data):
                yield item

    def __iter__(self) -> Iterator[T]:
        raise TypeError("a page of the async client is iterated with 'async for'")


class AsyncPager(Generic[P, T]):
    """What an async list method returns: ``await`` it for the first page (``P``), or iterate
    it with ``async for`` (every item, ``T``, of every page, lazily)."""

    def __init__(self, first: Awaitable[P]) -> None:
        self._first = first
        self._page: P | None = None

    async def _get(self) -> P:
        if self._page is None:
            self._page = await self._first
        return self._page

    def __await__(self) -> Generator[Any, None, P]:
        return self._get().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._get()
        if not isinstance(page, AsyncPage):  # a raw call's RawResponse has no items
            raise TypeError("a raw response is awaited, not iterated")
        async for item in page:
            yield item

    def __repr__(self) -> str:
        return "<AsyncPager (await it, or iterate it with async for)>"


Fetch = Callable[[dict[str, Any]], Any]


class _Cursor(Page[T]):
    """A page of a cursor listing; ``next_cursor``/``previous_cursor`` are the API's opaque
    ``pagination.next``/``pagination.previous``."""

    def __init__(
        self,
        data: list[T],
        *,
        next_cursor: str | None,
        previous_cursor: str | None,
        params: Mapping[str, Any],
        fetch: Fetch,
    ) -> None:
        self.data = data
        self.next_cursor = next_cursor
        self.previous_cursor = previous_cursor
        self._params = dict(params)
        self._fetch = fetch

    def _forwards(self) -> bool:
        return not self._params.get("page[before]")

    def has_next_page(self) -> bool:
        return bool(self.next_cursor)

    def has_previous_page(self) -> bool:
        return bool(self.previous_cursor)

    def _position(self) -> Any:
        if self._params.get("page[after]"):
            return ("after", self._params["page[after]"])
        if self._params.get("page[before]"):
            return ("before", self._params["page[before]"])
        return ("first",)

    def _next_position(self, forwards: bool) -> Any:
        return ("after", self.next_cursor) if forwards else ("before", self.previous_cursor)

    def _params_of(self, forwards: bool) -> dict[str, Any]:
        cursor = self.next_cursor if forwards else self.previous_cursor
        if not cursor:
            raise ValueError("this is the last page" if forwards else "this is the first page")
        if self._next_position(forwards) == self._position():
            raise _repeated(self._position())
        drop, key = ("page[before]", "page[after]") if forwards else ("page[after]", "page[before]")
        params = {k: v for k, v in self._params.items() if k != drop}
        params[key] = cursor
        return params

    def __repr__(self) -> str:
        return (
            f"<CursorPage of {len(self.data)} items, next={bool(self.next_cursor)}, "
            f"previous={bool(self.previous_cursor)}>"
        )


class _Offset(Page[T]):
    """A page of an offset listing, with the API's totals."""

    def __init__(
        self,
        data: list[T],
        *,
        current_page: int,
        total_pages: int,
        count: int,
        params: Mapping[str, Any],
        fetch: Fetch,
    ) -> None:
        self.data = data
        self.current_page = current_page
        self.total_pages = total_pages
        self.count = count
        self._params = dict(params)
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.current_page < self.total_pages

    def has_previous_page(self) -> bool:
        return self.current_page > 1

    def _position(self) -> Any:
        return self.current_page

    def _next_position(self, forwards: bool) -> Any:
        return self.current_page + (1 if forwards else -1)

    def _params_of(self, forwards: bool) -> dict[str, Any]:
        if forwards and not self.has_next_page():
            raise ValueError("this is the last page")
        if not forwards and not self.has_previous_page():
            raise ValueError("this is the first page")
        return {**self._params, "page": self._next_position(forwards)}

    def __repr__(self) -> str:
        return f"<OffsetPage {self.current_page}/{self.total_pages} of {self.count} items>"


class CursorPage(_Cursor[T], SyncPage[T]):
    """A page of a cursor listing (runs, bulk actions, deployments, ...)."""


class OffsetPage(_Offset[T], SyncPage[T]):
    """A page of an offset listing (schedules, queues), with the API's totals."""


class AsyncCursorPage(_Cursor[T], AsyncPage[T]):
    """``CursorPage`` of the async client (``get_next_page()`` etc. are awaited)."""


class AsyncOffsetPage(_Offset[T], AsyncPage[T]):
    """``OffsetPage`` of the async client (``get_next_page()`` etc. are awaited)."""


def _repeated(position: Any) -> ApiSchemaValidationError:
    what = f"page {position}" if isinstance(position, int) else f"cursor {position[-1]!r}"
    return ApiSchemaValidationError(
        f"the API pointed again to {what}, a page already fetched; stopping the listing "
        "instead of looping forever"
    )
