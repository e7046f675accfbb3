"""The one set of checks for values users configure or pass: URLs, project refs, extra headers,
task identifiers. Used by ``TriggerClient`` (arguments), ``conf`` (settings) and the resources,
so a value is accepted or refused the same way, with the same message, on every path.

Each check returns the cleaned value or raises ``ValueError`` with a message that starts with
a verb ("must be …") for the caller to put after the value's name, and that never echoes a
value that could be secret (a URL may hold credentials; a token pasted into the wrong setting
is redacted by ``show()``). Core module: no Django, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django_trigger.credentials import normalize_environment, redact

__all__ = [
    "ENV_VAR_NAME",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "MAX_TASK_IDENTIFIER_LENGTH",
    "PROJECT_REF",
    "RESERVED_ENV_VAR_NAMES",
    "branch",
    "environment",
    "headers",
    "project_ref",
    "show",
    "task_identifier",
    "url",
]

#: A project ref as the dashboard shows it (``proj_`` and letters/digits).
PROJECT_REF = re.compile(r"proj_[A-Za-z0-9]+", re.ASCII)
#: Queue names (a task's default queue is ``task/<identifier>``) are cut at 128 characters by
#: the server, and its API schemas cap ``taskIdentifier`` at 128: longer ids are mistakes.
MAX_TASK_IDENTIFIER_LENGTH = 128
#: Tags of a run: at most 10, each at most 128 characters (the server's limits).
MAX_TAGS = 10
MAX_TAG_LENGTH = 128
#: Environment variable names, by the dashboard's rule (the API has none): ASCII letters,
#: digits and underscores.
ENV_VAR_NAME = re.compile(r"\A[A-Za-z0-9_]+\Z", re.ASCII)
#: Names the server silently drops on write and hides from lists (API.md §8).
RESERVED_ENV_VAR_NAMES = frozenset({"TRIGGER_SECRET_KEY", "TRIGGER_API_URL"})
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", re.ASCII)
# Characters no task id written in code has, which point at a query or a paste error ("/" is
# fine: "emails/welcome" is a valid id, sent encoded as one path segment).
_TASK_ID_FORBIDDEN = set("\\?#%")


def show(value: Any) -> str:
    """A value fit for a message: a string that could be a token is redacted, a long one is
    described by its length, and containers are named by type (they could hold one)."""
    if isinstance(value, str):
        if value.startswith("tr_"):
            return redact(value)
        return repr(value) if len(value) <= 40 else f"a {len(value)}-character string"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return type(value).__name__


def url(value: Any) -> str:
    """An absolute http(s) URL with a host, without credentials, query or fragment; returned
    stripped, without a trailing ``/``. Never echoed: it could hold a password."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    text = value.strip()
    if _has_control(text) or any(char.isspace() for char in text):
        raise ValueError(
            "must be an absolute http:// or https:// URL without spaces or control characters"
        )
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise ValueError("must not contain credentials (user:password@)")
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("must have a numeric port between 0 and 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL with a host")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("must not contain a query string or a fragment")
    return text.rstrip("/")


def environment(value: Any) -> str:
    """The canonical slug: dev, staging (or stg), prod, preview."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    try:
        return normalize_environment(value)
    except ValueError:
        raise ValueError(
            f"must be dev, staging (or stg), prod or preview, not {show(value)}"
        ) from None


def branch(value: Any) -> str | None:
    """A preview (or dev) branch name, by the service's own rule for creating one
    (``isValidGitBranchName``): it is sent as the ``x-trigger-branch`` header, so a line break
    could never be sent anyway. ``None`` or ``""``: no branch."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    if (
        any(char in " ~^:?*[\\" for char in value)
        or any(ord(char) < 32 or ord(char) == 127 for char in value)
        or value.startswith("/")
        or value.endswith(("/", ".lock"))
        or any(part in value for part in ("//", "..", "@{"))
    ):
        raise ValueError(
            f"is not a valid git branch name: {show(value)} (no spaces, control characters, "
            "~ ^ : ? * [ \\, '..', '//' or '@{', no leading or trailing '/', no '.lock' ending)"
        )
    return value


def project_ref(value: Any) -> str | None:
    """``proj_…`` (``None`` or ``""``: not set)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    if not PROJECT_REF.fullmatch(value):
        raise ValueError(f"is not a project ref (proj_…): {show(value)}")
    return value


def headers(value: Any) -> dict[str, str]:
    """Extra headers: names are HTTP tokens, values strings without line breaks (a header
    could be split in two), and never ``Authorization`` (the token has its own option).
    Messages name headers, never their values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a dict, not {type(value).__name__}")
    result: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"has a header name that is not a valid HTTP token: {show(name)}")
        if name.lower() == "authorization":
            raise ValueError(
                "must not set Authorization (the token is ACCESS_TOKEN / access_token)"
            )
        if not isinstance(item, str):
            raise ValueError(f"must map {name} to a string, not {type(item).__name__}")
        if _has_control(item, allow_tab=True):
            raise ValueError(f"has a control character (a line break?) in the value of {name}")
        result[name] = item
    return result


def task_identifier(value: Any) -> str:
    """A task's id as written in code (``task({id: "send-email"})``). The API takes any
    string, and an unknown one creates a run that waits for a version defining that task, so
    a mistake is refused here: empty, longer than 128 characters, whitespace or control
    characters, ``\\ ? # %``, or an empty, ``.`` or ``..`` part between slashes."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_TASK_IDENTIFIER_LENGTH:
        raise ValueError(f"is at most {MAX_TASK_IDENTIFIER_LENGTH} characters, not {len(value)}")
    if any(char.isspace() for char in value) or _has_control(value):
        raise ValueError(f"must not contain whitespace or control characters: {show(value)}")
    bad = sorted(set(value) & _TASK_ID_FORBIDDEN)
    if bad:
        raise ValueError(f"must be the id of a task, without {' '.join(bad)}: {show(value)}")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError(
            f"must be the id of a task, without empty, '.' or '..' parts between "
            f"slashes: {show(value)}"
        )
    return value


def _has_control(text: str, *, allow_tab: bool = False) -> bool:
    return any(
        (ord(char) < 0x20 and not (allow_tab and char == "\t"))
        or 0x7F <= ord(char) <= 0x9F
        or char in "\u2028\u2029"
        for char in text
    )
