"""ASGI entry point (e.g. ``uvicorn example_site.asgi:application``); the async overview page
runs natively there, and through ``async_to_sync`` under ``runserver``/WSGI."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")
application = get_asgi_application()
