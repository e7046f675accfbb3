"""``client.runs``: list, retrieve and act on runs (API.md §6.1)."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path, segment
from django_trigger.credentials import TokenKind, normalize_environment
from django_trigger.exceptions import ConfigurationRefusalError, InvalidRequestError, NotFoundError
from django_trigger.options import RequestOptionsLike
from django_trigger.pagination import CursorPage
from django_trigger.types import (
    IdResponse,
    MessageResponse,
    Run,
    RunListItem,
    RunStatus,
    SchemaError,
    TaskRunExecutionResult,
)
from django_trigger.validators import MAX_TAG_LENGTH, MAX_TAGS

from . import _packets as packets
from ._base import (
    MACHINE_PRESETS,
    MAX_PAGE_SIZE,
    POLL_INTERVAL,
    POLL_MAX_ATTEMPTS,
    Auth,
    QueueFilter,
    Resource,
    RetrySafety,
    _cooked,
    boolean,
    comma_list,
    cursor_params,
    duration,
    epoch_ms,
    flow,
    machine_filter,
    nonempty,
    period_filter,
    poll_until,
    queue_filter,
    retry_safety,
    status_filter,
    task_filter,
)
from .realtime import DEFAULT_TIMEOUT as REALTIME_TIMEOUT
from .realtime import SKIPPABLE_COLUMNS, RunSubscription

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import RunsWithRawResponse

__all__ = ["MACHINE_PRESETS", "MAX_PAGE_SIZE", "MAX_TAGS", "Runs"]

# filter[env] on the PAT project runs endpoint takes the stored slugs ("staging" → 500).
_PROJECT_RUNS_ENV = {"dev": "dev", "staging": "stg", "prod": "prod", "preview": "preview"}

# runs.replay(payload=...) not given (None is a payload)
NOT_GIVEN: Any = type("NotGiven", (), {"__repr__": lambda self: "NOT_GIVEN"})()


class Runs(Resource):
    with_raw_response: RawTwin[RunsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        task_identifier: str | Iterable[str] | None = None,
        version: str | Iterable[str] | None = None,
        tag: str | Iterable[str] | None = None,
        bulk_action: str | None = None,
        schedule: str | None = None,
        batch: str | None = None,
        error: str | None = None,
        is_test: bool | None = None,
        from_: datetime | int | None = None,
        to: datetime | int | None = None,
        period: str | None = None,
        queue: QueueFilter | Iterable[QueueFilter] | None = None,
        machine: str | Iterable[str] | None = None,
        region: str | Iterable[str] | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        project_ref: str | None = None,
        environment: str | Iterable[str] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> CursorPage[RunListItem]:
        """Runs, newest first. Iterating the page walks every page lazily.

        With a secret key this lists the key's environment (``GET /api/v1/runs``); with a
        personal access token it lists a project's runs (``GET /api/v1/projects/{ref}/runs``)
        in ``environment`` (default: the client's), which that endpoint requires.

        ``error``: the runs of an error group (``error_…``, see ``client.errors``).
        Without ``from_``/``to``/``period`` the API only returns the last 7 days.
        Without ``limit`` pages are as large as the API allows (100), so walking N runs
        takes ⌈N/100⌉ requests.
        """
        params: dict[str, Any] = {
            "filter[status]": status_filter(status),
            "filter[taskIdentifier]": task_filter(task_identifier),
            "filter[version]": comma_list(version, "version"),
            "filter[tag]": comma_list(tag, "tag"),
            "filter[bulkAction]": nonempty(bulk_action, "bulk_action"),
            "filter[schedule]": nonempty(schedule, "schedule"),
            "filter[batch]": nonempty(batch, "batch"),
            "filter[error]": None if error is None else segment(error, "error"),
            "filter[isTest]": boolean(is_test, "is_test"),
            "filter[createdAt][from]": epoch_ms(from_, "from_"),
            "filter[createdAt][to]": epoch_ms(to, "to"),
            "filter[createdAt][period]": period_filter(period),
            "filter[queue]": queue_filter(queue),
            "filter[machine]": machine_filter(machine),
            "filter[region]": comma_list(region, "region"),
            **cursor_params(limit, after, before),
        }
        params = {key: value for key, value in params.items() if value is not None}

        client = self._client
        if client.token_kind in (TokenKind.SECRET_KEY, TokenKind.PUBLIC_ACCESS_TOKEN):
            if project_ref is not None:
                raise InvalidRequestError(
                    "project_ref selects a project's runs, which needs a personal access "
                    "token; a secret key lists its own environment's runs"
                )
            if environment is not None:
                raise InvalidRequestError(
                    "environment selects runs with a personal access token; a secret key "
                    "always lists its own environment's runs"
                )
            return self._cursor_page(
                "/api/v1/runs",
                operation="runs.list",
                auth=Auth.SECRET_KEY_OR_PUBLIC,
                item=RunListItem.from_api,
                params=params,
                request_options=request_options,
            )

        ref = client.require_project_ref(project_ref, "runs.list")
        envs = environment if environment is not None else client.environment
        if envs is None:
            raise ConfigurationRefusalError(
                "runs.list with a personal access token needs an environment: pass "
                "environment='prod' (or configure ENVIRONMENT)",
                reason=ConfigurationRefusalError.ENVIRONMENT,
            )
        params["filter[env]"] = _project_environments(envs)
        return self._cursor_page(
            build_path("/api/v1/projects/{}/runs", (ref, "project_ref")),
            operation="runs.list",
            item=RunListItem.from_api,
            params=params,
            auth=Auth.PERSONAL,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    @flow
    def retrieve(
        self,
        run_id: str,
        *,
        download: bool = False,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Run]:
        """One run. A payload or output of 128 KiB or more is not in the answer, only a
        presigned URL (``payload_presigned_url``, valid 5 minutes); ``download=True`` fetches
        it into ``payload``/``output`` as the SDK's ``runs.retrieve`` does (one more request
        per offloaded packet, to the object store)."""
        if download and self._raw:
            raise InvalidRequestError("download=True needs a typed result, not with_raw_response")
        run: Run = yield self._request(
            "GET",
            build_path("/api/v3/runs/{}", (run_id, "run")),
            operation="runs.retrieve",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=Run.from_api,
            request_options=request_options,
        )
        if download and (run.payload_presigned_url or run.output_presigned_url):
            payload, output = run.payload, run.output
            if run.payload_presigned_url:
                payload = yield from packets.download(
                    self, run.payload_presigned_url, request_options
                )
            if run.output_presigned_url:
                output = yield from packets.download(
                    self, run.output_presigned_url, request_options
                )
            run = dataclasses.replace(run, payload=payload, output=output)
        return run

    @retry_safety(RetrySafety.READ, why="repeated reads")
    @flow
    def poll(
        self,
        run_id: str,
        *,
        interval: float = POLL_INTERVAL,
        timeout: float | None = None,
        max_attempts: int = POLL_MAX_ATTEMPTS,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Run]:
        """Retrieve the run every ``interval`` seconds until its status is final, and return
        it; ``PollTimeoutError`` (with ``.last``, the last run retrieved) after
        ``max_attempts`` retrievals or once ``timeout`` seconds would be exceeded. A retrieval
        in progress gets the time left as its deadline (``ApiTimeoutError`` when it is reached),
        so the poll never outlasts ``timeout``.

        The SDK's ``runs.poll`` (1 s, 500 attempts, no minimum interval), except that it stops
        on every final status: the SDK waits for ``isCompleted``, which EXPIRED and TIMED_OUT
        runs never reach. One ``GET /api/v3/runs/{id}`` per attempt (each retried as any read).
        """
        build_path("/api/v3/runs/{}", (run_id, "run"))  # a bad id fails before any request
        runs = _cooked(self)
        return (
            yield from poll_until(
                lambda options: runs.retrieve(run_id, request_options=options),
                lambda run: run.status.is_final,
                what=f"run {run_id}",
                state=lambda run: f"{run.status}",
                interval=interval,
                timeout=timeout,
                max_attempts=max_attempts,
                request_options=request_options,
                sleep=self._client._sleep,
            )
        )

    # -- realtime ----------------------------------------------------------------------------

    @retry_safety(RetrySafety.READ, why="long-polled reads")
    def subscribe_to_run(
        self,
        run_id: str,
        *,
        stop_on_completion: bool = True,
        skip_columns: Sequence[str] | None = None,
        timeout: float = REALTIME_TIMEOUT,
    ) -> RunSubscription:
        """Follow one run: an iterator of :class:`RealtimeRun` snapshots, the current one
        first, then one per change; it ends after the snapshot where the run finished (unless
        ``stop_on_completion=False``). ``ApiTimeoutError`` once ``timeout`` seconds passed.
        Requests: one, then one per change (or per ~20 s without one). A secret key or a
        public token that can read the run (``read:runs:<id>``, its task, tag or batch)."""
        path = build_path("/realtime/v1/runs/{}", (run_id, "run"))
        return RunSubscription(
            self._client,
            path,
            _skip_columns(skip_columns),
            operation="runs.subscribe_to_run",
            stop_on_completion=stop_on_completion,
            timeout=timeout,
        )

    @retry_safety(RetrySafety.READ, why="long-polled reads")
    def subscribe_to_runs_with_tag(
        self,
        tag: str | Sequence[str],
        *,
        created_at: str | timedelta | None = None,
        skip_columns: Sequence[str] | None = None,
        timeout: float = REALTIME_TIMEOUT,
    ) -> RunSubscription:
        """Follow every run carrying the tag (all of several tags), created in the last
        ``created_at`` (default and at most ``"24h"``): each run's current snapshot, then one
        per change, until ``timeout`` (``ApiTimeoutError``) or :meth:`~RunSubscription.close`.
        Needs ``read:tags:<tag>`` (or ``read:runs``) with a public token."""
        tags = [tag] if isinstance(tag, str) else list(tag)
        validate_tags(tags)
        for value in tags:
            if any(ch in value for ch in ',"\\') or any(
                ord(ch) < 32 or ord(ch) == 127 for ch in value
            ):
                raise InvalidRequestError(
                    f"tag {value!r} has a character realtime refuses "
                    "(a comma, a quote, a backslash or a control "
                    "character)"
                )
        params = _skip_columns(skip_columns)
        params["tags"] = ",".join(tags)
        if created_at is not None:
            if isinstance(created_at, timedelta):
                created_at = f"{int(created_at.total_seconds())}s"
            if not isinstance(created_at, str) or not created_at.strip():
                raise InvalidRequestError(
                    "created_at must be a duration such as '1h' or a timedelta"
                )
            params["createdAt"] = created_at
        return RunSubscription(
            self._client,
            "/realtime/v1/runs",
            params,
            operation="runs.subscribe_to_runs_with_tag",
            stop_on_completion=False,
            timeout=timeout,
        )

    @retry_safety(RetrySafety.READ, why="long-polled reads")
    def subscribe_to_batch(
        self,
        batch_id: str,
        *,
        skip_columns: Sequence[str] | None = None,
        timeout: float = REALTIME_TIMEOUT,
    ) -> RunSubscription:
        """Follow the runs of a batch: each run's snapshot, then one per change, until
        ``timeout`` (``ApiTimeoutError``) or :meth:`~RunSubscription.close` (as in the SDK, it
        does not end by itself when the runs finish). Needs ``read:batch:<id>`` with a
        public token."""
        path = build_path("/realtime/v1/batches/{}", (batch_id, "batch"))
        return RunSubscription(
            self._client,
            path,
            _skip_columns(skip_columns),
            operation="runs.subscribe_to_batch",
            stop_on_completion=False,
            timeout=timeout,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT, why="cancelling a finished run answers 200 and changes nothing"
    )
    def cancel(self, run_id: str, *, request_options: RequestOptionsLike = None) -> IdResponse:
        """Cancel a run that has not finished (a finished run is left as it is)."""
        return self._request(
            "POST",
            build_path("/api/v2/runs/{}/cancel", (run_id, "run")),
            operation="runs.cancel",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=IdResponse.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.UNSAFE, why="each replay starts a new run")
    def replay(
        self,
        run_id: str,
        *,
        payload: Any = NOT_GIVEN,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | str | None = None,
        queue: str | None = None,
        concurrency_key: str | None = None,
        machine: str | None = None,
        version: str | None = None,
        region: str | None = None,
        delay: str | timedelta | datetime | None = None,
        ttl: str | int | timedelta | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | None = None,
        max_attempts: int | None = None,
        max_duration: int | None = None,
        priority: int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> IdResponse:
        """Start a new run of the same task; returns the new run's id. Without overrides it
        has the run's payload and options; each override given replaces one (the SDK's
        ``runs.replay(id, {payload, tags, ...})``, docs/API-ADDENDUM.md §11): ``payload``
        (any JSON value, ``None`` included), ``version`` (``"latest"`` for the current one)
        and the trigger options of the same names."""
        body = _replay_body(
            payload,
            metadata=metadata,
            tags=tags,
            queue=queue,
            concurrency_key=concurrency_key,
            machine=machine,
            version=version,
            region=region,
            delay=delay,
            ttl=ttl,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            max_attempts=max_attempts,
            max_duration=max_duration,
            priority=priority,
        )
        return self._request(
            "POST",
            build_path("/api/v1/runs/{}/replay", (run_id, "run")),
            operation="runs.replay",
            json_body=body,
            parse=IdResponse.from_api,
            request_options=request_options,
            unknown_hint=(
                f"list the runs created at or after {{sent_at}} (client.runs.list(from_=...)) "
                f"for a replay of {run_id} before replaying it again"
            ),
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT, why="sets the delay again (a relative delay counts from the retry)"
    )
    def reschedule(
        self,
        run_id: str,
        *,
        delay: str | timedelta | datetime,
        request_options: RequestOptionsLike = None,
    ) -> Run:
        """Change when a ``DELAYED`` run starts: ``delay="2h"``, a ``timedelta``, or an aware
        ``datetime``."""
        return self._request(
            "POST",
            build_path("/api/v1/runs/{}/reschedule", (run_id, "run")),
            operation="runs.reschedule",
            json_body={"delay": duration(delay, "delay")},
            parse=Run.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="tags the run already has are ignored")
    def add_tags(
        self,
        run_id: str,
        tags: str | Sequence[str],
        *,
        request_options: RequestOptionsLike = None,
    ) -> MessageResponse:
        """Add tags to a run (existing tags are kept; a run has at most 10)."""
        values = [tags] if isinstance(tags, str) else list(tags)
        validate_tags(values)
        return self._request(
            "POST",
            build_path("/api/v1/runs/{}/tags", (run_id, "run")),
            operation="runs.add_tags",
            json_body={"tags": values},
            parse=MessageResponse.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        RetrySafety.UNSAFE,
        why="replacing metadata and set/update/delete operations are idempotent; "
        "append, remove and increment change the result when applied twice",
    )
    def update_metadata(
        self,
        run_id: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        operations: Sequence[Mapping[str, Any]] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> dict[str, Any]:
        """Replace a run's metadata, and/or apply operations (``{"type": "set", "key": ...,
        "value": ...}``, ``update``, ``delete``, ``append``, ``remove``, ``increment``).
        Returns the metadata after the update."""
        if metadata is None and not operations:
            raise InvalidRequestError("pass metadata, operations, or both")
        body: dict[str, Any] = {}
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise InvalidRequestError("metadata must be a mapping")
            body["metadata"] = dict(metadata)
        if operations:
            body["operations"] = [_metadata_operation(op) for op in operations]
        repeatable = all(op["type"] in _IDEMPOTENT_OPERATIONS for op in body.get("operations", []))
        return self._request(
            "PUT",
            build_path("/api/v1/runs/{}/metadata", (run_id, "run")),
            operation="runs.update_metadata",
            json_body=body,
            parse=_metadata_result,
            request_options=request_options,
            retry_safety=RetrySafety.IDEMPOTENT if repeatable else RetrySafety.UNSAFE,
            unknown_hint=f"retrieve run {run_id} and look at its metadata before repeating",
        )

    @retry_safety(RetrySafety.READ, why="a read")
    @flow
    def retrieve_result(
        self, run_id: str, *, request_options: RequestOptionsLike = None
    ) -> Generator[Any, Any, TaskRunExecutionResult | None]:
        """The execution result of a finished run, or ``None`` while it has not finished (the
        API answers 404 for both an unfinished and an unknown run, like the SDK maps it)."""
        try:
            return (
                yield self._request(
                    "GET",
                    build_path("/api/v1/runs/{}/result", (run_id, "run")),
                    operation="runs.retrieve_result",
                    parse=TaskRunExecutionResult.from_api,
                    request_options=request_options,
                )
            )
        except NotFoundError:
            return None

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve_events(
        self, run_id: str, *, request_options: RequestOptionsLike = None
    ) -> builtins.list[dict[str, Any]]:
        """The run's trace events (untyped, as the API sends them)."""
        return self._request(
            "GET",
            build_path("/api/v1/runs/{}/events", (run_id, "run")),
            operation="runs.retrieve_events",
            parse=_events,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve_trace(
        self, run_id: str, *, request_options: RequestOptionsLike = None
    ) -> dict[str, Any]:
        """The run's trace: ``{"traceId": ..., "rootSpan": {...}}``."""
        return self._request(
            "GET",
            build_path("/api/v1/runs/{}/trace", (run_id, "run")),
            operation="runs.retrieve_trace",
            parse=_trace,
            request_options=request_options,
        )


# -- argument checks and conversions --------------------------------------------------------


def _skip_columns(columns: Sequence[str] | None) -> dict[str, str]:
    if columns is None:
        return {}
    if isinstance(columns, str):
        raise InvalidRequestError("skip_columns must be a list of column names")
    unknown = [c for c in columns if c not in SKIPPABLE_COLUMNS]
    if unknown:
        raise InvalidRequestError(
            f"cannot skip {', '.join(map(repr, unknown))}; skippable columns: "
            f"{', '.join(SKIPPABLE_COLUMNS)}"
        )
    return {"skipColumns": ",".join(columns)} if columns else {}


def validate_tags(tags: Sequence[str]) -> None:
    if not tags:
        raise InvalidRequestError("pass at least one tag")
    if len(tags) > MAX_TAGS:
        raise InvalidRequestError(f"a run can have at most {MAX_TAGS} tags, got {len(tags)}")
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidRequestError("tags must be non-empty strings")
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidRequestError(f"tags are at most {MAX_TAG_LENGTH} characters")


def _project_environments(value: str | Iterable[str]) -> str:
    items = [value] if isinstance(value, str) else list(value)
    slugs = []
    for item in items:
        try:
            slugs.append(_PROJECT_RUNS_ENV[normalize_environment(item)])
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
    if not slugs:
        raise InvalidRequestError("environment must name at least one environment")
    return ",".join(slugs)


_METADATA_OPERATIONS = {"update", "set", "delete", "append", "remove", "increment"}
# Applying these twice gives the same metadata as once (append/remove/increment do not).
_IDEMPOTENT_OPERATIONS = {"update", "set", "delete"}


def _metadata_operation(op: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(op, Mapping) or op.get("type") not in _METADATA_OPERATIONS:
        raise InvalidRequestError(
            "each operation needs a type: " + ", ".join(sorted(_METADATA_OPERATIONS))
        )
    return dict(op)


def _metadata_result(body: Any) -> dict[str, Any]:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        raise SchemaError("expected {'metadata': {...}}")
    return metadata


def _events(body: Any) -> list[dict[str, Any]]:
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise SchemaError("expected {'events': [...]}")
    return events


def _trace(body: Any) -> dict[str, Any]:
    trace = body.get("trace") if isinstance(body, dict) else None
    if not isinstance(trace, dict):
        raise SchemaError("expected {'trace': {...}}")
    return trace


def _replay_body(payload: Any, **overrides: Any) -> dict[str, Any] | None:
    """The SDK's ``ReplayRunRequestBody`` (``None``: no body, as the SDK sends without
    overrides). The options are checked as ``tasks.trigger`` checks them; the payload is sent
    as the SDK sends it, superjson text (``{"json": value}``, plain JSON values needing no
    ``meta``) with ``payloadType: "application/super+json"``."""
    from .tasks import TriggerOptions, _serialised, _text  # tasks imports this module

    key = overrides.pop("idempotency_key")
    version = overrides.pop("version")
    wire = TriggerOptions(**overrides).to_wire()
    if "queue" in wire:
        wire["queue"] = wire["queue"]["name"]
    if key is not None:  # sent as given: the SDK hashes only trigger keys
        wire["idempotencyKey"] = _text(key, "idempotency_key", maximum=2048)
    if version is not None:
        wire["version"] = _text(version, "version")
    if payload is not NOT_GIVEN:
        wire["payload"] = '{"json":' + _serialised(payload).decode() + "}"
        wire["payloadType"] = "application/super+json"
    return wire or None
