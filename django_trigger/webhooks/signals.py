"""Django signals sent for each verified alert webhook: the one of its type, then
``alert_received``. Receivers get ``sender`` (the event's class), ``event`` (the typed record),
``alias`` (the ``TRIGGER`` alias whose secret verified it) and ``request``."""

from __future__ import annotations

from django.dispatch import Signal

__all__ = [
    "SIGNALS",
    "alert_received",
    "deployment_failed",
    "deployment_succeeded",
    "error_alert",
    "run_failed",
]

run_failed = Signal()  # alert.run.failed
deployment_succeeded = Signal()  # alert.deployment.success
deployment_failed = Signal()  # alert.deployment.failed
error_alert = Signal()  # alert.error
alert_received = Signal()  # every alert, after the one of its type

SIGNALS = {
    "alert.run.failed": run_failed,
    "alert.deployment.success": deployment_succeeded,
    "alert.deployment.failed": deployment_failed,
    "alert.error": error_alert,
}
