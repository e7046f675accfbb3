"""The emulator's WSGI application: the request pipeline, the router, and the contract for
handler modules.

Pipeline of one request (``EmulatorApp.__call__``)
==================================================

1. **Faults** (:mod:`.faults`): a queued fault or the seeded fault rate may stall, drop or fail
   the request before anything else runs (or, with ``after_processing``, after the handler ran;
   a trickle sends the handler's answer one body byte at a time).
2. **Rate-limit middleware** (:mod:`.ratelimit`, API.md §2.2): on ``/api…`` paths outside the
   whitelist, a missing ``Authorization`` header is a problem+json 401; every other answer gets
   ``x-ratelimit-*`` headers.
3. **Routing**: unknown path → 404 ``{"error":"Not found"}``; known path, wrong method → 405.
4. **Route checks**, in the real builder's order: ``pre_auth`` hook (PAT routes validate the
   query before auth) → auth policy (:mod:`.auth`) → restricted-key rejection → content-length
   cap (413) → the handler.
5. **Latency** (fixed + seeded jitter), then the **journal** entry (:mod:`.journal`).

Request idempotency is not a pipeline step: like the service, the routes that honour it
(trigger, v2 batch, v3 batch create) call ``request.idempotency`` (:mod:`.request_idempotency`)
themselves, after auth, and set ``request.replayed`` when they answer from it.

Handlers never see faults or auth failures; they get an authenticated
:class:`ApiRequest` and return a :class:`~.errors.Reply` or raise :class:`~.errors.HttpError`.

Adding a handler module (e.g. env vars, schedules, queues, deployments)
=======================================================================

Every module in ``django_trigger/testing/handlers/`` whose name does not start with ``_`` is
loaded automatically (sorted by ``ORDER``, then name); nothing else needs editing. Convention:
routes in ``handlers/<resource>.py``, the resource's state and rendering in
``resources/<resource>.py`` (e.g. ``handlers/envvars.py`` + ``resources/envvars.py``,
``handlers/schedules.py`` + ``resources/schedules.py`` (timezones live with schedules),
``handlers/queues.py`` + ``resources/queues.py``, ``handlers/deployments.py`` +
``resources/deployments.py``). A handler module defines:

``register(router: Router) -> None`` (required)
    Add routes. Patterns use ``{name}`` placeholders for one path segment; values arrive
    percent-decoded once in ``request.params``::

        def register(router):
            router.get("/api/v1/projects/{projectRef}/envvars/{env}", list_envvars,
                       auth=auth.ENVVARS)
            router.post("/api/v1/schedules", create_schedule, auth=auth.LEGACY)
            router.get("/api/v1/timezones", timezones, auth=auth.NONE)

    Options of :meth:`Router.add`: ``auth`` (**required**; one policy per route family of
    API.md §2.3: ``auth.BEARER`` / ``auth.BEARER_JWT`` (A), ``auth.LEGACY`` or
    ``auth.legacy(message)`` (B), ``auth.scoped(scope)`` (C), ``auth.ENVVARS`` (D: resolves the
    environment from the ``projectRef``/``env`` path params), ``auth.PAT`` (E), ``auth.NONE``
    (F); see :mod:`.auth`),
    ``authorization`` (the RBAC action, e.g. ``"read"``, when the handler checks resources with
    ``request.authorize(...)``; family-A routes without it refuse restricted keys with 403, as
    the real builder does), ``max_content_length`` (bytes; a missing or larger
    ``Content-Length`` is 413 ``Request body too large``), ``pre_auth`` (a callable run before
    auth), ``cors`` (``True`` for the real route's ``corsStrategy: "all"``: the path answers
    CORS preflights and the route's answers get CORS headers; ``cors_exposed`` the headers it
    exposes, the route builders' JWT headers by default). Registering the same method + pattern
    twice raises.

``STORES: dict[str, Callable[[World], object]]`` (optional)
    Per-resource state, built when the world is built and rebuilt on ``reset()``. Each store is
    then reachable as an attribute of the world: ``STORES = {"envvars": EnvVarStore}`` gives
    ``request.world.envvars`` (and ``emu.state.envvars`` for tests).

``seed(world: World, rng: random.Random) -> None`` (optional)
    Fill the stores with deterministic data. ``rng`` is seeded from the emulator seed and the
    module name, so adding a module never changes another module's data. Use ``world.seeded_at``
    as "now" for seeded timestamps and ``world.ids`` for ids (``world.ids.friendly("sched")``).

``ORDER: int`` (optional, default 100)
    Load/seed order; ``runs`` is 10, modules whose seed refers to runs use a larger number.

What a handler gets (:class:`ApiRequest`)
-----------------------------------------

``request.world`` (the :class:`~.world.World`; take ``with request.world.lock:`` around reads
and writes of shared state), ``request.principal`` (:class:`~.auth.Principal`: ``kind``,
``environment``, ``project``, ``user``), ``request.params``, ``request.query`` (dict of lists;
``request.arg(name)`` = the last value, as the server's ``Object.fromEntries``),
``request.headers`` (case-insensitive), ``request.body`` (bytes), ``request.json()`` (the A-family
body rules: ``Request body is empty`` / ``Invalid JSON``), ``request.json_or_none()``,
``request.api_version`` / ``request.v2_statuses`` (``x-trigger-api-version: 2025-07-16``),
``request.now`` (the emulated clock), ``request.authorize(resources)``.

Answer with ``errors.json_reply(data, status=200, headers=None)``; fail with the helpers of
:mod:`.errors` (``api_error``, ``not_found_loader``, ``not_found_action``, ``query_error``,
``body_validation_error``, ``invalid_request_body``, …) and collect zod-like issues with
:class:`.validation.Checker`. Dates go out through the module function
``world.format_date(dt)`` (ISO, milliseconds, ``Z``). Optional keys are omitted, never
``null``, unless the SDK schema is nullish (API.md §11).

Streamed answers (server-sent events)
-------------------------------------

A handler that answers as it goes (an SSE feed) returns ``errors.stream_reply(chunks,
max_seconds=…, headers=None, status=200, content_type="text/event-stream")``. ``chunks`` is
any iterable of ``bytes``, usually a generator; the server writes and flushes each chunk as it
is produced (``Transfer-Encoding: chunked``), so the client sees it at once::

    def follow(request):
        store = request.world.things            # check auth, params, 404s *before* streaming
        def events():
            sent = 0
            try:
                while True:
                    with request.world.lock:
                        new = store.items[sent:]
                    sent += len(new)
                    for item in new:
                        yield f"data: {item}\n\n".encode()
                    if not new:
                        yield b""               # idle: nothing written, liveness checked
                        if request.stop_event.wait(0.05):
                            return
            finally:
                ...                             # runs however the stream ends
        return errors.stream_reply(events(), max_seconds=60)

The rules that keep a stream bounded and leave no thread behind:

* The generator runs on the connection's server thread, between writes. It must never block
  for long: while it waits, it yields ``b""`` at least every ~0.1 s (a wait on
  ``request.stop_event`` is the way to sleep). On ``b""`` the server checks whether the client
  closed its end; if so (or a write fails) the generator is closed at once (``GeneratorExit``
  at its ``yield``, its ``finally`` blocks run) and the connection closes.
* ``max_seconds`` (required) bounds the whole answer: after it the app stops asking for
  chunks and ends the body cleanly (the final chunk), as the generator returning does. Ending
  early for a domain reason (the service's inactivity timeout, a finished run) is the
  generator's own ``return``.
* The emulator stopping ends a stream mid-body (no final chunk: the client sees a broken
  connection); ``emu.faults.cut_next(1, after_chunks=n)`` does the same after ``n`` non-empty
  chunks (resumption tests).
* Everything that can fail with an HTTP error (auth, 404, validation) happens before
  ``stream_reply`` returns: once the head is sent, the status cannot change. The journal
  records the status and the time to the head.

The journal, faults and request idempotency need nothing from a handler module. Test a module
over real HTTP in ``tests/emulator/test_<resource>.py`` with ``tests.emulator.base.EmulatorCase``
(frozen clock, reset per test, fails on any handler exception in ``emu.server_errors``).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from werkzeug.datastructures import EnvironHeaders
from werkzeug.wsgi import get_input_stream

from . import auth as auth_module
from . import errors
from .errors import HttpError, Reply
from .faults import FaultDecision, Faults
from .journal import Journal, JournalEntry, mask_body, mask_header, redact_token
from .ratelimit import RateLimiter, is_rate_limited_path, rate_limited_reply, unauthorized_reply
from .request_idempotency import RequestIdempotency

if TYPE_CHECKING:  # pragma: no cover
    from .auth import AuthPolicy, Principal
    from .world import World

__all__ = ["ApiRequest", "EmulatorApp", "Route", "Router"]

logger = logging.getLogger("django_trigger.testing")

API_VERSION_V2 = "2025-07-16"
# What the route builders' ``wrapResponse`` exposes to browsers (apiBuilder.server.ts).
BUILDER_EXPOSED_HEADERS = ("x-trigger-jwt", "x-trigger-jwt-claims")
# remix-utils' cors() defaults, and apiCors's preflight max age (utils/apiCors.ts).
CORS_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"
CORS_MAX_AGE = "300"
Handler = Callable[["ApiRequest"], Reply]
DROPPED = "django_trigger.testing.dropped"


@dataclass
class Route:
    method: str
    pattern: str
    segments: tuple[str, ...]
    handler: Handler
    auth: AuthPolicy
    authorization: str | None = None
    max_content_length: int | None = None
    pre_auth: Callable[[ApiRequest], None] | None = None
    # corsStrategy "all": the headers CORS adds to this route's answers (see ``add_cors_headers``);
    # ``None`` for the routes that answer browsers nothing.
    cors: tuple[str, ...] | None = None

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for seg, part in zip(self.segments, parts, strict=True):
            if seg.startswith("{"):
                if not part:
                    return None
                params[seg[1:-1]] = unquote(part)
            elif seg != part:
                return None
        return params


class Router:
    """Method + path pattern → :class:`Route`. Literal segments win over placeholders
    (``/api/v1/deployments/latest`` before ``/api/v1/deployments/{id}``)."""

    def __init__(self) -> None:
        self._routes: dict[int, list[Route]] = {}
        self._seen: set[tuple[str, str]] = set()

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        auth: AuthPolicy,
        authorization: str | None = None,
        max_content_length: int | None = None,
        pre_auth: Callable[[ApiRequest], None] | None = None,
        cors: bool = False,
        cors_exposed: tuple[str, ...] = BUILDER_EXPOSED_HEADERS,
    ) -> Route:
        method = method.upper()
        if (method, pattern) in self._seen:
            raise ValueError(f"route registered twice: {method} {pattern}")
        if not isinstance(auth, auth_module.AuthPolicy):
            raise TypeError(f"{method} {pattern}: auth must be an AuthPolicy from testing.auth")
        self._seen.add((method, pattern))
        segments = tuple(pattern.strip("/").split("/"))
        route = Route(
            method,
            pattern,
            segments,
            handler,
            auth,
            authorization,
            max_content_length,
            pre_auth,
            cors_exposed if cors else None,
        )
        bucket = self._routes.setdefault(len(segments), [])
        bucket.append(route)
        # Literal segments first, so fixed paths beat placeholders.
        bucket.sort(key=lambda r: tuple(s.startswith("{") for s in r.segments))
        return route

    def get(self, pattern: str, handler: Handler, **options: Any) -> Route:
        return self.add("GET", pattern, handler, **options)

    def post(self, pattern: str, handler: Handler, **options: Any) -> Route:
        return self.add("POST", pattern, handler, **options)

    def put(self, pattern: str, handler: Handler, **options: Any) -> Route:
        return self.add("PUT", pattern, handler, **options)

    def delete(self, pattern: str, handler: Handler, **options: Any) -> Route:
        return self.add("DELETE", pattern, handler, **options)

    def patch(self, pattern: str, handler: Handler, **options: Any) -> Route:
        return self.add("PATCH", pattern, handler, **options)

    @property
    def routes(self) -> list[Route]:
        return [r for bucket in self._routes.values() for r in bucket]

    def allows_cors(self, raw_path: str) -> bool:
        """Whether a route at this path answers CORS preflights: the real server sends an
        ``OPTIONS`` to the path's loader, which every corsStrategy "all" route builder has."""
        parts = raw_path.strip("/").split("/")
        return any(
            route.cors is not None and route.match(parts) is not None
            for route in self._routes.get(len(parts), ())
        )

    def resolve(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        parts = raw_path.strip("/").split("/")
        allowed: list[str] = []
        for route in self._routes.get(len(parts), ()):
            params = route.match(parts)
            if params is None:
                continue
            if route.method == method:
                return route, params
            allowed.append(route.method)
        if allowed:
            raise errors.method_not_allowed(", ".join(sorted(set(allowed))))
        raise errors.api_error(404, "Not found")


class ApiRequest:
    """What a handler sees: parsed request + world + the authenticated principal."""

    def __init__(self, environ: dict[str, Any], world: World, body: bytes) -> None:
        self.environ = environ
        self.world = world
        self.method: str = environ["REQUEST_METHOD"].upper()
        self.path: str = _raw_path(environ)
        self.query_string: str = environ.get("QUERY_STRING", "")
        self.query: dict[str, list[str]] = (
            parse_qs(self.query_string, keep_blank_values=True) if self.query_string else {}
        )
        self.headers = EnvironHeaders(environ)
        self.body = body
        self.params: dict[str, str] = {}
        self.route: Route | None = None
        self.principal: Principal = auth_module.Principal(kind="anonymous", credential="")
        self.idempotency: RequestIdempotency = RequestIdempotency()
        # Set when the emulator stops: long-held requests (realtime live polls) end early.
        self.stop_event = threading.Event()
        self.replayed = False  # answered from the request-idempotency cache

    # -- query and body -----------------------------------------------------------------------

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter (``Object.fromEntries`` semantics)."""
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        """The body as JSON, with the A-family action-route errors."""
        if not self.body:
            raise errors.api_error(400, "Request body is empty")
        ok, value = errors.parse_json_body(self.body)
        if not ok:
            raise errors.api_error(400, "Invalid JSON")
        return value

    def json_or_none(self) -> Any:
        """The body as JSON, or ``None`` when empty or not JSON (for routes with no body)."""
        if not self.body:
            return None
        try:
            return errors.load_json(self.body)
        except ValueError:
            return None

    # -- context --------------------------------------------------------------------------------

    @property
    def api_version(self) -> str | None:
        return self.headers.get("x-trigger-api-version")

    @property
    def v2_statuses(self) -> bool:
        """Whether run statuses use the V2 vocabulary (API.md §7.1)."""
        return self.api_version == API_VERSION_V2

    @property
    def now(self) -> Any:
        return self.world.clock.now()

    @property
    def base_url(self) -> str:
        host = self.environ.get("HTTP_HOST") or (
            f"{self.environ.get('SERVER_NAME')}:{self.environ.get('SERVER_PORT')}"
        )
        return f"http://{host}"

    def authorize(
        self, resources: Iterable[tuple[str, str | None]], action: str | None = None
    ) -> None:
        """RBAC check of this route's ``authorization`` action against ``resources``
        (``[("runs", "run_…"), ("tasks", "send-email")]``); 403 with the RBAC body when the
        principal's scopes match none."""
        wanted = action or (self.route.authorization if self.route else None) or "read"
        if not self.principal.can(wanted, list(resources)):
            raise errors.rbac_forbidden()


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if path.startswith(("http://", "https://")):
            path = "/" + path.split("/", 3)[-1]
        return path or "/"
    return environ.get("PATH_INFO") or "/"


def _fault_reply(decision: FaultDecision, now_ms: int) -> Reply:
    status = decision.status or 500
    if decision.kind == "respond":
        reply = errors.Reply(status=status, body=decision.body or b"")
    elif decision.kind == "rate_limit":
        reply = rate_limited_reply(750, 0, now_ms + int(decision.reset_after * 1000), now_ms)
    else:
        from http import HTTPStatus

        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        reply = errors.json_reply({"error": phrase}, status)
    reply.headers.update(decision.headers)
    return reply


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


class EmulatorApp:
    """The WSGI callable. Built by :class:`~.emulator.Emulator`; usable on its own with any
    WSGI server (``EmulatorApp(world, router)``)."""

    def __init__(
        self,
        world: World,
        router: Router,
        *,
        journal: Journal | None = None,
        faults: Faults | None = None,
        rate_limiter: RateLimiter | None = None,
        idempotency: RequestIdempotency | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.world = world
        self.router = router
        # (`is None`, not `or`: an empty journal or cache is falsy.)
        self.journal = Journal() if journal is None else journal
        self.faults = Faults(world.seed) if faults is None else faults
        self.rate_limiter = RateLimiter() if rate_limiter is None else rate_limiter
        self.idempotency = RequestIdempotency() if idempotency is None else idempotency
        self.stop_event = threading.Event() if stop_event is None else stop_event
        # Unexpected handler exceptions (answered 500), for tests to assert on.
        self.server_errors: list[str] = []
        # Bumped by Emulator.reset(): a request that arrived before it (a stalled request of an
        # earlier test) is dropped, as by a restarted server, instead of writing into the reset
        # world or its journal.
        self.generation = 0

    # -- WSGI entry -----------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        generation = self.generation
        body = get_input_stream(environ).read()
        request = ApiRequest(environ, self.world, body)
        request.idempotency = self.idempotency
        request.stop_event = self.stop_event
        entry = self._journal_entry(request)
        decision = self.faults.take(request.method, request.path, request.query)

        if decision is not None and decision.kind == "stall":
            entry.fault = "stall"
            if self._stall(decision):
                return self._drop(environ, start_response, entry, started)
            decision = None

        if generation != self.generation:
            return self._drop(environ, start_response, None, started)

        if decision is not None and not decision.after_processing:
            entry.fault = decision.kind
            if decision.kind == "drop":
                return self._drop(environ, start_response, entry, started)
            reply = _fault_reply(decision, self.world.clock.now_ms())
        else:
            reply = self.dispatch(request, entry)
            if decision is not None:  # after_processing: the side effect happened
                entry.fault = decision.kind
                if decision.kind == "drop" or (decision.kind == "cut" and reply.stream is None):
                    return self._drop(environ, start_response, entry, started)
                if decision.kind not in ("trickle", "cut"):
                    reply = _fault_reply(decision, self.world.clock.now_ms())

        delay = self.faults.delay()
        if delay and self.stop_event.wait(delay):
            return self._drop(environ, start_response, entry, started)
        if generation != self.generation:  # answered into a world that was reset since
            return self._drop(environ, start_response, None, started)

        entry.status = reply.status
        entry.response_headers = {k.lower(): mask_header(k, v) for k, v in reply.headers.items()}
        entry.duration = time.perf_counter() - started
        self.journal.record(entry)
        # The Date header is the emulated clock's, as the real server's is its own clock (a
        # frozen or advanced clock shows as a skew to the client).
        headers = [
            *reply.header_list(),
            ("Date", format_datetime(self.world.clock.now(), usegmt=True)),
        ]
        start_response(_status_line(reply.status), headers)
        if reply.stream is not None:
            cut = decision.chunks if decision is not None and decision.kind == "cut" else None
            return self._stream(reply, cut)
        if decision is not None and decision.kind == "trickle":
            return self._trickle(reply.body, decision.seconds)
        return [reply.body]

    def _stall(self, decision: FaultDecision) -> bool:
        """Hold a request for the stall's seconds or until ``faults.release_stalls()``;
        whether the emulator stopped meanwhile."""
        deadline = time.monotonic() + decision.seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stop_event.wait(min(left, 0.05)):
                return True
            if self.faults.stall_released(decision):
                return False
        return False

    def _stream(self, reply: Reply, cut_after: int | None) -> Iterator[bytes]:
        """A streamed answer's chunks, until the handler's iterable ends or ``max_seconds``
        pass (a clean end); the emulator stopping or a ``cut`` fault ends it mid-body. However
        it ends (the server closes this generator when the client is gone), the handler's
        iterable is closed, so its ``finally`` blocks run on this thread."""
        assert reply.stream is not None
        chunks = iter(reply.stream)
        deadline = time.monotonic() + reply.max_seconds
        sent = 0
        try:
            for chunk in chunks:
                if self.stop_event.is_set():
                    raise ConnectionAbortedError("emulator stopped mid-stream")
                yield chunk
                if chunk:
                    sent += 1
                    if sent == cut_after:
                        raise ConnectionAbortedError("cut fault: connection closed mid-stream")
                if time.monotonic() >= deadline:
                    return
            if self.stop_event.is_set():  # the generator saw it first and returned
                raise ConnectionAbortedError("emulator stopped mid-stream")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _trickle(self, body: bytes, interval: float) -> Iterable[bytes]:
        """The body one byte at a time, ``interval`` seconds apart (the server writes each
        chunk as it comes); the emulator stopping cuts it short."""
        for index in range(len(body)):
            if index and self.stop_event.wait(interval):
                raise ConnectionAbortedError("emulator stopped mid-body")
            yield body[index : index + 1]

    def _journal_entry(self, request: ApiRequest) -> JournalEntry:
        headers = {k.lower(): mask_header(k, v) for k, v in request.headers.items()}
        authorization = request.headers.get("Authorization", "")
        token = authorization[7:] if authorization.startswith("Bearer ") else authorization
        return JournalEntry(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=headers,
            body=mask_body(
                request.path,
                request.headers.get("Content-Type", ""),
                request.body,
                _parse_body(request.body),
            ),
            credential=redact_token(token),
        )

    def _drop(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        entry: JournalEntry | None,
        started: float,
    ) -> list[bytes]:
        if entry is not None:  # None: a request of an earlier generation, not journaled
            entry.fault = "drop" if entry.fault in (None, "drop") else entry.fault
            entry.status = None
            entry.duration = time.perf_counter() - started
            self.journal.record(entry)
        environ[DROPPED] = True
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        start_response("500 Connection Dropped", [("Content-Length", "0")])
        return []

    # -- routing ----------------------------------------------------------------------------------

    def dispatch(self, request: ApiRequest, entry: JournalEntry | None = None) -> Reply:
        """Middleware, routing, request idempotency and the route itself."""
        extra_headers: dict[str, str] = {}
        if request.method == "OPTIONS":
            # The rate limiter lets every OPTIONS through; a CORS route's loader answers the
            # preflight before auth. Other paths have no OPTIONS route: 405 below.
            if self.router.allows_cors(request.path):
                return preflight_reply(request)
        elif is_rate_limited_path(request.path):
            authorization = request.headers.get("Authorization", "")
            if not authorization.strip():
                return unauthorized_reply()
            _allowed, extra_headers, refused = self.rate_limiter.take(
                self._rate_limit_key(request), request.path, self.world.clock.now_ms()
            )
            if refused is not None:
                return refused
        try:
            route, params = self.router.resolve(request.method, request.path)
        except HttpError as exc:
            reply = exc.reply
        else:
            request.route, request.params = route, params
            reply = self._run_route(route, request)
            if route.cors is not None:
                add_cors_headers(reply, request, route.cors)
            if entry is not None:
                entry.replayed = request.replayed
        for name, value in extra_headers.items():
            reply.headers.setdefault(name, value)
        return reply

    def _rate_limit_key(self, request: ApiRequest) -> str:
        token = auth_module.bearer_token(request)
        key = self.world.api_key(token)
        if key is not None:
            return "env:" + key.environment_id
        return "auth:" + self.world.token_fingerprint(request.headers.get("Authorization", ""))

    def _run_route(self, route: Route, request: ApiRequest) -> Reply:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            self.world.mark_dirty()  # it may write (reads that change state mark it themselves)
        try:
            if route.pre_auth is not None:
                route.pre_auth(request)
            principal = route.auth.authenticate(request)
            request.principal = principal
            if (
                principal.kind == "secret_key"
                and principal.restricted
                and route.auth.family == "A"
                and route.authorization is None
            ):
                raise errors.rbac_forbidden()
            if route.max_content_length is not None:
                length = request.headers.get("Content-Length")
                if not length or not length.isdigit() or int(length) > route.max_content_length:
                    raise errors.api_error(413, "Request body too large")
            return route.handler(request)
        except HttpError as exc:
            return exc.reply
        except Exception:  # noqa: BLE001 -- an emulator bug: answer like the server's catch-all
            trace = traceback.format_exc()
            self.server_errors.append(f"{request.method} {request.path}\n{trace}")
            logger.error("emulator handler failed: %s %s\n%s", request.method, request.path, trace)
            return errors.internal_error().reply


def _origin_headers(request: ApiRequest) -> dict[str, str]:
    # cors() reflects the request's Origin (origin: true) and says nothing without one.
    origin = request.headers.get("Origin")
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


def preflight_reply(request: ApiRequest) -> Reply:
    """``apiCors(request, json({}))``: 200 ``{}``, the origin and asked headers reflected, the
    default methods, a 5-minute max age."""
    headers = _origin_headers(request)
    headers["Access-Control-Allow-Methods"] = CORS_METHODS
    asked = request.headers.get("Access-Control-Request-Headers")
    if asked:
        headers["Access-Control-Allow-Headers"] = asked
    headers["Vary"] = ", ".join(
        filter(None, [headers.get("Vary"), "Access-Control-Request-Headers"])
    )
    headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return errors.json_reply({}, headers=headers)


def add_cors_headers(reply: Reply, request: ApiRequest, exposed: tuple[str, ...]) -> None:
    """``wrapResponse``'s CORS on a route's answer, errors included; an answer that already
    has CORS headers (realtime shapes) is left alone, as apiCors does. remix-utils' cors()
    appends (``Headers.append``): a header the route set itself keeps its value, then ", " and
    the wrapper's (the session SSE route's ``*`` becomes ``*, x-trigger-jwt,...``)."""
    if any(name.lower() == "access-control-allow-origin" for name in reply.headers):
        return
    for name, value in _origin_headers(request).items():
        _append_header(reply.headers, name, value)
    if exposed:
        _append_header(reply.headers, "Access-Control-Expose-Headers", ",".join(exposed))


def _append_header(headers: dict[str, str], name: str, value: str) -> None:
    """The Fetch API's ``Headers.append``: names match whatever their case, values join."""
    for existing in headers:
        if existing.lower() == name.lower():
            headers[existing] = f"{headers[existing]}, {value}"
            return
    headers[name] = value


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def load_handler_modules() -> list[ModuleType]:
    """Every public module of ``django_trigger.testing.handlers``, in ``ORDER`` then name."""
    from . import handlers

    return handlers.discover()


def build_router(modules: Iterable[ModuleType]) -> Router:
    router = Router()
    for module in modules:
        module.register(router)
    return router
