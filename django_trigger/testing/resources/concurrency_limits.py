"""Named concurrency limits (docs/API-ADDENDUM.md §16): the limits tasks declare with
``concurrencyLimit()`` (``perKey`` caps each ``concurrencyKey`` pool, ``total`` every run holding
the limit) and the anonymous inline limits, listed as ``task/<taskId>``.

The server's routes are not in the mirrored source; the shapes follow the SDK 4.8.3 schemas
(``ConcurrencyLimitItem``, ``ConcurrencyLimitKeyItem``). What the emulator takes from its other
state, as the SDK's comments describe:

- ``running`` / ``queued`` count the environment's runs of the tasks holding the limit, with the
  queues' statuses (``EXECUTING``/``DEQUEUED``/``RETRYING_AFTER_FAILURE`` run, ``PENDING``
  waits); a key's ``running`` only the runs triggered with that ``concurrencyKey``.
- ``current`` is the override (else the declared ``base``) clamped to the environment's maximum
  concurrency (the queues store's ``maximum_for``).
- The inline limits are the code-defined limits of the task queues (a task whose queue declares
  ``concurrencyLimit: n`` has ``task/<id>`` with ``perKey: n``).

    with emu.state.lock:
        limit = emu.state.concurrency_limits.find(env, "openai")
        limit.paused, limit.total_override
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import Environment, format_date
from .queues import QUEUED_STATUSES, RUNNING_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["ConcurrencyLimit", "ConcurrencyLimitStore", "KeyOverride", "seed_concurrency_limits"]

DEFAULT_KEY_TTL = dt.timedelta(days=7)
MAX_KEY_TTL = dt.timedelta(days=30)
# name -> (perKey, total, tasks holding it)
_NAMED = {
    "openai": (2, 10, ("generate-report", "resize-image")),
    "crm-api": (None, 3, ("sync-crm",)),
}


@dataclass
class KeyOverride:
    per_key: int
    expires_at: dt.datetime


@dataclass
class ConcurrencyLimit:
    friendly_id: str
    environment_id: str
    name: str
    tasks: tuple[str, ...]
    per_key_base: int | None = None
    total_base: int | None = None
    per_key_override: int | None = None
    per_key_overridden_at: dt.datetime | None = None
    total_override: int | None = None
    total_overridden_at: dt.datetime | None = None
    paused: bool = False
    key_overrides: dict[str, KeyOverride] = field(default_factory=dict)


class ConcurrencyLimitStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, ConcurrencyLimit] = {}

    def add(
        self,
        env: Environment,
        name: str,
        tasks: tuple[str, ...],
        *,
        per_key: int | None = None,
        total: int | None = None,
    ) -> ConcurrencyLimit:
        limit = ConcurrencyLimit(
            self.world.ids.friendly("climit"),
            env.id,
            name,
            tasks,
            per_key_base=per_key,
            total_base=total,
        )
        self.by_id[limit.friendly_id] = limit
        return limit

    def in_environment(self, env: Environment) -> list[ConcurrencyLimit]:
        found = [c for c in self.by_id.values() if c.environment_id == env.id]
        return sorted(found, key=lambda c: c.name)

    def find(self, env: Environment, name: str) -> ConcurrencyLimit | None:
        for limit in self.by_id.values():
            if limit.environment_id == env.id and limit.name == name:
                return limit
        return None

    def page(
        self, env: Environment, page: int, per_page: int
    ) -> tuple[list[ConcurrencyLimit], int, int]:
        limits = self.in_environment(env)
        chunk = limits[(page - 1) * per_page : page * per_page]
        return chunk, math.ceil(len(limits) / per_page), len(limits)

    # -- changes ---------------------------------------------------------------------------------

    def override(self, limit: ConcurrencyLimit, *, per_key: int | None, total: int | None) -> None:
        now = self.world.now()
        if per_key is not None:
            limit.per_key_override, limit.per_key_overridden_at = per_key, now
        if total is not None:
            limit.total_override, limit.total_overridden_at = total, now

    def override_key(
        self, limit: ConcurrencyLimit, key: str, per_key: int, ttl: dt.timedelta
    ) -> None:
        limit.key_overrides[key] = KeyOverride(per_key, self.world.now() + ttl)

    def reset(self, limit: ConcurrencyLimit) -> None:
        limit.per_key_override = limit.per_key_overridden_at = None
        limit.total_override = limit.total_overridden_at = None

    def reset_key(self, limit: ConcurrencyLimit, key: str) -> None:
        limit.key_overrides.pop(key, None)

    # -- rendering -------------------------------------------------------------------------------

    def _clamp(self, limit: ConcurrencyLimit, value: int | None) -> int | None:
        if value is None:
            return None
        env = self.world.environments[limit.environment_id]
        return min(value, self.world.queues.maximum_for(env))

    def _counts(self, limit: ConcurrencyLimit, key: str | None = None) -> tuple[int, int]:
        running = queued = 0
        for run in self.world.runs.in_environment(limit.environment_id):
            if run.task_identifier not in limit.tasks:
                continue
            if key is not None and run.concurrency_key != key:
                continue
            if run.status in RUNNING_STATUSES:
                running += 1
            elif run.status in QUEUED_STATUSES:
                queued += 1
        return running, queued

    def key_override(self, limit: ConcurrencyLimit, key: str) -> KeyOverride | None:
        found = limit.key_overrides.get(key)
        if found is not None and found.expires_at <= self.world.now():
            return None  # lapsed
        return found

    def render(self, limit: ConcurrencyLimit) -> dict[str, Any]:
        running, queued = self._counts(limit)

        def bound(base: int | None, override: int | None, at: dt.datetime | None) -> dict:
            return {
                "current": self._clamp(limit, override if override is not None else base),
                "base": base,
                "override": override,
                "overriddenAt": format_date(at) if at else None,
            }

        return {
            "id": limit.friendly_id,
            "name": limit.name,
            "perKey": bound(
                limit.per_key_base, limit.per_key_override, limit.per_key_overridden_at
            ),
            "total": bound(limit.total_base, limit.total_override, limit.total_overridden_at),
            "running": running,
            "queued": queued,
            "paused": limit.paused,
        }

    def render_key(self, limit: ConcurrencyLimit, key: str) -> dict[str, Any]:
        base = self._clamp(
            limit,
            limit.per_key_override if limit.per_key_override is not None else limit.per_key_base,
        )
        override = self.key_override(limit, key)
        running, _queued = self._counts(limit, key)
        return {
            "name": limit.name,
            "concurrencyKey": key,
            "perKey": {
                "current": self._clamp(limit, override.per_key) if override else base,
                "base": base,
                "override": override.per_key if override else None,
                "expiresAt": format_date(override.expires_at) if override else None,
            },
            "running": running,
            "paused": limit.paused,
        }


def seed_concurrency_limits(world: World, rng: Any) -> None:
    """Every environment gets the named limits ``openai`` (perKey 2, total 10; held by
    ``generate-report`` and ``resize-image``) and ``crm-api`` (total 3; ``sync-crm``), and an
    inline ``task/<id>`` limit per task queue with a code-defined limit."""
    store: ConcurrencyLimitStore = world.concurrency_limits
    for project in world.projects.values():
        tasks = world.deployments.tasks_of(project.ref)
        for env in world.project_environments(project.ref):
            for name, (per_key, total, holders) in _NAMED.items():
                store.add(
                    env,
                    name,
                    tuple(t for t in holders if t in tasks),
                    per_key=per_key,
                    total=total,
                )
            for queue in world.queues.in_environment(env):
                declared = (
                    queue.concurrency_limit_base if queue.overridden_at else queue.concurrency_limit
                )
                if queue.type == "VIRTUAL" and declared is not None:
                    store.add(env, queue.name, (queue.public_name,), per_key=declared)
