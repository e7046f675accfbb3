"""Turning a trigger request (API.md §9.1) or a batch item (§9.2) into a run: option
validation, delay/TTL parsing, run idempotency keys (§4.5) and the public access token the
trigger routes return in ``x-trigger-jwt``."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..jwt import public_access_token
from ..validation import Checker, received_type
from ..world import Environment, World, parse_date
from .runs import MACHINE_PRESETS, Run, RunStore, parse_duration

__all__ = ["TriggerOutcome", "check_options", "idempotency_expiry", "jwt_headers", "trigger_run"]

MAX_TAGS = 10
MAX_TAG_LENGTH = 128
IDEMPOTENCY_TTL = re.compile(r"^(\d+)([smhd])$")
DEFAULT_IDEMPOTENCY_TTL = dt.timedelta(days=30)
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
IDEMPOTENCY_SCOPES = ("run", "attempt", "global")


@dataclass
class TriggerOutcome:
    run: Run
    cached: bool


def stringify_duration(seconds: int) -> str:
    """``3600`` → ``1h``, ``5430`` → ``1h30m30s`` (how numeric TTLs are stored)."""
    if seconds <= 0:
        return "0s"
    out = ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def check_options(check: Checker, options: Any, prefix: list[str | int]) -> None:
    """Schema checks of ``options`` (zod ``TriggerTaskRequestBody.options``)."""
    if options is None or options == {}:
        return
    if not isinstance(options, dict):
        check.add(prefix, f"Expected object, received {received_type(options)}", "invalid_type")
        return
    sub = Checker(prefix)
    for key in ("idempotencyKey",):
        sub.string(options, key, required=False, max_length=2048)
    sub.string(options, "externalDeploymentId", required=False, max_length=128)
    for key in (
        "idempotencyKeyTTL",
        "lockToVersion",
        "region",
        "metadataType",
        "payloadType",
        "parentRunId",
        "bulkActionId",
    ):
        sub.string(options, key, required=False)
    if "delay" in options and not isinstance(options["delay"], str):
        sub.add(
            ["delay"],
            "Expected string, received " + received_type(options["delay"]),
            "invalid_type",
        )
    ttl = options.get("ttl")
    if ttl is not None and not (
        isinstance(ttl, str)
        or (isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl >= 0)
    ):
        sub.add(["ttl"], "Invalid input", "invalid_union")
    if "tags" in options:
        sub.string_or_list(options, "tags", max_length=MAX_TAG_LENGTH)
    if "machine" in options:
        sub.enum(options, "machine", MACHINE_PRESETS, required=False)
    for key in ("maxAttempts", "priority", "payloadSize"):
        sub.number(options, key, required=False, integer=key != "priority")
    sub.number(options, "maxDuration", required=False)
    sub.boolean(options, "test")
    sub.boolean(options, "resumeParentOnCompletion")
    key_options = options.get("idempotencyKeyOptions")
    if key_options is not None:
        if not isinstance(key_options, dict):
            sub.add(
                ["idempotencyKeyOptions"],
                "Expected object, received " + received_type(key_options),
                "invalid_type",
            )
        else:
            sub.string(key_options, "key", path=["idempotencyKeyOptions", "key"])
            sub.enum(
                key_options, "scope", IDEMPOTENCY_SCOPES, path=["idempotencyKeyOptions", "scope"]
            )
    debounce = options.get("debounce")
    if debounce is not None:
        if not isinstance(debounce, dict):
            sub.add(
                ["debounce"], "Expected object, received " + received_type(debounce), "invalid_type"
            )
        else:
            sub.string(debounce, "key", max_length=512, path=["debounce", "key"])
            sub.string(debounce, "delay", path=["debounce", "delay"])
            sub.enum(
                debounce, "mode", ("leading", "trailing"), required=False, path=["debounce", "mode"]
            )
            sub.string(debounce, "maxDelay", required=False, path=["debounce", "maxDelay"])
    queue = options.get("queue")
    if queue is not None and not (isinstance(queue, dict) and isinstance(queue.get("name"), str)):
        sub.add(["queue", "name"], "Required", "invalid_type")
    concurrency_key = options.get("concurrencyKey")
    if concurrency_key is not None and (
        isinstance(concurrency_key, bool) or not isinstance(concurrency_key, (str, int, float))
    ):
        sub.add(["concurrencyKey"], "Invalid input", "invalid_union")
    if (
        "metadata" in options
        and options["metadata"] is not None
        and not isinstance(options["metadata"], (dict, list, str, int, float, bool))
    ):
        sub.add(["metadata"], "Invalid input")
    check.issues += sub.issues


def delay_until_of(value: Any, now: dt.datetime) -> dt.datetime | None:
    """A delay string or ISO date; past or unparsable values are silently ignored."""
    if not isinstance(value, str) or not value.strip():
        return None
    ms = parse_duration(value)
    if ms is not None:
        return now + dt.timedelta(milliseconds=ms) if ms > 0 else None
    parsed = parse_date(value) if not value.strip().isdigit() else None
    if parsed is None or parsed <= now:
        return None
    return parsed


def idempotency_expiry(ttl: Any, now: dt.datetime) -> dt.datetime:
    """When a run idempotency key expires: ``^\\d+[smhd]$`` TTLs, anything else 30 days."""
    if isinstance(ttl, str):
        match = IDEMPOTENCY_TTL.fullmatch(ttl)  # JS "$" is the end of the string
        if match:
            return now + dt.timedelta(seconds=int(match.group(1)) * SECONDS[match.group(2)])
    return now + DEFAULT_IDEMPOTENCY_TTL


def packet_text(payload: Any, payload_type: str) -> str | None:
    if payload is None:
        return None
    if payload_type == "application/json":
        return json.dumps(payload, ensure_ascii=False)
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)


def trigger_run(
    world: World,
    environment: Environment,
    task_identifier: str,
    payload: Any,
    options: dict[str, Any] | None,
    *,
    idempotency_key: str | None = None,
    idempotency_key_ttl: str | None = None,
    batch_id: str | None = None,
    trigger_function: str | None = None,
    streams_version: str | None = None,
) -> TriggerOutcome:
    """Create a run (or return the live run holding the idempotency key). Raises 422 for
    service validation failures (too many tags). Call with ``world.lock`` held."""
    options = dict(options or {})
    store: RunStore = world.runs
    now = world.now()

    tags_value = options.get("tags")
    tags = [tags_value] if isinstance(tags_value, str) else list(tags_value or [])
    tags = list(dict.fromkeys(t for t in tags if t.strip()))
    if len(tags) > MAX_TAGS:
        raise errors.api_error(
            422, f"Runs can only have {MAX_TAGS} tags, you're trying to set {len(tags)}."
        )

    key = idempotency_key or options.get("idempotencyKey") or None
    key_ttl = idempotency_key_ttl or options.get("idempotencyKeyTTL")
    if key:
        existing = store.find_by_idempotency_key(environment, task_identifier, key)
        if existing is not None:
            return TriggerOutcome(existing, cached=True)

    debounce = options.get("debounce")
    delay_until = delay_until_of(options.get("delay") or (debounce or {}).get("delay"), now)
    if debounce:
        if delay_until is None:
            raise errors.api_error(
                422, f"Debounce requires a valid delay duration. Provided: {debounce['delay']}"
            )
        debounced = _debounce(
            store, environment, task_identifier, debounce, options, tags, payload, now
        )
        if debounced is not None:
            return TriggerOutcome(debounced, cached=False)  # the service says isCached: false

    ttl = options.get("ttl")
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        ttl = stringify_duration(int(ttl))
    if not ttl and environment.type == "DEVELOPMENT":
        ttl = "10m"
    payload_type = options.get("payloadType") or "application/json"
    metadata = options.get("metadata")
    parent = store.get(options["parentRunId"]) if options.get("parentRunId") else None
    resume = bool(options.get("resumeParentOnCompletion"))
    if trigger_function is None:
        trigger_function = "triggerAndWait" if resume and parent else "trigger"
    queue = options.get("queue") or {}
    concurrency_key = options.get("concurrencyKey")
    locked = options.get("lockToVersion") or None
    run = store.new_run(
        environment,
        task_identifier,
        status=store.initial_status(environment, task_identifier, delay_until is not None),
        is_test=bool(options.get("test")),
        tags=tags,
        payload=packet_text(payload, payload_type),
        payload_type=payload_type,
        metadata=(
            json.dumps(metadata, ensure_ascii=False)
            if isinstance(metadata, (dict, list))
            else metadata
            if isinstance(metadata, str)
            else None
        ),
        metadata_type=options.get("metadataType") or "application/json",
        delay_until=delay_until,
        ttl=ttl or None,
        idempotency_key=key,
        idempotency_key_options=options.get("idempotencyKeyOptions") if key else None,
        idempotency_key_expires_at=idempotency_expiry(key_ttl, now) if key else None,
        locked_to_version=locked,
        version=locked,
        machine=options.get("machine") or "small-1x",
        region=options.get("region"),
        queue=queue.get("name") if isinstance(queue, dict) and queue.get("name") else None,
        concurrency_key=str(concurrency_key) if concurrency_key is not None else None,
        max_attempts=options.get("maxAttempts"),
        max_duration=options.get("maxDuration"),
        priority=int(options.get("priority") or 0),
        parent_id=parent.friendly_id if parent else None,
        depth=(parent.depth + 1) if parent else 0,
        batch_id=batch_id,
        trigger_function=trigger_function,
        bulk_action_ids=[options["bulkActionId"]] if options.get("bulkActionId") else [],
        external_deployment_id=options.get("externalDeploymentId") or None,
        debounce=options.get("debounce"),
        realtime_streams_version=streams_version or "v1",
    )
    if debounce:
        store.debounce_keys[(environment.id, task_identifier, debounce["key"])] = run.friendly_id
    return TriggerOutcome(run, cached=False)


def _debounce(
    store: RunStore,
    environment: Environment,
    task_identifier: str,
    debounce: dict[str, Any],
    options: dict[str, Any],
    tags: list[str],
    payload: Any,
    now: dt.datetime,
) -> Run | None:
    """The run engine's DebounceSystem: a trigger whose debounce key (per environment and
    task) names a run still DELAYED pushes that run back to now + ``delay`` (never earlier)
    instead of creating one; ``trailing`` mode also replaces its payload, metadata, tags,
    maxAttempts, maxDuration and machine. Past ``maxDelay`` from the run's creation a new run
    is created (the emulator has no server-wide ceiling). ``None``: create a new run."""
    delay_ms = parse_duration(debounce["delay"])
    if delay_ms is None:
        raise errors.api_error(
            422,
            f"Invalid debounce delay: {debounce['delay']}. debounce.delay must be a "
            "duration, not a date, because it is re-applied every time the run is pushed back. "
            "Supported formats: {number}s, {number}m, {number}h or {number}hr, {number}d, "
            '{number}w, optionally combined (for example "2h30m").',
        )
    max_ms = None
    if debounce.get("maxDelay") is not None:
        max_ms = parse_duration(debounce["maxDelay"])
        if max_ms is None:
            raise errors.api_error(
                422,
                f"Invalid debounce maxDelay: {debounce['maxDelay']}. Supported formats: "
                "{number}s, {number}m, {number}h or {number}hr, {number}d, {number}w, "
                'optionally combined (for example "2h30m").',
            )
        if max_ms <= delay_ms:
            raise errors.api_error(
                422,
                f"debounce.maxDelay ({debounce['maxDelay']}) must be longer than "
                f"debounce.delay ({debounce['delay']}). A debounced run is only pushed back "
                "while it stays inside maxDelay, so with these values every trigger would "
                "create its own run.",
            )
    existing_id = store.debounce_keys.get((environment.id, task_identifier, debounce["key"]))
    run = store.by_id.get(existing_id or "")
    if run is None or run.status not in ("DELAYED", "PENDING_VERSION"):
        return None
    new_delay = now + dt.timedelta(milliseconds=delay_ms)
    if max_ms is not None and new_delay > run.created_at + dt.timedelta(milliseconds=max_ms):
        return None
    if run.delay_until is None or new_delay > run.delay_until:
        store.reschedule(run, new_delay)
    if debounce.get("mode") == "trailing":
        payload_type = options.get("payloadType") or "application/json"
        run.payload, run.payload_type = packet_text(payload, payload_type), payload_type
        metadata = options.get("metadata")
        if metadata is not None:
            run.metadata = (
                metadata if isinstance(metadata, str) else json.dumps(metadata, ensure_ascii=False)
            )
            run.metadata_type = options.get("metadataType") or "application/json"
        if "tags" in options:
            run.tags = tags
        for option, attribute in (
            ("maxAttempts", "max_attempts"),
            ("maxDuration", "max_duration"),
            ("machine", "machine"),
        ):
            if options.get(option) is not None:
                setattr(run, attribute, options[option])
        store.touch(run)
    return run


def jwt_headers(world: World, environment: Environment, scopes: list[str]) -> dict[str, str]:
    """``x-trigger-jwt`` / ``x-trigger-jwt-claims`` signed with the environment's key."""
    token, claims = public_access_token(
        environment.api_key, environment.id, scopes, world.clock.now_ms() // 1000
    )
    return {
        "x-trigger-jwt": token,
        "x-trigger-jwt-claims": json.dumps(claims, separators=(",", ":")),
    }
