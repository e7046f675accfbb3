"""``path("trigger/webhooks/", include("django_trigger.webhooks.urls"))``: the ``default``
alias at ``trigger/webhooks/``, any other at ``trigger/webhooks/<alias>/``."""

from __future__ import annotations

from django.urls import path

from .views import AlertWebhookView

app_name = "django_trigger_webhooks"

urlpatterns = [
    path("", AlertWebhookView.as_view(), name="alerts"),
    path("<str:alias>/", AlertWebhookView.as_view(), name="alerts-alias"),
]
