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

__all__ = ["decode_unverified", "public_access_token", "sign_hs256", "verify_hs256"]

ISSUER = "https://id.trigger.dev"
AUDIENCE = "https://api.trigger.dev"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_hs256(token: str, secret: str) -> bool:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(secret.encode(), f"{header}.{payload}".encode("ascii"),
                            hashlib.sha256).digest()
        return hmac.compare_digest(expected, _unb64(signature))
    except (ValueError, UnicodeError):
        return False


def decode_unverified(token: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(_unb64(token.split(".")[1]))
    except (ValueError, IndexError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def public_access_token(secret: str, environment_id: str, scopes: list[str], now_s: int,
                        expires_in_s: int = 3600) -> tuple[str, dict[str, Any]]:
    """``(token, claims)`` as the trigger routes return them in ``x-trigger-jwt`` and
    ``x-trigger-jwt-claims`` (the claims header carries the custom claims only)."""
    claims = {"sub": environment_id, "pub": True, "scopes": scopes}
    token = sign_hs256(
        {**claims, "iat": now_s, "exp": now_s + expires_in_s, "iss": ISSUER, "aud": AUDIENCE},
        secret,
    )
    return token, claims
