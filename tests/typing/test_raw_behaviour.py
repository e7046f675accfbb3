"""The generated raw views (resources/_typed.py) against what ``with_raw_response`` really
answers, on both clients, over HTTP to the emulator: every method whose raw answer is not a
``RawResponse`` by construction is called here through ``with_raw_response`` and its answer
checked against the transform the generator gives it (``views_of``). A method is a
``RawResponse`` by construction when it only describes its request: every ``return`` is
``self._request(...)``, ``self._cursor_page(...)``, ``self._offset_page(...)`` or a private
helper that itself only does that (``_cooked`` or a flow would break it); the guard test below
proves that of every method not called here, so no method escapes both."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from django.test import SimpleTestCase

from django_trigger._http.transport import RawResponse
from django_trigger.async_client import AsyncTriggerClient
from django_trigger.client import TriggerClient

from ..core.base import BothClients, scenarios_as_tests
from .generate import RAW_RESULTS, public_methods, resources, views_of

DESCRIBERS = {"_request", "_cursor_page", "_offset_page"}
WIDGET = {
    "title": "Runs",
    "query": "SELECT count() AS runs FROM runs",
    "display": {"type": "table"},
}


def _unwrapped(function: Any) -> Any:
    while hasattr(function, "__wrapped__"):
        if getattr(function, "is_flow", False):
            return None  # a flow: looks at answers, so it is called, never assumed
        function = function.__wrapped__
    return None if getattr(function, "is_flow", False) else function


def _returns(function: Any) -> list[ast.expr | None]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    stack, found = list(ast.iter_child_nodes(tree)), []
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return [None]  # a generator: not a plain description
        if isinstance(node, ast.Return):
            found.append(node.value)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def describes_only(cls: type, function: Any, depth: int = 0) -> bool:
    """Whether every ``return`` of ``function`` is a request description (see above)."""
    function = _unwrapped(function)
    if function is None or depth > 2:
        return False
    returns = _returns(function)
    for value in returns:
        if not (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id == "self"
        ):
            return False
        name = value.func.attr
        if name in DESCRIBERS:
            continue
        if not name.startswith("_") or not describes_only(cls, getattr(cls, name), depth + 1):
            return False
    return bool(returns)


def must_be_called() -> set[tuple[str, str]]:
    """``(resource class, method)`` whose raw answer only running it can show."""
    return {
        (cls.__name__, name)
        for _attribute, cls in resources()
        for name in public_methods(cls)
        if not describes_only(cls, getattr(cls, name))
    }


class RawAnswersTests(BothClients):
    """Each scenario runs on the sync and on the async client (``api_class``)."""

    def setUp(self) -> None:
        super().setUp()
        self.checked: set[tuple[str, str]] = set()

    def check(self, resource: Any, name: str, answer: Any) -> Any:
        """``answer`` (of ``resource.with_raw_response.<name>``) is what the typed view says;
        returns its parsed value when it is a ``RawResponse``."""
        cls = type(resource)
        method = getattr(cls, name)
        is_async = isinstance(self.api, AsyncTriggerClient)
        transform = views_of(cls.__name__, name, method)[2 if is_async else 0]
        self.checked.add((cls.__name__, name))
        label = f"{cls.__name__}.{name} ({'async' if is_async else 'sync'}, {transform})"
        if transform.endswith("_or_none_of") and answer is None:
            return None
        if "raw" in transform:
            self.assertIsInstance(answer, RawResponse, label)
            parsed = answer.parse()
            if transform.endswith("_of"):
                expected = RAW_RESULTS[(cls.__name__, name)]
                self.assertEqual(type(parsed).__name__, expected, label)
            return parsed
        self.assertNotIsInstance(answer, RawResponse, label)
        returns = str(inspect.signature(method).return_annotation)
        self.assertIn("None" if answer is None else type(answer).__name__, returns, label)
        return answer

    async def raw(self, resource: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        answer = getattr(resource.with_raw_response, name)(*args, **kwargs)
        if inspect.isawaitable(answer):
            answer = await answer
        return self.check(resource, name, answer)

    async def same(self, resource: Any, name: str, *args: Any, **kwargs: Any) -> None:
        """A method answering an iterator (never awaited): built, checked, closed unread."""
        answer = getattr(resource.with_raw_response, name)(*args, **kwargs)
        try:
            self.check(resource, name, answer)
        finally:
            answer.close()

    def complete(self, run_id: str) -> None:
        with self.emulator.state.lock:
            self.emulator.state.runs.complete(run_id, {"sent": True})

    async def scenario_every_raw_answer(self) -> None:
        api = self.api
        run = await self.raw(api.tasks, "trigger", "send-email", {"n": 1}, idempotency_key="k1")
        batch = await self.raw(
            api.tasks, "batch_trigger", [{"task": "send-email", "payload": {"n": 2}}]
        )
        await self.raw(api.runs, "retrieve", run.id)
        self.complete(run.id)
        await self.raw(api.runs, "poll", run.id, interval=0.01, timeout=10)
        await self.raw(api.runs, "retrieve_result", run.id)
        unfinished = await self.call(api.tasks.trigger("send-email", {"n": 3}))
        self.assertIsNone(await self.raw(api.runs, "retrieve_result", unfinished.id))
        await self.same(api.runs, "subscribe_to_run", run.id)
        await self.same(api.runs, "subscribe_to_batch", batch.id)
        await self.same(api.runs, "subscribe_to_runs_with_tag", "vip")
        await self.same(api.streams, "read", run.id)
        await self.raw(api.idempotency_keys, "reset", "send-email", "k1")

        await self.call(api.envvars.create("RAW_A", "1"))
        await self.raw(api.envvars, "delete", "RAW_A")
        await self.raw(api.envvars, "upload", {"RAW_B": "2"}, override=True)

        task = self.emulator.scheduled_tasks[0]
        schedule = await self.call(
            api.schedules.create(task=task, cron="0 9 * * *", deduplication_key="raw")
        )
        await self.raw(api.schedules, "update", schedule.id, task=task, cron="0 10 * * *")
        await self.raw(api.schedules, "delete", schedule.id)

        queue = (await self.call(api.queues.list(page=1, per_page=1))).data[0]
        await self.call(api.queues.override_concurrency_limit(queue.id, concurrency_limit=2))
        await self.raw(api.queues, "reset_concurrency_limit", queue.id)

        await self.call(api.bulk_actions.create("cancel", run_ids=[unfinished.id]))
        actions = await self.items(await self.call(api.bulk_actions.list()))
        pending = [a for a in actions if a.status == "PENDING"]
        await self.raw(api.bulk_actions, "abort", pending[0].id)
        await self.raw(api.bulk_actions, "poll", pending[0].id, interval=0.01, timeout=10)

        token = await self.call(api.waitpoints.create_token(timeout="1h"))
        await self.raw(api.waitpoints, "complete_token", token.id, {"ok": True})

        # (the root key signs tokens locally: no response to answer raw; an additional key's
        # tokens are minted by the server)
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            additional = self.make(self.emulator.state.add_api_key(env))
        try:
            auth = additional.auth
            await self.raw(auth, "create_public_token", scopes={"read": {"runs": [run.id]}})
            await self.raw(auth, "create_trigger_public_token", "send-email")
            await self.raw(auth, "create_batch_trigger_public_token", "send-email")
        finally:
            await self.close(additional)

        await self.call(api.sessions.start("send-email", type="chat.agent", external_id="raw"))
        await self.call(api.sessions.append_output("raw", "chunk"))
        await self.raw(api.sessions, "write_control", "raw", "turn-complete")
        await self.raw(api.sessions, "trim_output", "raw", 1)
        await self.same(api.sessions, "read", "raw")

        dashboards = api.query.dashboards
        await self.raw(dashboards, "list")
        made = await self.raw(dashboards, "create", "Raw")
        await self.raw(dashboards, "retrieve", made.id)
        made = await self.raw(dashboards, "update", made.id, title="Raw 2")
        added = await self.raw(dashboards.widgets, "add", made.id, WIDGET)
        await self.raw(dashboards.widgets, "update", made.id, added.widget_id, title="All")
        await self.raw(dashboards, "replace", made.id, [{**WIDGET, "id": added.widget_id}])
        await self.raw(dashboards.widgets, "delete", made.id, added.widget_id)
        await self.raw(dashboards, "delete", made.id)

        prod = self.make(self.emulator.secret_keys["prod"])
        try:
            deployments = await self.call(prod.deployments.list(limit=10))
            await self.raw(
                prod.deployments, "promote", deployments.data[-1].version, allow_rollbacks=True
            )
        finally:
            await self.close(prod)

        self.assertEqual(must_be_called() - self.checked, set(), "call these above")


@scenarios_as_tests
class SyncRawAnswersTests(RawAnswersTests):
    api_class = TriggerClient


@scenarios_as_tests
class AsyncRawAnswersTests(RawAnswersTests):
    api_class = AsyncTriggerClient


class GuardTests(SimpleTestCase):
    def test_the_guard_sees_flows_and_helpers(self):
        from django_trigger.resources.envvars import EnvVars
        from django_trigger.resources.runs import Runs

        self.assertTrue(describes_only(Runs, Runs.list))
        self.assertTrue(describes_only(EnvVars, EnvVars.create))  # through self._call
        self.assertFalse(describes_only(Runs, Runs.poll))  # a flow
        self.assertFalse(describes_only(Runs, Runs.subscribe_to_run))  # another object
        self.assertIn(("Dashboards", "update"), must_be_called())  # nested resources too
