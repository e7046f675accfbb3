"""``Transport``: one ``requests.Session`` per retry policy, the SDK's headers, one request
idempotency key per logical call, finite timeouts, and the mapping of failures to errors.

Limits of one call (all its attempts): an overall deadline (connect, retries and their sleeps,
and reading the body; see budget.py), a cap on the decoded body size (read in chunks, so a
gzip bomb never inflates in memory), and JSON nesting that cannot crash the parser. The token
lives in a ``Secret`` added by an auth hook, so no frame's locals show it in clear.

Every call goes through ``Transport.request()``, which returns a ``RawResponse``; resources
parse it into typed records (or hand it back as is for ``with_raw_response``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

from django_trigger import __version__
from django_trigger.credentials import Secret, TokenKind, token_kind
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    ApiResponseTooLargeError,
    ApiSchemaValidationError,
    ApiTimeoutError,
    ConfigurationRefusalError,
    ConflictError,
    InvalidRequestError,
    OutcomeUnknownConflictError,
    OutcomeUnknownConnectionError,
    OutcomeUnknownError,
    OutcomeUnknownServerError,
    OutcomeUnknownTimeoutError,
    error_class_for_status,
)
from django_trigger.options import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_NOT_FOUND_RETRY_BUDGET,
    DEFAULT_POOL_MAXSIZE,
    RequestOptions,
    RequestOptionsLike,
    RetryPolicy,
    validate_budget,
    validate_timeout,
)

from .budget import CallBudget, DeadlineTimeout, active_budget
from .ratelimit import RateLimitStore, SharedRateLimit
from .retry import (
    MAX_SERVER_WAIT,
    RetrySafety,
    TriggerRetry,
    error_after_sending,
    status_after_processing,
)

__all__ = ["API_VERSION", "Auth", "PreparedCall", "RawResponse", "Transport", "TransportBase"]

logger = logging.getLogger("django_trigger.http")

# The SDK's x-trigger-api-version (API.md §1.1): selects the V2 run-status vocabulary.
API_VERSION = "2025-07-16"
USER_AGENT = f"django-trigger/{__version__} (+https://pypi.org/project/django-trigger-dev/)"

T = TypeVar("T")

_CHUNK_SIZE = 64 * 1024  # bytes asked of the socket (or the gzip decoder) per read

# orjson (the optional ``speed`` extra) decodes a 100-run page in about half the time; it is
# imported on the first decode, not with the client (a few ms of start-up).
_NOT_LOADED: Any = object()
_orjson: Any = _NOT_LOADED


def _load_orjson() -> Any:
    global _orjson
    try:
        import orjson
    except ImportError:  # pragma: no cover - depends on the environment
        _orjson = None
    else:
        _orjson = orjson
    return _orjson


# orjson turns integers beyond 64 bits into floats where json.loads keeps them exact: a body
# with a run of 19 or more digits (anywhere, even in a string) is left to json.loads. The
# check maps every byte to "0" (a digit) or " " and looks for 19 zeros, in C.
_DIGIT_MASK = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19


class Auth(Enum):
    """Which credentials an endpoint accepts (API.md §14)."""

    SECRET_KEY = "secret_key"
    PERSONAL = "personal"  # tr_pat_ (and tr_uat_/tr_oat_ where the server allows)
    EITHER = "either"
    # A secret key, or a public access token (the routes the server builds with allowJWT);
    # the server checks the token's scopes.
    SECRET_KEY_OR_PUBLIC = "secret_key_or_public"
    NONE = "none"


class RawResponse(Generic[T]):
    """An HTTP response as received, with ``parse()`` giving the typed result of the call
    (the SDK's ``withResponse()``/``asResponse()``; openai's ``with_raw_response``).

    ``retried_after_unknown_outcome``: an earlier attempt of this call may have been processed
    (its answer was lost). RawResponse and PreparedCall are plain classes, not dataclasses:
    importing the client does not import ``dataclasses`` (issue #14)."""

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        http_response: requests.Response,
        method: str,
        path: str,
        retried_after_unknown_outcome: bool = False,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.http_response = http_response
        self.method = method
        self.path = path
        self.retried_after_unknown_outcome = retried_after_unknown_outcome
        self._parser: Callable[[RawResponse[Any]], T] | None = None

    def json(self) -> Any:
        """The body decoded as JSON (``ValueError`` if it is not JSON, or nested too deep)."""
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


class PreparedCall:
    """One logical call, ready to send (every attempt sends exactly this)."""

    __slots__ = (
        "body",
        "budget",
        "connect_timeout",
        "files",
        "headers",
        "method",
        "params",
        "path",
        "policy",
        "read_timeout",
        "safety",
        "url",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        url: str,
        params: dict[str, str] | None,
        body: bytes | None,
        files: Any,
        headers: dict[str, str],
        policy: RetryPolicy,
        safety: RetrySafety,
        connect_timeout: float,
        read_timeout: float,
        budget: CallBudget,
    ) -> None:
        self.method = method
        self.path = path
        self.url = url
        self.params = params
        self.body = body
        self.files = files
        self.headers = headers
        self.policy = policy
        self.safety = safety
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.budget = budget


class TransportBase:
    """What both transports share: configuration, headers, credentials checks, preparing a
    call (options, idempotency key, timeouts, budget, body) and turning answers into errors."""

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
        deadline: float = DEFAULT_DEADLINE,
        not_found_retry_budget: float = DEFAULT_NOT_FOUND_RETRY_BUDGET,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
        rate_limit_store: RateLimitStore | None = None,
    ) -> None:
        self.shared_rate_limit = (
            SharedRateLimit(rate_limit_store, access_token) if rate_limit_store else None
        )
        self.token_kind = token_kind(access_token)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.preview_branch = preview_branch
        self.deadline = deadline
        self.not_found_retry_budget = not_found_retry_budget
        self.max_response_size = max_response_size
        self.pool_maxsize = pool_maxsize
        self.headers = self._default_headers(headers or {})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    def _default_headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "x-trigger-api-version": API_VERSION,
            # The SDK's ApiClient sends it on every request (v2 unless turned off); the
            # trigger routes record it on the run.
            "x-trigger-realtime-streams-version": "v2",
            "x-trigger-source": "django-trigger",
        }
        if self.preview_branch:
            headers["x-trigger-branch"] = self.preview_branch
        headers.update(extra)
        return headers

    # -- requests ----------------------------------------------------------------------------

    def check_auth(self, auth: Auth, operation: str) -> None:
        """Refuse, before sending, a call these credentials cannot make (API.md §14)."""
        kind = self.token_kind
        if kind is TokenKind.PUBLIC_ACCESS_TOKEN and auth not in (
            Auth.SECRET_KEY_OR_PUBLIC,
            Auth.NONE,
        ):
            raise ConfigurationRefusalError(
                f"{operation} needs a secret key (tr_dev_…, tr_prod_…); this client is "
                "configured with a public access token, which the API accepts only for "
                "reading runs and batches, realtime subscriptions and triggering tasks.",
                reason=ConfigurationRefusalError.TOKEN_KIND,
            )
        if auth in (Auth.SECRET_KEY, Auth.SECRET_KEY_OR_PUBLIC) and kind.is_personal:
            raise ConfigurationRefusalError(
                f"{operation} needs a secret key (tr_dev_…, tr_prod_…); this client is "
                "configured with a personal access token, which the API refuses here.",
                reason=ConfigurationRefusalError.TOKEN_KIND,
            )
        if auth is Auth.PERSONAL and kind is TokenKind.SECRET_KEY:
            raise ConfigurationRefusalError(
                f"{operation} needs a personal access token (tr_pat_…); this client is "
                "configured with a secret key, which the API refuses here.",
                reason=ConfigurationRefusalError.TOKEN_KIND,
            )

    def prepare(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: bytes | None,
        files: Any,
        headers: Mapping[str, str] | None,
        request_options: RequestOptionsLike,
        retry_safety: RetrySafety | None,
        url: str | None = None,
    ) -> PreparedCall:
        """Everything about one logical call that is decided before sending (the same for
        every attempt): options, retry policy and safety, timeouts, budget, headers, body.
        ``url``: an absolute URL outside the API (a presigned object-store URL), sent only
        ``headers``; ``path`` then just names it in errors and logs."""
        options = _coerce_options(request_options)
        if retry_safety is None:
            retry_safety = RetrySafety.READ if method == "GET" else RetrySafety.UNSAFE
        try:
            policy = self.retry.merged(options.retry)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"invalid retry option: {exc}") from exc
        connect_timeout, read_timeout = self._timeout(options.timeout)
        budget = self._budget(options)

        if url is None:
            send_headers = dict(self.headers)
            # One key per logical call: every attempt re-sends it (retrying POSTs is safe).
            send_headers["x-trigger-request-idempotency-key"] = _request_key()
            send_headers.update(headers or {})
            send_headers.update(options.headers)
        else:  # not the API: none of its headers (nor the caller's extra API headers)
            send_headers = dict(headers or {})
        if files is not None:
            send_headers.pop("Content-Type", None)  # the multipart encoder sets the boundary
        body = data
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        return PreparedCall(
            method=method,
            path=path,
            url=self.base_url + path if url is None else url,
            params=_clean_params(params),
            body=body,
            files=files,
            headers=send_headers,
            policy=policy,
            safety=retry_safety,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            budget=budget,
        )

    def begin(
        self, method: str, path: str, *, url: str | None, **arguments: Any
    ) -> tuple[PreparedCall, float]:
        """The start of both transports' ``request``: ``prepare`` (``arguments`` are its
        own), and the seconds to wait before sending (a rate-limit reset another worker saw,
        API calls only, within the deadline; 0 for none). Each transport sleeps its own way."""
        call = self.prepare(method, path, url=url, **arguments)
        wait = 0.0
        if self.shared_rate_limit is not None and url is None:
            wait = self.shared_rate_limit.wait_before(
                min(MAX_SERVER_WAIT, call.budget.remaining()), method, path
            )
        return call, wait

    def prepare_stream(
        self, path: str, headers: Mapping[str, str], read_timeout: float
    ) -> PreparedCall:
        """An event stream's GET (both transports' ``open_stream``): one attempt, each read
        waiting at most ``read_timeout``."""
        return self.prepare(
            "GET",
            path,
            params=None,
            json_body=None,
            data=None,
            files=None,
            headers=headers,
            request_options={"retry": {"max_attempts": 1}, "timeout": read_timeout},
            retry_safety=RetrySafety.READ,
        )

    def answer(
        self,
        call: PreparedCall,
        raw: RawResponse[Any],
        unknown_hint: str | None,
        sent_at: dt.datetime,
    ) -> RawResponse[Any]:
        """``raw`` if it is a success, else raise its error (``OutcomeUnknownError`` when the
        call is not safe to repeat and the answer may come after the server acted)."""
        elapsed_ms = (time.monotonic() - call.budget.started) * 1000
        logger.debug("%s %s -> %s (%.0f ms)", call.method, call.path, raw.status_code, elapsed_ms)
        if not 200 <= raw.status_code < 300:
            status_error = _status_error(raw)
            status_error.retried_after_unknown_outcome = raw.retried_after_unknown_outcome
            if not call.safety.retries_after_sending and status_after_processing(
                raw.status_code, raw.headers
            ):
                raise _outcome_unknown(status_error, unknown_hint, sent_at, call.read_timeout)
            raise status_error
        return raw

    def _budget(self, options: RequestOptions) -> CallBudget:
        deadline = self.deadline if options.deadline is None else options.deadline
        not_found = (
            self.not_found_retry_budget
            if options.not_found_retry_budget is None
            else options.not_found_retry_budget
        )
        problems = validate_timeout(deadline, "deadline") if options.deadline is not None else []
        if options.not_found_retry_budget is not None:
            problems += validate_budget(not_found, "not_found_retry_budget")
        if problems:
            raise InvalidRequestError(problems[0])
        return CallBudget(float(deadline), float(not_found))

    def _timeout(self, override: Any) -> tuple[float, float]:
        value = self.timeout if override is None else override
        if isinstance(value, tuple):
            return value
        try:
            read = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(
                f"timeout must be a number of seconds, not {value!r}"
            ) from exc
        if not read > 0 or read == float("inf"):
            raise InvalidRequestError("timeout must be a positive, finite number of seconds")
        return (self.connect_timeout, read)

    # -- failures ----------------------------------------------------------------------------

    @functools.cached_property
    def _host(self) -> str:
        """``host:port`` of the API (never credentials, a path or a query string)."""
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}"

    def _deadline_error(
        self, budget: CallBudget, method: str, path: str, doing: str
    ) -> ApiTimeoutError:
        attempts = f"{budget.attempts} attempt" + ("s" if budget.attempts != 1 else "")
        return ApiTimeoutError(
            f"Deadline of {budget.deadline_seconds:g}s reached after {attempts} ({doing}).",
            method=method,
            path=path,
        )

    def _failure_error(
        self, reason: BaseException, timed_out: bool, budget: CallBudget, method: str, path: str
    ) -> ApiError:
        """The error for a call that got no answer (``reason``: the failure of its last
        attempt, ``timed_out``: whether that was a timeout)."""
        # Out of time: the time left ran out (a wait cut to it timed out). A failure that came
        # quickly is reported as itself, even when the deadline left no time for a retry.
        if budget.remaining() <= 0 or (budget.deadline_reached and timed_out):
            last = self._describe_failure(reason).rstrip(".")
            return self._deadline_error(budget, method, path, f"last: {last}")
        attempts = f"after {budget.attempts} attempts" if budget.attempts > 1 else ""
        if budget.deadline_reached:
            attempts = (f"{attempts}; " if attempts else "") + (
                f"no time for another before the {budget.deadline_seconds:g}s deadline"
            )
        message = self._describe_failure(reason, attempts)
        error_class = ApiTimeoutError if timed_out else ApiConnectionError
        return error_class(message, method=method, path=path)

    def _describe_failure(self, reason: BaseException, suffix: str = "") -> str:
        """What happened, in words, with ``host:port``; never the URL (it may carry a query)."""
        kind, detail = self._failure_kind(reason)
        text = _FAILURES[kind].format(host=self._host, detail=detail)
        return f"{text} ({suffix})." if suffix else f"{text}."

    def _failure_kind(self, reason: BaseException) -> tuple[str, str]:
        """The transport library's failure as a kind of ``_FAILURES`` and its detail."""
        raise NotImplementedError


class Transport(TransportBase):
    """The sync transport: requests + urllib3, which retries inside the adapter with
    ``TriggerRetry`` (the shared ``RetryRules``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._auth = _BearerAuth(kwargs["access_token"])
        self._sessions: dict[tuple[RetryPolicy, RetrySafety], requests.Session] = {}
        self._lock = threading.Lock()

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
                # pool_block stays off: a thread finding every pooled connection busy opens
                # one more (discarded after use) instead of waiting without a deadline.
                shared = self.shared_rate_limit
                retry = TriggerRetry(
                    policy, safety=safety, on_rate_limited=shared.note if shared else None
                )
                adapter = HTTPAdapter(max_retries=retry, pool_maxsize=self.pool_maxsize)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                self._sessions[(policy, safety)] = session
            return session

    def _send(self, call: PreparedCall, authenticated: bool) -> requests.Response:
        """Send ``call`` once through its session (whose adapter retries), body unread.

        What ``Session.request`` does with ``trust_env`` off (the same request: the session's
        headers merged under the call's, its cookies and hooks, the auth hook, redirects not
        followed),
        without the per-call copies and merges of the session's unchanging settings
        (BENCHMARKS.md, third pass; tests/core/test_transport.py compares the two)."""
        session = self.session(call.policy, call.safety)
        headers = CaseInsensitiveDict(session.headers)
        headers.update(call.headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=call.method.upper(),
            url=call.url,
            # As Session.request: a header set to None is not sent.
            headers={key: value for key, value in headers.items() if value is not None},
            files=call.files,
            data=call.body or {},
            params=call.params or {},
            auth=self._auth if authenticated else None,
            cookies=session.cookies,
            hooks=session.hooks,
        )
        return session.send(
            prepared,
            # requests passes a urllib3 Timeout through as is (typeshed omits it)
            timeout=DeadlineTimeout(call.connect_timeout, call.read_timeout, call.budget),  # type: ignore[arg-type]
            allow_redirects=False,
            stream=True,  # the caller reads the body, within the deadline and size cap
            verify=session.verify,
            cert=session.cert,
            proxies=dict(session.proxies),
        )

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

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
        url: str | None = None,
    ) -> RawResponse[Any]:
        """Send one logical call (retried per the policy and ``retry_safety``; a GET defaults
        to ``READ``, anything else to ``UNSAFE``). ``unknown_hint`` tells the caller what to
        check when the outcome is unknown; ``{sent_at}`` in it becomes the UTC time the call
        started. ``url``: send to this URL outside the API instead (see ``prepare``)."""
        call, wait = self.begin(
            method,
            path,
            params=params,
            json_body=json_body,
            data=data,
            files=files,
            headers=headers,
            request_options=request_options,
            retry_safety=retry_safety,
            url=url,
        )
        if wait:
            time.sleep(wait)
        budget = call.budget
        sent_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        try:
            with active_budget(budget):
                response = self._send(call, authenticated)
        except requests.RequestException as exc:
            error = self._connection_error(exc, method, path, budget)
            if not call.safety.retries_after_sending and error_after_sending(_reason(exc)):
                error = _outcome_unknown(
                    error, unknown_hint, sent_at, call.read_timeout, _deadline_if_reached(budget)
                )
            raise error from exc
        try:
            self._read_body(response, budget, call.read_timeout, method, path)
        except ApiConnectionError as error:  # the request was processed; its answer was cut
            if call.safety.retries_after_sending:
                raise
            raise _outcome_unknown(
                error, unknown_hint, sent_at, call.read_timeout, _deadline_if_reached(budget)
            ) from error
        raw: RawResponse[Any] = RawResponse(
            status_code=response.status_code,
            headers=response.headers,
            http_response=response,
            method=method,
            path=path,
            retried_after_unknown_outcome=_earlier_attempt_may_have_acted(response),
        )
        return self.answer(call, raw, unknown_hint, sent_at)

    def open_stream(
        self, path: str, *, headers: Mapping[str, str], read_timeout: float
    ) -> requests.Response:
        """GET an event stream: one attempt (the reader decides about reconnecting), the
        response returned with its body unread once the head arrived within ``read_timeout``;
        a non-2xx answer is read (capped) and raised as its ``ApiError``. The caller closes
        the response. Reads of the body are bounded with :func:`read_stream_chunk`."""
        call = self.prepare_stream(path, headers, read_timeout)
        sent_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        try:
            with active_budget(call.budget):
                response = self._send(call, True)
        except requests.RequestException as exc:
            raise self._connection_error(exc, "GET", path, call.budget) from exc
        if 200 <= response.status_code < 300:
            return response
        self._read_body(response, call.budget, call.read_timeout, "GET", path)
        raw: RawResponse[Any] = RawResponse(
            status_code=response.status_code,
            headers=response.headers,
            http_response=response,
            method="GET",
            path=path,
        )
        return self.answer(call, raw, None, sent_at).http_response  # raises

    def _read_body(
        self,
        response: requests.Response,
        budget: CallBudget,
        read_timeout: float,
        method: str,
        path: str,
    ) -> None:
        """Read the (decoded) body in chunks, each read bounded by the time left, stopping
        at the deadline or past ``max_response_size``; the result becomes ``.content``."""
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        try:
            if budget.remaining() <= 0:  # e.g. spent reading away a retried answer's body
                raise self._deadline_error(
                    budget, method, path, f"reading the response from {self._host}"
                )
            while True:
                _clamp_socket_timeout(raw, min(read_timeout, budget.remaining()))
                # What has arrived (a trickle cannot block it), inflated at most a chunk at a time.
                chunk = raw.read1(_CHUNK_SIZE, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_response_size:
                    raise ApiResponseTooLargeError(
                        f"response body larger than max_response_size "
                        f"({self.max_response_size:,} bytes decoded); reading stopped",
                        status=response.status_code,
                        headers=response.headers,
                        method=method,
                        path=path,
                    )
                chunks.append(chunk)
                if budget.remaining() <= 0:
                    raise self._deadline_error(
                        budget, method, path, f"reading the response from {self._host}"
                    )
        except ApiError:
            response.close()  # the rest of the body is unread: the connection cannot be reused
            raise
        except (HTTPError, OSError) as exc:
            response.close()
            if budget.remaining() <= 0:
                raise self._deadline_error(
                    budget, method, path, f"reading the response from {self._host}"
                ) from exc
            raise ApiConnectionError(
                self._describe_failure(exc, "reading the response"),
                method=method,
                path=path,
            ) from exc
        response._content = b"".join(chunks)
        response._content_consumed = True

    def _connection_error(
        self, exc: requests.RequestException, method: str, path: str, budget: CallBudget
    ) -> ApiError:
        if isinstance(exc, requests.exceptions.InvalidURL):
            return ApiConnectionError(f"Invalid URL: {exc}", method=method, path=path)
        reason: BaseException = _reason(exc) or exc
        # urllib3's NewConnectionError (refused, DNS) subclasses ConnectTimeoutError: no timeout.
        timed_out = isinstance(exc, requests.Timeout) or (
            isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))
            and not isinstance(reason, NewConnectionError)
        )
        return self._failure_error(reason, timed_out, budget, method, path)

    def _failure_kind(self, reason: BaseException) -> tuple[str, str]:
        """urllib3's errors as ``_FAILURES`` kinds (never urllib3's own message: it quotes the
        URL)."""
        if isinstance(reason, NameResolutionError):
            return "dns", ""
        if isinstance(reason, NewConnectionError):
            cause = reason.__cause__ or reason.__context__
            if isinstance(cause, ConnectionRefusedError):
                return "refused", ""
            return "connect", _strerror(cause)
        if isinstance(reason, ConnectTimeoutError):
            return "connect_timeout", ""
        if isinstance(reason, ReadTimeoutError):
            return "read_timeout", ""
        if isinstance(reason, (SSLError, ssl.SSLError)):
            return "tls", _tls_reason(reason)
        if isinstance(reason, DecodeError):
            return "decode", ""
        if isinstance(reason, (ProtocolError, ConnectionError)):
            return "dropped", ""
        return "other", type(reason).__name__


class _BearerAuth(AuthBase):
    """Adds ``Authorization: Bearer …`` to each prepared request, as a ``Secret`` (its repr
    is redacted): no frame's locals hold the header in clear, which is what Django's technical
    500 page and debuggers print."""

    def __init__(self, token: str) -> None:
        self._token = Secret(token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = Secret("Bearer " + self._token)
        return request

    def __repr__(self) -> str:
        return "<BearerAuth>"


# How a failure without an answer is told (``detail``: what ``_failure_kind`` found), the same
# words for both transports.
_FAILURES = {
    "dns": "DNS lookup failed for {host}: the host name does not resolve",
    "refused": "Connection refused by {host}",
    "connect": "Could not connect to {host}{detail}",
    "connect_timeout": "Connect timeout: {host} did not accept the connection in time",
    "read_timeout": "Read timeout: {host} did not answer in time",
    "tls": "TLS error talking to {host}: {detail}",
    "decode": "Undecodable response from {host}: bad Content-Encoding data",
    "dropped": "Connection dropped by {host} before the answer was complete",
    "other": "Connection error talking to {host} ({detail})",
}


def _strerror(cause: BaseException | None) -> str:
    """``": <the OS's reason>"`` of a failed connect, or nothing."""
    return f": {cause.strerror}" if isinstance(cause, OSError) and cause.strerror else ""


def _tls_reason(reason: BaseException) -> str:
    """The OpenSSL reason (``WRONG_VERSION_NUMBER``, ``CERTIFICATE_VERIFY_FAILED``…)."""
    current: BaseException | None = reason
    while current is not None:
        if isinstance(current, ssl.SSLError):
            return str(current.reason or current.strerror or "handshake failed")
        nested = current.args[0] if current.args else None
        current = (
            nested
            if isinstance(nested, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return "handshake failed"


def read_stream_chunk(response: requests.Response, timeout: float) -> bytes:
    """What has arrived of an open stream's body (at most 64 KiB, decoded), waiting at most
    ``timeout`` seconds; ``b""`` at its clean end. A cut connection or the timeout raises
    ``OSError`` (``ConnectionError``/``TimeoutError``)."""
    raw = response.raw
    _clamp_socket_timeout(raw, timeout)
    try:
        return bytes(raw.read1(_CHUNK_SIZE, decode_content=True))
    except ReadTimeoutError as exc:
        raise TimeoutError(f"no data for {timeout:g} s") from exc
    except (HTTPError, OSError) as exc:
        raise ConnectionError(str(exc) or type(exc).__name__) from exc


def _clamp_socket_timeout(raw: Any, seconds: float) -> None:
    """Bound the next socket read to ``seconds`` (the time left before the deadline)."""
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, seconds))


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
    except RecursionError as exc:
        raise ApiSchemaValidationError(
            "response body nested too deeply to parse",
            status=raw.status_code,
            headers=raw.headers,
            method=raw.method,
            path=raw.path,
        ) from exc
    except ValueError as exc:
        # Imported here: the record module (and ``dataclasses``) loads with the first record
        # class, not with the client; a parser that raises it has imported it.
        from django_trigger.types import SchemaError

        if not isinstance(exc, SchemaError):
            raise
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
    return loads(response.content)


def loads(data: bytes | str) -> Any:
    """``json.loads`` where nesting too deep for the parser is a ``ValueError`` like any
    other malformed body (``RecursionError`` would escape every ``except ValueError``).

    With orjson installed, bytes are decoded by orjson when it gives the same result: it
    refuses what json.loads alone accepts (NaN, lone surrogates, UTF-16, a BOM, nesting past
    1024), and such a body, like one orjson would decode differently (integers past 64 bits),
    goes to json.loads, which decodes it or words the error as before."""
    fast = _orjson if _orjson is not _NOT_LOADED else _load_orjson()
    if fast is not None and type(data) is bytes and _LONG_NUMBER not in data.translate(_DIGIT_MASK):
        try:
            return fast.loads(data)
        except fast.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply to decode") from None


def _status_error(raw: RawResponse[Any]) -> ApiError:
    """Build the error for a non-2xx answer; the message follows the SDK's rules."""
    status = raw.status_code
    text = raw.http_response.text
    body: Any
    try:
        body = loads(text) if text else None
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


def _deadline_if_reached(budget: CallBudget) -> float | None:
    return budget.deadline_seconds if budget.deadline_reached or budget.remaining() <= 0 else None


def _reason(exc: requests.RequestException) -> BaseException | None:
    """The urllib3 error behind a requests exception."""
    reason: BaseException | None = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return reason


def _earlier_attempt_may_have_acted(response: requests.Response) -> bool:
    """Whether an attempt before the one that answered may have done the work: it failed
    after the request was sent, or answered 5xx (urllib3 records every retried failure in the
    retry's history). A 409 is a refusal, so it does not count here: a resource reads "done"
    into a retry's answer only when an earlier attempt could really have done it (409
    "already aborted" after a plain 409 must stay an error). Not retrying an unsafe call after
    a 409 is the other, equally cautious, reading (``status_after_processing``)."""
    retries = getattr(response.raw, "retries", None)
    if not isinstance(retries, Retry):
        return False
    for attempt in retries.history:
        if attempt.error is not None and error_after_sending(attempt.error):
            return True
        if attempt.status is not None and attempt.status >= 500:
            return True
    return False


_WHAT_HAPPENED: list[tuple[type[ApiError], type[OutcomeUnknownError], str]] = [
    (
        ApiTimeoutError,
        OutcomeUnknownTimeoutError,
        "no answer came within the read timeout ({read:g} s) after the request was sent",
    ),
    (
        ApiConnectionError,
        OutcomeUnknownConnectionError,
        "the connection was dropped after the request was sent",
    ),
    (ConflictError, OutcomeUnknownConflictError, "the server answered {status} ({message})"),
    (ApiError, OutcomeUnknownServerError, "the server answered {status} ({message})"),
]


def _outcome_unknown(
    cause: ApiError,
    hint: str | None,
    sent_at: dt.datetime,
    read_timeout: float,
    deadline: float | None = None,
) -> OutcomeUnknownError:
    """The error for a failure after sending a call that is not safe to repeat (``deadline``:
    the call's deadline, when that is what stopped it)."""
    error_class, template = next(
        (error, text) for kind, error, text in _WHAT_HAPPENED if isinstance(cause, kind)
    )
    what = template.format(read=read_timeout, status=cause.status, message=cause.message)
    if deadline is not None and isinstance(cause, ApiTimeoutError):
        what = f"the call's deadline ({deadline:g} s) passed after the request was sent"
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


def _request_key() -> str:
    """A random UUID (version 4) as text, for the request idempotency header.

    ``uuid`` is imported on the first call, not with this module: it imports ``platform``
    and compiles regular expressions, about a third of what ``import django_trigger.client``
    costs beyond ``import requests`` (BENCHMARKS.md, start-up)."""
    import uuid

    return str(uuid.uuid4())
