"""Records of the operations routes: queue metrics, error groups, environment operations
(docs/API-ADDENDUM.md, "Operations")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django_trigger.credentials import Secret

from ._base import Record

__all__ = [
    "EnvironmentApiKey",
    "EnvironmentPauseState",
    "ErrorGroup",
    "ErrorGroupDetail",
    "QueueMetrics",
    "QueueWaitTimes",
    "WebhookDelivery",
    "WebhookDeliveryDetail",
    "WebhookDeliveryReplay",
    "WebhookEndpoint",
    "WebhookEndpointSecret",
    "WebhookWaiter",
    "WebhookWaiterCancel",
]


@dataclass(frozen=True, kw_only=True)
class QueueWaitTimes(Record):
    p50: float | None = None
    p95: float | None = None


@dataclass(frozen=True, kw_only=True)
class QueueMetrics(Record):
    """``GET /api/v1/queues/{queue}/metrics``: the window is ``from_``–``to`` (snapped to
    ``bucket_interval_ms``); ``depth_trend`` is the queued depth per bucket, oldest first."""

    queue: str
    period: str
    from_: datetime = field(metadata={"wire": "from"})
    to: datetime
    wait_ms: QueueWaitTimes
    peak_queued: int
    started_count: int
    started_per_min: float
    throttled_count: int
    bucket_interval_ms: int
    depth_trend: list[float]


@dataclass(frozen=True, kw_only=True)
class ErrorGroup(Record):
    """An error group of ``errors.list``: the failed runs of one task whose errors share a
    fingerprint. ``count`` counts the occurrences in the listed window; ``first_seen`` and
    ``last_seen`` are the group's first and last ever."""

    id: str
    fingerprint: str
    task_identifier: str
    error_type: str
    error_message: str
    status: str  # unresolved | resolved | ignored
    count: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    ignored_until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorGroupDetail(ErrorGroup):
    """``errors.retrieve`` and the actions: ``count`` counts every occurrence;
    ``affected_versions`` are the five most recent versions it happened in."""

    affected_versions: list[str] = field(default_factory=list)
    resolved_in_version: str | None = None
    resolved_by: str | None = None
    ignored_at: datetime | None = None
    ignored_reason: str | None = None
    ignored_by_user_id: str | None = None
    ignored_until_occurrence_rate: float | None = None
    ignored_until_total_occurrences: int | None = None


@dataclass(frozen=True, kw_only=True)
class EnvironmentPauseState(Record):
    """The answer of ``environments.pause``/``resume``."""

    paused: bool
    state: str


class EnvironmentApiKey:
    """The new secret key ``environments.regenerate_api_key`` returns: ``.api_key`` is a
    ``Secret`` (redacted in reprs; ``str()`` gives the key)."""

    __slots__ = ("api_key",)

    def __init__(self, api_key: Secret) -> None:
        self.api_key = api_key

    @classmethod
    def from_api(cls, data: Any) -> EnvironmentApiKey:
        from ._base import SchemaError

        if not isinstance(data, dict) or not isinstance(data.get("apiKey"), str):
            raise SchemaError("expected an object with an 'apiKey' string")
        return cls(Secret(data["apiKey"]))

    def __repr__(self) -> str:
        return f"<EnvironmentApiKey {self.api_key!r}>"


@dataclass(frozen=True, kw_only=True)
class WebhookEndpoint(Record):
    """A hosted webhook endpoint: where a provider posts (``url``) for a ``webhook()`` of the
    project. Whether a signing secret is set is ``secret_set``; the secret is never returned."""

    id: str
    webhook: str
    source: str
    status: str  # active | inactive | deleting
    secret_provisioning: str
    secret_set: bool
    tenant_id: str | None = None
    external_ref: str | None = None
    url: str = field(repr=False)  # anyone who has it can post to the endpoint
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class WebhookDelivery(Record):
    id: str
    webhook: str | None = None
    status: str  # pending | processing | succeeded | failed | filtered
    external_delivery_id: str
    run_id: str | None = None
    created_at: datetime
    processed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryDetail(WebhookDelivery):
    idempotency_key: str
    event: Any = field(default=None, repr=False)
    headers: dict[str, str] | None = field(default=None, repr=False)  # may carry signatures
    raw_body_hash: str | None = None
    error: str | None = None
    filter_reason: str | None = None
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryReplay(Record):
    delivery_id: str
    replayed_from: str


@dataclass(frozen=True, kw_only=True)
class WebhookWaiter(Record):
    """``webhooks.create_waiter``: the waiter's id (also its waitpoint's: a task waits on it
    with ``webhooks.waiter.wait(id)``), when it times out, whether an idempotency key returned
    an existing waiter, and for a waiter without ``match`` the ``url`` to hand the provider
    (not in the repr: anyone with it can complete the waiter)."""

    id: str
    url: str | None = field(default=None, repr=False)
    expires_at: datetime
    is_cached: bool


@dataclass(frozen=True, kw_only=True)
class WebhookWaiterCancel(Record):
    """``webhooks.cancel_waiter``: ``cancelled``, or too late (``reason="too_late"``): a
    delivery already matched it (``delivery_id``) and the waiting run resumes with it."""

    cancelled: bool
    reason: str | None = None
    delivery_id: str | None = None


class WebhookEndpointSecret:
    """The answer of ``webhooks.rotate_endpoint_secret``: the new signing secret, shown once
    (``.secret``, a ``Secret``: redacted in reprs; ``str()`` gives it)."""

    __slots__ = ("id", "secret")

    def __init__(self, id: str, secret: Secret) -> None:
        self.id = id
        self.secret = secret

    @classmethod
    def from_api(cls, data: Any) -> WebhookEndpointSecret:
        from ._base import SchemaError

        if (
            not isinstance(data, dict)
            or not isinstance(data.get("id"), str)
            or not isinstance(data.get("secret"), str)
        ):
            raise SchemaError("expected an object with 'id' and 'secret' strings")
        return cls(data["id"], Secret(data["secret"]))

    def __repr__(self) -> str:
        return f"<WebhookEndpointSecret {self.id} {self.secret!r}>"
