"""Run input streams (docs/API-ADDENDUM.md §9): what ``POST /realtime/v1/streams/{runId}/input/
{streamId}`` appended, per run and stream, in order.

    with emu.state.lock:
        emu.state.input_streams.records("run_…", "approval")   # [{"id": "inp_…", "data": …}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["InputStreamStore"]


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
