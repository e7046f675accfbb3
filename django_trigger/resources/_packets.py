"""Offloaded packets, as @trigger.dev/sdk 4.8.3 moves them (API-ADDENDUM: "Offloaded packets").

A payload whose serialised form is 128 KiB or more (the SDK's
``OFFLOAD_IO_PACKET_LENGTH_LIMIT``) is not sent inline: ``PUT /api/v2/packets/<filename>``
presigns an upload and names its ``storagePath``, the payload is ``PUT`` to that presigned
URL, and the trigger carries the storage path with ``payloadType: "application/store"``.
Three requests instead of one. Downloads ``GET`` the presigned URL a run's retrieve answer
gives. Presigned URLs go to the object store: no credentials, no API headers.

``offload`` and ``download`` are flow steps (``x = yield from offload(...)`` in a ``@flow``):
the client's own transport sends the object-store requests, so both clients do it, with the
same retry rules, timeouts, deadline and size cap as API calls.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django_trigger.exceptions import ApiConnectionError, ApiError, ApiTimeoutError
from django_trigger.types import SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from django_trigger._http.transport import RawResponse
    from django_trigger.options import RequestOptionsLike

    from ._base import Resource

__all__ = ["OFFLOAD_THRESHOLD", "download", "offload"]

OFFLOAD_THRESHOLD = 128 * 1024  # bytes of the serialised payload, as the SDK measures it
STORE_TYPE = "application/store"
# encodeURIComponent() leaves these unescaped (besides letters and digits).
_JS_COMPONENT_SAFE = "-_.!~*'()"
_FRIENDLY_ID_ALPHABET = "123456789abcdefghijkmnopqrstuvwxyz"  # generateFriendlyId's nanoid
# What errors and logs call a presigned URL (its query string is a credential).
_UPLOAD = "<presigned upload URL>"
_DOWNLOAD = "<presigned download URL>"


def offload(
    resource: Resource,
    data: bytes,
    *,
    operation: str,
    request_options: RequestOptionsLike,
) -> Generator[Any, Any, str]:
    """Upload ``data`` (a JSON payload) the SDK's way; the flow's result is its storage
    path."""
    from ._base import Auth, RetrySafety, _cooked

    # SDK 4.8.3's createTriggerPayloadPathPrefix() + ".json": a fresh friendly id, nothing
    # caller-controlled in the key.
    packet_id = "".join(secrets.choice(_FRIENDLY_ID_ALPHABET) for _ in range(21))
    filename = f"trigger/packet_{packet_id}/payload.json"
    presigned = yield _cooked(resource)._request(
        "PUT",
        "/api/v2/packets/" + quote(filename, safe=_JS_COMPONENT_SAFE),
        operation=operation,
        auth=Auth.SECRET_KEY,
        parse=_presign_result,
        request_options=request_options,
        retry_safety=RetrySafety.IDEMPOTENT,  # presigning stores nothing
    )
    try:
        yield _object_request(resource, "PUT", presigned["presignedUrl"], data, request_options)
    except ApiError as exc:
        raise _object_store_error(
            exc, "uploading the payload to the object store", "nothing was triggered"
        ) from exc
    return str(presigned["storagePath"])


def download(
    resource: Resource, url: str, request_options: RequestOptionsLike
) -> Generator[Any, Any, Any]:
    """The packet behind a presigned URL (the flow's result), decoded by its content type
    (JSON, superjson's ``json`` part, or text) as the SDK's ``resolvePresignedPacketUrl``
    does."""
    try:
        raw: RawResponse[Any] = yield _object_request(resource, "GET", url, None, request_options)
    except ApiError as exc:
        raise _object_store_error(
            exc,
            "downloading the packet from the object store",
            "its presigned URL is valid for 5 minutes: retrieve the run again for a fresh one",
        ) from exc
    content_type = (raw.headers.get("Content-Type") or "application/json").split(";")[0]
    text = raw.http_response.content.decode("utf-8")
    if content_type == "application/json":
        return json.loads(text)
    if content_type == "application/super+json":
        return json.loads(text).get("json")
    return text


def _object_request(
    resource: Resource,
    method: str,
    url: str,
    data: bytes | None,
    request_options: RequestOptionsLike,
) -> Any:
    """One request to the object store (a step: the response, or an awaitable of it), sent
    by the client's transport without credentials or API headers."""
    from ._base import RetrySafety

    return resource._client._transport.request(
        method,
        _UPLOAD if method == "PUT" else _DOWNLOAD,
        url=url,
        data=data,
        headers={"Content-Type": "application/json"} if data is not None else None,
        request_options=request_options,
        authenticated=False,
        # Writing the same bytes to the same key again is harmless: retried like a read.
        retry_safety=RetrySafety.IDEMPOTENT,
    )


def _object_store_error(exc: ApiError, doing: str, consequence: str) -> ApiError:
    """A failed object-store request's error, in words about the object store (the
    transport's own message names the API's host). A body over the size cap stays as is."""
    if isinstance(exc, ApiConnectionError):
        timed_out = isinstance(exc, ApiTimeoutError)
        error_class = ApiTimeoutError if timed_out else ApiConnectionError
        what = "no answer in time" if timed_out else "connection failed"
        return error_class(
            f"{doing} failed ({what}); {consequence}", method=exc.method, path=exc.path
        )
    if exc.status is None or 200 <= exc.status < 300:
        return exc
    return ApiError(
        f"{doing} failed ({exc.status}); {consequence}",
        status=exc.status,
        method=exc.method,
        path=exc.path,
    )


def _presign_result(body: Any) -> dict[str, Any]:
    if not (
        isinstance(body, dict)
        and isinstance(body.get("presignedUrl"), str)
        and isinstance(body.get("storagePath"), str)
    ):
        raise SchemaError("expected {'presignedUrl', 'storagePath'}")
    return body
