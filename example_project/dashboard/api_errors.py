"""Friendly messages for the errors django_trigger raises.

Views catch ``TriggerError`` (the root of every django_trigger error) around each client call
and show ``describe(exc)`` instead of a 500. The subclasses say what happened; the most
specific ones come first because some inherit from others (``ApiTimeoutError`` is an
``ApiConnectionError``, which is an ``ApiError``). Messages never contain a token: the
library keeps tokens out of its exceptions, and these only add the server's message.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from django_trigger import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TriggerError,
    UnprocessableEntityError,
)

__all__ = ["describe"]


def describe(exc: TriggerError, alias: str = "default") -> str:
    """One sentence for a page or a ``messages.error()``."""
    text = _describe(exc, alias)
    request_id = exc.request_id if isinstance(exc, ApiError) else None
    if request_id:
        text += " " + _("(Trigger.dev request id: %(id)s)") % {"id": request_id}
    return text


def _describe(exc: TriggerError, alias: str) -> str:
    if isinstance(exc, RateLimitError):
        seconds = exc.seconds_until_reset
        if seconds is None:
            return _("Trigger.dev is rate limiting this site. Try again in a moment.")
        wait = max(1, math.ceil(seconds))
        return ngettext(
            "Trigger.dev is rate limiting this site. Try again in %(seconds)d second.",
            "Trigger.dev is rate limiting this site. Try again in %(seconds)d seconds.",
            wait,
        ) % {"seconds": wait}
    if isinstance(exc, ApiTimeoutError):
        return _("Trigger.dev did not answer in time. Try again in a moment.")
    if isinstance(exc, ApiConnectionError):
        return _(
            "Trigger.dev is unreachable. Check the network and the API URL of the "
            "“%(alias)s” client, then try again."
        ) % {"alias": alias}
    if isinstance(exc, AuthenticationError):
        return _(
            "Trigger.dev refused the access token of the “%(alias)s” client. Check the key "
            "configured for it."
        ) % {"alias": alias}
    if isinstance(exc, PermissionDeniedError):
        return _("This token is not allowed to do that: %(message)s") % {"message": exc.message}
    if isinstance(exc, NotFoundError):
        return _("Trigger.dev has no such object: %(message)s") % {"message": exc.message}
    if isinstance(exc, (BadRequestError, UnprocessableEntityError)):
        return _("Trigger.dev refused the request: %(message)s") % {"message": exc.message}
    if isinstance(exc, InternalServerError):
        return _("Trigger.dev had a server error (HTTP %(status)s). Try again in a moment.") % {
            "status": exc.status
        }
    if isinstance(exc, ApiError):
        return _("Trigger.dev answered with an error: %(error)s") % {"error": exc}
    if isinstance(exc, ConfigurationError):
        return _("The “%(alias)s” Trigger.dev client is not configured: %(error)s") % {
            "alias": alias,
            "error": exc,
        }
    if isinstance(exc, InvalidRequestError):
        return _("Nothing was sent to Trigger.dev: %(error)s") % {"error": exc}
    return _("Trigger.dev error: %(error)s") % {"error": exc}
