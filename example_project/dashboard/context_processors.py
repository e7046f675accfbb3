from typing import Any

from django.conf import settings
from django.http import HttpRequest


def demo_mode(request: HttpRequest) -> dict[str, Any]:
    """``demo_emulator_url``: set while ``manage.py trigger_demo`` runs the site."""
    return {"demo_emulator_url": getattr(settings, "DEMO_EMULATOR_URL", "")}
