"""Batches (API.md §6.2, §6.3): the batch record, its items and its rendering.

Status follows item processing, not run outcomes: a batch is ``PENDING`` until every item has
arrived (the two-phase ``/api/v3/batches`` flow), then ``COMPLETED`` once its runs exist
(``PARTIAL_FAILED`` when some items could not become runs); ``ABORTED`` only if a test sets it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import format_date

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["Batch", "BatchStore"]


@dataclass
class Batch:
    id: str  # internal
    environment_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    run_count: int
    status: str = "PENDING"
    idempotency_key: str | None = None
    idempotency_key_expires_at: dt.datetime | None = None
    task_identifiers: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)  # friendly, in item order
    items: dict[int, str] = field(default_factory=dict)  # index -> friendly run id
    errors: list[dict[str, Any]] = field(default_factory=list)
    processing_completed_at: dt.datetime | None = None
    resume_parent: bool = False
    parent_run_id: str | None = None

    @property
    def friendly_id(self) -> str:
        return "batch_" + self.id

    @property
    def sealed(self) -> bool:
        return len(self.items) + len({e["index"] for e in self.errors}) >= self.run_count


class BatchStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, Batch] = {}

    def create(self, environment_id: str, run_count: int, **fields: Any) -> Batch:
        now = fields.pop("created_at", None) or self.world.now()
        batch = Batch(
            id=self.world.ids.internal("batch"),
            environment_id=environment_id,
            created_at=now,
            updated_at=fields.pop("updated_at", now),
            run_count=run_count,
            **fields,
        )
        self.by_id[batch.friendly_id] = batch
        return batch

    def get(self, friendly_id: str, environment_id: str | None = None) -> Batch | None:
        batch = self.by_id.get(friendly_id)
        if batch is None or (environment_id is not None and batch.environment_id != environment_id):
            return None
        return batch

    def find_by_idempotency_key(
        self, environment_id: str, key: str, task_identifiers: list[str]
    ) -> Batch | None:
        now = self.world.now()
        for batch in self.by_id.values():
            if (
                batch.environment_id == environment_id
                and batch.idempotency_key == key
                and sorted(set(batch.task_identifiers)) == sorted(set(task_identifiers))
                and (
                    batch.idempotency_key_expires_at is None
                    or batch.idempotency_key_expires_at > now
                )
            ):
                return batch
        return None

    def holding_key(self, environment_id: str, key: str) -> Batch | None:
        """The batch holding ``key`` in the environment (the batch table's unique index on
        (environment, idempotencyKey), whatever the key's expiry)."""
        for batch in self.by_id.values():
            if batch.environment_id == environment_id and batch.idempotency_key == key:
                return batch
        return None

    def add_run(self, batch: Batch, index: int, run_friendly_id: str) -> None:
        batch.items[index] = run_friendly_id
        batch.run_ids = [batch.items[i] for i in sorted(batch.items)]
        batch.updated_at = self.world.now()

    def finish_processing(self, batch: Batch) -> None:
        if batch.status in ("PENDING", "PROCESSING") and batch.sealed:
            now = self.world.now()
            batch.status = "PARTIAL_FAILED" if batch.errors else "COMPLETED"
            batch.processing_completed_at = now
            batch.updated_at = now

    # -- rendering -----------------------------------------------------------------------------

    def render_v2(self, batch: Batch) -> dict[str, Any]:
        data: dict[str, Any] = {"id": batch.friendly_id, "status": batch.status}
        if batch.idempotency_key:
            data["idempotencyKey"] = batch.idempotency_key
        data["createdAt"] = format_date(batch.created_at)
        data["updatedAt"] = format_date(batch.updated_at)
        if batch.processing_completed_at:
            data["processingCompletedAt"] = format_date(batch.processing_completed_at)
        data["runCount"] = batch.run_count
        data["runs"] = list(batch.run_ids)
        processing: dict[str, Any] = {}
        if batch.processing_completed_at:
            processing["completedAt"] = format_date(batch.processing_completed_at)
        processing["errors"] = [dict(e) for e in batch.errors]
        data["processing"] = processing
        return data

    def render_v1(self, batch: Batch) -> dict[str, Any]:
        data: dict[str, Any] = {"id": batch.friendly_id, "status": batch.status}
        if batch.idempotency_key:
            data["idempotencyKey"] = batch.idempotency_key
        data["createdAt"] = format_date(batch.created_at)
        data["updatedAt"] = format_date(batch.updated_at)
        data["runCount"] = batch.run_count
        data["runs"] = list(batch.run_ids)
        runs = [self.world.runs.by_id.get(rid) for rid in batch.run_ids]
        if runs and all(r is not None and r.is_final for r in runs):
            ok = sum(1 for r in runs if r is not None and r.status == "COMPLETED_SUCCESSFULLY")
            data["successfulRunCount"] = ok
            data["failedRunCount"] = len(runs) - ok
        if batch.errors:
            data["errors"] = [dict(e) for e in batch.errors]
        return data
