from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoTriggerConfig(AppConfig):
    name = "django_trigger"
    label = "django_trigger"
    verbose_name = _("Trigger.dev")
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.core import checks
        from django.core.signals import setting_changed

        from django_trigger.checks import check_settings
        from django_trigger.clients import settings_changed

        checks.register(check_settings)
        setting_changed.connect(settings_changed, dispatch_uid="django_trigger.settings_changed")
