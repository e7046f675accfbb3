"""``client.idempotency_keys``: release a run idempotency key early (API.md §6.9)."""

from __future__ import annotations

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.types import IdResponse

from ._base import Resource
from .tasks import hash_idempotency_key

__all__ = ["IdempotencyKeys"]


class IdempotencyKeys(Resource):
    def reset(
        self,
        task_identifier: str,
        idempotency_key: str,
        *,
        request_options: RequestOptionsLike = None,
    ) -> IdResponse:
        """Forget ``idempotency_key`` for ``task_identifier`` so that the next trigger with it
        starts a new run. Pass the key as you passed it to ``tasks.trigger``."""
        if not isinstance(task_identifier, str) or not task_identifier.strip():
            raise InvalidRequestError("task_identifier must be a non-empty string")
        if not isinstance(idempotency_key, str) or not idempotency_key:
            raise InvalidRequestError("idempotency_key must be a non-empty string")
        key = hash_idempotency_key(idempotency_key)
        return self._request(
            "POST",
            build_path("/api/v1/idempotencyKeys/{}/reset", (key, "idempotency_key")),
            operation="idempotency_keys.reset",
            json_body={"taskIdentifier": task_identifier},
            parse=IdResponse.from_api,
            request_options=request_options,
        )
