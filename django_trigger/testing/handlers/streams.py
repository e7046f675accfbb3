"""``POST /realtime/v1/streams/{runId}/input/{streamId}`` (docs/API-ADDENDUM.md §9): send data
to a running task's input stream, as ``realtime.v1.streams.$runId.input.$streamId.ts``: RBAC
``write:inputStreams:{runId}`` first, then the run (404), its completion (400), then the body
(a JSON object; ``data`` may be anything). 1 MiB at most."""

from __future__ import annotations

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.streams import InputStreamStore

ORDER = 80
STORES = {"input_streams": InputStreamStore}
MAX_INPUT_BYTES = 1024 * 1024


def register(router: Router) -> None:
    router.post(
        "/realtime/v1/streams/{runId}/input/{streamId}",
        send_input,
        auth=auth.BEARER_JWT,
        authorization="write",
        max_content_length=MAX_INPUT_BYTES,
        cors=True,
    )


def send_input(request: ApiRequest) -> Reply:
    run_id, stream_id = request.params["runId"], request.params["streamId"]
    request.authorize([("inputStreams", run_id)])
    with request.world.lock:
        run = request.world.runs.get(run_id, request.principal.environment)
        if run is None:
            return json_reply({"ok": False, "error": "Run not found"}, 404)
        if run.completed_at is not None:
            return json_reply(
                {"ok": False, "error": "Cannot send to input stream on a completed run"}, 400
            )
        try:
            body = errors.load_json(request.body)
        except ValueError:
            raise errors.internal_error() from None  # request.json() throws outside a schema
        if not isinstance(body, dict):
            return json_reply({"ok": False, "error": "Invalid request body"}, 400)
        request.world.input_streams.append(run_id, stream_id, body.get("data"))
        return json_reply({"ok": True})
