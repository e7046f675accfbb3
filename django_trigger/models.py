# ruff: noqa: DJ001 -- None mirrors a key the API left out, which differs from "".
"""Runs, schedules and environment variables as Django models, with no table behind them.

The models are unmanaged (``managed = False``): their migration creates no table, it only
makes ``auth`` create their permissions (view, plus one per admin action: ``cancel_run``,
``reveal_envvar``, ...) so staff can be granted them like any other. Rows come from the
Trigger.dev API through ``django_trigger.admin`` (see ``admin/querysets.py``); nothing here
ever reads or writes the database. Each model converts an API record in one classmethod,
``from_api()``, and keeps the record as ``.record``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from django_trigger import types

__all__ = ["EnvVar", "Overview", "Run", "Schedule", "WaitpointToken"]

STATUS_CHOICES = [
    (status.value, status.value.replace("_", " ").title()) for status in types.RunStatus.v2()
]

ENVIRONMENT_CHOICES = [
    ("dev", _("Development")),
    ("staging", _("Staging")),
    ("prod", _("Production")),
    ("preview", _("Preview")),
]


class RemoteModel(models.Model):
    """What the API-backed models share: where a row came from (``alias``, the ``TRIGGER``
    client it was read with) and the API record itself (``record``)."""

    alias: str = "default"
    record: Any = None

    class Meta:
        abstract = True
        managed = False

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} rows live in Trigger.dev; change them through the client "
            "(django_trigger.get_client()), not the ORM."
        )

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} rows live in Trigger.dev; delete them through the client."
        )

    @classmethod
    def reference(cls, pk: str, *, alias: str = "default") -> Any:
        """An instance that only knows its primary key and alias (for links and logs)."""
        obj = cls()
        obj.pk = pk
        obj.alias = alias
        return obj


class Run(RemoteModel):
    id = models.CharField(_("run id"), max_length=64, primary_key=True)
    task_identifier = models.CharField(_("task"), max_length=255)
    status = models.CharField(_("status"), max_length=32, choices=STATUS_CHOICES)
    is_test = models.BooleanField(_("test run"), default=False)
    version = models.CharField(_("version"), max_length=64, blank=True, null=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, null=True)
    environment = models.CharField(_("environment"), max_length=32, null=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"), null=True)
    started_at = models.DateTimeField(_("started"), null=True)
    finished_at = models.DateTimeField(_("finished"), null=True)
    delayed_until = models.DateTimeField(_("delayed until"), null=True)
    expired_at = models.DateTimeField(_("expired"), null=True)
    ttl = models.CharField(_("TTL"), max_length=32, null=True)
    duration_ms = models.FloatField(_("duration (ms)"), default=0)
    cost_in_cents = models.FloatField(_("cost (cents)"), default=0)
    base_cost_in_cents = models.FloatField(_("base cost (cents)"), default=0)
    region = models.CharField(_("region"), max_length=64, null=True)
    depth = models.IntegerField(_("depth"), null=True)
    batch_id = models.CharField(_("batch"), max_length=64, null=True)
    trigger_function = models.CharField(_("trigger function"), max_length=32, null=True)
    attempt_count = models.IntegerField(_("attempts"), default=0)

    class Meta:
        managed = False
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ("-created_at",)  # the API's only order (newest first)
        default_permissions = ("view",)
        permissions = [
            ("cancel_run", _("Can cancel runs")),
            ("replay_run", _("Can replay runs")),
            ("reschedule_run", _("Can reschedule delayed runs")),
            ("tag_run", _("Can add tags to runs")),
        ]

    def __str__(self) -> str:
        return self.id

    @classmethod
    def from_api(cls, record: types.Run | types.RunListItem, *, alias: str = "default") -> Run:
        """A row from a list item (``RunListItem``) or a retrieved run (``Run``); fields a
        record does not have stay ``None``."""
        env = getattr(record, "env", None)
        run = cls(
            id=record.id,
            task_identifier=record.task_identifier,
            status=str(record.status),
            is_test=record.is_test,
            version=record.version,
            idempotency_key=record.idempotency_key,
            environment=env.name if env is not None else None,
            created_at=record.created_at,
            updated_at=record.updated_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            delayed_until=record.delayed_until,
            expired_at=record.expired_at,
            ttl=record.ttl,
            duration_ms=record.duration_ms,
            cost_in_cents=record.cost_in_cents,
            base_cost_in_cents=record.base_cost_in_cents,
            region=record.region,
            depth=getattr(record, "depth", None),
            batch_id=getattr(record, "batch_id", None),
            trigger_function=getattr(record, "trigger_function", None),
            attempt_count=getattr(record, "attempt_count", 0),
        )
        run.alias = alias
        run.record = record
        return run

    @property
    def tags(self) -> list[str]:
        return list(self.record.tags) if self.record is not None else []

    @property
    def is_final(self) -> bool:
        return types.RunStatus(self.status).is_final


class Overview(Run):
    """The admin's overview page (runs by status over time, per-task failure rates and
    durations, queue depth): no rows of its own; reading it needs ``view_run``."""

    class Meta:
        proxy = True
        verbose_name = _("overview")
        verbose_name_plural = _("overview")
        default_permissions = ()


class Schedule(RemoteModel):
    id = models.CharField(_("schedule id"), max_length=64, primary_key=True)
    task = models.CharField(_("task"), max_length=255)
    cron = models.CharField(_("cron"), max_length=255)
    cron_description = models.CharField(_("runs"), max_length=255, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    active = models.BooleanField(_("active"), default=True)
    type = models.CharField(_("type"), max_length=16)
    external_id = models.CharField(_("external id"), max_length=255, null=True)
    deduplication_key = models.CharField(_("deduplication key"), max_length=255, null=True)
    window = models.CharField(_("window"), max_length=16, null=True)
    next_run = models.DateTimeField(_("next run"), null=True)

    class Meta:
        managed = False
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ()  # the API's order

    def __str__(self) -> str:
        return self.id

    @classmethod
    def from_api(cls, record: types.Schedule, *, alias: str = "default") -> Schedule:
        schedule = cls(
            id=record.id,
            task=record.task,
            cron=record.generator.expression,
            cron_description=record.generator.description,
            timezone=record.timezone,
            active=record.active,
            type=record.type,
            external_id=record.external_id,
            deduplication_key=record.deduplication_key,
            window=record.window,
            next_run=record.next_run,
        )
        schedule.alias = alias
        schedule.record = record
        return schedule

    @property
    def is_declarative(self) -> bool:
        return self.type == "DECLARATIVE"


class EnvVar(RemoteModel):
    """One variable of one environment. ``value`` is whatever the API returned (secret
    values come back as ``<redacted>``); the admin masks it unless revealed."""

    name = models.CharField(_("name"), max_length=255, primary_key=True)
    value = models.TextField(_("value"), blank=True)
    is_secret = models.BooleanField(_("secret"), default=False)
    environment = models.CharField(_("environment"), max_length=16, choices=ENVIRONMENT_CHOICES)

    class Meta:
        managed = False
        verbose_name = _("environment variable")
        verbose_name_plural = _("environment variables")
        ordering = ("name",)
        permissions = [
            ("reveal_envvar", _("Can reveal environment variable values")),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the value
        return f"<EnvVar {self.name} ({self.environment})>"

    @classmethod
    def from_api(cls, record: types.EnvVar, *, environment: str, alias: str = "default") -> EnvVar:
        var = cls(
            name=record.name,
            value=record.value,
            is_secret=record.is_secret,
            environment=environment,
        )
        var.alias = alias
        var.record = record
        return var

    @property
    def is_redacted(self) -> bool:
        return bool(self.record is not None and self.record.is_redacted)


WAITPOINT_STATUS_CHOICES = [
    ("WAITING", _("Waiting")),
    ("COMPLETED", _("Completed")),
    ("TIMED_OUT", _("Timed out")),
]


class WaitpointToken(RemoteModel):
    """A waitpoint token (a run waits on it until someone completes it). The callback URL is
    never copied here: it completes the token without a key."""

    id = models.CharField(_("token id"), max_length=64, primary_key=True)
    status = models.CharField(_("status"), max_length=16, choices=WAITPOINT_STATUS_CHOICES)
    idempotency_key = models.CharField(_("idempotency key"), max_length=2048, null=True)
    created_at = models.DateTimeField(_("created"))
    timeout_at = models.DateTimeField(_("times out"), null=True)
    completed_at = models.DateTimeField(_("completed"), null=True)

    class Meta:
        managed = False
        verbose_name = _("waitpoint token")
        verbose_name_plural = _("waitpoint tokens")
        ordering = ("-created_at",)  # the API's only order (newest first)
        default_permissions = ("view",)
        permissions = [("complete_waitpointtoken", _("Can complete waitpoint tokens"))]

    def __str__(self) -> str:
        return self.id

    @classmethod
    def from_api(cls, record: types.WaitpointToken, *, alias: str = "default") -> WaitpointToken:
        token = cls(
            id=record.id,
            status=str(record.status),
            idempotency_key=record.idempotency_key,
            created_at=record.created_at,
            timeout_at=record.timeout_at,
            completed_at=record.completed_at,
        )
        token.alias = alias
        token.record = record
        return token

    @property
    def tags(self) -> list[str]:
        return list(self.record.tags) if self.record is not None else []

    @property
    def is_waiting(self) -> bool:
        return self.status == "WAITING"
