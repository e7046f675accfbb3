"""Environment operations for personal access tokens (api.v1.projects.$projectRef.$env.*).

``POST /api/v1/projects/{projectRef}/{env}/pause``   ``{"paused": true, "state": "paused"}``
``POST /api/v1/projects/{projectRef}/{env}/resume``  ``{"paused": false, "state": "resumed"}``
``POST /api/v1/projects/{projectRef}/{env}/regenerate-api-key``  ``{"apiKey": "tr_…"}``

``env`` ∈ ``dev``, ``staging``, ``prod``, ``preview``, else 400 ``Invalid Params`` before any
auth. Only personal access tokens: anything else (a secret key, an unknown token) is 401
``Invalid or Missing Access Token``. The environment is resolved as for the env-var routes
(another user's project 404 ``Project not found``, ``x-trigger-branch`` for branches).
Pausing a paused environment and resuming a running one succeed and change nothing.
Regenerating replaces the environment's root secret key; the old key is still accepted for 24
hours (``REVOKED_API_KEY_GRACE_PERIOD_MS``), then refused (additional ``tr_…_sk_`` keys are
untouched). Not modelled: the dashboard's env-tier role check
(``write:apiKeys``) and billing-limit pauses.
"""

from __future__ import annotations

import datetime as dt

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..world import KEY_PREFIXES, ApiKey, World
from .projects import BOOTSTRAP_ENVS

MISSING_TOKEN = "Invalid or Missing Access Token"
REVOKED_GRACE = dt.timedelta(hours=24)  # REVOKED_API_KEY_GRACE_PERIOD_MS


class EnvironmentStates:
    """Which environments are paused (by environment id)."""

    def __init__(self, world: World) -> None:
        self.paused: set[str] = set()


STORES = {"environment_states": EnvironmentStates}


class _PersonalOnly(auth._EnvVars):
    family = "E"

    def authenticate(self, request: ApiRequest) -> auth.Principal:
        token = auth.bearer_token(request)
        world = request.world
        user = (
            world.user(world.personal_access_tokens.get(token))
            if token.startswith(("tr_pat_", "tr_uat_"))
            else None
        )
        if user is None:
            raise errors.api_error(401, MISSING_TOKEN)
        slug = request.params["env"]
        slug = "stg" if slug == "staging" else slug
        branch = auth.normalize_branch(request.headers.get("x-trigger-branch"))
        if slug == "dev" and branch == "default":
            branch = None
        return self._pat(request, token, user, request.params["projectRef"], slug, branch)


PERSONAL_ONLY = _PersonalOnly()


def register(router: Router) -> None:
    for action, handler in (
        ("pause", pause),
        ("resume", resume),
        ("regenerate-api-key", regenerate_api_key),
    ):
        router.post(
            f"/api/v1/projects/{{projectRef}}/{{env}}/{action}",
            handler,
            auth=PERSONAL_ONLY,
            pre_auth=_check_env_param,
        )


def _check_env_param(request: ApiRequest) -> None:
    if request.params.get("env") not in BOOTSTRAP_ENVS:
        raise errors.api_error(400, "Invalid Params")


def _set_paused(request: ApiRequest, paused: bool) -> Reply:
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        states: EnvironmentStates = request.world.environment_states
        (states.paused.add if paused else states.paused.discard)(env.id)
    return json_reply({"paused": paused, "state": "paused" if paused else "resumed"})


def pause(request: ApiRequest) -> Reply:
    return _set_paused(request, True)


def resume(request: ApiRequest) -> Reply:
    return _set_paused(request, False)


def regenerate_api_key(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    world = request.world
    with world.lock:
        old = world.api_keys.get(env.api_key)
        env.api_key = world._token(KEY_PREFIXES[env.type], "secret-key")
        if old is not None:  # a branch's own key is not a credential (world.add_branch)
            old.revoked_until = world.now() + REVOKED_GRACE
            world.api_keys[env.api_key] = ApiKey(env.api_key, env.id)
        return json_reply({"apiKey": env.api_key})
