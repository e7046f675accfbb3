"""Changelists over the API: exactly one API request per changelist view, evaluated inside
``get_results()`` so that an API error becomes an admin message on a page that still renders.

``CursorChangeList`` (runs): the API has cursors and no count, so there are no numbered pages
and no count request. The cursor travels as an opaque token in Django's own page variable
``p`` (``a.<next>`` / ``b.<previous>``): ``ChangeList`` strips ``p`` from its parameters, so
filter, search and "clear all" links start again at the newest page for free, and "Older ›" /
"‹ Newer" keep every filter. A malformed token is an invalid lookup (redirect to ``?e=1``).

``OffsetChangeList`` (schedules): real page numbers and the API's count, from one request
(the page shown is fetched together with the total).

``SinglePageChangeList`` (env vars): the API returns every row at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from django_trigger.conf import DEFAULT_ALIAS
from django_trigger.exceptions import (
    ApiError,
    ConfigurationError,
    ConfigurationRefusalError,
    InvalidRequestError,
)

from .querysets import Page, RemoteQuerySet

if TYPE_CHECKING:
    from .base import RemoteModelAdmin

__all__ = ["CursorChangeList", "OffsetChangeList", "SinglePageChangeList"]

logger = logging.getLogger("django_trigger.admin")

AFTER, BEFORE = "a.", "b."


class RemoteChangeList(ChangeList):
    """What the three changelists share: the error state and links that carry the alias."""

    api_error: Exception | None = None
    page: Page | None = None
    # Set by ChangeList.__init__; only the remote admins use these changelists.
    model_admin: RemoteModelAdmin
    queryset: RemoteQuerySet  # not a QuerySet: the API's pages

    def url_for_result(self, result: Any) -> str:
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(quote(result.pk),),
            current_app=self.model_admin.admin_site.name,
        )
        scope = self.model_admin.scope_params(result)
        return f"{url}?{urlencode(scope)}" if scope else url

    @property
    def alias(self) -> str:
        return getattr(self.queryset, "alias", DEFAULT_ALIAS)

    def fetch(self, request: HttpRequest, **kwargs: Any) -> Page:
        """One API page; API and configuration errors become a message and an empty page."""
        self.api_error = None
        try:
            return self.queryset.fetch_page(**kwargs)
        except (ApiError, ConfigurationError, InvalidRequestError) as err:
            refused_for_the_client = isinstance(err, ConfigurationRefusalError)
            if isinstance(err, InvalidRequestError) and not refused_for_the_client:
                raise IncorrectLookupParameters(err) from err  # a filter value it refuses
            self.api_error = err
            self.model_admin.message_api_error(request, err)
            return Page([])

    def finish(self, items: list[Any], *, result_count: int) -> None:
        self.result_list = items
        self.result_count = result_count
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = self.api_error is None
        self.can_show_all = False


class CursorChangeList(RemoteChangeList):
    next_url: str | None = None
    previous_url: str | None = None

    def get_results(self, request: HttpRequest) -> None:
        after, before = self.parse_page_token(request.GET.get(PAGE_VAR))
        if self.skip_fetch(request):
            page = Page([])
        else:
            page = self.fetch(request, limit=self.list_per_page, after=after, before=before)
        self.page = page
        self.finish(page.items, result_count=len(page.items))
        self.multi_page = False  # no numbered pages: pagination.html shows Older/Newer
        self.paginator = None
        if page.next_cursor:
            self.next_url = self.get_query_string({PAGE_VAR: AFTER + page.next_cursor})
        if page.previous_cursor:
            self.previous_url = self.get_query_string({PAGE_VAR: BEFORE + page.previous_cursor})
        self.has_time_filter = getattr(self.queryset, "has_time_filter", True)
        self.is_first_page = after is None and before is None
        self.first_page_url = self.get_query_string()

    @staticmethod
    def parse_page_token(token: str | None) -> tuple[str | None, str | None]:
        if token is None or token == "1":
            return None, None
        for prefix in (AFTER, BEFORE):
            if token.startswith(prefix) and len(token) > len(prefix):
                cursor = token[len(prefix) :]
                if cursor.isprintable() and " " not in cursor and len(cursor) <= 1000:
                    return (cursor, None) if prefix == AFTER else (None, cursor)
        raise IncorrectLookupParameters(f"invalid page token {token!r}")

    def skip_fetch(self, request: HttpRequest) -> bool:
        """An action POST never renders the list (Django redirects or shows the action's own
        page), so it costs no list request."""
        from django.contrib.admin import helpers

        return (
            request.method == "POST"
            and ("index" in request.POST or helpers.ACTION_CHECKBOX_NAME in request.POST)
            and bool(self.model_admin.get_actions(request))
        )


class OffsetChangeList(RemoteChangeList):
    def get_results(self, request: HttpRequest) -> None:
        per_page = self.list_per_page
        page = self.fetch(request, page=self.page_num, per_page=per_page)
        count = page.count or 0
        if self.page_num > 1 and not page.items and self.api_error is None:
            raise IncorrectLookupParameters(f"page {self.page_num} does not exist")
        self.page = page
        self.finish(page.items, result_count=count)
        self.paginator = Paginator(range(count), per_page)  # page links only; no request
        self.multi_page = count > per_page


class SinglePageChangeList(RemoteChangeList):
    def get_results(self, request: HttpRequest) -> None:
        page = self.fetch(request)
        self.page = page
        self.finish(page.items, result_count=len(page.items))
        self.paginator = Paginator(page.items, max(len(page.items), 1))
        self.multi_page = False
