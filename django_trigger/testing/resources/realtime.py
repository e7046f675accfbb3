"""Realtime run feeds: the Electric shape-stream wire format the service's native realtime
client writes (``services/realtime/electricStreamProtocol.server.ts``) and the per-connection
working sets that let a live request answer only with rows that changed.

A feed is one run, the runs of a batch, or the runs carrying every one of some tags. Each
answer carries an opaque offset ``<updatedAtMs>_<seq>``; the emulator remembers what it sent
under each offset (bounded), so a live request with that offset gets exactly the rows that
changed since — which works under a frozen clock too, where ``updatedAt`` may not move.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..world import to_ms

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World
    from .runs import Run

__all__ = ["COLUMNS", "RESERVED_COLUMNS", "RealtimeFeeds", "serialize_run"]

# name -> (type, dims, empty array as null); the order of DEFAULT_ELECTRIC_COLUMNS.
COLUMNS: dict[str, tuple[str, int, bool]] = {
    "id": ("text", 0, False),
    "taskIdentifier": ("text", 0, False),
    "createdAt": ("timestamp", 0, False),
    "updatedAt": ("timestamp", 0, False),
    "startedAt": ("timestamp", 0, False),
    "delayUntil": ("timestamp", 0, False),
    "queuedAt": ("timestamp", 0, False),
    "expiredAt": ("timestamp", 0, False),
    "completedAt": ("timestamp", 0, False),
    "friendlyId": ("text", 0, False),
    "number": ("int4", 0, False),
    "isTest": ("bool", 0, False),
    "status": ("text", 0, False),
    "usageDurationMs": ("int4", 0, False),
    "costInCents": ("float8", 0, False),
    "baseCostInCents": ("float8", 0, False),
    "ttl": ("text", 0, False),
    "payload": ("text", 0, False),
    "payloadType": ("text", 0, False),
    "metadata": ("text", 0, False),
    "metadataType": ("text", 0, False),
    "output": ("text", 0, False),
    "outputType": ("text", 0, False),
    "runTags": ("text", 1, True),
    "error": ("jsonb", 0, False),
    "realtimeStreams": ("text", 1, False),
}
RESERVED_COLUMNS = ("id", "taskIdentifier", "friendlyId", "status", "createdAt")
UP_TO_DATE = {"headers": {"control": "up-to-date"}}
MAX_WORKING_SETS = 10_000

Row = dict[str, "str | None"]


def skip_set(skip_columns: list[str]) -> set[str]:
    return {c for c in skip_columns if c and c not in RESERVED_COLUMNS}


def schema_header(skip_columns: list[str]) -> str:
    skip = skip_set(skip_columns)
    schema: dict[str, dict[str, Any]] = {}
    for name, (kind, dims, _) in COLUMNS.items():
        if name not in skip:
            schema[name] = {"type": kind, "dims": dims} if dims else {"type": kind}
    return json.dumps(schema, separators=(",", ":"))


def _timestamp(value: Any) -> str | None:
    # ISO without the trailing Z (the SDK's RawShapeDate appends it).
    return None if value is None else value.isoformat(timespec="milliseconds")[:23]


def _array(values: list[str], empty_as_null: bool) -> str | None:
    if not values:
        return None if empty_as_null else "{}"
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def serialize_run(run: Run, skip_columns: list[str]) -> Row:
    """The wire ``value`` of one run: every column a string (or null), as Electric sends."""
    # The run's realtimeStreams column (appends push to it) and, for runs of the v3 SDK, the
    # streams its metadata lists.
    streams = [*run.realtime_streams, *((run.metadata_object() or {}).get("$$streams") or [])]
    values: dict[str, str | None] = {
        "id": run.id,
        "taskIdentifier": run.task_identifier,
        "createdAt": _timestamp(run.created_at),
        "updatedAt": _timestamp(run.updated_at),
        "startedAt": _timestamp(run.started_at),
        "delayUntil": _timestamp(run.delay_until),
        "queuedAt": _timestamp(
            None if run.status == "DELAYED" else run.delay_until or run.created_at
        ),
        "expiredAt": _timestamp(run.expired_at),
        "completedAt": _timestamp(run.completed_at),
        "friendlyId": run.friendly_id,
        "number": "0",
        "isTest": "t" if run.is_test else "f",
        "status": run.status,
        "usageDurationMs": str(run.usage_duration_ms),
        "costInCents": _number(run.cost_in_cents),
        "baseCostInCents": _number(run.base_cost_in_cents),
        "ttl": run.ttl,
        "payload": run.payload,
        "payloadType": run.payload_type,
        "metadata": run.metadata,
        "metadataType": run.metadata_type,
        "output": run.output,
        "outputType": run.output_type,
        "runTags": _array(list(run.tags), empty_as_null=True),
        "error": None if run.error is None else json.dumps(run.error, separators=(",", ":")),
        "realtimeStreams": _array(
            [str(s) for s in streams if isinstance(s, str)], empty_as_null=False
        ),
    }
    skip = skip_set(skip_columns)
    return {name: values[name] for name in COLUMNS if name not in skip}


def shape_key(run: Run) -> str:
    return f'"public"."TaskRun"/"{run.id}"'


class RealtimeFeeds:
    """What each answer sent, by (environment, offset): ``{run id: wire value}``."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._seq = 0
        self._sent: OrderedDict[tuple[str, str], dict[str, Row]] = OrderedDict()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def mint_handle(self, prefix: str) -> str:
        return f"{prefix}_{self.next_seq()}_{uuid.uuid4().hex[:8]}"

    def remember(self, environment_id: str, offset: str, rows: dict[str, Row]) -> None:
        self._sent[(environment_id, offset)] = rows
        while len(self._sent) > MAX_WORKING_SETS:
            self._sent.popitem(last=False)

    def sent(self, environment_id: str, offset: str) -> dict[str, Row] | None:
        return self._sent.get((environment_id, offset))

    def snapshot(
        self, environment_id: str, runs: list[Run], skip: list[str]
    ) -> tuple[list[dict[str, Any]], str, dict[str, Row]]:
        """``(messages, offset, rows)``: an insert per run, then up-to-date."""
        rows = {run.id: serialize_run(run, skip) for run in runs}
        messages: list[dict[str, Any]] = [
            {"key": shape_key(run), "value": rows[run.id], "headers": {"operation": "insert"}}
            for run in runs
        ]
        messages.append(UP_TO_DATE)
        offset = self.offset_of(runs)
        self.remember(environment_id, offset, rows)
        return messages, offset, rows

    def changes(
        self, environment_id: str, offset: str, runs: list[Run], skip: list[str]
    ) -> tuple[list[dict[str, Any]], str] | None:
        """The messages for what changed since ``offset`` (``None``: nothing did). An
        unknown offset (forgotten, or from another emulator) counts rows updated after the
        time it encodes, as the service does."""
        before = self.sent(environment_id, offset)
        since_ms = _offset_ms(offset)
        rows = {run.id: serialize_run(run, skip) for run in runs}
        messages: list[dict[str, Any]] = []
        for run in runs:
            if before is not None:
                if before.get(run.id) == rows[run.id]:
                    continue
                operation = "update" if run.id in before else "insert"
            else:
                if to_ms(run.updated_at) <= since_ms:
                    continue
                operation = "update"
            messages.append(
                {"key": shape_key(run), "value": rows[run.id], "headers": {"operation": operation}}
            )
        if not messages:
            return None
        messages.append(UP_TO_DATE)
        new_offset = self.offset_of(runs)
        self.remember(environment_id, new_offset, {**(before or {}), **rows})
        return messages, new_offset

    def offset_of(self, runs: list[Run]) -> str:
        newest = max((to_ms(run.updated_at) for run in runs), default=0)
        return f"{newest}_{self.next_seq()}"


def _offset_ms(offset: str) -> int:
    try:
        value = int(offset.split("_")[0])
    except ValueError:
        return 0
    return max(value, 0)
