"""A seedable generator of realistic runs.

Deterministic for a given seed and ``world.seeded_at``: every internal status (each at least
once in the last two days, so the default 7-day list window shows them), several tasks, tags
(including ``<script>`` and non-ASCII ones so escaping is exercised downstream), weekly worker
versions, test and live runs, payloads/outputs/errors, attempts, costs (deployed environments
only, as on the real service), durations, child runs, scheduled runs and delayed runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from typing import Any

from ..world import Environment, World
from .runs import INTERNAL_STATUSES, Run, RunStore

__all__ = ["TASKS", "seed_environment", "seed_world", "weekly_versions"]

TASKS = (
    "send-email",
    "generate-report",
    "sync-crm",
    "resize-image",
    "process-payment",
    "nightly-cleanup",
)
TASK_WEIGHTS = (30, 12, 15, 20, 13, 10)
SCHEDULED_TASK = "nightly-cleanup"
HISTORICAL = (
    "COMPLETED_SUCCESSFULLY",
    "COMPLETED_WITH_ERRORS",
    "CANCELED",
    "CRASHED",
    "SYSTEM_FAILURE",
    "EXPIRED",
    "TIMED_OUT",
    "INTERRUPTED",
)
HISTORICAL_WEIGHTS = (70, 12, 5, 3, 2, 3, 3, 2)
IN_FLIGHT = (
    "PENDING",
    "DEQUEUED",
    "EXECUTING",
    "RETRYING_AFTER_FAILURE",
    "PAUSED",
    "WAITING_TO_RESUME",
    "PENDING_VERSION",
    "WAITING_FOR_DEPLOY",
)
NEVER_STARTED = ("DELAYED", "PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "EXPIRED")
TAGS = (
    "user_5df987al13",
    "org_acme",
    "tenant_7",
    "priority_high",
    "campaign_spring",
    "region_eu",
    "ünïcødé_✓",
    "<script>alert(1)</script>",
    "order_42",
    "beta",
)
NAMES = (
    "Zoë Ångström",
    "José Núñez",
    "李小龍",
    "Ada Lovelace",
    "<script>alert('xss')</script>",
    "O'Brien & Sons",
    "Renée 🚀",
)
MACHINES = ("small-1x", "small-1x", "small-1x", "medium-1x", "large-1x", "micro")
REGIONS = ("us-east-1", "eu-central-1")
SCHEDULE_EXPRESSION = "0 3 * * *"
SCHEDULE_DESCRIPTION = "At 03:00 AM"


def weekly_versions(anchor: dt.datetime, weeks: int = 6) -> list[tuple[dt.datetime, str]]:
    """``[(deployed_at, "YYYYMMDD.N")]`` oldest first: one deploy a week (Mondays 10:00 UTC)."""
    monday = (anchor - dt.timedelta(days=anchor.weekday())).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    out = []
    for k in range(weeks - 1, -1, -1):
        when = monday - dt.timedelta(weeks=k)
        out.append((when, when.strftime("%Y%m%d") + (".2" if k % 2 else ".1")))
    return out


def _version_at(versions: list[tuple[dt.datetime, str]], when: dt.datetime) -> str:
    current = versions[0][1]
    for deployed_at, version in versions:
        if deployed_at <= when:
            current = version
    return current


def _payload(rng: random.Random, task: str, n: int) -> Any:
    name = rng.choice(NAMES)
    if task == "send-email":
        return {
            "to": f"user{n}@example.com",
            "name": name,
            "subject": rng.choice(
                [
                    "Welcome!",
                    "Your invoice",
                    "Réinitialiser le mot de passe",
                    "<b>Hello</b> & welcome",
                ]
            ),
            "template": rng.choice(["welcome", "invoice", "reset"]),
        }
    if task == "generate-report":
        return {
            "reportId": f"rep_{n:05d}",
            "format": rng.choice(["pdf", "csv"]),
            "range": {"days": rng.choice([7, 30, 90])},
            "requestedBy": name,
        }
    if task == "sync-crm":
        return {"accountId": f"acc_{rng.randrange(10_000):04d}", "full": rng.random() < 0.2}
    if task == "resize-image":
        return {
            "url": f"https://cdn.example.com/img/{n}.png",
            "sizes": rng.sample([64, 128, 256, 512, 1024], 3),
        }
    if task == "process-payment":
        return {
            "orderId": f"order_{n}",
            "amount": round(rng.uniform(5, 500), 2),
            "currency": rng.choice(["USD", "EUR", "GBP"]),
            "customer": name,
        }
    return {"olderThanDays": 30}


def _output(rng: random.Random, task: str, n: int) -> Any:
    if task == "send-email":
        return {"messageId": f"msg_{n:06d}", "accepted": True}
    if task == "generate-report":
        return {
            "url": f"https://reports.example.com/rep_{n:05d}.pdf",
            "rows": rng.randrange(10, 50_000),
        }
    if task == "sync-crm":
        return {"synced": rng.randrange(0, 500), "skipped": rng.randrange(0, 20)}
    if task == "resize-image":
        return {"variants": rng.randrange(1, 5)}
    if task == "process-payment":
        return {"chargeId": f"ch_{n:08d}", "status": "succeeded"}
    return {"deleted": rng.randrange(0, 1000)}


def _error(rng: random.Random, status: str, task: str) -> dict[str, Any] | None:
    if status == "COMPLETED_WITH_ERRORS":
        kind = rng.random()
        if kind < 0.7:
            message = rng.choice(
                [
                    "Request failed with status code 502",
                    'Invalid email address: "<bad>"',
                    "Échec de connexion à la base de données",
                    "Rate limited by upstream API",
                    "Cannot read properties of undefined (reading 'id')",
                ]
            )
            return {
                "type": "BUILT_IN_ERROR",
                "name": rng.choice(["Error", "TypeError"]),
                "message": message,
                "stackTrace": f"Error: {message}\n    at run (src/trigger/{task}.ts:"
                f"{rng.randrange(5, 120)}:{rng.randrange(3, 40)})",
            }
        if kind < 0.85:
            return {"type": "STRING_ERROR", "raw": "upstream said no"}
        return {
            "type": "CUSTOM_ERROR",
            "raw": json.dumps({"code": "E_VALIDATION", "field": "amount"}),
        }
    codes = {
        "CRASHED": "TASK_PROCESS_OOM_KILLED",
        "SYSTEM_FAILURE": "TASK_RUN_HEARTBEAT_TIMEOUT",
        "TIMED_OUT": "MAX_DURATION_EXCEEDED",
        "CANCELED": "TASK_RUN_CANCELLED",
        "INTERRUPTED": "TASK_EXECUTION_ABORTED",
    }
    if status in codes:
        return {"type": "INTERNAL_ERROR", "code": codes[status]}
    return None


def _schedule(world: World, env: Environment) -> dict[str, Any]:
    return {
        "id": "sched_" + hashlib.sha256(f"{world.seed}:{env.id}:nightly".encode()).hexdigest()[:21],
        "deduplicationKey": "nightly-cleanup",
        "generator": {
            "type": "CRON",
            "expression": SCHEDULE_EXPRESSION,
            "description": SCHEDULE_DESCRIPTION,
        },
    }


def seed_environment(world: World, env: Environment, count: int, rng: random.Random) -> None:
    """Add ``count`` runs to ``env``: one of every internal status first (recent), the rest
    spread over the last five weeks."""
    store: RunStore = world.runs
    anchor = world.seeded_at
    deployed = env.type != "DEVELOPMENT"
    versions = weekly_versions(anchor)
    store.known_versions[env.id] = [v for _, v in versions]
    if deployed:
        store.known_tasks[env.id] = set(TASKS)
    parents: list[Run] = []
    for n in range(count):
        task = rng.choices(TASKS, TASK_WEIGHTS)[0]
        if n < len(INTERNAL_STATUSES):
            status = INTERNAL_STATUSES[n]
            age = dt.timedelta(minutes=rng.uniform(1, 48 * 60))
        else:
            status = rng.choices(HISTORICAL, HISTORICAL_WEIGHTS)[0]
            age = dt.timedelta(minutes=rng.uniform(10, 35 * 24 * 60))
        if status in IN_FLIGHT or status == "DELAYED":
            age = dt.timedelta(minutes=rng.uniform(1, 180))
        created = anchor - age
        run = _make_run(world, env, rng, n, task, status, created, versions, deployed)
        if task == "generate-report" and status == "COMPLETED_SUCCESSFULLY" and rng.random() < 0.5:
            parents.append(run)
    for parent in parents[: max(1, count // 30)]:
        _make_child(world, env, rng, parent, versions, deployed)


def _make_run(
    world: World,
    env: Environment,
    rng: random.Random,
    n: int,
    task: str,
    status: str,
    created: dt.datetime,
    versions: list[tuple[dt.datetime, str]],
    deployed: bool,
    **extra: Any,
) -> Run:
    store: RunStore = world.runs
    version = _version_at(versions, created)
    started = completed = delay_until = expired_at = None
    duration_ms = attempts = 0
    if status == "DELAYED":
        delay_until = world.seeded_at + dt.timedelta(minutes=rng.uniform(60, 3 * 24 * 60))
    elif status == "EXPIRED":
        expired_at = created + dt.timedelta(minutes=10)
        completed = expired_at
    elif status not in NEVER_STARTED:
        started = created + dt.timedelta(milliseconds=rng.uniform(150, 30_000))
        duration_ms = int(rng.lognormvariate(7.5, 1.1))
        attempts = 1 + (rng.random() < 0.15) + (rng.random() < 0.05)
        if status == "RETRYING_AFTER_FAILURE":
            attempts = max(attempts, 2)
        if status in (
            "COMPLETED_SUCCESSFULLY",
            "COMPLETED_WITH_ERRORS",
            "CANCELED",
            "CRASHED",
            "SYSTEM_FAILURE",
            "TIMED_OUT",
            "INTERRUPTED",
        ):
            completed = started + dt.timedelta(milliseconds=duration_ms + rng.uniform(5, 400))
            completed = min(completed, world.seeded_at)
    if status == "CANCELED" and started is None:
        completed = created + dt.timedelta(seconds=rng.uniform(1, 60))
    updated = completed or started or created
    scheduled = task == "nightly-cleanup"
    tags = sorted(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3])))
    payload = (
        {"type": "scheduled", "timestamp": created.isoformat()}
        if scheduled
        else _payload(rng, task, n)
    )
    idem_key = idem_options = None
    if task == "process-payment" and rng.random() < 0.6:
        user_key = f"order-{n}"
        idem_key = hashlib.sha256(user_key.encode()).hexdigest()
        idem_options = {"key": user_key, "scope": "global"}
    elif rng.random() < 0.05:
        idem_key = f"manual-key-{n}"
    metadata = None
    if rng.random() < 0.3:
        metadata = json.dumps(
            {
                "progress": 1.0 if completed else round(rng.random(), 2),
                "step": rng.choice(["fetch", "render", "upload", "done"]),
                "$$streams": ["logs"],
            }
            if rng.random() < 0.2
            else {"progress": round(rng.random(), 2), "label": rng.choice(NAMES)}
        )
    machine = rng.choice(MACHINES)
    cost = round(duration_ms * rng.uniform(0.0000028, 0.0000034), 8) if deployed else 0.0
    fields: dict[str, Any] = dict(
        status=status,
        created_at=created,
        updated_at=updated,
        is_test=rng.random() < 0.1,
        tags=tags,
        payload=json.dumps(payload, ensure_ascii=False),
        started_at=started,
        completed_at=completed,
        delay_until=delay_until,
        expired_at=expired_at,
        ttl="10m" if not deployed else (rng.choice([None, None, "1h", "30m"])),
        idempotency_key=idem_key,
        idempotency_key_options=idem_options,
        idempotency_key_expires_at=(created + dt.timedelta(days=30)) if idem_key else None,
        version=version if started or status in ("COMPLETED_SUCCESSFULLY",) else None,
        locked_to_version=version if deployed else None,
        cost_in_cents=cost,
        base_cost_in_cents=0.0025 if deployed and started else 0.0,
        usage_duration_ms=duration_ms,
        attempt_count=attempts,
        machine=machine,
        region=rng.choice(REGIONS) if deployed else None,
        metadata=metadata,
        error=_error(rng, status, task),
        task_kind="SCHEDULED" if scheduled else "STANDARD",
        schedule=_schedule(world, env) if scheduled else None,
        max_attempts=3,
        max_duration=3600 if deployed else None,
    )
    if status == "COMPLETED_SUCCESSFULLY":
        fields["output"] = json.dumps(_output(rng, task, n), ensure_ascii=False)
    fields.update(extra)
    return store.new_run(env, task, **fields)


def _make_child(
    world: World,
    env: Environment,
    rng: random.Random,
    parent: Run,
    versions: list[tuple[dt.datetime, str]],
    deployed: bool,
) -> Run:
    created = (parent.started_at or parent.created_at) + dt.timedelta(milliseconds=40)
    return _make_run(
        world,
        env,
        rng,
        rng.randrange(100_000),
        "resize-image",
        "COMPLETED_SUCCESSFULLY",
        created,
        versions,
        deployed,
        parent_id=parent.friendly_id,
        depth=1,
        trigger_function="triggerAndWait",
    )


def seed_world(world: World, rng: random.Random) -> None:
    """Runs across the default project's environments (and a few elsewhere)."""
    count = world.run_count
    project = world.default_project
    alice = world.default_user
    for env in world.project_environments(project.ref):
        if env.type == "DEVELOPMENT":
            n = count if env.owner_user_id == alice.id else min(count, 12)
        elif env.type == "PRODUCTION":
            n = count // 5
        elif env.type == "STAGING":
            n = min(count, 15)
        elif env.branch_name:
            n = min(count, 8)
        else:
            n = 0  # the preview parent runs nothing itself
        if n:
            seed_environment(world, env, n, random.Random(f"{world.seed}:runs:{env.id}:{n}"))
    for other in (world.second_project,):
        for env in world.project_environments(other.ref):
            if env.type in ("DEVELOPMENT", "PRODUCTION"):
                seed_environment(
                    world, env, min(count, 10), random.Random(f"{world.seed}:runs:{env.id}")
                )
    _ = rng  # per-environment generators keep environments independent of each other
