"""Trigger.dev alert webhooks as Django signals (docs/webhooks.md).

    # urls.py
    path("trigger/webhooks/", include("django_trigger.webhooks.urls")),

    # anywhere loaded at start-up (an AppConfig.ready)
    from django.dispatch import receiver
    from django_trigger.webhooks.signals import run_failed

    @receiver(run_failed)
    def page_someone(sender, event, alias, **kwargs):
        notify(f"{event.object.task.id} failed: {event.object.run.dashboard_url}")

Modules: ``verify`` (signature + parsing, no Django), ``signals``, ``views``, ``urls``.
"""
