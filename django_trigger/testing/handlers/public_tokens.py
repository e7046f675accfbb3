"""Public access tokens: the claims a secret key signs with (``POST /api/v1/auth/jwt/claims``),
server-minted tokens for additional keys (``POST /api/v1/auth/public-tokens``), and the
one-time-use bookkeeping of trigger tokens (``otu: true``).

Real sources: ``routes/api.v1.auth.jwt.claims.ts`` (``authenticateApiRequest``: root or
unrestricted key, any failure 401 ``Invalid or Missing API key``), ``services/
publicTokens.server.ts`` (RBAC bearer, no JWT; body ``{scopes (≥1), expirationTime?,
oneTimeUse?, realtime?}``; 400 ``Invalid request body`` / ``Invalid expiration time`` /
``Expiration time must be in the future`` / ``Expiration time cannot exceed 30 days``; 403
``scopes_exceed_key_access``), and the unique ``oneTimeUseToken`` index on runs and batches.
"""

from __future__ import annotations

import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..jwt import AUDIENCE, ISSUER, sign_hs256
from ..validation import Checker, received_type
from ..world import World

ORDER = 15
MAX_LIFETIME_S = 30 * 24 * 60 * 60
_RELATIVE_TIME = re.compile(
    r"^(\+|-)? ?(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|"
    r"weeks?|w|years?|yrs?|y)(?: (ago|from now))?$",
    re.IGNORECASE,
)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}


class OneTimeTokens:
    """Hashes of one-time-use tokens that already created a run or a batch."""

    def __init__(self, world: World) -> None:
        self.used: set[str] = set()


STORES = {"one_time_tokens": OneTimeTokens}


def register(router: Router) -> None:
    router.post(
        "/api/v1/auth/jwt/claims", jwt_claims, auth=auth.legacy("Invalid or Missing API key")
    )
    # Not a route-builder route: restricted keys are let in and checked per scope
    # (scopesWithinAbility), hence an authorization action.
    router.post(
        "/api/v1/auth/public-tokens", create_public_token, auth=auth.BEARER, authorization="mint"
    )


def jwt_claims(request: ApiRequest) -> Reply:
    env = request.principal.environment
    assert env is not None
    return json_reply({"sub": env.id, "pub": True})


def create_public_token(request: ApiRequest) -> Reply:
    body: Any
    ok, body = errors.parse_json_body(request.body) if request.body else (False, None)
    if not ok:
        raise errors.api_error(400, "Invalid request body")
    check = Checker()
    if check.object(body):
        scopes = check.array(body, "scopes", min_items=1)
        if isinstance(scopes, list):
            for i, scope in enumerate(scopes):
                if not isinstance(scope, str):
                    check.add(
                        ["scopes", i],
                        f"Expected string, received {received_type(scope)}",
                        "invalid_type",
                        expected="string",
                        received=received_type(scope),
                    )
        expiration = body.get("expirationTime")
        if expiration is not None and (
            isinstance(expiration, bool) or not isinstance(expiration, (str, int, float))
        ):
            check.add(["expirationTime"], "Invalid input", "invalid_union")
        check.boolean(body, "oneTimeUse")
        realtime = body.get("realtime")
        if realtime is not None and not (
            isinstance(realtime, dict)
            and all(isinstance(c, str) for c in realtime.get("skipColumns") or [])
        ):
            check.add(["realtime"], "Invalid input", "invalid_type")
    if check.issues:
        raise errors.HttpError(
            json_reply({"error": "Invalid request body", "issues": check.issues}, 400)
        )
    principal = request.principal
    denied = [scope for scope in body["scopes"] if not _within(principal, scope)]
    if denied:
        raise errors.HttpError(
            json_reply(
                {
                    "error": "Requested scopes exceed the API key's access",
                    "code": "scopes_exceed_key_access",
                    "deniedScopes": denied,
                },
                403,
            )
        )
    now = request.world.clock.now_ms() // 1000
    expires_at = _expiration(body.get("expirationTime", "15m"), now)
    if expires_at is None:
        raise errors.api_error(400, "Invalid expiration time")
    if expires_at <= now:
        raise errors.api_error(400, "Expiration time must be in the future")
    if expires_at - now > MAX_LIFETIME_S:
        raise errors.api_error(400, "Expiration time cannot exceed 30 days")
    env = principal.environment
    assert env is not None
    payload: dict[str, Any] = {"sub": env.id, "pub": True, "scopes": body["scopes"]}
    if body.get("oneTimeUse"):
        payload["otu"] = True
    if body.get("realtime"):
        payload["realtime"] = body["realtime"]
    payload.update({"iss": ISSUER, "aud": AUDIENCE, "exp": expires_at, "iat": now})
    return json_reply({"token": sign_hs256(payload, env.api_key)})


def _within(principal: auth.Principal, scope: str) -> bool:
    """``scopesWithinAbility``: a restricted key may only hand out what it can do itself."""
    action, _, rest = scope.partition(":")
    kind, _, ident = rest.partition(":")
    if not kind:
        return principal.can(action, [("all", None)]) if principal.restricted else True
    return principal.can(action, [(kind, ident or None)])


def _expiration(value: Any, now: int) -> int | None:
    if isinstance(value, (int, float)):
        return int(value)
    match = _RELATIVE_TIME.match(value)
    if not match or (match.group(1) and match.group(4)):
        return None
    seconds = round(float(match.group(2)) * _UNIT_S[match.group(3)[0].lower()])
    past = match.group(1) == "-" or (match.group(4) or "").lower() == "ago"
    return now - seconds if past else now + seconds


# -- used by the trigger and batch routes ---------------------------------------------------------


def check_one_time_use(request: ApiRequest, message: str) -> str | None:
    """422 ``message`` when this request's one-time token already created something; else the
    token's key, to :func:`mark_used` once the run or batch exists (call under the lock)."""
    key = auth.one_time_use_key(request)
    if key is not None and key in request.world.one_time_tokens.used:
        raise errors.api_error(422, message)
    return key


def mark_used(request: ApiRequest, key: str | None) -> None:
    if key is not None:
        request.world.one_time_tokens.used.add(key)


Resource = tuple[str, str | None]


def authorize_every(
    request: ApiRequest,
    action: str,
    resources: list[Resource],
    or_resources: tuple[Resource, ...] = (),
) -> None:
    """``everyResource(resources, orResources)``: one of ``or_resources`` (a collection-level
    grant) or every one of ``resources``; an empty list grants nothing."""
    principal = request.principal
    if or_resources and principal.can(action, list(or_resources)):
        return
    if resources and all(principal.can(action, [resource]) for resource in resources):
        return
    raise errors.rbac_forbidden()
