"""``Transport``: one ``requests.Session`` per retry policy, the SDK's headers, one request
idempotency key per logical call, finite timeouts, and the mapping of failures to errors.

Every call goes through ``Transport.request()``, which returns a ``RawResponse``; resources
parse it into typed records (or hand it back as is for ``with_raw_response``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from django_trigger import __version__
from django_trigger.credentials import TokenKind, token_kind
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    ApiSchemaValidationError,
    ApiTimeoutError,
    ConflictError,
    InvalidRequestError,
    OutcomeUnknownConflictError,
    OutcomeUnknownConnectionError,
    OutcomeUnknownError,
    OutcomeUnknownServerError,
    OutcomeUnknownTimeoutError,
    error_class_for_status,
)
from django_trigger.options import RequestOptions, RequestOptionsLike, RetryPolicy
from django_trigger.types import SchemaError

from .retry import RetrySafety, TriggerRetry, error_after_sending, status_after_processing

__all__ = ["API_VERSION", "Auth", "RawResponse", "Transport"]

logger = logging.getLogger("django_trigger.http")

# The SDK's x-trigger-api-version (API.md §1.1): selects the V2 run-status vocabulary.
API_VERSION = "2025-07-16"
USER_AGENT = f"django-trigger/{__version__} (+https://pypi.org/project/django-trigger-dev/)"

T = TypeVar("T")


class Auth:
    """Which credentials an endpoint accepts (API.md §14)."""

    SECRET_KEY = "secret_key"
    PERSONAL = "personal"  # tr_pat_ (and tr_uat_/tr_oat_ where the server allows)
    EITHER = "either"
    NONE = "none"


@dataclass
class RawResponse(Generic[T]):
    """An HTTP response as received, with ``parse()`` giving the typed result of the call
    (the SDK's ``withResponse()``/``asResponse()``; openai's ``with_raw_response``)."""

    status_code: int
    headers: Mapping[str, str]
    http_response: requests.Response
    method: str
    path: str
    _parser: Callable[[RawResponse[Any]], T] | None = None
    #: An earlier attempt of this call may have been processed (its answer was lost).
    retried_after_unknown_outcome: bool = False

    def json(self) -> Any:
        return _decode_json(self.http_response)

    @property
    def text(self) -> str:
        return self.http_response.text

    def parse(self) -> T:
        if self._parser is None:
            return self.json()  # type: ignore[no-any-return]
        return self._parser(self)

    def __repr__(self) -> str:
        return f"<RawResponse {self.method} {self.path} {self.status_code}>"


class Transport:
    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        timeout: float | tuple[float, float],
        connect_timeout: float,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        preview_branch: str | None = None,
    ) -> None:
        self._access_token = access_token
        self.token_kind = token_kind(access_token)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.preview_branch = preview_branch
        self.headers = self._default_headers(headers or {})
        self._sessions: dict[tuple[RetryPolicy, RetrySafety], requests.Session] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Transport {self.base_url}>"

    def _default_headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "x-trigger-api-version": API_VERSION,
            "x-trigger-source": "django-trigger",
        }
        if self.preview_branch:
            headers["x-trigger-branch"] = self.preview_branch
        headers.update(extra)
        return headers

    # -- sessions ----------------------------------------------------------------------------

    def session(
        self, policy: RetryPolicy, safety: RetrySafety = RetrySafety.READ
    ) -> requests.Session:
        """The session whose adapter retries with ``policy`` for calls of this ``safety``
        (created once, then reused)."""
        with self._lock:
            session = self._sessions.get((policy, safety))
            if session is None:
                session = requests.Session()
                session.trust_env = False  # no ~/.netrc auth, no env proxies surprises
                retry = TriggerRetry(policy, safety=safety)
                adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                self._sessions[(policy, safety)] = session
            return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

    # -- requests ----------------------------------------------------------------------------

    def check_auth(self, auth: str, operation: str) -> None:
        """Refuse, before sending, a call these credentials cannot make (API.md §14)."""
        kind = self.token_kind
        if auth == Auth.SECRET_KEY and kind.is_personal:
            raise InvalidRequestError(
                f"{operation} needs a secret key (tr_dev_…, tr_prod_…); this client is "
                "configured with a personal access token, which the API refuses here."
            )
        if auth == Auth.PERSONAL and kind is TokenKind.SECRET_KEY:
            raise InvalidRequestError(
                f"{operation} needs a personal access token (tr_pat_…); this client is "
                "configured with a secret key, which the API refuses here."
            )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        request_options: RequestOptionsLike = None,
        authenticated: bool = True,
        retry_safety: RetrySafety | None = None,
        unknown_hint: str | None = None,
    ) -> RawResponse[Any]:
        """Send one logical call (retried per the policy and ``retry_safety``; a GET defaults
        to ``READ``, anything else to ``UNSAFE``). ``unknown_hint`` tells the caller what to
        check when the outcome is unknown; ``{sent_at}`` in it becomes the UTC time the call
        started."""
        options = _coerce_options(request_options)
        if retry_safety is None:
            retry_safety = RetrySafety.READ if method == "GET" else RetrySafety.UNSAFE
        try:
            policy = self.retry.merged(options.retry)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"invalid retry option: {exc}") from exc
        timeout = self._timeout(options.timeout)

        send_headers = dict(self.headers)
        if authenticated:
            send_headers["Authorization"] = f"Bearer {self._access_token}"
        # One key per logical call; urllib3 re-sends the same prepared request on retries.
        send_headers["x-trigger-request-idempotency-key"] = str(uuid.uuid4())
        send_headers.update(headers or {})
        send_headers.update(options.headers)
        if files is not None:
            send_headers.pop("Content-Type", None)  # requests sets the multipart boundary
        body = data
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()

        url = self.base_url + path
        started = time.monotonic()
        sent_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        try:
            response = self.session(policy, retry_safety).request(
                method,
                url,
                params=_clean_params(params),
                data=body,
                files=files,
                headers=send_headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = _connection_error(exc, method, path)
            if not retry_safety.retries_after_sending and error_after_sending(_reason(exc)):
                error = _outcome_unknown(error, unknown_hint, sent_at, timeout[1])
            raise error from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %s (%.0f ms)", method, path, response.status_code, elapsed_ms)

        raw: RawResponse[Any] = RawResponse(
            status_code=response.status_code,
            headers=response.headers,
            http_response=response,
            method=method,
            path=path,
            retried_after_unknown_outcome=_earlier_attempt_may_have_acted(response),
        )
        if not 200 <= response.status_code < 300:
            status_error = _status_error(raw)
            status_error.retried_after_unknown_outcome = raw.retried_after_unknown_outcome
            if not retry_safety.retries_after_sending and status_after_processing(
                response.status_code, response.headers
            ):
                raise _outcome_unknown(status_error, unknown_hint, sent_at, timeout[1])
            raise status_error
        return raw

    def _timeout(self, override: Any) -> tuple[float, float]:
        value = self.timeout if override is None else override
        if isinstance(value, tuple):
            return value
        try:
            read = float(value)
        except (TypeError, ValueError):
            raise InvalidRequestError(f"timeout must be a number of seconds, not {value!r}")
        if not read > 0 or read == float("inf"):
            raise InvalidRequestError("timeout must be a positive, finite number of seconds")
        return (self.connect_timeout, read)


def parse_with(
    raw: RawResponse[Any],
    parser: Callable[[Any], T],
    merge_headers: Mapping[str, str] | None = None,
) -> T:
    """Decode ``raw``'s JSON body and parse it, turning shape errors into
    ``ApiSchemaValidationError`` (a 2xx whose body is not what the API documents).

    ``merge_headers`` maps response headers to keys added to an object body before parsing
    (``{"x-trigger-jwt": "publicAccessToken"}``)."""
    try:
        data = _decode_json(raw.http_response)
    except ValueError as exc:
        raise ApiSchemaValidationError(
            f"response body is not JSON: {exc}",
            status=raw.status_code,
            headers=raw.headers,
            body=raw.http_response.text[:1000],
            method=raw.method,
            path=raw.path,
        ) from exc
    if merge_headers and isinstance(data, dict):
        data = {**data, **{key: raw.headers.get(header) for header, key in merge_headers.items()}}
    try:
        return parser(data)
    except SchemaError as exc:
        raise ApiSchemaValidationError(
            f"unexpected response shape: {exc}",
            status=raw.status_code,
            headers=raw.headers,
            body=data,
            method=raw.method,
            path=raw.path,
        ) from exc


def _coerce_options(value: RequestOptionsLike) -> RequestOptions:
    try:
        return RequestOptions.coerce(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(str(exc)) from exc


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    return {key: value for key, value in params.items() if value is not None}


def _decode_json(response: requests.Response) -> Any:
    if not response.content:
        raise ValueError("empty body")
    return json.loads(response.content)


def _status_error(raw: RawResponse[Any]) -> ApiError:
    """Build the error for a non-2xx answer; the message follows the SDK's rules."""
    status = raw.status_code
    text = raw.http_response.text
    body: Any
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and "message" in error:
        message = str(error["message"])
    elif isinstance(error, str):
        message = error
    elif isinstance(error, dict):
        message = json.dumps(error)
    elif isinstance(body, str) and body:
        message = body[:500]
    else:
        message = "status code (no body)"
    error_class = error_class_for_status(status)
    return error_class(
        message, status=status, headers=raw.headers, body=body, method=raw.method, path=raw.path
    )


def _reason(exc: requests.RequestException) -> BaseException | None:
    """The urllib3 error behind a requests exception."""
    reason: BaseException | None = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return reason


def _earlier_attempt_may_have_acted(response: requests.Response) -> bool:
    """Whether an attempt before the one that answered failed after the request was sent
    (urllib3 records every retried failure in the retry's history)."""
    retries = getattr(response.raw, "retries", None)
    if not isinstance(retries, Retry):
        return False
    for attempt in retries.history:
        if attempt.error is not None and error_after_sending(attempt.error):
            return True
        if attempt.status is not None and (attempt.status == 409 or attempt.status >= 500):
            return True
    return False


_WHAT_HAPPENED: list[tuple[type[ApiError], type[OutcomeUnknownError], str]] = [
    (ApiTimeoutError, OutcomeUnknownTimeoutError,
     "no answer came within the read timeout ({read:g} s) after the request was sent"),
    (ApiConnectionError, OutcomeUnknownConnectionError,
     "the connection was dropped after the request was sent"),
    (ConflictError, OutcomeUnknownConflictError, "the server answered {status} ({message})"),
    (ApiError, OutcomeUnknownServerError, "the server answered {status} ({message})"),
]


def _outcome_unknown(
    cause: ApiError, hint: str | None, sent_at: dt.datetime, read_timeout: float
) -> OutcomeUnknownError:
    """The error for a failure after sending a call that is not safe to repeat."""
    error_class, template = next(
        (error, text) for kind, error, text in _WHAT_HAPPENED if isinstance(cause, kind)
    )
    what = template.format(read=read_timeout, status=cause.status, message=cause.message)
    check = (hint or "look at the affected resources before repeating the call").replace(
        "{sent_at}", sent_at.isoformat().replace("+00:00", "Z")
    )
    message = (
        f"outcome unknown: {what}, so the server may have acted on it. It was not retried "
        f"because repeating it could do the work twice. To find out: {check}."
    )
    error = error_class(
        message,
        cause=cause,
        status=cause.status,
        headers=cause.headers,
        body=cause.body,
        method=cause.method,
        path=cause.path,
    )
    return error


def _connection_error(exc: requests.RequestException, method: str, path: str) -> ApiError:
    reason: BaseException | None = exc
    if exc.args and isinstance(exc.args[0], MaxRetryError):
        reason = exc.args[0].reason
    # urllib3's NewConnectionError (refused, DNS) subclasses ConnectTimeoutError: not a timeout.
    timed_out = isinstance(exc, requests.Timeout) or (
        isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))
        and not isinstance(reason, NewConnectionError)
    )
    if timed_out:
        return ApiTimeoutError(method=method, path=path)
    if isinstance(exc, requests.exceptions.InvalidURL):
        return ApiConnectionError(f"Invalid URL: {exc}", method=method, path=path)
    return ApiConnectionError(method=method, path=path)
