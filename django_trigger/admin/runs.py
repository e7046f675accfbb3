"""Runs in the admin: a cursor changelist, a read-only detail page and four actions.

Requests per page: the changelist makes one ``GET /api/v1/runs`` (none for counting), the
detail page one ``GET /api/v3/runs/{id}``, an action page none until confirmed, and a
confirmed action one request per run, or one bulk action (``POST /api/v1/bulk-actions``) for
cancel/replay of more than ``BULK_THRESHOLD`` runs or of "all runs matching the filters".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal, NamedTuple
from urllib.parse import quote as urlquote
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from django_trigger import types
from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.exceptions import (
    ApiError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
)
from django_trigger.models import Run

from .api import admin_request_options, bump_cache_generation
from .base import ApiUnavailable, Deferred, RemoteModelAdmin, describe_error, is_http_url
from .filters import (
    AliasFilter,
    BatchFilter,
    CreatedFilter,
    IsTestFilter,
    ScheduleIdFilter,
    StatusFilter,
    TagFilter,
    TaskFilter,
    VersionFilter,
)

__all__ = ["BULK_THRESHOLD", "RunAdmin"]

#: The bulk action status page reloads itself this often while the action is pending.
BULK_REFRESH_SECONDS = 3
#: Cancel/replay of more runs than this goes through one server-side bulk action.
BULK_THRESHOLD = 20
_RUN_ID = re.compile(r"run_[A-Za-z0-9]+")

STATUS_CLASSES = {
    "COMPLETED": "success",
    "FAILED": "failed",
    "CRASHED": "failed",
    "SYSTEM_FAILURE": "failed",
    "TIMED_OUT": "failed",
    "EXPIRED": "failed",
    "INTERRUPTED": "failed",
    "CANCELED": "canceled",
    "EXECUTING": "running",
    "DEQUEUED": "running",
    "REATTEMPTING": "running",
    "WAITING": "waiting",
    "FROZEN": "waiting",
    "QUEUED": "queued",
    "DELAYED": "queued",
    "PENDING_VERSION": "queued",
    "WAITING_FOR_DEPLOY": "queued",
}


STATUS_REFRESH_MS = 3000  # how often an unfinished run's detail page asks for its status


class RunAction(NamedTuple):  # (a frozen dataclass cost ~0.5 ms of every start-up)
    name: str  # URL segment and permission verb stem
    permission: str  # has_<permission>_permission
    label: Any
    done: Any  # "Cancelled" … used in messages
    form_name: str | None = None  # its form's class in forms.py (loaded with the first form)
    bulk: Literal["cancel", "replay"] | None = None  # the bulk action doing it server-side
    #: Why this action does not apply to a run of the given status (None: it applies). The
    #: API would accept some of these anyway (cancelling a finished run answers 200).
    refuses: Callable[[str], Any] | None = None

    def form(self, *args: Any) -> forms.Form | None:
        """A new form of this action (bound to ``args``, the POST data), or None."""
        if self.form_name is None:
            return None
        from . import forms as action_forms

        form_class: type[forms.Form] = getattr(action_forms, self.form_name)
        return form_class(*args)

    def refusal(self, status: str) -> str | None:
        reason = self.refuses(status) if self.refuses else None
        return str(reason) if reason else None


def _cancel_refusal(status: str) -> Any:
    if types.RunStatus(status).is_final:
        return _("it has already finished (%(status)s), there is nothing to cancel") % {
            "status": _status_label(status)
        }
    return None


def _reschedule_refusal(status: str) -> Any:
    if status != types.RunStatus.DELAYED:
        return _("only delayed runs can be rescheduled, and it is %(status)s") % {
            "status": _status_label(status)
        }
    return None


def _status_label(status: str) -> str:
    return status.replace("_", " ").lower()


ACTIONS = {
    "cancel": RunAction(
        "cancel",
        "cancel",
        gettext_lazy("Cancel"),
        gettext_lazy("Cancelled"),
        bulk="cancel",
        refuses=_cancel_refusal,
    ),
    "replay": RunAction(
        "replay", "replay", gettext_lazy("Replay"), gettext_lazy("Replayed"), bulk="replay"
    ),
    "reschedule": RunAction(
        "reschedule",
        "reschedule",
        gettext_lazy("Reschedule"),
        gettext_lazy("Rescheduled"),
        form_name="RescheduleForm",
        refuses=_reschedule_refusal,
    ),
    "tag": RunAction(
        "tag", "tag", gettext_lazy("Add tags"), gettext_lazy("Tagged"), form_name="AddTagsForm"
    ),
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _pre(value: Any) -> str:
    if value is None:
        return "-"
    return format_html('<pre class="trigger-json">{}</pre>', _pretty(value))


def _external_link(url: str, label: str) -> str:
    """A link to a URL the API gave, only if it is http(s): anything else (``javascript:``,
    ``data:``…) would run in the admin's origin when clicked, so it is shown as text."""
    if is_http_url(url):
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, label)
    return format_html("{} <code>{}</code>", _("Not a web link, not opened:"), url)


def _dashboard_url(alias: str) -> str | None:
    try:
        return trigger_settings.get(alias).dashboard_url
    except ConfigurationError:
        return None


def describe_action_error(error: Exception) -> str:
    """What went wrong with one run's action, plainly: the API's own sentence for a refused
    request ("Cannot reschedule a run that is not delayed."), the full description otherwise
    (unreachable, internal error...)."""
    if (
        isinstance(error, ApiError)
        and error.status is not None
        and 400 <= error.status < 500
        and error.status not in (401, 403, 429)
        and isinstance(error.error, str)
    ):
        return error.error.rstrip(".") + "."
    if isinstance(error, InvalidRequestError):
        return str(error)
    return describe_error(error)


def format_duration(ms: float) -> str:
    if not ms:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_cost(cents: float) -> str:
    if not cents:
        return "$0"
    return "$" + f"{cents / 100:.6f}".rstrip("0").rstrip(".")


def _log_message(spec: RunAction, data: dict[str, Any]) -> str:
    if spec.name == "reschedule":
        return f"{spec.done}: {data['delay']}"
    if spec.name == "tag":
        return f"{spec.done}: {', '.join(data['tags'])}"
    return str(spec.done)


@admin.register(Run)
class RunAdmin(RemoteModelAdmin):
    queryset_class = Deferred("querysets.RunQuerySet")
    changelist_class = Deferred("changelist.CursorChangeList")
    change_form_template = "admin/django_trigger/run/change_form.html"

    # Chosen to fit a 1280 px screen: version and test/live are filters and on the detail page.
    list_display = (
        "run_id",
        "task_identifier",
        "status_badge",
        "created",
        "duration",
        "cost",
        "tag_list",
    )
    list_display_links = ("run_id",)
    list_filter = (
        AliasFilter,
        StatusFilter,
        CreatedFilter,
        TaskFilter,
        TagFilter,
        VersionFilter,
        IsTestFilter,
        ScheduleIdFilter,
        BatchFilter,
    )
    list_per_page = 50
    search_fields = ("id",)  # renders the box; get_search_results maps the term to the API
    search_help_text = gettext_lazy(
        "Enter a run id (run_…) to open that run, or a tag to list the runs with it. (The "
        "runs API cannot search by idempotency key.)"
    )
    actions = ("cancel_selected", "replay_selected", "reschedule_selected", "tag_selected")

    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "task_identifier",
                    "status_badge",
                    "test_or_live",
                    "version",
                    "tag_list",
                    "idempotency_key",
                    "dashboard_link",
                )
            },
        ),
        (
            gettext_lazy("Timings"),
            {
                "fields": (
                    "created_at",
                    "updated_at",
                    "started_at",
                    "finished_at",
                    "delayed_until",
                    "expired_at",
                    "ttl",
                    "duration",
                    "cost",
                )
            },
        ),
        (
            gettext_lazy("Execution"),
            {
                "fields": (
                    "trigger_function",
                    "depth",
                    "batch_id",
                    "schedule_display",
                    "attempt_count",
                    "region",
                    "related_runs",
                )
            },
        ),
        (gettext_lazy("Payload"), {"fields": ("payload_display",)}),
        (gettext_lazy("Output"), {"fields": ("output_display",)}),
        (gettext_lazy("Error"), {"fields": ("error_display",)}),
        (gettext_lazy("Metadata"), {"fields": ("metadata_display",)}),
    )

    # -- permissions ------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _has(self, request: HttpRequest, codename: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "cancel_run")

    def has_replay_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "replay_run")

    def has_reschedule_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "reschedule_run")

    def has_tag_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "tag_run")

    def has_action_permission(self, request: HttpRequest, action: RunAction) -> bool:
        check: Callable[[HttpRequest], bool] = getattr(self, f"has_{action.permission}_permission")
        return self.has_view_permission(request) and check(request)

    # -- columns ----------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("status"))
    def status_badge(self, obj: Run) -> str:
        css = STATUS_CLASSES.get(obj.status, "other")
        return format_html(
            '<span class="trigger-status trigger-status-{}">{}</span>',
            css,
            obj.status.replace("_", " ").title(),
        )

    @admin.display(description=gettext_lazy("run id"))
    def run_id(self, obj: Run) -> str:
        return format_html(
            '<span class="trigger-one-line trigger-id" title="{}">{}</span>', obj.id, obj.id
        )

    @admin.display(description=gettext_lazy("created"))
    def created(self, obj: Run) -> str:
        if obj.created_at is None:
            return "-"
        local = timezone.localtime(obj.created_at)
        return format_html(
            '<span title="{}">{}</span>',
            local.isoformat(timespec="seconds"),
            date_format(local, "SHORT_DATETIME_FORMAT"),
        )

    @admin.display(description=gettext_lazy("duration"))
    def duration(self, obj: Run) -> str:
        return format_duration(obj.duration_ms)

    @admin.display(description=gettext_lazy("cost"))
    def cost(self, obj: Run) -> str:
        return format_cost(obj.cost_in_cents + obj.base_cost_in_cents)

    @admin.display(description=gettext_lazy("tags"))
    def tag_list(self, obj: Run) -> str:
        if not obj.tags:
            return "-"
        # One line, cut with an ellipsis by the stylesheet; the title has every tag.
        return format_html(
            '<span class="trigger-tags" title="{}">{}</span>',
            ", ".join(obj.tags),
            format_html_join(
                " ", '<span class="trigger-tag">{}</span>', ((tag,) for tag in obj.tags)
            ),
        )

    @admin.display(description=gettext_lazy("test/live"))
    def test_or_live(self, obj: Run) -> str:
        return _("Test") if obj.is_test else _("Live")

    # -- detail fields ----------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Without a dashboard for the run's client (an emulator or a self-hosted API and no
        ``DASHBOARD_URL``) the row is left out rather than linking to the cloud."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and _dashboard_url(obj.alias) is None:
            first, *rest = fieldsets
            fields = tuple(f for f in first[1]["fields"] if f != "dashboard_link")
            fieldsets = ((first[0], {**first[1], "fields": fields}), *rest)
        return fieldsets

    @admin.display(description=gettext_lazy("Trigger.dev dashboard"))
    def dashboard_link(self, obj: Run) -> str:
        base = _dashboard_url(obj.alias)
        if base is None:
            return "-"
        url = f"{base}/runs/{urlquote(obj.id, safe='')}"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            url,
            _("Open this run in the Trigger.dev dashboard"),
        )

    @admin.display(description=gettext_lazy("payload"))
    def payload_display(self, obj: Run) -> str:
        record = obj.record
        if getattr(record, "payload_presigned_url", None):
            return _external_link(
                record.payload_presigned_url, _("Payload stored externally (download)")
            )
        return _pre(getattr(record, "payload", None))

    @admin.display(description=gettext_lazy("output"))
    def output_display(self, obj: Run) -> str:
        record = obj.record
        if getattr(record, "output_presigned_url", None):
            return _external_link(
                record.output_presigned_url, _("Output stored externally (download)")
            )
        return _pre(getattr(record, "output", None))

    @admin.display(description=gettext_lazy("error"))
    def error_display(self, obj: Run) -> str:
        error = getattr(obj.record, "error", None)
        if error is None:
            return "-"
        heading = f"{error.name}: {error.message}" if error.name else error.message
        return format_html(
            '<pre class="trigger-json">{}{}</pre>',
            heading,
            f"\n\n{error.stack_trace}" if error.stack_trace else "",
        )

    @admin.display(description=gettext_lazy("metadata"))
    def metadata_display(self, obj: Run) -> str:
        # "$$…" keys are the SDK's own bookkeeping (``$$streams``), which the list omits too.
        metadata = getattr(obj.record, "metadata", None)
        if isinstance(metadata, dict):
            metadata = {k: v for k, v in metadata.items() if not str(k).startswith("$$")}
        return _pre(metadata or None)

    @admin.display(description=gettext_lazy("schedule"))
    def schedule_display(self, obj: Run) -> str:
        schedule = getattr(obj.record, "schedule", None)
        if schedule is None:
            return "-"
        return format_html(
            "{} — <code>{}</code> {}",
            schedule.id,
            schedule.generator.expression,
            schedule.generator.description,
        )

    @admin.display(description=gettext_lazy("related runs"))
    def related_runs(self, obj: Run) -> str:
        related = getattr(obj.record, "related_runs", None)
        if related is None:
            return "-"
        rows = []
        for label, runs in (
            (_("root"), [related.root]),
            (_("parent"), [related.parent]),
            (_("child"), related.children),
        ):
            for run in runs:
                if run is not None:
                    rows.append(
                        (
                            label,
                            self.object_url(Run.reference(run.id, alias=obj.alias)),
                            run.id,
                            run.status,
                        )
                    )
        if not rows:
            return "-"
        # (format_html without arguments is deprecated in Django 5.x and an error in 6.0)
        return format_html_join(mark_safe("<br>"), '{}: <a href="{}">{}</a> ({})', rows)

    # -- changelist -------------------------------------------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> tuple[Any, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(tag=term), False
        except ValueError as err:
            raise IncorrectLookupParameters(err) from err

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        term = request.GET.get("q", "").strip()
        if request.method == "GET" and _RUN_ID.fullmatch(term):
            if not self.has_view_permission(request):
                raise PermissionDenied
            self.request_alias(request)  # an unknown alias is a 404, not "no such run"
            # One request to know it exists: an unknown id stays on the list with a message
            # instead of landing on a 404 page.
            try:
                run = self.get_object(request, term)
            except Http404:
                self.message_user(
                    request,
                    _(
                        "No run with the id %(id)s in this environment (the search looks up run "
                        "ids exactly)."
                    )
                    % {"id": term},
                    messages.WARNING,
                )
                query = request.GET.copy()
                del query["q"]
                url = self.changelist_url()
                return HttpResponseRedirect(f"{url}?{query.urlencode()}" if query else url)
            except ApiUnavailable as exc:
                self.message_api_error(request, exc.error)
                return super().changelist_view(request, extra_context)
            return HttpResponseRedirect(self.object_url(run))
        return super().changelist_view(request, extra_context)

    # -- detail -----------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied  # before any request to the API
        try:
            obj = self.get_object(request, unquote(object_id))
        except ApiUnavailable as exc:
            return self.api_error_response(request, exc.error)
        context = {
            "run_actions": [
                (action.label, self.object_url(obj, action.name))
                for action in ACTIONS.values()
                if self.has_action_permission(request, action) and not action.refusal(obj.status)
            ],
            # A run that can still change refreshes its status in place (run_status.js).
            "run_status_url": None if obj.is_final else self.object_url(obj, "status"),
            "run_status_interval_ms": STATUS_REFRESH_MS,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        response = super().render_change_form(request, context, add, change, form_url, obj)
        # The fields (run/change_form.html's field_sets block), from the page's whole context.
        data = response.context_data  # type: ignore[attr-defined]
        data["readonly_fieldsets"] = self.readonly_fieldsets_html(request, data)
        return response

    def run_status_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The run's status as JSON for the detail page's refresh: one ``runs.retrieve``, with
        the page's own permission check (view permission, the alias of the page)."""
        if not self.has_view_permission(request):
            return JsonResponse(
                {"error": _("You do not have permission to view runs.")}, status=403
            )
        try:
            obj = self.get_object(request, unquote(object_id))
        except Http404 as exc:
            return JsonResponse({"error": str(exc)}, status=404)
        except ApiUnavailable as exc:
            return JsonResponse({"error": describe_error(exc.error)}, status=503)
        final = obj.is_final
        return JsonResponse(
            {
                "id": obj.pk,
                "status": obj.status,
                "status_html": self.status_badge(obj),
                "final": final,
                "message": _("The run has finished. Reload the page to see its result.")
                if final
                else "",
                "reload": _("Reload"),
            }
        )  # admin_view adds never_cache

    # -- actions ----------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        urls = [
            # Before the run URLs: "bulk-actions/<id>/" would otherwise be read as a run id.
            path(
                "bulk-actions/<str:bulk_action_id>/",
                self.admin_site.admin_view(self.bulk_action_view),
                name="{}_{}_bulk_action".format(*info),
            ),
            *(
                path(
                    f"<path:object_id>/{name}/",
                    self.admin_site.admin_view(self.run_action_view),
                    {"action": name},
                    name="{}_{}_{}".format(*info, name),
                )
                for name in ACTIONS
            ),
        ]
        urls.append(
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.run_status_view),
                name="{}_{}_status".format(*info),
            )
        )
        return urls + super().get_urls()

    def run_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """One run's action page: GET asks for confirmation (no API request), POST does it."""
        spec = ACTIONS[action]
        if not self.has_action_permission(request, spec):
            raise PermissionDenied
        alias = self.request_alias(request)
        run = Run.reference(unquote(object_id), alias=alias)
        detail_url = self.object_url(run)
        if spec.refuses:  # one retrieve: offer the action only if it applies to the run now
            try:
                current = self.get_object(request, run.id)
            except Http404:
                self.message_user(
                    request,
                    _("Could not %(action)s %(run)s: no such run in this environment.")
                    % {"action": str(spec.label).lower(), "run": run.id},
                    messages.ERROR,
                )
                return HttpResponseRedirect(self.changelist_url(alias))
            except ApiUnavailable as exc:
                return self.api_error_response(request, exc.error)
            reason = spec.refusal(current.status)
            if reason:
                self.message_user(
                    request,
                    _("Did not %(action)s %(run)s: %(reason)s.")
                    % {"action": str(spec.label).lower(), "run": run.id, "reason": reason},
                    messages.WARNING,
                )
                return HttpResponseRedirect(detail_url)
        form = None
        if request.method == "POST":
            form = spec.form(request.POST)
            if form is None or form.is_valid():
                self.perform(
                    request, spec, alias, [run.id], form.cleaned_data if form else {}, checked=True
                )
                return HttpResponseRedirect(detail_url)
        else:
            form = spec.form()
        return self.render_confirmation(request, spec, alias, [run.id], form, cancel_url=detail_url)

    def _action(self, request: HttpRequest, queryset: Any, name: str) -> HttpResponse | None:
        """The changelist's bulk action: confirmation page first, then ``perform``."""
        spec = ACTIONS[name]
        select_across = request.POST.get("select_across") == "1"
        if select_across and not spec.bulk:
            self.message_user(
                request,
                _(
                    "“%(action)s” cannot be applied to every run matching the filters; select "
                    "the runs on the page instead."
                )
                % {"action": spec.label},
                messages.ERROR,
            )
            return None
        ids = [] if select_across else queryset.ids()
        form = None
        if request.POST.get("post") == "yes":
            form = spec.form(request.POST)
            if form is None or form.is_valid():
                data = form.cleaned_data if form else {}
                if select_across:
                    status_url = self.perform_bulk_filter(request, spec, queryset)
                else:
                    status_url = self.perform(request, spec, queryset.alias, ids, data)
                if status_url:  # a bulk action started: follow its progress
                    return HttpResponseRedirect(status_url)
                return None  # Django redirects back to the changelist
        else:
            form = spec.form()
        filters = queryset.api_filters() if select_across else None
        return self.render_confirmation(
            request,
            spec,
            queryset.alias,
            ids,
            form,
            select_across=select_across,
            filters=filters,
            cancel_url=request.get_full_path(),
        )

    @admin.action(description=gettext_lazy("Cancel selected runs"), permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._action(request, queryset, "cancel")

    @admin.action(description=gettext_lazy("Replay selected runs"), permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._action(request, queryset, "replay")

    @admin.action(
        description=gettext_lazy("Reschedule selected delayed runs"), permissions=["reschedule"]
    )
    def reschedule_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._action(request, queryset, "reschedule")

    @admin.action(description=gettext_lazy("Add tags to selected runs"), permissions=["tag"])
    def tag_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._action(request, queryset, "tag")

    def render_confirmation(
        self,
        request: HttpRequest,
        spec: RunAction,
        alias: str,
        ids: list[str],
        form: forms.Form | None,
        *,
        select_across: bool = False,
        filters: dict[str, Any] | None = None,
        cancel_url: str,
    ) -> TemplateResponse:
        runs = [Run.reference(run_id, alias=alias) for run_id in ids]
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(action)s: are you sure?") % {"action": spec.label},
            "subtitle": None,
            "opts": self.opts,
            "action": spec,
            "action_name": f"{spec.name}_selected",
            "runs": [(run, self.object_url(run)) for run in runs],
            "ids": ids,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME) or ids,
            "form": form,
            "select_across": select_across,
            "filters": sorted((filters or {}).items()),
            "uses_bulk_action": bool(spec.bulk) and (select_across or len(ids) > BULK_THRESHOLD),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": cancel_url,
            "media": self.media + (form.media if form else forms.Media()),
        }
        return TemplateResponse(
            request, "admin/django_trigger/run/action_confirmation.html", context
        )

    # -- doing it ---------------------------------------------------------------------------

    def perform(
        self,
        request: HttpRequest,
        spec: RunAction,
        alias: str,
        ids: list[str],
        data: dict[str, Any],
        *,
        checked: bool = False,
    ) -> str | None:
        """Apply ``spec`` to each run and report every run by id in admin messages (done,
        skipped and why, failed and why); the status page's URL when a bulk action was started
        instead. ``checked``: the runs' states were already checked against the action."""
        try:
            client = get_client(alias)
            options = admin_request_options(alias)
        except ConfigurationError as err:
            self.message_api_error(request, err)
            return None
        if spec.bulk and len(ids) > BULK_THRESHOLD:
            return self.perform_bulk(request, spec, alias, {"run_ids": ids}, ids)
        done: list[str] = []
        skipped: list[str] = []
        for run_id in ids:
            try:
                if spec.refuses and not checked:
                    # One retrieve per run: the selection may hold runs this does not apply to
                    # (the API would cancel a finished run "successfully").
                    status = str(client.runs.retrieve(run_id, request_options=options).status)
                    reason = spec.refusal(status)
                    if reason:
                        skipped.append(
                            _("%(run)s (%(reason)s)") % {"run": run_id, "reason": reason}
                        )
                        continue
                if spec.name == "cancel":
                    client.runs.cancel(run_id, request_options=options)
                    done.append(run_id)
                elif spec.name == "replay":
                    new = client.runs.replay(run_id, request_options=options)
                    done.append(_("%(old)s as %(new)s") % {"old": run_id, "new": new.id})
                elif spec.name == "reschedule":
                    client.runs.reschedule(run_id, delay=data["delay"], request_options=options)
                    done.append(run_id)
                elif spec.name == "tag":
                    client.runs.add_tags(run_id, data["tags"], request_options=options)
                    done.append(run_id)
            except (ApiError, InvalidRequestError) as err:
                self.message_user(
                    request,
                    _("Could not %(action)s %(run)s: %(error)s")
                    % {
                        "action": str(spec.label).lower(),
                        "run": run_id,
                        "error": describe_action_error(err),
                    },
                    messages.ERROR,
                )
                continue
            self.log_change(request, Run.reference(run_id, alias=alias), _log_message(spec, data))
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %(count)d run: %(runs)s.",
                    "Skipped %(count)d runs: %(runs)s.",
                    len(skipped),
                )
                % {"count": len(skipped), "runs": "; ".join(skipped)},
                messages.WARNING,
            )
        if done:
            bump_cache_generation(alias)
            self.message_user(
                request,
                ngettext("%(done)s run: %(runs)s.", "%(done)s %(count)d runs: %(runs)s.", len(done))
                % {"done": spec.done, "count": len(done), "runs": ", ".join(done)},
                messages.SUCCESS,
            )
        return None

    def perform_bulk_filter(
        self, request: HttpRequest, spec: RunAction, queryset: Any
    ) -> str | None:
        return self.perform_bulk(
            request, spec, queryset.alias, {"filter": queryset.api_filters()}, []
        )

    def perform_bulk(
        self,
        request: HttpRequest,
        spec: RunAction,
        alias: str,
        target: dict[str, Any],
        ids: list[str],
    ) -> str | None:
        """Start one bulk action; the URL of its status page (``None`` if it failed)."""
        assert spec.bulk is not None  # only actions with a bulk counterpart get here
        try:
            bulk = get_client(alias).bulk_actions.create(
                spec.bulk,
                name=f"Django admin: {spec.bulk} by {request.user}"[:255],
                request_options=admin_request_options(alias),
                **target,
            )
        except (ApiError, InvalidRequestError, ConfigurationError) as err:
            self.message_user(
                request,
                _("Could not start the bulk %(action)s: %(error)s")
                % {"action": spec.bulk, "error": describe_error(err)},
                messages.ERROR,
            )
            return None
        bump_cache_generation(alias)
        if ids:
            text = _(
                "Started bulk action %(bulk)s (%(action)s) for %(count)d runs: %(runs)s. "
                "It runs on Trigger.dev."
            ) % {"bulk": bulk.id, "action": spec.bulk, "count": len(ids), "runs": ", ".join(ids)}
        else:
            text = _(
                "Started bulk action %(bulk)s (%(action)s) for every run matching the "
                "filters. It runs on Trigger.dev."
            ) % {"bulk": bulk.id, "action": spec.bulk}
        self.message_user(request, text, messages.SUCCESS)
        return self.bulk_action_url(bulk.id, alias)

    # -- bulk action progress ---------------------------------------------------------------

    def bulk_action_url(self, bulk_action_id: str, alias: str) -> str:
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_bulk_action",
            args=(bulk_action_id,),
            current_app=self.admin_site.name,
        )
        return f"{url}?{urlencode({'alias': alias})}" if alias != DEFAULT_ALIAS else url

    def bulk_action_view(self, request: HttpRequest, bulk_action_id: str) -> HttpResponse:
        """A bulk action's progress (``GET /api/v1/bulk-actions/{id}``), reloading itself every
        few seconds until it is no longer pending. For whoever may start one: view runs, and
        cancel or replay them."""
        if not (
            self.has_view_permission(request)
            and (self.has_cancel_permission(request) or self.has_replay_permission(request))
        ):
            raise PermissionDenied  # before any request to the API
        alias = self.request_alias(request)
        try:
            bulk = get_client(alias).bulk_actions.retrieve(
                bulk_action_id, request_options=admin_request_options(alias)
            )
        except NotFoundError as err:
            raise Http404(describe_error(err)) from err
        except InvalidRequestError as err:
            raise Http404(str(err)) from err
        except (ApiError, ConfigurationError) as err:
            return self.api_error_response(request, err)
        counts = bulk.counts
        processed = counts.success + counts.failure
        pending = bulk.status == "PENDING"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Bulk action %(id)s") % {"id": bulk.id},
            "subtitle": None,
            "opts": self.opts,
            "bulk": bulk,
            "processed": processed,
            "percent": round(100 * processed / counts.total)
            if counts.total
            else (0 if pending else 100),
            "pending": pending,
            "refresh_seconds": BULK_REFRESH_SECONDS,
            "runs_url": self.changelist_url(alias, bulk_action=bulk.id),
        }
        return TemplateResponse(request, "admin/django_trigger/run/bulk_action.html", context)
