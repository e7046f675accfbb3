"""Responses and error answers in the exact shapes the real server sends (API.md §3.1).

Handlers return a :class:`Reply` (``json_reply(data, status)``) or raise :class:`HttpError`
(``raise not_found_loader()``, ``raise api_error(422, "…")``); the app turns either into an HTTP
response. Error helpers exist for each body shape the real server uses so handler modules never
hand-craft them:

========================================  =====================================================
``api_error(status, msg, **extra)``       ``{"error": msg, **extra}`` — almost everything
``not_found_loader(retry=True)``          404 ``{"error":"Not found"}`` + ``x-should-retry``
                                          (loader routes: run, batch, events, trace)
``not_found_action()``                    404 ``{"error":"Resource not found"}`` (action routes)
``query_error(issues)``                   400 ``{"error":"Query Error","details":[…]}``
``params_error(issues)``                  400 ``{"error":"Params Error","details":[…]}``
``headers_error(issues)``                 400 ``{"error":"Headers Error","details":[…]}``
``body_validation_error(issues)``         400 ``{"error":"Validation error: … at \"path\""}``
``invalid_request_body(issues)``          400 ``{"error":"Invalid request body","issues":[…]}``
``invalid_request_parameters(issues)``    400 ``{"error":"Invalid request parameters",…}``
``rbac_forbidden()``                      403 RBAC body (code/param/type)
``method_not_allowed(allow)``             405 ``{"error":"Method not allowed"}`` + ``Allow``
``internal_error()``                      500 ``{"error":"Internal Server Error"}``
``problem(status, title, detail, …)``     ``application/problem+json`` (rate limiter)
``stream_reply(chunks, max_seconds=…)``   a streamed answer (server-sent events; see
                                          :mod:`.app`, "Streamed answers")
========================================  =====================================================

Issues are zod-style dicts; build them with :mod:`django_trigger.testing.validation`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HttpError",
    "Reply",
    "api_error",
    "body_validation_error",
    "headers_error",
    "internal_error",
    "invalid_request_body",
    "invalid_request_parameters",
    "json_reply",
    "method_not_allowed",
    "not_found_action",
    "not_found_loader",
    "params_error",
    "problem",
    "query_error",
    "rbac_forbidden",
    "stream_reply",
]

JSON_TYPE = "application/json; charset=utf-8"
EVENT_STREAM_TYPE = "text/event-stream"
PROBLEM_TYPE = "application/problem+json"


# One encoder for every answer (json.dumps makes a new one per call for these options). The
# answers are trees of plain values, never self-referencing: the cycle check is skipped.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)

# orjson (the optional ``speed`` extra) encodes a 100-run page in a tenth of the time; imported
# on the first answer.
_NOT_LOADED: Any = object()
_orjson: Any = _NOT_LOADED


def _load_orjson() -> Any:
    global _orjson
    try:
        import orjson
    except ImportError:  # pragma: no cover - depends on the environment
        _orjson = None
    else:
        _orjson = orjson
    return _orjson


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(data: Any) -> bytes:
    """Compact JSON like ``JSON.stringify`` (non-ASCII kept as UTF-8).

    With orjson installed the bytes are json's, but for two cases where orjson writes what
    ``JSON.stringify`` writes and json does not: a float from 1e-5 to 1e-4 or below 1e-6
    (``0.00001``, ``1e-7`` where json writes ``1e-05``, ``1e-07``) and NaN or an infinity
    (``null`` where json writes ``NaN``, which is not JSON). Between 1e-6 and 1e-5 orjson
    writes neither form (``5e-6`` for ``5e-06``, ``0.000005``): an answer with ``e-6`` in it
    is left to json. So is what orjson refuses (integers past 64 bits, keys that are not
    strings, lone surrogates, nesting past 255, dates and dataclasses), which json writes or
    refuses as before (``tests/emulator/test_json_encode.py``)."""
    fast = _orjson if _orjson is not _NOT_LOADED else _load_orjson()
    if fast is not None:
        try:
            body: bytes = fast.dumps(
                data,
                default=_refuse,
                option=fast.OPT_PASSTHROUGH_DATETIME | fast.OPT_PASSTHROUGH_DATACLASS,
            )
        except TypeError:  # orjson.JSONEncodeError
            pass
        else:
            if b"e-6" not in body:
                return body
    return _ENCODER.encode(data).encode("utf-8")


@dataclass
class Reply:
    """An HTTP answer before it is written: status, headers and the encoded body, or, for a
    streamed answer (:func:`stream_reply`), the chunks and the most seconds they may take."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = JSON_TYPE
    stream: Iterable[bytes] | None = None
    max_seconds: float = 0.0

    def header_list(self) -> list[tuple[str, str]]:
        items = list(self.headers.items())
        if self.content_type and not any(k.lower() == "content-type" for k, _ in items):
            items.insert(0, ("Content-Type", self.content_type))
        if self.stream is None:  # a streamed answer's end is its last (chunked) chunk
            items.append(("Content-Length", str(len(self.body))))
        return items

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class HttpError(Exception):
    """Raise from a handler (or a helper it calls) to answer with ``reply`` at once."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.status} {reply.body[:200]!r}")
        self.reply = reply


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=dumps(data), headers=dict(headers or {}))


def stream_reply(
    chunks: Iterable[bytes],
    *,
    max_seconds: float,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = EVENT_STREAM_TYPE,
) -> Reply:
    """A streamed answer: each chunk is written and flushed as ``chunks`` yields it, for at most
    ``max_seconds``; ``b""`` means "nothing yet" (see :mod:`.app`, "Streamed answers")."""
    if not max_seconds > 0:
        raise ValueError("a streamed answer needs max_seconds > 0")
    return Reply(
        status=status,
        headers=dict(headers or {}),
        content_type=content_type,
        stream=chunks,
        max_seconds=float(max_seconds),
    )


def api_error(
    status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> HttpError:
    return HttpError(json_reply({"error": message, **extra}, status, headers))


def not_found_loader(retry: bool = True, message: str = "Not found") -> HttpError:
    """The loader-route 404: ``x-should-retry`` is always sent, ``true`` where the route sets
    ``shouldRetryNotFound`` (runs, batches, events, trace)."""
    return api_error(404, message, headers={"x-should-retry": "true" if retry else "false"})


def not_found_action() -> HttpError:
    return api_error(404, "Resource not found")


def query_error(issues: list[dict[str, Any]]) -> HttpError:
    return api_error(400, "Query Error", details=issues)


def params_error(issues: list[dict[str, Any]]) -> HttpError:
    return api_error(400, "Params Error", details=issues)


def headers_error(issues: list[dict[str, Any]]) -> HttpError:
    return api_error(400, "Headers Error", details=issues)


def format_zod_path(path: list[str | int]) -> str:
    """zod-validation-error's path rendering: ``options.tags[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def zod_issue_message(issue: dict[str, Any]) -> str:
    """zod-validation-error's ``getMessageFromZodIssue``: a union lists each option's issues
    (``…, or …``), a path is appended (``at "filter.status[0]"``, or ``at index 0`` alone)."""
    if issue.get("code") == "invalid_union" and issue.get("unionErrors"):
        options: list[str] = []
        for error in issue["unionErrors"]:
            text = "; ".join(zod_issue_message(inner) for inner in error["issues"])
            if text not in options:
                options.append(text)
        return ", or ".join(options)
    path = issue.get("path") or []
    if not path:
        return issue["message"]
    if len(path) == 1 and isinstance(path[0], int):
        return f"{issue['message']} at index {path[0]}"
    return f'{issue["message"]} at "{format_zod_path(path)}"'


def body_validation_error(issues: list[dict[str, Any]]) -> HttpError:
    """An action route's body failed its schema: one string in zod-validation-error format."""
    return api_error(
        400, "Validation error: " + "; ".join(zod_issue_message(issue) for issue in issues[:99])
    )


def invalid_request_body(issues: list[dict[str, Any]]) -> HttpError:
    return api_error(400, "Invalid request body", issues=issues)


def invalid_request_parameters(issues: list[dict[str, Any]]) -> HttpError:
    return api_error(400, "Invalid request parameters", issues=issues)


RBAC_FORBIDDEN = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}


def rbac_forbidden() -> HttpError:
    return HttpError(json_reply(RBAC_FORBIDDEN, 403))


def method_not_allowed(allow: str) -> HttpError:
    return api_error(405, "Method not allowed", headers={"Allow": allow})


def internal_error(
    message: str = "Internal Server Error", headers: dict[str, str] | None = None
) -> HttpError:
    return api_error(500, message, headers=headers)


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Reply:
    """An RFC 7807 body as the rate-limit middleware sends it (``error`` repeats ``detail``)."""
    body = {
        "title": title,
        "status": status,
        "type": f"https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{status}",
        "detail": detail,
        **extra,
        "error": detail,
    }
    return Reply(
        status=status, body=dumps(body), headers=dict(headers or {}), content_type=PROBLEM_TYPE
    )


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes | str) -> Any:
    """``JSON.parse(await request.text())``: UTF-8 with a leading BOM dropped and invalid bytes
    replaced (as ``TextDecoder`` does), and no ``NaN`` / ``Infinity`` (Python's json reads
    them, JavaScript's refuses them). Raises ``ValueError``."""
    text = raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else raw
    return json.loads(text, parse_constant=_not_json)


def parse_json_body(raw: bytes) -> tuple[bool, Any]:
    """``(ok, value)``. Mirrors the server's ``safeJsonParse`` + falsy check: an empty body,
    invalid JSON and falsy JSON values (``null``, ``0``, ``false``, ``""``) all fail."""
    try:
        value = load_json(raw)
    except ValueError:
        return False, None
    if not value and not isinstance(value, (dict, list)):
        return False, None
    return True, value
