"""A change form for a plain ``forms.Form`` that writes through the API, rendered with the
admin's own ``change_form.html`` (``ModelAdmin.render_change_form``), so add and edit pages of
schedules and environment variables look and behave like any other admin page.

The ModelAdmin supplies ``build_form(request, obj, data)`` and ``save_form_to_api(request,
form, obj)``; API validation errors (400/422) become form errors, other API errors a message
on the re-rendered form.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from django_trigger.exceptions import (
    ApiError,
    BadRequestError,
    ConfigurationError,
    InvalidRequestError,
    UnprocessableEntityError,
)

from .base import ApiUnavailable, RemoteModelAdmin, describe_error

__all__ = ["RemoteFormAdmin"]


class RemoteFormAdmin(RemoteModelAdmin):
    def build_form(self, request: HttpRequest, obj: Any, data: Any = None) -> forms.Form:
        raise NotImplementedError

    def save_form_to_api(self, request: HttpRequest, form: forms.Form, obj: Any) -> Any:
        """Create or update through the API; return the saved object."""
        raise NotImplementedError

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return self.guarded(request, self.form_view, None, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before any request to the API

        def view(request: HttpRequest) -> HttpResponse:
            obj = self.get_object(request, unquote(object_id))
            return self.form_view(request, obj, extra_context)

        return self.guarded(request, view)

    def form_view(
        self, request: HttpRequest, obj: Any, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        add = obj is None
        editable = (
            self.has_add_permission(request) if add else self.has_change_permission(request, obj)
        )
        if request.method == "POST" and not editable:
            raise PermissionDenied
        form = self.build_form(request, obj, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                saved = self.save_form_to_api(request, form, obj)
            except (BadRequestError, UnprocessableEntityError, InvalidRequestError) as err:
                form.add_error(None, getattr(err, "message", None) or str(err))
            except (ApiError, ConfigurationError) as err:
                self.message_user(request, describe_error(err), messages.ERROR)
            else:
                return self.response_saved(request, saved, add)
        if not editable:
            for field in form.fields.values():
                field.disabled = True
        fieldsets = [(None, {"fields": list(form.fields)})]
        # AdminForm and AdminErrorList only read a form's fields and errors: any form does,
        # though django-stubs ask for a ModelForm.
        as_model_form = cast("forms.ModelForm[Any]", form)
        admin_form = helpers.AdminForm(as_model_form, fieldsets, {}, model_admin=self)
        if add:
            title = _("Add %s")
        elif editable:
            title = _("Change %s")
        else:
            title = _("View %s")
        context = {
            **self.admin_site.each_context(request),
            "title": title % self.opts.verbose_name,
            "subtitle": str(obj) if obj else None,
            "adminform": admin_form,
            "object_id": obj.pk if obj else None,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(as_model_form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(
            request, context, add=add, change=not add, obj=obj, form_url=request.get_full_path()
        )

    def response_saved(self, request: HttpRequest, obj: Any, add: bool) -> HttpResponse:
        if add:
            text = _("The %(name)s “%(obj)s” was added.")
        else:
            text = _("The %(name)s “%(obj)s” was changed.")
        self.message_user(
            request, text % {"name": self.opts.verbose_name, "obj": obj}, messages.SUCCESS
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(self.object_url(obj))
        if "_addanother" in request.POST:
            return HttpResponseRedirect(
                self.changelist_url(obj.alias, view="add", **self.list_scope(obj))
            )
        return HttpResponseRedirect(self.changelist_url(obj.alias, **self.list_scope(obj)))

    def list_scope(self, obj: Any) -> dict[str, str]:
        """Changelist parameters that show ``obj`` again (besides the alias)."""
        return {}


def api_call(admin: RemoteModelAdmin, call: Any) -> Any:
    """Run ``call``; turn API errors into ``ApiUnavailable`` (for delete_model and the like)."""
    try:
        return call()
    except (ApiError, ConfigurationError) as err:
        raise ApiUnavailable(err) from err
