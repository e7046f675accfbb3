"""What mypy must infer for the clients' calls (checked by ``mypy``, which lists this file in
pyproject.toml; never run). A wrong type, or a call mypy would accept with a wrong argument,
fails the lint step."""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import Any

from typing_extensions import assert_type

from django_trigger import AsyncTriggerClient, TriggerClient
from django_trigger._http.transport import RawResponse
from django_trigger.pagination import (
    AsyncCursorPage,
    AsyncOffsetPage,
    AsyncPager,
    CursorPage,
    OffsetPage,
)
from django_trigger.resources.realtime import RunSubscription
from django_trigger.types import (
    IdResponse,
    Run,
    RunListItem,
    Schedule,
    SuccessResponse,
    TaskRunExecutionResult,
)
from django_trigger.types.query import Dashboard, DashboardSummary, DashboardWidgetAdded


def sync_client(client: TriggerClient) -> None:
    assert_type(client.runs.retrieve("run_1"), Run)
    assert_type(client.runs.list(limit=5), CursorPage[RunListItem])
    assert_type(client.schedules.list(), OffsetPage[Schedule])
    assert_type(client.runs.with_raw_response.retrieve("run_1"), RawResponse[Run])
    assert_type(client.runs.with_raw_response.retrieve("run_1").parse(), Run)
    assert_type(client.runs.with_raw_response.list(limit=5), RawResponse[CursorPage[RunListItem]])
    assert_type(client.schedules.with_raw_response.delete("sched_1"), RawResponse[IdResponse])
    assert_type(client.runs.subscribe_to_run("run_1"), RunSubscription)
    # A poll looks at typed runs even raw; completing a token answers raw with its POST's.
    assert_type(client.runs.with_raw_response.poll("run_1"), Run)
    assert_type(
        client.waitpoints.with_raw_response.complete_token("waitpoint_1", {}),
        RawResponse[SuccessResponse],
    )
    # An unfinished run has no result: None, raw or not; public tokens answer raw as strings.
    assert_type(client.runs.retrieve_result("run_1"), TaskRunExecutionResult | None)
    assert_type(
        client.runs.with_raw_response.retrieve_result("run_1"),
        RawResponse[TaskRunExecutionResult] | None,
    )
    assert_type(client.auth.with_raw_response.create_public_token(), RawResponse[str])
    page = client.runs.list()
    assert_type(page.get_next_page(), CursorPage[RunListItem])
    for item in page:
        assert_type(item, RunListItem)
    for each in page.iter_pages():
        assert_type(each, CursorPage[RunListItem])
    assert_type(client.schedules.list().get_previous_page(), OffsetPage[Schedule])
    # Nested resources have their views too; a session's control record answers its S2 seq.
    assert_type(
        client.query.with_raw_response.dashboards.list(), RawResponse[list[DashboardSummary]]
    )
    assert_type(
        client.query.dashboards.widgets.with_raw_response.add("d", {}),
        RawResponse[DashboardWidgetAdded],
    )
    assert_type(client.sessions.with_raw_response.write_control("s", "turn-complete"), int)
    client.runs.retrieve(1)  # type: ignore[arg-type]
    client.runs.with_raw_response.retrieve("run_1", nope=True)  # type: ignore[call-arg]


async def async_client(client: AsyncTriggerClient) -> None:
    call = assert_type(client.runs.retrieve("run_1"), Coroutine[Any, Any, Run])
    call.close()
    assert_type(await client.runs.retrieve("run_1"), Run)
    pager = client.runs.list(limit=5)
    assert_type(pager, AsyncPager[AsyncCursorPage[RunListItem], RunListItem])
    assert_type(await pager, AsyncCursorPage[RunListItem])
    async for item in client.runs.list():
        assert_type(item, RunListItem)
    assert_type(await client.schedules.list(), AsyncOffsetPage[Schedule])
    page = await client.runs.list()
    assert_type(page.get_next_page(), Awaitable[AsyncCursorPage[RunListItem]])
    assert_type(await page.get_previous_page(), AsyncCursorPage[RunListItem])
    async for each in page.iter_pages():
        assert_type(each, AsyncCursorPage[RunListItem])
    async for item in page:
        assert_type(item, RunListItem)
    raw = client.runs.with_raw_response.retrieve("run_1")
    assert_type(raw, Awaitable[RawResponse[Run]])
    assert_type((await raw).parse(), Run)
    assert_type((await client.runs.with_raw_response.list()).parse(), AsyncCursorPage[RunListItem])
    assert_type(
        await client.runs.with_raw_response.retrieve_result("run_1"),
        RawResponse[TaskRunExecutionResult] | None,
    )
    assert_type(await client.auth.with_raw_response.create_public_token(), RawResponse[str])
    assert_type(client.runs.subscribe_to_run("run_1"), RunSubscription)
    assert_type(await client.query.dashboards.list(), list[DashboardSummary])
    assert_type(
        await client.query.with_raw_response.dashboards.widgets.delete("d", "w"),
        RawResponse[Dashboard],
    )
    assert_type(await client.sessions.with_raw_response.write_control("s", "x"), int)
    await client.runs.retrieve(1)  # type: ignore[arg-type]
