"""Environment variables in the admin, one environment at a time, values masked.

The list, edit and delete pages never put a value in the HTML. "Reveal" is a POST (with CSRF)
that needs both the change permission and ``reveal_envvar``; it fetches the one variable and
shows its value on that response only (secret variables cannot be read back at all: the API
answers ``<redacted>``), and it is logged in the admin's history.

Requests: the list makes one ``GET …/envvars/{env}`` (the API returns every variable at once);
the edit page and a reveal one ``GET …/envvars/{env}/{name}``; saving one POST or PUT.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters

from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS
from django_trigger.models import ENVIRONMENT_CHOICES, EnvVar

from .api import admin_request_options
from .base import Deferred
from .filters import AliasFilter, EnvironmentFilter
from .forms_view import RemoteFormAdmin, api_call

__all__ = ["MASK", "EnvVarAdmin"]

MASK = "••••••••"


class _Concealed(str):
    """A revealed value: renders as itself, but its repr hides it. Django's template engine
    logs every variable it cannot resolve at DEBUG (``django.template``) with the whole
    context's repr in the exception message (the admin's base template asks for ``subtitle``,
    ``is_popup``…), so a plain string there would reach any DEBUG log handler."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<value hidden>"


_ENVIRONMENTS = {slug for slug, _label in ENVIRONMENT_CHOICES}


@admin.register(EnvVar)
class EnvVarAdmin(RemoteFormAdmin):
    queryset_class = Deferred("querysets.EnvVarQuerySet")
    changelist_class = Deferred("changelist.SinglePageChangeList")
    change_form_template = "admin/django_trigger/envvar/change_form.html"

    list_display = ("name", "masked_value", "is_secret", "environment")
    list_filter = (AliasFilter, EnvironmentFilter)
    list_per_page = 1000
    actions = ()

    # -- permissions ------------------------------------------------------------------------

    def has_reveal_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj) and request.user.has_perm(
            f"{self.opts.app_label}.reveal_envvar"
        )

    # -- scope: alias and environment -----------------------------------------------------

    def request_environment(self, request: HttpRequest) -> str | None:
        environment = self.request_scope(request, "environment")
        if environment is not None and environment not in _ENVIRONMENTS:
            from django.http import Http404

            raise Http404(_("Unknown environment."))
        return environment

    def object_queryset(self, request: HttpRequest) -> Any:
        queryset = super().object_queryset(request)
        environment = self.request_environment(request)
        return queryset.filter(environment=environment) if environment else queryset

    def scope_params(self, obj: Any) -> dict[str, str]:
        params = super().scope_params(obj)
        if obj.environment:
            params["environment"] = obj.environment
        return params

    def list_scope(self, obj: Any) -> dict[str, str]:
        return {"environment": obj.environment} if obj.environment else {}

    # -- columns ----------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("value"))
    def masked_value(self, obj: EnvVar) -> str:
        if obj.is_secret:
            return format_html(
                '<span class="trigger-masked" title="{}">{}</span>',
                _("Secret: cannot be read back"),
                MASK,
            )
        return format_html('<span class="trigger-masked">{}</span>', MASK)

    # -- form -------------------------------------------------------------------------------

    def build_form(self, request: HttpRequest, obj: Any, data: Any = None) -> forms.Form:
        initial = {"name": obj.name} if obj is not None else {}
        from .forms import EnvVarForm

        return EnvVarForm(data, initial=initial, change=obj is not None)

    def save_form_to_api(self, request: HttpRequest, form: forms.Form, obj: Any) -> EnvVar:
        data = form.cleaned_data
        alias = obj.alias if obj is not None else self.request_alias(request)
        environment = obj.environment if obj is not None else self.request_environment(request)
        envvars = get_client(alias).envvars
        options = admin_request_options(alias)
        if obj is None:
            envvars.create(
                data["name"],
                data["value"],
                is_secret=data.get("is_secret") or None,
                environment=environment,
                request_options=options,
            )
            name = data["name"]
        else:
            envvars.update(
                obj.name, data["value"], environment=environment, request_options=options
            )
            name = obj.name
        saved = EnvVar.reference(name, alias=alias)
        saved.environment = environment or get_client(alias).environment or ""
        self.log_change(request, saved, _("Value set through the Trigger.dev API."))
        return saved

    def delete_model(self, request: HttpRequest, obj: EnvVar) -> None:
        api_call(
            self,
            lambda: get_client(obj.alias).envvars.delete(
                obj.name,
                environment=obj.environment or None,
                request_options=admin_request_options(obj.alias),
            ),
        )

    # The value is posted to these views: Django's error reports (the DEBUG 500 page, the
    # mails and logs of django.request) show it as ******** instead.
    @method_decorator(sensitive_post_parameters("value"))
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().add_view(request, form_url, extra_context)

    @method_decorator(sensitive_post_parameters("value"))
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().change_view(request, object_id, form_url, extra_context)

    def form_view(
        self, request: HttpRequest, obj: Any, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_reveal": obj is not None and self.has_reveal_permission(request, obj),
            "reveal_url": self.object_url(obj, "reveal") if obj is not None else None,
            "environment": (
                obj.environment if obj is not None else self.request_environment(request)
            ),
            **(extra_context or {}),
        }
        return super().form_view(request, obj, context)

    # -- reveal -----------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/reveal/",
                self.admin_site.admin_view(self.reveal_view),
                name="{}_{}_reveal".format(*info),
            ),
            *super().get_urls(),
        ]

    def reveal_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_reveal_permission(request):
            raise PermissionDenied

        def view(request: HttpRequest) -> HttpResponse:
            obj = self.get_object(request, unquote(object_id))
            self.log_change(request, obj, _("Revealed the value."))
            context = {
                **self.admin_site.each_context(request),
                "title": _("Value of %(name)s") % {"name": obj.name},
                "opts": self.opts,
                "original": obj,
                "value": None if obj.is_redacted else _Concealed(obj.value),
                "change_url": self.object_url(obj),
                "media": self.media,  # the app's stylesheet (the revealed value's style)
            }
            response = TemplateResponse(request, "admin/django_trigger/envvar/reveal.html", context)
            response["Cache-Control"] = "no-store"
            return response

        return self.guarded(request, view)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        alias = request.GET.get("alias", DEFAULT_ALIAS)
        environment = request.GET.get("environment")
        context = {"environment": environment, "alias": alias, **(extra_context or {})}
        return super().changelist_view(request, context)
