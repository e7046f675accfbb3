"""Waitpoint tokens (``/api/v1/waitpoints/tokens``, docs/API-ADDENDUM.md §1)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._base import Record
from .enums import ExtensibleEnum

__all__ = [
    "WaitpointToken",
    "WaitpointTokenCreated",
    "WaitpointTokenDetail",
    "WaitpointTokenStatus",
]


class WaitpointTokenStatus(ExtensibleEnum):
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    TIMED_OUT = "TIMED_OUT"


@dataclass(frozen=True, kw_only=True)
class WaitpointTokenCreated(Record):
    """``POST /api/v1/waitpoints/tokens``: the token's id, whether an idempotency key returned
    an existing token, the callback ``url`` (a POST to it completes the token, no key needed:
    treat it as a secret) and the public access token from ``x-trigger-jwt`` (24 h,
    ``write:waitpoints:<id>``; neither is in the repr)."""

    id: str
    is_cached: bool
    url: str = field(repr=False)
    public_access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class WaitpointToken(Record):
    """A token as listed. ``idempotency_key`` is only the key you gave (never a generated one);
    ``timeout_at`` is when it times out (or timed out)."""

    id: str
    url: str = field(repr=False)
    status: WaitpointTokenStatus
    completed_at: datetime | None = None
    timeout_at: datetime | None = None
    idempotency_key: str | None = None
    idempotency_key_expires_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime

    @property
    def is_waiting(self) -> bool:
        return self.status is WaitpointTokenStatus.WAITING


@dataclass(frozen=True, kw_only=True)
class WaitpointTokenDetail(WaitpointToken):
    """A retrieved token: the list fields plus its output, as the API sends it (a serialized
    packet, ``output_type`` says how). ``data`` decodes it; ``error_message`` is the timeout
    message of a TIMED_OUT token."""

    output: str | None = field(default=None, repr=False)
    output_type: str | None = None
    # Retrieve sends the stored key, a generated one when you gave none; this says which.
    user_provided_idempotency_key: bool | None = None
    output_is_error: bool = False

    @property
    def data(self) -> Any:
        """The completion data: JSON and superjson packets decoded (superjson's ``meta`` —
        dates, maps, sets — is not applied), text as is; ``None`` without output or when
        timed out. A packet offloaded to object storage (``application/store``) is not
        fetched: ``ValueError``."""
        if self.output is None or self.output_is_error:
            return None
        return _decode(self.output, self.output_type or "application/json")

    @property
    def error_message(self) -> str | None:
        if self.output is None or not self.output_is_error:
            return None
        decoded = _decode(self.output, self.output_type or "application/json")
        message = decoded.get("message") if isinstance(decoded, dict) else None
        return message if isinstance(message, str) else str(decoded)


def _decode(packet: str, data_type: str) -> Any:
    if data_type == "text/plain":
        return packet
    if data_type == "application/store":
        raise ValueError(
            "the output was offloaded to object storage; this client does not fetch packets"
        )
    try:
        value = json.loads(packet)
    except RecursionError:  # nested too deeply: malformed like any other bad JSON
        raise ValueError("JSON nested too deeply to decode") from None
    if data_type == "application/super+json" and isinstance(value, dict):
        return value.get("json")
    return value
