"""Error groups: failed runs of one task whose errors share a fingerprint.

The fingerprint is the service's ``calculateErrorFingerprint`` (``app/utils/errorFingerprinting
.ts``): SHA-256 of ``type:normalizedMessage:normalizedStack``, first 16 hex digits. Only runs
in a failed status have one (the ClickHouse error views' ``status IN (…)``). Display columns as
``035_fix_error_display_derivation.sql``: the type is the error's ``name`` (else ``code``, else
``Error``), the message its ``message`` (else ``name``, ``raw``, ``Unknown error``). The state
(resolved, ignored) is kept per environment, task and fingerprint, as ``ErrorGroupState``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World
    from .runs import Run

__all__ = ["FAILED_STATUSES", "ErrorState", "ErrorStore", "fingerprint", "run_fingerprint"]

FAILED_STATUSES = frozenset(
    ("SYSTEM_FAILURE", "CRASHED", "INTERRUPTED", "COMPLETED_WITH_ERRORS", "TIMED_OUT")
)

_MESSAGE_RULES = [
    (r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>"),
    (r"run_[a-zA-Z0-9]+", "<run-id>"),
    (r"\b[a-z]+_[a-zA-Z0-9]{8,}\b", "<id>"),
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?", "<timestamp>"),
    (r"\b\d{10,13}\b", "<timestamp>"),
    (r"https?://[^\s]+", "<url>"),
    (r"\b\d{4,}\b", "<id>"),
    (r"(?:/[^/\s]+){2,}", "<path>"),
    (r"[A-Z]:\\(?:[^\\]+\\)+[^\\]+", "<path>"),
    (r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b", "<email>"),
    (r"0x[0-9a-fA-F]{8,}", "<addr>"),
    (r'"[^"]{20,}"', '"<string>"'),
    (r"'[^']{20,}'", "'<string>'"),
]


def _normalize_message(message: str) -> str:
    for pattern, replacement in _MESSAGE_RULES:
        message = re.sub(pattern, replacement, message)
    return message


def _normalize_stack(stack: str) -> str:
    lines = []
    for line in stack.split("\n")[:5]:
        line = re.sub(r":\d+:\d+", ":_:_", line)
        line = re.sub(r"\b\d+\b", "_", line)
        line = re.sub(r"(?:/[^/\s]+)+/([^/\s]+)", r"\1", line).strip()
        if line:
            lines.append(line)
    return "|".join(lines)


def _text(value: Any) -> str:
    return "" if value is None or value == "" else str(value)


def fingerprint(error: Any) -> str:
    if not isinstance(error, dict) or not error:
        return ""
    error_type = _text(error.get("type")) or _text(error.get("name")) or "Error"
    message = _text(error.get("message")) or _text(error.get("name")) or _text(error.get("raw"))
    # The service reads ``stack``/``stacktrace``; a stored TaskRunError has ``stackTrace``.
    stack = _text(error.get("stack")) or _text(error.get("stacktrace"))
    data = f"{error_type}:{_normalize_message(message)}:{_normalize_stack(stack)}"
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def run_fingerprint(run: Run) -> str:
    return fingerprint(run.error) if run.status in FAILED_STATUSES else ""


def error_type(error: dict[str, Any]) -> str:
    return _text(error.get("name")) or _text(error.get("code")) or "Error"


def error_message(error: dict[str, Any]) -> str:
    return (
        _text(error.get("message"))[:500]
        or _text(error.get("name"))
        or _text(error.get("raw"))[:500]
        or "Unknown error"
    )


@dataclass
class ErrorState:
    status: str = "UNRESOLVED"
    resolved_at: dt.datetime | None = None
    resolved_in_version: str | None = None
    ignored_at: dt.datetime | None = None
    ignored_until: dt.datetime | None = None
    ignored_reason: str | None = None
    ignored_until_occurrence_rate: float | None = None
    ignored_until_total_occurrences: int | None = None


@dataclass
class ErrorGroup:
    fingerprint: str
    task_identifier: str
    runs: list[Run]  # every failed run of the group, any time

    @property
    def error(self) -> dict[str, Any]:
        return self.runs[0].error or {}


class ErrorStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.states: dict[tuple[str, str, str], ErrorState] = {}

    def groups(self, environment_id: str) -> list[ErrorGroup]:
        found: dict[tuple[str, str], ErrorGroup] = {}
        for run in self.world.runs.in_environment(environment_id):
            print_ = run_fingerprint(run)
            if not print_:
                continue
            key = (print_, run.task_identifier)
            if key not in found:
                found[key] = ErrorGroup(print_, run.task_identifier, [])
            found[key].runs.append(run)
        return list(found.values())

    def find(self, environment_id: str, print_: str) -> ErrorGroup | None:
        matches = [g for g in self.groups(environment_id) if g.fingerprint == print_]
        return matches[0] if matches else None

    def state(self, environment_id: str, group: ErrorGroup) -> ErrorState:
        return self.states.get(
            (environment_id, group.task_identifier, group.fingerprint), ErrorState()
        )

    def set_state(self, environment_id: str, group: ErrorGroup, state: ErrorState) -> None:
        self.states[(environment_id, group.task_identifier, group.fingerprint)] = state
