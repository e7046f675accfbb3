"""Shared set-up for the emulator's own tests: raw ``requests`` over real HTTP, never the
django_trigger client (the emulator is an independent oracle of the real API)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import requests
from django.test import SimpleTestCase

from django_trigger.testing import Emulator

V2 = "2025-07-16"
FROZEN_NOW = dt.datetime(2026, 3, 18, 12, 0, 0, tzinfo=dt.timezone.utc)
_DEFAULT = object()


class EmulatorCase(SimpleTestCase):
    """One emulator per class (frozen clock, seed 1); state, journal and faults reset before
    each test."""

    emulator_kwargs: ClassVar[dict[str, Any]] = {}
    emu: ClassVar[Emulator]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        options = {"seed": 1, "now": FROZEN_NOW, **cls.emulator_kwargs}
        cls.emu = Emulator(**options).start()
        cls.addClassCleanup(delattr, cls, "emu")  # a finished class does not keep its world
        cls.addClassCleanup(cls.emu.stop)

    def setUp(self) -> None:
        super().setUp()
        self.emu.reset()
        self.http = requests.Session()
        self.addCleanup(self.http.close)
        self.addCleanup(self.assert_no_server_errors)

    def assert_no_server_errors(self) -> None:
        self.assertEqual(self.emu.server_errors, [], "the emulator raised inside a handler")

    # -- requests -------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        token: Any = _DEFAULT,
        v2: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        all_headers: dict[str, str] = {}
        if token is _DEFAULT:
            token = self.emu.secret_key
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if v2:
            all_headers["x-trigger-api-version"] = V2
        all_headers.update(headers or {})
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.emu.url(path), headers=all_headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def assertError(self, response: requests.Response, status: int, message: str) -> None:
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["error"], message)

    # -- state helpers ----------------------------------------------------------------------------

    @property
    def dev_env(self):
        return self.emu.state.environment_for_key(self.emu.secret_key)

    def dev_runs(self) -> list:
        with self.emu.state.lock:
            return self.emu.state.runs.in_environment(self.dev_env.id)

    def trigger(self, task: str = "send-email", payload: Any = None, **options: Any) -> str:
        response = self.post(
            f"/api/v1/tasks/{task}/trigger",
            json={"payload": payload or {"n": 1}, "options": options},
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["id"]
