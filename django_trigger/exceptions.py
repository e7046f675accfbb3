"""The whole error tree of django_trigger::

    TriggerError
    ├── ConfigurationError        (also ImproperlyConfigured) bad or missing settings
    ├── InvalidRequestError       (also ValueError) refused before anything was sent
    └── ApiError                  the API answered with an error, or could not be reached
        ├── BadRequestError             400
        ├── AuthenticationError         401
        ├── PermissionDeniedError       403
        ├── NotFoundError               404
        ├── ConflictError               409
        ├── UnprocessableEntityError    422
        ├── RateLimitError              429
        ├── InternalServerError         >= 500
        ├── ApiConnectionError          no status: network error, timeout
        │   └── ApiTimeoutError
        ├── ApiSchemaValidationError    a 2xx whose body does not have the documented shape
        ├── BatchNotSealedError         a batch's items were not all accepted
        ├── ApiResponseTooLargeError    the body, decoded, exceeded max_response_size
        └── OutcomeUnknownError         the request was sent, the answer was lost, and
            │                           retrying could do the work twice: check, then decide
            ├── OutcomeUnknownConnectionError  (also ApiConnectionError) dropped after sending
            ├── OutcomeUnknownTimeoutError     (also ApiTimeoutError) no answer in time
            ├── OutcomeUnknownServerError      (also InternalServerError) 5xx after sending
            └── OutcomeUnknownConflictError    (also ConflictError) 409 after sending
    TriggerError
    ├── WaitpointTimedOutError    completing a token that had already timed out (nothing stored)
    └── PollTimeoutError          (also TimeoutError) runs.poll gave up before a final status

Messages never contain the access token or environment variable values: the request is
described by method and path only (no query string, no body).

This module imports nothing else from the package.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiResponseTooLargeError",
    "ApiSchemaValidationError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchNotSealedError",
    "ConfigurationError",
    "ConfigurationRefusalError",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "OutcomeUnknownConflictError",
    "OutcomeUnknownConnectionError",
    "OutcomeUnknownError",
    "OutcomeUnknownServerError",
    "OutcomeUnknownTimeoutError",
    "PermissionDeniedError",
    "PollTimeoutError",
    "RateLimitError",
    "StreamError",
    "TriggerError",
    "UnprocessableEntityError",
    "WaitpointTimedOutError",
    "error_class_for_status",
]


class TriggerError(Exception):
    """Root of every error raised by django_trigger."""


class ConfigurationError(TriggerError, ImproperlyConfigured):
    """The TRIGGER setting (or its environment fallbacks) is missing or invalid."""


class InvalidRequestError(TriggerError, ValueError):
    """A call was refused before anything was sent: bad argument, id, or credentials."""


class ConfigurationRefusalError(InvalidRequestError):
    """A call this client's configuration cannot make, refused before anything was sent (no
    argument of the call would change that). ``reason`` says what is missing:

    - ``"token_kind"``: the access token is of the wrong kind for this call (a personal access
      token where a secret key is needed, a secret key where a personal access token is, a
      public access token beyond what it may do);
    - ``"project_ref"``: no project ref (``PROJECT_REF``, ``project_ref=``);
    - ``"environment"``: no environment (``ENVIRONMENT``, ``environment=``).
    """

    TOKEN_KIND = "token_kind"
    PROJECT_REF = "project_ref"
    ENVIRONMENT = "environment"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> Any:
        return (_configuration_refusal, (str(self), self.reason))


def _configuration_refusal(message: str, reason: str) -> ConfigurationRefusalError:
    return ConfigurationRefusalError(message, reason=reason)


class ApiError(TriggerError):
    """The API answered with an error status (or, for subclasses, not at all).

    ``status`` is the HTTP status (``None`` for connection errors), ``headers`` the response
    headers (lower-cased keys), ``body`` the parsed JSON body (or its text), ``error`` the
    body's top-level ``error`` value, and ``code``/``param``/``type`` where the body has them.
    ``method`` and ``path`` describe the request without its query string or body.
    """

    status: int | None = None
    #: True when an earlier attempt of this call may have been processed (its answer was lost)
    #: and this error is the answer to a retry: "not found" may then mean "already done".
    retried_after_unknown_outcome: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.method = method
        self.path = path
        error = body.get("error") if isinstance(body, dict) else None
        self.error: Any = error
        self.code: str | None = _field(body, error, "code")
        self.param: str | None = _field(body, error, "param")
        self.type: str | None = _field(body, error, "type")

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        parts.append(self.message)
        text = " ".join(parts)
        if self.method and self.path:
            text += f" ({self.method} {self.path})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


def _field(body: Any, error: Any, name: str) -> str | None:
    # The SDK reads code/param/type from the `error` value; the RBAC 403 body carries them at
    # the top level next to a string `error`, so look in both places.
    for source in (error, body):
        value = source.get(name) if isinstance(source, dict) else None
        if isinstance(value, str):
            return value
    return None


class BadRequestError(ApiError):
    status = 400


class AuthenticationError(ApiError):
    status = 401


class PermissionDeniedError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class UnprocessableEntityError(ApiError):
    status = 422


class RateLimitError(ApiError):
    status = 429

    @property
    def seconds_until_reset(self) -> float | None:
        """Seconds until the rate limit resets (from ``x-ratelimit-reset``), if known."""
        reset = self.headers.get("x-ratelimit-reset")
        try:
            reset_ms = int(reset) if reset is not None else None
        except ValueError:
            return None
        if reset_ms is None:
            return None
        return max(0.0, reset_ms / 1000 - time.time())


class InternalServerError(ApiError):
    status = 500


class ApiConnectionError(ApiError):
    """The API could not be reached: DNS, refused or dropped connection, TLS, timeout."""

    def __init__(self, message: str = "Connection error.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class ApiTimeoutError(ApiConnectionError):
    """The API did not answer within the configured timeout (after retries)."""

    def __init__(self, message: str = "Request timed out.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class ApiSchemaValidationError(ApiError):
    """A successful response whose body does not have the documented shape."""


class BatchNotSealedError(ApiError):
    """The API kept answering ``sealed: false`` to a batch's items (the SDK's error)."""


class OutcomeUnknownError(ApiError):
    """The request reached the server (or may have), its answer was lost, and the call was
    not retried because doing it twice could duplicate work (``runs.replay``, a trigger without
    an idempotency key, ...). The server may or may not have acted: the message says what to
    check. ``cause`` is the underlying error (also chained as ``__cause__``).

    Catch ``OutcomeUnknownError`` to handle every such case; the concrete classes also inherit
    the error the call would otherwise have raised, so an existing ``except ApiConnectionError``
    or ``except InternalServerError`` still catches them.
    """

    def __init__(self, message: str, *, cause: ApiError | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cause = cause


class OutcomeUnknownConnectionError(OutcomeUnknownError, ApiConnectionError):
    """The connection was dropped after the request was sent."""


class OutcomeUnknownTimeoutError(OutcomeUnknownError, ApiTimeoutError):
    """No answer within the read timeout after the request was sent."""


class OutcomeUnknownServerError(OutcomeUnknownError, InternalServerError):
    """A 5xx answer: the server (or a proxy) failed, possibly after acting."""


class OutcomeUnknownConflictError(OutcomeUnknownError, ConflictError):
    """A 409 answer to a request that may have been acted on."""


class WaitpointTimedOutError(TriggerError):
    """A waitpoint token was completed after it had timed out: the API answers success but
    keeps the timeout, so the data given was not stored."""

    def __init__(self, token_id: str, message: str | None) -> None:
        self.token_id = token_id
        super().__init__(
            f"waitpoint token {token_id} had already timed out"
            + (f" ({message})" if message else "")
            + "; the data was not stored"
        )


class PollTimeoutError(TriggerError, TimeoutError):
    """``runs.poll`` stopped (timeout or attempts) before the run reached a final status."""

    def __init__(self, message: str, *, last: Any = None) -> None:
        self.last = last  # the last retrieved run
        super().__init__(message)


class StreamError(TriggerError):
    """Reading a realtime stream failed for a reason of the stream itself: an event larger
    than the reader's ``max_event_bytes``, or a stream the run never had."""


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[ApiError]:
    """The one status → class table (the SDK's ``ApiError.generate``)."""
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, ApiError)


# --- transport limits ----------------------------------------------------------------------


class ApiResponseTooLargeError(ApiError):
    """The response body, once decoded (gzip inflated), exceeded the client's
    ``max_response_size``: reading stopped there and the connection was closed."""
