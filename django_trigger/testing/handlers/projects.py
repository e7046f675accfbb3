"""Project bootstrap routes used by the CLI and the task runtime (API.md §6.4 last row, §6.9).

``GET /api/v1/projects/{projectRef}/envvars``
    Family C (secret keys only; a PAT is ``Invalid API key``; a restricted key needs
    ``read:envvars``). ``{"variables": {NAME: value}}``: the key's environment resolved as a
    run receives it — parent values, the environment's own, then the built-in ``TRIGGER_*``
    variables — with secrets **unredacted**. Another project's ref is 404 ``Project not found``.

``GET /api/v1/projects/{projectRef}/{env}`` (``env`` ∈ ``dev``, ``staging``, ``prod``,
``preview``, else 400 ``Invalid Params`` before any auth)
    PAT or secret key, resolved like the env-var routes (``x-trigger-branch`` for branches).
    ``{"apiKey", "name", "apiUrl", "projectId", "defaultRuntime"}``: a PAT gets the
    environment's root secret key (a branch's parent key), a secret key gets itself back.
    (The real route lets restricted secret keys through without a scope; here they need
    ``envvars`` like the env-var routes.)
"""

from __future__ import annotations

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.envvars import EnvVarStore

BOOTSTRAP_ENVS = ("dev", "staging", "prod", "preview")


def register(router: Router) -> None:
    router.get(
        "/api/v1/projects/{projectRef}/envvars", runtime_envvars, auth=auth.scoped("read:envvars")
    )
    router.get(
        "/api/v1/projects/{projectRef}/{env}",
        project_environment,
        auth=auth.ENVVARS,
        pre_auth=_check_env_param,
    )


def runtime_envvars(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    if env.project_ref != request.params["projectRef"]:
        raise errors.api_error(404, "Project not found")
    with request.world.lock:
        store: EnvVarStore = request.world.envvars
        project = request.world.projects[env.project_ref]
        variables = store.runtime(env, api_origin=request.base_url, org_id=project.org_id)
    return json_reply({"variables": variables})


def _check_env_param(request: ApiRequest) -> None:
    if request.params.get("env") not in BOOTSTRAP_ENVS:
        raise errors.api_error(400, "Invalid Params")


def project_environment(request: ApiRequest) -> Reply:
    principal = request.principal
    env = principal.environment
    assert env is not None and principal.project is not None
    with request.world.lock:
        if principal.kind == "secret_key":
            api_key = principal.api_key.token if principal.api_key else env.api_key
        else:
            parent = request.world.environments.get(env.parent_id) if env.parent_id else None
            api_key = (parent or env).api_key
        return json_reply(
            {
                "apiKey": api_key,
                "name": principal.project.name,
                "apiUrl": request.base_url,
                "projectId": principal.project.id,
                "defaultRuntime": None,
            }
        )
