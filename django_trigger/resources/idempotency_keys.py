"""``client.idempotency_keys``: release a run idempotency key early (API.md §6.9)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.types import IdResponse

from ._base import Resource, RetrySafety, flow, retry_safety
from ._base import task_identifier as validate_task
from .tasks import hash_idempotency_key

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import IdempotencyKeysWithRawResponse

__all__ = ["IdempotencyKeys"]


class IdempotencyKeys(Resource):
    with_raw_response: RawTwin[IdempotencyKeysWithRawResponse]

    @retry_safety(
        RetrySafety.VERIFIED,
        why="a retry answered 404 after a lost answer means the key was already reset",
    )
    @flow
    def reset(
        self,
        task_identifier: str,
        idempotency_key: str,
        *,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, IdResponse]:
        """Forget ``idempotency_key`` for ``task_identifier`` so that the next trigger with it
        starts a new run. Pass the key as you passed it to ``tasks.trigger``."""
        validate_task(task_identifier)
        if not isinstance(idempotency_key, str) or not idempotency_key:
            raise InvalidRequestError("idempotency_key must be a non-empty string")
        key = hash_idempotency_key(idempotency_key)
        try:
            return (
                yield self._request(
                    "POST",
                    build_path("/api/v1/idempotencyKeys/{}/reset", (key, "idempotency_key")),
                    operation="idempotency_keys.reset",
                    json_body={"taskIdentifier": task_identifier},
                    parse=IdResponse.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            if self._done_before(exc, 404):  # the lost attempt cleared the key
                return IdResponse.from_api({"id": key})
            raise
