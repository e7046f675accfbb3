"""HS256 JSON Web Tokens with the standard library (no new dependency).

The real server answers trigger/batch calls with ``x-trigger-jwt``: a public access token
signed with the environment's secret key (issuer ``https://id.trigger.dev``, audience
``https://api.trigger.dev``). The emulator signs the same way and accepts such tokens back on
the routes that allow public access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

__all__ = [
    "decode_unverified",
    "is_public_jwt",
    "public_access_token",
    "sign_hs256",
    "validate",
    "verify_hs256",
]

ISSUER = "https://id.trigger.dev"
AUDIENCE = "https://api.trigger.dev"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    header = _b64(b'{"alg":"HS256"}')  # jose's protected header, exactly
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_hs256(token: str, secret: str) -> bool:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(
            secret.encode(), f"{header}.{payload}".encode("ascii"), hashlib.sha256
        ).digest()
        return hmac.compare_digest(expected, _unb64(signature))
    except (ValueError, UnicodeError):
        return False


_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def validate(token: str, secret: str, now_s: float) -> dict[str, Any] | None:
    """The claims if ``token`` passes what the server's ``validateJWT`` (jose ``jwtVerify``
    with the environment's key as an HMAC secret, issuer and audience set) accepts, else
    ``None``. jose takes any HS* algorithm for a secret key and refuses every other one
    (``none``, RS256 …); ``exp <= now`` is expired; ``nbf``/``iat`` must be numbers."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_unb64(header_b64))
        payload = json.loads(_unb64(payload_b64))
        signature = _unb64(signature_b64)
    except (ValueError, UnicodeError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    digest = _HASHES.get(header.get("alg"))  # type: ignore[arg-type]
    if digest is None or "crit" in header:
        return None
    expected = hmac.new(
        secret.encode(), f"{header_b64}.{payload_b64}".encode("ascii"), digest
    ).digest()
    if not hmac.compare_digest(expected, signature):
        return None
    for claim in ("exp", "nbf", "iat"):
        if claim in payload and (
            isinstance(payload[claim], bool) or not isinstance(payload[claim], (int, float))
        ):
            return None
    if "exp" in payload and payload["exp"] <= now_s:
        return None
    if "nbf" in payload and payload["nbf"] > now_s:
        return None
    audience = payload.get("aud")
    if payload.get("iss") != ISSUER or not (
        audience == AUDIENCE or (isinstance(audience, list) and AUDIENCE in audience)
    ):
        return None
    return payload


def is_public_jwt(token: str) -> bool:
    """core ``isPublicJWT``: three parts whose payload has ``pub: true`` (not verified)."""
    if token.count(".") != 2:
        return False
    claims = decode_unverified(token)
    return claims is not None and claims.get("pub") is True


def decode_unverified(token: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(_unb64(token.split(".")[1]))
    except (ValueError, IndexError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def public_access_token(
    secret: str, environment_id: str, scopes: list[str], now_s: int, expires_in_s: int = 3600
) -> tuple[str, dict[str, Any]]:
    """``(token, claims)`` as the trigger routes return them in ``x-trigger-jwt`` and
    ``x-trigger-jwt-claims`` (the claims header carries the custom claims only)."""
    claims = {"sub": environment_id, "pub": True, "scopes": scopes}
    token = sign_hs256(
        {**claims, "iss": ISSUER, "aud": AUDIENCE, "exp": now_s + expires_in_s, "iat": now_s},
        secret,
    )
    return token, claims
