"""Queues (API.md §6.6): one ``task/<id>`` queue per task of the environment's worker, plus the
custom (named) queues tasks share.

``running`` / ``queued`` are live: they count the environment's runs on that queue in the runs
store (``EXECUTING``/``DEQUEUED``/``RETRYING_AFTER_FAILURE`` run, ``PENDING`` waits), so
triggering a task moves the numbers as the run engine would. Concurrency follows the
concurrency system: an override keeps the code-defined limit as ``base`` (the first override
only), a percent override is materialised from the environment's maximum concurrency, a reset
restores the base; overrides made through the API record no user (``overriddenBy: null``).

    with emu.state.lock:
        queue = emu.state.queues.find(env, "send-email", "task")
        queue.paused, queue.concurrency_limit
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..world import Environment, format_date

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["Queue", "QueueError", "QueueStore", "seed_queues"]

RUNNING_STATUSES = frozenset({"DEQUEUED", "EXECUTING", "RETRYING_AFTER_FAILURE"})
QUEUED_STATUSES = frozenset({"PENDING"})
#: ``RuntimeEnvironment.maximumConcurrencyLimit`` of the seeded environments.
DEFAULT_MAXIMUM_CONCURRENCY = {"DEVELOPMENT": 25, "STAGING": 100, "PRODUCTION": 100, "PREVIEW": 50}
# Code-defined limits of the seeded task queues (others have none).
_TASK_LIMITS = {"process-payment": 5, "generate-report": 2, "nightly-cleanup": 1}
_CUSTOM_QUEUES = (("shared-email", 10), ("crm-sync", None))


class QueueError(Exception):
    """An override/reset the concurrency system refuses: ``kind`` is ``invalid_override``,
    ``concurrency_limit_exceeds_maximum`` or ``queue_not_overridden``."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message or kind)
        self.kind = kind
        self.message = message


@dataclass
class Queue:
    friendly_id: str
    environment_id: str
    name: str  # stored name: "task/<id>" for task queues
    type: str  # VIRTUAL (task) | NAMED (custom)
    seq: int
    concurrency_limit: int | None = None
    concurrency_limit_base: int | None = None
    overridden_at: dt.datetime | None = None
    overridden_by: str | None = None  # display name of the dashboard user, None via the API
    override_percent: float | None = None
    paused: bool = False

    @property
    def public_type(self) -> str:
        return "task" if self.type == "VIRTUAL" else "custom"

    @property
    def public_name(self) -> str:
        return self.name[len("task/") :] if self.name.startswith("task/") else self.name


class QueueStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, Queue] = {}
        self._seq = 0  # creation order (an int: the world is pickled for reset)
        # Environment id -> maximumConcurrencyLimit (default by environment type).
        self.maximum_concurrency: dict[str, int] = {}

    def maximum_for(self, env: Environment) -> int:
        return self.maximum_concurrency.get(env.id, DEFAULT_MAXIMUM_CONCURRENCY[env.type])

    def add(
        self,
        env: Environment,
        name: str,
        *,
        custom: bool = False,
        concurrency_limit: int | None = None,
    ) -> Queue:
        """A task queue (``name`` = the task id) or a custom queue (``custom=True``)."""
        stored = name if custom else f"task/{name}"
        self._seq += 1
        queue = Queue(
            self.world.ids.friendly("queue"),
            env.id,
            stored,
            "NAMED" if custom else "VIRTUAL",
            self._seq,
            concurrency_limit=concurrency_limit,
        )
        self.by_id[queue.friendly_id] = queue
        return queue

    def in_environment(self, env: Environment) -> list[Queue]:
        """Ordered by ``orderableName`` (the task id for task queues, the name for custom
        ones)."""
        found = [q for q in self.by_id.values() if q.environment_id == env.id]
        return sorted(found, key=lambda q: (q.public_name.lower(), q.seq))

    def find(self, env: Environment, value: str, kind: str = "id") -> Queue | None:
        """``getQueue``: by friendly id, by task id (``task/`` prefix optional) or by name."""
        if kind == "id":
            queue = self.by_id.get(value)
            return queue if queue and queue.environment_id == env.id else None
        name = f"task/{value.removeprefix('task/')}" if kind == "task" else value
        for queue in self.by_id.values():
            if queue.environment_id == env.id and queue.name == name:
                return queue
        return None

    def page(self, env: Environment, page: int, per_page: int) -> tuple[list[Queue], int, int]:
        """``(queues, totalPages, count)`` of one offset page."""
        queues = self.in_environment(env)
        chunk = queues[(page - 1) * per_page : page * per_page]
        return chunk, math.ceil(len(queues) / per_page), len(queues)

    # -- changes ---------------------------------------------------------------------------------

    def override(
        self,
        env: Environment,
        queue: Queue,
        *,
        limit: int | None = None,
        percent: float | None = None,
    ) -> None:
        maximum = self.maximum_for(env)
        if percent is not None:
            if not (math.isfinite(percent) and 0 < percent <= 100):
                raise QueueError(
                    "invalid_override",
                    "Percent must be greater than 0 and less than or equal to 100",
                )
            new_limit = min(max(math.floor(maximum * percent / 100), 1), maximum)
        else:
            assert limit is not None
            if limit < 0:
                raise QueueError(
                    "invalid_override", "Concurrency limit must be a non-negative number"
                )
            if limit > maximum:
                raise QueueError(
                    "concurrency_limit_exceeds_maximum",
                    f"Concurrency limit ({limit}) cannot exceed the environment limit ({maximum})",
                )
            new_limit = limit
        if queue.overridden_at is None:
            queue.concurrency_limit_base = queue.concurrency_limit
        queue.concurrency_limit = new_limit
        queue.override_percent = percent
        queue.overridden_at = self.world.now()
        queue.overridden_by = None

    def reset(self, queue: Queue) -> None:
        if queue.overridden_at is None:
            raise QueueError("queue_not_overridden", "Queue is not overridden")
        queue.concurrency_limit = queue.concurrency_limit_base
        queue.concurrency_limit_base = None
        queue.overridden_at = None
        queue.overridden_by = None
        queue.override_percent = None

    # -- rendering -------------------------------------------------------------------------------

    def counts(self, queue: Queue) -> tuple[int, int]:
        """``(running, queued)`` from the runs on this queue."""
        runs = self.world.stores.get("runs")
        if runs is None:
            return 0, 0
        running = queued = 0
        for run in runs.by_id.values():
            if run.environment_id != queue.environment_id or run.queue != queue.name:
                continue
            if run.status in RUNNING_STATUSES:
                running += 1
            elif run.status in QUEUED_STATUSES:
                queued += 1
        return running, queued

    def render(self, queue: Queue, *, with_percent: bool = False) -> dict[str, Any]:
        """``toQueueItem`` (+ ``concurrencyLimitOverridePercent`` on list/retrieve)."""
        running, queued = self.counts(queue)
        item: dict[str, Any] = {
            "id": queue.friendly_id,
            "name": queue.public_name,
            "type": queue.public_type,
            "running": running,
            "queued": queued,
            "paused": queue.paused,
            "concurrencyLimit": queue.concurrency_limit,
            "concurrency": {
                "current": queue.concurrency_limit,
                "base": queue.concurrency_limit_base,
                "override": queue.concurrency_limit if queue.overridden_at else None,
                "overriddenBy": queue.overridden_by,
                "overriddenAt": format_date(queue.overridden_at) if queue.overridden_at else None,
            },
            "releaseConcurrencyOnWaitpoint": True,
        }
        if with_percent:
            item["concurrencyLimitOverridePercent"] = queue.override_percent
        return item


def seed_queues(world: World, rng: random.Random) -> None:
    """Every environment of every project gets a queue per task of the catalogue (some with a
    code-defined limit) and the custom queues ``shared-email`` (limit 10) and ``crm-sync``. In
    the default project's production environment ``sync-crm`` is paused and ``send-email`` is
    overridden to 20 from the dashboard by Alice."""
    store: QueueStore = world.queues
    for project in world.projects.values():
        tasks = world.deployments.tasks_of(project.ref)
        for env in world.project_environments(project.ref):
            for task in tasks:
                store.add(env, task, concurrency_limit=_TASK_LIMITS.get(task))
            for name, limit in _CUSTOM_QUEUES:
                store.add(env, name, custom=True, concurrency_limit=limit)
    prod = world.environments_by_public_slug(world.default_project.ref)["prod"]
    paused = store.find(prod, "sync-crm", "task")
    overridden = store.find(prod, "send-email", "task")
    assert paused is not None and overridden is not None
    paused.paused = True
    overridden.concurrency_limit_base = overridden.concurrency_limit
    overridden.concurrency_limit = 20
    overridden.overridden_at = world.seeded_at - dt.timedelta(days=3, minutes=rng.randint(0, 600))
    overridden.overridden_by = world.default_user.display_name
