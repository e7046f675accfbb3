"""Clients configured by ``settings.TRIGGER``, one per alias per thread (Django's ``caches``).

    from django_trigger import get_client

    get_client().runs.list(status=["FAILED"])        # the "default" alias
    get_client("ops").envvars.list()                 # another alias
    clients["ops"]                                   # the same, dict-style

A client is built on first use in each thread and rebuilt when its settings change: after
``trigger_settings.reload()`` or a change of ``TRIGGER`` (``override_settings`` in tests). The
cache is ``asgiref.local.Local(thread_critical=True)``, as for database connections: under
ASGI a client and its connection pool stay with the worker thread across requests, and two
threads never share one ``requests.Session``. A ``TriggerClient`` built by hand
never reads these settings.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from asgiref.local import Local
from django.core.cache import caches

from django_trigger.conf import DEFAULT_ALIAS, ClientSettings, trigger_settings
from django_trigger.exceptions import ConfigurationError

if TYPE_CHECKING:
    from django_trigger.async_client import AsyncTriggerClient
    from django_trigger.client import TriggerClient

__all__ = [
    "AsyncClientHandler",
    "CacheRateLimitStore",
    "ClientHandler",
    "async_clients",
    "clients",
    "get_async_client",
    "get_client",
]


class CacheRateLimitStore:
    """The clients' ``RateLimitStore`` over a Django cache (the ``RATE_LIMIT_CACHE`` setting):
    a 429 seen by one worker makes the others wait for the same reset. The key is a hash of
    the token, never the token."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __repr__(self) -> str:
        return f"<CacheRateLimitStore {self.alias!r}>"

    def get_reset(self, key: str) -> int | None:
        value = caches[self.alias].get(key)
        return value if isinstance(value, int) else None

    def set_reset(self, key: str, reset_ms: int, ttl: float) -> None:
        caches[self.alias].set(key, reset_ms, timeout=ttl)


class ClientHandler:
    """``clients["alias"]`` → that alias's ``TriggerClient`` for the current thread.

    Shaped like Django's ``BaseConnectionHandler`` (``Local(thread_critical=True)``, ``all()``,
    ``close_all()``) but not built on it: that class reads its settings once and caches each
    alias until told otherwise, while here every access asks ``conf`` (bad settings raise
    ``ConfigurationError`` on each use, with the check's id) and a client built from settings
    that have since been reloaded is replaced in *every* thread, not only in the one that
    received ``setting_changed``. Subclassing would override ``__getitem__``, ``settings`` and
    ``close_all``, which is all of it but ``__iter__``.
    """

    def __init__(self) -> None:
        self._local = Local(thread_critical=True)

    def _cache(self) -> dict[str, tuple[ClientSettings, TriggerClient]]:
        """This thread's clients, with the settings each was built from."""
        try:
            cache: dict[str, tuple[ClientSettings, TriggerClient]] = self._local.clients
        except AttributeError:
            cache = self._local.clients = {}
        return cache

    def __getitem__(self, alias: str) -> TriggerClient:
        config = trigger_settings.get(alias)  # ConfigurationError: unknown alias or bad settings
        cache = self._cache()
        cached = cache.get(alias)
        if cached is not None:
            if cached[0] is config:
                return cached[1]
            _close(cached[1])  # built from settings that have since been reloaded
        client = self.create_client(config)
        cache[alias] = (config, client)
        return client

    def create_client(self, config: ClientSettings) -> TriggerClient:
        from django_trigger.client import TriggerClient  # requests is imported on first use

        return _build(TriggerClient, config)

    def __iter__(self) -> Iterator[str]:
        return iter(trigger_settings.clients)

    def all(self, initialized_only: bool = False) -> list[TriggerClient]:
        """Every configured alias's client (``initialized_only``: those this thread built)."""
        cache = self._cache()
        return [self[alias] for alias in self if not initialized_only or alias in cache]

    def close_all(self) -> None:
        """Close and forget this thread's clients; the next use builds new ones."""
        cache = self._cache()
        while cache:
            _close(cache.popitem()[1][1])


C = TypeVar("C")


def _build(client_class: Callable[..., C], config: ClientSettings) -> C:
    try:
        store = config["RATE_LIMIT_CACHE"]
        return client_class(
            **config.client_kwargs(),
            rate_limit_store=CacheRateLimitStore(store) if store else None,
        )
    except ConfigurationError:
        raise
    except ValueError as err:  # includes InvalidRequestError; conf should have caught it
        raise ConfigurationError(f"TRIGGER[{config.alias!r}]: {err}") from err


class AsyncClientHandler:
    """``async_clients["alias"]`` → that alias's ``AsyncTriggerClient`` for the running event
    loop (its connection pool belongs to that loop). ``await async_clients.aclose_all()``
    closes the running loop's clients (the ASGI lifespan shutdown does it, see asgi.py)."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, tuple[ClientSettings, AsyncTriggerClient]]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # loops of several threads share the mapping

    def __getitem__(self, alias: str) -> AsyncTriggerClient:
        loop = asyncio.get_running_loop()  # RuntimeError outside async code
        config = trigger_settings.get(alias)
        with self._lock:
            cache = self._loops.setdefault(loop, {})
            cached = cache.get(alias)
            if cached is not None and cached[0] is config:
                return cached[1]
        from django_trigger.async_client import AsyncTriggerClient  # httpx: the [async] extra

        client = _build(AsyncTriggerClient, config)
        with self._lock:
            old = cache.get(alias)
            cache[alias] = (config, client)
        if old is not None:  # built from settings that have since been reloaded
            _close_soon(loop, old[1])
        return client

    async def aclose_all(self) -> None:
        """Close and forget the running loop's clients; the next use builds new ones."""
        with self._lock:
            cache = self._loops.pop(asyncio.get_running_loop(), {})
        for _, client in cache.values():
            await client.aclose()

    def discard_all(self) -> None:
        """Forget every loop's clients (settings changed); each is closed on its own loop
        when that loop is still running."""
        with self._lock:
            loops = list(self._loops.items())
            self._loops.clear()
        for loop, cache in loops:
            for _, client in cache.values():
                if loop.is_running() and not loop.is_closed():
                    loop.call_soon_threadsafe(_close_soon, loop, client)


_closing: set[asyncio.Task[None]] = set()  # kept until done (the loop holds tasks weakly)


def _close_soon(loop: asyncio.AbstractEventLoop, client: AsyncTriggerClient) -> None:
    task = loop.create_task(client.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()


clients = ClientHandler()
async_clients = AsyncClientHandler()


def get_client(alias: str = DEFAULT_ALIAS) -> TriggerClient:
    """The ``TriggerClient`` of ``alias`` in ``settings.TRIGGER``, cached per thread.

    Raises ``ConfigurationError`` for an unknown alias or settings that cannot work (the same
    problems ``manage.py check`` reports).
    """
    return clients[alias]


def get_async_client(alias: str = DEFAULT_ALIAS) -> AsyncTriggerClient:
    """The ``AsyncTriggerClient`` of ``alias`` in ``settings.TRIGGER`` for the running event
    loop (call it from async code). Needs httpx: ``pip install django-trigger-dev[async]``.

    Raises ``ConfigurationError`` like ``get_client()``."""
    return async_clients[alias]


def settings_changed(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: re-read TRIGGER (and DEBUG, which one check depends on)."""
    if setting == "TRIGGER":
        clients.close_all()
        async_clients.discard_all()
        trigger_settings.reload()
    elif setting == "DEBUG":
        trigger_settings.reload()
