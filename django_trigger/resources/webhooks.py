"""``client.webhooks``: the project's hosted webhook endpoints and the deliveries they
received (docs/API-ADDENDUM.md §10.3). Endpoints come from deploying ``webhook()``
declarations; the API has no route to create or update one."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

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
)

from ._base import (
    Auth,
    Resource,
    RetrySafety,
    comma_list,
    cursor_params,
    epoch_ms,
    period_filter,
    retry_safety,
)

__all__ = ["DELIVERY_STATUSES", "DeliveryStatus", "Webhooks"]

DeliveryStatus = Literal["pending", "processing", "succeeded", "failed", "filtered"]
DELIVERY_STATUSES = ("pending", "processing", "succeeded", "failed", "filtered")


class Webhooks(Resource):
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
        if after and before:
            raise InvalidRequestError("pass either after or before, not both")
        statuses = comma_list(status, "status")
        if statuses is not None:
            unknown = [s for s in statuses.split(",") if s not in DELIVERY_STATUSES]
            if unknown:
                raise InvalidRequestError(
                    f"unknown delivery status {', '.join(unknown)}; expected: "
                    f"{', '.join(DELIVERY_STATUSES)}"
                )
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


def _endpoints(body: Any) -> builtins.list[WebhookEndpoint]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), builtins.list):
        raise SchemaError("expected an object with a 'data' array")
    return [WebhookEndpoint.from_api(item) for item in body["data"]]
