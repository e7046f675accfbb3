"""ASGI entry point (e.g. ``uvicorn example_site.asgi:application``); the async overview page
runs natively there, and through ``async_to_sync`` under ``runserver``/WSGI. The lifespan
wrapper closes the async clients' connection pools when the server shuts down."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")
django_application = get_asgi_application()

from django_trigger.asgi import with_trigger_lifespan  # noqa: E402  (after Django's set-up)

application = with_trigger_lifespan(django_application)
