from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoTriggerConfig(AppConfig):
    name = "django_trigger"
    label = "django_trigger"
    verbose_name = _("Trigger.dev")
    default_auto_field = "django.db.models.AutoField"
