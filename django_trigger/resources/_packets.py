"""Offloaded packets, as @trigger.dev/sdk 4.8.3 moves them (API-ADDENDUM: "Offloaded packets").

A payload whose serialised form is 128 KiB or more (the SDK's
``OFFLOAD_IO_PACKET_LENGTH_LIMIT``) is not sent inline: ``PUT /api/v2/packets/<filename>``
presigns an upload and names its ``storagePath``, the payload is ``PUT`` to that presigned
URL, and the trigger carries the storage path with ``payloadType: "application/store"``.
Three requests instead of one. Downloads ``GET`` the presigned URL a run's retrieve answer
gives. Presigned URLs go to the object store: no credentials, no API headers.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    InvalidRequestError,
)
from django_trigger.types import SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from django_trigger.options import RequestOptionsLike

    from ._base import Resource

__all__ = ["OFFLOAD_THRESHOLD", "download", "offload"]

OFFLOAD_THRESHOLD = 128 * 1024  # bytes of the serialised payload, as the SDK measures it
STORE_TYPE = "application/store"
# encodeURIComponent() leaves these unescaped (besides letters and digits).
_JS_COMPONENT_SAFE = "-_.!~*'()"
_FRIENDLY_ID_ALPHABET = "123456789abcdefghijkmnopqrstuvwxyz"  # generateFriendlyId's nanoid


def offload(
    resource: Resource,
    data: bytes,
    *,
    operation: str,
    request_options: RequestOptionsLike,
) -> str:
    """Upload ``data`` (a JSON payload) the SDK's way and return its storage path."""
    from ._base import Auth, RetrySafety, _cooked

    # SDK 4.8.3's createTriggerPayloadPathPrefix() + ".json": a fresh friendly id, nothing
    # caller-controlled in the key.
    packet_id = "".join(secrets.choice(_FRIENDLY_ID_ALPHABET) for _ in range(21))
    filename = f"trigger/packet_{packet_id}/payload.json"
    presigned = _cooked(resource)._request(
        "PUT",
        "/api/v2/packets/" + quote(filename, safe=_JS_COMPONENT_SAFE),
        operation=operation,
        auth=Auth.SECRET_KEY,
        parse=_presign_result,
        request_options=request_options,
        retry_safety=RetrySafety.IDEMPOTENT,  # presigning stores nothing
    )
    response = _object_request(resource, "PUT", presigned["presignedUrl"], data)
    if not 200 <= response.status_code < 300:
        raise ApiError(
            f"uploading the payload to the object store failed ({response.status_code}); "
            "nothing was triggered",
            status=response.status_code,
            method="PUT",
            path="<presigned upload URL>",
        )
    return str(presigned["storagePath"])


def download(resource: Resource, url: str) -> Any:
    """The packet behind a presigned URL, decoded by its content type (JSON, superjson's
    ``json`` part, or text) as the SDK's ``resolvePresignedPacketUrl`` does."""
    response = _object_request(resource, "GET", url, None)
    if not 200 <= response.status_code < 300:
        raise ApiError(
            f"downloading the packet from the object store failed ({response.status_code}); "
            "its presigned URL is valid for 5 minutes: retrieve the run again for a fresh one",
            status=response.status_code,
            method="GET",
            path="<presigned download URL>",
        )
    content_type = (response.headers.get("Content-Type") or "application/json").split(";")[0]
    text = response.content.decode("utf-8")
    if content_type == "application/json":
        return json.loads(text)
    if content_type == "application/super+json":
        return json.loads(text).get("json")
    return text


def _object_request(
    resource: Resource, method: str, url: str, data: bytes | None
) -> requests.Response:
    from ._base import RetrySafety

    transport = resource._client._transport
    if not hasattr(transport, "session"):
        raise InvalidRequestError(
            "payloads and outputs of 128 KiB or more go through the object store, which only "
            "the sync client (TriggerClient) supports so far"
        )
    # Writing the same bytes to the same key again is harmless: retried like a read.
    session = transport.session(transport.retry, RetrySafety.IDEMPOTENT)
    timeout = (
        transport.timeout
        if isinstance(transport.timeout, tuple)
        else (float(transport.timeout), float(transport.timeout))
    )
    try:
        return session.request(
            method,
            url,
            data=data,
            headers={"Content-Type": "application/json"} if data is not None else None,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise ApiTimeoutError(f"the object store did not answer in time ({method})") from exc
    except requests.RequestException as exc:
        raise ApiConnectionError(
            f"could not reach the object store ({method}): {type(exc).__name__}"
        ) from exc


def _presign_result(body: Any) -> dict[str, Any]:
    if not (
        isinstance(body, dict)
        and isinstance(body.get("presignedUrl"), str)
        and isinstance(body.get("storagePath"), str)
    ):
        raise SchemaError("expected {'presignedUrl', 'storagePath'}")
    return body
