"""``Emulator``: the in-memory Trigger.dev management API on a real HTTP port.

    from django_trigger.testing import Emulator

    with Emulator(seed=1) as emu:
        emu.base_url          # "http://127.0.0.1:<port>"
        emu.secret_key        # dev secret key of the default project
        emu.faults.fail_next(1, 503)
        ...
        assert emu.journal.count(path="/api/v1/runs") == 1

The server is werkzeug's threaded WSGI server (HTTP/1.1 keep-alive) on a daemon thread.
``stop()`` is clean: it wakes stalled requests, stops the accept loop, closes idle keep-alive
connections and the listening socket, and joins the thread.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

from .app import EmulatorApp, build_router, load_handler_modules
from .faults import Faults
from .journal import Journal
from .lifecycle import Lifecycle
from .ratelimit import RateLimiter
from .request_idempotency import Mode, RequestIdempotency
from .server import create_server
from .world import Clock, World

__all__ = ["Emulator"]

_SECRET_KEY = re.compile(r"^tr_dev_[0-9A-Za-z]{8,}$")
_PAT = re.compile(r"^tr_pat_[0-9A-Za-z]{8,}$")
_PROJECT_REF = re.compile(r"^proj_[0-9a-z]{4,}$")


class Emulator:
    """An emulated Trigger.dev API. Every argument is optional; with the same ``seed`` (and a
    frozen clock, ``now=``) two emulators hold identical data.

    :param seed: seeds keys, ids, generated runs and fault randomness.
    :param latency_ms: added to every answer (plus ``jitter_ms``, seeded).
    :param fault_rate: share (0–1) of requests answered with a random 500/502/503.
    :param secret_key: use this ``tr_dev_…`` key for the default project's dev environment.
    :param access_token: use this ``tr_pat_…`` token for the default user.
    :param project_ref: use this ``proj_…`` ref for the default project.
    :param host: interface to bind (``127.0.0.1``).
    :param port: port to bind; ``0`` picks a free one.
    :param runs: how many runs to seed in the default project's dev environment (the prod
        environment gets a fifth as many, staging and preview branches a few).
    :param now: freeze the emulated clock at this instant (otherwise real time).
    :param enforce_rate_limits: refuse requests with 429 when the real token bucket is empty.
    :param request_idempotency: ``"service"`` (default): like the service's code, a repeated
        ``x-trigger-request-idempotency-key`` deduplicates nothing and a repeated batch
        idempotency key is refused with 422; ``"documented"``: trigger, v2 batch and v3 batch
        create replay their first answer as API.md §4.5 describes. See
        :mod:`.request_idempotency`.
    :param lifecycle: a :class:`~.lifecycle.Lifecycle` to let triggered runs move from
        queued to executing to completed (or failed) by themselves; ``None`` (default): runs
        stay where the API and the tests put them.
    :param realtime_hold: seconds a live realtime request is held when nothing changes
        (the service holds about 20).
    :param stream_wait_cap: the most seconds an answer of a realtime stream (a run's output
        stream, a session channel) stays open without a record before it ends, for tests
        that only wait for that end; ``None`` (default): as the service, ``Timeout-Seconds``
        or the route's default.
    """

    def __init__(
        self,
        seed: int = 1,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        secret_key: str | None = None,
        access_token: str | None = None,
        project_ref: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        runs: int = 300,
        now: dt.datetime | None = None,
        jitter_ms: float = 0,
        fault_statuses: tuple[int, ...] = (500, 502, 503),
        enforce_rate_limits: bool = False,
        request_idempotency: Mode = "service",
        lifecycle: Lifecycle | None = None,
        realtime_hold: float = 20.0,
        stream_wait_cap: float | None = None,
    ) -> None:
        if secret_key is not None and not _SECRET_KEY.fullmatch(secret_key):
            raise ValueError("secret_key must look like tr_dev_ followed by letters and digits")
        if access_token is not None and not _PAT.fullmatch(access_token):
            raise ValueError("access_token must look like tr_pat_ followed by letters and digits")
        if project_ref is not None and not _PROJECT_REF.fullmatch(project_ref):
            raise ValueError(
                "project_ref must look like proj_ followed by lowercase letters and digits"
            )
        if runs < 0:
            raise ValueError("runs must be zero or more")
        if lifecycle is not None and not isinstance(lifecycle, Lifecycle):
            raise TypeError("lifecycle must be a Lifecycle(queued=..., executing=...)")
        if not 0 < realtime_hold <= 300:
            raise ValueError("realtime_hold must be more than 0 and at most 300 seconds")
        if stream_wait_cap is not None and not 0 < stream_wait_cap <= 600:
            raise ValueError("stream_wait_cap must be more than 0 and at most 600 seconds")
        self.host = host
        self.port = port
        self.seed = seed
        self._latency = (float(latency_ms), float(jitter_ms))
        self._fault_rate = (float(fault_rate), tuple(fault_statuses))

        modules = load_handler_modules()
        self.clock = Clock(frozen_at=now)
        self._world = World(
            seed,
            runs=runs,
            secret_key=secret_key,
            access_token=access_token,
            project_ref=project_ref,
            clock=self.clock,
            store_factories=[
                (name, factory)
                for module in modules
                for name, factory in getattr(module, "STORES", {}).items()
            ],
            seeders=[
                (module.__name__.rsplit(".", 1)[-1], module.seed)
                for module in modules
                if callable(getattr(module, "seed", None))
            ],
        )
        # Options the world keeps across reset() (read with getattr by the handlers).
        self.state.lifecycle = lifecycle
        self.state.realtime_hold = float(realtime_hold)
        self.state.stream_wait_cap = None if stream_wait_cap is None else float(stream_wait_cap)
        self.journal = Journal()
        self.faults = Faults(seed)
        self._apply_configured_faults()
        self._stop_event = threading.Event()
        self.app = EmulatorApp(
            self._world,
            build_router(modules),
            journal=self.journal,
            faults=self.faults,
            rate_limiter=RateLimiter(enforce=enforce_rate_limits),
            idempotency=RequestIdempotency(request_idempotency),
            stop_event=self._stop_event,
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._request_logger: Any = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stop_event.clear()
        self._server = create_server(self.host, self.port, self.app)
        self._server.request_log = self._request_logger
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"trigger-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stop_event.set()  # wakes stalled requests and latency waits
        server.shutdown()
        server.connections.close_all()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def set_request_logger(self, callback: Any) -> None:
        """Call ``callback(method, path, status)`` after each answer (the CLI's ``-v``) to a
        request that arrived once it was set: a request answered before, whose log line comes
        a moment after its answer, goes to the logger of its own time."""
        self._request_logger = callback
        if self._server is not None:
            self._server.request_log = callback

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def connections_opened(self) -> int:
        """TCP connections the server accepted since it started (not reset by ``reset()``):
        tests of connection reuse compare it before and after."""
        return self._server.connections.opened if self._server is not None else 0

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def state(self) -> World:
        """The in-memory world, for tests to read and change directly (under ``state.lock``).
        Reaching in marks it dirty, so the next :meth:`reset` restores the seeded state: take
        it from here in each test rather than keeping it across tests."""
        self._world.mark_dirty()
        return self._world

    def reset(self) -> None:
        """Back to the freshly seeded state (same seed, same keys and ids); the journal,
        queued faults, request-idempotency cache and rate-limit buckets are cleared, and the
        latency / fault rate given to the constructor apply again; the clock loses any
        ``advance()``/``freeze()`` done since. Cheap: the seeded world is snapshotted once and
        restored only when something may have changed it (see :class:`~.world.World`)."""
        self.app.generation += 1  # before the world: a request already in a handler finishes
        self.clock.reset()
        self._world.reset()
        self.journal.clear()
        self.faults.clear()
        self._apply_configured_faults()
        self.app.idempotency.clear()
        self.app.rate_limiter.clear()
        self.app.server_errors.clear()

    def _apply_configured_faults(self) -> None:
        latency, jitter = self._latency
        if latency or jitter:
            self.faults.latency(latency, jitter)
        rate, statuses = self._fault_rate
        if rate:
            self.faults.set_fault_rate(rate, statuses)

    # -- what clients need ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use `with`")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def project_ref(self) -> str:
        return self._world.default_project.ref

    @property
    def secret_keys(self) -> dict[str, str]:
        """Root secret keys of the default project: ``dev`` (the default user's), ``staging``,
        ``prod`` and ``preview`` (which needs an ``x-trigger-branch`` header)."""
        with self._world.lock:
            envs = self._world.environments_by_public_slug(self.project_ref)
            return {slug: env.api_key for slug, env in envs.items()}

    @property
    def secret_key(self) -> str:
        return self.secret_keys["dev"]

    @property
    def access_token(self) -> str:
        return self._world.default_user.personal_access_tokens[0]

    @property
    def preview_branches(self) -> list[str]:
        with self._world.lock:
            return sorted(
                env.branch_name
                for env in self._world.environments.values()
                if env.project_ref == self.project_ref and env.type == "PREVIEW" and env.branch_name
            )

    @property
    def tasks(self) -> list[str]:
        """Task identifiers the default project's workers declare."""
        with self._world.lock:
            return list(self._world.deployments.tasks_of(self.project_ref))

    @property
    def scheduled_tasks(self) -> list[str]:
        """Those of :attr:`tasks` that are scheduled tasks (the only ones schedules accept)."""
        with self._world.lock:
            return [
                task
                for task, source in self._world.deployments.tasks_of(self.project_ref).items()
                if source == "SCHEDULED"
            ]

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of handler bugs (each answered 500); empty in a healthy run."""
        return list(self.app.server_errors)

    def deliver_alert(self, url: str, event_type: str, *, secret: str, **options: Any) -> Any:
        """POST an alert webhook to ``url`` signed with ``secret``, as Trigger.dev delivers
        it (up to 3 attempts while not 2xx); returns a :class:`~.alerts.Delivery`. Options:
        ``run_id``, ``environment``, ``overrides``, ``payload``, ``body``, ``signature``,
        ``attempts``, ``timeout`` (see :mod:`.alerts`)."""
        from .alerts import deliver

        return deliver(self.state, url, event_type, secret=secret, **options)

    def client_settings(self, **overrides: Any) -> dict[str, Any]:
        """A ``TRIGGER`` alias dict pointing a django_trigger client at this emulator, with
        retries shrunk for tests. Nested dicts (``RETRY``, ``HEADERS``) merge key by key."""
        settings: dict[str, Any] = {
            "ACCESS_TOKEN": self.secret_key,
            "API_URL": self.base_url,
            "PROJECT_REF": self.project_ref,
            "ENVIRONMENT": "dev",
            "RETRY": {"MIN_DELAY": 0.001, "MAX_DELAY": 0.01},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key] = {**settings[key], **value}
            else:
                settings[key] = value
        return settings

    def __repr__(self) -> str:
        where = f"http://{self.host}:{self.port}" if self.running else "stopped"
        return f"<Emulator seed={self.seed} {where}>"
