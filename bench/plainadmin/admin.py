"""The comparison admin: the runs admin's list columns (with the same display functions),
filters on the same fields, 100 rows per page, and a read-only detail with the same fields."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from django_trigger.admin.runs import STATUS_CLASSES, _pre, format_cost, format_duration

from .models import PlainRun


@admin.register(PlainRun)
class PlainRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task_identifier",
        "status_badge",
        "created_at",
        "duration",
        "cost",
        "tag_list",
        "version",
        "test_or_live",
    )
    list_filter = ("status", "created_at", "task_identifier", "version", "is_test")
    list_per_page = 100
    search_fields = ("id",)
    show_full_result_count = False
    actions = ("touch_selected",)  # like the runs admin: the checkbox column is rendered
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
            "Timings",
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
            "Execution",
            {
                "fields": (
                    "trigger_function",
                    "depth",
                    "batch_id",
                    "schedule_display",
                    "attempt_count",
                    "attempts_display",
                    "region",
                    "related_runs",
                )
            },
        ),
        ("Payload", {"fields": ("payload_display",)}),
        ("Output", {"fields": ("output_display",)}),
        ("Error", {"fields": ("error_display",)}),
        ("Metadata", {"fields": ("metadata_display",)}),
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Touch selected runs")
    def touch_selected(self, request, queryset):
        pass

    @admin.display(description="status")
    def status_badge(self, obj):
        css = STATUS_CLASSES.get(obj.status, "other")
        return format_html(
            '<span class="trigger-status trigger-status-{}">{}</span>',
            css,
            obj.status.replace("_", " ").title(),
        )

    @admin.display(description="duration")
    def duration(self, obj):
        return format_duration(obj.duration_ms)

    @admin.display(description="cost")
    def cost(self, obj):
        return format_cost(obj.cost_in_cents + obj.base_cost_in_cents)

    @admin.display(description="tags")
    def tag_list(self, obj):
        if not obj.tags:
            return "-"
        return format_html_join(
            " ", '<span class="trigger-tag">{}</span>', ((tag,) for tag in obj.tags)
        )

    @admin.display(description="test/live")
    def test_or_live(self, obj):
        return "Test" if obj.is_test else "Live"

    @admin.display(description="Trigger.dev dashboard")
    def dashboard_link(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            f"https://cloud.trigger.dev/runs/{obj.id}",
            "Open this run in the Trigger.dev dashboard",
        )

    @admin.display(description="payload")
    def payload_display(self, obj):
        return _pre(obj.payload)

    @admin.display(description="output")
    def output_display(self, obj):
        return _pre(obj.output)

    @admin.display(description="error")
    def error_display(self, obj):
        return "-"

    @admin.display(description="metadata")
    def metadata_display(self, obj):
        return _pre(obj.metadata)

    @admin.display(description="attempts (as the API lists them)")
    def attempts_display(self, obj):
        return _pre(obj.attempts) if obj.attempts else "-"

    @admin.display(description="schedule")
    def schedule_display(self, obj):
        return "-"

    @admin.display(description="related runs")
    def related_runs(self, obj):
        return "-"
