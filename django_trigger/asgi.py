"""Closing the async clients when an ASGI server shuts down.

Django's ``ASGIHandler`` answers only HTTP; wrap it so that the server's lifespan shutdown
closes the connection pools of ``get_async_client()`` on the server's event loop:

    # asgi.py
    from django.core.asgi import get_asgi_application
    from django_trigger.asgi import with_trigger_lifespan

    application = with_trigger_lifespan(get_asgi_application())

Without it the pools are dropped with the process, as a server's other sockets are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django_trigger.clients import async_clients

__all__ = ["with_trigger_lifespan"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def with_trigger_lifespan(app: ASGIApp) -> ASGIApp:
    """``app`` for HTTP; the lifespan protocol answered here, closing the async clients of the
    server's loop at shutdown."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await async_clients.aclose_all()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application
