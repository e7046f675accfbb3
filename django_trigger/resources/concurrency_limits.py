"""``client.concurrency_limits``: the environment's named concurrency limits, as the SDK's
``concurrencyLimits`` (docs/API-ADDENDUM.md §16). A limit's own bounds are overridden until
reset; one ``concurrencyKey`` gets a temporary per-key cap (``ttl``, 7 days by default)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, overload

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import OffsetPage
from django_trigger.types.concurrency import ConcurrencyLimit, ConcurrencyLimitKey

from ._base import Resource, RetrySafety, offset_params, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import ConcurrencyLimitsWithRawResponse

__all__ = ["MAX_BOUND", "MAX_KEY_TTL", "ConcurrencyLimits"]

MAX_BOUND = 100_000  # perKey/total: integers from 0 (blocks every run) to 100000
MAX_KEY_TTL = timedelta(days=30)
_TTL = re.compile(r"(?:\d+(?:w|d|hr|h|m|s))+", re.ASCII)
_TTL_UNITS = {"w": 604_800, "d": 86_400, "hr": 3_600, "h": 3_600, "m": 60, "s": 1}


class ConcurrencyLimits(Resource):
    with_raw_response: RawTwin[ConcurrencyLimitsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> OffsetPage[ConcurrencyLimit]:
        """The environment's limits, by name (inline limits as ``task/<taskId>``)."""
        return self._offset_page(
            "/api/v1/concurrency-limits",
            operation="concurrency_limits.list",
            item=ConcurrencyLimit.from_api,
            params=offset_params(page, per_page),
            request_options=request_options,
        )

    @overload
    def retrieve(
        self, name: str, *, concurrency_key: None = None, request_options: RequestOptionsLike = None
    ) -> ConcurrencyLimit: ...
    @overload
    def retrieve(
        self, name: str, *, concurrency_key: str | int, request_options: RequestOptionsLike = None
    ) -> ConcurrencyLimitKey: ...
    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self,
        name: str,
        *,
        concurrency_key: str | int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ConcurrencyLimit | ConcurrencyLimitKey:
        """The limit, or with ``concurrency_key`` that key's view of it."""
        path = _path(name)
        if concurrency_key is None:
            return self._request(
                "GET",
                path,
                operation="concurrency_limits.retrieve",
                parse=ConcurrencyLimit.from_api,
                request_options=request_options,
            )
        return self._request(
            "GET",
            path,
            operation="concurrency_limits.retrieve",
            params={"concurrencyKey": _key(concurrency_key)},
            parse=ConcurrencyLimitKey.from_api,
            request_options=request_options,
        )

    @overload
    def override(
        self,
        name: str,
        *,
        per_key: int | None = None,
        total: int | None = None,
        concurrency_key: None = None,
        ttl: None = None,
        request_options: RequestOptionsLike = None,
    ) -> ConcurrencyLimit: ...
    @overload
    def override(
        self,
        name: str,
        *,
        per_key: int,
        concurrency_key: str | int,
        ttl: str | int | timedelta | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ConcurrencyLimitKey: ...
    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the bounds (or the key's cap) to the values")
    def override(
        self,
        name: str,
        *,
        per_key: int | None = None,
        total: int | None = None,
        concurrency_key: str | int | None = None,
        ttl: str | int | timedelta | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ConcurrencyLimit | ConcurrencyLimitKey:
        """Override the limit's ``per_key`` and/or ``total`` (0 blocks every run holding it)
        until ``reset``; or, with ``concurrency_key``, cap that key's pool at ``per_key`` for
        ``ttl`` (``"12h"``, ``"7d"``, seconds or a timedelta; 7 days by default, at most 30)."""
        path = _path(name) + "/override"
        body: dict[str, Any] = {}
        if per_key is not None:
            body["perKey"] = _bound(per_key, "per_key")
        if total is not None:
            body["total"] = _bound(total, "total")
        if concurrency_key is None:
            if ttl is not None:
                raise InvalidRequestError(
                    "ttl only applies to a per-key override: pass concurrency_key with it"
                )
            if not body:
                raise InvalidRequestError("pass per_key, total or both")
            return self._request(
                "POST",
                path,
                operation="concurrency_limits.override",
                json_body=body,
                parse=ConcurrencyLimit.from_api,
                request_options=request_options,
            )
        if total is not None:
            raise InvalidRequestError(
                "total is not per key: omit it when overriding one concurrency_key"
            )
        if per_key is None:
            raise InvalidRequestError("a per-key override needs per_key")
        body = {"concurrencyKey": _key(concurrency_key), "perKey": body["perKey"]}
        if ttl is not None:
            body["ttl"] = _ttl(ttl)
        return self._request(
            "POST",
            path,
            operation="concurrency_limits.override",
            json_body=body,
            parse=ConcurrencyLimitKey.from_api,
            request_options=request_options,
        )

    @overload
    def reset(
        self, name: str, *, concurrency_key: None = None, request_options: RequestOptionsLike = None
    ) -> ConcurrencyLimit: ...
    @overload
    def reset(
        self, name: str, *, concurrency_key: str | int, request_options: RequestOptionsLike = None
    ) -> ConcurrencyLimitKey: ...
    @retry_safety(RetrySafety.IDEMPOTENT, why="clears the override; clearing none changes nothing")
    def reset(
        self,
        name: str,
        *,
        concurrency_key: str | int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ConcurrencyLimit | ConcurrencyLimitKey:
        """Back to the declared bounds; with ``concurrency_key``, clear that key's cap only."""
        path = _path(name) + "/reset"
        if concurrency_key is None:
            return self._request(
                "POST",
                path,
                operation="concurrency_limits.reset",
                json_body={},
                parse=ConcurrencyLimit.from_api,
                request_options=request_options,
            )
        return self._request(
            "POST",
            path,
            operation="concurrency_limits.reset",
            json_body={"concurrencyKey": _key(concurrency_key)},
            parse=ConcurrencyLimitKey.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the paused state")
    def pause(self, name: str, *, request_options: RequestOptionsLike = None) -> ConcurrencyLimit:
        """Admit no run holding the limit until resumed (running ones continue)."""
        return self._pause(name, "pause", request_options)

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the paused state")
    def resume(self, name: str, *, request_options: RequestOptionsLike = None) -> ConcurrencyLimit:
        return self._pause(name, "resume", request_options)

    def _pause(
        self, name: str, action: str, request_options: RequestOptionsLike
    ) -> ConcurrencyLimit:
        return self._request(
            "POST",
            _path(name) + "/pause",
            operation=f"concurrency_limits.{action}",
            json_body={"action": action},
            parse=ConcurrencyLimit.from_api,
            request_options=request_options,
        )


def _path(name: object) -> str:
    if isinstance(name, str) and len(name) > 128:
        raise InvalidRequestError("concurrency limit names are at most 128 characters")
    return build_path("/api/v1/concurrency-limits/{}", (name, "concurrency limit name"))


def _bound(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BOUND:
        raise InvalidRequestError(f"{name} must be an integer from 0 to {MAX_BOUND}")
    return value


def _key(value: object) -> str:
    """A concurrency key as the SDK takes it: a string, or a number sent as its string."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRequestError("concurrency_key must be a string or an integer")
    text = str(value)
    if not 1 <= len(text) <= 128:
        raise InvalidRequestError("concurrency_key must be 1 to 128 characters")
    return text


def _ttl(value: object) -> str | int:
    if isinstance(value, timedelta):
        seconds = int(-(-value.total_seconds() // 1))
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and _TTL.fullmatch(value):
        seconds = sum(int(n) * _TTL_UNITS[u] for n, u in re.findall(r"(\d+)(w|d|hr|h|m|s)", value))
    else:
        raise InvalidRequestError(
            f"ttl must be a duration like '12h' or '7d', seconds or a timedelta, not {value!r}"
        )
    if seconds <= 0:
        raise InvalidRequestError("ttl must be a positive duration")
    if seconds > MAX_KEY_TTL.total_seconds():
        raise InvalidRequestError("ttl must be at most 30 days")
    return value if isinstance(value, (str, int)) else seconds
