"""Hosted webhook endpoints and their deliveries (api.v1.webhooks.*.ts,
ApiWebhookEndpointPresenter, ApiWebhookDeliveryPresenter).

=====================================================  ==========================================
``GET  /api/v1/webhooks/endpoints``                    ``{data}`` (no pages), ``filter[webhook]``
``GET  /api/v1/webhooks/endpoints/{id}``               ``wh_…``; 404 ``Not found``
``POST /api/v1/webhooks/endpoints/{id}/rotate-secret``  ``{id, secretSet: true, secret}`` (once)
``POST /api/v1/webhooks/endpoints/{id}/disable|enable``  the endpoint, ``inactive``/``active``
``GET  /api/v1/webhooks/deliveries``                   cursor list, newest first; ``page[size]``
                                                       1–100 (60), ``filter[webhook]``,
                                                       ``filter[status]``, ``filter[period]``,
                                                       ``filter[from]``, ``filter[to]``
``GET  /api/v1/webhooks/deliveries/{id}``              ``whd_…``; 404 ``Not found``
``POST /api/v1/webhooks/deliveries/{id}/replay``       ``{deliveryId, replayedFrom}``
=====================================================  ==========================================

Family A with public JWTs (``read:webhooks`` / ``write:webhooks``). Endpoints are created by
deploying ``webhook()`` declarations, not through this API: the emulator seeds two in the
default project's dev environment (``stripe-payments``, ``github-push``) and three deliveries;
tests add more with ``world.webhooks.add_delivery``. A replay is a new ``pending`` delivery of
the same event (the emulator starts no run). The delivery cursor is the emulator's own (opaque,
as the service's). Not modelled: asymmetric endpoints (rotate-secret 400) and replays of
endpoints that route to no task (400).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import random
import re
import secrets
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..validation import Checker
from ..world import Environment, World, format_date, to_ms

DEFAULT_PAGE_SIZE = 60
API_STATUSES = ("pending", "processing", "succeeded", "failed", "filtered")
UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@dataclasses.dataclass
class Endpoint:
    friendly_id: str
    environment_id: str
    webhook: str
    source: str
    opaque_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    status: str = "active"
    secret_provisioning: str = "either"
    signing_secret: str | None = None


@dataclasses.dataclass
class Delivery:
    friendly_id: str
    endpoint: Endpoint
    external_delivery_id: str
    created_at: dt.datetime
    status: str = "succeeded"
    run_id: str | None = None
    processed_at: dt.datetime | None = None
    event: Any = None
    headers: dict[str, str] | None = None
    error: str | None = None
    filter_reason: str | None = None

    @property
    def sort_key(self) -> tuple[int, str]:
        return to_ms(self.created_at), self.friendly_id


class WebhookStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.endpoints: dict[str, Endpoint] = {}
        self.deliveries: dict[str, Delivery] = {}

    def add_endpoint(self, env: Environment, webhook: str, source: str) -> Endpoint:
        now = self.world.now()
        endpoint = Endpoint(
            "wh_" + self.world.ids.chars("webhook-endpoint", 20),
            env.id,
            webhook,
            source,
            self.world.ids.chars("webhook-opaque", 32),
            now,
            now,
        )
        self.endpoints[endpoint.friendly_id] = endpoint
        return endpoint

    def add_delivery(
        self,
        endpoint: Endpoint,
        *,
        status: str = "succeeded",
        event: Any = None,
        created_at: dt.datetime | None = None,
        run_id: str | None = None,
        error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        created = created_at or self.world.now()
        delivery = Delivery(
            "whd_" + self.world.ids.chars("webhook-delivery", 20),
            endpoint,
            "evt_" + self.world.ids.chars("webhook-external", 14),
            created,
            status=status,
            run_id=run_id,
            event=event if event is not None else {"type": "ping"},
            processed_at=None if status in ("pending", "processing") else created,
            headers=headers or {"content-type": "application/json"},
            error=error,
        )
        self.deliveries[delivery.friendly_id] = delivery
        waiters = getattr(self.world, "webhook_waiters", None)  # webhook_waiters.py
        if waiters is not None:
            waiters.deliver(delivery)
        return delivery

    def endpoint(self, friendly_id: str, env: Environment) -> Endpoint | None:
        found = self.endpoints.get(friendly_id)
        return found if found and found.environment_id == env.id else None

    def delivery(self, friendly_id: str, env: Environment) -> Delivery | None:
        found = self.deliveries.get(friendly_id)
        return found if found and found.endpoint.environment_id == env.id else None


STORES = {"webhooks": WebhookStore}
ORDER = 120


def seed(world: World, rng: random.Random) -> None:
    env = world.environment(
        world.default_project.ref, "DEVELOPMENT", owner_user_id=world.default_user.id
    )
    assert env is not None
    store: WebhookStore = world.webhooks
    stripe = store.add_endpoint(env, "stripe-payments", "stripe")
    github = store.add_endpoint(env, "github-push", "github")
    start = world.now() - dt.timedelta(hours=3)
    store.add_delivery(stripe, created_at=start, event={"type": "invoice.paid"})
    store.add_delivery(
        stripe,
        status="failed",
        created_at=start + dt.timedelta(minutes=20),
        event={"type": "charge.failed"},
        error="Task run failed",
    )
    store.add_delivery(
        github,
        status="filtered",
        created_at=start + dt.timedelta(hours=1),
        event={"ref": "refs/heads/dev"},
    )


def register(router: Router) -> None:
    read, write = (
        {"auth": auth.BEARER_JWT, "authorization": "read"},
        {"auth": auth.BEARER_JWT, "authorization": "write"},
    )
    router.get("/api/v1/webhooks/endpoints", list_endpoints, **read, cors=True)
    router.get("/api/v1/webhooks/endpoints/{endpointId}", retrieve_endpoint, **read, cors=True)
    router.post(
        "/api/v1/webhooks/endpoints/{endpointId}/rotate-secret", rotate_secret, **write, cors=True
    )
    router.post("/api/v1/webhooks/endpoints/{endpointId}/disable", disable, **write, cors=True)
    router.post("/api/v1/webhooks/endpoints/{endpointId}/enable", enable, **write, cors=True)
    router.get("/api/v1/webhooks/deliveries", list_deliveries, **read, cors=True)
    router.get("/api/v1/webhooks/deliveries/{deliveryId}", retrieve_delivery, **read, cors=True)
    router.post("/api/v1/webhooks/deliveries/{deliveryId}/replay", replay, **write, cors=True)


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


def _store(request: ApiRequest) -> WebhookStore:
    return request.world.webhooks


def _endpoint_json(request: ApiRequest, endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.friendly_id,
        "webhook": endpoint.webhook,
        "source": endpoint.source,
        "status": endpoint.status,
        "secretProvisioning": endpoint.secret_provisioning,
        "secretSet": bool(endpoint.signing_secret),
        "tenantId": None,
        "externalRef": None,
        "url": f"{request.base_url}/webhooks/v1/ingest/{endpoint.opaque_id}",
        "createdAt": format_date(endpoint.created_at),
        "updatedAt": format_date(endpoint.updated_at),
    }


def _delivery_json(delivery: Delivery, detail: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": delivery.friendly_id,
        "webhook": delivery.endpoint.webhook,
        "status": delivery.status,
        "externalDeliveryId": delivery.external_delivery_id,
        "runId": delivery.run_id,
        "createdAt": format_date(delivery.created_at),
        "processedAt": format_date(delivery.processed_at) if delivery.processed_at else None,
    }
    if detail:
        data.update(
            {
                "idempotencyKey": (
                    f"{delivery.endpoint.friendly_id}:{delivery.external_delivery_id}"
                ),
                "event": delivery.event,
                "headers": delivery.headers,
                "rawBodyHash": None,
                "error": delivery.error,
                "filterReason": delivery.filter_reason,
                "updatedAt": format_date(delivery.processed_at or delivery.created_at),
            }
        )
    return data


# -- endpoints ---------------------------------------------------------------------------------


def list_endpoints(request: ApiRequest) -> Reply:
    wanted = request.arg("filter[webhook]")
    webhooks = wanted.split(",") if wanted else None
    with request.world.lock:
        request.authorize([("webhooks", None)])
        env = _env(request)
        found = [
            e
            for e in _store(request).endpoints.values()
            if e.environment_id == env.id and (webhooks is None or e.webhook in webhooks)
        ]
        found.sort(key=lambda e: (-to_ms(e.created_at), e.friendly_id))
        found.sort(key=lambda e: e.webhook)
        return json_reply({"data": [_endpoint_json(request, e) for e in found]})


def _find_endpoint(request: ApiRequest, loader: bool) -> Endpoint:
    endpoint = _store(request).endpoint(request.params["endpointId"], _env(request))
    if endpoint is None:
        raise errors.not_found_loader(retry=False) if loader else errors.api_error(404, "Not found")
    return endpoint


def retrieve_endpoint(request: ApiRequest) -> Reply:
    with request.world.lock:
        endpoint = _find_endpoint(request, loader=True)
        request.authorize([("webhooks", None)])
        return json_reply(_endpoint_json(request, endpoint))


def rotate_secret(request: ApiRequest) -> Reply:
    with request.world.lock:
        request.authorize([("webhooks", None)])
        endpoint = _find_endpoint(request, loader=False)
        endpoint.signing_secret = "whsec_" + secrets.token_hex(32)
        return json_reply(
            {"id": endpoint.friendly_id, "secretSet": True, "secret": endpoint.signing_secret}
        )


def _set_status(request: ApiRequest, status: str) -> Reply:
    with request.world.lock:
        request.authorize([("webhooks", None)])
        endpoint = _find_endpoint(request, loader=False)
        endpoint.status = status
        endpoint.updated_at = request.world.now()
        return json_reply(_endpoint_json(request, endpoint))


def disable(request: ApiRequest) -> Reply:
    return _set_status(request, "inactive")


def enable(request: ApiRequest) -> Reply:
    return _set_status(request, "active")


# -- deliveries --------------------------------------------------------------------------------


def _cursor(delivery: Delivery) -> str:
    raw = json.dumps(
        {"createdAt": to_ms(delivery.created_at), "id": delivery.friendly_id}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> tuple[int, str] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(data["createdAt"]), str(data["id"])
    except (ValueError, KeyError, TypeError):
        return None


def _date_arg(check: Checker, request: ApiRequest, name: str) -> int | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", raw):
            return int(float(raw))
        return to_ms(dt.datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        check.add([name], "Invalid date", "invalid_date")
        return None


def list_deliveries(request: ApiRequest) -> Reply:
    check = Checker()
    size = DEFAULT_PAGE_SIZE
    size_raw = request.arg("page[size]")
    if size_raw is not None:
        try:
            size = int(float(size_raw))
            if size != float(size_raw) or not 1 <= size <= 100:
                raise ValueError
        except ValueError:
            check.add(["page[size]"], "Number must be between 1 and 100")
    statuses = None
    if request.arg("filter[status]"):
        statuses = request.arg("filter[status]").split(",")  # type: ignore[union-attr]
        invalid = [s for s in statuses if s not in API_STATUSES]
        if invalid:
            check.add(
                ["filter[status]"],
                f"Invalid status values: {', '.join(invalid)}. "
                "Allowed: pending, processing, succeeded, failed.",
            )
    from_ms = _date_arg(check, request, "filter[from]")
    to_ms_ = _date_arg(check, request, "filter[to]")
    check.raise_if(errors.query_error)
    webhooks = request.arg("filter[webhook]")
    period = request.arg("filter[period]")
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)", period or "")
    with request.world.lock:
        request.authorize([("webhooks", None)])
        env = _env(request)
        now_ms = to_ms(request.world.now())
        if match and from_ms is None:
            from_ms = now_ms - int(match.group(1)) * UNIT_MS[match.group(2)]
        rows = [
            d
            for d in _store(request).deliveries.values()
            if d.endpoint.environment_id == env.id
            and (webhooks is None or d.endpoint.webhook in webhooks.split(","))
            and (statuses is None or d.status in statuses)
            and (from_ms is None or to_ms(d.created_at) >= from_ms)
            and (to_ms_ is None or to_ms(d.created_at) <= to_ms_)
        ]
        before = request.arg("page[before]")
        after = request.arg("page[after]")
        cursor = _decode_cursor(before or after or "") if (before or after) else None
        backward = bool(before)
        rows.sort(key=lambda d: d.sort_key, reverse=not backward)
        if cursor is not None:
            rows = [d for d in rows if (d.sort_key > cursor if backward else d.sort_key < cursor)]
        has_more = len(rows) > size
        page = rows[:size]
        if backward:
            page.reverse()
        pagination: dict[str, str] = {}
        if page and (has_more or backward):
            pagination["next"] = _cursor(page[-1])
        if page and ((not backward and cursor is not None) or (backward and has_more)):
            pagination["previous"] = _cursor(page[0])
        return json_reply(
            {"data": [_delivery_json(d, False) for d in page], "pagination": pagination}
        )


def retrieve_delivery(request: ApiRequest) -> Reply:
    with request.world.lock:
        delivery = _store(request).delivery(request.params["deliveryId"], _env(request))
        if delivery is None:
            raise errors.not_found_loader(retry=False)
        request.authorize([("webhooks", None)])
        return json_reply(_delivery_json(delivery, True))


def replay(request: ApiRequest) -> Reply:
    with request.world.lock:
        request.authorize([("webhooks", None)])
        store = _store(request)
        original = store.delivery(request.params["deliveryId"], _env(request))
        if original is None:
            raise errors.api_error(404, "Not found")
        copy = store.add_delivery(original.endpoint, status="pending", event=original.event)
        return json_reply({"deliveryId": copy.friendly_id, "replayedFrom": original.friendly_id})
