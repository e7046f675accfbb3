"""What every API call of the admin shares: its request options, how to tell a refusal that
means "not with this client's configuration", and the cache of list pages.

Kept apart from ``querysets`` (and ``changelist``), which load with the first admin page,
not at start-up: the admin modules that autodiscovery imports need only these (issue #14).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.cache import cache

from django_trigger.clients import get_client
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import ConfigurationError

__all__ = ["admin_request_options", "bump_cache_generation"]

#: Admin pages are interactive: at most one retry, so an unreachable API shows its error
#: state in seconds instead of after the client's full retry schedule.
ADMIN_MAX_ATTEMPTS = 2


def admin_request_options(alias: str) -> dict[str, Any]:
    """Options of every API call an admin page makes: one retry at most, and the alias's
    ``ADMIN_DEADLINE`` (10 s by default) for the whole call, so a page answers in seconds."""
    client = get_client(alias)
    return {
        "retry": {"max_attempts": min(client.retry.max_attempts, ADMIN_MAX_ATTEMPTS)},
        "deadline": min(client.deadline, trigger_settings.get(alias)["ADMIN_DEADLINE"]),
    }


# -- list caching -------------------------------------------------------------------------


def cache_timeout(alias: str) -> float | None:
    """``TRIGGER[alias]["ADMIN_CACHE_TIMEOUT"]``: seconds to keep list pages in Django's
    cache (``None``: no caching)."""
    try:
        return trigger_settings.get(alias).get("ADMIN_CACHE_TIMEOUT")
    except ConfigurationError:  # the changelist reports it; caching is simply off
        return None


def _generation_key(alias: str) -> str:
    return f"django_trigger:admin:{alias}:generation"


def bump_cache_generation(alias: str) -> None:
    """Forget every cached list page of ``alias`` (after an action changed something)."""
    if cache_timeout(alias):
        try:
            cache.incr(_generation_key(alias))
        except ValueError:
            cache.set(_generation_key(alias), 2, None)


def _cached(alias: str, parts: dict[str, Any], fetch: Any) -> Any:
    timeout = cache_timeout(alias)
    if not timeout:
        return fetch()
    generation = cache.get_or_set(_generation_key(alias), 1, None)
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    key = f"django_trigger:admin:{alias}:{generation}:{digest}"
    value = cache.get(key)
    if value is None:
        value = fetch()
        cache.set(key, value, timeout)
    return value
