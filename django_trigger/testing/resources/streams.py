"""Run input streams (docs/API-ADDENDUM.md §9): what ``POST /realtime/v1/streams/{runId}/input/
{streamId}`` appended, per run and stream, in order; and runs' output streams (§13,
:class:`RunOutputStreams`).

    with emu.state.lock:
        emu.state.input_streams.records("run_…", "approval")   # [{"id": "inp_…", "data": …}]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["InputStreamStore", "OutputRecord", "RecordTooLarge", "RunOutputStreams"]


class InputStreamStore:
    def __init__(self, world: World) -> None:
        self._world = world
        self._records: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def append(self, run_id: str, stream_id: str, data: Any) -> str:
        record_id = "inp_" + self._world.ids.chars("input-stream", 12, "0123456789abcdef")
        self._records.setdefault((run_id, stream_id), []).append({"id": record_id, "data": data})
        return record_id

    def records(self, run_id: str, stream_id: str) -> list[dict[str, Any]]:
        return list(self._records.get((run_id, stream_id), []))


# The SDK's record id (``X-Part-Id`` or nanoid(7)) and the service's limits.
_PART_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
S2_MAX_METERED_BYTES = 1024 * 1024  # s2realtimeStreams: a record's metered size
S2_RECORD_BASE_OVERHEAD_BYTES = 8


class RecordTooLarge(ValueError):
    """A v2 record over S2's per-record limit (the append route answers 413)."""

    def __init__(self, metered: int) -> None:
        super().__init__(
            f"Record metered size {metered} bytes exceeds the S2 per-record limit of "
            f"{S2_MAX_METERED_BYTES} bytes. Reduce tool-output size or split into smaller parts."
        )


@dataclass(frozen=True)
class OutputRecord:
    """One appended entry. v1 (Redis): ``data`` is the raw text XADDed (an append is the part
    JSON-encoded plus ``"\\n"``), ``redis_id`` its ``<ms>-<n>`` id. v2 (S2): ``body`` is
    ``{"data": part, "id": partId}``, ``seq_num`` its position (0, 1, …)."""

    seq_num: int
    redis_id: str
    timestamp: int  # epoch ms
    data: str
    body: str


class RunOutputStreams:
    """Runs' realtime output streams (docs/API-ADDENDUM.md §13), by (run, stream), in order.

    Tests write with :meth:`append` (what the append route does: the task's
    ``streams.append``/``pipe`` reaches the stream the same way)::

        with emu.state.lock:
            emu.state.output_streams.append("run_…", "ai", "Hello")   # v1 or v2 as the run
        emu.state.output_streams.records("run_…", "ai")
    """

    def __init__(self, world: World) -> None:
        self._world = world
        self._streams: dict[tuple[str, str], list[OutputRecord]] = {}
        self._last = (0, -1)  # the last Redis id, (ms, n): ids only grow, as XADD's

    def append(
        self, run_id: str, stream_id: str, part: str, *, part_id: str | None = None
    ) -> OutputRecord:
        """Append ``part`` (text, as the route's body) to the run's stream, in the run's
        realtime streams version; the stream's name joins the run's ``realtimeStreams``."""
        run = self._world.runs.get(run_id)
        if run is None:
            raise KeyError(f"no run {run_id}")
        part_id = part_id or self._world.ids.chars("stream-part", 7, _PART_ID_ALPHABET)
        body = json.dumps({"data": part, "id": part_id}, separators=(",", ":"), ensure_ascii=False)
        if run.realtime_streams_version == "v2":
            metered = len(body.encode()) + S2_RECORD_BASE_OVERHEAD_BYTES
            if metered > S2_MAX_METERED_BYTES:
                raise RecordTooLarge(metered)
        records = self._streams.setdefault((run.friendly_id, stream_id), [])
        now_ms = self._world.clock.now_ms()
        ms, n = self._last
        self._last = (now_ms, 0) if now_ms > ms else (ms, n + 1)
        record = OutputRecord(
            seq_num=len(records),
            redis_id=f"{self._last[0]}-{self._last[1]}",
            timestamp=now_ms,
            data=json.dumps(part, ensure_ascii=False) + "\n",
            body=body,
        )
        records.append(record)
        if stream_id not in run.realtime_streams:
            run.realtime_streams.append(stream_id)
        return record

    def records(self, run_id: str, stream_id: str) -> list[OutputRecord]:
        return list(self._streams.get((run_id, stream_id), []))
