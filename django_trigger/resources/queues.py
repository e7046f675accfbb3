"""``client.queues``: task and custom queues (API.md §6.6)."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from django_trigger._http.paths import segment
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import OffsetPage
from django_trigger.types import Queue
from django_trigger.types.operations import QueueMetrics

from ._base import Auth, Resource, RetrySafety, flow, offset_params, retry_safety, task_identifier

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import QueuesWithRawResponse

__all__ = ["MAX_METRICS_PERIOD", "QueueType", "Queues"]

QueueType = Literal["id", "task", "custom"]
# queues.metrics(): the route's period shorthand and its cap (api.v1.queues.$queueParam.metrics)
_PERIOD_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_METRICS_PERIOD = 7 * 86400  # seconds


class Queues(Resource):
    with_raw_response: RawTwin[QueuesWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> OffsetPage[Queue]:
        return self._offset_page(
            "/api/v1/queues",
            operation="queues.list",
            item=Queue.from_api,
            params=offset_params(page, per_page),
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self, queue: str, *, type: QueueType = "id", request_options: RequestOptionsLike = None
    ) -> Queue:
        """By ``queue_…`` id (``type="id"``), task identifier (``"task"``) or custom queue
        name (``"custom"``)."""
        return self._request(
            "GET",
            _path(queue, type),
            operation="queues.retrieve",
            params={"type": type},
            parse=Queue.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def metrics(
        self,
        queue: str,
        *,
        type: Literal["task", "custom"] = "task",
        period: str = "1h",
        request_options: RequestOptionsLike = None,
    ) -> QueueMetrics:
        """Wait times, started runs and queued depth of a queue over the last ``period``
        (``"15m"``, ``"24h"``, at most ``"7d"``): by task identifier (``type="task"``, the
        server adds ``task/``) or custom queue name. An unknown queue gets zeroed metrics,
        not a 404. One ``GET /api/v1/queues/{queue}/metrics``."""
        if type not in ("task", "custom"):
            raise InvalidRequestError("type must be 'task' or 'custom'")
        if type == "task" and isinstance(queue, str) and not queue.startswith("task/"):
            task_identifier(queue, "queue")
        segment(queue, "queue")  # validation only
        return self._request(
            "GET",
            _encoded(queue) + "/metrics",
            operation="queues.metrics",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            params={"type": type, "period": metrics_period(period)},
            parse=QueueMetrics.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the paused state")
    def pause(
        self, queue: str, *, type: QueueType = "id", request_options: RequestOptionsLike = None
    ) -> Queue:
        return self._pause(queue, type, "pause", request_options)

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the paused state")
    def resume(
        self, queue: str, *, type: QueueType = "id", request_options: RequestOptionsLike = None
    ) -> Queue:
        return self._pause(queue, type, "resume", request_options)

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the override to the same value")
    def override_concurrency_limit(
        self,
        queue: str,
        *,
        concurrency_limit: int | None = None,
        percent: float | None = None,
        type: QueueType = "id",
        request_options: RequestOptionsLike = None,
    ) -> Queue:
        """Override the queue's concurrency limit, as a number or a percentage of the base."""
        if (concurrency_limit is None) == (percent is None):
            raise InvalidRequestError("pass exactly one of concurrency_limit and percent")
        body: dict[str, Any] = {"type": type}
        if concurrency_limit is not None:
            if (
                isinstance(concurrency_limit, bool)
                or not isinstance(concurrency_limit, int)
                or not 0 <= concurrency_limit <= 100_000
            ):
                raise InvalidRequestError("concurrency_limit must be an integer from 0 to 100000")
            body["concurrencyLimit"] = concurrency_limit
        else:
            if isinstance(percent, bool) or not isinstance(percent, (int, float)):
                raise InvalidRequestError("percent must be a number")
            if not 0 < percent <= 100:
                raise InvalidRequestError("percent must be more than 0 and at most 100")
            body["percent"] = percent
        return self._request(
            "POST",
            _path(queue, type) + "/concurrency/override",
            operation="queues.override_concurrency_limit",
            json_body=body,
            parse=Queue.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="a retry answered 'Queue is not overridden' after a lost answer means done: "
        "the queue is read back",
    )
    @flow
    def reset_concurrency_limit(
        self, queue: str, *, type: QueueType = "id", request_options: RequestOptionsLike = None
    ) -> Generator[Any, Any, Queue]:
        try:
            return (
                yield self._request(
                    "POST",
                    _path(queue, type) + "/concurrency/reset",
                    operation="queues.reset_concurrency_limit",
                    json_body={"type": type},
                    parse=Queue.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            if not self._done_before(exc, 400, "not overridden"):
                raise
            return (yield self.retrieve(queue, type=type, request_options=request_options))

    def _pause(
        self, queue: str, type: QueueType, action: str, request_options: RequestOptionsLike
    ) -> Queue:
        return self._request(
            "POST",
            _path(queue, type) + "/pause",
            operation=f"queues.{action}",
            json_body={"type": type, "action": action},
            parse=Queue.from_api,
            request_options=request_options,
        )


def _path(queue: str, type: str) -> str:
    if type not in ("id", "task", "custom"):
        raise InvalidRequestError("type must be 'id', 'task' or 'custom'")
    if type == "id" and isinstance(queue, str) and not queue.startswith("queue_"):
        raise InvalidRequestError(
            f"{queue!r} is not a queue id (queue_…); pass type='task' or type='custom' to "
            "look a queue up by name"
        )
    if type == "task":
        task_identifier(queue, "queue")
    segment(queue, "queue")  # validation only
    return _encoded(queue)


def _encoded(queue: str) -> str:
    # Like the SDK: "/" becomes "%2F" first, then the whole value is encoded (so "%252F"),
    # and the server turns "%2F" back into "/".
    return "/api/v1/queues/" + quote(queue.replace("/", "%2F"), safe="")


def metrics_period(value: object) -> str:
    """``"15m"``, ``"1h"``, ``"7d"``, ``"1w"``: a positive number and one unit, 7 days at most
    (the route's own check)."""
    if not isinstance(value, str) or not re.fullmatch(r"[1-9]\d*[smhdw]", value):
        raise InvalidRequestError(
            f"period must look like '15m', '1h', '24h' or '7d', not {value!r}"
        )
    if int(value[:-1]) * _PERIOD_UNITS[value[-1]] > MAX_METRICS_PERIOD:
        raise InvalidRequestError(f"period {value!r} is too long: at most 7 days")
    return value
