"""Runs: the stored model (internal statuses), per-environment indexes, list filtering and
cursor pagination, state transitions and rendering in the V1/V2 vocabularies (API.md §6.1, §7).

Tests reach the store as ``emu.state.runs``::

    with emu.state.lock:
        run = emu.state.runs.get("run_…")
        emu.state.runs.complete(run.friendly_id, output={"ok": True})   # play the worker
        emu.state.runs.fail(run.friendly_id, "boom")
        emu.state.runs.set_status(run.friendly_id, "EXECUTING")         # internal status
        emu.state.runs.create("send-email", status="FAILED", created_at=three_days_ago)

Nothing runs on its own: triggered runs stay ``QUEUED`` (``PENDING_VERSION`` in deployed
environments for tasks no version declares) until a test moves them; ``DELAYED`` runs become
``QUEUED`` once the emulated clock passes ``delayUntil``; TTLs are recorded but runs never expire
by themselves.
"""

from __future__ import annotations

import base64
import bisect
import builtins
import copy
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..lifecycle import advance_runs
from ..world import Environment, format_date, to_ms
from .errors import run_fingerprint

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = [
    "FINAL_STATUSES",
    "INTERNAL_STATUSES",
    "Run",
    "RunFilter",
    "RunStore",
    "parse_duration",
]

INTERNAL_STATUSES = (
    "DELAYED",
    "PENDING_VERSION",
    "WAITING_FOR_DEPLOY",
    "PENDING",
    "DEQUEUED",
    "EXECUTING",
    "RETRYING_AFTER_FAILURE",
    "PAUSED",
    "WAITING_TO_RESUME",
    "COMPLETED_SUCCESSFULLY",
    "CANCELED",
    "COMPLETED_WITH_ERRORS",
    "INTERRUPTED",
    "CRASHED",
    "SYSTEM_FAILURE",
    "EXPIRED",
    "TIMED_OUT",
)
V1 = {
    "DELAYED": "DELAYED",
    "PENDING_VERSION": "PENDING_VERSION",
    "WAITING_FOR_DEPLOY": "WAITING_FOR_DEPLOY",
    "PENDING": "QUEUED",
    "DEQUEUED": "EXECUTING",
    "EXECUTING": "EXECUTING",
    "RETRYING_AFTER_FAILURE": "REATTEMPTING",
    "PAUSED": "FROZEN",
    "WAITING_TO_RESUME": "FROZEN",
    "COMPLETED_SUCCESSFULLY": "COMPLETED",
    "CANCELED": "CANCELED",
    "COMPLETED_WITH_ERRORS": "FAILED",
    "INTERRUPTED": "INTERRUPTED",
    "CRASHED": "CRASHED",
    "SYSTEM_FAILURE": "SYSTEM_FAILURE",
    "EXPIRED": "EXPIRED",
    "TIMED_OUT": "TIMED_OUT",
}
V2 = {
    **V1,
    "WAITING_FOR_DEPLOY": "PENDING_VERSION",
    "DEQUEUED": "DEQUEUED",
    "RETRYING_AFTER_FAILURE": "EXECUTING",
    "PAUSED": "WAITING",
    "WAITING_TO_RESUME": "WAITING",
    "INTERRUPTED": "FAILED",
}
V1_STATUSES = (
    "PENDING_VERSION",
    "WAITING_FOR_DEPLOY",
    "QUEUED",
    "EXECUTING",
    "REATTEMPTING",
    "FROZEN",
    "COMPLETED",
    "CANCELED",
    "FAILED",
    "CRASHED",
    "INTERRUPTED",
    "SYSTEM_FAILURE",
    "DELAYED",
    "EXPIRED",
    "TIMED_OUT",
)
V2_STATUSES = (
    "PENDING_VERSION",
    "QUEUED",
    "DEQUEUED",
    "EXECUTING",
    "WAITING",
    "COMPLETED",
    "CANCELED",
    "FAILED",
    "CRASHED",
    "SYSTEM_FAILURE",
    "DELAYED",
    "EXPIRED",
    "TIMED_OUT",
)
# The list filter accepts either vocabulary (API.md §6.1.1).
API_STATUS_TO_INTERNAL: dict[str, tuple[str, ...]] = {
    "DELAYED": ("DELAYED",),
    "PENDING_VERSION": ("PENDING_VERSION",),
    "WAITING_FOR_DEPLOY": ("WAITING_FOR_DEPLOY",),
    "QUEUED": ("PENDING",),
    "DEQUEUED": ("DEQUEUED",),
    "EXECUTING": ("EXECUTING",),
    "REATTEMPTING": ("RETRYING_AFTER_FAILURE",),
    "FROZEN": ("PAUSED", "WAITING_TO_RESUME"),
    "WAITING": ("WAITING_TO_RESUME",),
    "CANCELED": ("CANCELED",),
    "COMPLETED": ("COMPLETED_SUCCESSFULLY",),
    "SYSTEM_FAILURE": ("SYSTEM_FAILURE",),
    "INTERRUPTED": ("INTERRUPTED",),
    "CRASHED": ("CRASHED",),
    "FAILED": ("COMPLETED_WITH_ERRORS",),
    "EXPIRED": ("EXPIRED",),
    "TIMED_OUT": ("TIMED_OUT",),
}
FINAL_STATUSES = frozenset(
    {
        "COMPLETED_SUCCESSFULLY",
        "CANCELED",
        "COMPLETED_WITH_ERRORS",
        "INTERRUPTED",
        "CRASHED",
        "SYSTEM_FAILURE",
        "EXPIRED",
        "TIMED_OUT",
    }
)
# An idempotency key pointing at a run in one of these is cleared and a new run created.
FAILED_STATUSES = frozenset(
    {
        "COMPLETED_WITH_ERRORS",
        "CRASHED",
        "SYSTEM_FAILURE",
        "TIMED_OUT",
        "INTERRUPTED",
        "EXPIRED",
    }
)
MACHINE_PRESETS = (
    "micro",
    "small-1x",
    "small-2x",
    "medium-1x",
    "medium-2x",
    "large-1x",
    "large-2x",
)
TRIGGER_FUNCTIONS = ("trigger", "triggerAndWait", "batchTrigger", "batchTriggerAndWait")
HIDDEN_METADATA_KEYS = ("$$streams", "$$streamsVersion", "$$streamsBaseUrl")
DEFAULT_LIST_PERIOD_MS = 7 * 86_400_000  # the implicit 7-day window (API.md §16)
DEFAULT_DURATION_MS = 1000  # of a run the test helpers finish

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|w|d|hr|h|m|s|y)", re.IGNORECASE)
_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_557_600_000,
}


def parse_duration(text: str) -> int | None:
    """Milliseconds of ``1h30m``, ``2w``, ``30s``, ``7d``… (``None`` when unparsable)."""
    text = text.strip()
    if not text:
        return None
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if text[pos : match.start()].strip():
            return None
        total += float(match.group(1)) * _UNITS_MS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        return None
    return int(total)


@functools.cache
def boolean_helpers(status: str) -> Mapping[str, bool]:
    """``isQueued`` … ``isCancelled`` of a *rendered* status (V1 or V2), API.md §7.2 (computed
    once per status: list pages render them for every run)."""
    queued = status in ("PENDING_VERSION", "DELAYED", "QUEUED", "WAITING_FOR_DEPLOY")
    executing = status in ("DEQUEUED", "EXECUTING", "REATTEMPTING", "FROZEN")
    waiting = status == "WAITING"
    success = status == "COMPLETED"
    failed = status in ("CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "INTERRUPTED")
    return MappingProxyType(
        {
            "isQueued": queued,
            "isExecuting": executing,
            "isWaiting": waiting,
            "isCompleted": success or failed,
            "isSuccess": success,
            "isFailed": failed,
            "isCancelled": status == "CANCELED",
        }
    )


# boolean_helpers as plain dicts, which dict.update copies fastest (a list page's items).
_FLAGS: dict[str, dict[str, bool]] = {}


def _flags(status: str) -> dict[str, bool]:
    flags = _FLAGS[status] = dict(boolean_helpers(status))
    return flags


@functools.lru_cache(maxsize=4096)
def _list_metadata(text: str) -> dict[str, Any] | None:
    """``metadata_object(hide_internal=True)`` of a run whose metadata is ``text``, decoded
    once per distinct text: list pages show the same runs again and again. Shared between
    answers, so it is only ever encoded, never modified."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {k: v for k, v in value.items() if k not in HIDDEN_METADATA_KEYS}


def js_number(value: float) -> float | int:
    """``0`` rather than ``0.0``, as ``JSON.stringify`` writes integral numbers."""
    return int(value) if float(value).is_integer() else value


def encode_cursor(created_ms: int, run_id: str) -> str:
    raw = json.dumps({"c": created_ms, "r": run_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, str] | None:
    """``(createdAtMs, internal id)`` of a composite cursor; ``None`` for anything else (the
    server then treats the value as a legacy bare run id)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeError):
        return None
    if (
        isinstance(data, dict)
        and isinstance(data.get("c"), int)
        and not isinstance(data.get("c"), bool)
        and isinstance(data.get("r"), str)
        and data["r"]
    ):
        return data["c"], data["r"]
    return None


@dataclass
class Run:
    """One run, as the database stores it (internal status, raw packets)."""

    id: str  # internal id; the API shows friendly_id
    environment_id: str
    project_ref: str
    task_identifier: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    is_test: bool = False
    tags: list[str] = field(default_factory=list)
    payload: str | None = None  # the packet as stored
    payload_type: str = "application/json"
    output: str | None = None
    output_type: str = "application/json"
    error: dict[str, Any] | None = None  # TaskRunError
    metadata: str | None = None
    metadata_type: str = "application/json"
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    delay_until: dt.datetime | None = None
    expired_at: dt.datetime | None = None
    ttl: str | None = None
    idempotency_key: str | None = None
    idempotency_key_options: dict[str, Any] | None = None
    idempotency_key_expires_at: dt.datetime | None = None
    version: str | None = None  # worker version that ran it
    locked_to_version: str | None = None
    cost_in_cents: float = 0.0
    base_cost_in_cents: float = 0.0
    usage_duration_ms: int = 0
    attempt_count: int = 0
    depth: int = 0
    parent_id: str | None = None  # friendly ids of related runs
    root_id: str | None = None
    batch_id: str | None = None  # friendly batch id
    trigger_function: str = "trigger"
    schedule: dict[str, Any] | None = None  # {id, externalId?, deduplicationKey?, generator}
    bulk_action_ids: list[str] = field(default_factory=list)
    queue: str = ""
    machine: str = "small-1x"
    region: str | None = None
    concurrency_key: str | None = None
    max_attempts: int | None = None
    max_duration: int | None = None
    priority: int = 0
    replayed_from: str | None = None
    # Stored as sent, not returned by retrieve (the service keeps them on the run too).
    external_deployment_id: str | None = None
    debounce: dict[str, Any] | None = None
    realtime_streams_version: str = "v1"  # the trigger request's header; v1 without it
    realtime_streams: list[str] = field(default_factory=list)  # output streams written to
    task_kind: str = "STANDARD"
    trace_id: str = ""
    span_id: str = ""

    @property
    def friendly_id(self) -> str:
        return "run_" + self.id

    @property
    def created_ms(self) -> int:
        return to_ms(self.created_at)

    @property
    def sort_key(self) -> tuple[int, str]:
        return (self.created_ms, self.id)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def metadata_object(self, hide_internal: bool = False) -> dict[str, Any] | None:
        if self.metadata is None:
            return None
        try:
            value = json.loads(self.metadata)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        if hide_internal:
            value = {k: v for k, v in value.items() if k not in HIDDEN_METADATA_KEYS}
        return value


@dataclass
class RunFilter:
    """The list filters of API.md §6.1.1, parsed; ``None`` = not filtered."""

    statuses: frozenset[str] | None = None  # internal
    tasks: frozenset[str] | None = None
    versions: frozenset[str] | None = None
    tags: frozenset[str] | None = None
    bulk_action: str | None = None
    schedule: str | None = None
    is_test: bool | None = None
    from_ms: int | None = None
    to_ms: int | None = None
    period_ms: int | None = None
    batch: str | None = None
    queues: frozenset[str] | None = None
    machines: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    error_group: str | None = None
    run_ids: frozenset[str] | None = None  # friendly ids (bulk actions by id)
    implicit_window: bool = True  # apply the 7-day default when no time filter is given

    def time_bounds(self, now_ms: int) -> tuple[int | None, int | None]:
        lower: int | None = None
        if self.period_ms is not None:
            lower = now_ms - self.period_ms
        if self.from_ms is not None:
            lower = self.from_ms if lower is None else max(lower, self.from_ms)
        if lower is None and self.to_ms is None and self.period_ms is None and self.implicit_window:
            lower = now_ms - DEFAULT_LIST_PERIOD_MS
        return lower, self.to_ms

    def matches(self, run: Run) -> bool:
        if self.statuses is not None and run.status not in self.statuses:
            return False
        if self.tasks is not None and run.task_identifier not in self.tasks:
            return False
        if self.versions is not None and run.version not in self.versions:
            return False
        if self.tags is not None and not self.tags.intersection(run.tags):
            return False
        if self.bulk_action is not None and self.bulk_action not in run.bulk_action_ids:
            return False
        if self.schedule is not None and (run.schedule or {}).get("id") != self.schedule:
            return False
        if self.is_test is not None and run.is_test != self.is_test:
            return False
        if self.batch is not None and run.batch_id != self.batch:
            return False
        if self.queues is not None and run.queue not in self.queues:
            return False
        if self.machines is not None and run.machine not in self.machines:
            return False
        if self.regions is not None and run.region not in self.regions:
            return False
        if self.error_group is not None and run_fingerprint(run) != (
            self.error_group.removeprefix("error_")
        ):
            return False
        return self.run_ids is None or run.friendly_id in self.run_ids


@dataclass
class RunPage:
    runs: list[Run]
    next: str | None
    previous: str | None


class _EnvIndex:
    """Runs of one environment sorted by (createdAt, id) ascending; listing walks it from the
    newest end, so a page costs O(page + skipped rows), not a sort."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, str]] = []
        self.runs: list[Run] = []

    def add(self, run: Run) -> None:
        key = run.sort_key
        pos = bisect.bisect_left(self.keys, key)
        self.keys.insert(pos, key)
        self.runs.insert(pos, run)

    def __len__(self) -> int:
        return len(self.runs)


class RunStore:
    """All runs, indexed by friendly id and per environment."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, Run] = {}
        self._by_env: dict[str, _EnvIndex] = {}
        # (environment id, task, key) -> friendly run id
        self._idempotency: dict[tuple[str, str, str], str] = {}
        self._delayed: set[str] = set()
        # (environment id, task, debounce key) -> the friendly id of the run it created
        self.debounce_keys: dict[tuple[str, str, str], str] = {}
        self._children: dict[str, list[str]] = {}  # parent friendly id -> child friendly ids
        # Task identifiers each environment's deployed version declares (seeded).
        self.known_tasks: dict[str, set[str]] = {}
        self.known_versions: dict[str, list[str]] = {}

    # -- storage -------------------------------------------------------------------------------

    def add(self, run: Run) -> Run:
        self.by_id[run.friendly_id] = run
        self._by_env.setdefault(run.environment_id, _EnvIndex()).add(run)
        if run.idempotency_key:
            key = (run.environment_id, run.task_identifier, run.idempotency_key)
            self._idempotency[key] = run.friendly_id
        if run.status == "DELAYED":
            self._delayed.add(run.friendly_id)
        if run.parent_id:
            self._children.setdefault(run.parent_id, []).append(run.friendly_id)
        return run

    def get(self, friendly_id: str, environment: Environment | None = None) -> Run | None:
        """A run by ``run_…`` id, optionally only if it belongs to ``environment``."""
        self.tick()
        run = self.by_id.get(friendly_id)
        if run is None or (environment is not None and run.environment_id != environment.id):
            return None
        return run

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Run]:
        return iter(list(self.by_id.values()))

    def in_environment(self, environment_id: str) -> list[Run]:
        index = self._by_env.get(environment_id)
        return list(reversed(index.runs)) if index else []

    def touch(self, run: Run) -> None:
        run.updated_at = self.world.now()

    def tick(self) -> None:
        """Time-based transitions: delayed runs whose time has come are queued; with a
        lifecycle (:mod:`..lifecycle`), runs move on by themselves."""
        if self._delayed:
            now = self.world.now()
            for friendly_id in list(self._delayed):
                run = self.by_id.get(friendly_id)
                if run is None or run.status != "DELAYED":
                    self._delayed.discard(friendly_id)
                    self.world.mark_dirty()
                elif run.delay_until is not None and run.delay_until <= now:
                    run.status = "PENDING"
                    run.updated_at = run.delay_until
                    self._delayed.discard(friendly_id)
                    self.world.mark_dirty()
        advance_runs(self.world)

    # -- listing -------------------------------------------------------------------------------

    def list(
        self,
        environment_id: str,
        flt: RunFilter,
        size: int = 25,
        after: str | None = None,
        before: str | None = None,
    ) -> RunPage:
        """One page, newest first (``page[before]`` wins over ``page[after]``)."""
        self.tick()
        index = self._by_env.get(environment_id) or _EnvIndex()
        lower, upper = flt.time_bounds(self.world.clock.now_ms())
        cursor_value = before if before is not None else after
        backward = before is not None
        cursor = decode_cursor(cursor_value) if cursor_value else None
        legacy = cursor_value if cursor_value and cursor is None else None

        predicate = flt.matches
        if legacy is not None:  # a bare internal run id: compare ids only, as the server does
            base = predicate

            def predicate(run: Run, _base: Callable[[Run], bool] = base) -> bool:
                return _base(run) and ((run.id > legacy) if backward else (run.id < legacy))

        keys, runs = index.keys, index.runs
        found: list[Run] = []
        if not backward:
            start = len(keys) - 1
            if cursor is not None:
                start = bisect.bisect_left(keys, cursor) - 1
            if upper is not None:
                start = min(start, bisect.bisect_right(keys, (upper, "\uffff")) - 1)
            for i in range(start, -1, -1):
                run = runs[i]
                if lower is not None and keys[i][0] < lower:
                    break
                if predicate(run):
                    found.append(run)
                    if len(found) > size:
                        break
            has_more = len(found) > size
            page = found[:size]
            previous = (
                encode_cursor(page[0].created_ms, page[0].id) if cursor_value and page else None
            )
            nxt = encode_cursor(page[-1].created_ms, page[-1].id) if has_more and page else None
        else:
            start = 0
            if cursor is not None:
                start = bisect.bisect_right(keys, cursor)
            if lower is not None:
                start = max(start, bisect.bisect_left(keys, (lower, "")))
            for i in range(start, len(keys)):
                run = runs[i]
                if upper is not None and keys[i][0] > upper:
                    break
                if predicate(run):
                    found.append(run)
                    if len(found) > size:
                        break
            has_more = len(found) > size
            page = list(reversed(found[:size]))  # newest first
            previous = encode_cursor(page[0].created_ms, page[0].id) if has_more and page else None
            nxt = encode_cursor(page[-1].created_ms, page[-1].id) if page else None
        return RunPage(page, nxt, previous)

    def select(self, environment_id: str, flt: RunFilter) -> builtins.list[Run]:
        """Every run of an environment matching ``flt``, newest first (bulk actions)."""
        self.tick()
        index = self._by_env.get(environment_id) or _EnvIndex()
        lower, upper = flt.time_bounds(self.world.clock.now_ms())
        out = []
        for key, run in zip(reversed(index.keys), reversed(index.runs), strict=True):
            if upper is not None and key[0] > upper:
                continue
            if lower is not None and key[0] < lower:
                break
            if flt.matches(run):
                out.append(run)
        return out

    # -- creation ------------------------------------------------------------------------------

    def new_run(self, environment: Environment, task_identifier: str, **fields: Any) -> Run:
        now = fields.pop("created_at", None) or self.world.now()
        internal = self.world.ids.internal("run")
        run = Run(
            id=internal,
            environment_id=environment.id,
            project_ref=environment.project_ref,
            task_identifier=task_identifier,
            status=fields.pop("status", "PENDING"),
            created_at=now,
            updated_at=fields.pop("updated_at", now),
            queue=fields.pop("queue", None) or f"task/{task_identifier}",
            trace_id=hashlib.sha256(internal.encode()).hexdigest()[:32],
            span_id=hashlib.sha256(internal.encode()).hexdigest()[32:48],
            **fields,
        )
        if run.root_id is None and run.parent_id is not None:
            parent = self.by_id.get(run.parent_id)
            run.root_id = (parent.root_id or parent.friendly_id) if parent else run.parent_id
        return self.add(run)

    def create(
        self,
        task_identifier: str,
        *,
        created_at: dt.datetime,
        status: str = "QUEUED",
        environment: str | Environment = "dev",
        branch: str | None = None,
        started_at: dt.datetime | None = None,
        finished_at: dt.datetime | None = None,
        duration_ms: int | None = None,
        delay_until: dt.datetime | None = None,
        payload: Any = None,
        output: Any = None,
        error: str | dict[str, Any] | None = None,
        tags: Iterable[str] = (),
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        is_test: bool = False,
        version: str | None = None,
        machine: str = "small-1x",
        ttl: str | None = None,
    ) -> Run:
        """A run created at ``created_at`` (test helper: put runs in the emulator's past).

        It takes its place in the indexes every list route reads (run list and its cursors,
        TRQL queries, realtime feeds, bulk actions), exactly as if it had been triggered then,
        with an id drawn like the API's. ``status`` is an internal status or an API one that
        names a single internal status (``QUEUED``, ``COMPLETED``, ``FAILED``…).
        ``environment`` is a public slug of the default project (``dev``, ``staging``,
        ``prod``, ``preview`` with ``branch``) or one of ``world.environments``.

        Started runs start at ``started_at`` (default: ``created_at``); finished ones end at
        ``finished_at`` (default: ``duration_ms`` after the start, 1000 ms unless given).
        Every time is an aware datetime (kept to the millisecond), none after the emulator's
        "now" but ``delay_until``, which a ``DELAYED`` run needs in the future. Anything
        inconsistent raises ``ValueError`` (``TypeError`` for a wrong type) and stores nothing.
        """
        with self.world.lock:
            env = self._environment_for(environment, branch)
            fields = _BackdatedRun(self.world.now(), env).check(
                task_identifier,
                created_at=created_at,
                status=status,
                started_at=started_at,
                finished_at=finished_at,
                duration_ms=duration_ms,
                delay_until=delay_until,
                payload=payload,
                output=output,
                error=error,
                tags=tags,
                metadata=metadata,
                idempotency_key=idempotency_key,
                is_test=is_test,
                version=version,
                machine=machine,
                ttl=ttl,
            )
            known = self.known_tasks.get(env.id)
            if (
                known is not None
                and task_identifier not in known
                and fields["status"] not in ("PENDING_VERSION", "WAITING_FOR_DEPLOY")
            ):
                raise ValueError(
                    f"task {task_identifier!r} is not declared by the deployed version of the "
                    f"{env.public_slug} environment (it declares {sorted(known)}); a run of it "
                    "can only be PENDING_VERSION or WAITING_FOR_DEPLOY"
                )
            if fields["idempotency_key"]:
                holder = self.find_by_idempotency_key(
                    env, task_identifier, fields["idempotency_key"]
                )
                if holder is not None:
                    raise ValueError(
                        f"idempotency key {idempotency_key!r} is held by {holder.friendly_id} "
                        f"(a trigger with it would return that run)"
                    )
            self.world.mark_dirty()
            return self.new_run(env, task_identifier, **fields)

    def _environment_for(self, environment: str | Environment, branch: str | None) -> Environment:
        world = self.world
        if isinstance(environment, Environment):
            env = world.environments.get(environment.id)
            if env is not environment:
                raise ValueError(f"environment {environment.id!r} is not one of this world's")
            if branch is not None:
                raise ValueError("branch= goes with an environment slug, not an Environment")
        else:
            slugs = world.environments_by_public_slug(world.default_project.ref)
            found = slugs.get(environment)
            if found is None:
                raise ValueError(
                    f"unknown environment {environment!r}; one of {sorted(slugs)} "
                    "or an Environment of world.environments"
                )
            env = found
            if branch is not None:
                child = world.branch_of(env, branch)
                if child is None:
                    raise ValueError(f"the {environment} environment has no branch {branch!r}")
                env = child
        if env.archived:
            raise ValueError(f"environment {env.id!r} is archived")
        if env.type == "PREVIEW" and env.branch_name is None:
            raise ValueError(
                "the preview environment runs nothing itself: name one of its branches (branch=)"
            )
        return env

    def initial_status(self, environment: Environment, task_identifier: str, delayed: bool) -> str:
        if delayed:
            return "DELAYED"
        if environment.type == "DEVELOPMENT":
            return "PENDING"
        known = self.known_tasks.get(environment.id)
        return "PENDING" if known is None or task_identifier in known else "PENDING_VERSION"

    # -- idempotency (business) ----------------------------------------------------------------

    def find_by_idempotency_key(
        self, environment: Environment, task_identifier: str, key: str
    ) -> Run | None:
        """The live run holding ``key`` for this task, clearing keys that expired or whose run
        failed (API.md §4.5: a new run is then created)."""
        slot = (environment.id, task_identifier, key)
        run = self.by_id.get(self._idempotency.get(slot, ""))
        if run is None:
            self._idempotency.pop(slot, None)
            return None
        expired = (
            run.idempotency_key_expires_at is not None
            and run.idempotency_key_expires_at <= self.world.now()
        )
        if expired or run.status in FAILED_STATUSES:
            self.clear_idempotency_key(run)
            return None
        return run

    def clear_idempotency_key(self, run: Run) -> None:
        slot = (run.environment_id, run.task_identifier, run.idempotency_key or "")
        if self._idempotency.get(slot) == run.friendly_id:
            del self._idempotency[slot]
        run.idempotency_key = None
        run.idempotency_key_expires_at = None

    def reset_idempotency_key(
        self, environment: Environment, task_identifier: str, key: str
    ) -> int:
        """``POST /api/v1/idempotencyKeys/{key}/reset``: clear the key from every run of the
        task in the environment; returns how many runs had it."""
        count = 0
        for run in self.in_environment(environment.id):
            if run.task_identifier == task_identifier and run.idempotency_key == key:
                self.clear_idempotency_key(run)
                count += 1
        self._idempotency.pop((environment.id, task_identifier, key), None)
        return count

    # -- transitions ---------------------------------------------------------------------------

    def cancel(self, run: Run) -> bool:
        """Cancel a run that is not final; final runs are left alone (still a success)."""
        if run.is_final:
            return False
        now = self.world.now()
        run.status = "CANCELED"
        run.completed_at = now
        run.updated_at = now
        run.error = {
            "type": "INTERNAL_ERROR",
            "code": "TASK_RUN_CANCELLED",
            "message": "Task run was cancelled",
        }
        self._delayed.discard(run.friendly_id)
        return True

    def replay(
        self,
        run: Run,
        *,
        region: str | None = None,
        bulk_action_id: str | None = None,
        **overrides: Any,
    ) -> Run:
        """A new run of the same task with the same payload, options and tags, but for
        ``overrides`` (``new_run`` arguments: the replay body's, see handlers/runs.py)."""
        env = self.world.environments[run.environment_id]
        delayed = overrides.get("delay_until") is not None
        arguments: dict[str, Any] = dict(
            status=self.initial_status(env, run.task_identifier, delayed=delayed),
            is_test=run.is_test,
            tags=list(run.tags),
            payload=run.payload,
            payload_type=run.payload_type,
            metadata=run.metadata,
            metadata_type=run.metadata_type,
            ttl=run.ttl,
            machine=run.machine,
            region=region or run.region,
            queue=run.queue,
            concurrency_key=run.concurrency_key,
            max_attempts=run.max_attempts,
            max_duration=run.max_duration,
            locked_to_version=run.locked_to_version,
            task_kind=run.task_kind,
            replayed_from=run.friendly_id,
            bulk_action_ids=[bulk_action_id] if bulk_action_id else [],
        )
        arguments.update(overrides)
        return self.new_run(env, run.task_identifier, **arguments)

    def reschedule(self, run: Run, delay_until: dt.datetime) -> None:
        run.delay_until = delay_until
        self.touch(run)
        self._delayed.add(run.friendly_id)

    def set_status(self, friendly_id: str, status: str) -> Run:
        """Force an internal status (test helper)."""
        if status not in INTERNAL_STATUSES:
            raise ValueError(f"unknown internal status {status!r}; one of {INTERNAL_STATUSES}")
        run = self._require(friendly_id)
        now = self.world.now()
        run.status = status
        run.updated_at = now
        if status in ("DEQUEUED", "EXECUTING") and run.started_at is None:
            run.started_at = now
        if status in FINAL_STATUSES and run.completed_at is None:
            run.completed_at = now
        if status == "DELAYED":
            self._delayed.add(friendly_id)
        return run

    def complete(
        self, friendly_id: str, output: Any = None, *, duration_ms: int = DEFAULT_DURATION_MS
    ) -> Run:
        """Finish a run successfully with ``output`` (test helper: play the worker)."""
        run = self._finish(friendly_id, "COMPLETED_SUCCESSFULLY", duration_ms)
        run.output = json.dumps(output)
        run.output_type = "application/json"
        return run

    def fail(
        self,
        friendly_id: str,
        message: str = "Something went wrong",
        *,
        name: str = "Error",
        duration_ms: int = DEFAULT_DURATION_MS,
    ) -> Run:
        """Finish a run with an error (test helper)."""
        run = self._finish(friendly_id, "COMPLETED_WITH_ERRORS", duration_ms)
        run.error = built_in_error(message, name)
        return run

    def _finish(self, friendly_id: str, status: str, duration_ms: int) -> Run:
        run = self._require(friendly_id)
        now = self.world.now()
        run.status = status
        run.started_at = run.started_at or now - dt.timedelta(milliseconds=duration_ms)
        run.completed_at = now
        run.updated_at = now
        run.usage_duration_ms = duration_ms
        run.attempt_count = max(run.attempt_count, 1)
        self._delayed.discard(friendly_id)
        return run

    def _require(self, friendly_id: str) -> Run:
        run = self.by_id.get(friendly_id)
        if run is None:
            raise KeyError(friendly_id)
        return run

    # -- rendering -----------------------------------------------------------------------------

    def render_status(self, run: Run, v2: bool) -> str:
        return (V2 if v2 else V1)[run.status]

    def render_list_items(
        self, runs: Iterable[Run], v2: bool, viewer_user_id: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """A list page's items. Written out for speed (list pages are the emulator's
        heaviest answers): each environment's ``env`` object is built once per page and
        shared by its items, like the boolean helpers of a status; shared values are only
        ever encoded."""
        statuses = V2 if v2 else V1
        world = self.world
        envs: dict[str, dict[str, Any]] = {}
        items = []
        for run in runs:
            status = statuses[run.status]  # render_status, inline
            item: dict[str, Any] = {
                "id": run.friendly_id,
                "status": status,
                "taskIdentifier": run.task_identifier,
            }
            if run.idempotency_key:
                item["idempotencyKey"] = run.idempotency_key
            if run.version:
                item["version"] = run.version
            item.update(_FLAGS.get(status) or _flags(status))
            item["isTest"] = run.is_test
            item["createdAt"] = format_date(run.created_at)
            item["updatedAt"] = format_date(run.updated_at)
            if run.started_at is not None:  # _optional_dates, inline
                item["startedAt"] = format_date(run.started_at)
            if run.completed_at is not None:
                item["finishedAt"] = format_date(run.completed_at)
            if run.delay_until is not None:
                item["delayedUntil"] = format_date(run.delay_until)
            if run.expired_at is not None:
                item["expiredAt"] = format_date(run.expired_at)
            if run.ttl:
                item["ttl"] = run.ttl
            env_data = envs.get(run.environment_id)
            if env_data is None:
                env = world.environments[run.environment_id]
                env_data = envs[run.environment_id] = {"id": env.id, "name": env.slug}
                if env.type == "DEVELOPMENT":
                    owner = world.user(env.owner_user_id)
                    if owner is not None and owner.id != viewer_user_id:
                        env_data["user"] = owner.display_name
            item["env"] = env_data
            item["tags"] = sorted(run.tags)
            cost, base_cost = run.cost_in_cents, run.base_cost_in_cents  # js_number, inline
            item["costInCents"] = int(cost) if float(cost).is_integer() else cost
            item["baseCostInCents"] = int(base_cost) if float(base_cost).is_integer() else base_cost
            item["durationMs"] = run.usage_duration_ms
            item["depth"] = run.depth
            if run.metadata is not None:
                metadata = _list_metadata(run.metadata)
                if metadata is not None:
                    item["metadata"] = metadata
            item["taskKind"] = run.task_kind
            if run.region:
                item["region"] = run.region
            items.append(item)
        return items

    def _optional_dates(self, run: Run, data: dict[str, Any]) -> None:
        for key, value in (
            ("startedAt", run.started_at),
            ("finishedAt", run.completed_at),
            ("delayedUntil", run.delay_until),
            ("expiredAt", run.expired_at),
        ):
            if value is not None:
                data[key] = format_date(value)

    def render_related(self, run: Run, v2: bool) -> dict[str, Any]:
        """Retrieve-common fields (no payload/output), as ``relatedRuns`` entries."""
        status = self.render_status(run, v2)
        data: dict[str, Any] = {
            "id": run.friendly_id,
            "status": status,
            "taskIdentifier": run.task_identifier,
        }
        key = (run.idempotency_key_options or {}).get("key") or run.idempotency_key
        if key:
            data["idempotencyKey"] = key
        if run.locked_to_version:
            data["version"] = run.locked_to_version
        data.update(boolean_helpers(status))
        data["isTest"] = run.is_test
        data["createdAt"] = format_date(run.created_at)
        data["updatedAt"] = format_date(run.updated_at)
        self._optional_dates(run, data)
        if run.ttl:
            data["ttl"] = run.ttl
        data["tags"] = sorted(run.tags)
        data["costInCents"] = js_number(run.cost_in_cents)
        data["baseCostInCents"] = js_number(run.base_cost_in_cents)
        data["durationMs"] = run.usage_duration_ms
        metadata = run.metadata_object()
        if metadata is not None:
            data["metadata"] = metadata
        if run.region:
            data["region"] = run.region
        data["depth"] = run.depth
        data["triggerFunction"] = run.trigger_function
        if run.batch_id:
            data["batchId"] = run.batch_id
        return data

    def render_retrieve(
        self, run: Run, v2: bool, *, include_packets: bool = True, base_url: str = ""
    ) -> dict[str, Any]:
        data = self.render_related(run, v2)
        if include_packets:
            payload = decode_packet(run.payload, run.payload_type)
            if payload is not _OFFLOADED and run.payload is not None:
                data["payload"] = payload
            elif payload is _OFFLOADED:
                data["payloadPresignedUrl"] = self._presigned(run, run.payload, base_url)
            if run.status == "COMPLETED_SUCCESSFULLY" and run.output is not None:
                output = decode_packet(run.output, run.output_type)
                if output is _OFFLOADED:
                    data["outputPresignedUrl"] = self._presigned(run, run.output, base_url)
                else:
                    data["output"] = output
        error = render_error(run.error)
        if error is not None:
            data["error"] = error
        if run.schedule:
            data["schedule"] = copy.deepcopy(run.schedule)
        related: dict[str, Any] = {}
        root = self.by_id.get(run.root_id) if run.root_id else None
        parent = self.by_id.get(run.parent_id) if run.parent_id else None
        if root is not None:
            related["root"] = self.render_related(root, v2)
        if parent is not None:
            related["parent"] = self.render_related(parent, v2)
        related["children"] = [self.render_related(child, v2) for child in self.children_of(run)]
        data["relatedRuns"] = related
        data["attemptCount"] = run.attempt_count
        data["attempts"] = []
        return data

    def children_of(self, run: Run) -> builtins.list[Run]:
        children = (self.by_id.get(i) for i in self._children.get(run.friendly_id, ()))
        return sorted((c for c in children if c is not None), key=lambda r: r.sort_key)

    def _presigned(self, run: Run, storage_path: str | None, base_url: str) -> str:
        """A GET presigned URL of an ``application/store`` packet (its data is the storage
        path, possibly ``<protocol>://``-prefixed)."""
        env = self.world.environments[run.environment_id]
        path = (storage_path or "").split("://", 1)[-1]
        return self.world.packets.presign(base_url, self.world.packets.key(env, path), "GET")

    def render_execution_result(self, run: Run) -> dict[str, Any]:
        """``TaskRunExecutionResult`` (API.md §7.5) of a finished run."""
        if run.status == "COMPLETED_SUCCESSFULLY":
            result: dict[str, Any] = {"ok": True, "id": run.friendly_id}
            if run.output is not None:
                result["output"] = run.output
            result["outputType"] = run.output_type
        else:
            result = {
                "ok": False,
                "id": run.friendly_id,
                "error": copy.deepcopy(run.error) or _final_status_error(run.status),
            }
        result["usage"] = {"durationMs": run.usage_duration_ms}
        result["taskIdentifier"] = run.task_identifier
        return result


# What a run created by RunStore.create went through, by internal status.
_NEVER_STARTED = frozenset(
    {"DELAYED", "PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "EXPIRED"}
)
_ERROR_STATUSES = FINAL_STATUSES - {"COMPLETED_SUCCESSFULLY"}
_ERROR_TYPES = ("BUILT_IN_ERROR", "STRING_ERROR", "CUSTOM_ERROR", "INTERNAL_ERROR")


def _internal_status(status: str) -> str:
    if status in INTERNAL_STATUSES:
        return status
    internal = API_STATUS_TO_INTERNAL.get(status)
    if internal is not None and len(internal) == 1:
        return internal[0]
    if internal is not None:
        raise ValueError(f"status {status!r} stands for {' or '.join(internal)}: name one")
    raise ValueError(
        f"unknown status {status!r}; an internal status ({', '.join(INTERNAL_STATUSES)}) or an "
        "API status naming one (QUEUED, COMPLETED, FAILED, REATTEMPTING, WAITING)"
    )


def built_in_error(message: str, name: str = "Error") -> dict[str, Any]:
    """The TaskRunError of a task that threw ``new Error(message)`` (fail()'s)."""
    return {
        "type": "BUILT_IN_ERROR",
        "name": name,
        "message": message,
        "stackTrace": f"{name}: {message}\n    at run (src/trigger/task.ts:12:11)",
    }


def _json(value: Any, name: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be JSON-serialisable ({exc})") from None


class _BackdatedRun:
    """The checks of ``RunStore.create``: its arguments -> ``new_run`` fields."""

    def __init__(self, now: dt.datetime, environment: Environment) -> None:
        self.now = now
        self.environment = environment

    def when(self, value: Any, name: str, *, future: bool = False) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
        if value.utcoffset() is None:
            raise ValueError(
                f"{name} must be an aware datetime, not the naive {value.isoformat()} "
                "(e.g. django.utils.timezone.now() - timedelta(days=3))"
            )
        value = value.astimezone(dt.timezone.utc)
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)  # as API dates
        if not future and value > self.now:
            raise ValueError(
                f"{name} {format_date(value)} is after the emulator's now "
                f"({format_date(self.now)}): runs are created in the past; move emu.clock "
                "to get later ones"
            )
        return value

    def check(
        self,
        task_identifier: str,
        *,
        created_at: Any,
        status: str,
        started_at: Any,
        finished_at: Any,
        duration_ms: Any,
        delay_until: Any,
        payload: Any,
        output: Any,
        error: Any,
        tags: Any,
        metadata: Any,
        idempotency_key: Any,
        is_test: Any,
        version: Any,
        machine: Any,
        ttl: Any,
    ) -> dict[str, Any]:
        from .triggering import MAX_TAG_LENGTH, MAX_TAGS, idempotency_expiry  # imports runs

        if not isinstance(task_identifier, str) or not task_identifier.strip():
            raise ValueError(f"task_identifier must be a task id, not {task_identifier!r}")
        status = _internal_status(status)
        created = self.when(created_at, "created_at")
        if created is None:
            raise TypeError("created_at is required (an aware datetime)")
        started = self.when(started_at, "started_at")
        finished = self.when(finished_at, "finished_at")
        delay = self.when(delay_until, "delay_until", future=True)
        if duration_ms is not None and (
            isinstance(duration_ms, bool) or not isinstance(duration_ms, int)
        ):
            raise TypeError(f"duration_ms must be a whole number of ms, not {duration_ms!r}")
        if duration_ms is not None and duration_ms < 0:
            raise ValueError(f"duration_ms must be 0 or more, not {duration_ms}")
        if ttl is not None and (not isinstance(ttl, str) or parse_duration(ttl) is None):
            raise ValueError(f"ttl must be a duration such as '10m' or '1h', not {ttl!r}")
        if ttl is None and self.environment.type == "DEVELOPMENT":
            ttl = "10m"  # as the trigger route gives dev runs

        # Which times the status implies.
        final = status in FINAL_STATUSES
        if status in _NEVER_STARTED and started is not None:
            raise ValueError(f"this {status} run never started: no started_at")
        if status not in ("CANCELED", *_NEVER_STARTED) and started is None:
            started = created
        if started is not None and started < created:
            raise ValueError(
                f"started_at {format_date(started)} is before created_at {format_date(created)}"
            )
        if started is None and duration_ms is not None:
            raise ValueError(f"a run that never started has no duration_ms ({status})")
        if not final and (finished is not None or duration_ms is not None):
            raise ValueError(
                f"this {status} run has not finished: no finished_at or duration_ms "
                "(finished statuses: " + ", ".join(sorted(FINAL_STATUSES)) + ")"
            )
        if status == "DELAYED":
            if delay is None or delay <= self.now:
                raise ValueError(
                    "a DELAYED run needs delay_until after the emulator's now "
                    f"({format_date(self.now)}); a past one would have queued it"
                )
        elif delay is not None:
            raise ValueError(f"delay_until is for DELAYED runs, not {status}")
        expired_at = None
        if final and finished is None:
            if status == "EXPIRED":
                if ttl is None:
                    raise ValueError("an EXPIRED run needs its ttl (or finished_at)")
                finished = created + dt.timedelta(milliseconds=parse_duration(ttl) or 0)
            else:
                step = DEFAULT_DURATION_MS if duration_ms is None else duration_ms
                finished = (started or created) + dt.timedelta(milliseconds=step)
            if finished > self.now:
                raise ValueError(
                    f"this {status} run would finish at {format_date(finished)}, after the "
                    f"emulator's now ({format_date(self.now)}): give an earlier created_at "
                    "or started_at, a shorter duration_ms, or finished_at"
                )
        if finished is not None and finished < (started or created):
            raise ValueError(
                f"finished_at {format_date(finished)} is before the run "
                f"{'started' if started else 'was created'} ({format_date(started or created)})"
            )
        usage_ms = 0
        if started is not None and finished is not None:
            wall_ms = to_ms(finished) - to_ms(started)
            if duration_ms is not None and duration_ms > wall_ms:
                raise ValueError(
                    f"duration_ms {duration_ms} is longer than started_at..finished_at "
                    f"({wall_ms} ms)"
                )
            usage_ms = wall_ms if duration_ms is None else duration_ms
        if status == "EXPIRED":
            expired_at = finished

        # What the run carries.
        if output is not None and status != "COMPLETED_SUCCESSFULLY":
            raise ValueError(f"output is for COMPLETED_SUCCESSFULLY runs, not {status}")
        if error is not None and status not in _ERROR_STATUSES:
            raise ValueError(
                "error is for runs that ended without success "
                f"({', '.join(sorted(_ERROR_STATUSES))}), not {status}"
            )
        stored_error: dict[str, Any] | None = None
        if isinstance(error, str):
            stored_error = built_in_error(error)
        elif isinstance(error, dict):
            if error.get("type") not in _ERROR_TYPES:
                raise ValueError(
                    f"error must be a TaskRunError whose type is one of {_ERROR_TYPES}"
                )
            stored_error = json.loads(_json(error, "error"))
        elif error is not None:
            raise TypeError(f"error must be a message or a TaskRunError dict, not {error!r}")
        elif status == "COMPLETED_WITH_ERRORS":
            stored_error = built_in_error("Something went wrong")
        elif status in _ERROR_STATUSES:
            stored_error = _final_status_error(status)
        tag_list = [tags] if isinstance(tags, str) else list(tags)
        for tag in tag_list:
            if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_LENGTH:
                raise ValueError(
                    f"tags must be non-empty strings of at most {MAX_TAG_LENGTH} characters, "
                    f"not {tag!r}"
                )
        tag_list = list(dict.fromkeys(tag_list))
        if len(tag_list) > MAX_TAGS:
            raise ValueError(f"a run has at most {MAX_TAGS} tags, not {len(tag_list)}")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str)
            or not idempotency_key
            or len(idempotency_key) > 2048
        ):
            raise ValueError(
                "idempotency_key must be a non-empty string of at most 2048 characters"
            )
        # Stored as the SDK and the client send a key: 64 characters as is, anything else as
        # its SHA-256 with the key itself in the options (what retrieve shows).
        stored_key, key_options = idempotency_key, None
        if idempotency_key is not None and len(idempotency_key) != 64:
            stored_key = hashlib.sha256(idempotency_key.encode()).hexdigest()
            key_options = {"key": idempotency_key, "scope": "run"}
        if not isinstance(is_test, bool):
            raise TypeError(f"is_test must be a bool, not {is_test!r}")
        if version is not None and not isinstance(version, str):
            raise TypeError(f"version must be a string such as '20250101.1', not {version!r}")
        if machine not in MACHINE_PRESETS:
            raise ValueError(f"unknown machine {machine!r}; one of {', '.join(MACHINE_PRESETS)}")
        return {
            "status": status,
            "created_at": created,
            "updated_at": finished or started or created,
            "started_at": started,
            "completed_at": finished,
            "delay_until": delay,
            "expired_at": expired_at,
            "ttl": ttl,
            "payload": None if payload is None else _json(payload, "payload"),
            "output": None if output is None else _json(output, "output"),
            "error": stored_error,
            "tags": tag_list,
            "metadata": None if metadata is None else _json(metadata, "metadata"),
            "idempotency_key": stored_key,
            "idempotency_key_options": key_options,
            "idempotency_key_expires_at": (
                idempotency_expiry(None, created) if idempotency_key else None
            ),
            "is_test": is_test,
            "version": version,
            "machine": machine,
            "usage_duration_ms": usage_ms,
            "attempt_count": 1 if started is not None else 0,
        }


_OFFLOADED = object()


def decode_packet(data: str | None, data_type: str) -> Any:
    """The JSON value of a stored packet (``application/store`` packets are offloaded)."""
    if data is None:
        return None
    if data_type == "application/store":
        return _OFFLOADED
    if data_type == "application/json":
        try:
            return json.loads(data)
        except ValueError:
            return data
    if data_type == "application/super+json":
        try:
            value = json.loads(data)
        except ValueError:
            return data
        return value.get("json") if isinstance(value, dict) else value
    return data


def render_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """The retrieve ``error`` (``{message, name?, stackTrace?}``) of a TaskRunError."""
    if not error:
        return None
    kind = error.get("type")
    if kind == "BUILT_IN_ERROR":
        out = {"message": error.get("message", ""), "name": error.get("name", "Error")}
        if error.get("stackTrace"):
            out["stackTrace"] = error["stackTrace"]
        return out
    if kind in ("CUSTOM_ERROR", "STRING_ERROR"):
        return {"message": str(error.get("raw", ""))}
    if kind == "INTERNAL_ERROR":
        out = {"message": f"trigger.dev internal error ({error.get('code', 'UNKNOWN')})"}
        if error.get("stackTrace"):
            out["stackTrace"] = error["stackTrace"]
        return out
    return {"message": str(error.get("message", ""))}


# A final status -> the internal error code the engine gives it (runStatusFromError read
# backwards). INTERRUPTED is an engine V1 status with no code of its own: an aborted execution.
FINAL_STATUS_ERROR_CODES = {
    "CANCELED": "TASK_RUN_CANCELLED",
    "TIMED_OUT": "MAX_DURATION_EXCEEDED",
    "CRASHED": "TASK_RUN_CRASHED",
    "SYSTEM_FAILURE": "UNSPECIFIED_ERROR",
    "INTERRUPTED": "TASK_EXECUTION_ABORTED",
}


def _final_status_error(status: str) -> dict[str, Any]:
    """The error of a run that ended in ``status`` without one of its own. Codes are the SDK's
    TaskRunErrorCodes (tests/emulator/test_error_codes.py checks them); an expired run carries
    the TTL system's string error, as the real engine writes it."""
    if status == "EXPIRED":
        return {"type": "STRING_ERROR", "raw": "Run expired because the TTL was reached"}
    return {
        "type": "INTERNAL_ERROR",
        "code": FINAL_STATUS_ERROR_CODES.get(status, "UNSPECIFIED_ERROR"),
    }
