from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Trigger.dev dashboard (example)")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the alert webhook receivers)
