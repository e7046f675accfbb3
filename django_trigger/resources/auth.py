"""``client.auth``: public access tokens for browsers, minted as the SDK's ``auth.ts`` does.

A root secret key signs the token here (HS256 with the key's bytes; claims from
``POST /api/v1/auth/jwt/claims``, fetched once per client and cached); an additional key
(``tr_prod_sk_…``) cannot sign, so the server mints it (``POST /api/v1/auth/public-tokens``).

Signing is ten lines of ``hmac`` + ``base64``: one fixed algorithm and a fixed header need no
JWT library (and no new dependency).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django_trigger.credentials import is_additional_secret_key
from django_trigger.exceptions import InvalidRequestError, NotFoundError
from django_trigger.options import RequestOptionsLike
from django_trigger.types import SchemaError

from ._base import Auth, Resource, RetrySafety, flow, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import PublicTokensWithRawResponse

__all__ = [
    "AUDIENCE",
    "DEFAULT_EXPIRATION",
    "ISSUER",
    "MAX_LIFETIME",
    "PublicTokens",
    "flatten_scopes",
    "sign_hs256",
]

ISSUER = "https://id.trigger.dev"
AUDIENCE = "https://api.trigger.dev"
DEFAULT_EXPIRATION = "15m"  # jose's default in core generateJWT
MAX_LIFETIME = timedelta(days=30)  # the service's cap (docs/realtime/auth.mdx; publicTokens)

SCOPE_ACTIONS = ("read", "write", "trigger", "batchTrigger")
_NARROWED_SESSION = re.compile(r"(.+?):channels:[A-Za-z0-9._-]{1,128}(?::out)?")
SCOPE_PROPERTIES = ("tasks", "tags", "runs", "batch", "waitpoints", "inputStreams", "sessions")
# jose's secs.ts / the server's RELATIVE_TIME_PATTERN.
_TIME_SPAN = re.compile(
    r"^(\+|-)? ?(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|"
    r"weeks?|w|years?|yrs?|y)(?: (ago|from now))?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}

_MINTING = "reading the claims and minting a token store nothing (a repeat mints another)"
Scopes = Mapping[str, Any] | Iterable[str]
Expiration = str | int | datetime | timedelta


class PublicTokens(Resource):
    """``client.auth``. Each method returns the token (a string) to hand to a browser.

    ``with_raw_response``: the ``RawResponse`` of the server's minting (an additional API
    key); a root key signs locally, with no response, so it raises ``InvalidRequestError``."""

    with_raw_response: RawTwin[PublicTokensWithRawResponse]

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._claims: dict[str, Any] | None = None

    @retry_safety(RetrySafety.IDEMPOTENT, why=_MINTING)
    @flow
    def create_public_token(
        self,
        *,
        scopes: Scopes | None = None,
        expiration_time: Expiration = DEFAULT_EXPIRATION,
        realtime: Mapping[str, Any] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, str]:
        """A token that can read what ``scopes`` name, e.g.
        ``scopes={"read": {"runs": [run_id]}}`` or ``scopes=["read:runs:" + run_id]``.

        ``expiration_time``: a time span (``"15m"``, ``"1h"``, ``"2 days"``), a
        ``timedelta``, an aware ``datetime`` or Unix seconds; at most 30 days ahead.
        ``realtime={"skipColumns": [...]}`` trims what realtime subscriptions send."""
        flat = flatten_scopes(scopes) if scopes is not None else None
        return (
            yield from self._mint(
                flat,
                expiration_time,
                realtime,
                one_time_use=None,
                request_options=request_options,
                operation="auth.create_public_token",
            )
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why=_MINTING)
    @flow
    def create_trigger_public_token(
        self,
        task: str | Sequence[str],
        *,
        multiple_use: bool = False,
        expiration_time: Expiration = DEFAULT_EXPIRATION,
        realtime: Mapping[str, Any] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, str]:
        """A token that can trigger ``task`` (or each of several); usable once unless
        ``multiple_use=True``."""
        flat = flatten_scopes({"trigger": {"tasks": _tasks(task)}})
        return (
            yield from self._mint(
                flat,
                expiration_time,
                realtime,
                one_time_use=not multiple_use,
                request_options=request_options,
                operation="auth.create_trigger_public_token",
            )
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why=_MINTING)
    @flow
    def create_batch_trigger_public_token(
        self,
        task: str | Sequence[str],
        *,
        multiple_use: bool = False,
        expiration_time: Expiration = DEFAULT_EXPIRATION,
        realtime: Mapping[str, Any] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, str]:
        """A token that can batch-trigger ``task`` (or each of several); usable once unless
        ``multiple_use=True``."""
        flat = flatten_scopes({"batchTrigger": {"tasks": _tasks(task)}})
        return (
            yield from self._mint(
                flat,
                expiration_time,
                realtime,
                one_time_use=not multiple_use,
                request_options=request_options,
                operation="auth.create_batch_trigger_public_token",
            )
        )

    # -- minting ---------------------------------------------------------------------------

    def _mint(
        self,
        scopes: list[str] | None,
        expiration_time: Expiration,
        realtime: Mapping[str, Any] | None,
        *,
        one_time_use: bool | None,
        request_options: RequestOptionsLike,
        operation: str,
    ) -> Generator[Any, Any, str]:
        realtime_claim = _realtime(realtime)
        now = int(time.time())
        exp = expiration_timestamp(expiration_time, now)
        self._client._transport.check_auth(Auth.SECRET_KEY, operation)
        if is_additional_secret_key(self._client._access_token):
            if not scopes:
                raise InvalidRequestError(
                    f"{operation} needs at least one scope with an additional API key, e.g. "
                    "scopes={'read': {'runs': ['run_1234']}}"
                )
            body: dict[str, Any] = {
                "scopes": scopes,
                "expirationTime": _server_expiration(expiration_time),
            }
            if one_time_use is not None:
                body["oneTimeUse"] = one_time_use
            if realtime_claim is not None:
                body["realtime"] = realtime_claim
            return (yield from self._server_minted(body, operation, request_options))

        if self._raw:
            # Signed here: no request answers it (the claims' one is cached), so nothing raw.
            raise InvalidRequestError(
                f"{operation} signs the token locally with the root secret key: no HTTP "
                "response answers it, so with_raw_response has none to return; call it "
                "without with_raw_response (an additional API key's token is minted by the "
                "server, and has one)"
            )
        payload: dict[str, Any] = dict((yield from self._jwt_claims(request_options)))
        # The SDK's key order: the claims, then (public) scopes, realtime / (trigger) otu,
        # realtime, scopes; then iss, aud, exp, iat.
        if one_time_use is None:
            if scopes is not None:
                payload["scopes"] = scopes
            if realtime_claim is not None:
                payload["realtime"] = realtime_claim
        else:
            payload["otu"] = one_time_use
            if realtime_claim is not None:
                payload["realtime"] = realtime_claim
            payload["scopes"] = scopes
        payload.update({"iss": ISSUER, "aud": AUDIENCE, "exp": exp, "iat": now})
        return sign_hs256(payload, self._client._access_token)

    def _jwt_claims(
        self, request_options: RequestOptionsLike
    ) -> Generator[Any, Any, dict[str, Any]]:
        """``{"sub": <environment id>, "pub": true}``: one request per client, then cached
        (the environment a key belongs to never changes). No lock is held while asking: an
        async task must not block its loop; two first callers at once both ask, harmlessly."""
        claims = self._claims
        if claims is None:
            claims = yield self._request(
                "POST",
                "/api/v1/auth/jwt/claims",
                operation="auth.jwt_claims",
                parse=_claims,
                request_options=request_options,
            )
            self._claims = claims
        return claims

    def _server_minted(
        self, body: dict[str, Any], operation: str, request_options: RequestOptionsLike
    ) -> Generator[Any, Any, str]:
        try:
            return (
                yield self._request(
                    "POST",
                    "/api/v1/auth/public-tokens",
                    operation=operation,
                    json_body=body,
                    parse=_token,
                    request_options=request_options,
                )
            )
        except NotFoundError as exc:
            raise NotFoundError(
                "This additional API key cannot self-sign public tokens, and the server does "
                "not support public-token minting. Upgrade the server or use the root API key.",
                status=exc.status,
                headers=exc.headers,
                body=exc.body,
                method=exc.method,
                path=exc.path,
            ) from exc


# -- pure helpers ------------------------------------------------------------------------------


def flatten_scopes(scopes: Scopes) -> list[str]:
    """The SDK's ``flattenScopes``: ``{"read": {"runs": ["run_1"], "tags": "t"}}`` →
    ``["read:runs:run_1", "read:tags:t"]`` (``True`` grants the whole kind: ``"read:runs"``).
    Already-flat strings are checked and kept. Raises ``InvalidRequestError``."""
    if isinstance(scopes, str):
        raise InvalidRequestError(
            "scopes must be a mapping or a list of scope strings, not a single string"
        )
    if isinstance(scopes, Mapping):
        flat: list[str] = []
        for action, properties in scopes.items():
            _check_action(action)
            if properties is True:
                flat.append(action)
                continue
            if not isinstance(properties, Mapping):
                raise InvalidRequestError(
                    f"scopes[{action!r}] must map resource kinds to ids (or be True)"
                )
            for kind, value in properties.items():
                _check_kind(kind)
                if value is True:
                    flat.append(f"{action}:{kind}")
                elif value is False or value is None:
                    continue
                else:
                    ids = [value] if isinstance(value, str) else value
                    if not isinstance(ids, (list, tuple)):
                        raise InvalidRequestError(
                            f"scopes[{action!r}][{kind!r}] must be an id, a list of ids or True"
                        )
                    for ident in ids:
                        flat.append(f"{action}:{kind}:{_check_id(ident, kind)}")
        return flat
    result = []
    for scope in scopes:
        if not isinstance(scope, str):
            raise InvalidRequestError(f"scope strings expected, not {scope!r}")
        parts = scope.split(":", 2)  # action[:kind[:id]]; session ids may contain ':'
        _check_action(parts[0])
        if len(parts) > 1:
            _check_kind(parts[1])
        if len(parts) > 2:
            _check_id(parts[2], parts[1])
        result.append(scope)
    return result


def _check_action(action: Any) -> None:
    if action not in SCOPE_ACTIONS:
        raise InvalidRequestError(
            f"unknown scope action {action!r}; expected one of: {', '.join(SCOPE_ACTIONS)}"
        )


def _check_kind(kind: Any) -> None:
    if kind not in SCOPE_PROPERTIES:
        raise InvalidRequestError(
            f"unknown scope resource {kind!r}; expected one of: {', '.join(SCOPE_PROPERTIES)}"
        )


def _check_id(ident: Any, kind: str) -> str:
    if not isinstance(ident, str):
        raise InvalidRequestError(f"scope resource ids must be strings, not {ident!r}")
    if not ident.strip():
        raise InvalidRequestError("Public token scope resource IDs must not be empty")
    if kind == "sessions" and ":channels:" in ident:
        # A grant narrowed to one named channel (SDK auth.d.ts): {id}:channels:{name}[:out]
        match = _NARROWED_SESSION.fullmatch(ident)
        if match is None or not match.group(1).strip():
            raise InvalidRequestError(
                f"session scope {ident!r}: narrow a session grant as '<id>:out', "
                "'<id>:channels:<name>' or '<id>:channels:<name>:out', <name> being 1-128 "
                "characters from A-Z a-z 0-9 . _ -"
            )
    return ident


def _tasks(task: str | Sequence[str]) -> str | list[str]:
    if isinstance(task, str):
        return task
    tasks = list(task)
    if not tasks:
        raise InvalidRequestError("name at least one task")
    return tasks


def _realtime(realtime: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if realtime is None:
        return None
    if not isinstance(realtime, Mapping) or set(realtime) - {"skipColumns"}:
        raise InvalidRequestError("realtime must be {'skipColumns': [column, ...]}")
    columns = realtime.get("skipColumns")
    if columns is None:
        return {}
    if isinstance(columns, str) or not all(isinstance(c, str) and c for c in columns):
        raise InvalidRequestError("realtime['skipColumns'] must be a list of column names")
    return {"skipColumns": list(columns)}


def expiration_timestamp(value: Expiration, now: int) -> int:
    """Absolute ``exp`` (Unix seconds) of an expiration time, as jose reads it; must be in the
    future and at most 30 days ahead."""
    if isinstance(value, bool):
        raise InvalidRequestError(
            "expiration_time must be a time span, a datetime, a timedelta or Unix seconds"
        )
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidRequestError("expiration_time must be an aware datetime")
        exp = math.floor(value.timestamp())
    elif isinstance(value, timedelta):
        exp = now + math.floor(value.total_seconds())
    elif isinstance(value, int):
        exp = value
    elif isinstance(value, str):
        match = _TIME_SPAN.match(value)
        if not match or (match.group(1) and match.group(4)):
            raise InvalidRequestError(
                f"invalid expiration_time {value!r}: use a time span such as '15m', '2h', '7 days'"
            )
        seconds = round(float(match.group(2)) * _UNIT_SECONDS[match.group(3)[0].lower()])
        past = match.group(1) == "-" or (match.group(4) or "").lower() == "ago"
        exp = now - seconds if past else now + seconds
    else:
        raise InvalidRequestError(
            "expiration_time must be a time span, a datetime, a timedelta or Unix seconds"
        )
    if exp <= now:
        raise InvalidRequestError("expiration_time must be in the future")
    if exp - now > MAX_LIFETIME.total_seconds():
        raise InvalidRequestError("expiration_time cannot be more than 30 days ahead")
    return exp


def _server_expiration(value: Expiration) -> str | int:
    """What the SDK sends the minting route: a ``Date`` as Unix seconds, the rest as given
    (the server applies its own clock to a time span)."""
    if isinstance(value, datetime):
        return math.floor(value.timestamp())
    if isinstance(value, timedelta):
        return f"{math.floor(value.total_seconds())}s"
    return value


def sign_hs256(payload: Mapping[str, Any], secret: str) -> str:
    """A compact JWS: header exactly ``{"alg":"HS256"}`` (as jose writes it), compact JSON."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = b64(b'{"alg":"HS256"}')
    body = b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def _claims(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SchemaError("expected the claims object")
    return body


def _token(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        raise SchemaError("expected {'token': '...'}")
    return str(body["token"])
