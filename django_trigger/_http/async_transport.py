"""``AsyncTransport``: the sync ``Transport``'s behaviour on httpx, for ``AsyncTriggerClient``.

Everything decided before sending (options, idempotency key, timeouts, budget, headers, body)
and after the answer (error mapping, ``OutcomeUnknownError``) is ``TransportBase``'s, and every
retry decision is ``RetryRules.decide`` (retry.py), exactly as urllib3's ``TriggerRetry`` asks
it: only the loop that sends, sleeps and reads is written here, with ``await``.

One ``httpx.AsyncClient`` (connection pool) per event loop: a pool is bound to the loop that
opened its connections, and Django may serve requests on several loops (one per thread under
``async_to_sync``). Cancelling the awaiting task stops the call at once, also during a retry's
sleep: nothing runs in a thread pool.

Imported only by ``AsyncTriggerClient``: httpx is the optional ``django-trigger-dev[async]``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import socket
import ssl
import sys
import weakref
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import httpx

from django_trigger.credentials import Secret
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    ApiResponseTooLargeError,
)
from django_trigger.options import RequestOptionsLike

from .retry import Failure, RetryRules, RetrySafety, _path_only
from .transport import (
    PreparedCall,
    RawResponse,
    TransportBase,
    _deadline_if_reached,
    _outcome_unknown,
    _strerror,
)

__all__ = ["AsyncTransport"]

logger = logging.getLogger("django_trigger.http")
T = TypeVar("T")
_JITTER = random.Random()  # retry jitter, not cryptography

# Failures before the request could reach the server (nothing was sent).
_BEFORE_SENDING = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


class AsyncTransport(TransportBase):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._authorization = Secret("Bearer " + kwargs["access_token"])
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()
        # httpx's own default headers, then with the API's, then with the credentials too:
        # normalised once (made with the first pool), copied per call, which then sets only
        # what differs (its idempotency key). Their reprs hide the Authorization value.
        self._plain_headers: httpx.Headers | None = None
        self._api_headers = httpx.Headers()
        self._signed_headers = httpx.Headers()

    # -- connection pools ------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        """The running event loop's pool (created on first use there)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                trust_env=False,  # no ~/.netrc auth, no env proxies surprises
                follow_redirects=False,
                limits=httpx.Limits(
                    max_connections=None, max_keepalive_connections=self.pool_maxsize
                ),
            )
            self._clients[loop] = client
            if self._plain_headers is None:
                self._plain_headers = httpx.Headers(client.headers)
                self._api_headers = httpx.Headers(client.headers)
                self._api_headers.update(self.headers)
                self._signed_headers = httpx.Headers(self._api_headers)
                self._signed_headers["Authorization"] = self._authorization
        return client

    async def aclose(self) -> None:
        """Close the running loop's pool (pools of other loops are closed by their loop)."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    # -- requests ----------------------------------------------------------------------------

    async def request(
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
        """``Transport.request`` awaited: same arguments, same result and errors."""
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
            await asyncio.sleep(wait)
        budget = call.budget
        rules: RetryRules | None = None  # made at the first failure (most calls have none)
        client = self.client()
        send_headers = self._send_headers(call, authenticated, outside_api=url is not None)
        sent_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        earlier_acted = False  # an earlier attempt failed after sending, or answered 5xx
        attempt = 0
        while True:
            attempt += 1
            answered: list[httpx.Response] = []  # the answer's headers arrived
            try:
                response, content = await self._attempt(client, call, send_headers, answered)
            except (httpx.HTTPError, asyncio.TimeoutError) as exc:
                if answered:  # the request was processed; its answer was cut
                    error = self._body_error(exc, call)
                    if call.safety.retries_after_sending or answered[0].status_code >= 400:
                        raise error from exc
                    raise _outcome_unknown(
                        error,
                        unknown_hint,
                        sent_at,
                        call.read_timeout,
                        _deadline_if_reached(budget),
                    ) from error
                after_sending = not isinstance(exc, _BEFORE_SENDING)
                rules = rules or self._rules(call)
                decision = rules.decide(
                    Failure.broken(type(exc).__name__, after_sending=after_sending), attempt, budget
                )
                if decision.delay is not None:
                    self._log_retry(call, decision.delay, attempt, decision.reason)
                    earlier_acted = earlier_acted or after_sending
                    await asyncio.sleep(decision.delay)
                    continue
                error = self._connection_error(exc, call)
                if not call.safety.retries_after_sending and after_sending:
                    error = _outcome_unknown(
                        error,
                        unknown_hint,
                        sent_at,
                        call.read_timeout,
                        _deadline_if_reached(budget),
                    )
                raise error from exc
            if response.status_code >= 400:
                rules = rules or self._rules(call)
                decision = rules.decide(
                    Failure.answer(response.status_code, response.headers), attempt, budget
                )
                if decision.delay is not None:
                    self._log_retry(call, decision.delay, attempt, decision.reason)
                    earlier_acted = earlier_acted or response.status_code >= 500
                    await asyncio.sleep(decision.delay)
                    continue
            break
        response._content = content
        raw: RawResponse[Any] = RawResponse(
            status_code=response.status_code,
            headers=response.headers,
            http_response=response,  # type: ignore[arg-type]  # same .content/.text/.headers
            method=method,
            path=path,
            retried_after_unknown_outcome=earlier_acted,
        )
        return self.answer(call, raw, unknown_hint, sent_at)

    async def open_stream(
        self, path: str, *, headers: Mapping[str, str], read_timeout: float
    ) -> httpx.Response:
        """``Transport.open_stream`` awaited: one attempt, the response with its body unread
        (iterate ``aiter_bytes()``; each read waits at most ``read_timeout``), a non-2xx
        answer raised as its ``ApiError``. The caller closes it (``await response.aclose()``)."""
        call = self.prepare_stream(path, headers, read_timeout)
        call.headers["Authorization"] = self._authorization
        client = self.client()
        timeout = httpx.Timeout(
            connect=call.connect_timeout, read=read_timeout, write=read_timeout, pool=read_timeout
        )
        request = client.build_request("GET", call.url, headers=call.headers, timeout=timeout)
        sent_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._connection_error(exc, call) from exc
        if 200 <= response.status_code < 300:
            return response
        try:
            content = await _bounded(response.aread(), read_timeout)
        except (httpx.HTTPError, asyncio.TimeoutError) as exc:
            raise self._body_error(exc, call) from exc
        finally:
            await response.aclose()
        response._content = content[: self.max_response_size]
        raw: RawResponse[Any] = RawResponse(
            status_code=response.status_code,
            headers=response.headers,
            http_response=response,  # type: ignore[arg-type]
            method="GET",
            path=path,
        )
        self.answer(call, raw, None, sent_at)  # raises
        raise AssertionError("unreachable")  # pragma: no cover

    def _rules(self, call: PreparedCall) -> RetryRules:
        shared = self.shared_rate_limit
        return RetryRules(
            call.policy,
            safety=call.safety,
            rng=_JITTER,
            on_rate_limited=shared.note if shared else None,
        )

    def _send_headers(
        self, call: PreparedCall, authenticated: bool, *, outside_api: bool
    ) -> httpx.Headers:
        """The call's headers as httpx sends them (with its defaults), from the normalised
        defaults: only what the call changes is normalised again (the same headers, in the
        same order, as ``client.build_request(headers=call.headers)`` makes, for less work)."""
        if outside_api:  # the object store: httpx's defaults and the call's own headers only
            headers = httpx.Headers(self._plain_headers)
            changed = call.headers
        else:
            headers = httpx.Headers(self._signed_headers if authenticated else self._api_headers)
            defaults = self.headers
            changed = {k: v for k, v in call.headers.items() if defaults.get(k) != v}
            if call.files is not None:  # prepare() removed it: multipart sets its own
                del headers["Content-Type"]
        for name, value in changed.items():
            headers[name] = value
        return headers

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        call: PreparedCall,
        headers: httpx.Headers,
        answered: list[httpx.Response],
    ) -> tuple[httpx.Response, bytes]:
        """One attempt: send, then read the decoded body within ``max_response_size``. Every
        wait is clamped to the time left, and the whole attempt is bounded by it (the deadline
        stops it even when each wait was within its own timeout)."""
        left = call.budget.remaining()
        if left <= 0:  # nothing sent: like a connect timeout, then reported as the deadline
            raise httpx.ConnectTimeout("the deadline passed before sending")
        connect = max(0.001, min(call.connect_timeout, left))
        read = max(0.001, min(call.read_timeout, left))
        # httpx.Timeout(...).as_dict(), which build_request puts in the extensions
        timeout = {"connect": connect, "read": read, "write": read, "pool": connect}
        # What client.build_request makes (no base URL, params or headers on the client).
        request = httpx.Request(
            call.method,
            call.url,
            params=call.params,
            content=call.body,
            files=call.files,
            headers=headers,
            cookies=client.cookies,
            extensions={"timeout": timeout},
        )
        return await _bounded(self._exchange(client, request, call, answered), left + 0.05)

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        call: PreparedCall,
        answered: list[httpx.Response],
    ) -> tuple[httpx.Response, bytes]:
        response = await client.send(request, stream=True)
        answered.append(response)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_response_size:
                    raise ApiResponseTooLargeError(
                        f"response body larger than max_response_size "
                        f"({self.max_response_size:,} bytes decoded); reading stopped",
                        status=response.status_code,
                        headers=response.headers,
                        method=call.method,
                        path=call.path,
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()  # back to the pool when read through, else closed
        return response, b"".join(chunks)

    def _body_error(self, exc: BaseException, call: PreparedCall) -> ApiError:
        """A failure while reading the body: the deadline, or a cut connection."""
        budget = call.budget
        if isinstance(exc, asyncio.TimeoutError) or budget.remaining() <= 0:
            budget.deadline_reached = True
            return self._deadline_error(
                budget, call.method, call.path, f"reading the response from {self._host}"
            )
        return ApiConnectionError(
            self._describe_failure(exc, "reading the response"), method=call.method, path=call.path
        )

    def _log_retry(self, call: PreparedCall, delay: float, attempt: int, reason: str) -> None:
        logger.info(
            "Retrying %s %s in %.3fs (attempt %d of %d failed: %s)",
            call.method,
            _path_only(call.url),
            delay,
            attempt,
            call.policy.max_attempts,
            reason,
        )

    # -- failures ----------------------------------------------------------------------------

    def _connection_error(self, exc: BaseException, call: PreparedCall) -> ApiError:
        timed_out = isinstance(exc, (httpx.TimeoutException, asyncio.TimeoutError))
        return self._failure_error(exc, timed_out, call.budget, call.method, call.path)

    def _failure_kind(self, reason: BaseException) -> tuple[str, str]:
        """httpx's errors as ``_FAILURES`` kinds (the sync transport's wording)."""
        cause = _root_cause(reason)
        if isinstance(reason, httpx.ConnectTimeout):
            return "connect_timeout", ""
        if isinstance(reason, (httpx.ReadTimeout, httpx.WriteTimeout, asyncio.TimeoutError)):
            return "read_timeout", ""
        if isinstance(cause, ssl.SSLError):
            return "tls", str(cause.reason or cause.strerror or "handshake failed")
        if isinstance(reason, httpx.ConnectError):
            if isinstance(cause, socket.gaierror):
                return "dns", ""
            if isinstance(cause, ConnectionRefusedError):
                return "refused", ""
            return "connect", _strerror(cause)
        if isinstance(reason, httpx.DecodingError):
            return "decode", ""
        if isinstance(reason, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return "dropped", ""
        return "other", type(reason).__name__


async def _bounded(call: Awaitable[T], seconds: float) -> T:
    """``await call``, or ``asyncio.TimeoutError`` after ``seconds`` (without the extra task
    ``wait_for`` makes before Python 3.12, where ``asyncio.timeout`` exists)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


def _root_cause(exc: BaseException) -> BaseException | None:
    current: BaseException | None = exc
    seen = 0
    while current is not None and seen < 10:
        nested = current.__cause__ or current.__context__
        if nested is None:
            return current
        current, seen = nested, seen + 1
    return current
