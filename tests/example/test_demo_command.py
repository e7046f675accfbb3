"""``manage.py trigger_demo`` in real processes: the setup path (database, user, seeded
emulator) and the whole demo (server up, pages served, Ctrl+C stops everything)."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import SimpleTestCase

from django_trigger.testing import Emulator

from . import EXAMPLE_PROJECT

REPO = EXAMPLE_PROJECT.parent
MANAGE_PY = EXAMPLE_PROJECT / "manage.py"
DEMO_LINE = re.compile(
    r"DEMO MODE: talking to a local Trigger\.dev emulator at (http://127\.0\.0\.1:\d+) "
    r"\(no real API is contacted\)"
)
# What the demo must not inherit from the test process (or a developer's shell).
SCRUBBED = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "EXAMPLE_DEMO_EMULATOR_URL")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refuses_connections(url_or_port: str | int) -> bool:
    port = url_or_port if isinstance(url_or_port, int) else int(url_or_port.rsplit(":", 1)[1])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


class DemoCommandTestCase(SimpleTestCase):
    def setUp(self) -> None:
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.database = Path(directory.name) / "demo.sqlite3"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in SCRUBBED and not key.startswith("TRIGGER_")
        }
        self.env.update(
            DATABASE_URL=f"sqlite:///{self.database}",
            PYTHONPATH=str(REPO),
            PYTHONUNBUFFERED="1",
        )

    def demo(self, *args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE_PY), "trigger_demo", "--seed", "5", "--runs", "40", *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.addCleanup(self.stop, process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()

    def superusers(self) -> list[tuple[str, str, int, int]]:
        with sqlite3.connect(self.database) as db:
            return db.execute(
                "SELECT username, password, is_staff, is_superuser FROM auth_user"
            ).fetchall()


class SetupOnlyTests(DemoCommandTestCase):
    def test_prepares_everything_and_leaves_nothing_running(self):
        process = self.demo("--setup-only")
        output, _ = process.communicate(timeout=120)
        self.assertEqual(process.returncode, 0, output)

        emulator_url = DEMO_LINE.search(output).group(1)
        self.assertTrue(
            output.index("DEMO MODE") < output.index("superuser"),
            "the demo says it is a demo before anything else",
        )
        self.assertIn(f"Created the superuser 'demo' in the database {self.database}.", output)
        self.assertRegex(output, r"The default client reaches the emulator \(latest run: run_")
        self.assertIn("Created 3 waitpoint tokens waiting for approval", output)
        self.assertIn("log in as    demo / demo", output)
        self.assertIn("http://127.0.0.1:8000/admin/", output)
        self.assertNotIn("Starting development server", output)
        # The emulator's keys, for other tools (e.g. trigger_sync_envvars) against the demo:
        # the same keys a seed always gives, the emulator's own and nobody else's.
        seeded = Emulator(seed=5, runs=40)
        self.assertIn(f"API URL      {emulator_url}", output)
        self.assertIn(f"dev {seeded.secret_keys['dev']}", output)
        self.assertIn(f"prod {seeded.secret_keys['prod']}", output)
        self.assertIn(f"personal access token {seeded.access_token}", output)
        self.assertIn("keys of this local emulator only", output)

        [(username, password, is_staff, is_superuser)] = self.superusers()
        self.assertEqual((username, is_staff, is_superuser), ("demo", 1, 1))
        self.assertTrue(PBKDF2PasswordHasher().verify("demo", password))
        self.assertTrue(refuses_connections(emulator_url), "the emulator was stopped")

        # Again: same database, the user is reset (not duplicated), the seed gives the same data.
        again = self.demo("--setup-only")
        second_output, _ = again.communicate(timeout=120)
        self.assertEqual(again.returncode, 0, second_output)
        self.assertIn("Reset the superuser 'demo'", second_output)
        self.assertEqual(len(self.superusers()), 1)
        latest = re.compile(r"latest run: (run_\w+)")
        self.assertEqual(latest.search(output).group(1), latest.search(second_output).group(1))

    def test_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            process = self.demo("--port", str(port))
            output, _ = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 1)
        self.assertIn(f"Port {port} on 127.0.0.1 is not available", output)
        self.assertIn(f"--port {port + 1}", output)
        self.assertNotIn("DEMO MODE", output)  # nothing was started
        self.assertFalse(self.database.exists())


class ServerTests(DemoCommandTestCase):
    """The demo as ``./demo.sh`` runs it (with the autoreloader), stopped by Ctrl+C."""

    def test_serves_the_admin_and_the_views_then_stops_on_ctrl_c(self):
        port = free_port()
        process = self.demo("--port", str(port))
        lines: queue.Queue[str | None] = queue.Queue()
        output: list[str] = []

        def read() -> None:
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        while True:
            line = lines.get(timeout=120)
            self.assertIsNotNone(line, "the demo exited early:\n" + "".join(output))
            output.append(line)
            if line.startswith("Demo ready"):
                break
        emulator_url = DEMO_LINE.search("".join(output)).group(1)
        site = f"http://127.0.0.1:{port}"

        session = requests.Session()
        # The autoreloader may still be starting its serving child when "Demo ready" prints
        # on a loaded machine: wait for a login page that sets the CSRF cookie.
        for _ in range(20):
            page = session.get(f"{site}/admin/login/", timeout=30)
            if "csrftoken" in session.cookies:
                break
            time.sleep(0.5)
        self.assertIn(
            "csrftoken",
            session.cookies,
            f"login page {page.status_code} without a CSRF cookie:\n{page.text[:500]}",
        )
        login = session.post(
            f"{site}/admin/login/?next=/",
            data={
                "username": "demo",
                "password": "demo",
                "next": "/",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            timeout=30,
        )
        self.assertEqual(login.url, f"{site}/")
        self.assertIn("DEMO MODE", login.text)
        self.assertIn(emulator_url, login.text)
        self.assertRegex(login.text, r'href="/runs/run_\w+/"')

        runs = session.get(f"{site}/admin/django_trigger/run/", timeout=30)
        self.assertEqual(runs.status_code, 200)
        self.assertIn("DEMO MODE", runs.text)
        self.assertRegex(runs.text, r"run_[0-9a-z]{20,}")
        prod = session.get(f"{site}/?client=prod", timeout=30)
        self.assertRegex(prod.text, r'href="/runs/run_\w+/\?client=prod"')

        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        while (line := lines.get(timeout=30)) is not None:
            output.append(line)
        self.assertEqual(process.returncode, 0, "".join(output))
        self.assertIn("Stopping the server and the emulator", "".join(output))
        self.assertTrue(refuses_connections(port), "the server (and its reloader) stopped")
        self.assertTrue(refuses_connections(emulator_url), "the emulator stopped")
