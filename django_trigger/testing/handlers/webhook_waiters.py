"""Webhook waiters (docs/API-ADDENDUM.md §15): SDK 4.8.3 ``webhooks.waiter.create`` / ``cancel``.

==================================================  ============================================
``POST /api/v1/webhooks/endpoints/{id}/waiters``    ``{id, url?, expiresAt, isCached}``; the
                                                    endpoint by ``wh_…`` id or declared id
``POST /api/v1/webhooks/waiters/{id}/cancel``       ``{cancelled}`` or ``{cancelled: false,
                                                    reason: "too_late", deliveryId}``
==================================================  ============================================

The mirror has no server source for these routes: bodies and answers follow the SDK's schemas
(``CORE/schemas/webhookApi.js``: ``CreateWebhookWaiterRequestBody`` … ``CancelWebhookWaiter
ResponseBody``, ``WebhookWaiterErrorResponseBody``); statuses are the emulator's choice
(404 unknown endpoint, 400 bad body or filter, 422 over a limit). A waiter is a waitpoint
(its id is ``waitpoint_…``; ``GET /api/v1/waitpoints/tokens/{id}`` shows it): it waits until a
delivery to its endpoint that arrives after it (``world.webhooks.add_delivery``, or a replay)
matches every ``match`` path (``event.<path>`` in the body, ``header.<name>``,
``webhook.id``/``webhook.webhook``/``webhook.source``), which completes the waitpoint with
``{"event", "headers", "deliveryId"}``; until its timeout (24 h by default, 90 days at most);
or until cancelled (the waitpoint fails with ``WebhookWaiterCancelledError``). ``filter`` is
stored, not evaluated (its language is not public): a waiter with a filter matches on
``match`` alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.waitpoints import WaitpointToken, parse_ttl
from ..world import World, format_date
from .waitpoints import parse_delay

if TYPE_CHECKING:  # pragma: no cover
    from .webhooks_api import Delivery, Endpoint

ORDER = 125  # after webhooks_api and waitpoints
DEFAULT_TIMEOUT = dt.timedelta(hours=24)
MAX_TIMEOUT = dt.timedelta(days=90)
MAX_TAGS = 10
MAX_BODY = 32 * 1024
CANCELLED = {"name": "WebhookWaiterCancelledError", "message": "The webhook waiter was cancelled"}


@dataclasses.dataclass
class Waiter:
    waitpoint: WaitpointToken
    endpoint_id: str
    match: dict[str, Any] | None
    filter: str | None
    created_at: dt.datetime
    state: str = "waiting"  # waiting | matched | cancelled
    delivery_id: str | None = None


class WaiterStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.waiters: dict[str, Waiter] = {}  # waitpoint friendly id -> waiter

    def deliver(self, delivery: Delivery) -> list[Waiter]:
        """A delivery arrived: every waiting waiter of its endpoint created before it whose
        ``match`` holds is completed with it. Returns them."""
        self.world.waitpoints.tick()
        matched = []
        for waiter in self.waiters.values():
            if (
                waiter.state != "waiting"
                or waiter.endpoint_id != delivery.endpoint.friendly_id
                or waiter.waitpoint.status != "PENDING"  # timed out
                or waiter.created_at > delivery.created_at
                or not _matches(waiter.match or {}, delivery)
            ):
                continue
            waiter.state, waiter.delivery_id = "matched", delivery.friendly_id
            output = {
                "event": delivery.event,
                "headers": delivery.headers or {},
                "deliveryId": delivery.friendly_id,
            }
            self.world.waitpoints.complete(waiter.waitpoint.friendly_id, output)
            matched.append(waiter)
        return matched


STORES = {"webhook_waiters": WaiterStore}


def _lookup(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


_MISSING = object()


def _matches(match: dict[str, Any], delivery: Delivery) -> bool:
    endpoint: Endpoint = delivery.endpoint
    for path, expected in match.items():
        root, _, rest = path.partition(".")
        if root == "event":
            actual = _lookup(delivery.event, rest.split(".")) if rest else delivery.event
        elif root == "header":
            headers = {k.lower(): v for k, v in (delivery.headers or {}).items()}
            actual = headers.get(rest.lower(), _MISSING)
        elif root == "webhook":
            fields = {"id": endpoint.friendly_id, "webhook": endpoint.webhook}
            actual = {**fields, "source": endpoint.source}.get(rest, _MISSING)
        else:
            return False
        if not _same(actual, expected):
            return False
    return True


def _same(actual: Any, expected: Any) -> bool:
    """JavaScript's ``===`` on JSON values: ``1 === 1.0``, ``true !== 1``, ``"1" !== 1``."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and actual == expected
    return isinstance(actual, str) and actual == expected


def register(router: Router) -> None:
    router.post(
        "/api/v1/webhooks/endpoints/{endpointId}/waiters",
        create,
        auth=auth.BEARER_JWT,
        authorization="write",
        max_content_length=MAX_BODY,
    )
    router.post(
        "/api/v1/webhooks/waiters/{waiterId}/cancel",
        cancel,
        auth=auth.BEARER_JWT,
        authorization="write",
    )


def _invalid(message: str) -> errors.HttpError:
    return errors.api_error(400, message, code="invalid_request")


def _check(body: Any) -> None:
    if not isinstance(body, dict):
        raise _invalid("Expected an object")
    match = body.get("match")
    if match is not None:
        if not isinstance(match, dict) or not all(
            isinstance(v, (str, int, float)) for v in match.values()
        ):
            raise _invalid("match must map paths to strings, numbers or booleans")
    for key in ("filter", "timeout", "idempotencyKey", "idempotencyKeyTTL"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise _invalid(f"{key} must be a string")
    tags = body.get("tags")
    if tags is not None and not (
        isinstance(tags, str) or (isinstance(tags, list) and all(isinstance(t, str) for t in tags))
    ):
        raise _invalid("tags must be a string or an array of strings")
    if body.get("endpoint") is not None:
        raise _invalid("endpoint instances are reserved: only the declared instance is supported")


def _timeout(value: str | None, now: dt.datetime) -> dt.datetime:
    if not value:
        return now + DEFAULT_TIMEOUT
    at = parse_delay(value, now)
    if at is None:
        raise _invalid(f'timeout must be a duration ("1h") or an ISO date, not "{value}"')
    if at - now > MAX_TIMEOUT:
        raise errors.api_error(
            422,
            "A webhook waiter can wait 90 days at most",
            code="webhook_waiter_limit",
            reason="timeout_too_long",
        )
    return at


def create(request: ApiRequest) -> Reply:
    body = request.json()
    _check(body)
    env = request.principal.environment
    assert env is not None
    world = request.world
    with world.lock:
        request.authorize([("webhooks", None)])
        store = world.webhooks
        key = request.params["endpointId"]
        endpoint = store.endpoint(key, env) or next(
            (
                e
                for e in store.endpoints.values()
                if e.environment_id == env.id and e.webhook == key
            ),
            None,
        )
        if endpoint is None:
            raise errors.api_error(
                404,
                f'No webhook endpoint "{key}" in this environment\'s current deployment',
                code="webhook_endpoint_not_found",
            )
        tags_value = body.get("tags")
        tags = [tags_value] if isinstance(tags_value, str) else list(tags_value or [])
        if len(tags) > MAX_TAGS:
            raise _invalid(f"Waiters can only have {MAX_TAGS} tags")
        now = world.now()
        timeout_at = _timeout(body.get("timeout"), now)
        idempotency_key = body.get("idempotencyKey") or None
        token, cached = world.waitpoints.create(
            env,
            idempotency_key=idempotency_key,
            key_expires_at=parse_ttl(body.get("idempotencyKeyTTL"), now)
            if idempotency_key
            else None,
            timeout_at=timeout_at,
            tags=tags,
            now=now,
        )
        waiters: WaiterStore = world.webhook_waiters
        waiter = waiters.waiters.get(token.friendly_id)
        if waiter is None:
            if cached:  # the key belongs to a waitpoint token, not a waiter
                raise _invalid("idempotencyKey is already used by a waitpoint token")
            waiter = Waiter(
                waitpoint=token,
                endpoint_id=endpoint.friendly_id,
                match=body.get("match"),
                filter=body.get("filter"),
                created_at=now,
            )
            waiters.waiters[token.friendly_id] = waiter
        answer: dict[str, Any] = {
            "id": token.friendly_id,
            "expiresAt": format_date(token.timeout_at or timeout_at),
            "isCached": cached,
        }
        if not waiter.match:  # a URL-matched waiter: the provider posts to its own URL
            answer["url"] = (
                f"{request.base_url}/webhooks/v1/ingest/{endpoint.opaque_id}"
                f"/waiters/{token.friendly_id}"
            )
        return json_reply(answer, 200)


def cancel(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    world = request.world
    with world.lock:
        request.authorize([("webhooks", None)])
        waiters: WaiterStore = world.webhook_waiters
        waiter = waiters.waiters.get(request.params["waiterId"])
        if waiter is None or waiter.waitpoint.environment_id != env.id:
            raise errors.api_error(404, "Webhook waiter not found")
        world.waitpoints.tick()
        if waiter.state == "matched":
            return json_reply(
                {"cancelled": False, "reason": "too_late", "deliveryId": waiter.delivery_id}
            )
        if waiter.state == "waiting" and waiter.waitpoint.status == "PENDING":
            waiter.state = "cancelled"
            token = waiter.waitpoint
            token.status, token.completed_at = "COMPLETED", world.now()
            token.output = json.dumps(CANCELLED, separators=(",", ":"))
            token.output_type, token.output_is_error = "application/json", True
        return json_reply({"cancelled": True})
