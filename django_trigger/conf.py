"""The ``TRIGGER`` setting: named clients, like ``CACHES`` or ``DATABASES``::

    TRIGGER = {
        "default": {                         # token from TRIGGER_SECRET_KEY in the environment
            "PROJECT_REF": "proj_abc123",
            "ENVIRONMENT": "prod",           # dev | staging (stg) | prod | preview
            "RETRY": {"MAX_ATTEMPTS": 3},    # merged over the SDK defaults
        },
        "ops": {"ACCESS_TOKEN": env.str("TRIGGER_OPS_PAT"), "PROJECT_REF": "proj_abc123"},
    }

Unset values of the ``default`` alias fall back to the environment (``ENV_FALLBACKS``), read
through django-environ's ``Env.ENVIRON`` so ``.env`` files loaded by ``Env.read_env()`` in the
settings file count; without a ``TRIGGER`` setting the ``default`` alias comes entirely from
the environment. See docs/configuration.md for every key and check id.

``trigger_settings`` is created at import but reads nothing until first used (DRF's
``api_settings``); ``reload()`` forgets what it read. Validation never raises: it collects
``Problem`` objects that ``checks`` reports and ``get()`` raises for the alias asked for.

Only this module reads ``settings.TRIGGER`` and the environment (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from django_trigger import validators
from django_trigger.credentials import (
    TokenKind,
    redact,
    secret_key_environment,
    token_kind,
)
from django_trigger.exceptions import ConfigurationError
from django_trigger.options import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DASHBOARD_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_NOT_FOUND_RETRY_BUDGET,
    DEFAULT_POOL_MAXSIZE,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    validate_budget,
    validate_count,
    validate_timeout,
)

__all__ = [
    "CHECK_IDS",
    "CLEANERS",
    "CLIENT_ARGUMENTS",
    "DEFAULTS",
    "DEFAULT_ALIAS",
    "ENV_FALLBACKS",
    "RETRY_KEYS",
    "ClientSettings",
    "Problem",
    "TriggerSettings",
    "trigger_settings",
]

DEFAULT_ALIAS = "default"

# Every key an alias may hold (any other key is reported), with its default. Adding a key is
# one line here (plus, if its value needs checking, one line in CLEANERS). Features read it
# with ``trigger_settings.get(alias)["KEY"]``.
DEFAULTS: dict[str, Any] = {
    "ACCESS_TOKEN": None,
    "API_URL": DEFAULT_BASE_URL,
    "PROJECT_REF": None,
    "ENVIRONMENT": None,
    "PREVIEW_BRANCH": None,
    "TIMEOUT": DEFAULT_TIMEOUT,
    "CONNECT_TIMEOUT": DEFAULT_CONNECT_TIMEOUT,
    "DEADLINE": DEFAULT_DEADLINE,  # seconds per call, every retry and the body included
    "NOT_FOUND_RETRY_BUDGET": DEFAULT_NOT_FOUND_RETRY_BUDGET,  # seconds retrying 404s; 0: off
    "MAX_RESPONSE_SIZE": DEFAULT_MAX_RESPONSE_SIZE,  # bytes of decoded response body
    "POOL_MAXSIZE": DEFAULT_POOL_MAXSIZE,  # pooled connections per host
    "RETRY": RetryPolicy(),  # a dict given in settings is merged over it
    "HEADERS": {},
    # None: the Trigger.dev cloud dashboard when API_URL is the cloud API, else no links
    # (an emulator or a self-hosted instance has no dashboard there).
    "DASHBOARD_URL": None,
    # Variables trigger_sync_envvars pushes: {"NAME": "value" or None (read the environment)}
    # or a list of names read from the environment; validated by envsync when the command runs.
    "ENVVARS": None,
    # Seconds the admin keeps list pages in Django's cache (None: no caching).
    "ADMIN_CACHE_TIMEOUT": None,
    # Secret of the alert webhook channel (checks x-trigger-signature-hmacsha256).
    "WEBHOOK_SECRET": None,
    # Deadline of each API call an admin page makes (seconds): a page answers, or shows the
    # API's error, within about this long.
    "ADMIN_DEADLINE": 10.0,
    # A cache alias of CACHES through which the clients of this token (every worker) share the
    # API's rate-limit reset after a 429 (None: each client on its own).
    "RATE_LIMIT_CACHE": None,
}

# Environment variables consulted, in order, for unset keys of the "default" alias (the
# official SDK's names). Values are read raw: django-environ's ``get_value`` would treat a
# leading "$" as a reference to another variable.
ENV_FALLBACKS: dict[str, tuple[str, ...]] = {
    "ACCESS_TOKEN": ("TRIGGER_SECRET_KEY", "TRIGGER_ACCESS_TOKEN"),
    "API_URL": ("TRIGGER_API_URL",),
    "PROJECT_REF": ("TRIGGER_PROJECT_REF",),
    "PREVIEW_BRANCH": ("TRIGGER_PREVIEW_BRANCH",),
    "WEBHOOK_SECRET": ("TRIGGER_WEBHOOK_SECRET",),
}

# Setting key -> TriggerClient keyword argument.
CLIENT_ARGUMENTS = {
    "ACCESS_TOKEN": "access_token",
    "API_URL": "base_url",
    "PROJECT_REF": "project_ref",
    "ENVIRONMENT": "environment",
    "PREVIEW_BRANCH": "preview_branch",
    "TIMEOUT": "timeout",
    "CONNECT_TIMEOUT": "connect_timeout",
    "DEADLINE": "deadline",
    "NOT_FOUND_RETRY_BUDGET": "not_found_retry_budget",
    "MAX_RESPONSE_SIZE": "max_response_size",
    "POOL_MAXSIZE": "pool_maxsize",
    "RETRY": "retry",
    "HEADERS": "headers",
    "DASHBOARD_URL": "dashboard_url",
}

RETRY_KEYS = {
    "MAX_ATTEMPTS": "max_attempts",
    "FACTOR": "factor",
    "MIN_DELAY": "min_delay",
    "MAX_DELAY": "max_delay",
    "RANDOMIZE": "randomize",
}

# Check id -> (level, default hint). Ids are never reused; docs/configuration.md lists them.
CHECK_IDS: dict[str, tuple[int, str]] = {
    "E001": (
        checks.ERROR,
        "TRIGGER must be a dict of aliases, e.g. TRIGGER = {'default': {'ACCESS_TOKEN': ...}}.",
    ),
    "E002": (checks.ERROR, "Each alias must be a non-empty string mapped to a dict of settings."),
    "E003": (
        checks.ERROR,
        "Add a 'default' alias (or remove TRIGGER to configure the default "
        "client from the environment).",
    ),
    "E004": (checks.ERROR, "Remove the key or fix its spelling."),
    "E005": (
        checks.ERROR,
        "Set ACCESS_TOKEN to a secret key (tr_dev_…, tr_prod_…) or a "
        "personal access token (tr_pat_…).",
    ),
    "E006": (
        checks.ERROR,
        "Trigger.dev tokens start with tr_dev_, tr_stg_, tr_prod_, "
        "tr_preview_ (secret keys) or tr_pat_ (personal access tokens) and contain no "
        "spaces; copy one again from the dashboard's API keys page.",
    ),
    "E007": (
        checks.ERROR,
        "Set PROJECT_REF (proj_…, in the project's settings) or use the "
        "environment's secret key instead.",
    ),
    "E008": (
        checks.ERROR,
        "A secret key always acts as its own environment: use the key of the "
        "environment you mean, or fix ENVIRONMENT.",
    ),
    "E009": (
        checks.ERROR,
        "Preview keys act on one branch: set PREVIEW_BRANCH (or the "
        "TRIGGER_PREVIEW_BRANCH environment variable).",
    ),
    "E010": (checks.ERROR, "Use one of dev, staging (or stg), prod, preview."),
    "E011": (checks.ERROR, "Use a positive number of seconds, e.g. 30."),
    "E012": (
        checks.ERROR,
        "RETRY is a dict of MAX_ATTEMPTS (int >= 1), FACTOR (>= 1), "
        "MIN_DELAY and MAX_DELAY (seconds, MIN_DELAY <= MAX_DELAY) and RANDOMIZE (bool).",
    ),
    "E013": (
        checks.ERROR,
        "Use an absolute http(s) URL without credentials, query or "
        "fragment, e.g. https://api.trigger.dev.",
    ),
    "E014": (
        checks.ERROR,
        "HEADERS is a dict of header names to string values; the token "
        "goes in ACCESS_TOKEN, not in an Authorization header.",
    ),
    "E015": (checks.ERROR, "Use a string (or None to leave it unset)."),
    "E016": (
        checks.ERROR,
        "Project refs look like proj_abc123 (the project's settings page "
        "in the dashboard), not the project's name or slug; an inline # comment in a .env "
        "file stays part of the value.",
    ),
    "E017": (checks.ERROR, "Use a number of seconds >= 0, e.g. 1 (0 turns it off)."),
    "E018": (checks.ERROR, "Use a whole number >= 1."),
    "E019": (
        checks.ERROR,
        "Copy the secret of the alert's webhook channel again (a string "
        "without surrounding spaces), or set it to None if you receive no alerts.",
    ),
    "E020": (
        checks.ERROR,
        "Use the branch's name as git shows it (e.g. feature/login), the "
        "name the preview environment was created with.",
    ),
    "E021": (
        checks.ERROR,
        "Set RATE_LIMIT_CACHE to an alias of CACHES (a cache every worker "
        "shares, such as Redis, Memcached, the database or a file cache), or None.",
    ),
    "W001": (
        checks.WARNING,
        "Use https://. Loopback hosts (127.0.0.1, ::1, localhost) never get "
        "this warning; on a trusted private network silence django_trigger.W001.",
    ),
    "W002": (
        checks.WARNING,
        "Check that the token was copied whole; this version of "
        "django-trigger knows tr_dev_, tr_stg_, tr_prod_, tr_preview_, tr_pat_, tr_uat_ "
        "and tr_oat_.",
    ),
    "W003": (
        checks.WARNING,
        "Staging and production keys ignore the branch header; remove "
        "PREVIEW_BRANCH or use a preview (or dev) key.",
    ),
}


class Problem(NamedTuple):
    """One thing wrong with the settings; ``checks`` reports it, ``get()`` raises it."""

    id: str  # "django_trigger.E005"
    level: int  # django.core.checks.ERROR or WARNING
    message: str
    hint: str
    alias: str | None  # None: the TRIGGER setting as a whole

    @property
    def blocking(self) -> bool:
        return self.level >= checks.ERROR

    def error(self) -> ConfigurationError:
        return ConfigurationError(f"{self.message} HINT: {self.hint} ({self.id})")


def _problem(code: str, alias: str | None, message: str, hint: str | None = None) -> Problem:
    level, default_hint = CHECK_IDS[code]
    return Problem(f"django_trigger.{code}", level, message, hint or default_hint, alias)


class ClientSettings(Mapping[str, Any]):
    """The cleaned settings of one alias: every key of ``DEFAULTS``, read-only.

    ``settings["TIMEOUT"]`` gives a value (the default where unset or invalid); ``problems``
    lists what is wrong; ``client_kwargs()`` gives ``TriggerClient``'s arguments. The repr
    shows the token redacted.
    """

    def __init__(self, alias: str, values: Mapping[str, Any], problems: list[Problem]) -> None:
        self.alias = alias
        self._values = MappingProxyType(dict(values))
        self.problems = tuple(problems)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return (
            f"<ClientSettings {self.alias!r}: token={redact(self['ACCESS_TOKEN'])}, "
            f"api_url={self['API_URL']!r}, project_ref={self['PROJECT_REF']!r}, "
            f"environment={self['ENVIRONMENT']!r}>"
        )

    @property
    def dashboard_url(self) -> str | None:
        """The dashboard to link to: ``DASHBOARD_URL``, else the cloud dashboard for the cloud
        API, else ``None`` (an emulator or a self-hosted API: no link unless configured)."""
        if self["DASHBOARD_URL"]:
            return str(self["DASHBOARD_URL"])
        return DEFAULT_DASHBOARD_URL if self["API_URL"] == DEFAULT_BASE_URL else None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``TriggerClient`` (including ``alias``)."""
        kwargs = {arg: self[key] for key, arg in CLIENT_ARGUMENTS.items()}
        kwargs["alias"] = self.alias
        return kwargs


_TOKEN_SHAPE = re.compile(r"tr_[a-z]+_[A-Za-z0-9_]+", re.ASCII)


# --- value cleaners: return the cleaned value or raise ValueError(message) -------------------
# Messages name the key but never echo a value that could be secret.


def _string(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    return value.strip() or None


def _seconds(value: Any) -> float:
    if isinstance(value, tuple) or validate_timeout(value):  # a (connect, read) pair is not
        raise ValueError(f"must be a positive number of seconds, not {validators.show(value)}")
    return float(value)


def _budget(value: Any) -> float:
    if validate_budget(value, "value"):
        raise ValueError(f"must be a number of seconds >= 0, not {validators.show(value)}")
    return float(value)


def _count(value: Any) -> int:
    if validate_count(value, "value"):
        raise ValueError(f"must be an integer >= 1, not {validators.show(value)}")
    return int(value)


def _cache_alias(value: Any) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be the name of a cache in CACHES")
    aliases = list(getattr(settings, "CACHES", {}) or {})
    if value not in aliases:
        raise ValueError(f"names no cache in CACHES (aliases: {', '.join(map(repr, aliases))})")
    return value


def _webhook_secret(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace (no signature would match)")
    return value


def _project_ref(value: Any) -> str | None:
    return validators.project_ref(_string(value))


def _branch(value: Any) -> str | None:
    return validators.branch(_string(value))


# Key -> (check id for an invalid value, cleaner). Keys not listed are kept as given.
CLEANERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "ACCESS_TOKEN": ("E015", _string),
    "API_URL": ("E013", validators.url),
    "PROJECT_REF": ("E016", _project_ref),
    "ENVIRONMENT": ("E010", validators.environment),
    "PREVIEW_BRANCH": ("E020", _branch),
    "TIMEOUT": ("E011", _seconds),
    "CONNECT_TIMEOUT": ("E011", _seconds),
    "DEADLINE": ("E011", _seconds),
    "NOT_FOUND_RETRY_BUDGET": ("E017", _budget),
    "MAX_RESPONSE_SIZE": ("E018", _count),
    "POOL_MAXSIZE": ("E018", _count),
    "ADMIN_DEADLINE": ("E011", _seconds),
    "HEADERS": ("E014", validators.headers),
    "DASHBOARD_URL": ("E013", validators.url),
    "ADMIN_CACHE_TIMEOUT": ("E011", _seconds),
    "WEBHOOK_SECRET": ("E019", _webhook_secret),
    "RATE_LIMIT_CACHE": ("E021", _cache_alias),
}


def _did_you_mean(key: Any, known: list[str]) -> str:
    if isinstance(key, str):
        close = difflib.get_close_matches(key.upper(), known, n=1)
        if close:
            return f"Did you mean {close[0]!r}? "
    return f"Known keys: {', '.join(sorted(known))}. "


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _environment() -> Mapping[str, str]:
    """django-environ's ``Env.ENVIRON`` when something imported django-environ (a settings file
    that uses it has), else ``os.environ``, which is what ``Env.ENVIRON`` is until someone
    replaces it. Importing django-environ just to read it cost every start-up ~1.3 ms."""
    env = getattr(sys.modules.get("environ"), "Env", None)
    source = getattr(env, "ENVIRON", None)
    return os.environ if source is None else source


def _read_env(names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The first non-blank variable of ``names`` (value, name), read raw from ``Env.ENVIRON``."""
    source = _environment()
    for name in names:
        value = source.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip(), name
    return None, None


# --- building one alias --------------------------------------------------------------------


class _AliasBuilder:
    # (a plain class: a dataclass cost ~0.3 ms of every start-up)
    def __init__(self, alias: str, raw: Mapping[str, Any], use_env: bool, debug: bool) -> None:
        self.alias = alias
        self.raw = raw
        self.use_env = use_env
        self.debug = debug
        self.problems: list[Problem] = []
        self.sources: dict[str, str] = {}  # key -> "the X environment variable"
        self.invalid: set[str] = set()  # keys already reported as invalid

    def where(self, key: str) -> str:
        """How to name where a value came from in a message."""
        return self.sources.get(key) or f"TRIGGER[{self.alias!r}][{key!r}]"

    def add(self, code: str, message: str, hint: str | None = None) -> None:
        message = message[0].upper() + message[1:]  # "The X environment variable ..."
        self.problems.append(_problem(code, self.alias, message, hint))

    def build(self) -> ClientSettings:
        values = copy.deepcopy(DEFAULTS)
        for key in self.raw:
            if key not in DEFAULTS:
                self.add(
                    "E004",
                    f"Unknown key {validators.show(key)} in TRIGGER[{self.alias!r}].",
                    _did_you_mean(key, list(DEFAULTS)) + CHECK_IDS["E004"][1],
                )
        for key in DEFAULTS:
            value = self.raw.get(key)
            if value is None or value == "":
                if self.use_env and key in ENV_FALLBACKS:
                    value, name = _read_env(ENV_FALLBACKS[key])
                    if name:
                        self.sources[key] = f"the {name} environment variable"
                if value is None:
                    continue
            if key == "RETRY":
                values[key] = self.clean_retry(value)
                continue
            if key not in CLEANERS:
                values[key] = value
                continue
            code, cleaner = CLEANERS[key]
            try:
                values[key] = cleaner(value)
            except ValueError as err:
                self.invalid.add(key)
                self.add(code, f"{self.where(key)} {err}.")
        self.check_credentials(values)
        self.check_transport(values)
        return ClientSettings(self.alias, values, self.problems)

    def clean_retry(self, value: Any) -> RetryPolicy:
        if isinstance(value, RetryPolicy):
            return value
        if not isinstance(value, Mapping):
            self.add("E012", f"{self.where('RETRY')} must be a dict, not {type(value).__name__}.")
            return RetryPolicy()
        fields = {}
        for key, item in value.items():
            if key in RETRY_KEYS:
                fields[RETRY_KEYS[key]] = item
            else:
                self.add(
                    "E004",
                    f"Unknown key {validators.show(key)} in TRIGGER[{self.alias!r}]['RETRY'].",
                    _did_you_mean(key, list(RETRY_KEYS)) + CHECK_IDS["E004"][1],
                )
        not_numbers = [
            key
            for key, item in value.items()
            if key in RETRY_KEYS and not isinstance(item, (bool, int, float))
        ]
        for key in not_numbers:  # RetryPolicy's own messages would echo the value
            self.add(
                "E012",
                f"{self.where('RETRY')}[{key!r}] must be a number, not "
                f"{validators.show(value[key])}.",
            )
        if not_numbers:
            return RetryPolicy()
        try:
            return RetryPolicy(**fields)
        except ValueError as err:
            self.add("E012", f"{self.where('RETRY')}: {err}.")
            return RetryPolicy()

    def check_credentials(self, values: dict[str, Any]) -> None:
        token = values["ACCESS_TOKEN"]
        if "ACCESS_TOKEN" in self.invalid:
            return
        if token is None:
            names = " or ".join(ENV_FALLBACKS["ACCESS_TOKEN"])
            where = f"TRIGGER[{self.alias!r}]['ACCESS_TOKEN']"
            if self.use_env:
                where += f" (or the {names} environment variable)"
            self.add("E005", f"No Trigger.dev access token: set {where}.")
            return
        if any(char.isspace() for char in token):
            self.add("E006", f"{self.where('ACCESS_TOKEN')} ({redact(token)}) contains whitespace.")
            return
        kind = token_kind(token)
        if kind is TokenKind.UNKNOWN:
            if _TOKEN_SHAPE.fullmatch(token):
                self.add(
                    "W002",
                    f"{self.where('ACCESS_TOKEN')} ({redact(token)}) is not a kind "
                    "of token this version knows.",
                )
            else:
                self.add(
                    "E006",
                    f"{self.where('ACCESS_TOKEN')} ({redact(token)}) is not a "
                    "Trigger.dev access token.",
                )
            return
        environment = values["ENVIRONMENT"]
        # A value reported as invalid is not reported again as missing.
        if kind.is_personal and not values["PROJECT_REF"] and "PROJECT_REF" not in self.invalid:
            self.add(
                "E007",
                f"{self.where('ACCESS_TOKEN')} is a personal or organization access "
                f"token ({redact(token)}), which needs a project: PROJECT_REF is not set.",
            )
        key_environment = secret_key_environment(token)
        if key_environment and environment and key_environment != environment:
            self.add(
                "E008",
                f"{self.where('ACCESS_TOKEN')} is a {key_environment} secret key "
                f"({redact(token)}) but ENVIRONMENT is {environment!r}.",
            )
        if (
            key_environment == "preview"
            and not values["PREVIEW_BRANCH"]
            and "PREVIEW_BRANCH" not in self.invalid
        ):
            self.add(
                "E009",
                f"{self.where('ACCESS_TOKEN')} is a preview secret key "
                f"({redact(token)}) but PREVIEW_BRANCH is not set.",
            )
        if key_environment in ("staging", "prod") and values["PREVIEW_BRANCH"]:
            self.add(
                "W003",
                f"{self.where('PREVIEW_BRANCH')} is ignored: the access token is a "
                f"{key_environment} secret key ({redact(token)}).",
            )

    def check_transport(self, values: dict[str, Any]) -> None:
        url = values["API_URL"]
        if not self.debug and url.startswith("http://") and not _is_loopback(url):
            host = urlsplit(url).hostname
            self.add(
                "W001",
                f"{self.where('API_URL')} uses plain http:// (host {host!r}) while "
                "DEBUG is off: the access token would cross the network unencrypted.",
            )


# --- the settings object ---------------------------------------------------------------------


class _State(NamedTuple):
    clients: Mapping[str, ClientSettings]
    problems: tuple[Problem, ...]


_UNSET = object()


def _build_state() -> _State:
    raw = getattr(settings, "TRIGGER", _UNSET)
    debug = bool(settings.DEBUG)
    problems: list[Problem] = []
    clients: dict[str, ClientSettings] = {}
    if raw is _UNSET:
        raw = {DEFAULT_ALIAS: {}}
    if not isinstance(raw, Mapping):
        problems.append(
            _problem("E001", None, f"TRIGGER must be a dict, not {type(raw).__name__}.")
        )
        return _State(MappingProxyType(clients), tuple(problems))
    if DEFAULT_ALIAS not in raw:
        aliases = ", ".join(repr(a) for a in raw) or "none"
        problems.append(
            _problem("E003", DEFAULT_ALIAS, f"TRIGGER has no 'default' alias (aliases: {aliases}).")
        )
    for alias, options in raw.items():
        if not isinstance(alias, str) or not alias:
            problems.append(
                _problem("E002", None, f"TRIGGER alias {alias!r} is not a non-empty string.")
            )
            continue
        if not isinstance(options, Mapping):
            problems.append(
                _problem(
                    "E002",
                    alias,
                    f"TRIGGER[{alias!r}] must be a dict, not {type(options).__name__}.",
                )
            )
            continue
        client = _AliasBuilder(alias, options, alias == DEFAULT_ALIAS, debug).build()
        clients[alias] = client
        problems.extend(client.problems)
    return _State(MappingProxyType(clients), tuple(problems))


class TriggerSettings:
    """``settings.TRIGGER`` plus environment fallbacks, cleaned and checked on first use.

    ``clients`` maps each alias to its ``ClientSettings``; ``problems`` lists everything wrong
    (for ``manage.py check``); ``get(alias)`` returns one alias's settings or raises
    ``ConfigurationError``. ``reload()`` forgets what was read (settings or environment changed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: _State | None = None

    def _current(self) -> _State:
        state = self._state
        if state is None:
            with self._lock:
                if self._state is None:
                    self._state = _build_state()
                state = self._state
        return state

    def reload(self) -> None:
        with self._lock:
            self._state = None

    @property
    def clients(self) -> Mapping[str, ClientSettings]:
        return self._current().clients

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self._current().problems

    def get(self, alias: str = DEFAULT_ALIAS) -> ClientSettings:
        """The settings of ``alias``, or ``ConfigurationError`` (unknown alias, or the first
        error that would make its client fail)."""
        state = self._current()
        for problem in state.problems:
            if problem.blocking and problem.alias in (None, alias):
                raise problem.error()
        try:
            return state.clients[alias]
        except KeyError:
            configured = ", ".join(repr(a) for a in state.clients) or "none"
            raise ConfigurationError(
                f"No Trigger.dev client alias {alias!r} in TRIGGER (configured: {configured})."
            ) from None


trigger_settings = TriggerSettings()
