"""Agent sessions (``/api/v1/sessions``, docs/API-ADDENDUM.md §14)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._base import Record

__all__ = ["Session", "SessionCreated", "SessionRecord"]


@dataclass(frozen=True, kw_only=True)
class Session(Record):
    """A session: a durable conversation with an agent task that outlives any one run. It is
    addressed by ``id`` (``session_…``) or by the ``external_id`` you chose. ``closed_at`` is
    set once closed (closing is final); ``current_run_id`` is the run serving it."""

    id: str
    external_id: str | None = None
    type: str
    task_identifier: str
    trigger_config: dict[str, Any] | None = field(default=None, repr=False)
    current_run_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = field(default=None, repr=False)
    closed_at: datetime | None = None
    closed_reason: str | None = None
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True, kw_only=True)
class SessionCreated(Session):
    """``sessions.start``: the session, its first run, whether an ``external_id`` returned an
    existing session (``is_cached``) and a public access token for the browser
    (``read:sessions:<key>`` + ``write:sessions:<key>``, 1 hour; not in the repr)."""

    run_id: str
    public_access_token: str = field(repr=False)
    is_cached: bool
    pending_version: bool = False


@dataclass(frozen=True, kw_only=True)
class SessionRecord(Record):
    """One record of a session channel: ``seq_num`` (the resume cursor), the part's ``id``
    and its ``data`` as sent: the text of ``send_input``/``append_output`` (``value``
    decodes JSON). Control records (``control``: ``"turn-complete"``…) carry no data."""

    data: Any = None
    id: str = ""
    seq_num: int
    headers: list[list[str]] = field(default_factory=list)

    @property
    def control(self) -> str | None:
        for name, value in self.headers:
            if name == "trigger-control":
                return value
        return None

    @property
    def value(self) -> Any:
        """``data`` decoded when it is JSON text (what ``send_input`` sends for a non-string
        value), else as is."""
        if isinstance(self.data, str):
            try:
                return json.loads(self.data)
            except ValueError:
                return self.data
        return self.data
