"""Shared set-up for the client's tests: one emulator per test class (fresh state per test)
and a ``TriggerClient`` pointed at it with tiny retry delays; ``BothClients`` and
``scenarios_as_tests``: scenarios written once, run through the sync and the async client."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from django.test import SimpleTestCase

from django_trigger.client import TriggerClient
from django_trigger.testing import EmulatorTestMixin

FAST_RETRY = {"min_delay": 0.001, "max_delay": 0.005}


class ClientTestCase(EmulatorTestMixin, SimpleTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.trigger = self.make_client()

    def tearDown(self) -> None:
        self.trigger.close()
        super().tearDown()

    def client_options(self, **overrides: Any) -> dict[str, Any]:
        """A test client's options: the emulator, tiny retry delays, a 5 s timeout."""
        options: dict[str, Any] = {
            "base_url": self.emulator.base_url,
            "project_ref": self.emulator.project_ref,
            "retry": FAST_RETRY,
            "timeout": 5.0,
        }
        options.update(overrides)
        return options

    def make_client(self, token: str | None = None, **overrides: Any) -> TriggerClient:
        client = TriggerClient(
            token or self.emulator.secret_key, **self.client_options(**overrides)
        )
        self.addCleanup(client.close)
        return client

    def pat_client(self, **overrides: Any) -> TriggerClient:
        overrides.setdefault("environment", "dev")
        return self.make_client(self.emulator.access_token, **overrides)

    @property
    def journal(self):
        return self.emulator.journal

    def after_answers(self, n: int, method: str, path: str, action: Callable[[], Any]) -> None:
        """Run ``action`` on the emulator's thread once its ``n``-th answer to ``method path``
        is computed, before it is sent: the next such request sees what ``action`` did, on
        any connection, however loaded the machine (a timer races the client's requests)."""
        dispatch = self.emulator.app.dispatch
        answered = 0

        def counting(request: Any, entry: Any = None) -> Any:
            nonlocal answered
            reply = dispatch(request, entry)
            if request.method == method and request.path == path:
                answered += 1
                if answered == n:
                    action()
            return reply

        self.emulator.app.dispatch = counting  # type: ignore[method-assign]
        self.addCleanup(vars(self.emulator.app).pop, "dispatch", None)


C = TypeVar("C", bound="BothClients")


class BothClients(ClientTestCase):
    """Each ``scenario_*`` (an ``async def``) runs with ``self.api`` a sync or an async client
    (``api_class``, chosen by the concrete class); ``await self.call(x)`` is the result of a
    client call either way. ``@scenarios_as_tests`` makes a ``test_*`` of each scenario."""

    api_class: Any = TriggerClient

    def make(self, token: str | None = None, **overrides: Any) -> Any:
        """A client of ``api_class`` (closed by the caller: ``await self.close(client)``)."""
        return self.api_class(token or self.emulator.secret_key, **self.client_options(**overrides))

    async def call(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def items(self, page: Any) -> list[Any]:
        # A stream reader has both protocols: the one of the client that made it
        both = hasattr(page, "__iter__") and hasattr(page, "__aiter__")
        if hasattr(page, "__aiter__") and (not both or self.api_class is not TriggerClient):
            return [item async for item in page]
        return list(page)

    async def close(self, client: Any) -> None:
        await self.call(client.aclose() if hasattr(client, "aclose") else client.close())

    def play(self, scenario: Callable[[], Coroutine[Any, Any, None]], **options: Any) -> None:
        async def main() -> None:
            self.api = self.make(**options)
            try:
                await scenario()
            finally:
                await self.close(self.api)

        asyncio.run(main())


def scenarios_as_tests(cls: type[C]) -> type[C]:
    """A ``test_<name>`` playing each ``scenario_<name>`` of ``cls`` (and its bases)."""
    for name in dir(cls):
        if name.startswith("scenario_"):

            def test(self: BothClients, name: str = name) -> None:
                self.play(getattr(self, name))

            setattr(cls, "test_" + name.removeprefix("scenario_"), test)
    return cls
