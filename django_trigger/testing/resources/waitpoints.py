"""Waitpoint tokens: their state, lifecycle and rendering (docs/API-ADDENDUM.md §1).

A token is WAITING until completed (``COMPLETED``, with the completion data as a serialized
packet) or until its timeout passes on the emulator's clock (``TIMED_OUT``: the server stores
it as completed with an error output). Completing a completed or timed-out token changes
nothing. Idempotency keys are per environment; an expired key is moved aside
(``inactiveIdempotencyKey``) when reused, and a new token is created.

Test helpers (the "human" side): ``world.waitpoints.complete(id, data)`` and
``world.waitpoints.get(id)``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import LOWER_ALNUM, format_date, to_ms

if TYPE_CHECKING:  # pragma: no cover
    from ..world import Environment, World

__all__ = ["TIMEOUT_ERROR_CODE", "WaitpointStore", "WaitpointToken", "stringify_io"]

TIMEOUT_ERROR_CODE = "TRIGGER_WAITPOINT_TIMEOUT"
_TTL = re.compile(r"^(\d+)([smhd])$")
_TTL_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class WaitpointToken:
    id: str  # internal id; ids sort in creation order, as the list's keyset needs
    environment_id: str
    idempotency_key: str
    user_provided_key: bool
    created_at: dt.datetime
    timeout_at: dt.datetime | None = None
    idempotency_key_expires_at: dt.datetime | None = None
    inactive_idempotency_key: str | None = None
    tags: list[str] = field(default_factory=list)
    status: str = "PENDING"  # PENDING | COMPLETED (the database's values)
    completed_at: dt.datetime | None = None
    output: str | None = None
    output_type: str = "application/json"
    output_is_error: bool = False

    @property
    def friendly_id(self) -> str:
        return f"waitpoint_{self.id}"

    @property
    def api_status(self) -> str:
        if self.status == "PENDING":
            return "WAITING"
        return "TIMED_OUT" if self.output_is_error else "COMPLETED"


def stringify_io(value: Any) -> tuple[str | None, str]:
    """The SDK core's ``stringifyIO``: text as is, anything else as superjson (for JSON
    values: ``{"json": value}``); no value, no packet."""
    if value is _ABSENT:
        return None, "application/json"
    if isinstance(value, str):
        return value, "text/plain"
    return json.dumps(
        {"json": value}, separators=(",", ":"), ensure_ascii=False
    ), "application/super+json"


_ABSENT: Any = object()
ABSENT = _ABSENT


def parse_ttl(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """``resolveIdempotencyKeyTTL``: ``<n>[smhd]`` or nothing (anything else is ignored)."""
    match = _TTL.fullmatch(value or "")  # JS "$" is the end of the string
    if not match:
        return None
    return now + dt.timedelta(seconds=int(match[1]) * _TTL_SECONDS[match[2]])


class WaitpointStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.tokens: dict[str, WaitpointToken] = {}  # internal id -> token
        self._sequence = 0

    # -- lifecycle --------------------------------------------------------------------------

    def tick(self) -> None:
        """Tokens whose timeout has passed on the emulator's clock time out."""
        now = self.world.now()
        for token in self.tokens.values():
            if (
                token.status == "PENDING"
                and token.timeout_at is not None
                and (token.timeout_at <= now)
            ):
                token.status = "COMPLETED"
                token.completed_at = token.timeout_at
                token.output = json.dumps(
                    {
                        "code": TIMEOUT_ERROR_CODE,
                        "message": f"Waitpoint timed out at {format_date(token.timeout_at)}",
                    },
                    separators=(",", ":"),
                )
                token.output_type = "application/json"
                token.output_is_error = True

    def _new_id(self, now: dt.datetime) -> str:
        self._sequence += 1
        stamp = f"{to_ms(now):013d}{self._sequence:05d}"
        return stamp + self.world.ids.chars("waitpoint", 8, LOWER_ALNUM)

    def create(
        self,
        environment: Environment,
        *,
        idempotency_key: str | None,
        key_expires_at: dt.datetime | None,
        timeout_at: dt.datetime | None,
        tags: list[str],
        now: dt.datetime | None = None,
    ) -> tuple[WaitpointToken, bool]:
        """``engine.createManualWaitpoint``: (token, is_cached). ``now``: the request's instant
        (the one its timeout and TTL were computed from)."""
        self.tick()
        now = now or self.world.now()
        if idempotency_key:
            existing = self.by_key(environment.id, idempotency_key)
            if existing is not None:
                expires = existing.idempotency_key_expires_at
                if expires is None or now <= expires:
                    return existing, True
                existing.inactive_idempotency_key = existing.idempotency_key
                existing.idempotency_key = self.world.ids.chars("waitpoint-key", 24)
        token = WaitpointToken(
            id=self._new_id(now),
            environment_id=environment.id,
            idempotency_key=idempotency_key or self.world.ids.chars("waitpoint-key", 24),
            user_provided_key=bool(idempotency_key),
            created_at=now,
            timeout_at=timeout_at,
            idempotency_key_expires_at=key_expires_at,
            tags=list(tags),
        )
        self.tokens[token.id] = token
        return token, False

    def complete(self, friendly_id: str, data: Any = ABSENT) -> WaitpointToken:
        """Complete a token (the test helper the API's complete route also uses). A completed
        or timed-out token is left as it is."""
        self.tick()
        token = self.get(friendly_id)
        if token is None:
            raise KeyError(friendly_id)
        if token.status == "COMPLETED":
            return token
        packet, data_type = stringify_io(data)
        token.status = "COMPLETED"
        token.completed_at = self.world.now()
        if packet:  # the engine stores no output for an empty packet
            token.output, token.output_type = packet, data_type
        return token

    # -- lookups ----------------------------------------------------------------------------

    def get(
        self, friendly_id: str, environment: Environment | None = None
    ) -> WaitpointToken | None:
        self.tick()
        internal = (
            friendly_id[len("waitpoint_") :]
            if friendly_id.startswith("waitpoint_")
            else friendly_id
        )
        token = self.tokens.get(internal)
        if token is None or (environment is not None and token.environment_id != environment.id):
            return None
        return token

    def by_key(self, environment_id: str, key: str) -> WaitpointToken | None:
        for token in self.tokens.values():
            if token.environment_id == environment_id and token.idempotency_key == key:
                return token
        return None

    def in_environment(self, environment_id: str) -> list[WaitpointToken]:
        """Newest first (by id, as the server orders)."""
        self.tick()
        found = [t for t in self.tokens.values() if t.environment_id == environment_id]
        return sorted(found, key=lambda t: t.id, reverse=True)

    # -- rendering ----------------------------------------------------------------------------

    def callback_url(self, base_url: str, token: WaitpointToken) -> str:
        return (
            f"{base_url}/api/v1/waitpoints/tokens/{token.friendly_id}/callback/"
            f"{self.callback_hash(token)}"
        )

    def callback_hash(self, token: WaitpointToken) -> str:
        """``generateHttpCallbackHash``: HMAC-SHA256 of the internal id with the API key of
        the environment (its parent's for a branch)."""
        env = self.world.environments[token.environment_id]
        if env.parent_id is not None:
            env = self.world.environments[env.parent_id]
        return hmac.new(env.api_key.encode(), token.id.encode(), hashlib.sha256).hexdigest()

    def render_list_item(self, token: WaitpointToken, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": token.friendly_id,
            "url": self.callback_url(base_url, token),
            "status": token.api_status,
        }
        if token.completed_at is not None:
            data["completedAt"] = format_date(token.completed_at)
        if token.timeout_at is not None:
            data["timeoutAt"] = format_date(token.timeout_at)
            data["completedAfter"] = format_date(token.timeout_at)
        if token.user_provided_key:
            data["idempotencyKey"] = token.inactive_idempotency_key or token.idempotency_key
        if token.idempotency_key_expires_at is not None:
            data["idempotencyKeyExpiresAt"] = format_date(token.idempotency_key_expires_at)
        data["tags"] = sorted(token.tags)
        data["createdAt"] = format_date(token.created_at)
        return data

    def render_retrieve(self, token: WaitpointToken, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": token.friendly_id,
            "type": "MANUAL",
            "url": self.callback_url(base_url, token),
            "status": token.api_status,
            "idempotencyKey": token.idempotency_key,
            "userProvidedIdempotencyKey": token.user_provided_key,
        }
        if token.idempotency_key_expires_at is not None:
            data["idempotencyKeyExpiresAt"] = format_date(token.idempotency_key_expires_at)
        if token.inactive_idempotency_key is not None:
            data["inactiveIdempotencyKey"] = token.inactive_idempotency_key
        if token.output is not None:
            data["output"] = token.output
        data["outputType"] = token.output_type
        data["outputIsError"] = token.output_is_error
        if token.timeout_at is not None:
            data["timeoutAt"] = format_date(token.timeout_at)
            data["completedAfter"] = format_date(token.timeout_at)
        if token.completed_at is not None:
            data["completedAt"] = format_date(token.completed_at)
        data["createdAt"] = format_date(token.created_at)
        data["tags"] = list(token.tags)
        return data
