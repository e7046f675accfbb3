"""Schedules in the admin: numbered pages with the API's real count, a create/edit form (cron
checked before sending, time zone chosen from the API's list), and activate / deactivate /
delete actions.

Requests: the changelist makes one ``GET /api/v1/schedules`` (page and count together); the
edit page one ``GET /api/v1/schedules/{id}`` plus the time zone list (``GET /api/v1/timezones``,
cached for a day in Django's cache); saving one POST or PUT; actions one request per schedule.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from django_trigger.clients import get_client
from django_trigger.exceptions import ApiError, ConfigurationError, InvalidRequestError
from django_trigger.models import Schedule

from .api import admin_request_options, bump_cache_generation
from .base import Deferred, describe_error
from .filters import AliasFilter
from .forms_view import RemoteFormAdmin, api_call

__all__ = ["ScheduleAdmin"]

TIMEZONES_CACHE_SECONDS = 24 * 3600


def _one_line(text: str, css: str = "") -> str:
    if not text:
        return "-"
    return format_html('<span class="trigger-one-line {}" title="{}">{}</span>', css, text, text)


@admin.register(Schedule)
class ScheduleAdmin(RemoteFormAdmin):
    queryset_class = Deferred("querysets.ScheduleQuerySet")
    changelist_class = Deferred("changelist.OffsetChangeList")

    list_display = (
        "id",
        "task",
        "cron",
        "cron_description",
        "timezone",
        "active",
        "type",
        "next_run",
        "external_id",
    )

    def get_list_display(self, request: HttpRequest) -> Any:
        # The description and external id are cut to one line (title: the full text), so the
        # table fits a 1280 px screen.
        return tuple(
            {
                "id": "schedule_id",
                "cron": "cron_short",
                "cron_description": "description_short",
                "timezone": "timezone_short",
                "next_run": "next_run_short",
                "external_id": "external_id_short",
            }.get(f, f)
            for f in self.list_display
        )

    def get_list_display_links(self, request: HttpRequest, list_display: Any) -> Any:
        return ("schedule_id",)

    @admin.display(description=gettext_lazy("schedule id"))
    def schedule_id(self, obj: Schedule) -> str:
        return _one_line(obj.pk, "trigger-id")

    @admin.display(description=gettext_lazy("cron"))
    def cron_short(self, obj: Schedule) -> str:
        return _one_line(obj.cron, "trigger-cron")

    @admin.display(description=gettext_lazy("time zone"))
    def timezone_short(self, obj: Schedule) -> str:
        return _one_line(obj.timezone)

    @admin.display(description=gettext_lazy("next run"))
    def next_run_short(self, obj: Schedule) -> str:
        if obj.next_run is None:
            return "-"
        local = timezone.localtime(obj.next_run)
        return format_html(
            '<span title="{}">{}</span>',
            local.isoformat(timespec="seconds"),
            date_format(local, "SHORT_DATETIME_FORMAT"),
        )

    @admin.display(description=gettext_lazy("runs"))
    def description_short(self, obj: Schedule) -> str:
        return _one_line(obj.cron_description)

    @admin.display(description=gettext_lazy("external id"))
    def external_id_short(self, obj: Schedule) -> str:
        return _one_line(obj.external_id or "")

    list_filter = (AliasFilter,)
    change_form_template = "admin/django_trigger/schedule/change_form.html"
    list_per_page = 25
    actions = ("activate_selected", "deactivate_selected", "delete_selected_schedules")

    # -- form -------------------------------------------------------------------------------

    def timezones(self, alias: str) -> list[str]:
        client = get_client(alias)
        key = f"django_trigger:admin:timezones:{client.base_url}"
        zones = cache.get(key)
        if zones is None:
            zones = api_call(
                self,
                lambda: client.schedules.timezones(request_options=admin_request_options(alias)),
            )
            cache.set(key, zones, TIMEZONES_CACHE_SECONDS)
        return zones

    def build_form(self, request: HttpRequest, obj: Any, data: Any = None) -> forms.Form:
        alias = obj.alias if obj is not None else self.request_alias(request)
        zones = self.timezones(alias)
        if obj is not None and obj.timezone not in zones:
            zones = [obj.timezone, *zones]
        initial = (
            {}
            if obj is None
            else {
                "task": obj.task,
                "cron": obj.cron,
                "timezone": obj.timezone,
                "external_id": obj.external_id or "",
            }
        )
        from .forms import ScheduleForm

        form = ScheduleForm(data, initial=initial, timezones=zones, change=obj is not None)
        if obj is not None and obj.is_declarative:
            for field in form.fields.values():
                field.disabled = True
            form.fields["task"].help_text = _(
                "Declarative schedules are defined in code and cannot be edited here."
            )
        return form

    def save_form_to_api(self, request: HttpRequest, form: forms.Form, obj: Any) -> Schedule:
        data = form.cleaned_data
        alias = obj.alias if obj is not None else self.request_alias(request)
        schedules = get_client(alias).schedules
        options = admin_request_options(alias)
        common = {
            "task": data["task"],
            "cron": data["cron"],
            "timezone": data["timezone"],
            "external_id": data.get("external_id") or None,
        }
        if obj is None:
            record = schedules.create(
                deduplication_key=data["deduplication_key"], request_options=options, **common
            )
        else:
            record = schedules.update(obj.pk, request_options=options, **common)
        bump_cache_generation(alias)
        saved = Schedule.from_api(record, alias=alias)
        self.log_change(request, saved, _("Saved through the Trigger.dev API."))
        return saved

    # -- the edit page: its state, and activate/deactivate ---------------------------------

    def form_view(
        self, request: HttpRequest, obj: Any, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if obj is not None and self.has_change_permission(request, obj):
            verb = "deactivate" if obj.active else "activate"
            extra_context = {
                **(extra_context or {}),
                "schedule_toggle": {
                    "url": self.object_url(obj, verb),
                    "label": _("Deactivate") if obj.active else _("Activate"),
                },
            }
        return super().form_view(request, obj, extra_context)

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            *(
                path(
                    f"<path:object_id>/{verb}/",
                    self.admin_site.admin_view(self.toggle_view),
                    {"active": verb == "activate"},
                    name="{}_{}_{}".format(*info, verb),
                )
                for verb in ("activate", "deactivate")
            ),
            *super().get_urls(),
        ]

    def toggle_view(self, request: HttpRequest, object_id: str, active: bool) -> HttpResponse:
        """Activate or deactivate one schedule (POST from its edit page), then back to it."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        alias = self.request_alias(request)
        schedule = Schedule.reference(unquote(object_id), alias=alias)
        schedules = get_client(alias).schedules
        call = schedules.activate if active else schedules.deactivate
        try:
            call(schedule.pk, request_options=admin_request_options(alias))
        except (ApiError, InvalidRequestError, ConfigurationError) as err:
            self.message_user(
                request,
                _("Could not %(verb)s %(id)s: %(error)s")
                % {
                    "verb": _("activate") if active else _("deactivate"),
                    "id": schedule.pk,
                    "error": describe_error(err),
                },
                messages.ERROR,
            )
        else:
            bump_cache_generation(alias)
            self.log_change(request, schedule, _("Activated.") if active else _("Deactivated."))
            self.message_user(
                request,
                (
                    _("Activated %(id)s: it triggers runs again.")
                    if active
                    else _("Deactivated %(id)s: it triggers no runs until it is activated.")
                )
                % {"id": schedule.pk},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self.object_url(schedule))

    # -- deletion (Django's delete view, with the API doing the deleting) -----------------

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        api_call(
            self,
            lambda: get_client(obj.alias).schedules.delete(
                obj.pk, request_options=admin_request_options(obj.alias)
            ),
        )
        bump_cache_generation(obj.alias)

    # -- actions ----------------------------------------------------------------------------

    def _each(
        self, request: HttpRequest, queryset: Any, verb: str, done_label: str, call: Any
    ) -> None:
        alias = queryset.alias
        try:
            schedules = get_client(alias).schedules
            options = admin_request_options(alias)
        except ConfigurationError as err:
            self.message_api_error(request, err)
            return
        done = []
        for schedule_id in queryset.ids():
            try:
                call(schedules, schedule_id, options)
            except (ApiError, InvalidRequestError) as err:
                self.message_user(
                    request,
                    _("Could not %(verb)s %(id)s: %(error)s")
                    % {"verb": verb, "id": schedule_id, "error": describe_error(err)},
                    messages.ERROR,
                )
            else:
                done.append(schedule_id)
        if done:
            bump_cache_generation(alias)
            self.message_user(
                request,
                ngettext(
                    "%(done)s %(count)d schedule: %(ids)s.",
                    "%(done)s %(count)d schedules: %(ids)s.",
                    len(done),
                )
                % {"done": done_label, "count": len(done), "ids": ", ".join(done)},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Activate selected schedules"), permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: Any) -> None:
        self._each(
            request,
            queryset,
            _("activate"),
            _("Activated"),
            lambda api, pk, options: api.activate(pk, request_options=options),
        )

    @admin.action(description=gettext_lazy("Deactivate selected schedules"), permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: Any) -> None:
        self._each(
            request,
            queryset,
            _("deactivate"),
            _("Deactivated"),
            lambda api, pk, options: api.deactivate(pk, request_options=options),
        )

    @admin.action(description=gettext_lazy("Delete selected schedules"), permissions=["delete"])
    def delete_selected_schedules(self, request: HttpRequest, queryset: Any) -> Any:
        if request.POST.get("post") != "yes":
            return self.render_delete_confirmation(request, queryset)
        self._each(
            request,
            queryset,
            _("delete"),
            _("Deleted"),
            lambda api, pk, options: api.delete(pk, request_options=options),
        )
        return None

    def render_delete_confirmation(self, request: HttpRequest, queryset: Any) -> Any:
        from django.contrib.admin import helpers
        from django.template.response import TemplateResponse

        ids = queryset.ids()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delete schedules: are you sure?"),
            "opts": self.opts,
            "ids": ids,
            "action_name": "delete_selected_schedules",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": request.get_full_path(),
        }
        return TemplateResponse(
            request, "admin/django_trigger/delete_selected_confirmation.html", context
        )
