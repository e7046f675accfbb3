"""Access tokens: what kind a token is, which environment a secret key belongs to, and how
to show one without revealing it. Pure functions; no Django, no I/O."""

from __future__ import annotations

import enum
import re

__all__ = [
    "ENVIRONMENT_SLUGS",
    "Secret",
    "TokenKind",
    "normalize_environment",
    "redact",
    "secret_key_environment",
    "token_kind",
]

# Canonical environment slugs as users write them; "stg" is accepted as an alias of "staging".
ENVIRONMENT_SLUGS = ("dev", "staging", "prod", "preview")
_ENVIRONMENT_ALIASES = {"stg": "staging", "development": "dev", "production": "prod"}

_SECRET_KEY = re.compile(r"^tr_(dev|stg|prod|preview)_(?:sk_)?[0-9A-Za-z]+$", re.ASCII)
_KEY_ENVIRONMENTS = {"dev": "dev", "stg": "staging", "prod": "prod", "preview": "preview"}


class TokenKind(enum.Enum):
    SECRET_KEY = "secret_key"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"
    ORGANIZATION_ACCESS_TOKEN = "organization_access_token"
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
    return TokenKind.UNKNOWN


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
    match = re.match(r"^(tr_[a-z]+_(?:sk_)?)", token)
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
