"""Authentication exactly as the real server answers it (API.md §2).

Each route names one policy (its *family*, API.md §2.3); the app runs it before the handler and
puts the result on ``request.principal``. A failed check raises the real status and body.

=================  ====================================================================
``BEARER``         family A (RBAC bearer): root or additional secret key
``BEARER_JWT``     family A on routes that also accept a public access token (JWT)
``LEGACY``         family B (``authenticateApiRequest``): root/unrestricted secret key,
                   every failure is 401 ``Invalid or Missing API Key``
``legacy(msg)``    family B with another message (reschedule: ``Invalid or missing API Key``)
``scoped(scope)``  family C: like A, a restricted key needs ``scope`` else 403 ``Unauthorized``
``ENVVARS``        family D: PAT (``projectRef``/``env`` path params select the environment)
                   or a secret key of that project (``envvars`` scope when restricted)
``PAT``            family E: ``tr_pat_``/``tr_uat_`` only
``NONE``           family F: no authentication at all
=================  ====================================================================

Handlers authorise resources (what RBAC's ``authorization`` clause does) with
``request.authorize([("runs", run_id), ("tasks", task)])``: unrestricted secret keys pass,
restricted keys and public JWTs need a matching scope (``read:runs``, ``read:runs:<id>``, …),
else 403 with the RBAC body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors
from .jwt import decode_unverified, is_public_jwt, validate
from .world import ApiKey, Environment, Project, User

if TYPE_CHECKING:  # pragma: no cover
    from .app import ApiRequest

__all__ = [
    "BEARER",
    "BEARER_JWT",
    "ENVVARS",
    "LEGACY",
    "NONE",
    "PAT",
    "AuthPolicy",
    "Principal",
    "bearer_token",
    "legacy",
    "normalize_branch",
    "one_time_use_key",
    "scoped",
]

BRANCH_REF_PREFIXES = (
    "refs/heads/",
    "refs/remotes/",
    "refs/tags/",
    "refs/pull/",
    "refs/merge/",
    "refs/release/",
)
ENVVARS_FORBIDDEN = "You don't have permission to access this environment's environment variables."


@dataclass
class Principal:
    """Who is calling: a secret key (one environment), a PAT (a user) or a public JWT."""

    kind: str  # "secret_key" | "pat" | "jwt" | "anonymous"
    credential: str  # fingerprint of the token (never the token)
    environment: Environment | None = None
    project: Project | None = None
    user: User | None = None
    api_key: ApiKey | None = None
    scopes: frozenset[str] | None = None  # None = unrestricted
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def restricted(self) -> bool:
        return self.scopes is not None

    def can(self, action: str, resources: Iterable[tuple[str, str | None]]) -> bool:
        if self.scopes is None:
            return True
        if f"{action}:all" in self.scopes or "admin" in self.scopes:
            return True
        for kind, ident in resources:
            if f"{action}:{kind}" in self.scopes:
                return True
            if ident is not None and f"{action}:{kind}:{ident}" in self.scopes:
                return True
        return False


def normalize_branch(value: str | None) -> str | None:
    """``x-trigger-branch`` normalisation (core ``gitBranch.ts``)."""
    if value is None:
        return None
    value = value.strip()
    for prefix in BRANCH_REF_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :] or None
    if value.startswith("refs/"):
        return None
    return value or None


def bearer_token(request: ApiRequest) -> str:
    """The token as the server sees it: a leading ``Bearer `` stripped (exact case), trimmed."""
    raw = request.headers.get("Authorization", "")
    if raw.startswith("Bearer "):
        raw = raw[len("Bearer ") :]
    elif raw == "Bearer":  # "Bearer " with its trailing space trimmed by the HTTP parser
        raw = ""
    return raw.strip()


class AuthPolicy:
    """Base class: ``authenticate(request) -> Principal`` or raise ``errors.HttpError``."""

    family = "?"

    def authenticate(self, request: ApiRequest) -> Principal:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<AuthPolicy {self.family}>"


class _None(AuthPolicy):
    family = "F"

    def authenticate(self, request: ApiRequest) -> Principal:
        return Principal(kind="anonymous", credential="")


class _Bearer(AuthPolicy):
    """Family A (and the base of B and C)."""

    family = "A"
    empty_message = "Invalid or Missing API key"
    unknown_message = "Invalid API key"

    def __init__(self, allow_jwt: bool = False) -> None:
        self.allow_jwt = allow_jwt

    def fail(self, message: str, status: int = 401) -> errors.HttpError:
        return errors.api_error(status, message)

    def authenticate(self, request: ApiRequest) -> Principal:
        token = bearer_token(request)
        if not token:
            raise self.fail(self.empty_message)
        world = request.world
        if self.allow_jwt and is_public_jwt(token):
            return self._jwt(request, token)
        key = world.api_key(token)
        if key is None:
            raise self.fail(self.unknown_message)
        env = world.environments[key.environment_id]
        env = self.resolve_branch(request, env)
        principal = Principal(
            kind="secret_key",
            credential=world.token_fingerprint(token),
            environment=env,
            project=world.projects[env.project_ref],
            api_key=key,
            scopes=key.scopes,
        )
        self.check_key(principal)
        return principal

    def check_key(self, principal: Principal) -> None:
        """Hook for B/C: reject keys this family does not accept."""

    def resolve_branch(self, request: ApiRequest, env: Environment) -> Environment:
        branch = normalize_branch(request.headers.get("x-trigger-branch"))
        if env.type == "PREVIEW":
            if not branch:
                raise self.fail("x-trigger-branch header required for preview env")
            child = request.world.branch_of(env, branch)
            if child is None:
                raise self.fail("No matching branch env")
            return child
        if env.type == "DEVELOPMENT" and branch and branch != "default":
            child = request.world.branch_of(env, branch)
            if child is None:
                raise self.fail("No matching branch env")
            return child
        return env

    def _jwt(self, request: ApiRequest, token: str) -> Principal:
        """rbac ``BearerCredentialResolver``: ``sub`` names the environment, jose verifies
        with its key (issuer, audience, expiry); scopes become the ability; ``otu`` and
        ``realtime`` ride along in ``claims``."""
        world = request.world
        sub = (decode_unverified(token) or {}).get("sub")
        env = world.environments.get(sub) if isinstance(sub, str) else None
        if env is None:
            raise self.fail("Invalid Public Access Token")
        claims = validate(token, env.api_key, world.clock.now_ms() / 1000)
        if claims is None:
            raise self.fail("Public Access Token is invalid")
        scopes = claims.get("scopes")
        scopes = scopes if isinstance(scopes, list) else []
        return Principal(
            kind="jwt",
            credential=world.token_fingerprint(token),
            environment=env,
            project=world.projects[env.project_ref],
            scopes=frozenset(str(s) for s in scopes),
            claims=claims,
        )


class _Legacy(_Bearer):
    """Family B: one message for every failure, restricted keys fail closed, no JWT."""

    family = "B"

    def __init__(self, message: str = "Invalid or Missing API Key") -> None:
        super().__init__(allow_jwt=False)
        self.empty_message = self.unknown_message = message

    def resolve_branch(self, request: ApiRequest, env: Environment) -> Environment:
        try:
            return super().resolve_branch(request, env)
        except errors.HttpError:
            raise self.fail(self.unknown_message) from None

    def check_key(self, principal: Principal) -> None:
        if principal.restricted:
            raise self.fail(self.unknown_message)


class _Scoped(_Bearer):
    """Family C: a restricted key needs the resource scope, else 403 ``Unauthorized``."""

    family = "C"

    def __init__(self, scope: str) -> None:
        super().__init__(allow_jwt=False)
        self.scope = scope

    def check_key(self, principal: Principal) -> None:
        if principal.restricted and self.scope not in (principal.scopes or ()):
            raise errors.api_error(403, "Unauthorized")


class _Pat(AuthPolicy):
    """Family E: personal access tokens only."""

    family = "E"

    def authenticate(self, request: ApiRequest) -> Principal:
        token = bearer_token(request)
        world = request.world
        if not token.startswith(("tr_pat_", "tr_uat_")):
            raise errors.api_error(401, "Invalid or Missing PAT")
        user = world.user(world.personal_access_tokens.get(token))
        if user is None:
            raise errors.api_error(401, "Invalid PAT")
        return Principal(kind="pat", credential=world.token_fingerprint(token), user=user)


ENV_SLUG_TYPES = {
    "dev": "DEVELOPMENT",
    "stg": "STAGING",
    "prod": "PRODUCTION",
    "preview": "PREVIEW",
}


class _EnvVars(AuthPolicy):
    """Family D (API.md §2.5): the environment comes from the ``projectRef`` and ``env`` path
    parameters for a PAT, from the key for a secret key (the ``env`` value then barely
    matters). The principal's ``environment`` is the one to read/write."""

    family = "D"

    def authenticate(self, request: ApiRequest) -> Principal:
        token = bearer_token(request)
        world = request.world
        project_ref = request.params.get("projectRef", "")
        slug = request.params.get("env", "")
        slug = "stg" if slug == "staging" else slug
        branch = normalize_branch(request.headers.get("x-trigger-branch"))
        if slug == "dev" and branch == "default":
            branch = None  # the dev "default" branch is the root dev environment
        if token.startswith(("tr_pat_", "tr_uat_")):
            user = world.user(world.personal_access_tokens.get(token))
            if user is not None:
                return self._pat(request, token, user, project_ref, slug, branch)
            # An unknown PAT falls through to secret-key auth, which calls it unknown.
        if token.startswith("tr_oat_"):
            raise errors.api_error(401, "Invalid or missing organization access token")
        principal = _Bearer().authenticate(request)
        env = principal.environment
        assert env is not None
        if env.project_ref != project_ref:
            raise errors.api_error(
                400,
                "Invalid project ref for this API key. Make sure you are using an API key "
                "associated with that project.",
            )
        if env.slug != slug and env.branch_name != branch:
            raise errors.api_error(
                400,
                "Invalid environment slug for this API key. Make sure you are using an API "
                "key associated with that environment.",
            )
        if principal.restricted and "envvars" not in (principal.scopes or ()):
            raise errors.api_error(403, ENVVARS_FORBIDDEN)
        return principal

    def _pat(
        self,
        request: ApiRequest,
        token: str,
        user: User,
        project_ref: str,
        slug: str,
        branch: str | None,
    ) -> Principal:
        world = request.world
        project = world.projects.get(project_ref)
        if project is None or not world.user_can_see(user, project):
            raise errors.api_error(404, "Project not found")
        env_type = ENV_SLUG_TYPES.get(slug)
        if env_type is None:
            raise errors.api_error(404, "Environment not found")
        if branch:
            parent_type = "DEVELOPMENT" if env_type == "DEVELOPMENT" else "PREVIEW"
            parent = world.environment(
                project.ref,
                parent_type,
                owner_user_id=user.id if parent_type == "DEVELOPMENT" else None,
            )
            env = world.branch_of(parent, branch) if parent else None
            if env is None:
                raise errors.api_error(404, "Branch not found")
        else:
            env = world.environment(
                project.ref, env_type, owner_user_id=user.id if env_type == "DEVELOPMENT" else None
            )
            if env is None:
                raise errors.api_error(404, "Environment not found")
        return Principal(
            kind="pat",
            credential=world.token_fingerprint(token),
            environment=env,
            project=project,
            user=user,
        )


def one_time_use_key(request: ApiRequest) -> str | None:
    """``getOneTimeUseToken``: for a public token with ``otu: true``, the SHA-256 hex of the
    token, which the run (or batch) it creates stores under a unique index."""
    principal = request.principal
    if principal.kind != "jwt" or principal.claims.get("otu") is not True:
        return None
    return hashlib.sha256(bearer_token(request).encode()).hexdigest()


def legacy(message: str = "Invalid or Missing API Key") -> AuthPolicy:
    return _Legacy(message)


def scoped(scope: str) -> AuthPolicy:
    return _Scoped(scope)


NONE: AuthPolicy = _None()
BEARER: AuthPolicy = _Bearer(allow_jwt=False)
BEARER_JWT: AuthPolicy = _Bearer(allow_jwt=True)
LEGACY: AuthPolicy = _Legacy()
PAT: AuthPolicy = _Pat()
ENVVARS: AuthPolicy = _EnvVars()
