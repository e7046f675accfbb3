"""Environment-variable routes (API.md §6.4, §8), all family D (``auth.ENVVARS``, §2.5).

``/api/v1/projects/{projectRef}/envvars/{env}`` list / create, ``…/{env}/import``,
``…/{env}/{name}`` retrieve / update (PUT, and POST as the real route accepts) / delete.

The auth policy resolves the environment: for a PAT from ``projectRef`` + ``env`` (+
``x-trigger-branch``); for a secret key it is **the key's own environment whatever ``{env}``
says** (only the project ref must match) — the trap the client guards against.

As on the real server, a body that is not JSON at all makes ``request.json()`` throw and the
route answer 500; bodies that parse but fail the schema get the documented 400s.
"""

from __future__ import annotations

import io
import random
from typing import Any

from werkzeug.formparser import parse_form_data

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.envvars import (
    EnvVar,
    EnvVarError,
    EnvVarStore,
    parse_dotenv,
    render_variable,
    seed_envvars,
)
from ..validation import MISSING, Checker
from ..world import Environment, World

STORES = {"envvars": EnvVarStore}
BASE = "/api/v1/projects/{projectRef}/envvars/{env}"
SUCCESS = {"success": True}


def seed(world: World, rng: random.Random) -> None:
    seed_envvars(world, rng)


def register(router: Router) -> None:
    router.get(BASE, list_envvars, auth=auth.ENVVARS)
    router.post(BASE, create_envvar, auth=auth.ENVVARS)
    router.post(BASE + "/import", import_envvars, auth=auth.ENVVARS)
    router.get(BASE + "/{name}", retrieve_envvar, auth=auth.ENVVARS)
    router.put(BASE + "/{name}", update_envvar, auth=auth.ENVVARS)
    router.post(BASE + "/{name}", update_envvar, auth=auth.ENVVARS)
    router.delete(BASE + "/{name}", delete_envvar, auth=auth.ENVVARS)


def _environment(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None  # the ENVVARS policy always resolves one
    return env


def _json_body(request: ApiRequest) -> Any:
    """``await request.json()``: a body that is not JSON throws, and the route answers 500."""
    try:
        return errors.load_json(request.body)
    except ValueError:
        raise errors.internal_error() from None


def _fail(error: EnvVarError) -> errors.HttpError:
    extra: dict[str, Any] = (
        {} if error.variable_errors is None else {"variableErrors": error.variable_errors}
    )
    return errors.api_error(400, error.message, **extra)


# -- list / create ---------------------------------------------------------------------------------


def list_envvars(request: ApiRequest) -> Reply:
    with request.world.lock:
        store: EnvVarStore = request.world.envvars
        items = [render_variable(*item) for item in store.resolved(_environment(request))]
    return json_reply(items)


def create_envvar(request: ApiRequest) -> Reply:
    body = _json_body(request)
    check = Checker()
    name = value = is_secret = MISSING
    if check.object(body):
        name = check.string(body, "name")
        value = check.string(body, "value")
        is_secret = check.boolean(body, "isSecret")
    check.raise_if(errors.invalid_request_body)
    with request.world.lock:
        try:
            request.world.envvars.create(
                _environment(request),
                [(name, value)],
                override=True,
                is_secret=None if is_secret is MISSING else is_secret,
            )
        except EnvVarError as exc:
            raise _fail(exc) from None
    return json_reply(SUCCESS)


# -- import ----------------------------------------------------------------------------------------


def _string_record(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _valid_import_body(body: Any) -> bool:
    """``ImportEnvironmentVariablesRequestBody`` (an array for ``variables`` fails here)."""
    if not isinstance(body, dict) or not _string_record(body.get("variables")):
        return False
    if "parentVariables" in body and not _string_record(body["parentVariables"]):
        return False
    for flag in ("override", "isSecret"):
        if flag in body and not isinstance(body[flag], bool):
            return False
    source = body.get("source", MISSING)
    if source is not MISSING:
        if not isinstance(source, dict):
            return False
        kind = source.get("type")
        wanted = (
            {"user": "userId", "integration": "integration"}.get(kind)
            if isinstance(kind, str)
            else None
        )
        if wanted is None or not isinstance(source.get(wanted), str):
            return False
    return True


def _parse_import(request: ApiRequest) -> dict[str, Any]:
    content_type = request.headers.get("Content-Type") or "application/json"
    if "multipart/form-data" in content_type:
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(request.body)),
            "wsgi.input": io.BytesIO(request.body),
        }
        try:
            _stream, form, files = parse_form_data(environ, silent=False)
        except Exception:  # noqa: BLE001 -- request.formData() throws on any malformed body
            raise errors.internal_error() from None
        upload = files.get("variables")
        if upload is None:
            raise errors.api_error(400, "Invalid file")
        text = upload.read().decode("utf-8", errors="replace")
        return {"variables": parse_dotenv(text), "override": form.get("override") == "true"}
    body = _json_body(request)
    if not _valid_import_body(body):
        raise errors.api_error(400, "Invalid body")
    return body


def import_envvars(request: ApiRequest) -> Reply:
    body = _parse_import(request)
    override = body.get("override") is True
    is_secret = body.get("isSecret")
    with request.world.lock:
        store: EnvVarStore = request.world.envvars
        env = _environment(request)
        child_failure = parent_failure = None
        try:
            store.create(
                env,
                list(body["variables"].items()),
                override=override,
                is_secret=is_secret,
                inherit_secret_from_parent=True,
            )
        except EnvVarError as exc:
            child_failure = exc
        parent = request.world.environments.get(env.parent_id) if env.parent_id else None
        if parent is None or body.get("parentVariables") is None:
            if child_failure is not None:
                raise _fail(child_failure)
            return json_reply(SUCCESS)
        # A branch environment: the parent's values are written too, and either write
        # succeeding is a success.
        try:
            store.create(
                parent,
                list(body["parentVariables"].items()),
                override=override,
                is_secret=is_secret,
            )
        except EnvVarError as exc:
            parent_failure = exc
        if child_failure is None or parent_failure is None:
            return json_reply(SUCCESS)
        variable_errors = child_failure.variable_errors or parent_failure.variable_errors
        raise _fail(EnvVarError(child_failure.message, variable_errors))


# -- one variable ----------------------------------------------------------------------------------


def _variable(request: ApiRequest) -> EnvVar:
    """The variable with this name anywhere in the project, else 404 (before the body is read)."""
    var = request.world.envvars.find(_environment(request).project_ref, request.params["name"])
    if var is None:
        raise errors.api_error(404, "Environment variable not found")
    return var


def retrieve_envvar(request: ApiRequest) -> Reply:
    with request.world.lock:
        _variable(request)
        name = request.params["name"]
        for item in request.world.envvars.resolved(_environment(request)):
            if item[0] == name:
                return json_reply(render_variable(*item))
    raise errors.api_error(404, "Environment variable not found")


def update_envvar(request: ApiRequest) -> Reply:
    with request.world.lock:
        var = _variable(request)
        body = _json_body(request)
        check = Checker()
        value = MISSING
        if check.object(body):
            value = check.string(body, "value")
        check.raise_if(errors.invalid_request_body)
        request.world.envvars.edit(_environment(request), var, value)
    return json_reply(SUCCESS)


def delete_envvar(request: ApiRequest) -> Reply:
    with request.world.lock:
        var = _variable(request)
        try:
            request.world.envvars.delete_value(_environment(request), var)
        except EnvVarError as exc:
            raise errors.api_error(400, exc.message) from None
    return json_reply(SUCCESS)
