"""Verify and parse a Trigger.dev alert webhook, as the SDK's ``webhooks.constructEvent``
does: lowercase hex HMAC-SHA256 of the raw body with the channel's secret, in the
``x-trigger-signature-hmacsha256`` header, compared in constant time; then the JSON body
checked against the event type's schema. No Django here: usable from any web framework."""

from __future__ import annotations

import hashlib
import hmac
import json

from django_trigger.exceptions import TriggerError
from django_trigger.types import SchemaError
from django_trigger.types.alerts import ALERT_EVENT_TYPES, AlertEvent

__all__ = [
    "SIGNATURE_HEADER",
    "InvalidPayloadError",
    "InvalidSignatureError",
    "WebhookError",
    "construct_event",
    "sign",
]

SIGNATURE_HEADER = "x-trigger-signature-hmacsha256"


class WebhookError(TriggerError, ValueError):
    """An alert webhook was refused. Messages never contain the body or the secret."""


class InvalidSignatureError(WebhookError):
    """No signature header, or one that does not match the body."""


class InvalidPayloadError(WebhookError):
    """A correctly signed body that is not JSON or not one of the alert types' schemas."""


def sign(payload: bytes, secret: str) -> str:
    """The signature Trigger.dev sends for ``payload``."""
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def construct_event(payload: bytes, signature: str | None, secret: str) -> AlertEvent:
    """The typed event of a verified body (``RunFailedEvent``, ``DeploymentSucceededEvent``,
    ``DeploymentFailedEvent`` or ``ErrorGroupEvent``)."""
    if not isinstance(secret, str) or not secret:
        raise WebhookError("a webhook secret is required to verify alerts")
    if not signature:
        raise InvalidSignatureError("No signature header found")
    expected = sign(payload, secret)
    # Exactly the SDK's comparison: the header as sent (uppercase hex does not match).
    given = signature.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, expected.encode("ascii")):
        raise InvalidSignatureError("Invalid signature")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # (nested too deeply)
        raise InvalidPayloadError(
            f"Webhook parsing failed: not JSON ({type(exc).__name__})"
        ) from exc
    kind = body.get("type") if isinstance(body, dict) else None
    event_class = ALERT_EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if event_class is None:
        raise InvalidPayloadError(
            "Webhook parsing failed: 'type' must be one of " + ", ".join(ALERT_EVENT_TYPES)
        )
    try:
        return event_class.from_api(body)
    except SchemaError as exc:
        raise InvalidPayloadError(f"Webhook parsing failed: {exc}") from None
