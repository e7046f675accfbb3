"""``client.envvars``: a project environment's variables (API.md §6.4, §8).

The project ref and environment default to the client's configuration. With a secret key the
API ignores the environment in the path and always uses the key's own (API.md §2.5), so asking
for another environment is refused here, before anything is sent; a personal access token can
address any environment of its projects.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import IO, TYPE_CHECKING, Any, TypeVar

from django_trigger import validators
from django_trigger._http.paths import build_path
from django_trigger.credentials import TokenKind, secret_key_environment
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.types import EnvVar, SchemaError, SuccessResponse
from django_trigger.validators import ENV_VAR_NAME as NAME_PATTERN
from django_trigger.validators import RESERVED_ENV_VAR_NAMES as RESERVED_NAMES

from ._base import Auth, Resource, RetrySafety, flow, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import EnvVarsWithRawResponse

__all__ = ["NAME_PATTERN", "RESERVED_NAMES", "EnvVars", "validate_name"]

T = TypeVar("T")

# The OpenAPI file names staging "staging"; the server also takes "stg".
_PATH_ENVIRONMENT = {"dev": "dev", "staging": "staging", "prod": "prod", "preview": "preview"}


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidRequestError(
            f"invalid environment variable name {name!r}: use ASCII letters, digits and underscores"
        )
    if name in RESERVED_NAMES:
        raise InvalidRequestError(
            f"{name} is reserved: Trigger.dev sets it itself and silently drops it on write"
        )
    return name


class EnvVars(Resource):
    with_raw_response: RawTwin[EnvVarsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self,
        *,
        project_ref: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> list[EnvVar]:
        """Every variable of the environment (secret values read back as ``<redacted>``)."""
        return self._call(
            "GET",
            operation="envvars.list",
            project_ref=project_ref,
            environment=environment,
            branch=branch,
            parse=_env_var_list,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self,
        name: str,
        *,
        project_ref: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> EnvVar:
        return self._call(
            "GET",
            operation="envvars.retrieve",
            project_ref=project_ref,
            environment=environment,
            branch=branch,
            name=name,
            parse=EnvVar.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="the API upserts: the same value again")
    def create(
        self,
        name: str,
        value: str,
        *,
        is_secret: bool | None = None,
        project_ref: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> SuccessResponse:
        """Create a variable, or overwrite its value if it exists (the API upserts)."""
        validate_name(name)
        body: dict[str, Any] = {"name": name, "value": _value(value, name)}
        if is_secret is not None:
            body["isSecret"] = _flag(is_secret, "is_secret")
        return self._call(
            "POST",
            operation="envvars.create",
            project_ref=project_ref,
            environment=environment,
            branch=branch,
            json_body=body,
            parse=SuccessResponse.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the same value again")
    def update(
        self,
        name: str,
        value: str,
        *,
        project_ref: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> SuccessResponse:
        """Set the value of a variable that exists in the project."""
        return self._call(
            "PUT",
            operation="envvars.update",
            project_ref=project_ref,
            environment=environment,
            branch=branch,
            name=name,
            json_body={"value": _value(value, name)},
            parse=SuccessResponse.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="a retry answered 'value not found' (or 404 once the last value is gone) after "
        "a lost answer means it was deleted",
    )
    @flow
    def delete(
        self,
        name: str,
        *,
        project_ref: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, SuccessResponse]:
        try:
            return (
                yield self._call(
                    "DELETE",
                    operation="envvars.delete",
                    project_ref=project_ref,
                    environment=environment,
                    branch=branch,
                    name=name,
                    parse=SuccessResponse.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            # The lost attempt deleted this environment's value (and the variable with it
            # when that was its last value).
            if self._done_before(exc, 400, "value not found") or self._done_before(exc, 404):
                return SuccessResponse.from_api({"success": True})
            raise

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        RetrySafety.VERIFIED,
        RetrySafety.UNSAFE,
        why="with override the same values are written again; without, a retry answered "
        "'already set' is verified by reading the values back (a file cannot be: unsafe)",
    )
    @flow
    def upload(
        self,
        variables: Mapping[str, str] | str | bytes | IO[bytes],
        *,
        override: bool = False,
        is_secret: bool | None = None,
        parent_variables: Mapping[str, str] | None = None,
        project_ref: str | None = None,
        environment: str | None = None,
        branch: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, SuccessResponse]:
        """Import many variables in one request.

        ``variables`` is a mapping (sent as JSON) or dotenv text / a binary file (sent as the
        multipart upload the dashboard uses). Without ``override`` the API refuses the whole
        import (400, nothing written) if any name already has a value in this environment.
        """
        path, headers = self._target("envvars.upload", project_ref, environment, branch)
        path += "/import"
        if isinstance(variables, Mapping):
            for name in variables:
                validate_name(name)
            body: dict[str, Any] = {
                "variables": {name: _value(value, name) for name, value in variables.items()},
                "override": _flag(override, "override"),
            }
            if is_secret is not None:
                body["isSecret"] = _flag(is_secret, "is_secret")
            if parent_variables:
                for name in parent_variables:
                    validate_name(name)
                body["parentVariables"] = {
                    name: _value(value, name) for name, value in parent_variables.items()
                }
            try:
                return (
                    yield self._request(
                        "POST",
                        path,
                        operation="envvars.upload",
                        auth=Auth.EITHER,
                        headers=headers,
                        json_body=body,
                        parse=SuccessResponse.from_api,
                        request_options=request_options,
                        retry_safety=RetrySafety.IDEMPOTENT if override else RetrySafety.VERIFIED,
                    )
                )
            except ApiError as exc:
                if not self._done_before(exc, 400, "already set"):
                    raise
                # The lost attempt may have written them: done if every value reads back.
                target = (project_ref, environment, branch)
                if not _all_set(
                    body["variables"],
                    (
                        yield self.list(
                            project_ref=target[0],
                            environment=target[1],
                            branch=target[2],
                            request_options=request_options,
                        )
                    ),
                ):
                    raise
                return SuccessResponse.from_api({"success": True})
        if is_secret is not None or parent_variables:
            raise InvalidRequestError(
                "is_secret and parent_variables need variables as a mapping, not a file"
            )
        content = variables.encode() if isinstance(variables, str) else variables
        files = {"variables": (".env", content, "text/plain")}
        form = {"override": "true"} if override else {}
        uploaded: SuccessResponse = yield self._request(
            "POST",
            path,
            operation="envvars.upload",
            auth=Auth.EITHER,
            headers=headers,
            files={**files, **{key: (None, value) for key, value in form.items()}},
            parse=SuccessResponse.from_api,
            request_options=request_options,
            retry_safety=RetrySafety.IDEMPOTENT if override else RetrySafety.UNSAFE,
            unknown_hint=(
                "list the environment's variables (client.envvars.list()) to see whether the "
                "file's values were written, then upload again with override=True if needed"
            ),
        )
        return uploaded

    # -- target resolution ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        *,
        operation: str,
        project_ref: str | None,
        environment: str | None,
        branch: str | None,
        name: str | None = None,
        json_body: Any = None,
        parse: Callable[[Any], T],
        request_options: RequestOptionsLike,
    ) -> T:
        """One request to the variables of (project ref, environment, branch)."""
        path, headers = self._target(operation, project_ref, environment, branch, name)
        return self._request(
            method,
            path,
            operation=operation,
            auth=Auth.EITHER,
            headers=headers,
            json_body=json_body,
            parse=parse,
            request_options=request_options,
        )

    def _target(
        self,
        operation: str,
        project_ref: str | None,
        environment: str | None,
        branch: str | None,
        name: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        client = self._client
        ref = client.require_project_ref(project_ref, operation)
        slug = client.require_environment(environment, operation)
        if client.token_kind is TokenKind.SECRET_KEY:
            key_environment = secret_key_environment(client._access_token)
            if slug != key_environment:
                raise InvalidRequestError(
                    f"{operation}: this secret key belongs to {key_environment!r}, and the API "
                    f"would silently use that environment instead of {slug!r}. Use the "
                    f"{slug!r} key, or a personal access token to reach any environment."
                )
        try:
            branch = validators.branch(branch)
        except ValueError as exc:
            raise InvalidRequestError(f"branch {exc}") from None
        headers = {"x-trigger-branch": branch} if branch else {}
        segments: list[tuple[object, str]] = [
            (ref, "project_ref"),
            (_PATH_ENVIRONMENT[slug], "environment"),
        ]
        template = "/api/v1/projects/{}/envvars/{}"
        if name is not None:
            validate_name(name)
            template += "/{}"
            segments.append((name, "envvar_name"))
        return build_path(template, *segments), headers


def _value(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(f"the value of {name} must be a string")
    return value


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be True or False")
    return value


def _all_set(wanted: Mapping[str, str], found: list[EnvVar]) -> bool:
    """Whether every non-empty value of ``wanted`` reads back (a secret's value reads back
    redacted, so only its presence can be checked; the API drops empty values)."""
    current = {var.name: var for var in found}
    for name, value in wanted.items():
        if not value.strip():
            continue
        var = current.get(name)
        if var is None or (not var.is_redacted and var.value != value):
            return False
    return True


def _env_var_list(body: Any) -> list[EnvVar]:
    if not isinstance(body, list):
        raise SchemaError("expected an array of variables")
    return [EnvVar.from_api(item) for item in body]
