"""django-trigger: the Django app for the Trigger.dev management API.

    from django_trigger import get_client

    client = get_client()                       # the "default" alias of settings.TRIGGER
    for run in client.runs.list(status=["FAILED"]):
        print(run.id, run.task_identifier)

Importing this package reads no settings; names are resolved on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily so that `import django_trigger` works before
# Django settings are configured (and stays cheap).
_EXPORTS = {
    "get_client": "django_trigger.clients",
    "get_async_client": "django_trigger.clients",
    "TriggerClient": "django_trigger.client",
    "AsyncTriggerClient": "django_trigger.async_client",
    "RequestOptions": "django_trigger.options",
    "RetryPolicy": "django_trigger.options",
    "TriggerError": "django_trigger.exceptions",
    "ConfigurationError": "django_trigger.exceptions",
    "InvalidRequestError": "django_trigger.exceptions",
    "ConfigurationRefusalError": "django_trigger.exceptions",
    "ApiError": "django_trigger.exceptions",
    "BadRequestError": "django_trigger.exceptions",
    "BatchNotSealedError": "django_trigger.exceptions",
    "AuthenticationError": "django_trigger.exceptions",
    "PermissionDeniedError": "django_trigger.exceptions",
    "NotFoundError": "django_trigger.exceptions",
    "ConflictError": "django_trigger.exceptions",
    "UnprocessableEntityError": "django_trigger.exceptions",
    "RateLimitError": "django_trigger.exceptions",
    "InternalServerError": "django_trigger.exceptions",
    "ApiConnectionError": "django_trigger.exceptions",
    "ApiTimeoutError": "django_trigger.exceptions",
    "ApiSchemaValidationError": "django_trigger.exceptions",
    "OutcomeUnknownError": "django_trigger.exceptions",
    "OutcomeUnknownConnectionError": "django_trigger.exceptions",
    "OutcomeUnknownTimeoutError": "django_trigger.exceptions",
    "OutcomeUnknownServerError": "django_trigger.exceptions",
    "OutcomeUnknownConflictError": "django_trigger.exceptions",
    "ApiResponseTooLargeError": "django_trigger.exceptions",
    "PollTimeoutError": "django_trigger.exceptions",
    "WaitpointTimedOutError": "django_trigger.exceptions",
    "StreamError": "django_trigger.exceptions",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from django_trigger.async_client import AsyncTriggerClient
    from django_trigger.client import TriggerClient
    from django_trigger.clients import get_async_client, get_client
    from django_trigger.exceptions import (
        ApiConnectionError,
        ApiError,
        ApiResponseTooLargeError,
        ApiSchemaValidationError,
        ApiTimeoutError,
        AuthenticationError,
        BadRequestError,
        BatchNotSealedError,
        ConfigurationError,
        ConfigurationRefusalError,
        ConflictError,
        InternalServerError,
        InvalidRequestError,
        NotFoundError,
        OutcomeUnknownConflictError,
        OutcomeUnknownConnectionError,
        OutcomeUnknownError,
        OutcomeUnknownServerError,
        OutcomeUnknownTimeoutError,
        PermissionDeniedError,
        PollTimeoutError,
        RateLimitError,
        StreamError,
        TriggerError,
        UnprocessableEntityError,
        WaitpointTimedOutError,
    )
    from django_trigger.options import RequestOptions, RetryPolicy


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'django_trigger' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
