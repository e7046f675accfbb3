"""Runs that move by themselves (off by default, so tests stay deterministic).

With ``Emulator(lifecycle=Lifecycle(queued=1, executing=2))`` (CLI: ``--lifecycle 1,2``) a run
triggered through the API goes ``QUEUED`` → ``EXECUTING`` after ``queued`` seconds, then →
``COMPLETED`` (output ``output``) or, for a task in ``fail_tasks``, ``FAILED`` after
``executing`` seconds more, like moto's state transitions. Times are on the emulated clock:
with a frozen clock ``emu.clock.advance(3)`` moves them; with real time they just happen.
Transitions are applied whenever runs are read (retrieve, list, realtime), with the
timestamps they would have had, so the answer is the same whenever it is asked. Seeded runs
and runs a test finished by hand are left alone.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .world import World

__all__ = ["Lifecycle", "advance_runs"]

MOVING = ("PENDING", "DEQUEUED", "EXECUTING")


@dataclass(frozen=True)
class Lifecycle:
    queued: float = 1.0  # seconds from queued (or the end of a delay) to executing
    executing: float = 2.0  # seconds from executing to finished
    fail_tasks: tuple[str, ...] = ()  # these tasks fail instead of completing
    output: Any = None  # the output of a completed run (JSON)

    def __post_init__(self) -> None:
        if not (self.queued >= 0 and self.executing >= 0):
            raise ValueError("lifecycle delays must be zero or more seconds")


def advance_runs(world: World) -> None:
    """Apply every transition that is due (call under ``world.lock``)."""
    lifecycle: Lifecycle | None = getattr(world, "lifecycle", None)
    if lifecycle is None:
        return
    now = world.now()
    for run in world.runs.by_id.values():
        if run.status not in MOVING or run.created_at < world.seeded_at:
            continue
        queued_at = run.delay_until or run.created_at
        started = run.started_at or queued_at + dt.timedelta(seconds=lifecycle.queued)
        if run.status == "PENDING" and now >= started:
            world.mark_dirty()
            run.status, run.started_at, run.updated_at = "EXECUTING", started, started
            run.attempt_count = max(run.attempt_count, 1)
        finished = started + dt.timedelta(seconds=lifecycle.executing)
        if run.status in ("DEQUEUED", "EXECUTING") and now >= finished:
            world.mark_dirty()
            run.started_at, run.completed_at, run.updated_at = started, finished, finished
            run.usage_duration_ms = int(lifecycle.executing * 1000)
            if run.task_identifier in lifecycle.fail_tasks:
                run.status = "COMPLETED_WITH_ERRORS"
                run.error = {
                    "type": "BUILT_IN_ERROR",
                    "name": "Error",
                    "message": "Failed by the emulator's lifecycle",
                    "stackTrace": "Error: Failed by the emulator's lifecycle",
                }
            else:
                run.status = "COMPLETED_SUCCESSFULLY"
                run.output = json.dumps(lifecycle.output)
                run.output_type = "application/json"
