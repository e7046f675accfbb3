"""``client.waitpoints``: waitpoint tokens, the "human in the loop" of Trigger.dev
(docs/API-ADDENDUM.md §1). A task waits on a token with ``wait.forToken()``; a Django view
creates, lists and completes tokens from outside any task.

Requests: ``create_token``, ``list_tokens`` (per page) and ``retrieve_token`` one each;
``complete_token`` two (the POST, then a GET that tells a completed token from a timed-out one,
which the API answers alike).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError, WaitpointTimedOutError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types import (
    SuccessResponse,
    WaitpointToken,
    WaitpointTokenCreated,
    WaitpointTokenDetail,
    WaitpointTokenStatus,
)

from ._base import (
    Resource,
    RetrySafety,
    comma_list,
    cursor_params,
    duration,
    epoch_ms,
    flow,
    known_values,
    nonempty,
    period_filter,
    retry_safety,
)
from .runs import validate_tags

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import WaitpointsWithRawResponse

__all__ = ["MAX_COMPLETION_BYTES", "Waitpoints"]

MAX_IDEMPOTENCY_KEY_LENGTH = 2048
MAX_CREATE_BODY_BYTES = 10 * 1024  # the create route's maxContentLength
# TASK_PAYLOAD_MAXIMUM_SIZE of the cloud service (the complete route's cap); larger data the
# service offloads to object storage, which this client does not do.
MAX_COMPLETION_BYTES = 3 * 1024 * 1024
_STATUSES = tuple(status.value for status in WaitpointTokenStatus)
_PUBLIC_TOKEN = {"x-trigger-jwt": "publicAccessToken"}
_TTL_UNITS = ("s", "m", "h", "d")


class Waitpoints(Resource):
    with_raw_response: RawTwin[WaitpointsWithRawResponse]

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        RetrySafety.UNSAFE,
        why="with an idempotency key the API returns the token the lost attempt created; "
        "without one each call creates a token",
    )
    def create_token(
        self,
        *,
        timeout: str | int | timedelta | datetime | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | None = None,
        tags: str | Sequence[str] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> WaitpointTokenCreated:
        """Create a token that a run can wait on (``wait.forToken(id)`` in the task).

        ``timeout``: ``"30s"``, ``"10m"``, ``"1h30m"``, ``"2d"``, ``"1w"``, a ``timedelta``,
        seconds, or an aware ``datetime`` in the future; without it the token waits forever.
        ``idempotency_key``: the same key returns the same token (``is_cached=True``) until
        ``idempotency_key_ttl`` (``"30s"``, ``"10m"``, ``"2h"``, ``"7d"``) has passed; it is sent
        as given (the SDK does not hash token keys). ``tags``: up to 10, 128 characters each.
        """
        body: dict[str, Any] = {}
        if timeout is not None:
            if (
                isinstance(timeout, datetime)
                and timeout.tzinfo is not None
                and (timeout <= datetime.now(timezone.utc))
            ):
                raise InvalidRequestError(
                    "timeout is in the past (the API would create a token that never times out)"
                )
            body["timeout"] = duration(timeout, "timeout")
        if idempotency_key is not None:
            if not isinstance(idempotency_key, str) or not idempotency_key:
                raise InvalidRequestError("idempotency_key must be a non-empty string")
            if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                raise InvalidRequestError(
                    f"idempotency_key must be {MAX_IDEMPOTENCY_KEY_LENGTH} characters or less"
                )
            body["idempotencyKey"] = idempotency_key
        if idempotency_key_ttl is not None:
            if idempotency_key is None:
                raise InvalidRequestError("idempotency_key_ttl needs an idempotency_key")
            body["idempotencyKeyTTL"] = _ttl(idempotency_key_ttl)
        if tags is not None:
            tag_list = [tags] if isinstance(tags, str) else list(tags)
            validate_tags(tag_list)
            body["tags"] = tag_list
        if len(json.dumps(body).encode()) > MAX_CREATE_BODY_BYTES:
            raise InvalidRequestError("the token's options exceed the API's 10 KB limit")
        return self._request(
            "POST",
            "/api/v1/waitpoints/tokens",
            operation="waitpoints.create_token",
            json_body=body,
            parse=WaitpointTokenCreated.from_api,
            merge_headers=_PUBLIC_TOKEN,
            retry_safety=RetrySafety.DEDUPLICATED if idempotency_key else RetrySafety.UNSAFE,
            unknown_hint="list_tokens(period=...) shows the tokens created since",
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def list_tokens(
        self,
        *,
        status: WaitpointTokenStatus | str | Iterable[WaitpointTokenStatus | str] | None = None,
        idempotency_key: str | None = None,
        tags: str | Iterable[str] | None = None,
        period: str | None = None,
        from_: datetime | int | None = None,
        to: datetime | int | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[WaitpointToken]:
        """Tokens of the key's environment, newest first; iterating walks every page.
        ``tags`` matches tokens with any of them. Without ``limit`` pages hold 100."""
        if period is not None and (from_ is not None or to is not None):
            raise InvalidRequestError("pass period or from_/to, not both")
        statuses = known_values(status, "status", _STATUSES, "waitpoint token status")
        params: dict[str, Any] = {
            "filter[status]": statuses,
            "filter[idempotencyKey]": nonempty(idempotency_key, "idempotency_key"),
            "filter[tags]": comma_list(tags, "tags"),
            "filter[createdAt][period]": period_filter(period),
            "filter[createdAt][from]": epoch_ms(from_, "from_"),
            "filter[createdAt][to]": epoch_ms(to, "to"),
            **cursor_params(limit, after, before),
        }
        return self._cursor_page(
            "/api/v1/waitpoints/tokens",
            operation="waitpoints.list_tokens",
            item=WaitpointToken.from_api,
            params=params,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve_token(
        self, token_id: str, *, request_options: RequestOptionsLike = None
    ) -> WaitpointTokenDetail:
        """One token with its output. The API answers an unknown id with 500 (its loader
        turns "Waitpoint not found" into an internal error), so that is retried like any 500
        and then raised as ``InternalServerError``."""
        return self._request(
            "GET",
            build_path("/api/v1/waitpoints/tokens/{}", (token_id, "waitpoint")),
            operation="waitpoints.retrieve_token",
            parse=WaitpointTokenDetail.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="completing a completed token answers success and changes nothing",
    )
    @flow
    def complete_token(
        self, token_id: str, data: Any = None, *, request_options: RequestOptionsLike = None
    ) -> Generator[Any, Any, WaitpointTokenDetail]:
        """Complete a waiting token with ``data`` (any JSON value); the waiting run resumes
        with it. Completing a completed token changes nothing (the first data stays). A token
        that had timed out raises ``WaitpointTimedOutError``: the API answers success but
        keeps the timeout. Returns the token as it is after the call (two requests; with
        ``with_raw_response``, only the POST and its raw response)."""
        path = build_path("/api/v1/waitpoints/tokens/{}/complete", (token_id, "waitpoint"))
        try:
            body = json.dumps({"data": data}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"data must be JSON-serializable: {exc}") from None
        if len(body.encode()) > MAX_COMPLETION_BYTES:
            raise InvalidRequestError("data is larger than the API accepts (3 MB)")
        answer = yield self._request(
            "POST",
            path,
            operation="waitpoints.complete_token",
            json_body={"data": data},
            parse=SuccessResponse.from_api,
            request_options=request_options,
        )
        if self._raw:
            return answer  # the POST's raw response
        token = yield self.retrieve_token(token_id, request_options=request_options)
        if token.status is WaitpointTokenStatus.TIMED_OUT:
            raise WaitpointTimedOutError(token_id, token.error_message)
        return token


def _ttl(value: Any) -> str:
    # The API ignores (no expiry) anything but <digits><s|m|h|d>.
    if (
        not isinstance(value, str)
        or len(value) < 2
        or not value[:-1].isdigit()
        or value[-1] not in _TTL_UNITS
    ):
        raise InvalidRequestError(
            f"idempotency_key_ttl must look like '30s', '10m', '2h' or '7d' (the API ignores "
            f"anything else), not {value!r}"
        )
    return value
