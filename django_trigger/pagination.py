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

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django_trigger.exceptions import ApiSchemaValidationError

__all__ = ["CursorPage", "OffsetPage", "Page"]

if TYPE_CHECKING:
    from typing_extensions import Self

T = TypeVar("T")


class Page(Generic[T]):
    data: list[T]

    def has_next_page(self) -> bool:
        raise NotImplementedError

    def get_next_page(self) -> Page[T]:
        raise NotImplementedError

    def has_previous_page(self) -> bool:
        raise NotImplementedError

    def get_previous_page(self) -> Page[T]:
        raise NotImplementedError

    def _forwards(self) -> bool:
        return True

    def _position(self) -> Any:
        """What this page was asked for (a cursor, a page number)."""
        raise NotImplementedError

    def _next_position(self, forwards: bool) -> Any:
        """What the page after this one (in the direction of travel) will be asked for."""
        raise NotImplementedError

    def iter_pages(self) -> Iterator[Self]:
        page: Page[T] = self
        forwards = self._forwards()
        seen = {page._position()}
        while True:
            yield cast("Self", page)  # each following page is of this page's class
            if not page.data or not (page.has_next_page() if forwards
                                     else page.has_previous_page()):
                return
            position = page._next_position(forwards)
            if position in seen:
                raise _repeated(position)
            seen.add(position)
            page = page.get_next_page() if forwards else page.get_previous_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            if self._forwards():
                yield from page.data
            else:
                yield from reversed(page.data)

    # No __len__: iterating walks every page, so a len() of this page alone would contradict
    # it (and a len() of the listing would fetch all of it). ``len(page.data)`` is this page.

    def __bool__(self) -> bool:
        """Whether this page has items."""
        return bool(self.data)


Fetch = Callable[[dict[str, Any]], "Page[T]"]


class CursorPage(Page[T]):
    """A page of a cursor listing; ``next_cursor``/``previous_cursor`` are the API's opaque
    ``pagination.next``/``pagination.previous``."""

    def __init__(
        self,
        data: list[T],
        *,
        next_cursor: str | None,
        previous_cursor: str | None,
        params: Mapping[str, Any],
        fetch: Fetch[T],
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

    def get_next_page(self) -> CursorPage[T]:
        if not self.next_cursor:
            raise ValueError("this is the last page")
        if self._next_position(True) == self._position():
            raise _repeated(self._position())
        params = {k: v for k, v in self._params.items() if k != "page[before]"}
        params["page[after]"] = self.next_cursor
        return self._fetch(params)  # type: ignore[return-value]

    def get_previous_page(self) -> CursorPage[T]:
        if not self.previous_cursor:
            raise ValueError("this is the first page")
        if self._next_position(False) == self._position():
            raise _repeated(self._position())
        params = {k: v for k, v in self._params.items() if k != "page[after]"}
        params["page[before]"] = self.previous_cursor
        return self._fetch(params)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"<CursorPage of {len(self.data)} items, next={bool(self.next_cursor)}, "
            f"previous={bool(self.previous_cursor)}>"
        )


class OffsetPage(Page[T]):
    """A page of an offset listing, with the API's totals."""

    def __init__(
        self,
        data: list[T],
        *,
        current_page: int,
        total_pages: int,
        count: int,
        params: Mapping[str, Any],
        fetch: Fetch[T],
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

    def get_next_page(self) -> OffsetPage[T]:
        if not self.has_next_page():
            raise ValueError("this is the last page")
        return self._fetch({**self._params, "page": self.current_page + 1})  # type: ignore[return-value]

    def get_previous_page(self) -> OffsetPage[T]:
        if not self.has_previous_page():
            raise ValueError("this is the first page")
        return self._fetch({**self._params, "page": self.current_page - 1})  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<OffsetPage {self.current_page}/{self.total_pages} of {self.count} items>"


def _repeated(position: Any) -> ApiSchemaValidationError:
    what = f"page {position}" if isinstance(position, int) else f"cursor {position[-1]!r}"
    return ApiSchemaValidationError(
        f"the API pointed again to {what}, a page already fetched; stopping the listing "
        "instead of looping forever"
    )
