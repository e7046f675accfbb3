"""``RemoteModelAdmin``: what the three API-backed admins share.

- the queryset is a ``RemoteQuerySet`` and the changelist one of ``changelist.py``'s;
- no sorting, no facets, no "show all", no ``list_editable``, no ``delete_selected``;
- the ``TRIGGER`` alias (``?alias=``) is carried by every link and form;
- API errors become admin messages on a page that still renders (``message_api_error``,
  ``api_error_response``), never a 500.

``ModelAdmin`` instances are shared between threads: per-request state lives on the request,
the changelist or local variables, never on ``self``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import display_for_field, lookup_field, quote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConfigurationRefusalError,
    InternalServerError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitError,
)

try:  # Django >= 5.0
    from django.contrib.admin import ShowFacets
except ImportError:  # pragma: no cover - Django 4.2
    ShowFacets = None  # type: ignore[assignment,misc]

__all__ = ["ApiUnavailable", "Deferred", "RemoteModelAdmin", "describe_error", "is_http_url"]

logger = logging.getLogger("django_trigger.admin")


class ApiUnavailable(Exception):
    """Raised from ``get_object`` to leave Django's change view with an API error."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def is_http_url(url: object) -> bool:
    """Whether a URL the API returned may become a link: http(s) with a host only."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def describe_error(error: Exception) -> str:
    """A short, user-facing description of an API or configuration error (never a token:
    the exceptions' messages never hold one)."""
    if isinstance(error, ConfigurationError):
        return _("The Trigger.dev client is not configured correctly: %(error)s") % {"error": error}
    if isinstance(error, InvalidRequestError):
        return _("Nothing was sent to Trigger.dev: %(error)s") % {"error": error}
    if isinstance(error, ApiConnectionError):
        return _("The Trigger.dev API could not be reached (%(error)s).") % {"error": error}
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return _("The Trigger.dev API refused the access token (%(error)s).") % {"error": error}
    if isinstance(error, RateLimitError):
        return _("The Trigger.dev API is rate limiting requests (%(error)s).") % {"error": error}
    if isinstance(error, InternalServerError):
        return _("The Trigger.dev API had an internal error (%(error)s).") % {"error": error}
    return _("The Trigger.dev API answered with an error: %(error)s") % {"error": error}


def retry_advice(error: Exception) -> str:
    if isinstance(error, ConfigurationError):
        return _("Fix the TRIGGER setting (python manage.py check lists what is wrong).")
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return _("Check ACCESS_TOKEN in the TRIGGER setting for this client.")
    if isinstance(error, ConfigurationRefusalError):
        if error.reason == ConfigurationRefusalError.PROJECT_REF:
            return _(
                "Set PROJECT_REF in the TRIGGER setting for this client (or the "
                "TRIGGER_PROJECT_REF environment variable): the project's ref (proj_…) from "
                "the dashboard's project settings."
            )
        if error.reason == ConfigurationRefusalError.ENVIRONMENT:
            return _(
                "Set ENVIRONMENT in the TRIGGER setting for this client (dev, staging, prod "
                "or preview)."
            )
        return _(
            "Reloading will not change this: give this client a secret key (tr_dev_…, "
            "tr_prod_…) as ACCESS_TOKEN, or add a TRIGGER alias with one for this page."
        )
    if isinstance(error, RateLimitError):
        seconds = error.seconds_until_reset
        if seconds:
            return _("Try again in %(seconds)d seconds.") % {"seconds": max(1, round(seconds))}
    if isinstance(error, ApiError):
        # The project-scoped endpoints (environment variables) name what does not match.
        text = str(error.error or error).lower()
        if "project ref" in text or "project not found" in text:
            return _(
                "Check PROJECT_REF in the TRIGGER setting for this client: the project's "
                "ref (proj_…) from the dashboard's project settings."
            )
        if "environment slug" in text or "environment not found" in text:
            return _(
                "Check ENVIRONMENT in the TRIGGER setting for this client (dev, staging, "
                "prod or preview, matching the access token)."
            )
        if error.status is not None and 400 <= error.status < 500:
            return _("Reloading will not change this answer: the request itself was refused.")
    return _(
        "This is usually temporary: reload the page in a moment. If it persists, check "
        "API_URL and the Trigger.dev status page."
    )


_CHECKBOX_PK = "\x00pk\x00"
_CHECKBOX_LABEL = "\x00label\x00"


class _CheckboxPlaceholder:
    pk = _CHECKBOX_PK

    def __str__(self) -> str:
        return _CHECKBOX_LABEL


class _SkeletonField:
    """One of Django's read-only fields whose contents is a numbered placeholder; the names
    of the fields whose contents the template showed are appended to ``shown``."""

    def __init__(self, field: Any, shown: list[str]) -> None:
        self._field = field
        self._shown = shown

    def __getattr__(self, name: str) -> Any:
        return getattr(self._field, name)

    def contents(self) -> SafeString:
        self._shown.append(self._field.field["field"])
        return mark_safe(f"\x00{len(self._shown) - 1}\x00")  # noqa: S308 - no markup


class _SkeletonLine:
    def __init__(self, line: Any, shown: list[str]) -> None:
        self._line = line
        self._shown = shown

    def __getattr__(self, name: str) -> Any:
        return getattr(self._line, name)

    def __iter__(self) -> Iterator[_SkeletonField]:
        return (_SkeletonField(field, self._shown) for field in self._line)


class _SkeletonFieldset(_SkeletonLine):
    def __iter__(self) -> Iterator[_SkeletonLine]:  # type: ignore[override]
        return (_SkeletonLine(line, self._shown) for line in self._line)


class Deferred:
    """A class attribute naming a class of this package (``"querysets.RunQuerySet"``),
    imported when first read: ``querysets`` and ``changelist`` load with the first admin page
    rather than when autodiscovery imports the admins at every start-up (issue #14)."""

    def __init__(self, path: str) -> None:
        self.module, self.name = path.rsplit(".", 1)

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        module = importlib.import_module(f"{__package__}.{self.module}")
        return getattr(module, self.name)


class RemoteModelAdmin(admin.ModelAdmin):
    queryset_class: Any = None  # a Deferred RemoteQuerySet subclass
    changelist_class: Any = None  # a Deferred ChangeList subclass of changelist.py

    sortable_by = ()  # the API has one order
    show_full_result_count = False  # never a second count request
    list_max_show_all = 0  # no "Show all" (it would fetch every page)
    list_editable = ()
    date_hierarchy = None
    if ShowFacets is not None:
        show_facets = ShowFacets.NEVER  # facets call aggregate()

    class Media:
        css = {"all": ("django_trigger/admin.css",)}

    # -- the checkbox column ------------------------------------------------------------------

    _checkboxes: dict[str | None, str] = {}  # language -> Django's checkbox HTML, placeholders

    def action_checkbox(self, obj: Any) -> SafeString:
        """Django's checkbox column, with the same HTML, without rendering the widget's
        template for every row (that was a fifth of a 100-row changelist's CPU): Django's
        widget renders it once per language around placeholders, each row fills them in,
        escaped as the widget escapes them."""
        language = get_language()
        html = self._checkboxes.get(language)
        if html is None:
            html = self._checkboxes[language] = str(super().action_checkbox(_CheckboxPlaceholder()))
        return mark_safe(  # noqa: S308 - Django's own HTML; the values are escaped here
            html.replace(_CHECKBOX_PK, escape(str(obj.pk))).replace(
                _CHECKBOX_LABEL, escape(str(obj))
            )
        )

    # the header's markup, where Django's version keeps it on the method (4.2)
    action_checkbox.__dict__.update(vars(admin.ModelAdmin.action_checkbox))

    # -- a read-only detail page's fields ------------------------------------------------

    #: (admin class, language, layout) -> the fieldsets' HTML split around the fields' contents
    #: (static HTML, field name, static HTML, ...).
    _readonly_skeletons: dict[tuple[Any, ...], list[str]] = {}

    def readonly_fieldsets_html(self, request: HttpRequest, context: dict[str, Any]) -> str:
        """The HTML of a read-only detail page's fieldsets, as Django's ``field_sets`` block
        renders them, without rendering the fieldset template for every field on every page
        (that was a third of the run detail's CPU): Django's templates render the fieldsets
        once per language and layout around placeholders, and each page fills in the fields'
        contents, computed and escaped as Django's ``AdminReadonlyField.contents`` does."""
        adminform = context["adminform"]
        obj = adminform.form.instance
        layout = tuple(
            (
                str(name or ""),
                str(opts.get("description") or ""),
                repr(opts.get("classes")),
                repr(opts.get("fields")),
            )
            for name, opts in adminform.fieldsets
        )
        key = (type(self), get_language(), layout, tuple(adminform.readonly_fields))
        parts = self._readonly_skeletons.get(key)
        if parts is None:
            shown: list[str] = []
            skeleton = render_to_string(
                "admin/django_trigger/readonly_fieldsets.html",
                {**context, "adminform": [_SkeletonFieldset(fs, shown) for fs in adminform]},
                request,
            )
            parts = skeleton.split("\x00")  # static HTML, "0", static HTML, "1", ...
            for index in range(1, len(parts), 2):
                parts[index] = shown[int(parts[index])]
            self._readonly_skeletons[key] = parts
        html = parts[:]
        for index in range(1, len(html), 2):
            html[index] = self.readonly_contents(html[index], obj)
        return mark_safe("".join(html))  # noqa: S308 - Django's templates; contents escaped

    def readonly_contents(self, name: str, obj: Any) -> str:
        """``AdminReadonlyField.contents`` for a form without editable fields (and a model
        without relations, as the API-backed models are)."""
        try:
            field, attr, value = lookup_field(name, obj, self)
        except (AttributeError, ValueError, ObjectDoesNotExist):
            return conditional_escape(self.get_empty_value_display())
        if field is not None:
            value = linebreaksbr(display_for_field(value, field, self.get_empty_value_display()))
        elif getattr(attr, "boolean", False):
            from django.contrib.admin.templatetags.admin_list import (  # type: ignore[attr-defined]
                _boolean_icon,  # (imported where used, as Django does: not at start-up)
            )

            value = _boolean_icon(value)
        elif not hasattr(value, "__html__"):
            value = linebreaksbr(value)
        return conditional_escape(value)

    # -- data -----------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> Any:
        """Reads ``?alias=`` itself, so that an unknown alias is refused even when there is
        a single client and the alias filter is hidden."""
        alias = request.GET.get("alias", DEFAULT_ALIAS)
        if alias not in trigger_settings.clients:
            raise IncorrectLookupParameters(f"unknown alias {alias!r}")
        return self.queryset_class(alias=alias)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> Any:
        return self.changelist_class

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 passes where the actions are shown (change list or change form); the
        # parameter must be in the signature there, and older Django versions do not take it.
        if action_location is None:
            actions = super().get_actions(request)
        else:  # (django-stubs do not know the parameter yet)
            get_actions: Callable[..., dict[str, Any]] = super().get_actions
            actions = get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # it walks the database
        return actions

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> tuple[Any, bool]:
        return queryset, False

    def request_scope(
        self, request: HttpRequest, key: str, default: str | None = None
    ) -> str | None:
        """A scope parameter (``alias``, ``environment``) of a detail page or action:
        ``?key=``, else the one the changelist was showing (``_changelist_filters``)."""
        value = request.GET.get(key)
        if value is None:
            preserved = dict(parse_qsl(request.GET.get("_changelist_filters", "")))
            value = preserved.get(key, default)
        return value

    def request_alias(self, request: HttpRequest) -> str:
        """The alias of a detail page or action (``default`` unless given); unknown: 404."""
        alias = self.request_scope(request, "alias", DEFAULT_ALIAS)
        if alias not in trigger_settings.clients:
            raise Http404(_("Unknown Trigger.dev client alias."))
        return alias  # type: ignore[return-value]

    def scope_params(self, obj: Any) -> dict[str, str]:
        """Query parameters that locate ``obj`` besides its id (its alias)."""
        alias = getattr(obj, "alias", DEFAULT_ALIAS)
        return {"alias": alias} if alias != DEFAULT_ALIAS else {}

    def object_queryset(self, request: HttpRequest) -> Any:
        """The queryset ``get_object`` asks (alias and any other scope of the request)."""
        return self.queryset_class(alias=self.request_alias(request))

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        """The object, fetched once per request; ``Http404`` when the API does not know it,
        ``ApiUnavailable`` for any other API error (the views turn it into a page)."""
        cached = getattr(request, "_django_trigger_object", None)
        if cached is not None and cached.pk == object_id:
            return cached
        try:
            obj = self.object_queryset(request).get(pk=object_id)
        except self.model.DoesNotExist:
            raise Http404(
                _("%(name)s “%(key)s” does not exist in this environment.")
                % {"name": self.model._meta.verbose_name.capitalize(), "key": object_id}
            ) from None
        except (ApiError, ConfigurationError, InvalidRequestError) as err:
            raise ApiUnavailable(err) from err
        request._django_trigger_object = obj  # type: ignore[attr-defined]
        return obj

    def guarded(self, request: HttpRequest, view: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        """Call ``view``; an ``ApiUnavailable`` raised inside becomes the error page."""
        try:
            return view(request, *args, **kwargs)
        except ApiUnavailable as exc:
            return self.api_error_response(request, exc.error)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before any request to the API
        return self.guarded(request, super().history_view, object_id, extra_context)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """Nothing cascades: only the objects themselves (Django's default walks the
        database)."""
        perms_needed = (
            set() if self.has_delete_permission(request) else {str(self.model._meta.verbose_name)}
        )
        return (
            [str(obj) for obj in objs],
            {self.model._meta.verbose_name_plural: len(objs)},
            perms_needed,
            [],
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_delete_permission(request):
            raise PermissionDenied  # before any request to the API
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApiUnavailable as exc:  # the deletion failed: its log entry was rolled back
            self.message_api_error(request, exc.error)
            return HttpResponseRedirect(request.get_full_path())

    def object_url(self, obj: Any, view: str = "change") -> str:
        opts = self.model._meta
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{view}",
            args=(quote(obj.pk),),
            current_app=self.admin_site.name,
        )
        scope = self.scope_params(obj)
        return f"{url}?{urlencode(scope)}" if scope else url

    def changelist_url(
        self, alias: str = DEFAULT_ALIAS, view: str = "changelist", **params: str
    ) -> str:
        opts = self.model._meta
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{view}", current_app=self.admin_site.name
        )
        if alias != DEFAULT_ALIAS:
            params["alias"] = alias
        return f"{url}?{urlencode(params)}" if params else url

    # -- errors ---------------------------------------------------------------------------

    def message_api_error(self, request: HttpRequest, error: Exception) -> None:
        logger.warning("Trigger.dev admin: %s", error)
        self.message_user(
            request,
            f"{describe_error(error)} {retry_advice(error)}",
            messages.ERROR,
            fail_silently=True,
        )

    def api_error_response(
        self, request: HttpRequest, error: Exception, status: int = 503
    ) -> HttpResponse:
        """A full admin page explaining that the API failed (the view could not go on). The
        page says it once: no admin message too (the template would show both)."""
        logger.warning("Trigger.dev admin: %s", error)
        if isinstance(error, ConfigurationRefusalError):  # nothing was sent: not the API's doing
            title, status = _("Not possible with this client's settings"), 403
        else:
            title = _("Trigger.dev API unavailable")
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "error": describe_error(error),
            "advice": retry_advice(error),
            "retry_url": request.get_full_path(),
        }
        return TemplateResponse(
            request, "admin/django_trigger/api_error.html", context, status=status
        )
