"""``client.streams``: send data to a running task's input stream (docs/API-ADDENDUM.md §9; the
SDK's ``streams.input({id}).send(runId, data)``). One request per call."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike

from ._base import Auth, Resource, RetrySafety, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import StreamsWithRawResponse

__all__ = ["MAX_INPUT_BYTES", "Streams"]

MAX_INPUT_BYTES = 1024 * 1024  # the route's maxContentLength


class Streams(Resource):
    with_raw_response: RawTwin[StreamsWithRawResponse]

    @retry_safety(RetrySafety.UNSAFE, why="each call appends a record the task reads")
    def send_input(
        self, run_id: str, stream_id: str, data: Any, *, request_options: RequestOptionsLike = None
    ) -> None:
        """Append ``data`` (any JSON value) to the run's input stream ``stream_id``; the task
        waiting on it (``streams.input({id: ...}).wait()``) gets it. Refused by the API once
        the run has finished."""
        path = build_path(
            "/realtime/v1/streams/{}/input/{}", (run_id, "run"), (stream_id, "stream_id")
        )
        body = {"data": data}
        try:
            size = len(json.dumps(body, allow_nan=False, separators=(",", ":")).encode())
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"data must be a JSON value: {exc}") from None
        if size > MAX_INPUT_BYTES:
            raise InvalidRequestError(
                f"data is {size} bytes as JSON; an input stream record is at most "
                f"{MAX_INPUT_BYTES} bytes"
            )
        return self._request(
            "POST",
            path,
            operation="streams.send_input",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=lambda _: None,
            request_options=request_options,
        )
