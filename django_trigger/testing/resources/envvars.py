"""Environment variables: per-project variables with one value per environment (API.md §6.4, §8).

The store mirrors the real repository (``environmentVariablesRepository.server.ts``): a variable
(name, ``envvar_…`` id) belongs to a project and holds at most one value per environment; each
value carries ``isSecret``. What the routes see:

* reads merge a branch environment's parent values with its own (the child wins) and hide the
  reserved names ``TRIGGER_SECRET_KEY`` / ``TRIGGER_API_URL``; a name that is secret in the
  child **or** the parent reads back as ``<redacted>``;
* :meth:`EnvVarStore.create` is the repository's ``create`` (used by create, with override on,
  and by import): reserved names dropped, empty names/values dropped after trimming, a conflict
  check when ``override`` is off that writes nothing, ``isSecret`` only changed when given;
* :meth:`EnvVarStore.edit` / :meth:`EnvVarStore.delete_value` are ``edit`` / ``deleteValue``.

Failures raise :class:`EnvVarError` (``message`` + ``variable_errors``), which the handlers turn
into the real 400 bodies. Tests can read or set state directly::

    with emu.state.lock:
        emu.state.envvars.set(env, "API_KEY", "s3cret", is_secret=True)
        emu.state.envvars.value(env, "API_KEY")   # -> "s3cret" (unredacted)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import ENV_TITLES, Environment

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = [
    "REDACTED",
    "RESERVED_NAMES",
    "EnvVar",
    "EnvVarError",
    "EnvVarStore",
    "EnvVarValue",
    "parse_dotenv",
    "render_variable",
    "seed_envvars",
]

REDACTED = "<redacted>"
#: Silently dropped on write and hidden on read ([envrules] ``blacklistedVariables``).
RESERVED_NAMES = frozenset({"TRIGGER_SECRET_KEY", "TRIGGER_API_URL"})
_RENAMED = {"OTEL_RESOURCE_ATTRIBUTES": "CUSTOM_OTEL_RESOURCE_ATTRIBUTES"}


class EnvVarError(Exception):
    """A repository failure: the route answers 400 ``{"error", "variableErrors"?}``."""

    def __init__(self, message: str, variable_errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.variable_errors = variable_errors


@dataclass
class EnvVarValue:
    value: str
    is_secret: bool = False
    version: int = 1


@dataclass
class EnvVar:
    key: str
    friendly_id: str
    values: dict[str, EnvVarValue] = field(default_factory=dict)  # environment id -> value


class EnvVarStore:
    """Every project's variables, keyed by project ref then name (insertion order kept, as the
    secret store returns them)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._projects: dict[str, dict[str, EnvVar]] = {}

    # -- lookups ---------------------------------------------------------------------------------

    def variables(self, project_ref: str) -> dict[str, EnvVar]:
        return self._projects.setdefault(project_ref, {})

    def find(self, project_ref: str, key: str) -> EnvVar | None:
        """The variable with this exact name anywhere in the project (any environment)."""
        return self._projects.get(project_ref, {}).get(key)

    def _parent(self, env: Environment) -> Environment | None:
        return self.world.environments.get(env.parent_id) if env.parent_id else None

    def resolved(self, env: Environment) -> list[tuple[str, str, bool]]:
        """``[(name, value, is_secret)]`` as the list/retrieve routes read them: parent values
        first, the environment's own values override them, reserved names hidden, and a name
        that is secret in either environment redacted."""
        parent = self._parent(env)
        variables = self._projects.get(env.project_ref, {})
        merged: dict[str, str] = {}
        secret: set[str] = set()
        for source in ([parent] if parent else []) + [env]:
            for var in variables.values():
                value = var.values.get(source.id)
                if value is None:
                    continue
                merged[var.key] = value.value
                if value.is_secret:
                    secret.add(var.key)
        return [
            (key, REDACTED if key in secret else value, key in secret)
            for key, value in merged.items()
            if key not in RESERVED_NAMES
        ]

    def runtime(self, env: Environment, *, api_origin: str, org_id: str) -> dict[str, str]:
        """``resolveVariablesForEnvironment``: what a run of ``env`` receives — the overridable
        defaults, the project's values (parent first, unredacted, ``OTEL_RESOURCE_ATTRIBUTES``
        renamed ``CUSTOM_OTEL_RESOURCE_ATTRIBUTES``), then the built-in variables, later ones
        winning."""
        parent = self._parent(env)
        project: list[tuple[str, str]] = []
        merged: dict[str, str] = {}
        for source in ([parent] if parent else []) + [env]:
            for var in self._projects.get(env.project_ref, {}).values():
                if source.id in var.values:
                    merged[var.key] = var.values[source.id].value
        for key, value in merged.items():
            if key not in RESERVED_NAMES:
                project.append((_RENAMED.get(key, key), value))
        pairs = [("TRIGGER_REALTIME_STREAM_VERSION", "v2")]
        if env.type == "DEVELOPMENT":
            pairs.append(("OTEL_EXPORTER_OTLP_ENDPOINT", f"{api_origin}/otel"))
            pairs += project
            pairs += [
                ("TRIGGER_OTEL_EXPORTER_OTLP_ENDPOINT", f"{api_origin}/otel"),
                ("TRIGGER_API_URL", api_origin),
            ]
        else:
            pairs += project
            pairs += [
                ("TRIGGER_SECRET_KEY", (parent or env).api_key),
                ("TRIGGER_API_URL", api_origin),
                ("TRIGGER_STREAM_URL", api_origin),
                ("TRIGGER_ORG_ID", org_id),
            ]
        if env.branch_name:
            pairs.append(("TRIGGER_PREVIEW_BRANCH", env.branch_name))
        # deduplicateVariableArray: the last occurrence wins and keeps its position.
        latest = {key: index for index, (key, _value) in enumerate(pairs)}
        return {key: value for index, (key, value) in enumerate(pairs) if latest[key] == index}

    def value(self, env: Environment, key: str) -> str | None:
        """The unredacted value this environment sees for ``key`` (its own, else its parent's)."""
        var = self.find(env.project_ref, key)
        if var is None:
            return None
        for source in (env, self._parent(env)):
            if source is not None and source.id in var.values:
                return var.values[source.id].value
        return None

    # -- writes ----------------------------------------------------------------------------------

    def set(self, env: Environment, key: str, value: str, *, is_secret: bool = False) -> EnvVar:
        """Write one value directly (seeding and tests); no validation."""
        var = self._variable(env.project_ref, key)
        current = var.values.get(env.id)
        if current is None:
            var.values[env.id] = EnvVarValue(value, is_secret)
        else:
            current.value, current.is_secret = value, is_secret
            current.version += 1
        return var

    def _variable(self, project_ref: str, key: str) -> EnvVar:
        variables = self.variables(project_ref)
        var = variables.get(key)
        if var is None:
            var = variables[key] = EnvVar(key, self.world.ids.friendly("envvar"))
        return var

    def create(
        self,
        env: Environment,
        variables: list[tuple[str, str]],
        *,
        override: bool,
        is_secret: bool | None = None,
        inherit_secret_from_parent: bool = False,
    ) -> None:
        """The repository's ``create`` for one environment. Raises :class:`EnvVarError`;
        writes nothing unless everything is valid."""
        kept = [(k, v) for k, v in variables if k not in RESERVED_NAMES]
        dropped_reserved = len(kept) != len(variables)
        kept = [(k, v) for k, v in kept if k.strip() and v.strip()]
        if not kept:
            raise EnvVarError(
                "You must set at least one valid variable."
                + (" All the variables submitted are not allowed." if dropped_reserved else "")
            )
        if not override:
            conflicts = []
            for key, _value in kept:
                var = self.find(env.project_ref, key)
                if var is not None and env.id in var.values:
                    conflicts.append(
                        {
                            "key": key,
                            "error": f"Variable already set in {ENV_TITLES[env.type]}.",
                        }
                    )
            if conflicts:
                raise EnvVarError(
                    "Some of the variables are already set for these environments. Set override "
                    "to true to override them.",
                    conflicts,
                )
        parent = self._parent(env) if inherit_secret_from_parent else None
        for key, value in kept:
            var = self._variable(env.project_ref, key)
            current = var.values.get(env.id)
            if current is not None:
                if current.value == value and (is_secret is None or current.is_secret == is_secret):
                    continue  # the repository skips identical writes (no version bump)
                current.value = value
                current.version += 1
                if is_secret is not None:
                    current.is_secret = is_secret
                continue
            secret = is_secret
            if secret is None and parent is not None:
                parent_value = var.values.get(parent.id)
                secret = True if parent_value is not None and parent_value.is_secret else None
            var.values[env.id] = EnvVarValue(value, bool(secret))

    def edit(self, env: Environment, var: EnvVar, value: str) -> None:
        """``PUT /{env}/{name}``: a blank value changes nothing; otherwise this environment's
        value is updated, or created (not secret) when it had none."""
        if not value.strip():
            return
        current = var.values.get(env.id)
        if current is None:
            var.values[env.id] = EnvVarValue(value)
        else:
            current.value = value
            current.version += 1

    def delete_value(self, env: Environment, var: EnvVar) -> None:
        """Remove this environment's value; the last value takes the whole variable with it."""
        if env.id not in var.values:
            raise EnvVarError("Environment variable value not found")
        if len(var.values) == 1:
            self.variables(env.project_ref).pop(var.key, None)
            return
        del var.values[env.id]


# -- dotenv ----------------------------------------------------------------------------------------

# The npm ``dotenv`` (16.x) ``parse`` line grammar, which the multipart import uses.
_DOTENV_LINE = re.compile(
    r"(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\""
    r"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)",
    re.MULTILINE | re.ASCII,
)
_DOTENV_QUOTED = re.compile(r"^(['\"`])([\s\S]*)\1$", re.MULTILINE)


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse dotenv text exactly as the server does (npm ``dotenv`` 16 ``parse``): ``export``
    prefixes, ``KEY: value``, single/double/backtick quotes (``\\n``/``\\r`` expanded in double
    quotes only), ``#`` comments outside quotes; later duplicates win."""
    lines = re.sub(r"\r\n?", "\n", text)
    result: dict[str, str] = {}
    for match in _DOTENV_LINE.finditer(lines):
        key = match.group(1)
        value = (match.group(2) or "").strip()
        quote = value[:1]
        value = _DOTENV_QUOTED.sub(r"\2", value)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        result[key] = value
    return result


# -- seed ------------------------------------------------------------------------------------------

_HOSTS = {
    "DEVELOPMENT": "localhost:5432",
    "STAGING": "db.staging.internal:5432",
    "PRODUCTION": "db.prod.internal:5432",
    "PREVIEW": "db.preview.internal:5432",
}
_REGIONS = {
    "DEVELOPMENT": "local",
    "STAGING": "eu-west-1",
    "PRODUCTION": "eu-central-1",
    "PREVIEW": "eu-west-1",
}


def _token(rng: random.Random, prefix: str, length: int = 24) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


def seed_envvars(world: World, rng: random.Random) -> None:
    """A realistic, deterministic set of variables: every environment of every project gets
    ``DATABASE_URL`` and ``SLACK_API_KEY`` (secret), ``REGION``, ``LOG_LEVEL`` and
    ``FEATURE_FLAGS``; production adds ``SENTRY_DSN`` (secret). In the default project the
    preview branch ``feature-login`` overrides ``API_BASE_URL`` and adds ``LOGIN_PROVIDER`` while
    ``fix/checkout`` only inherits the preview values; ``FEATURE_FLAGS`` is secret in the preview
    parent, so it reads back redacted in both branches."""
    store: EnvVarStore = world.envvars
    for project in world.projects.values():
        for env in world.project_environments(project.ref):
            if env.parent_id is not None:
                continue
            slug = env.slug
            store.set(
                env,
                "DATABASE_URL",
                f"postgres://app:{_token(rng, '', 16)}@{_HOSTS[env.type]}/{project.slug}",
                is_secret=True,
            )
            store.set(env, "SLACK_API_KEY", _token(rng, "xoxb-"), is_secret=True)
            store.set(env, "REGION", _REGIONS[env.type])
            store.set(env, "LOG_LEVEL", "debug" if env.type == "DEVELOPMENT" else "info")
            store.set(env, "API_BASE_URL", f"https://{slug}.api.example.com")
            store.set(
                env, "FEATURE_FLAGS", "beta-dashboard,new-billing", is_secret=env.type == "PREVIEW"
            )
            if env.type == "PRODUCTION":
                dsn = f"https://{_token(rng, '', 32)}@o1.ingest.sentry.io/{rng.randrange(10**6)}"
                store.set(env, "SENTRY_DSN", dsn, is_secret=True)
        for env in world.project_environments(project.ref):
            if env.branch_name == "feature-login":
                store.set(env, "API_BASE_URL", "https://feature-login.preview.example.com")
                store.set(env, "LOGIN_PROVIDER", "passkeys")


def render_variable(name: str, value: str, is_secret: bool) -> dict[str, Any]:
    return {"name": name, "value": value, "isSecret": is_secret}
