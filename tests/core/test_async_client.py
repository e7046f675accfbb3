"""``AsyncTriggerClient`` against ``TriggerClient``: the same scenarios, written once, run
through both clients over real HTTP against the emulator (``SyncScenarios`` and
``AsyncScenarios``), then what only the async client promises: concurrency on one loop,
cancellation, no thread pool, one pool per loop, per-loop ``get_async_client``."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.test import SimpleTestCase, override_settings

from django_trigger.async_client import AsyncTriggerClient
from django_trigger.client import TriggerClient
from django_trigger.exceptions import (
    ApiTimeoutError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownConnectionError,
    OutcomeUnknownError,
    RateLimitError,
)
from django_trigger.pagination import AsyncCursorPage, CursorPage

from .base import BothClients, ClientTestCase, scenarios_as_tests
from .test_shared_rate_limit import DictStore

ROOT = Path(__file__).resolve().parents[2]
POST = {"method": "POST"}


class Scenarios(BothClients):
    def listed(self, size: int, status: int | None = None) -> int:
        """Run lists of ``size`` per page this scenario asked for: each scenario lists with its
        own page size, so that a stalled request of an earlier test that ends during this
        one (the emulator journals it then) is not counted."""
        return sum(
            1
            for e in self.journal.entries
            if e.path == "/api/v1/runs"
            and e.query.get("page[size]") == [str(size)]
            and (status is None or e.status == status)
        )

    # -- the scenarios -----------------------------------------------------------------------

    async def scenario_list_retrieve_and_pages_both_ways(self) -> None:
        await self.call(
            self.api.tasks.batch_trigger(
                [{"task": "paginate-me", "payload": {"n": n}} for n in range(25)]
            )
        )
        page = await self.call(self.api.runs.list(task_identifier="paginate-me", limit=10))
        self.assertIsInstance(page, self.page_class)
        self.assertEqual(len(page.data), 10)
        run = await self.call(self.api.runs.retrieve(page.data[3].id))
        self.assertEqual(run.id, page.data[3].id)

        second = await self.call(page.get_next_page())
        self.assertTrue(second.has_previous_page())
        back = await self.call(second.get_previous_page())
        self.assertEqual([r.id for r in back.data], [r.id for r in page.data])

        self.journal.clear()
        every = await self.items(self.api.runs.list(task_identifier="paginate-me", limit=10))
        self.assertEqual(len({r.id for r in every}), 25)
        created = [r.created_at for r in every]
        self.assertEqual(created, sorted(created, reverse=True))
        self.assertEqual(self.listed(10), 3)  # lazily, page by page

        # Backwards from a cursor: towards newer runs, newest last, across pages.
        third = await self.call(second.get_next_page())
        backwards = await self.call(
            self.api.runs.list(
                task_identifier="paginate-me", limit=10, before=third.previous_cursor
            )
        )
        walked = [r.id for r in await self.items(backwards)]
        self.assertEqual(walked, list(reversed([r.id for r in every[:20]])))

    async def scenario_trigger_with_an_idempotency_key(self) -> None:
        first = await self.call(
            self.api.tasks.trigger(
                "send-email", {"to": "a@example.com"}, idempotency_key="welcome-1"
            )
        )
        again = await self.call(
            self.api.tasks.trigger(
                "send-email", {"to": "a@example.com"}, idempotency_key="welcome-1"
            )
        )
        self.assertEqual(again.id, first.id)
        self.assertTrue(again.is_cached)

    async def scenario_a_verified_retry(self) -> None:
        task = self.emulator.scheduled_tasks[0]
        created = await self.call(
            self.api.schedules.create(task=task, cron="0 9 * * *", deduplication_key="to-delete")
        )
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        deleted = await self.call(self.api.schedules.delete(created.id))
        self.assertEqual(deleted.id, created.id)
        self.assertEqual(self.journal.count(method="DELETE"), 2)
        with self.assertRaises(NotFoundError):
            await self.call(self.api.schedules.retrieve(created.id))

    async def scenario_replay_with_overrides(self) -> None:
        run = await self.call(
            self.api.tasks.trigger("replay-me", {"n": 1}, tags=["first"], metadata={"a": 1})
        )
        same = await self.call(
            self.api.runs.retrieve((await self.call(self.api.runs.replay(run.id))).id)
        )
        self.assertEqual((same.payload, same.tags, same.metadata), ({"n": 1}, ["first"], {"a": 1}))
        self.journal.clear()
        replayed = await self.call(
            self.api.runs.replay(
                run.id,
                payload={"n": 2},
                tags=["second"],
                metadata={"b": 2},
                delay="1h",
                ttl=600,
                idempotency_key="replay-1",
            )
        )
        [sent] = self.journal.entries
        self.assertEqual(
            sent.body,
            {
                "payload": '{"json":{"n":2}}',
                "payloadType": "application/super+json",
                "tags": ["second"],
                "metadata": {"b": 2},
                "delay": "1h",
                "ttl": "600s",
                "idempotencyKey": "replay-1",
            },
        )
        new = await self.call(self.api.runs.retrieve(replayed.id))
        self.assertEqual((new.payload, new.tags, new.metadata), ({"n": 2}, ["second"], {"b": 2}))
        self.assertEqual(
            (new.status.value, new.ttl, new.idempotency_key), ("DELAYED", "600s", "replay-1")
        )
        again = await self.call(self.api.runs.replay(run.id, idempotency_key="replay-1"))
        self.assertEqual(again.id, replayed.id)  # the key's run, as a trigger's key
        nothing = await self.call(self.api.runs.replay(run.id, payload=None))
        self.assertIsNone((await self.call(self.api.runs.retrieve(nothing.id))).payload)
        self.journal.clear()
        for bad in (
            {"machine": "huge"},
            {"max_attempts": 0},
            {"tags": ["t"] * 11},
            {"payload": {1j}},
        ):
            with self.subTest(bad=bad), self.assertRaises(InvalidRequestError):
                await self.call(self.api.runs.replay(run.id, **bad))
        self.assertEqual(self.journal.count(), 0)

    async def scenario_an_unsafe_call_after_a_drop(self) -> None:
        run = await self.call(self.api.tasks.trigger("replay-me", {"n": 1}))
        self.journal.clear()
        self.emulator.faults.drop_next(1, after_processing=True, **POST)
        with self.assertRaises(OutcomeUnknownConnectionError) as ctx:
            await self.call(self.api.runs.replay(run.id))
        self.assertIn("connection was dropped after the request was sent", str(ctx.exception))
        self.assertIn(f"for a replay of {run.id}", str(ctx.exception))
        self.assertNotIn(self.emulator.secret_key, repr(ctx.exception))
        self.assertEqual(self.journal.count(method="POST"), 1)  # not repeated

    async def scenario_a_deadline(self) -> None:
        # Stalls far longer than the bound: only a deadline that works ends the call in time,
        # however loaded the machine (the emulator's stop ends the stalls).
        self.emulator.faults.stall_next(2, 60.0)
        started = time.monotonic()
        with self.assertRaises(ApiTimeoutError) as ctx:
            await self.call(
                self.api.runs.list(limit=4, request_options={"deadline": 0.4, "timeout": 0.3})
            )
        elapsed = time.monotonic() - started
        self.assertIn("Deadline of 0.4s reached", str(ctx.exception))
        self.assertLess(elapsed, 20)

    async def scenario_an_unsafe_call_stopped_by_its_deadline(self) -> None:
        run = await self.call(self.api.tasks.trigger("replay-me", {"n": 1}))
        self.emulator.faults.stall_next(1, 1.0, **POST)
        with self.assertRaises(OutcomeUnknownError) as ctx:
            await self.call(self.api.runs.replay(run.id, request_options={"deadline": 0.3}))
        self.assertIn("deadline (0.3 s) passed after the request was sent", str(ctx.exception))

    async def scenario_a_429_with_its_reset(self) -> None:
        self.emulator.faults.rate_limit_next(1, reset_after=0.3)
        started = time.monotonic()
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            page = await self.call(self.api.runs.list(limit=2))
        elapsed = time.monotonic() - started
        self.assertEqual(len(page.data), 2)
        self.assertEqual(self.listed(2), 2)
        self.assertGreaterEqual(elapsed, 0.25)  # waited for the reset
        # ... and no longer than the reset plus jitter (< 1 s): the wait the client chose, not
        # the elapsed time, which a loaded machine stretches.
        [delay] = re.findall(r"Retrying GET /api/v1/runs in ([\d.]+)s", "\n".join(logs.output))
        self.assertLess(float(delay), 1.3)

    async def scenario_the_shared_rate_limit(self) -> None:
        store = DictStore()
        first = self.make(rate_limit_store=store, retry={"max_attempts": 1})
        second = self.make(rate_limit_store=store)
        self.emulator.faults.rate_limit_next(1, reset_after=0.4)
        with self.assertRaises(RateLimitError):
            await self.call(first.runs.list(limit=3))
        [(key, reset_ms)] = store.values.items()
        self.assertNotIn(self.emulator.secret_key, key)
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            await self.call(second.runs.list(limit=3))  # waits for the reset before sending
        self.assertIn("shared rate-limit reset", logs.output[0])
        self.assertGreaterEqual(time.time() * 1000, reset_ms)
        self.assertEqual((self.listed(3, 429), self.listed(3, 200)), (1, 1))
        for client in (first, second):
            await self.close(client)

    async def scenario_a_raw_response(self) -> None:
        page = await self.call(self.api.runs.list(limit=1))
        raw = await self.call(self.api.runs.with_raw_response.retrieve(page.data[0].id))
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.headers["content-type"].split(";")[0], "application/json")
        self.assertEqual(raw.json()["id"], page.data[0].id)
        self.assertEqual(raw.parse().id, page.data[0].id)

    async def scenario_bad_input_fails_before_sending(self) -> None:
        self.journal.clear()
        with self.assertRaises(InvalidRequestError):
            await self.call(self.api.runs.list(limit=0))
        with self.assertRaises(InvalidRequestError):
            await self.call(self.api.waitpoints.complete_token("waitpoint_x", object()))
        self.assertEqual(self.journal.count(), 0)

    async def scenario_a_waitpoint_completed_and_read_back(self) -> None:
        token = await self.call(self.api.waitpoints.create_token(timeout="1h"))
        done = await self.call(self.api.waitpoints.complete_token(token.id, {"ok": True}))
        self.assertEqual(done.status.value, "COMPLETED")
        self.assertIn('"ok":true', done.output)  # as the API stores it

    async def scenario_batch_trigger_in_two_phases(self) -> None:
        handle = await self.call(
            self.api.tasks.batch_trigger(
                [{"task": "send-email", "payload": {"n": n}} for n in range(3)],
                idempotency_key="batch-1",
            )
        )
        self.assertEqual(handle.run_count, 3)
        self.assertEqual(self.journal.count(path=f"/api/v3/batches/{handle.id}/items"), 1)

    async def scenario_the_sent_headers(self) -> None:
        await self.call(self.api.runs.list(limit=5))
        sent = self.journal.last().headers
        self.assertEqual(sent["x-trigger-api-version"], "2025-07-16")
        self.assertEqual(sent["x-trigger-source"], "django-trigger")
        self.assertEqual(sent["content-type"], "application/json")
        self.assertTrue(sent["user-agent"].startswith("django-trigger/"))
        self.assertTrue(sent["authorization"].startswith("Bearer tr_dev_"))
        first_key = sent["x-trigger-request-idempotency-key"]
        await self.call(self.api.runs.list(limit=5, request_options={"headers": {"x-extra": "1"}}))
        sent = self.journal.last().headers
        self.assertNotEqual(sent["x-trigger-request-idempotency-key"], first_key)  # per call
        self.assertEqual(sent["x-extra"], "1")

    async def scenario_a_multipart_upload(self) -> None:
        await self.call(self.api.envvars.upload("FROM_FILE=1\nOTHER=two\n", override=True))
        entry = self.journal.last()
        self.assertTrue(entry.headers["content-type"].startswith("multipart/form-data"))
        self.assertEqual(entry.body["override"], "true")
        values = {
            v.name: v.value for v in await self.items(await self.call(self.api.envvars.list()))
        }
        self.assertEqual((values["FROM_FILE"], values["OTHER"]), ("1", "two"))

    async def scenario_poll_until_final(self) -> None:
        run = await self.call(self.api.tasks.trigger("send-email", {"n": 1}))

        def finish() -> None:
            with self.emulator.state.lock:
                self.emulator.state.runs.complete(run.id, {"sent": True})

        self.after_answers(2, "GET", f"/api/v3/runs/{run.id}", finish)  # the 3rd: COMPLETED
        done = await self.call(self.api.runs.poll(run.id, interval=0.05, timeout=30))
        self.assertEqual(done.output, {"sent": True})
        self.assertEqual(self.journal.count(method="GET", path=f"/api/v3/runs/{run.id}"), 3)

    async def scenario_a_realtime_subscription(self) -> None:
        run = await self.call(self.api.tasks.trigger("send-email", {"n": 1}))
        timer = threading.Timer(0.3, lambda: self._complete(run.id))
        timer.start()
        self.addCleanup(timer.cancel)
        subscription = self.api.runs.subscribe_to_run(run.id, timeout=10)
        seen = []
        if isinstance(self.api, AsyncTriggerClient):
            with self.assertRaises(TypeError):
                next(subscription)
            async with subscription:
                seen = [r.status.value async for r in subscription]
        else:
            with subscription:
                seen = [r.status.value for r in subscription]
        self.assertEqual((seen[0], seen[-1]), ("QUEUED", "COMPLETED"))

    async def scenario_concurrency_limits_query_and_dashboards(self) -> None:
        limits = self.api.concurrency_limits
        page = await self.call(limits.list(per_page=2))
        self.assertEqual(len(await self.items(page)), 5)  # every page, lazily
        changed = await self.call(limits.override("openai", per_key=0, concurrency_key=7))
        self.assertEqual((changed.concurrency_key, changed.per_key.current), ("7", 0))
        key = await self.call(limits.retrieve("openai", concurrency_key=7))
        self.assertEqual(key.per_key.override, 0)
        self.assertIsNone(
            (await self.call(limits.reset("openai", concurrency_key=7))).per_key.override
        )
        self.assertEqual((await self.call(limits.override("openai", total=3))).total.current, 3)
        self.assertTrue((await self.call(limits.pause("openai"))).paused)
        self.assertFalse((await self.call(limits.resume("openai"))).paused)
        self.assertEqual((await self.call(limits.reset("openai"))).total.current, 10)
        self.assertEqual((await self.call(limits.retrieve("openai"))).total.override, None)

        await self.call(self.api.tasks.trigger("send-email", {"n": 1}))
        result = await self.call(
            self.api.query.execute(
                "SELECT count() AS n FROM runs WHERE task_identifier = 'send-email' "
                "AND status = 'Queued'",
                period="1h",
            )
        )
        self.assertGreaterEqual(result.rows[0]["n"], 1)

        dashboards = self.api.query.dashboards
        made = await self.call(dashboards.create("Ops"))
        widget = {
            "title": "Runs",
            "query": "SELECT count() FROM runs",
            "display": {"type": "table"},
        }
        added = await self.call(dashboards.widgets.add(made.id, widget, revision=made.revision))
        self.assertEqual([w.id for w in added.dashboard.widgets], [added.widget_id])
        renamed = await self.call(
            dashboards.update(made.id, title="Ops 2", revision=added.dashboard.revision)
        )
        self.assertEqual((await self.call(dashboards.retrieve(made.id))).title, "Ops 2")
        kept = {**widget, "id": added.widget_id}
        replaced = await self.call(dashboards.replace(made.id, [kept], revision=renamed.revision))
        changed_widget = await self.call(
            dashboards.widgets.update(made.id, added.widget_id, title="All runs")
        )
        self.assertEqual(changed_widget.widgets[0].title, "All runs")
        self.assertNotEqual(changed_widget.revision, replaced.revision)
        # a stale revision: a ConflictError on both clients
        with self.assertRaises(ConflictError):
            await self.call(dashboards.update(made.id, title="X", revision=replaced.revision))
        # a lost answer: the flow reads the dashboard back, on both clients
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        left = await self.call(dashboards.widgets.delete(made.id, added.widget_id))
        self.assertEqual(left.widgets, [])
        self.emulator.faults.drop_next(1, after_processing=True, method="DELETE")
        self.assertEqual((await self.call(dashboards.delete(made.id))).id, made.id)
        listed = await self.call(dashboards.list())
        self.assertEqual([d.key for d in listed], ["overview"])

    def _complete(self, run_id: str) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(run_id, {"sent": True})

    async def scenario_an_agent_session(self) -> None:
        session = await self.call(
            self.api.sessions.start("send-email", type="chat.agent", external_id="async-chat")
        )
        seq = await self.call(self.api.sessions.send_input("async-chat", {"text": "hi"}))
        self.assertEqual(seq, 0)
        records = await self.call(self.api.sessions.read_records(session.id, io="in"))
        self.assertEqual([r.value for r in records], [{"text": "hi"}])
        pages = await self.items(await self.call(self.api.sessions.list(external_id="async-chat")))
        self.assertEqual([s.id for s in pages], [session.id])
        await self.call(self.api.sessions.append_output("async-chat", "chunk"))
        await self.call(self.api.sessions.write_control("async-chat", "turn-complete"))
        reader = self.api.sessions.read("async-chat", until_turn_complete=True)
        read = await self.items(reader)
        self.assertEqual(
            [(r.value, r.control) for r in read], [("chunk", None), ("", "turn-complete")]
        )
        closed = await self.call(self.api.sessions.close(session.id, reason="done"))
        self.assertTrue(closed.is_closed)


@scenarios_as_tests
class SyncScenarios(Scenarios):
    api_class = TriggerClient
    page_class = CursorPage


@scenarios_as_tests
class AsyncScenarios(Scenarios):
    api_class = AsyncTriggerClient
    page_class = AsyncCursorPage


class AsyncOnlyTests(ClientTestCase):
    def make(self, **overrides: Any) -> AsyncTriggerClient:
        return AsyncTriggerClient(self.emulator.secret_key, **self.client_options(**overrides))

    def test_twenty_concurrent_calls_are_in_flight_at_once(self):
        # Each retrieval is held at the emulator until all twenty have arrived: calls made one
        # after another (a lock, a single connection) leave the barrier short until its timeout
        # breaks it. A barrier rather than a stopwatch, which a loaded machine spoils.
        barrier = threading.Barrier(20, timeout=10)
        broken: list[str] = []
        dispatch = self.emulator.app.dispatch

        def held(request: Any, entry: Any = None) -> Any:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:  # stays broken: the others pass at once
                broken.append(request.path)
            return dispatch(request, entry)

        async def main() -> list[Any]:
            async with self.make() as client:
                run_id = (await client.runs.list(limit=1)).data[0].id
                self.emulator.app.dispatch = held  # type: ignore[method-assign]
                self.addCleanup(vars(self.emulator.app).pop, "dispatch", None)
                return await asyncio.gather(*(client.runs.retrieve(run_id) for _ in range(20)))

        runs = asyncio.run(main())
        self.assertEqual(broken, [])
        self.assertEqual(len({run.id for run in runs}), 1)
        self.assertEqual(self.journal.count(method="GET", status=200), 21)

    def test_cancelling_the_task_stops_the_call_and_its_retry_sleep(self):
        async def main() -> None:
            async with self.make(retry={"min_delay": 0.6, "max_delay": 0.6}) as client:
                self.emulator.faults.fail_next(1, 503)  # then a 0.6 s backoff sleep
                task = asyncio.ensure_future(client.runs.list(limit=1))
                while not self.journal.count(path="/api/v1/runs", status=503):
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)  # now in the retry's sleep
                self.assertFalse(task.done())
                started = time.monotonic()
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                self.assertLess(time.monotonic() - started, 0.2)
                await asyncio.sleep(0.8)
                # The retry, due at 0.6 s, would have been answered 200.
                self.assertEqual(self.journal.count(path="/api/v1/runs", status=200), 0)

                self.emulator.faults.stall_next(1, 3.0)  # cancelled while waiting for an answer
                task = asyncio.ensure_future(client.runs.list(limit=1))
                await asyncio.sleep(0.3)
                self.assertFalse(task.done())
                started = time.monotonic()
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                self.assertLess(time.monotonic() - started, 0.2)

        asyncio.run(main())

    def test_no_thread_pool_and_no_thread(self):
        threads_before = set(threading.enumerate())

        async def main() -> None:
            loop = asyncio.get_running_loop()
            async with self.make() as client:
                await asyncio.gather(*(client.runs.list(limit=1) for _ in range(5)))
                self.assertIsNone(getattr(loop, "_default_executor", None))
                new = set(threading.enumerate()) - threads_before
                # Only the emulator's request threads: no executor, anyio or asgiref worker.
                self.assertEqual({t for t in new if "process_request" not in t.name}, set())

        asyncio.run(main())

    def test_one_connection_pool_per_event_loop(self):
        client = self.make()

        async def pool() -> Any:
            await client.runs.list(limit=1)
            first = client._transport.client()
            await client.runs.list(limit=1)
            self.assertIs(client._transport.client(), first)
            await client.aclose()
            return first

        self.assertIsNot(asyncio.run(pool()), asyncio.run(pool()))

    def test_an_async_page_is_not_iterated_synchronously(self):
        async def main() -> None:
            async with self.make() as client:
                page = await client.runs.list(limit=1)
                with self.assertRaises(TypeError):
                    list(page)

        asyncio.run(main())


class GetAsyncClientTests(ClientTestCase):
    def settings(self) -> Any:  # type: ignore[override]
        return override_settings(
            TRIGGER={
                "default": {
                    "ACCESS_TOKEN": self.emulator.secret_key,
                    "API_URL": self.emulator.base_url,
                    "PROJECT_REF": self.emulator.project_ref,
                }
            }
        )

    def test_cached_per_loop_and_closed_by_the_lifespan_shutdown(self):
        from django_trigger import get_async_client
        from django_trigger.asgi import with_trigger_lifespan

        async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
            raise AssertionError("lifespan must not reach the app")

        async def main() -> Any:
            client = get_async_client()
            self.assertIs(get_async_client("default"), client)
            self.assertEqual(len((await client.runs.list(limit=2)).data), 2)
            pool = client._transport.client()
            messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
            sent: list[str] = []

            async def receive() -> Any:
                return next(messages)

            async def send(message: Any) -> None:
                sent.append(message["type"])

            await with_trigger_lifespan(app)({"type": "lifespan"}, receive, send)
            self.assertEqual(sent, ["lifespan.startup.complete", "lifespan.shutdown.complete"])
            self.assertTrue(pool.is_closed)
            self.assertIsNot(get_async_client(), client)  # a new one after shutdown
            await get_async_client().aclose()
            return client

        with self.settings():
            first = asyncio.run(main())
            second = asyncio.run(main())
        self.assertIsNot(first, second)  # another loop, another client

    def test_needs_a_running_loop(self):
        from django_trigger import get_async_client

        with self.settings(), self.assertRaises(RuntimeError):
            get_async_client()


class OneSourceOfTruthTests(SimpleTestCase):
    """A resource method runs on both clients when it only describes its request (``return
    self._request(...)``) or is a ``@flow``: one that catches an error, sleeps, or uses an
    answer before returning would silently do the wrong thing with the async client."""

    def test_methods_that_look_at_an_answer_are_flows(self):
        import django_trigger.resources as package
        from django_trigger.resources._base import Resource

        problems = []
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"django_trigger.resources.{info.name}")
            for cls in vars(module).values():
                if not (
                    isinstance(cls, type)
                    and issubclass(cls, Resource)
                    and cls.__module__ == module.__name__
                ):
                    continue
                for name, function in vars(cls).items():
                    if not inspect.isfunction(function):
                        continue
                    chain = [function]
                    while hasattr(chain[-1], "__wrapped__"):
                        chain.append(chain[-1].__wrapped__)
                    if any(
                        getattr(f, "is_flow", False) for f in chain
                    ) or inspect.isgeneratorfunction(chain[-1]):
                        continue
                    source = inspect.getsource(chain[-1])
                    if (
                        re.search(
                            r"except .*(Api\w*|NotFound|Conflict|Unprocessable\w*|"
                            r"OutcomeUnknown\w*|BadRequest|RateLimit)Error",
                            source,
                        )
                        or "sleep(" in source
                        or re.search(r"=\s*(self|Resource)\._request\(", source)
                    ):
                        problems.append(f"{cls.__name__}.{name}")
        self.assertEqual(problems, [], "write these as @flow (resources/_base.py)")

    def test_flows_yield_their_requests(self):
        """In a flow, ``return self._request(...)`` hands the async client's caller a coroutine
        that nobody awaits (the request is never sent): a flow yields every request."""
        import django_trigger.resources as package

        problems = []
        for path in sorted(Path(package.__path__[0]).glob("*.py")):
            tree = ast.parse(path.read_text())
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef):
                    continue
                own = list(_own_nodes(function))
                if not any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in own):
                    continue
                for node in own:
                    if (
                        isinstance(node, ast.Return)
                        and isinstance(node.value, ast.Call)
                        and isinstance(node.value.func, ast.Attribute)
                        and node.value.func.attr == "_request"
                    ):
                        problems.append(f"{path.name}:{node.lineno} {function.name}")
        self.assertEqual(problems, [], "write: result = yield self._request(...)")


def _own_nodes(function: ast.FunctionDef) -> Any:
    """The nodes of ``function``'s own body (not of functions defined inside it)."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


class WithoutHttpxTests(SimpleTestCase):
    def test_django_trigger_imports_and_works_without_httpx(self):
        code = (
            "import sys\n"
            "class Hide:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'httpx' or name.startswith('httpx.'):\n"
            "            raise ModuleNotFoundError(\"No module named 'httpx'\", name='httpx')\n"
            "sys.meta_path.insert(0, Hide())\n"
            "import django_trigger, django_trigger.client, django_trigger.clients\n"
            "from django_trigger import TriggerClient\n"
            "TriggerClient('tr_dev_x' + 'y' * 20)\n"
            "assert 'httpx' not in sys.modules\n"
            "try:\n"
            "    from django_trigger import AsyncTriggerClient\n"
            "except ModuleNotFoundError as exc:\n"
            "    assert exc.name == 'httpx', exc\n"
            "    print('ok')\n"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "ok")


class SurfaceParityTests(SimpleTestCase):
    """Every resource and method of a live ``TriggerClient`` is on a live
    ``AsyncTriggerClient`` with the same parameters (nested resources and raw twins included),
    walked from the instances rather than from the declarations, and only the lifecycle
    methods differ (``close``/``with`` against ``aclose``/``async with``)."""

    def surface(self, client: Any, prefix: str = "") -> dict[str, inspect.Signature | str]:
        from django_trigger.resources._base import Resource

        found: dict[str, inspect.Signature | str] = {}
        for name in dir(client):
            if name.startswith("_") or (name == "with_raw_response" and "with_raw" in prefix):
                continue  # (a raw twin's own twin is itself)
            value = getattr(client, name)
            path = f"{prefix}{name}"
            if isinstance(value, Resource):
                found[path] = type(value).__qualname__
                found.update(self.surface(value, f"{path}."))
            elif inspect.ismethod(value):
                found[path] = inspect.signature(value)
        return found

    def test_every_resource_and_method_with_the_same_parameters(self):
        token = "tr_dev_" + "x" * 20
        sync = self.surface(TriggerClient(token))
        async_ = self.surface(AsyncTriggerClient(token))
        lifecycle = {"close"}, {"aclose"}
        self.assertEqual(set(sync) - set(async_), lifecycle[0])
        self.assertEqual(set(async_) - set(sync), lifecycle[1])
        shared = sorted(set(sync) & set(async_))
        self.assertGreater(sum(".with_raw_response." in p for p in shared), 100)
        self.assertIn("query.dashboards.widgets.with_raw_response.update", shared)
        for path in shared:
            with self.subTest(path=path):
                self.assertEqual(async_[path], sync[path])
        for sync_cm, async_cm in (("__enter__", "__aenter__"), ("__exit__", "__aexit__")):
            self.assertTrue(inspect.iscoroutinefunction(getattr(AsyncTriggerClient, async_cm)))
            self.assertTrue(callable(getattr(TriggerClient, sync_cm)))
