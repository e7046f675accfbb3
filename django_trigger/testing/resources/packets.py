"""The object store behind offloaded packets (API-ADDENDUM: "Offloaded packets"): objects
keyed ``packets/<projectRef>/<envSlug>/<path>`` and the presigned URLs that reach them, signed
for one method and valid for 300 s of the emulated clock (the service presigns for 5 minutes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from ..world import Environment, World

__all__ = ["PRESIGN_SECONDS", "PacketStore", "StoredObject"]

PRESIGN_SECONDS = 300
OBJECTS_PATH = "/__objects__/"


@dataclass
class StoredObject:
    data: bytes
    content_type: str


class PacketStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.objects: dict[str, StoredObject] = {}
        self._signing_key = secrets.token_bytes(32)

    @staticmethod
    def key(environment: Environment, path: str) -> str:
        return f"packets/{environment.project_ref}/{environment.slug}/{path}"

    def put(
        self,
        environment: Environment,
        path: str,
        data: bytes,
        content_type: str = "application/json",
    ) -> None:
        """Store an object directly (tests: an offloaded output)."""
        self.objects[self.key(environment, path)] = StoredObject(data, content_type)

    def presign(self, base_url: str, key: str, method: str) -> str:
        expires = int(self.world.now().timestamp()) + PRESIGN_SECONDS
        return (
            f"{base_url}{OBJECTS_PATH}{quote(key, safe='')}?X-Amz-Expires={PRESIGN_SECONDS}"
            f"&expires={expires}&signature={self._sign(method, key, expires)}"
        )

    def check(self, method: str, key: str, query: dict[str, list[str]]) -> str | None:
        """``None`` when the URL's signature covers ``method`` and ``key`` and has not expired,
        else the S3-style error code."""
        try:
            expires = int(query.get("expires", [""])[0])
        except ValueError:
            return "AccessDenied"
        if not hmac.compare_digest(
            query.get("signature", [""])[0], self._sign(method, key, expires)
        ):
            return "SignatureDoesNotMatch"
        if self.world.now().timestamp() > expires:
            return "AccessDenied"  # S3: "Request has expired"
        return None

    def _sign(self, method: str, key: str, expires: int) -> str:
        message = f"{method}\n{key}\n{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()
