"""``AsyncTriggerClient``: ``TriggerClient`` for async code (Django async views, ASGI).

The same constructor, resources, methods, options, pages, raw responses and errors as the
sync client; every call is awaited:

    async with AsyncTriggerClient("tr_dev_...") as client:
        run = await client.runs.retrieve("run_...")
        page = await client.runs.list(status=["FAILED"])      # an AsyncCursorPage
        async for run in client.runs.list(limit=50): ...       # every item, lazily

Resources are the sync client's classes: a resource method validates its arguments and
describes its request(s); this client's ``_then``/``_run_flow`` turn that into a coroutine
(see resources/_base.py and docs/ARCHITECTURE.md). The transport is httpx (the optional
``django-trigger-dev[async]``), with the sync transport's retry decisions (retry.py).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from django_trigger._http.async_transport import AsyncTransport
from django_trigger.client import BaseClient, _Resource
from django_trigger.pagination import (
    AsyncCursorPage,
    AsyncOffsetPage,
    AsyncPager,
)

if TYPE_CHECKING:
    from django_trigger.resources._typed import (
        AsyncBatches,
        AsyncBulkActions,
        AsyncConcurrencyLimits,
        AsyncDeployments,
        AsyncEnvironments,
        AsyncEnvVars,
        AsyncErrors,
        AsyncIdempotencyKeys,
        AsyncProjects,
        AsyncPrompts,
        AsyncPublicTokens,
        AsyncQuery,
        AsyncQueues,
        AsyncRuns,
        AsyncSchedules,
        AsyncSessions,
        AsyncStreams,
        AsyncTasks,
        AsyncWaitpoints,
        AsyncWebhooks,
    )

__all__ = ["AsyncTriggerClient"]

T = TypeVar("T")


class AsyncTriggerClient(BaseClient):
    """A client of the Trigger.dev management API whose calls are awaited.

    >>> client = AsyncTriggerClient("tr_dev_...", project_ref="proj_...")
    >>> run = await client.runs.retrieve("run_...")

    Connections are pooled per event loop; ``await client.aclose()`` (or ``async with``)
    closes the running loop's pool. Resources are typed by their async views
    (resources/_typed.py: ``AsyncRuns`` etc.): coroutines of the sync methods' results, lists
    as ``AsyncPager``.
    """

    _transport_class = AsyncTransport
    _transport: AsyncTransport

    # TriggerClient's resources (the same classes), typed as this client shows them.
    runs: _Resource[AsyncRuns] = _Resource("runs", "Runs")
    tasks: _Resource[AsyncTasks] = _Resource("tasks", "Tasks")
    batches: _Resource[AsyncBatches] = _Resource("batches", "Batches")
    envvars: _Resource[AsyncEnvVars] = _Resource("envvars", "EnvVars")
    schedules: _Resource[AsyncSchedules] = _Resource("schedules", "Schedules")
    queues: _Resource[AsyncQueues] = _Resource("queues", "Queues")
    deployments: _Resource[AsyncDeployments] = _Resource("deployments", "Deployments")
    bulk_actions: _Resource[AsyncBulkActions] = _Resource("bulk_actions", "BulkActions")
    idempotency_keys: _Resource[AsyncIdempotencyKeys] = _Resource(
        "idempotency_keys", "IdempotencyKeys"
    )
    waitpoints: _Resource[AsyncWaitpoints] = _Resource("waitpoints", "Waitpoints")
    auth: _Resource[AsyncPublicTokens] = _Resource("auth", "PublicTokens")
    projects: _Resource[AsyncProjects] = _Resource("projects", "Projects")
    prompts: _Resource[AsyncPrompts] = _Resource("prompts", "Prompts")
    streams: _Resource[AsyncStreams] = _Resource("streams", "Streams")
    environments: _Resource[AsyncEnvironments] = _Resource("environments", "Environments")
    errors: _Resource[AsyncErrors] = _Resource("errors", "Errors")
    webhooks: _Resource[AsyncWebhooks] = _Resource("webhooks", "Webhooks")
    concurrency_limits: _Resource[AsyncConcurrencyLimits] = _Resource(
        "concurrency_limits", "ConcurrencyLimits"
    )
    query: _Resource[AsyncQuery] = _Resource("query", "Query")
    sessions: _Resource[AsyncSessions] = _Resource("sessions", "Sessions")

    @property
    def _pages(self) -> tuple[type[AsyncCursorPage[Any]], type[AsyncOffsetPage[Any]]]:
        return (AsyncCursorPage, AsyncOffsetPage)

    async def aclose(self) -> None:
        """Close the running event loop's pooled connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncTriggerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- how resources' calls run: awaited --------------------------------------------------

    def _then(self, value: Any, then: Callable[[Any], T]) -> Any:
        async def finish() -> T:
            return then(await value)

        return finish()

    def _run_flow(self, steps: Generator[Any, Any, T]) -> Any:
        return _drive(steps)

    def _sleep(self, seconds: float) -> Awaitable[None]:
        return asyncio.sleep(seconds)

    def _pager(self, page: Any) -> Any:
        return AsyncPager(page)


async def _drive(steps: Generator[Any, Any, T]) -> T:
    """Run a resource's flow: await each step it yields and send back the result, or throw
    the step's error back in at its ``yield`` (where the flow's ``try`` sees it)."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = await step if inspect.isawaitable(step) else step
        except Exception as exc:  # noqa: BLE001  # thrown back into the flow, which decides
            # (CancelledError, a BaseException, ends the flow as is)
            error = exc
