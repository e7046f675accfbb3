"""``AlertWebhookView``: receives Trigger.dev alert webhooks and sends Django signals.

Answers (JSON): 405 for anything but POST; 400 ``{"error": "Invalid signature"}`` without a
valid ``x-trigger-signature-hmacsha256``; 400 ``{"error": "Invalid payload"}`` for a signed
body that is not an alert; 200 ``{"received": true}`` otherwise. Nothing of the body is logged.

Delivery is at most once per event id: the id is claimed in Django's cache
(``caches["default"]``, ``cache.add`` for ``DEDUP_SECONDS``) before the signals are sent, and a
repeat of it is answered 200 without sending them again (Trigger.dev retries a delivery that got
no 2xx within 5 s, up to 3 attempts, with the same id). A receiver that raises is logged (with
the event's type and id) and the answer is still 200: a retry would run the receivers that
succeeded again, so the view never asks for one. Do slow or fallible work in a task (a receiver
can call ``trigger_on_commit``), not in the receiver. With a cache that keeps nothing
(``DummyCache``) or one per process, repeats across processes are not recognised.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.exceptions import ConfigurationError

from .signals import SIGNALS, alert_received
from .verify import SIGNATURE_HEADER, InvalidPayloadError, InvalidSignatureError, construct_event

__all__ = ["DEDUP_SECONDS", "AlertWebhookView"]

logger = logging.getLogger("django_trigger.webhooks")
DEDUP_SECONDS = 24 * 3600


@method_decorator(csrf_exempt, name="dispatch")
class AlertWebhookView(View):
    """``AlertWebhookView.as_view(alias="staging")`` verifies with that alias's
    ``WEBHOOK_SECRET``; the URLconf in ``django_trigger.webhooks.urls`` also takes the alias
    from the path."""

    alias: str = DEFAULT_ALIAS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, alias: str | None = None) -> HttpResponse:
        alias = alias or self.alias
        if alias not in trigger_settings.clients:
            return JsonResponse({"error": "Not found"}, status=404)
        secret = trigger_settings.get(alias)["WEBHOOK_SECRET"]
        if not secret:
            raise ConfigurationError(
                f"TRIGGER[{alias!r}]['WEBHOOK_SECRET'] is not set: alert webhooks for this "
                "alias cannot be verified (set it, or TRIGGER_WEBHOOK_SECRET for 'default')."
            )
        try:
            event = construct_event(request.body, request.headers.get(SIGNATURE_HEADER), secret)
        except InvalidSignatureError:
            logger.warning("alert webhook refused: missing or invalid signature (alias %r)", alias)
            return JsonResponse({"error": "Invalid signature"}, status=400)
        except InvalidPayloadError:
            # Not the error's text: schema messages quote values of the body.
            logger.warning(
                "alert webhook refused (alias %r): a signed body that is not a valid alert", alias
            )
            return JsonResponse({"error": "Invalid payload"}, status=400)

        key = f"django_trigger:alert:{alias}:{event.id}"
        if not caches["default"].add(key, True, DEDUP_SECONDS):
            return JsonResponse({"received": True, "duplicate": True})
        arguments: dict[str, Any] = {"event": event, "alias": alias, "request": request}
        for signal in (SIGNALS[event.type], alert_received):
            for receiver, result in signal.send_robust(sender=type(event), **arguments):
                if isinstance(result, Exception):
                    logger.error(
                        "alert %s %s: receiver %r raised",
                        event.type,
                        event.id,
                        receiver,
                        exc_info=result,
                    )
        return JsonResponse({"received": True})
