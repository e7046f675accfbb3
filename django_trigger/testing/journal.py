"""A record of every request the emulator received, for tests to assert on.

    emu.journal.count(method="POST", path_prefix="/api/v1/tasks/")   # -> 3
    entry = emu.journal.last()
    entry.method, entry.path, entry.query["filter[status]"], entry.headers["x-trigger-api-version"]
    entry.body        # parsed JSON (or text) of the request body
    entry.status      # what was answered (None when the connection was dropped)
    entry.fault       # "fail" | "drop" | "stall" | "rate_limit" | "fault_rate" | None
    entry.replayed    # True when answered from the request-idempotency cache

Credentials never reach the journal: ``Authorization`` is stored redacted
(``Bearer tr_dev_…wxyz``), as are other secret-bearing headers. Nor do env var values: the
bodies of the env var routes (create, update, import as JSON or as a multipart dotenv upload)
keep their names and have every value replaced by ``<redacted>``::

    entry.body   # {"variables": {"API_KEY": "<redacted>"}, "override": True}
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REDACTED", "Journal", "JournalEntry", "mask_body", "redact_token"]

SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-trigger-jwt"}
REDACTED = "<redacted>"
_ENVVAR_PATH = re.compile(r"^/api/v1/projects/[^/]+/envvars/[^/]+(/.*)?$")
_VARIABLE_MAPS = ("variables", "parentVariables")


def redact_token(token: str | None) -> str:
    """``tr_dev_…wxyz``: the kind stays visible, the secret does not (``<none>`` if empty)."""
    token = (token or "").strip()
    if not token:
        return "<none>"
    match = re.match(r"^(tr_[a-z]+_(?:sk_)?)", token)
    prefix = match.group(1) if match else ""
    tail = token[-4:] if len(token) >= len(prefix) + 12 else ""
    return f"{prefix}…{tail}"


def mask_header(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    if name.lower() == "authorization" and value.startswith("Bearer "):
        return "Bearer " + redact_token(value[len("Bearer ") :])
    return redact_token(value)


def mask_body(path: str, content_type: str, raw: bytes, body: Any) -> Any:
    """The body to keep for a request: env var values redacted (names kept) on the env var
    routes, anything else as parsed."""
    if not _ENVVAR_PATH.match(path) or body is None:
        return body
    if "multipart/form-data" in content_type.lower():
        return _mask_upload(content_type, raw)
    return _mask_values(body)


def _mask_values(value: Any) -> Any:
    if isinstance(value, list):
        return [_mask_values(item) for item in value]
    if not isinstance(value, dict):
        return REDACTED  # not an object: it could be anything, values included
    masked: dict[str, Any] = {}
    for key, item in value.items():
        if key == "value":
            masked[key] = REDACTED
        elif key in _VARIABLE_MAPS and isinstance(item, dict):
            masked[key] = dict.fromkeys(item, REDACTED)
        elif key in _VARIABLE_MAPS or isinstance(item, (dict, list)):
            masked[key] = _mask_values(item)
        else:
            masked[key] = item
    return masked


def _mask_upload(content_type: str, raw: bytes) -> Any:
    """A dotenv upload as the import route reads it: the file's names, the other fields."""
    from werkzeug.formparser import parse_form_data

    from .resources.envvars import parse_dotenv

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    try:
        _stream, form, files = parse_form_data(environ, silent=False)
    except Exception:  # noqa: BLE001 -- malformed in any way: nothing of it is kept
        return REDACTED
    masked: dict[str, Any] = dict(form.items())
    for name, upload in files.items():
        text = upload.read().decode("utf-8", errors="replace")
        masked[name] = dict.fromkeys(parse_dotenv(text), REDACTED)
    return masked


@dataclass
class JournalEntry:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names, secrets redacted
    body: Any  # parsed JSON, else text, else None
    status: int | None = None
    duration: float = 0.0  # seconds spent answering
    fault: str | None = None
    replayed: bool = False
    credential: str = ""  # redacted token, e.g. "tr_dev_…wxyz"
    response_headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class Journal:
    """Thread-safe list of :class:`JournalEntry` with counting helpers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries)

    def filter(
        self,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
    ) -> list[JournalEntry]:
        out = []
        for entry in self.entries:
            if method is not None and entry.method != method.upper():
                continue
            if path is not None and entry.path != path:
                continue
            if path_prefix is not None and not entry.path.startswith(path_prefix):
                continue
            if status is not None and entry.status != status:
                continue
            out.append(entry)
        return out

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
    ) -> int:
        return len(self.filter(method=method, path=path, path_prefix=path_prefix, status=status))

    def last(
        self, method: str | None = None, path: str | None = None, path_prefix: str | None = None
    ) -> JournalEntry | None:
        found = self.filter(method=method, path=path, path_prefix=path_prefix)
        return found[-1] if found else None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
