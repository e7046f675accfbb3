"""Queryset-like wrappers: what the admin's ``ChangeList`` asks of a queryset, answered by API
calls.

``ModelAdmin.get_queryset()`` returns one of these. Like a ``QuerySet`` it is an immutable
builder: ``filter()``, ``order_by()``, ``select_related()``, ``distinct()`` return clones and
nothing is fetched until the changelist asks for one page (``fetch_page``) or ``get()`` asks for
one object. What the admin may call and why is listed in STYLE.md ("Admin over remote data").

``filter()`` accepts keyword lookups and AND-ed ``Q`` trees (an OR over one key becomes
``__in``); ``__exact`` and ``__in`` are the only lookups, values are normalised through the
model field (``"1"``/``True`` for booleans), and anything the API cannot filter on raises
``ValueError``, which the admin turns into its "invalid lookup" redirect (``?e=1``) rather
than silently ignoring it. Filters are never applied in Python over a page.

``pk__in`` (what admin actions receive) only records the ids: ``ids()`` answers without a
request. ``alias`` selects the ``TRIGGER`` client.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q

from django_trigger import types
from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.exceptions import (
    ConfigurationError,
    ConfigurationRefusalError,
    InvalidRequestError,
    NotFoundError,
)
from django_trigger.models import EnvVar, Run, Schedule, WaitpointToken

from .api import _cached, admin_request_options, bump_cache_generation

if TYPE_CHECKING:
    from django_trigger.client import TriggerClient
    from django_trigger.pagination import CursorPage

__all__ = [
    "EnvVarQuerySet",
    "Page",
    "RemoteQuerySet",
    "RunQuerySet",
    "ScheduleQuerySet",
    "WaitpointTokenQuerySet",
    "admin_request_options",
    "bump_cache_generation",
]


class Page:
    """One page as the changelist shows it. (A plain class: a dataclass cost ~0.3 ms of every
    start-up.)"""

    __slots__ = ("count", "items", "next_cursor", "previous_cursor")

    def __init__(
        self,
        items: list[Any],
        next_cursor: str | None = None,
        previous_cursor: str | None = None,
        count: int | None = None,  # offset lists only: the API's total
    ) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.previous_cursor = previous_cursor
        self.count = count


class _Query:
    """The two attributes of ``QuerySet.query`` that the changelist reads."""

    select_related = False

    def __init__(self, order_by: tuple[str, ...] = ()) -> None:
        self.order_by = order_by


class RemoteQuerySet:
    model: ClassVar[type[models.Model]]
    #: lookup name -> API keyword argument (the names list filters use)
    api_lookups: ClassVar[dict[str, str]] = {}
    #: API keyword arguments that take several values (``__in``)
    multi_value: ClassVar[frozenset[str]] = frozenset()

    ordered = True  # the API's order; keeps Paginator from warning
    totally_ordered = True  # Django 6.1: no "-pk" tie-breaker needed

    def __init__(self, alias: str = DEFAULT_ALIAS) -> None:
        self.alias = alias
        self.filters: dict[str, Any] = {}
        self.pks: tuple[str, ...] | None = None
        self.query = _Query()
        self._result_cache: list[Any] | None = None

    # -- building ---------------------------------------------------------------------------

    def _clone(self) -> RemoteQuerySet:
        clone = copy.copy(self)
        clone.filters = dict(self.filters)
        clone._result_cache = None
        return clone

    def all(self) -> RemoteQuerySet:
        return self._clone()

    def filter(self, *args: Q, **kwargs: Any) -> RemoteQuerySet:
        clone = self._clone()
        for q in args:
            clone._add_q(q)
        for key, value in kwargs.items():
            clone._add_lookup(key, value)
        return clone

    def order_by(self, *fields: Any) -> RemoteQuerySet:
        """Accepted and recorded, never applied: the API has one order (``Meta.ordering``),
        and ``sortable_by = ()`` keeps the changelist from offering others."""
        clone = self._clone()
        clone.query = _Query(tuple(f for f in fields if isinstance(f, str)))
        return clone

    def select_related(self, *fields: str) -> RemoteQuerySet:
        return self

    def distinct(self, *fields: str) -> RemoteQuerySet:
        return self

    def _add_q(self, q: Q) -> None:
        if q.negated:
            raise ValueError("negated filters cannot be sent to the Trigger.dev API")
        children: list[Any] = list(q.children)  # (lookup, value) pairs and nested Qs
        if q.connector == Q.AND or len(children) <= 1:
            for child in children:
                if isinstance(child, Q):
                    self._add_q(child)
                else:
                    self._add_lookup(*child)
            return
        # OR: only "one key, several values" can be sent (as a comma list).
        keys = {self._split(child[0])[0] for child in children if not isinstance(child, Q)}
        if len(keys) != 1 or any(isinstance(child, Q) for child in children):
            raise ValueError("only filters on one field can be OR-ed for the Trigger.dev API")
        values: list[Any] = []
        for child in children:
            lookup = self._split(child[0])[1]
            values.extend(child[1] if lookup == "in" else [child[1]])
        self._add_lookup(f"{keys.pop()}__in", values)

    def _split(self, key: str) -> tuple[str, str]:
        name, _, lookup = key.partition("__")
        lookup = lookup or "exact"
        if lookup not in ("exact", "in"):
            raise ValueError(f"the {lookup!r} lookup cannot be sent to the Trigger.dev API")
        if name == "pk":
            name = self.model._meta.pk.name
        return name, lookup

    def _add_lookup(self, key: str, value: Any) -> None:
        name, lookup = self._split(key)
        values = list(value) if lookup == "in" else [value]
        if name == "alias":
            if lookup != "exact" or value not in trigger_settings.clients:
                raise ValueError(f"unknown Trigger.dev client alias {value!r}")
            self.alias = value
            return
        if name == self.model._meta.pk.name:
            ids = tuple(str(v) for v in values)
            self.pks = ids if self.pks is None else tuple(i for i in self.pks if i in ids)
            return
        if name not in self.api_lookups:
            raise ValueError(
                f"{self.model._meta.verbose_name_plural} cannot be filtered by {name!r}"
            )
        argument = self.api_lookups[name]
        cleaned = [self.clean_value(name, v) for v in values]
        if argument in self.multi_value:
            previous = self.filters.get(argument)
            if previous is not None:  # AND of two value sets: their intersection
                cleaned = [v for v in cleaned if v in previous]
                if not cleaned:
                    raise ValueError(f"contradictory filters on {name!r}")
            self.filters[argument] = cleaned
        else:
            if len(cleaned) != 1:
                raise ValueError(f"{name!r} takes a single value")
            self.filters[argument] = cleaned[0]

    def clean_value(self, name: str, value: Any) -> Any:
        """A query-string value as the client wants it (model fields convert; the rest must
        be a non-empty string)."""
        field: Any
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:  # an API-only filter (period, created_after, ...)
            field = None
        if isinstance(value, list):
            raise ValueError(f"{name!r} takes one value per lookup")
        if field is not None:
            try:
                value = field.to_python(value)
            except ValidationError as exc:
                raise ValueError(f"invalid value for {name!r}: {exc.messages[0]}") from None
            if isinstance(field, models.CharField) and field.choices:
                if value not in {choice for choice, _ in field.choices}:
                    raise ValueError(f"invalid value for {name!r}: {value!r}")
            return value
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name!r} needs a non-empty value")
        return value.strip()

    # -- what actions use ------------------------------------------------------------------

    def ids(self) -> list[str]:
        """The selected primary keys (``pk__in``), without any request."""
        if self.pks is None:
            raise TypeError("this queryset selects by filter, not by id")
        return list(self.pks)

    def values_list(self, *fields: str, flat: bool = False) -> list[Any]:
        if fields in (("pk",), (self.model._meta.pk.name,)) and flat and self.pks is not None:
            return list(self.pks)
        raise NotImplementedError("only values_list('pk', flat=True) of selected rows")

    # -- evaluation ------------------------------------------------------------------------

    def fetch_page(self) -> Page:
        """The first page (subclasses add their paging keywords: cursor or page number)."""
        raise NotImplementedError

    def _fetch_all(self) -> list[Any]:
        if self._result_cache is None:
            self._result_cache = list(self.fetch_page().items)
        return self._result_cache

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fetch_all())

    def __len__(self) -> int:
        return len(self._fetch_all())

    def __bool__(self) -> bool:
        return bool(self._fetch_all())

    def __getitem__(self, index: int | slice) -> Any:
        if not isinstance(index, int | slice):  # templates try obj["name"] before obj.name
            raise TypeError(f"{type(self).__name__} indices must be integers or slices")
        return self._fetch_all()[index]

    def exists(self) -> bool:
        return bool(self)

    def aggregate(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "the Trigger.dev API cannot aggregate (keep date_hierarchy and facets off)"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} alias={self.alias!r} filters={self.filters!r}>"


# -- runs ---------------------------------------------------------------------------------


class RunQuerySet(RemoteQuerySet):
    """Runs, newest first, through ``client.runs.list`` (cursor pages, no count)."""

    model = Run
    api_lookups: ClassVar[dict[str, str]] = {
        "status": "status",
        "task_identifier": "task_identifier",
        "tag": "tag",
        "tags": "tag",
        "version": "version",
        "is_test": "is_test",
        "schedule": "schedule",
        "batch": "batch",
        "bulk_action": "bulk_action",
        "period": "period",
        "created_after": "from_",
        "created_before": "to",
    }
    multi_value = frozenset({"status", "task_identifier", "tag", "version"})
    #: What the API applies when no time filter is given (API.md §16).
    DEFAULT_PERIOD = "7d"

    def clean_value(self, name: str, value: Any) -> Any:
        # The API filters by either vocabulary (API.md §6.1.1); the model's choices are V2.
        if name == "status" and value in types.RunStatus.__members__:
            return value
        return super().clean_value(name, value)

    @property
    def has_time_filter(self) -> bool:
        return any(key in self.filters for key in ("period", "from_", "to"))

    def api_filters(self) -> dict[str, Any]:
        """The filters as ``runs.list`` keywords, with the API's implicit window spelled out
        (what a bulk action over "everything listed" must use)."""
        filters = dict(self.filters)
        if "status" in filters:
            # A bulk action's filter takes the V2 names only (API.md §6.8); the V1 names the
            # status filter adds for the run list would be refused.
            v2 = {str(status) for status in types.RunStatus.v2()}
            filters["status"] = [s for s in filters["status"] if s in v2]
        if not self.has_time_filter:
            filters["period"] = self.DEFAULT_PERIOD
        return filters

    def fetch_page(
        self, *, limit: int = 100, after: str | None = None, before: str | None = None
    ) -> Page:
        if self.pks is not None:
            raise TypeError("runs selected by id are not listed")
        return _cursor_page(
            self, "run", lambda client: client.runs.list, types.RunListItem, limit, after, before
        )

    def get(self, **kwargs: Any) -> Run:
        record = _get_record(self, kwargs, lambda client: client.runs.retrieve)
        return Run.from_api(record, alias=self.alias)

    def count(self) -> int:
        raise NotImplementedError("the runs API has no count; use CursorChangeList")


# -- schedules ----------------------------------------------------------------------------


class ScheduleQuerySet(RemoteQuerySet):
    """Schedules through ``client.schedules.list`` (offset pages with a total count)."""

    model = Schedule

    def fetch_page(self, *, page: int = 1, per_page: int = 100) -> Page:
        """One page and the API's total, in one request."""

        def fetch() -> dict[str, Any]:
            result = get_client(self.alias).schedules.list(
                page=page,
                per_page=per_page,
                request_options=admin_request_options(self.alias),
            )
            return {"data": [item.raw for item in result.data], "count": result.count}

        raw = _cached(self.alias, {"model": "schedule", "page": page, "per": per_page}, fetch)
        return Page(
            [
                Schedule.from_api(types.Schedule.from_api(item), alias=self.alias)
                for item in raw["data"]
            ],
            count=raw["count"],
        )

    def count(self) -> int:
        return self.fetch_page(per_page=1).count or 0

    def get(self, **kwargs: Any) -> Schedule:
        record = _get_record(self, kwargs, lambda client: client.schedules.retrieve)
        return Schedule.from_api(record, alias=self.alias)


# -- environment variables ----------------------------------------------------------------


class EnvVarQuerySet(RemoteQuerySet):
    """The variables of one environment through ``client.envvars.list`` (one plain list:
    the API does not paginate it)."""

    model = EnvVar
    api_lookups: ClassVar[dict[str, str]] = {"environment": "environment"}

    def __init__(self, alias: str = DEFAULT_ALIAS) -> None:
        super().__init__(alias)

    @property
    def environment(self) -> str | None:
        """The environment listed: the filter's, else the client's own."""
        chosen = self.filters.get("environment")
        if chosen:
            return chosen
        try:
            return get_client(self.alias).environment
        except ConfigurationError:  # the changelist reports it
            return None

    def fetch_page(self) -> Page:
        environment = self.environment
        result = get_client(self.alias).envvars.list(
            environment=environment, request_options=admin_request_options(self.alias)
        )
        items = [
            EnvVar.from_api(item, environment=environment or "", alias=self.alias)
            for item in sorted(result, key=lambda var: var.name)
        ]
        return Page(items, count=len(items))

    def count(self) -> int:
        return len(self)

    def get(self, **kwargs: Any) -> EnvVar:
        environment = self.environment
        record = _get_record(
            self, kwargs, lambda client: client.envvars.retrieve, environment=environment
        )
        return EnvVar.from_api(record, environment=environment or "", alias=self.alias)


def _get_record(
    queryset: RemoteQuerySet,
    kwargs: dict[str, Any],
    retrieve: Callable[[TriggerClient], Callable[..., Any]],
    **options: Any,
) -> Any:
    """The API's record behind ``get(pk=...)``: ``retrieve(client)(pk, **options)``; the
    model's ``DoesNotExist`` for a key the API does not know (or the client refuses). A call
    refused for the alias's kind of token stays what it is: the page says so."""
    pk = _single_pk(queryset, kwargs)
    client = get_client(queryset.alias)
    try:
        return retrieve(client)(
            pk, **options, request_options=admin_request_options(queryset.alias)
        )
    except ConfigurationRefusalError:
        raise
    except (NotFoundError, InvalidRequestError):
        raise queryset.model.DoesNotExist(pk) from None  # type: ignore[attr-defined]


def _cursor_page(
    queryset: RemoteQuerySet,
    model: str,
    list_of: Callable[[TriggerClient], Callable[..., CursorPage[Any]]],
    item: Any,
    limit: int,
    after: str | None,
    before: str | None,
) -> Page:
    """One page of a list the API serves in cursor pages (runs, waitpoint tokens): the
    filters through ``list_of(client)``, cached (per ``model`` and arguments) as raw records
    that ``item`` parses."""

    def fetch() -> dict[str, Any]:
        page = list_of(get_client(queryset.alias))(
            **queryset.filters,
            limit=limit,
            after=after,
            before=before,
            request_options=admin_request_options(queryset.alias),
        )
        return {
            "data": [record.raw for record in page.data],
            "next": page.next_cursor,
            "previous": page.previous_cursor,
        }

    parts = {
        "model": model,
        "filters": queryset.filters,
        "limit": limit,
        "after": after,
        "before": before,
    }
    raw = _cached(queryset.alias, parts, fetch)
    return Page(
        [
            queryset.model.from_api(item.from_api(data), alias=queryset.alias)  # type: ignore[attr-defined]
            for data in raw["data"]
        ],
        next_cursor=raw["next"],
        previous_cursor=raw["previous"],
    )


def _single_pk(queryset: RemoteQuerySet, kwargs: dict[str, Any]) -> str:
    pk_name = queryset.model._meta.pk.name
    if set(kwargs) - {"pk", pk_name}:
        raise ValueError(f"get() takes only the primary key ({pk_name})")
    value = kwargs.get(pk_name, kwargs.get("pk"))
    if not isinstance(value, str) or not value:
        raise queryset.model.DoesNotExist(value)  # type: ignore[attr-defined]  # every model has it
    return value


# -- waitpoint tokens ---------------------------------------------------------------------


class WaitpointTokenQuerySet(RemoteQuerySet):
    """Waitpoint tokens, newest first, through ``client.waitpoints.list_tokens`` (cursor
    pages, no count)."""

    model = WaitpointToken
    api_lookups: ClassVar[dict[str, str]] = {"status": "status", "tag": "tags", "tags": "tags"}
    multi_value = frozenset({"status", "tags"})

    def fetch_page(
        self, *, limit: int = 100, after: str | None = None, before: str | None = None
    ) -> Page:
        if self.pks is not None:
            raise TypeError("tokens selected by id are not listed")
        return _cursor_page(
            self,
            "waitpointtoken",
            lambda client: client.waitpoints.list_tokens,
            types.WaitpointToken,
            limit,
            after,
            before,
        )

    def get(self, **kwargs: Any) -> WaitpointToken:
        record = _get_record(self, kwargs, lambda client: client.waitpoints.retrieve_token)
        return WaitpointToken.from_api(record, alias=self.alias)

    def count(self) -> int:
        raise NotImplementedError("the waitpoint tokens API has no count; use CursorChangeList")
