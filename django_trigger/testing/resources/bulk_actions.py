"""Bulk actions (API.md §6.8): cancel or replay many runs, selected by ids or by a filter.

The emulator processes a bulk action as soon as it is created (status ``COMPLETED`` with its
counts: runs cancelled/replayed are successes, already-finished runs a cancel cannot touch are
failures). The service processes one in batches in the background, ``PENDING`` with growing
counts meanwhile: set ``world.bulk_actions.batch_size`` to N and a new bulk action stays
``PENDING``, each status read (``GET /api/v1/bulk-actions/{id}``) processing the next N runs
first, as if a batch had been processed since the last look. Aborting a ``PENDING`` bulk
action marks it ``ABORTED``; aborting one that completed or was aborted is refused with 409, as
the service's ``BulkActionService.abort`` does.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import format_date, to_ms
from .runs import RunFilter

if TYPE_CHECKING:  # pragma: no cover
    from ..world import Environment, World

__all__ = ["BulkAction", "BulkActionStore", "decode_cursor", "encode_cursor"]


@dataclass
class BulkAction:
    id: str  # internal
    environment_id: str
    type: str  # CANCEL | REPLAY
    created_at: dt.datetime
    status: str = "PENDING"
    name: str | None = None
    total: int = 0
    success: int = 0
    failure: int = 0
    completed_at: dt.datetime | None = None
    run_ids: list[str] = field(default_factory=list)  # friendly ids selected
    target_region: str | None = None

    @property
    def friendly_id(self) -> str:
        return "bulk_" + self.id

    @property
    def sort_key(self) -> tuple[int, str]:
        return (to_ms(self.created_at), self.id)


def encode_cursor(action: BulkAction) -> str:
    raw = json.dumps(
        {"createdAt": to_ms(action.created_at), "id": action.id}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises ``ValueError`` for anything but a cursor this API issued."""
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("createdAt"), (int, float))
        or isinstance(data.get("createdAt"), bool)
        or not isinstance(data.get("id"), str)
    ):
        raise ValueError("Invalid cursor")
    return int(data["createdAt"]), data["id"]


class BulkActionStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, BulkAction] = {}
        #: ``None``: processed at once; N: N runs per status read (see the module doc).
        self.batch_size: int | None = None

    def get(self, friendly_id: str, environment_id: str) -> BulkAction | None:
        action = self.by_id.get(friendly_id)
        return action if action and action.environment_id == environment_id else None

    def in_environment(self, environment_id: str) -> list[BulkAction]:
        """Newest first."""
        return sorted(
            (a for a in self.by_id.values() if a.environment_id == environment_id),
            key=lambda a: a.sort_key,
            reverse=True,
        )

    def create(
        self,
        environment: Environment,
        action_type: str,
        *,
        run_ids: list[str] | None,
        flt: RunFilter | None,
        name: str | None = None,
        target_region: str | None = None,
        process: bool = True,
        created_at: dt.datetime | None = None,
    ) -> BulkAction:
        runs_store = self.world.runs
        if run_ids is not None:
            wanted = set(run_ids)
            selected = [
                r for r in runs_store.in_environment(environment.id) if r.friendly_id in wanted
            ]
        else:
            selected = runs_store.select(environment.id, flt or RunFilter(implicit_window=False))
        action = BulkAction(
            id=self.world.ids.internal("bulk"),
            environment_id=environment.id,
            type=action_type,
            created_at=created_at or self.world.now(),
            name=name,
            total=len(selected),
            run_ids=[r.friendly_id for r in selected],
            target_region=target_region,
        )
        self.by_id[action.friendly_id] = action
        if process and self.batch_size is None:
            self.process(action)
        return action

    def process(self, action: BulkAction, limit: int | None = None) -> None:
        """Apply a pending bulk action to its selected runs (the next ``limit`` of them)."""
        if action.status != "PENDING":
            return
        runs_store = self.world.runs
        start = action.success + action.failure  # one count per run processed
        end = len(action.run_ids) if limit is None else min(len(action.run_ids), start + limit)
        for run_id in action.run_ids[start:end]:
            run = runs_store.by_id.get(run_id)
            if run is None:
                action.failure += 1
                continue
            if action.type == "CANCEL":
                if runs_store.cancel(run):
                    action.success += 1
                else:
                    action.failure += 1
            else:
                runs_store.replay(
                    run, region=action.target_region, bulk_action_id=action.friendly_id
                )
                action.success += 1
            run.bulk_action_ids.append(action.friendly_id)
        if end < len(action.run_ids):
            return
        action.status = "COMPLETED"
        action.completed_at = self.world.now()

    def abort(self, action: BulkAction) -> str | None:
        """Abort a pending action; else the service's refusal (answered 409)."""
        if action.status == "COMPLETED":
            return f"Bulk action group already completed: {action.friendly_id}"
        if action.status == "ABORTED":
            return f"Bulk action group already aborted: {action.friendly_id}"
        action.status = "ABORTED"
        return None

    def render(self, action: BulkAction) -> dict[str, Any]:
        data: dict[str, Any] = {"id": action.friendly_id}
        if action.name is not None:
            data["name"] = action.name
        data["type"] = action.type
        data["status"] = action.status
        data["counts"] = {
            "total": action.total,
            "success": action.success,
            "failure": action.failure,
        }
        data["createdAt"] = format_date(action.created_at)
        if action.completed_at is not None:
            data["completedAt"] = format_date(action.completed_at)
        return data
