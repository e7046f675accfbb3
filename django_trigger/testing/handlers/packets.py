"""Offloaded packets (API-ADDENDUM: "Offloaded packets"): ``PUT /api/v2/packets/{filename}``
(presigned upload URL + ``storagePath``, what SDK 4.x uses), ``PUT /api/v1/packets/{filename}``
(legacy: URL only), ``GET /api/v1/packets/{filename}`` (presigned download URL, public JWTs
too), and the presigned URLs themselves (``/__objects__/<key>``, no credentials, 300 s)."""

from __future__ import annotations

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.packets import PacketStore, StoredObject

ORDER = 60
STORES = {"packets": PacketStore}
# The S3-compatible stores the service uses take single PUTs up to 5 GB; keep memory sane.
MAX_OBJECT_BYTES = 64 * 1024 * 1024
INVALID_PATH = "Invalid packet storage path"


def register(router: Router) -> None:
    # The service's packet routes read the filename from a splat; the SDK sends it as one
    # encodeURIComponent()-ed segment, which is what the emulator routes.
    presign_put = auth.legacy("Invalid or Missing API key")
    router.put("/api/v2/packets/{filename}", upload_url_v2, auth=presign_put)
    router.put("/api/v1/packets/{filename}", upload_url_v1, auth=presign_put)
    router.get("/api/v1/packets/{filename}", download_url, auth=auth.BEARER_JWT, cors=True)
    router.put(
        "/__objects__/{key}", put_object, auth=auth.NONE, max_content_length=MAX_OBJECT_BYTES
    )
    router.get("/__objects__/{key}", get_object, auth=auth.NONE)


def _key(request: ApiRequest) -> str:
    """The object key of the filename, refusing what the service refuses (traversal,
    backslashes, empty segments) with its 400."""
    path = request.params["filename"]
    segments = path.split("/")
    if (
        not path
        or "\\" in path
        or path.startswith("/")
        or any(s in ("", ".", "..") for s in segments)
    ):
        raise errors.api_error(400, INVALID_PATH)
    env = request.principal.environment
    assert env is not None
    return PacketStore.key(env, path)


def upload_url_v2(request: ApiRequest) -> Reply:
    key = _key(request)
    url = request.world.packets.presign(request.base_url, key, "PUT")
    # storagePath: the path itself (no OBJECT_STORE_DEFAULT_PROTOCOL configured).
    return json_reply({"presignedUrl": url, "storagePath": request.params["filename"]})


def upload_url_v1(request: ApiRequest) -> Reply:
    key = _key(request)
    return json_reply({"presignedUrl": request.world.packets.presign(request.base_url, key, "PUT")})


def download_url(request: ApiRequest) -> Reply:
    key = _key(request)
    return json_reply({"presignedUrl": request.world.packets.presign(request.base_url, key, "GET")})


def _s3_error(status: int, code: str, message: str) -> errors.HttpError:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    return errors.HttpError(Reply(status=status, body=body, content_type="application/xml"))


def _checked(request: ApiRequest, method: str) -> str:
    key = request.params["key"]
    problem = request.world.packets.check(method, key, request.query)
    if problem == "SignatureDoesNotMatch":
        raise _s3_error(
            403,
            problem,
            "The request signature we calculated does not match the signature you provided.",
        )
    if problem is not None:
        raise _s3_error(403, problem, "Request has expired")
    return key


def put_object(request: ApiRequest) -> Reply:
    key = _checked(request, "PUT")
    store: PacketStore = request.world.packets
    with request.world.lock:
        store.objects[key] = StoredObject(
            bytes(request.body or b""),
            request.headers.get("Content-Type") or "application/octet-stream",
        )
    return Reply(status=200, content_type=None)


def get_object(request: ApiRequest) -> Reply:
    key = _checked(request, "GET")
    stored = request.world.packets.objects.get(key)
    if stored is None:
        raise _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Reply(status=200, body=stored.data, content_type=stored.content_type)
