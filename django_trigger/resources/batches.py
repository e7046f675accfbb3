"""``client.batches``: batches created by ``tasks.batch_trigger`` (API.md §6.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.options import RequestOptionsLike
from django_trigger.types import Batch, SchemaError, TaskRunExecutionResult

from ._base import Auth, Resource, RetrySafety, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import BatchesWithRawResponse

__all__ = ["Batches"]


class Batches(Resource):
    with_raw_response: RawTwin[BatchesWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(self, batch_id: str, *, request_options: RequestOptionsLike = None) -> Batch:
        return self._request(
            "GET",
            build_path("/api/v2/batches/{}", (batch_id, "batch")),
            operation="batches.retrieve",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=Batch.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve_results(
        self, batch_id: str, *, request_options: RequestOptionsLike = None
    ) -> list[TaskRunExecutionResult]:
        """The execution results of the batch's finished runs."""
        return self._request(
            "GET",
            build_path("/api/v1/batches/{}/results", (batch_id, "batch")),
            operation="batches.retrieve_results",
            parse=_results,
            request_options=request_options,
        )


def _results(body: Any) -> list[TaskRunExecutionResult]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise SchemaError("expected {'id', 'items': [...]}")
    return [TaskRunExecutionResult.from_api(item) for item in body["items"]]
