"""``TriggerClient``: one set of credentials and options, a transport, and the resources.

Built from explicit arguments only: it never reads Django settings or the environment (that
is ``conf``'s job, and ``get_client()`` builds clients from it), so a client made by hand is
isolated from global configuration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django_trigger._http.transport import Transport
from django_trigger.credentials import (
    normalize_environment,
    redact,
    secret_key_environment,
    token_kind,
)
from django_trigger.exceptions import ConfigurationError, InvalidRequestError
from django_trigger.options import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DASHBOARD_URL,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    validate_timeout,
)
from django_trigger.resources.batches import Batches
from django_trigger.resources.bulk_actions import BulkActions
from django_trigger.resources.deployments import Deployments
from django_trigger.resources.envvars import EnvVars
from django_trigger.resources.idempotency_keys import IdempotencyKeys
from django_trigger.resources.queues import Queues
from django_trigger.resources.runs import Runs
from django_trigger.resources.schedules import Schedules
from django_trigger.resources.tasks import Tasks

__all__ = ["TriggerClient"]

_PROJECT_REF = re.compile(r"^proj_[A-Za-z0-9]+$")


class TriggerClient:
    """A client of the Trigger.dev management API.

    >>> client = TriggerClient("tr_dev_...", project_ref="proj_...")
    >>> page = client.runs.list(status=["FAILED"], limit=20)
    >>> run = client.runs.retrieve(page.data[0].id)
    """

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        project_ref: str | None = None,
        environment: str | None = None,
        preview_branch: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        retry: RetryPolicy | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        dashboard_url: str | None = None,
        alias: str | None = None,
    ) -> None:
        if not isinstance(access_token, str) or not access_token.strip():
            raise ConfigurationError(
                "No Trigger.dev access token: pass a secret key (tr_dev_…, tr_prod_…) or a "
                "personal access token (tr_pat_…)."
            )
        if access_token != access_token.strip() or any(c.isspace() for c in access_token):
            raise ConfigurationError("The access token must not contain whitespace.")
        self._access_token = access_token
        self.token_kind = token_kind(access_token)
        self.alias = alias
        self.base_url = _validate_url(base_url, "base_url")
        self.dashboard_url = _validate_url(dashboard_url or DEFAULT_DASHBOARD_URL, "dashboard_url")
        self.project_ref = _validate_project_ref(project_ref)
        self.environment = self._resolve_environment(environment)
        self.preview_branch = preview_branch or None
        for problem in validate_timeout(timeout) + validate_timeout(
            connect_timeout, "connect_timeout"
        ):
            raise ConfigurationError(problem)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        try:
            self.retry = RetryPolicy().merged(retry)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid retry option: {exc}") from exc
        self.headers = _validate_headers(headers)
        self._transport = Transport(
            access_token=access_token,
            base_url=self.base_url,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            retry=self.retry,
            headers=self.headers,
            preview_branch=self.preview_branch,
        )

        self.runs = Runs(self)
        self.tasks = Tasks(self)
        self.batches = Batches(self)
        self.envvars = EnvVars(self)
        self.schedules = Schedules(self)
        self.queues = Queues(self)
        self.deployments = Deployments(self)
        self.bulk_actions = BulkActions(self)
        self.idempotency_keys = IdempotencyKeys(self)

    def _resolve_environment(self, environment: str | None) -> str | None:
        key_environment = secret_key_environment(self._access_token)
        if environment is None:
            return key_environment
        try:
            slug = normalize_environment(environment)
        except (AttributeError, ValueError) as exc:
            raise ConfigurationError(str(exc)) from None
        if key_environment is not None and slug != key_environment:
            raise ConfigurationError(
                f"environment {slug!r} contradicts the secret key, which belongs to "
                f"{key_environment!r}; use that environment's key (or a personal access token)."
            )
        return slug

    # -- what resources ask of the client ------------------------------------------------------

    def require_project_ref(self, explicit: str | None, operation: str) -> str:
        ref = explicit if explicit is not None else self.project_ref
        if ref is None:
            raise InvalidRequestError(
                f"{operation} needs a project ref (proj_…): pass project_ref= or configure "
                "PROJECT_REF"
            )
        _validate_project_ref(ref, error=InvalidRequestError)
        return ref

    def require_environment(self, explicit: str | None, operation: str) -> str:
        if explicit is None:
            if self.environment is None:
                raise InvalidRequestError(
                    f"{operation} needs an environment (dev, staging, prod or preview): pass "
                    "environment= or configure ENVIRONMENT"
                )
            return self.environment
        try:
            return normalize_environment(explicit)
        except (AttributeError, ValueError) as exc:
            raise InvalidRequestError(str(exc)) from None

    # -- lifecycle -------------------------------------------------------------------------------

    def with_options(self, **changes: Any) -> TriggerClient:
        """A new client with some constructor arguments changed (this one is untouched)."""
        arguments: dict[str, Any] = {
            "base_url": self.base_url,
            "project_ref": self.project_ref,
            "environment": self.environment,
            "preview_branch": self.preview_branch,
            "timeout": self.timeout,
            "connect_timeout": self.connect_timeout,
            "retry": self.retry,
            "headers": self.headers,
            "dashboard_url": self.dashboard_url,
            "alias": self.alias,
        }
        token = changes.pop("access_token", self._access_token)
        unknown = set(changes) - set(arguments)
        if unknown:
            raise TypeError(f"unknown client option(s): {', '.join(sorted(unknown))}")
        if token is not self._access_token and "environment" not in changes:
            arguments["environment"] = None  # a new key brings its own environment
        arguments.update(changes)
        return TriggerClient(token, **arguments)

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> TriggerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def redacted_token(self) -> str:
        return redact(self._access_token)

    @property
    def uses_personal_token(self) -> bool:
        return self.token_kind.is_personal

    def __repr__(self) -> str:
        alias = f" {self.alias!r}" if self.alias else ""
        return f"<TriggerClient{alias} {self.base_url} {self.redacted_token}>"


def _validate_url(value: str, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a URL string")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{name} must be an http(s) URL, not {value!r}")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigurationError(f"{name} must not contain credentials, a query or a fragment")
    return value.strip().rstrip("/")


def _validate_project_ref(
    value: str | None, error: type[Exception] = ConfigurationError
) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _PROJECT_REF.match(value):
        raise error(f"project ref must look like 'proj_…', not {value!r}")
    return value


def _validate_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError("headers must map header names to string values")
        if name.lower() == "authorization":
            raise ConfigurationError("set the token with access_token, not an Authorization header")
        result[name] = value
    return result

