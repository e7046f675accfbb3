"""Build request paths from templates, validating and quoting every value that goes into one.

``build_path("/api/v3/runs/{}", run_id)`` refuses empty values, ``.``/``..`` (also when
percent-encoded), control characters, and values that do not look like the id they should be,
then percent-encodes each value as one path segment: ``runs.retrieve("../envvars")`` can never
reach another endpoint.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from django_trigger.exceptions import InvalidRequestError
from django_trigger.validators import ENV_VAR_NAME, PROJECT_REF

__all__ = ["ID_PATTERNS", "build_path", "segment"]

# What an id of each kind looks like (API.md §1: opaque strings with known prefixes); each
# must match the whole value.
ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "run": re.compile(r"run_[A-Za-z0-9]+"),
    "batch": re.compile(r"batch_[A-Za-z0-9]+"),
    "bulk_action": re.compile(r"bulk_[A-Za-z0-9]+"),
    "waitpoint": re.compile(r"waitpoint_[A-Za-z0-9]+"),
    "webhook_endpoint": re.compile(r"wh_[A-Za-z0-9]+"),
    "webhook_delivery": re.compile(r"whd_[A-Za-z0-9]+"),
    "error": re.compile(r"(error_)?[A-Za-z0-9]+"),  # error_<fingerprint> or the fingerprint
    "project_ref": PROJECT_REF,
    "envvar_name": ENV_VAR_NAME,
    "environment": re.compile(r"(dev|staging|stg|prod|preview)"),
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def segment(value: object, kind: str) -> str:
    """Validate one path value and return it percent-encoded as a single segment."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{kind} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError(f"{kind} must not be empty")
    decoded = unquote(value)
    if decoded in (".", "..") or value in (".", ".."):
        raise InvalidRequestError(f"{kind} {value!r} is not allowed in a path")
    if _CONTROL.search(value):
        raise InvalidRequestError(f"{kind} must not contain control characters")
    pattern = ID_PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidRequestError(f"{value!r} is not a valid {kind.replace('_', ' ')}")
    return quote(value, safe="")


def build_path(template: str, *values: tuple[object, str]) -> str:
    """``build_path("/api/v1/runs/{}/tags", (run_id, "run"))`` → ``/api/v1/runs/run_x/tags``."""
    return template.format(*(segment(value, kind) for value, kind in values))
