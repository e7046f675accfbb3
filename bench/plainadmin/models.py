# ruff: noqa: DJ001  (the same nullable fields as django_trigger.models.Run)
from django.db import models


class PlainRun(models.Model):
    """The fields of ``django_trigger.models.Run``, in an ordinary table."""

    id = models.CharField("run id", max_length=64, primary_key=True)
    task_identifier = models.CharField("task", max_length=255)
    status = models.CharField("status", max_length=32)
    is_test = models.BooleanField("test run", default=False)
    version = models.CharField("version", max_length=64, blank=True, null=True)
    idempotency_key = models.CharField("idempotency key", max_length=255, null=True)
    created_at = models.DateTimeField("created")
    updated_at = models.DateTimeField("updated", null=True)
    started_at = models.DateTimeField("started", null=True)
    finished_at = models.DateTimeField("finished", null=True)
    delayed_until = models.DateTimeField("delayed until", null=True)
    expired_at = models.DateTimeField("expired", null=True)
    ttl = models.CharField("TTL", max_length=32, null=True)
    duration_ms = models.FloatField("duration (ms)", default=0)
    cost_in_cents = models.FloatField("cost (cents)", default=0)
    base_cost_in_cents = models.FloatField("base cost (cents)", default=0)
    region = models.CharField("region", max_length=64, null=True)
    depth = models.IntegerField("depth", null=True)
    batch_id = models.CharField("batch", max_length=64, null=True)
    trigger_function = models.CharField("trigger function", max_length=32, null=True)
    attempt_count = models.IntegerField("attempts", default=0)
    tags = models.JSONField(default=list)
    payload = models.JSONField(null=True)
    output = models.JSONField(null=True)
    metadata = models.JSONField(null=True)
    attempts = models.JSONField(default=list)

    class Meta:
        app_label = "plainadmin"
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.id
