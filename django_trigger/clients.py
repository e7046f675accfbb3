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

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from asgiref.local import Local
from django.core.cache import caches

from django_trigger.conf import DEFAULT_ALIAS, ClientSettings, trigger_settings
from django_trigger.exceptions import ConfigurationError

if TYPE_CHECKING:
    from django_trigger.client import TriggerClient

__all__ = ["CacheRateLimitStore", "ClientHandler", "clients", "get_client"]


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

        try:
            store = config["RATE_LIMIT_CACHE"]
            return TriggerClient(
                **config.client_kwargs(),
                rate_limit_store=CacheRateLimitStore(store) if store else None,
            )
        except ConfigurationError:
            raise
        except ValueError as err:  # includes InvalidRequestError; conf should have caught it
            raise ConfigurationError(f"TRIGGER[{config.alias!r}]: {err}") from err

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


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()


clients = ClientHandler()


def get_client(alias: str = DEFAULT_ALIAS) -> TriggerClient:
    """The ``TriggerClient`` of ``alias`` in ``settings.TRIGGER``, cached per thread.

    Raises ``ConfigurationError`` for an unknown alias or settings that cannot work (the same
    problems ``manage.py check`` reports).
    """
    return clients[alias]


def settings_changed(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: re-read TRIGGER (and DEBUG, which one check depends on)."""
    if setting == "TRIGGER":
        clients.close_all()
        trigger_settings.reload()
    elif setting == "DEBUG":
        trigger_settings.reload()
