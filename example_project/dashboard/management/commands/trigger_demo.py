"""``manage.py trigger_demo``: the offline demo, with no configuration.

    python example_project/manage.py trigger_demo                 # http://127.0.0.1:8000/
    python example_project/manage.py trigger_demo --port 8001 --seed 7 --runs 500
    python example_project/manage.py trigger_demo --setup-only    # prepare, check, exit

What it does:

1. starts django_trigger's emulator of the Trigger.dev API (seeded runs, schedules, env vars)
   in a thread of this process, on a free port of 127.0.0.1;
2. points the example's clients at it through the variables the settings read
   (``TRIGGER_SECRET_KEY``/``TRIGGER_API_URL``/``TRIGGER_PROJECT_REF`` for "default",
   ``TRIGGER_PROD_SECRET_KEY`` for "prod"), overriding any ``.env``;
3. migrates the database (SQLite, example_project/db.sqlite3 unless ``DATABASE_URL`` says
   otherwise) and creates or resets the superuser ``demo`` with password ``demo``;
4. runs ``manage.py runserver`` in a child process with those variables and waits for it.

The emulator lives in this process only: runserver's autoreloader restarts the child, never
the emulator. Ctrl+C (or SIGTERM) stops the server, its reloader and the emulator.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

MANAGE_PY = Path(__file__).resolve().parents[3] / "manage.py"
HOST = "127.0.0.1"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # fixed on purpose: a local, offline demo database
READY_TIMEOUT = 60.0  # seconds for runserver to start listening
STOP_TIMEOUT = 10.0  # seconds for runserver to exit after SIGTERM before it is killed


class Command(BaseCommand):
    help = (
        "Offline demo: start a seeded local Trigger.dev emulator, point the example's clients "
        "at it, create the database and a demo superuser, and run the development server."
    )
    # The clients have no token until the emulator runs: checks run after that (migrate).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="port of the development server (default 8000)"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="seed of the emulator's keys and data (default 1)"
        )
        parser.add_argument(
            "--runs",
            type=int,
            default=300,
            help="runs to seed in the dev environment (default 300; prod gets a fifth as many)",
        )
        parser.add_argument(
            "--emulator-port",
            type=int,
            default=0,
            help="port of the emulator (default: any free port)",
        )
        parser.add_argument(
            "--noreload", action="store_true", help="run the server without the autoreloader"
        )
        parser.add_argument(
            "--setup-only",
            action="store_true",
            help="start the emulator, prepare the database and the user, check "
            "that the client reaches the emulator, print it all and exit "
            "without running the server",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from django_trigger.testing import Emulator
        except ImportError as exc:
            raise CommandError(
                "The demo needs the emulator: ./demo.sh installs it (pip install -e '.[testing]') "
                f"({exc})"
            ) from exc
        port = options["port"]
        if not options["setup_only"]:
            _require_free_port(port)
        try:
            emulator = Emulator(
                seed=options["seed"], runs=options["runs"], port=options["emulator_port"]
            )
            emulator.start()
        except (ValueError, OSError) as exc:
            raise CommandError(f"Cannot start the emulator: {exc}") from exc
        try:
            self.print_banner(emulator)
            environment = self.point_clients_at(emulator)
            self.prepare_database()
            self.check_client()
            self.create_approvals()
            self.print_summary(emulator, port, options["seed"], options["runs"])
            if options["setup_only"]:
                self.stdout.write("Setup only: the emulator stops now; no server was started.")
                return
            self.serve(port, environment, reload=not options["noreload"])
        finally:
            emulator.stop()

    # -- steps -----------------------------------------------------------------------------------

    def point_clients_at(self, emulator: Any) -> dict[str, str]:
        """Set the variables the settings read, here and for the server's process."""
        environment = {
            "TRIGGER_SECRET_KEY": emulator.secret_keys["dev"],
            "TRIGGER_ACCESS_TOKEN": "",
            "TRIGGER_API_URL": emulator.base_url,
            "TRIGGER_PROJECT_REF": emulator.project_ref,
            "TRIGGER_PREVIEW_BRANCH": "",
            "TRIGGER_PROD_SECRET_KEY": emulator.secret_keys["prod"],
            "EXAMPLE_DEMO_EMULATOR_URL": emulator.base_url,
        }
        os.environ.update(environment)
        # Settings were read before the emulator existed: re-read the environment fallbacks
        # of the default client, here in this process (the server's process reads them fresh).
        from django_trigger.clients import clients
        from django_trigger.conf import trigger_settings

        clients.close_all()
        trigger_settings.reload()
        return environment

    def prepare_database(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            **{user_model.USERNAME_FIELD: DEMO_USERNAME},
            defaults={"email": "demo@example.com"},
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(
            f"{verb} the superuser {DEMO_USERNAME!r} in the database {_database_name()}."
        )

    def check_client(self) -> None:
        """One request through the default client, the way the views make it."""
        from django_trigger import TriggerError, get_client

        try:
            page = get_client().runs.list(limit=1)
        except TriggerError as exc:
            raise CommandError(f"The default client cannot reach the emulator: {exc}") from exc
        latest = page.data[0].id if page.data else "none"
        self.stdout.write(f"The default client reaches the emulator (latest run: {latest}).")

    def create_approvals(self) -> None:
        """Tokens for the approvals page, as tasks waiting on ``wait.forToken()`` would create
        them (idempotency keys: the same tokens however often this runs on one emulator)."""
        from django_trigger import TriggerError, get_client

        try:
            for number in (1001, 1002, 1003):
                get_client().waitpoints.create_token(
                    timeout="1d",
                    tags=[f"order:{number}"],
                    idempotency_key=f"demo-approval-{number}",
                )
        except TriggerError as exc:
            raise CommandError(f"Cannot create the demo's waitpoint tokens: {exc}") from exc
        self.stdout.write("Created 3 waitpoint tokens waiting for approval (/approvals/).")

    def print_banner(self, emulator: Any) -> None:
        line = "=" * 78
        self.stdout.write(self.style.WARNING(line))
        self.stdout.write(
            self.style.WARNING(
                f"DEMO MODE: talking to a local Trigger.dev emulator at {emulator.base_url} "
                "(no real API is contacted)"
            )
        )
        self.stdout.write(self.style.WARNING(line))

    def print_summary(self, emulator: Any, port: int, seed: int, runs: int) -> None:
        site = f"http://{HOST}:{port}"
        self.stdout.write(
            f"  emulator     seed {seed}, {runs} seeded runs in dev (fewer in prod), project "
            f"{emulator.project_ref}\n"
            f"  clients      'default' = the dev secret key, 'prod' = the prod secret key\n"
            # Secrets of this local emulator only (the same for a seed on every machine),
            # printed so that other tools (trigger_sync_envvars, curl, the TypeScript SDK)
            # can be pointed at the demo (the emulator CLI prints them too; nothing else does).
            f"  API URL      {emulator.base_url}\n"
            f"  keys         dev {emulator.secret_keys['dev']}\n"
            f"               prod {emulator.secret_keys['prod']}\n"
            f"               personal access token {emulator.access_token}\n"
            f"               (keys of this local emulator only, shown because this is a demo)\n"
            f"  site         {site}/  (runs, trigger form, approvals, async overview, chat)\n"
            f"  admin        {site}/admin/\n"
            f"  log in as    {DEMO_USERNAME} / {DEMO_PASSWORD}  (a fixed password: this is a "
            "local demo database)"
        )

    def serve(self, port: int, environment: dict[str, str], *, reload: bool) -> None:
        command = [sys.executable, str(MANAGE_PY), "runserver", f"{HOST}:{port}"]
        if not reload:
            command.append("--noreload")
        # Ctrl+C and SIGTERM both end the demo, even if the launching shell made background
        # processes ignore SIGINT (handlers set here are reset to the default in the server).
        previous = {
            signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
            signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_keyboard_interrupt),
        }
        server = None
        try:
            # Its own process group, so that stopping it also stops the autoreloader's child.
            server = subprocess.Popen(
                command, env={**os.environ, **environment}, start_new_session=True
            )
            if _wait_until_listening(port, server):
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Demo ready: http://{HOST}:{port}/admin/ (log in as {DEMO_USERNAME} / "
                        f"{DEMO_PASSWORD}). Press Ctrl+C to stop the server and the emulator."
                    )
                )
            returncode = server.wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the server and the emulator…")
            return
        finally:
            if server is not None and server.poll() is None:
                _stop_group(server)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if returncode:
            raise CommandError(
                f"The development server exited with status {returncode}.", returncode=returncode
            )


def _require_free_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise CommandError(
                f"Port {port} on {HOST} is not available ({exc.strerror or exc}). Stop what "
                f"uses it, or choose another port: --port {port + 1} "
                f"(./demo.sh: PORT={port + 1} ./demo.sh)."
            ) from exc


def _wait_until_listening(port: int, server: subprocess.Popen) -> bool:
    """Poll until the server accepts connections; False if it exited or never listened."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        with suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


def _stop_group(server: subprocess.Popen) -> None:
    """Stop the server's process group: runserver and, with the autoreloader, its child.
    SIGTERM rather than SIGINT, which a shell may have told background processes to ignore."""
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=timeout)
            return


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _database_name() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"])
