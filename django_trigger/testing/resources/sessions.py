"""Agent sessions: their rows, their channels' records, rendering (docs/API-ADDENDUM.md §14).

A session is addressed by its friendly id (``session_…``) or its ``externalId``; the channels'
records are keyed on the *canonical* addressing key (the ``externalId`` when set, else the
friendly id), as the server keys its S2 streams, so both URL forms reach the same records. A
channel is ``(name or None, "in" | "out")``; ``None`` is the session's default channel. Each
record is what the server writes to S2: a sequence number (per channel, from 0), a timestamp
(ms), headers (``[name, value]`` pairs; control records carry ``trigger-control``) and a body
(``{"data": <part>, "id": <partId>}`` as JSON text for data records, empty for control
records).

Scripted sessions (docs/emulator.md, "Scripted agent sessions"): a session whose ``type`` is in
``world.sessions.scripts`` answers each ``.in`` record by writing the script's chunks to
``.out`` on the emulator's clock (one every ``interval`` seconds after the input), then a
``turn-complete`` control record. Records dated in the future are invisible until the clock
reaches them, so a frozen clock shows none and ``advance()`` releases them.

Test helpers: ``world.sessions.get(id_or_external_id, env)``, ``world.sessions.records(...)``,
``world.sessions.append(...)``, ``world.sessions.script(type, chunks, interval=...)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import format_date, to_ms

if TYPE_CHECKING:  # pragma: no cover
    from ..world import Environment, World

__all__ = ["ChannelRecord", "Script", "Session", "SessionStore"]

FRIENDLY_PREFIX = "session_"
CONTROL_HEADER = "trigger-control"
TURN_COMPLETE = "turn-complete"
ECHO_TYPE = "emulator-echo"


@dataclass
class ChannelRecord:
    seq_num: int
    timestamp: int  # ms on the emulator's clock; in the future = not written yet (scripts)
    headers: list[list[str]]
    body: str

    def render(self) -> dict[str, Any]:
        """The S2 record as ``GET …/records`` (S2-Format ``raw``) and the SSE ``batch`` carry it."""
        return {
            "seq_num": self.seq_num,
            "timestamp": self.timestamp,
            "headers": [list(h) for h in self.headers],
            "body": self.body,
        }


@dataclass
class Script:
    """What a scripted agent answers to each input: ``reply(input_text)`` → the chunks (any
    JSON values) written to ``.out``, one every ``interval`` seconds."""

    reply: Callable[[str], list[Any]]
    interval: float = 0.1


def echo_words(text: str) -> list[Any]:
    """The built-in ``emulator-echo`` agent: the input (a JSON string's value, else the raw
    text) echoed back one word per chunk, as ``{"type": "text-delta", "delta": word}``."""
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    words = (value if isinstance(value, str) else json.dumps(value)).split()
    return [{"type": "text-delta", "delta": word} for word in words]


@dataclass
class Session:
    friendly_id: str
    environment_id: str
    type: str
    task_identifier: str
    trigger_config: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    external_id: str | None = None
    current_run_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    closed_at: dt.datetime | None = None
    closed_reason: str | None = None
    expires_at: dt.datetime | None = None
    sequence: int = 0  # creation order: the list's tie-break within one millisecond

    @property
    def addressing_key(self) -> str:
        return self.external_id or self.friendly_id

    def status(self, now: dt.datetime) -> str:
        if self.closed_at is not None:
            return "CLOSED"
        if self.expires_at is not None and self.expires_at < now:
            return "EXPIRED"
        return "ACTIVE"

    def render(self) -> dict[str, Any]:
        """``SessionItem`` (``serializeSessionWithFriendlyRunId``)."""
        return {
            "id": self.friendly_id,
            "externalId": self.external_id,
            "type": self.type,
            "taskIdentifier": self.task_identifier,
            "triggerConfig": self.trigger_config,
            "currentRunId": self.current_run_id,
            "tags": list(self.tags),
            "metadata": self.metadata,
            "closedAt": format_date(self.closed_at) if self.closed_at else None,
            "closedReason": self.closed_reason,
            "expiresAt": format_date(self.expires_at) if self.expires_at else None,
            "createdAt": format_date(self.created_at),
            "updatedAt": format_date(self.updated_at),
        }


ChannelKey = tuple[str, str, str | None, str]  # environment id, addressing key, channel, io


class SessionStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.sessions: dict[str, Session] = {}  # friendly id -> session
        self.channels: dict[ChannelKey, list[ChannelRecord]] = {}
        self.trimmed: dict[ChannelKey, int] = {}  # earliest readable seq_num after a trim
        self.claimed_parts: set[tuple[ChannelKey, str]] = set()
        # S2 access tokens handed out by PUT …/{io}: token -> (stream name, channel)
        self.s2_tokens: dict[str, tuple[str, ChannelKey]] = {}
        # session type -> Script (emulator-echo built in; tests add theirs after each reset)
        self.scripts: dict[str, Script] = {ECHO_TYPE: Script(echo_words)}

    # -- rows -------------------------------------------------------------------------------

    def get(self, key: str, environment: Environment) -> Session | None:
        """By friendly id (``session_…``) or ``externalId`` (resolveSessionByIdOrExternalId)."""
        for session in self.sessions.values():
            if session.environment_id != environment.id:
                continue
            if key.startswith(FRIENDLY_PREFIX):
                if session.friendly_id == key:
                    return session
            elif session.external_id == key:
                return session
        return None

    def in_environment(self, environment: Environment) -> list[Session]:
        """Newest first (the list's order), ties by id."""
        found = [s for s in self.sessions.values() if s.environment_id == environment.id]
        return sorted(found, key=lambda s: (to_ms(s.created_at), s.sequence), reverse=True)

    def add(self, session: Session) -> Session:
        session.sequence = len(self.sessions)
        self.sessions[session.friendly_id] = session
        return session

    # -- channels ---------------------------------------------------------------------------

    def channel_key(
        self, environment: Environment, addressing_key: str, channel: str | None, io: str
    ) -> ChannelKey:
        return (environment.id, addressing_key, channel, io)

    def records(self, key: ChannelKey, after: int | None = None) -> list[ChannelRecord]:
        """The readable records (written, not trimmed) with ``seq_num > after``."""
        now_ms = self.world.clock.now_ms()
        earliest = self.trimmed.get(key, 0)
        found = []
        for record in self.channels.get(key, []):
            if record.timestamp > now_ms:
                break  # not written yet, nor anything after it (sequence order)
            if record.seq_num >= earliest and (after is None or record.seq_num > after):
                found.append(record)
        return found

    def append(
        self,
        key: ChannelKey,
        body: str,
        headers: list[list[str]] | None = None,
        *,
        at_ms: int | None = None,
    ) -> ChannelRecord:
        records = self.channels.setdefault(key, [])
        record = ChannelRecord(
            seq_num=len(records),
            timestamp=self.world.clock.now_ms() if at_ms is None else at_ms,
            headers=list(headers or []),
            body=body,
        )
        records.append(record)
        return record

    def trim(self, key: ChannelKey, earliest: int) -> None:
        """S2's trim: monotonic, never past the tail (``max(old, min(given, tail))``)."""
        tail = len(self.channels.get(key, []))
        self.trimmed[key] = max(self.trimmed.get(key, 0), min(earliest, tail))

    def tail(self, key: ChannelKey) -> int:
        return len(self.channels.get(key, []))

    def visible_tail(self, key: ChannelKey) -> dict[str, int]:
        """S2's ``tail`` as a reader sees it now: the next sequence number and the last
        written record's timestamp (scripted records dated later are not written yet)."""
        now_ms = self.world.clock.now_ms()
        written = [r for r in self.channels.get(key, []) if r.timestamp <= now_ms]
        return {
            "seq_num": len(written),
            "timestamp": written[-1].timestamp if written else 0,
        }

    def settled(self, key: ChannelKey) -> bool:
        """The server's ``#peekIsSettled``: of the last two written records, the latest that
        is not an S2 command record is a ``turn-complete`` control record."""
        now_ms = self.world.clock.now_ms()
        written = [r for r in self.channels.get(key, []) if r.timestamp <= now_ms]
        for record in reversed(written[-2:]):
            if record.headers and record.headers[0][0] == "":
                continue
            return [CONTROL_HEADER, TURN_COMPLETE] in [list(h) for h in record.headers]
        return False

    # -- scripted agents ----------------------------------------------------------------------

    def script(
        self, session_type: str, reply: Callable[[str], list[Any]], *, interval: float = 0.1
    ) -> None:
        """Sessions of ``session_type`` play an agent: each ``.in`` record (the default channel)
        is answered on ``.out`` with ``reply(text)``'s chunks, ``interval`` seconds apart on
        the emulator's clock, then a ``turn-complete`` control record."""
        self.scripts[session_type] = Script(reply, interval)

    def play(self, session: Session, environment: Environment, text: str) -> None:
        script = self.scripts.get(session.type)
        if script is None:
            return
        out = self.channel_key(environment, session.addressing_key, None, "out")
        start = self.world.clock.now_ms()
        step = max(int(script.interval * 1000), 1)
        chunks = script.reply(text)
        for index, chunk in enumerate(chunks, start=1):
            part_id = self.world.ids.chars("session-part", 7)
            body = json.dumps({"data": chunk, "id": part_id}, separators=(",", ":"))
            self.append(out, body, at_ms=start + index * step)
        self.append(
            out, "", [[CONTROL_HEADER, TURN_COMPLETE]], at_ms=start + (len(chunks) + 1) * step
        )
