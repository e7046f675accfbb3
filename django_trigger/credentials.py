"""Access tokens: what kind a token is, which environment a secret key belongs to, and how
to show one without revealing it. Pure functions; no Django, no I/O."""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from typing import Any

__all__ = [
    "ENVIRONMENT_SLUGS",
    "Secret",
    "TokenKind",
    "is_additional_secret_key",
    "normalize_environment",
    "public_token_claims",
    "redact",
    "secret_key_environment",
    "token_kind",
]

# Canonical environment slugs as users write them; "stg" is accepted as an alias of "staging".
ENVIRONMENT_SLUGS = ("dev", "staging", "prod", "preview")
_ENVIRONMENT_ALIASES = {"stg": "staging", "development": "dev", "production": "prod"}

_SECRET_KEY = re.compile(r"^tr_(dev|stg|prod|preview)_(?:sk_)?[0-9A-Za-z]+$", re.ASCII)
# Additional (non-root) secret keys cannot sign public tokens (core apiKeys.ts).
_ADDITIONAL_KEY = re.compile(r"^tr_(dev|stg|prod|preview)_sk_[0-9a-zA-Z]{24}$", re.ASCII)
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$", re.ASCII)
_KEY_ENVIRONMENTS = {"dev": "dev", "stg": "staging", "prod": "prod", "preview": "preview"}


class TokenKind(enum.Enum):
    SECRET_KEY = "secret_key"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"
    ORGANIZATION_ACCESS_TOKEN = "organization_access_token"
    #: A public access token: a JWT whose payload has ``pub: true`` (core ``isPublicJWT``).
    PUBLIC_ACCESS_TOKEN = "public_access_token"
    UNKNOWN = "unknown"

    @property
    def is_personal(self) -> bool:
        """Tokens that authenticate a user (or organisation) rather than one environment."""
        return self in (TokenKind.PERSONAL_ACCESS_TOKEN, TokenKind.ORGANIZATION_ACCESS_TOKEN)


def token_kind(token: str) -> TokenKind:
    if _SECRET_KEY.match(token):
        return TokenKind.SECRET_KEY
    if token.startswith(("tr_pat_", "tr_uat_")):
        return TokenKind.PERSONAL_ACCESS_TOKEN
    if token.startswith("tr_oat_"):
        return TokenKind.ORGANIZATION_ACCESS_TOKEN
    claims = public_token_claims(token)
    if claims is not None and claims.get("pub") is True:
        return TokenKind.PUBLIC_ACCESS_TOKEN
    return TokenKind.UNKNOWN


def is_additional_secret_key(token: str) -> bool:
    """An additional secret key (``tr_prod_sk_…``): it authenticates like the root key but
    cannot sign public access tokens, so those are minted by the server."""
    return bool(_ADDITIONAL_KEY.match(token))


def public_token_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, decoded without verifying it (``None`` if it is not a JWT).
    Only for telling token kinds apart; the server verifies the signature."""
    if not _JWT.match(token):
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def secret_key_environment(token: str) -> str | None:
    """The canonical environment slug a secret key is bound to (``None`` for other tokens)."""
    match = _SECRET_KEY.match(token)
    return _KEY_ENVIRONMENTS[match.group(1)] if match else None


def normalize_environment(slug: str) -> str:
    """Return the canonical slug (``dev``, ``staging``, ``prod``, ``preview``) or raise
    ``ValueError`` naming the accepted values."""
    value = slug.strip().lower()
    value = _ENVIRONMENT_ALIASES.get(value, value)
    if value not in ENVIRONMENT_SLUGS:
        accepted = ", ".join(ENVIRONMENT_SLUGS)
        raise ValueError(f"unknown environment {slug!r}; expected one of: {accepted} (or stg)")
    return value


def redact(token: str | None) -> str:
    """``tr_dev_…abcd``: the prefix tells the kind, the last four tell keys apart."""
    if not token:
        return "<none>"
    match = re.match(r"^(tr_[a-z]+_(?:sk_)?|eyJ)", token)
    prefix = match.group(1) if match else ""
    tail = token[-4:] if len(token) >= len(prefix) + 12 else ""
    return f"{prefix}…{tail}"


class Secret(str):
    """A string that holds a credential: usable wherever a ``str`` is (a header value), but
    its ``repr()`` is redacted, so debug pages that print frame locals or ``vars()``
    (Django's technical 500 page, pdb, loggers of dicts) never show it."""

    __slots__ = ()

    def __repr__(self) -> str:
        scheme, _, token = self.rpartition(" ")
        return repr(f"{scheme} {redact(token)}" if scheme else redact(token))
