"""Waitpoint tokens in the admin: a cursor changelist (filters: status, tag), a read-only
detail page, and a "complete" action (with a confirmation page that takes the JSON data).

Requests: the changelist makes one ``GET /api/v1/waitpoints/tokens`` per page (no count), the
detail page one ``GET /api/v1/waitpoints/tokens/{id}``, the confirmation page none, and a
confirmed completion two per token (``complete_token`` posts, then reads the token back to tell
a completion from a token that had timed out). The callback URL, which completes a token
without a key, is never shown.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_trigger.clients import get_client
from django_trigger.exceptions import ApiError, ConfigurationError, WaitpointTimedOutError
from django_trigger.models import WaitpointToken

from .api import admin_request_options, bump_cache_generation
from .base import Deferred, RemoteModelAdmin, describe_error
from .filters import AliasFilter, ApiFilter, InputFilter

__all__ = ["WaitpointTokenAdmin"]

STATUS_CLASSES = {"WAITING": "waiting", "COMPLETED": "success", "TIMED_OUT": "failed"}


class WaitpointStatusFilter(ApiFilter):
    title = gettext_lazy("status")
    parameter_name = "status"
    lookup = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("WAITING", _("Waiting")),
            ("COMPLETED", _("Completed")),
            ("TIMED_OUT", _("Timed out")),
        ]


class WaitpointTagFilter(InputFilter):
    title = gettext_lazy("tag")
    parameter_name = "tag"
    lookup = "tag"
    placeholder = gettext_lazy("e.g. order:42")
    max_length = 128


class CompleteForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Added here, not declared on the class: a class attribute named ``data`` would hide
        # the form's bound data (``Form.data``) from type checkers and readers.
        self.fields["data"] = forms.CharField(
            label=gettext_lazy("Data (JSON)"),
            initial='{"approved": true}',
            widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
            help_text=gettext_lazy("What the waiting run receives, as JSON."),
        )

    def clean_data(self) -> Any:
        try:
            return json.loads(self.cleaned_data["data"])
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from exc


@admin.register(WaitpointToken)
class WaitpointTokenAdmin(RemoteModelAdmin):
    queryset_class = Deferred("querysets.WaitpointTokenQuerySet")
    changelist_class = Deferred("changelist.CursorChangeList")
    change_list_template = "admin/django_trigger/change_list.html"

    list_display = (
        "id",
        "status_badge",
        "tag_list",
        "created_at",
        "timeout_at",
        "completed_at",
        "idempotency_key",
    )
    list_filter = (AliasFilter, WaitpointStatusFilter, WaitpointTagFilter)
    list_per_page = 50
    actions = ("complete_selected",)
    fields = (
        "id",
        "status_badge",
        "tag_list",
        "idempotency_key",
        "created_at",
        "timeout_at",
        "completed_at",
        "data_display",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_complete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.complete_waitpointtoken")

    # -- columns ----------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("status"))
    def status_badge(self, obj: WaitpointToken) -> str:
        return format_html(
            '<span class="trigger-status trigger-status-{}">{}</span>',
            STATUS_CLASSES.get(obj.status, "other"),
            obj.get_status_display(),
        )

    @admin.display(description=gettext_lazy("tags"))
    def tag_list(self, obj: WaitpointToken) -> str:
        return (
            format_html_join(
                " ", '<span class="trigger-tag">{}</span>', ((tag,) for tag in obj.tags)
            )
            or "-"
        )

    @admin.display(description=gettext_lazy("data"))
    def data_display(self, obj: WaitpointToken) -> str:
        record = obj.record
        if record is None or getattr(record, "output", None) is None:
            return "-"
        if record.output_is_error:
            return record.error_message or "-"
        try:
            value = record.data
        except ValueError as exc:
            return str(exc)
        return format_html(
            '<pre class="trigger-json">{}</pre>',
            json.dumps(value, indent=2, ensure_ascii=False, default=str),
        )

    # -- the action -------------------------------------------------------------------------

    @admin.action(
        description=gettext_lazy("Complete selected waitpoint tokens"), permissions=["complete"]
    )
    def complete_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        ids = queryset.ids()
        alias = queryset.alias
        form = CompleteForm(request.POST if "post" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            return TemplateResponse(
                request,
                "admin/django_trigger/waitpointtoken/complete_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Complete waitpoint tokens"),
                    "opts": self.opts,
                    "ids": ids,
                    "form": form,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "cancel_url": request.get_full_path(),
                },
            )
        self.complete(request, alias, ids, form.cleaned_data["data"])
        return None

    def complete(self, request: HttpRequest, alias: str, ids: list[str], data: Any) -> None:
        """Complete each token; every token is reported by id in the messages."""
        try:
            client = get_client(alias)
            options = admin_request_options(alias)
        except ConfigurationError as err:
            self.message_api_error(request, err)
            return
        done, timed_out, failed = [], [], []
        for token_id in ids:
            try:
                client.waitpoints.complete_token(token_id, data, request_options=options)
                done.append(token_id)
            except WaitpointTimedOutError:
                timed_out.append(token_id)
            except ApiError as err:
                failed.append(f"{token_id}: {describe_error(err)}")
        bump_cache_generation(alias)
        if done:
            self.message_user(
                request,
                _("Completed (or already completed): %(ids)s") % {"ids": ", ".join(done)},
                messages.SUCCESS,
            )
        if timed_out:
            self.message_user(
                request,
                _("Had already timed out, nothing stored: %(ids)s") % {"ids": ", ".join(timed_out)},
                messages.WARNING,
            )
        for line in failed:
            self.message_user(request, line, messages.ERROR)
