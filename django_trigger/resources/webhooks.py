"""``client.webhooks``: the project's hosted webhook endpoints and the deliveries they
received (docs/API-ADDENDUM.md §10.3). Endpoints come from deploying ``webhook()``
declarations; the API has no route to create or update one."""

from __future__ import annotations

import builtins
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types._base import SchemaError
from django_trigger.types.operations import (
    WebhookDelivery,
    WebhookDeliveryDetail,
    WebhookDeliveryReplay,
    WebhookEndpoint,
    WebhookEndpointSecret,
    WebhookWaiter,
    WebhookWaiterCancel,
)

from ._base import (
    Auth,
    Resource,
    RetrySafety,
    comma_list,
    cursor_params,
    duration,
    epoch_ms,
    known_values,
    period_filter,
    retry_safety,
)
from .runs import validate_tags
from .tasks import hash_idempotency_key

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import WebhooksWithRawResponse

__all__ = ["DELIVERY_STATUSES", "DeliveryStatus", "Webhooks"]

_TTL = re.compile(r"\d+[smhd]")

DeliveryStatus = Literal["pending", "processing", "succeeded", "failed", "filtered"]
DELIVERY_STATUSES = ("pending", "processing", "succeeded", "failed", "filtered")


class Webhooks(Resource):
    with_raw_response: RawTwin[WebhooksWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list_endpoints(
        self,
        *,
        webhook: str | Iterable[str] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> builtins.list[WebhookEndpoint]:
        """Every endpoint of the environment (the API does not page them), by webhook id then
        newest first; ``webhook`` keeps those of some ``webhook()`` ids. One request."""
        params = {"filter[webhook]": comma_list(webhook, "webhook")}
        return self._request(
            "GET",
            "/api/v1/webhooks/endpoints",
            operation="webhooks.list_endpoints",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            params={key: value for key, value in params.items() if value is not None},
            parse=_endpoints,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve_endpoint(
        self, endpoint_id: str, *, request_options: RequestOptionsLike = None
    ) -> WebhookEndpoint:
        return self._request(
            "GET",
            build_path("/api/v1/webhooks/endpoints/{}", (endpoint_id, "webhook_endpoint")),
            operation="webhooks.retrieve_endpoint",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=WebhookEndpoint.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="a retry after a lost answer mints another secret and returns it: the lost one was "
        "never seen, so no provider was given it",
    )
    def rotate_endpoint_secret(
        self,
        endpoint_id: str,
        *,
        confirm: bool = False,
        request_options: RequestOptionsLike = None,
    ) -> WebhookEndpointSecret:
        """Replace the endpoint's signing secret and return the new one, once (``.secret``, a
        ``Secret``). Deliveries signed with the old secret fail verification from then on,
        until the provider is given the new one. Needs ``confirm=True``."""
        path = build_path(
            "/api/v1/webhooks/endpoints/{}/rotate-secret", (endpoint_id, "webhook_endpoint")
        )
        if confirm is not True:
            raise InvalidRequestError(
                "webhooks.rotate_endpoint_secret replaces the signing secret (deliveries signed "
                "with the old one fail until the provider has the new one): pass confirm=True "
                "to do it"
            )
        return self._request(
            "POST",
            path,
            operation="webhooks.rotate_endpoint_secret",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=WebhookEndpointSecret.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the endpoint's status")
    def disable_endpoint(
        self, endpoint_id: str, *, request_options: RequestOptionsLike = None
    ) -> WebhookEndpoint:
        """Stop accepting deliveries (the ingress answers 404) until enabled."""
        return self._status(endpoint_id, "disable", request_options)

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the endpoint's status")
    def enable_endpoint(
        self, endpoint_id: str, *, request_options: RequestOptionsLike = None
    ) -> WebhookEndpoint:
        return self._status(endpoint_id, "enable", request_options)

    @retry_safety(RetrySafety.READ, why="a read")
    def list_deliveries(
        self,
        *,
        webhook: str | Iterable[str] | None = None,
        status: DeliveryStatus | Iterable[DeliveryStatus] | None = None,
        period: str | None = None,
        from_: datetime | int | None = None,
        to: datetime | int | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[WebhookDelivery]:
        """Deliveries of every endpoint, newest first, in cursor pages of up to ``limit``
        (default 100); one request per page."""
        statuses = known_values(status, "status", DELIVERY_STATUSES, "delivery status")
        params: dict[str, Any] = {
            "filter[webhook]": comma_list(webhook, "webhook"),
            "filter[status]": statuses,
            "filter[period]": period_filter(period),
            "filter[from]": epoch_ms(from_, "from_"),
            "filter[to]": epoch_ms(to, "to"),
            **cursor_params(limit, after, before),
        }
        return self._cursor_page(
            "/api/v1/webhooks/deliveries",
            operation="webhooks.list_deliveries",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            item=WebhookDelivery.from_api,
            params=params,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve_delivery(
        self, delivery_id: str, *, request_options: RequestOptionsLike = None
    ) -> WebhookDeliveryDetail:
        return self._request(
            "GET",
            build_path("/api/v1/webhooks/deliveries/{}", (delivery_id, "webhook_delivery")),
            operation="webhooks.retrieve_delivery",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=WebhookDeliveryDetail.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.UNSAFE,
        why="each replay is a new delivery that triggers the task "
        "again; the API has no key to recognise a repeat",
    )
    def replay_delivery(
        self, delivery_id: str, *, request_options: RequestOptionsLike = None
    ) -> WebhookDeliveryReplay:
        """Run the delivery's task again from its stored event, as a new delivery."""
        return self._request(
            "POST",
            build_path("/api/v1/webhooks/deliveries/{}/replay", (delivery_id, "webhook_delivery")),
            operation="webhooks.replay_delivery",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=WebhookDeliveryReplay.from_api,
            request_options=request_options,
            unknown_hint=(
                "list the deliveries (client.webhooks.list_deliveries()) created at "
                "or after {sent_at} before replaying again"
            ),
        )

    # -- waiters -----------------------------------------------------------------------------

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        why="every call sends an idempotency key (yours hashed, else a random one drawn once "
        "per call): a retry returns the waiter the lost attempt created",
    )
    def create_waiter(
        self,
        endpoint: str,
        *,
        match: Mapping[str, str | int | float | bool] | None = None,
        filter: str | None = None,
        timeout: str | int | timedelta | datetime | None = None,
        tags: str | Sequence[str] | None = None,
        idempotency_key: str | Sequence[str] | None = None,
        idempotency_key_ttl: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> WebhookWaiter:
        """Register a waiter on ``endpoint`` (its ``wh_…`` id or the ``webhook()`` id): the
        next delivery arriving after this call that ``match``es completes it, and the run
        waiting on it (``webhooks.waiter.wait(id)`` in a task) resumes with the event. Create
        it before making the provider send the webhook; match on values you control.

        ``match``: paths to expected values (``"event.data.object.metadata.orderId"``,
        ``"header.x-github-event"``, ``"webhook.id"``); without it the waiter is matched by
        its own ``url``. ``filter``: an expression the service also checks. ``timeout``:
        ``"1h"``, seconds, a ``timedelta`` or an aware ``datetime`` (default 24 hours, at most
        90 days). ``idempotency_key``: hashed as the SDK's ``idempotencyKeys.create`` (a
        64-character key as is); the same key returns the same waiter (``is_cached``).
        """
        path = build_path("/api/v1/webhooks/endpoints/{}/waiters", (endpoint, "webhook endpoint"))
        body: dict[str, Any] = {}
        if match is not None:
            if not isinstance(match, Mapping) or not match:
                raise InvalidRequestError("match must be a non-empty mapping of paths to values")
            for key, value in match.items():
                if not isinstance(key, str) or not key:
                    raise InvalidRequestError("match paths must be non-empty strings")
                if not isinstance(value, (str, int, float)) or value != value:
                    raise InvalidRequestError(
                        f"match[{key!r}] must be a string, a number or a boolean"
                    )
            body["match"] = dict(match)
        if filter is not None:
            if not isinstance(filter, str) or not filter.strip():
                raise InvalidRequestError("filter must be a non-empty string")
            body["filter"] = filter
        if timeout is not None:
            if isinstance(timeout, datetime) and timeout.tzinfo is not None:
                if timeout <= datetime.now(timezone.utc):
                    raise InvalidRequestError("timeout is in the past")
                body["timeout"] = timeout.astimezone(timezone.utc).isoformat()
            else:
                body["timeout"] = duration(timeout, "timeout")
        if tags is not None:
            tag_list = [tags] if isinstance(tags, str) else builtins.list(tags)
            validate_tags(tag_list)
            body["tags"] = tag_list
        # The SDK always sends a key: so a retry can never register a second waiter.
        body["idempotencyKey"] = (
            str(uuid.uuid4()) if idempotency_key is None else _hashed_key(idempotency_key)
        )
        if idempotency_key_ttl is not None:
            if idempotency_key is None:
                raise InvalidRequestError("idempotency_key_ttl needs an idempotency_key")
            if not isinstance(idempotency_key_ttl, str) or not _TTL.fullmatch(idempotency_key_ttl):
                raise InvalidRequestError(
                    "idempotency_key_ttl must look like '30s', '10m', '2h' or '7d'"
                )
            body["idempotencyKeyTTL"] = idempotency_key_ttl
        return self._request(
            "POST",
            path,
            operation="webhooks.create_waiter",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=WebhookWaiter.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="cancelling a cancelled waiter answers cancelled again; a delivery in between "
        "makes it too late either way",
    )
    def cancel_waiter(
        self, waiter_id: str, *, request_options: RequestOptionsLike = None
    ) -> WebhookWaiterCancel:
        """Cancel a waiter: its wait fails with ``WebhookWaiterCancelledError``. Too late
        (``cancelled=False``, ``reason="too_late"``) once a delivery matched it."""
        return self._request(
            "POST",
            build_path("/api/v1/webhooks/waiters/{}/cancel", (waiter_id, "waitpoint")),
            operation="webhooks.cancel_waiter",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=None,
            parse=WebhookWaiterCancel.from_api,
            request_options=request_options,
        )

    def _status(
        self, endpoint_id: str, action: str, request_options: RequestOptionsLike
    ) -> WebhookEndpoint:
        return self._request(
            "POST",
            build_path(
                "/api/v1/webhooks/endpoints/{}/" + action, (endpoint_id, "webhook_endpoint")
            ),
            operation=f"webhooks.{action}_endpoint",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=WebhookEndpoint.from_api,
            request_options=request_options,
        )


def _hashed_key(key: str | Sequence[str]) -> str:
    """The SDK's ``makeIdempotencyKey`` outside a task: a 64-character string as is, else the
    SHA-256 hex of the key (of a list's items joined with ``-``)."""
    if isinstance(key, str):
        if not key:
            raise InvalidRequestError("idempotency_key must be a non-empty string")
        return hash_idempotency_key(key)
    parts = builtins.list(key)
    if not parts or not all(isinstance(p, str) and p for p in parts):
        raise InvalidRequestError("idempotency_key must be a string or a list of strings")
    return hashlib.sha256("-".join(parts).encode()).hexdigest()


def _endpoints(body: Any) -> builtins.list[WebhookEndpoint]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), builtins.list):
        raise SchemaError("expected an object with a 'data' array")
    return [WebhookEndpoint.from_api(item) for item in body["data"]]
