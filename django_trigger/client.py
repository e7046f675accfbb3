"""``TriggerClient``: one set of credentials and options, a transport, and the resources.

Built from explicit arguments only: it never reads Django settings or the environment (that
is ``conf``'s job, and ``get_client()`` builds clients from it), so a client made by hand is
isolated from global configuration.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from django_trigger import validators
from django_trigger._http.ratelimit import RateLimitStore
from django_trigger._http.transport import Transport, TransportBase
from django_trigger.credentials import (
    Secret,
    redact,
    secret_key_environment,
    token_kind,
)
from django_trigger.exceptions import (
    ConfigurationError,
    ConfigurationRefusalError,
    InvalidRequestError,
)
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

if TYPE_CHECKING:
    from django_trigger.pagination import CursorPage, OffsetPage
    from django_trigger.resources.auth import PublicTokens
    from django_trigger.resources.batches import Batches
    from django_trigger.resources.bulk_actions import BulkActions
    from django_trigger.resources.concurrency_limits import ConcurrencyLimits
    from django_trigger.resources.deployments import Deployments
    from django_trigger.resources.environments import Environments
    from django_trigger.resources.envvars import EnvVars
    from django_trigger.resources.errors import Errors
    from django_trigger.resources.idempotency_keys import IdempotencyKeys
    from django_trigger.resources.projects import Projects
    from django_trigger.resources.prompts import Prompts
    from django_trigger.resources.query import Query
    from django_trigger.resources.queues import Queues
    from django_trigger.resources.runs import Runs
    from django_trigger.resources.schedules import Schedules
    from django_trigger.resources.sessions import Sessions
    from django_trigger.resources.streams import Streams
    from django_trigger.resources.tasks import Tasks
    from django_trigger.resources.waitpoints import Waitpoints
    from django_trigger.resources.webhooks import Webhooks

__all__ = ["BaseClient", "TriggerClient"]

T = TypeVar("T")
C = TypeVar("C", bound="BaseClient")


class _Resource(Generic[T]):
    """``client.runs`` and the like: the resource module is imported on first use (so that
    importing the client does not define every record class), then the resource object is
    kept on the client."""

    def __init__(self, module: str, name: str) -> None:
        self.module = f"django_trigger.resources.{module}"
        self.name = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    @overload
    def __get__(self, client: None, owner: type) -> _Resource[T]: ...
    @overload
    def __get__(self, client: BaseClient, owner: type) -> T: ...
    def __get__(self, client: BaseClient | None, owner: type) -> _Resource[T] | T:
        if client is None:
            return self
        resource: T = getattr(importlib.import_module(self.module), self.name)(client)
        client.__dict__[self.attribute] = resource
        return resource


class BaseClient:
    """What ``TriggerClient`` and ``AsyncTriggerClient`` share: configuration, credentials
    checks and the resources (the same resource classes; the client decides whether a call
    runs now or is awaited: ``_then``, ``_run_flow``, ``_sleep``, ``_pages``, ``_pager``).

    >>> client = TriggerClient("tr_dev_...", project_ref="proj_...")
    >>> page = client.runs.list(status=["FAILED"], limit=20)
    >>> run = client.runs.retrieve(page.data[0].id)
    """

    _transport_class: ClassVar[type[TransportBase]]
    _transport: Any  # the subclass's transport: Transport or AsyncTransport

    @property
    def _pages(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """The page classes of list results (imported with the first list, not the client)."""
        raise NotImplementedError

    # How a resource's call runs (sync: now; async: as an awaitable), see resources/_base.py.
    def _then(self, value: Any, then: Callable[[Any], T]) -> T:
        raise NotImplementedError

    def _run_flow(self, steps: Generator[Any, Any, T]) -> T:
        raise NotImplementedError

    def _sleep(self, seconds: float) -> Any:
        raise NotImplementedError

    def _pager(self, page: T) -> T:
        raise NotImplementedError

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
        deadline: float = DEFAULT_DEADLINE,
        not_found_retry_budget: float = DEFAULT_NOT_FOUND_RETRY_BUDGET,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
        rate_limit_store: RateLimitStore | None = None,
    ) -> None:
        if not isinstance(access_token, str) or not access_token.strip():
            raise ConfigurationError(
                "No Trigger.dev access token: pass a secret key (tr_dev_…, tr_prod_…), a "
                "personal access token (tr_pat_…) or a public access token."
            )
        if access_token != access_token.strip() or any(c.isspace() for c in access_token):
            raise ConfigurationError("The access token must not contain whitespace.")
        self._access_token = Secret(access_token)  # repr redacted: vars(client) is safe
        self.token_kind = token_kind(access_token)
        self.alias = alias
        self.base_url = _checked(validators.url, base_url, "base_url")
        self.dashboard_url = _checked(
            validators.url, dashboard_url or DEFAULT_DASHBOARD_URL, "dashboard_url"
        )
        self.project_ref = _checked(validators.project_ref, project_ref, "project_ref")
        self.environment = self._resolve_environment(environment)
        self.preview_branch = _checked(validators.branch, preview_branch, "preview_branch")
        for problem in validate_timeout(timeout) + validate_timeout(
            connect_timeout, "connect_timeout"
        ):
            raise ConfigurationError(problem)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        for problem in (
            validate_timeout(deadline, "deadline")
            + validate_budget(not_found_retry_budget, "not_found_retry_budget")
            + validate_count(max_response_size, "max_response_size")
            + validate_count(pool_maxsize, "pool_maxsize")
        ):
            raise ConfigurationError(problem)
        self.deadline = float(deadline)
        self.not_found_retry_budget = float(not_found_retry_budget)
        self.max_response_size = int(max_response_size)
        self.pool_maxsize = int(pool_maxsize)
        try:
            self.retry = RetryPolicy().merged(retry)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid retry option: {exc}") from exc
        self.headers = _checked(validators.headers, headers, "headers")
        self._transport = self._transport_class(
            access_token=access_token,
            base_url=self.base_url,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            retry=self.retry,
            headers=self.headers,
            preview_branch=self.preview_branch,
            deadline=self.deadline,
            not_found_retry_budget=self.not_found_retry_budget,
            max_response_size=self.max_response_size,
            pool_maxsize=self.pool_maxsize,
            rate_limit_store=rate_limit_store,
        )
        self.rate_limit_store = rate_limit_store

    def _resolve_environment(self, environment: str | None) -> str | None:
        key_environment = secret_key_environment(self._access_token)
        if environment is None:
            return key_environment
        slug = _checked(validators.environment, environment, "environment")
        if key_environment is not None and slug != key_environment:
            raise ConfigurationError(
                f"environment {slug!r} contradicts the secret key, which belongs to "
                f"{key_environment!r}; use that environment's key (or a personal access token)."
            )
        return slug

    # -- what resources ask of the client ------------------------------------------------------

    def require_project_ref(self, explicit: str | None, operation: str) -> str:
        ref = explicit if explicit is not None else self.project_ref
        ref = _checked(validators.project_ref, ref, "project_ref", InvalidRequestError)
        if ref is None:
            raise ConfigurationRefusalError(
                f"{operation} needs a project ref (proj_…): pass project_ref= or configure "
                "PROJECT_REF",
                reason=ConfigurationRefusalError.PROJECT_REF,
            )
        return ref

    def require_environment(self, explicit: str | None, operation: str) -> str:
        if explicit is None:
            if self.environment is None:
                raise ConfigurationRefusalError(
                    f"{operation} needs an environment (dev, staging, prod or preview): pass "
                    "environment= or configure ENVIRONMENT",
                    reason=ConfigurationRefusalError.ENVIRONMENT,
                )
            return self.environment
        return _checked(validators.environment, explicit, "environment", InvalidRequestError)

    # -- lifecycle -------------------------------------------------------------------------------

    def with_options(self: C, **changes: Any) -> C:
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
            "deadline": self.deadline,
            "not_found_retry_budget": self.not_found_retry_budget,
            "max_response_size": self.max_response_size,
            "pool_maxsize": self.pool_maxsize,
            "rate_limit_store": self.rate_limit_store,
        }
        token = changes.pop("access_token", self._access_token)
        unknown = set(changes) - set(arguments)
        if unknown:
            raise TypeError(f"unknown client option(s): {', '.join(sorted(unknown))}")
        if token is not self._access_token and "environment" not in changes:
            arguments["environment"] = None  # a new key brings its own environment
        arguments.update(changes)
        return type(self)(token, **arguments)

    @property
    def redacted_token(self) -> str:
        return redact(self._access_token)

    @property
    def uses_personal_token(self) -> bool:
        return self.token_kind.is_personal

    def __repr__(self) -> str:
        alias = f" {self.alias!r}" if self.alias else ""
        return f"<{type(self).__name__}{alias} {self.base_url} {self.redacted_token}>"


class TriggerClient(BaseClient):
    """A client of the Trigger.dev management API.

    >>> client = TriggerClient("tr_dev_...", project_ref="proj_...")
    >>> page = client.runs.list(status=["FAILED"], limit=20)
    >>> run = client.runs.retrieve(page.data[0].id)
    """

    _transport_class = Transport
    _transport: Transport

    # The resources (the async client lists the same, with their async types).
    runs: _Resource[Runs] = _Resource("runs", "Runs")
    tasks: _Resource[Tasks] = _Resource("tasks", "Tasks")
    batches: _Resource[Batches] = _Resource("batches", "Batches")
    envvars: _Resource[EnvVars] = _Resource("envvars", "EnvVars")
    schedules: _Resource[Schedules] = _Resource("schedules", "Schedules")
    queues: _Resource[Queues] = _Resource("queues", "Queues")
    deployments: _Resource[Deployments] = _Resource("deployments", "Deployments")
    bulk_actions: _Resource[BulkActions] = _Resource("bulk_actions", "BulkActions")
    idempotency_keys: _Resource[IdempotencyKeys] = _Resource("idempotency_keys", "IdempotencyKeys")
    waitpoints: _Resource[Waitpoints] = _Resource("waitpoints", "Waitpoints")
    auth: _Resource[PublicTokens] = _Resource("auth", "PublicTokens")
    projects: _Resource[Projects] = _Resource("projects", "Projects")
    prompts: _Resource[Prompts] = _Resource("prompts", "Prompts")
    streams: _Resource[Streams] = _Resource("streams", "Streams")
    environments: _Resource[Environments] = _Resource("environments", "Environments")
    errors: _Resource[Errors] = _Resource("errors", "Errors")
    webhooks: _Resource[Webhooks] = _Resource("webhooks", "Webhooks")
    concurrency_limits: _Resource[ConcurrencyLimits] = _Resource(
        "concurrency_limits", "ConcurrencyLimits"
    )
    query: _Resource[Query] = _Resource("query", "Query")
    sessions: _Resource[Sessions] = _Resource("sessions", "Sessions")

    @property
    def _pages(self) -> tuple[type[CursorPage[Any]], type[OffsetPage[Any]]]:
        from django_trigger.pagination import CursorPage, OffsetPage

        return (CursorPage, OffsetPage)

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> TriggerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- how resources' calls run: now ------------------------------------------------------

    def _then(self, value: Any, then: Callable[[Any], T]) -> T:
        return then(value)

    def _run_flow(self, steps: Generator[Any, Any, T]) -> T:
        # Each step already ran (its errors were raised inside the generator): hand it back.
        value: Any = None
        while True:
            try:
                value = steps.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _pager(self, page: T) -> T:
        return page


def _checked(
    check: Callable[[Any], T],
    value: Any,
    name: str,
    error: type[Exception] = ConfigurationError,
) -> T:
    """``check(value)``, its ``ValueError`` raised as ``error`` naming the argument (the
    messages of ``validators`` never echo a secret)."""
    try:
        return check(value)
    except ValueError as exc:
        raise error(f"{name} {exc}") from None
