"""Shared set-up of the command tests: an emulator per class (fresh state per test), a temp
directory for dotenv files, ``sync()`` that runs the command and returns what it printed and
its exit code, and readers of the emulator's state (unredacted) and journal."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, override_settings

from django_trigger.testing import EmulatorTestMixin


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    message: str = ""  # the CommandError's message (what Django prints to stderr)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr + self.message


class SyncTestCase(EmulatorTestMixin, SimpleTestCase):
    def setUp(self) -> None:
        super().setUp()
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.dir = Path(directory.name)
        self.emu = self.emulator
        self.journal = self.emulator.journal

    # -- inputs ------------------------------------------------------------------------------

    def env_file(self, content: str | bytes, name: str = ".env") -> str:
        path = self.dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def settings(self, **overrides: Any) -> override_settings:
        """TRIGGER pointed at the emulator, ``overrides`` applied to the default alias."""
        return override_settings(TRIGGER={"default": self.emu.client_settings(**overrides)})

    def pat_settings(self, **overrides: Any) -> override_settings:
        overrides.setdefault("ACCESS_TOKEN", self.emu.access_token)
        return self.settings(**overrides)

    def sync(self, *args: str, stdin: str | Any = "") -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        stream = io.StringIO(stdin) if isinstance(stdin, str) else stdin
        try:
            call_command("trigger_sync_envvars", *args, stdout=out, stderr=err, stdin=stream)
        except CommandError as exc:
            return Outcome(exc.returncode, out.getvalue(), err.getvalue(), str(exc))
        return Outcome(0, out.getvalue(), err.getvalue())

    def command(self, name: str, *args: str, stdin: str | Any = "", **options: Any) -> Outcome:
        """Run any command; its output and exit code (``CommandError`` caught)."""
        out = io.StringIO()
        err = options.pop("stderr", None) or io.StringIO()
        if stdin:
            options["stdin"] = io.StringIO(stdin) if isinstance(stdin, str) else stdin
        try:
            call_command(name, *args, stdout=out, stderr=err, **options)
        except CommandError as exc:
            return Outcome(exc.returncode, out.getvalue(), err.getvalue(), str(exc))
        return Outcome(0, out.getvalue(), err.getvalue())

    # -- the emulator's side -----------------------------------------------------------------

    def environment(self, slug: str = "dev", branch: str | None = None):
        with self.emu.state.lock:
            env = self.emu.state.environments_by_public_slug(self.emu.project_ref)[slug]
            return self.emu.state.branch_of(env, branch) if branch else env

    def remote(self, slug: str = "dev", branch: str | None = None) -> dict[str, tuple[str, bool]]:
        """``{name: (unredacted value, is_secret)}`` as the environment sees its variables."""
        env = self.environment(slug, branch)
        with self.emu.state.lock:
            store = self.emu.state.envvars
            return {
                name: (store.value(env, name), secret)
                for name, _value, secret in store.resolved(env)
            }

    def set_remote(self, name: str, value: str, slug: str = "dev", secret: bool = False) -> None:
        env = self.environment(slug)
        with self.emu.state.lock:
            self.emu.state.envvars.set(env, name, value, is_secret=secret)

    def path(self, slug: str = "dev", suffix: str = "") -> str:
        return f"/api/v1/projects/{self.emu.project_ref}/envvars/{slug}{suffix}"

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request the emulator received, in order."""
        return [(entry.method, entry.path) for entry in self.journal.entries]
