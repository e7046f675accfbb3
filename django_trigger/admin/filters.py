"""List filters that map one query-string parameter to one API filter.

Every filter validates its value and calls ``queryset.filter(<lookup>=<value>)`` on a
``RemoteQuerySet``; the API does the filtering (never Python over a page). A value that is not
valid raises ``IncorrectLookupParameters`` (the admin's redirect to ``?e=1``), because an
exception from ``ListFilter.queryset`` would otherwise be a server error.

``InputFilter`` is a free-text filter (task, tag, version, schedule, batch): a small GET form
in the sidebar that keeps the other parameters as hidden inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from django_trigger import types
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.credentials import TokenKind
from django_trigger.exceptions import ConfigurationError

if TYPE_CHECKING:
    # What the stubs say a choice is (Django's code: a dict with these keys).
    from django.contrib.admin.filters import _ListFilterChoices

__all__ = [
    "AliasFilter",
    "BatchFilter",
    "CreatedFilter",
    "EnvironmentFilter",
    "InputFilter",
    "IsTestFilter",
    "ScheduleIdFilter",
    "StatusFilter",
    "TagFilter",
    "TaskFilter",
    "VersionFilter",
]


class ApiFilter(admin.SimpleListFilter):
    """A choice filter: ``lookups()`` are the only accepted values."""

    lookup: str = ""

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value is None:
            return queryset
        if value not in {str(choice) for choice, _label in self.lookup_choices}:
            raise IncorrectLookupParameters(f"{self.parameter_name}={value!r}")
        return self.apply(queryset, value)

    def apply(self, queryset: Any, value: str) -> Any:
        try:
            return queryset.filter(**{self.lookup: value})
        except ValueError as err:
            raise IncorrectLookupParameters(err) from err


class AliasFilter(ApiFilter):
    """The ``TRIGGER`` client to read from; shown only when several are configured."""

    title = _("Trigger.dev client")
    parameter_name = "alias"
    lookup = "alias"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        aliases = list(trigger_settings.clients)
        if len(aliases) < 2:
            return []
        return [(alias, alias) for alias in aliases]

    def has_output(self) -> bool:
        return len(self.lookup_choices) > 1

    def choices(self, changelist: Any) -> Iterator[_ListFilterChoices]:
        current = self.value() or DEFAULT_ALIAS
        for alias, label in self.lookup_choices:
            yield {
                "selected": current == alias,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: alias} if alias != DEFAULT_ALIAS else {},
                    remove=[self.parameter_name, PAGE_VAR],
                ),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() is None:
            return queryset
        if self.value() not in trigger_settings.clients:
            raise IncorrectLookupParameters(f"unknown alias {self.value()!r}")
        return self.apply(queryset, self.value())  # type: ignore[arg-type]


class StatusFilter(ApiFilter):
    """One status as the list shows it. The list reports runs in the V2 vocabulary, which
    merges several internal statuses, but the API's filter maps each name to only some of
    them (API.md §6.1.1): ``EXECUTING`` misses retrying runs, which the list shows as
    ``EXECUTING``. So every name whose runs the list shows under this status is sent."""

    title = _("status")
    parameter_name = "status"
    lookup = "status"
    #: V2 status -> the names to filter by (the V1 names cover the merged internal statuses).
    API_NAMES: dict[str, tuple[str, ...]] = {
        "PENDING_VERSION": ("PENDING_VERSION", "WAITING_FOR_DEPLOY"),
        "EXECUTING": ("EXECUTING", "REATTEMPTING"),
        "WAITING": ("WAITING", "FROZEN"),
        "FAILED": ("FAILED", "INTERRUPTED"),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s.value, s.value.replace("_", " ").title()) for s in types.RunStatus.v2()]

    def apply(self, queryset: Any, value: str) -> Any:
        try:
            return queryset.filter(status__in=self.API_NAMES.get(value, (value,)))
        except ValueError as err:
            raise IncorrectLookupParameters(err) from err


class CreatedFilter(ApiFilter):
    """The API's created-at window. Without a choice the API shows the last 7 days
    (API.md §16): the "All" link is relabelled to say so, and the page says it too."""

    title = _("created")
    parameter_name = "created"
    PERIODS = {"1h": "1h", "24h": "1d", "7d": "7d", "30d": "30d"}
    ANY_TIME = "any"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("1h", _("Last hour")),
            ("24h", _("Last 24 hours")),
            ("30d", _("Last 30 days")),
            (self.ANY_TIME, _("Any time")),
        ]

    def choices(self, changelist: Any) -> Iterator[_ListFilterChoices]:
        choices = list(super().choices(changelist))
        choices[0]["display"] = _("Last 7 days (API default)")
        yield from choices

    def apply(self, queryset: Any, value: str) -> Any:
        if value == self.ANY_TIME:
            # from=1 ms after the epoch: any time filter switches the implicit window off
            # (0 would read as "not given").
            from datetime import datetime, timezone

            return queryset.filter(created_after=datetime.fromtimestamp(0.001, tz=timezone.utc))
        return queryset.filter(period=self.PERIODS[value])


class IsTestFilter(ApiFilter):
    title = _("test or live")
    parameter_name = "is_test"
    lookup = "is_test"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("1", _("Test runs")), ("0", _("Live runs"))]


class EnvironmentFilter(ApiFilter):
    """The environment whose variables are listed. A secret key reaches only its own
    environment; a personal access token reaches them all."""

    title = _("environment")
    parameter_name = "environment"
    lookup = "environment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        from django_trigger.clients import get_client
        from django_trigger.models import ENVIRONMENT_CHOICES

        alias = request.GET.get("alias") or DEFAULT_ALIAS
        try:
            client = get_client(alias)
        except ConfigurationError:  # the changelist reports it; the filter offers them all
            return list(ENVIRONMENT_CHOICES)
        if client.token_kind is TokenKind.SECRET_KEY:
            return [
                (slug, label) for slug, label in ENVIRONMENT_CHOICES if slug == client.environment
            ]
        return list(ENVIRONMENT_CHOICES)

    def has_output(self) -> bool:
        return len(self.lookup_choices) > 1

    def choices(self, changelist: Any) -> Iterator[_ListFilterChoices]:
        current = self.value() or changelist.queryset.environment
        for slug, label in self.lookup_choices:
            yield {
                "selected": current == slug,
                "query_string": changelist.get_query_string({self.parameter_name: slug}),
                "display": label,
            }


class InputFilter(admin.ListFilter):
    """A free-text filter rendered as a one-field GET form."""

    template = "admin/django_trigger/input_filter.html"
    parameter_name: str = ""
    lookup: str = ""
    placeholder: Any = ""
    max_length = 255

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        if self.parameter_name in params:
            value = params.pop(self.parameter_name)
            value = value[-1] if isinstance(value, list) else value  # Django 5+: lists
            self.used_parameters[self.parameter_name] = value

    def value(self) -> str | None:
        value = self.used_parameters.get(self.parameter_name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value is None:
            return queryset
        if len(value) > self.max_length or "," in value:
            raise IncorrectLookupParameters(f"invalid {self.parameter_name} {value!r}")
        try:
            return queryset.filter(**{self.lookup: value})
        except ValueError as err:
            raise IncorrectLookupParameters(err) from err

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        query = changelist.get_query_string(remove=[self.parameter_name, PAGE_VAR])
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "hidden": parse_qsl(query.lstrip("?"), keep_blank_values=True),
            "clear_query_string": query,
            "selected": self.value() is not None,
        }


class TaskFilter(InputFilter):
    title = _("task identifier")
    parameter_name = "task"
    lookup = "task_identifier"
    placeholder = _("e.g. send-email")


class TagFilter(InputFilter):
    title = _("tag")
    parameter_name = "tag"
    lookup = "tag"
    placeholder = _("e.g. user_123")
    max_length = 128


class VersionFilter(InputFilter):
    title = _("version")
    parameter_name = "version"
    lookup = "version"
    placeholder = _("e.g. 20240523.1")


class ScheduleIdFilter(InputFilter):
    title = _("schedule")
    parameter_name = "schedule"
    lookup = "schedule"
    placeholder = "sched_…"


class BatchFilter(InputFilter):
    title = _("batch")
    parameter_name = "batch"
    lookup = "batch"
    placeholder = "batch_…"
