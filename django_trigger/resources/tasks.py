"""``client.tasks``: trigger a task, or many in one batch (API.md §6.2, §9).

Payloads are sent as plain JSON (``payloadType`` ``application/json``); the server encodes
them. Idempotency keys are hashed the way the official SDK hashes them (SHA-256 of the key,
the original sent alongside), so a key used from Python and from TypeScript names the same run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.exceptions import (
    BatchNotSealedError,
    InvalidRequestError,
    UnprocessableEntityError,
)
from django_trigger.options import RequestOptionsLike
from django_trigger.types import BatchHandle, SchemaError, TriggerResult

from ._base import (
    MACHINE_PRESETS,
    Auth,
    Resource,
    RetrySafety,
    _cooked,
    duration,
    flow,
    retry_safety,
)
from ._base import task_identifier as task_id
from ._packets import OFFLOAD_THRESHOLD, STORE_TYPE, offload
from .batches import Batches
from .runs import validate_tags

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import TasksWithRawResponse

__all__ = [
    "MAX_BATCH_SIZE",
    "BatchItem",
    "Debounce",
    "Tasks",
    "TriggerOptions",
    "hash_idempotency_key",
]

MAX_BATCH_SIZE = 1000  # runCount limit of POST /api/v3/batches
_PUBLIC_TOKEN = {"x-trigger-jwt": "publicAccessToken"}
_SCOPES = ("run", "attempt", "global")
_DEBOUNCE_MODES = ("leading", "trailing")
EXTERNAL_DEPLOYMENT_ID_MAX_LENGTH = 128  # the SDK's ExternalDeploymentId schema
_TTL_SYNTAX = "a duration like '30s', '10m', '1h' or '2d'"
# The service's answer when a batch idempotency key was used before (the batch table's unique
# key on environment + idempotency key; API.md §4.5).
_BATCH_KEY_USED = "already been created with the same idempotency key"


def hash_idempotency_key(key: str) -> str:
    """The SDK's ``idempotencyKeys.create(key, {scope: "global"})``: a 64-character key is
    used as is, anything else becomes the SHA-256 hex of it."""
    if len(key) == 64:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Debounce:
    """The SDK's ``debounce`` option: triggers with the same ``key`` within ``delay`` are
    folded into one run (``mode`` ``"leading"``, the service's default, keeps the first
    payload; ``"trailing"`` the last), pushed back at most until ``max_delay``."""

    key: str
    delay: str | int | timedelta
    mode: str | None = None
    max_delay: str | int | timedelta | None = None

    def to_wire(self) -> dict[str, Any]:
        # A duration, never a date: the service re-applies it each time the run is pushed.
        if isinstance(self.delay, datetime) or isinstance(self.max_delay, datetime):
            raise InvalidRequestError("debounce delay and max_delay must be durations, not dates")
        wire: dict[str, Any] = {
            "key": _text(self.key, "debounce key", maximum=512),
            "delay": duration(self.delay, "debounce delay"),
        }
        if self.mode is not None:
            if self.mode not in _DEBOUNCE_MODES:
                raise InvalidRequestError(
                    f"debounce mode must be 'leading' or 'trailing', not {self.mode!r}"
                )
            wire["mode"] = self.mode
        if self.max_delay is not None:
            wire["maxDelay"] = duration(self.max_delay, "debounce max_delay")
            if _seconds(wire["maxDelay"]) <= _seconds(wire["delay"]):
                raise InvalidRequestError(
                    f"debounce max_delay ({wire['maxDelay']}) must be longer than its delay "
                    f"({wire['delay']}): with these values every trigger creates its own run"
                )
        return wire


@dataclass(frozen=True, kw_only=True)
class TriggerOptions:
    """The SDK's trigger options, snake_case. Every field is optional."""

    idempotency_key: str | None = None
    # The SDK's default for a plain string key. Outside a task (always, from Python) "run"
    # and "attempt" hash like "global": the SDK adds the run id (and attempt number) to the
    # key material only inside a task. The scope is recorded with the run.
    idempotency_key_scope: str = "run"
    idempotency_key_ttl: str | None = None
    delay: str | timedelta | datetime | None = None
    ttl: str | int | timedelta | None = None
    tags: Sequence[str] | str | None = None
    queue: str | None = None
    concurrency_key: str | None = None
    max_attempts: int | None = None
    max_duration: int | None = None
    metadata: Mapping[str, Any] | None = None
    machine: str | None = None
    priority: int | None = None
    region: str | None = None
    test: bool | None = None
    lock_to_version: str | None = None
    external_deployment_id: str | None = None
    debounce: Debounce | Mapping[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.idempotency_key is not None:
            key = _text(self.idempotency_key, "idempotency_key", maximum=2048)
            options["idempotencyKey"] = hash_idempotency_key(key)
            if self.idempotency_key_scope not in _SCOPES:
                raise InvalidRequestError(
                    "idempotency_key_scope must be 'run', 'attempt' or 'global', not "
                    f"{self.idempotency_key_scope!r}"
                )
            if len(key) != 64:  # the SDK sends a ready-made 64-character key without options
                options["idempotencyKeyOptions"] = {
                    "key": key,
                    "scope": self.idempotency_key_scope,
                }
        if self.idempotency_key_ttl is not None:
            ttl = self.idempotency_key_ttl
            if not isinstance(ttl, str) or not _is_ttl(ttl):
                raise InvalidRequestError(
                    f"idempotency_key_ttl must be {_TTL_SYNTAX} (the API silently uses 30 days "
                    f"for anything else), not {ttl!r}"
                )
            options["idempotencyKeyTTL"] = ttl
        if self.delay is not None:
            options["delay"] = duration(self.delay, "delay")
        if self.ttl is not None:
            options["ttl"] = duration(self.ttl, "ttl")
        if self.tags is not None:
            tags = [self.tags] if isinstance(self.tags, str) else list(self.tags)
            validate_tags(tags)
            options["tags"] = tags
        if self.queue is not None:
            options["queue"] = {"name": _text(self.queue, "queue")}
        if self.concurrency_key is not None:
            options["concurrencyKey"] = _text(self.concurrency_key, "concurrency_key")
        if self.max_attempts is not None:
            options["maxAttempts"] = _positive_int(self.max_attempts, "max_attempts")
        if self.max_duration is not None:
            options["maxDuration"] = _positive_int(self.max_duration, "max_duration")
        if self.metadata is not None:
            if not isinstance(self.metadata, Mapping):
                raise InvalidRequestError("metadata must be a mapping")
            options["metadata"] = dict(self.metadata)
        if self.machine is not None:
            if self.machine not in MACHINE_PRESETS:
                raise InvalidRequestError(
                    f"unknown machine {self.machine!r}; expected: {', '.join(MACHINE_PRESETS)}"
                )
            options["machine"] = self.machine
        if self.priority is not None:
            options["priority"] = _positive_int(self.priority, "priority", minimum=0)
        if self.region is not None:
            options["region"] = _text(self.region, "region")
        if self.test is not None:
            if not isinstance(self.test, bool):
                raise InvalidRequestError("test must be True or False")
            options["test"] = self.test
        if self.lock_to_version is not None:
            options["lockToVersion"] = _text(self.lock_to_version, "lock_to_version")
        if self.external_deployment_id is not None:
            options["externalDeploymentId"] = _text(
                self.external_deployment_id,
                "external_deployment_id",
                maximum=EXTERNAL_DEPLOYMENT_ID_MAX_LENGTH,
            ).strip()
        if self.debounce is not None:
            options["debounce"] = _debounce(self.debounce).to_wire()
        return options


def _debounce(value: Debounce | Mapping[str, Any]) -> Debounce:
    if isinstance(value, Debounce):
        return value
    if not isinstance(value, Mapping):
        raise InvalidRequestError("debounce must be a Debounce or a mapping with key and delay")
    try:
        return Debounce(**value)
    except TypeError as exc:
        raise InvalidRequestError(f"debounce: {exc}") from None


@dataclass(frozen=True, kw_only=True)
class BatchItem:
    """One run of a batch: a task, its payload and its options."""

    task: str
    payload: Any = None
    options: TriggerOptions = field(default_factory=TriggerOptions)


class Tasks(Resource):
    with_raw_response: RawTwin[TasksWithRawResponse]

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        RetrySafety.UNSAFE,
        RetrySafety.IDEMPOTENT,
        why="with an idempotency key the API returns the run it already started; without "
        "one every request that reaches it starts a run; presigning and uploading an "
        "offloaded payload store nothing that a repeat could double",
    )
    @flow  # type: ignore[arg-type]  # mypy: Concatenate[self, ...] with **option_kwargs
    def trigger(
        self,
        task_identifier: str,
        payload: Any = None,
        *,
        options: TriggerOptions | None = None,
        request_options: RequestOptionsLike = None,
        **option_kwargs: Any,
    ) -> Generator[Any, Any, TriggerResult]:
        """Trigger one run of a task. Options may be passed as keywords
        (``tasks.trigger("send-email", {...}, idempotency_key="order-42", delay="10m")``) or
        as a ``TriggerOptions``."""
        opts = _options(options, option_kwargs)
        task = task_id(task_identifier)
        serialised = _serialised(payload)
        wire = opts.to_wire()
        body: dict[str, Any] = {"payload": payload}
        if len(serialised) >= OFFLOAD_THRESHOLD:
            body["payload"] = yield from offload(
                self, serialised, operation="tasks.trigger", request_options=request_options
            )
            wire.update(payloadType=STORE_TYPE, payloadSize=len(serialised))
        if wire:
            body["options"] = wire
        result: TriggerResult = yield self._request(
            "POST",
            build_path("/api/v1/tasks/{}/trigger", (task, "task_identifier")),
            operation="tasks.trigger",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=TriggerResult.from_api,
            merge_headers=_PUBLIC_TOKEN,
            request_options=request_options,
            retry_safety=(
                RetrySafety.DEDUPLICATED if "idempotencyKey" in wire else RetrySafety.UNSAFE
            ),
            unknown_hint=(
                f"list the runs of task {task_identifier!r} created at or after {{sent_at}} "
                "(client.runs.list(task_identifier=..., from_=...)) before triggering again; "
                "pass idempotency_key= to make retries safe"
            ),
        )
        return result

    @retry_safety(
        RetrySafety.DEDUPLICATED,
        RetrySafety.UNSAFE,
        RetrySafety.IDEMPOTENT,
        why="creating the batch is deduplicated by its idempotency key (without one a lost "
        "answer may leave an extra empty batch); its items are deduplicated by index; "
        "offloading a large item's payload stores nothing a repeat could double",
    )
    @flow
    def batch_trigger(
        self,
        items: Sequence[BatchItem | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, BatchHandle]:
        """Trigger many runs (of one or several tasks) as one batch, the way the current SDK
        does: create the batch (``POST /api/v3/batches``), then stream its items as NDJSON.
        With an ``idempotency_key`` the same batch is returned for the same key, and each
        item without its own key gets one derived from the batch key and its index."""
        if not items:
            raise InvalidRequestError("a batch needs at least one item")
        if len(items) > MAX_BATCH_SIZE:
            raise InvalidRequestError(f"a batch holds at most {MAX_BATCH_SIZE} items")
        batch_key = (
            _text(idempotency_key, "idempotency_key", maximum=2048)
            if idempotency_key is not None
            else None
        )
        # Validate every item before creating (or uploading) anything.
        prepared = []
        for index, entry in enumerate(items):
            item = _batch_item(entry, index)
            prepared.append((item, item.options.to_wire(), _serialised(item.payload)))
        lines = []
        tasks = set()
        for index, (item, wire, serialised) in enumerate(prepared):
            tasks.add(item.task)
            payload = item.payload
            if len(serialised) >= OFFLOAD_THRESHOLD:  # as the SDK, before creating the batch
                payload = yield from offload(
                    self,
                    serialised,
                    operation="tasks.batch_trigger",
                    request_options=request_options,
                )
                wire.update(payloadType=STORE_TYPE, payloadSize=len(serialised))
            if batch_key is not None and "idempotencyKey" not in wire:
                parts = f"{batch_key}-{index}"
                wire["idempotencyKey"] = hashlib.sha256(parts.encode()).hexdigest()
                # Like the SDK: a derived key goes without idempotencyKeyOptions.
            line: dict[str, Any] = {
                "index": index,
                "task": item.task,
                "payload": payload,
            }
            if wire:
                line["options"] = wire
            lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False))

        create: dict[str, Any] = {
            "runCount": len(lines),
            "taskIdentifiers": sorted(tasks),
        }
        keyed = dict(create)
        if batch_key is not None:
            keyed["idempotencyKey"] = hash_idempotency_key(batch_key)
            if len(batch_key) != 64:
                keyed["idempotencyKeyOptions"] = {"key": batch_key, "scope": "run"}
        try:
            raw = yield self._create_batch(keyed, request_options)
        except UnprocessableEntityError as exc:
            if not (exc.retried_after_unknown_outcome and _BATCH_KEY_USED in exc.message):
                raise
            # The lost attempt created the batch, but its id never reached us, so its items
            # can never be sent. Put them in a new batch without the batch key: each item
            # keeps the run idempotency key derived from it, so no run is started twice.
            raw = yield self._create_batch(create, request_options, after_refusal=True)
        handle = raw.parse()
        if not handle.is_cached or (
            (yield Batches(self._client).retrieve(handle.id)).status == "PENDING"
        ):
            # A cached batch still PENDING was never sealed (the answer that carried its id
            # was lost before the items were sent): send them; the API deduplicates by index.
            yield from self._stream_items(handle.id, lines, request_options)
        return raw if self._raw else handle

    def _create_batch(
        self,
        body: dict[str, Any],
        request_options: RequestOptionsLike,
        *,
        after_refusal: bool = False,
    ) -> Any:
        """Phase 1: ``POST /api/v3/batches`` (``after_refusal``: the keyless batch that takes
        the items of a keyed batch whose id was lost)."""
        keyed = "idempotencyKey" in body
        advice = (
            "calling again with the same key is refused (its batch, created by a lost attempt, "
            "stays empty); call without idempotency_key: each item keeps its own derived key, "
            "so no run starts twice"
            if after_refusal
            else "calling again is safe (at worst an empty batch remains). Pass "
            "idempotency_key= to make retries of batch_trigger safe"
        )
        raw = self._as_raw()._request(
            "POST",
            "/api/v3/batches",
            operation="tasks.batch_trigger",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=BatchHandle.from_api,
            merge_headers=_PUBLIC_TOKEN,
            request_options=request_options,
            retry_safety=RetrySafety.DEDUPLICATED if keyed else RetrySafety.UNSAFE,
            unknown_hint=(
                "no item was sent, so no run was triggered, but the lost attempt may have "
                f"created an empty batch; {advice}"
            ),
        )
        return raw

    def _stream_items(
        self, batch_id: str, lines: list[str], request_options: RequestOptionsLike
    ) -> Generator[Any, Any, None]:
        """Phase 2: send every item as NDJSON. The server deduplicates items by index, so the
        whole stream is sent again (after the policy's backoff) while it answers
        ``sealed: false``, as the SDK does."""
        path = build_path("/api/v3/batches/{}/items", (batch_id, "batch"))
        body = ("\n".join(lines) + "\n").encode()
        policy = self._client.retry
        for attempt in range(1, policy.max_attempts + 1):
            streamed = yield Resource._request(
                _cooked(self),
                "POST",
                path,
                operation="tasks.batch_trigger",
                auth=Auth.SECRET_KEY_OR_PUBLIC,
                data=body,
                headers={"Content-Type": "application/x-ndjson"},
                parse=_stream_result,
                request_options=request_options,
                retry_safety=RetrySafety.IDEMPOTENT,  # items are deduplicated by index
            )
            if streamed.get("sealed"):
                return
            if attempt < policy.max_attempts:
                yield self._client._sleep(policy.delay(attempt))
        raise BatchNotSealedError(
            f"batch {batch_id} was not sealed: the API accepted "
            f"{streamed.get('itemsAccepted')} of {len(lines)} items",
            status=200,
            body=streamed,
            method="POST",
            path=path,
        )


def _stream_result(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "sealed" not in body:
        raise SchemaError("expected {'id', 'itemsAccepted', 'sealed', ...}")
    return body


def _options(options: TriggerOptions | None, kwargs: Mapping[str, Any]) -> TriggerOptions:
    if options is not None and kwargs:
        raise InvalidRequestError("pass options= or option keywords, not both")
    if options is not None:
        return options
    try:
        return TriggerOptions(**kwargs)
    except TypeError as exc:
        raise InvalidRequestError(f"unknown trigger option: {exc}") from None


def _batch_item(entry: BatchItem | Mapping[str, Any], index: int) -> BatchItem:
    if isinstance(entry, BatchItem):
        item = entry
    elif isinstance(entry, Mapping):
        extra = set(entry) - {"task", "payload", "options"}
        if extra:
            raise InvalidRequestError(f"batch item {index}: unknown key(s) {sorted(extra)}")
        raw_options = entry.get("options") or {}
        opts = (
            raw_options
            if isinstance(raw_options, TriggerOptions)
            else _options(None, dict(raw_options))
        )
        item = BatchItem(task=entry.get("task"), payload=entry.get("payload"), options=opts)  # type: ignore[arg-type]
    else:
        raise InvalidRequestError(f"batch item {index} must be a BatchItem or a mapping")
    task_id(item.task, f"batch item {index}: task")
    return item


def _serialised(payload: Any) -> bytes:
    """The payload as it is sent (compact JSON, UTF-8): its size decides offloading."""
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"the payload must be JSON-serialisable: {exc}") from None
    return text.encode()


def _text(value: object, name: str, *, maximum: int | None = None) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and name == "concurrency_key":
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name} must be a non-empty string")
    if maximum is not None and len(value) > maximum:
        raise InvalidRequestError(f"{name} is at most {maximum} characters")
    return value


def _positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidRequestError(f"{name} must be an integer >= {minimum}")
    return value


_UNIT_SECONDS = {"w": 604800, "d": 86400, "hr": 3600, "h": 3600, "m": 60, "s": 1}


def _seconds(text: str) -> int:
    """Seconds of a duration ``duration()`` accepted (``1h30m``, ``2hr``, ``45s``)."""
    return sum(
        int(number) * _UNIT_SECONDS[unit]
        for number, unit in re.findall(r"(\d+)(w|d|hr|h|m|s)", text)
    )


def _is_ttl(value: str) -> bool:
    return re.fullmatch(r"[0-9]+[smhd]", value) is not None  # not str.isdigit(): "１h" is not
