"""Receivers of Trigger.dev alert webhooks (``path("trigger/webhooks/", …)`` in the URLconf,
``WEBHOOK_SECRET`` in ``settings.TRIGGER``). Connected in ``DashboardConfig.ready()``.

Keep receivers quick: the view answers Trigger.dev once they return, and never asks for a retry
(see docs/webhooks.md). Hand slow work to a task or a queue."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from django_trigger.types.alerts import RunFailedEvent
from django_trigger.webhooks.signals import run_failed

logger = logging.getLogger("dashboard.alerts")


@receiver(run_failed, dispatch_uid="dashboard.run_failed")
def log_failed_run(sender: Any, event: RunFailedEvent, alias: str, **kwargs: Any) -> None:
    run = event.object.run
    logger.warning(
        "Trigger.dev run %s of %s failed (%s): %s",
        run.id,
        event.object.task.id,
        alias,
        run.dashboard_url,
    )
