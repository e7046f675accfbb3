"""Run streams.

``POST /realtime/v1/streams/{runId}/input/{streamId}`` (docs/API-ADDENDUM.md §9): send data
to a running task's input stream, as ``realtime.v1.streams.$runId.input.$streamId.ts``: RBAC
``write:inputStreams:{runId}`` first, then the run (404), its completion (400), then the body
(a JSON object; ``data`` may be anything). 1 MiB at most.

``GET /realtime/v1/streams/{runId}/{streamId}`` (§13): a run's output stream as server-sent
events, as ``realtime.v1.streams.$runId.$streamId.ts`` and the stream services behind it: RBAC
``read`` on the run (``runs``/``tasks``/``tags``/``batch``), ``Timeout-Seconds`` (1–600, the
inactivity after which the answer ends), ``Last-Event-ID`` (resume after it). A v1 run's stream
(``redisRealtimeStreams``): ``id: <ms>-<n>`` + ``data: <line>`` per line, ``: ping`` after
10 s without an event, the end after ``Timeout-Seconds`` (default 15) without data. A v2 run's
(S2, ``X-Stream-Version: v2``): ``event: batch`` with ``{"records": [{seq_num, timestamp,
headers, body}], "tail"}``, ``event: ping`` while idle, the end after ``Timeout-Seconds``
(default 60) without a record; ``Last-Event-ID: n`` resumes at record ``n + 1``.

``POST /realtime/v1/streams/{runId}/{target}/{streamId}/append`` (§13): what the SDK's
``streams.append`` sends (the body is the part, text; ``X-Part-Id``); secret key only,
512 KiB, a finished run refuses it (400).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from .. import auth, errors, validation
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.streams import InputStreamStore, OutputRecord, RecordTooLarge, RunOutputStreams

ORDER = 80
STORES = {"input_streams": InputStreamStore, "output_streams": RunOutputStreams}
MAX_INPUT_BYTES = 1024 * 1024
MAX_APPEND_BYTES = 512 * 1024  # the append route's maxContentLength
V1_INACTIVITY_S = 15.0  # REALTIME_STREAMS_INACTIVITY_TIMEOUT_MS
V2_WAIT_S = 60.0  # REALTIME_STREAMS_S2_WAIT_SECONDS
V1_PING_S = 10.0
V2_PING_S = 15.0
MAX_ANSWER_S = 900.0  # the emulator's bound on one answer that keeps getting data
POLL_S = 0.05
TEXT = "text/plain;charset=UTF-8"
TARGETS = ("self", "parent", "root")
_REDIS_ID = re.compile(r"^(\d+)(?:-(\d+))?$")


def register(router: Router) -> None:
    router.post(
        "/realtime/v1/streams/{runId}/input/{streamId}",
        send_input,
        auth=auth.BEARER_JWT,
        authorization="write",
        max_content_length=MAX_INPUT_BYTES,
        cors=True,
    )

    router.get(
        "/realtime/v1/streams/{runId}/{streamId}",
        read_stream,
        auth=auth.BEARER_JWT,
        authorization="read",
    )
    router.post(
        "/realtime/v1/streams/{runId}/{target}/{streamId}/append",
        append_part,
        auth=auth.BEARER,
        max_content_length=MAX_APPEND_BYTES,
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


def _text(status: int, message: str) -> Reply:
    return Reply(status, message.encode(), content_type=TEXT)


def _js_parse_int(text: str) -> float | None:
    """``parseInt(text)``: leading blanks, a sign and digits; ``None`` for NaN."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def read_stream(request: ApiRequest) -> Reply:
    world, env = request.world, request.principal.environment
    run_id, stream_id = request.params["runId"], request.params["streamId"]
    with world.lock:
        run = world.runs.get(run_id, env)
        if run is None:
            raise errors.not_found_loader(retry=False)
        resources: list[tuple[str, str | None]] = [
            ("runs", run.friendly_id),
            ("tasks", run.task_identifier),
            *(("tags", tag) for tag in run.tags),
        ]
        if run.batch_id:
            resources.append(("batch", run.batch_id))
        version, friendly = run.realtime_streams_version, run.friendly_id
    request.authorize(resources)
    last_event_id = request.headers.get("Last-Event-ID") or None
    raw_timeout = request.headers.get("Timeout-Seconds")
    timeout = _js_parse_int(raw_timeout) if raw_timeout else None
    # The route's checks are truthiness checks: 0 and NaN mean "no timeout" (the default).
    if timeout and timeout < 1:
        return _text(400, "Timeout seconds must be greater than 0")
    if timeout and timeout > 600:
        return _text(400, "Timeout seconds must be less than 600")
    if version == "v2":
        return errors.stream_reply(
            _v2_events(request, friendly, stream_id, last_event_id, timeout or V2_WAIT_S),
            max_seconds=MAX_ANSWER_S,
            headers={
                "Cache-Control": "no-cache",
                "X-Stream-Version": "v2",
                "Access-Control-Expose-Headers": "*",
                "Access-Control-Allow-Origin": "*",
            },
        )
    return errors.stream_reply(
        _v1_events(request, friendly, stream_id, last_event_id, timeout or V1_INACTIVITY_S),
        max_seconds=MAX_ANSWER_S,
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


def _redis_key(redis_id: str) -> tuple[int, int] | None:
    match = _REDIS_ID.match(redis_id)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def _capped(request: ApiRequest, wait: float) -> float:
    """The idle wait of an answer, within the emulator's ``stream_wait_cap`` (tests only)."""
    cap = getattr(request.world, "stream_wait_cap", None)
    return wait if cap is None else min(wait, cap)


def _idle(request: ApiRequest) -> Iterator[bytes]:
    yield b""  # lets the server notice a client that went away
    if request.stop_event.wait(POLL_S):
        raise ConnectionAbortedError("emulator stopped")


def _v1_events(
    request: ApiRequest, run_id: str, stream_id: str, last_event_id: str | None, inactivity: float
) -> Iterator[bytes]:
    """``RedisRealtimeStreams.streamResponse``: XREAD after ``Last-Event-ID`` (``"0"``:
    from the start), lines re-assembled across entries, each line an event with the id of the
    entry that completed it; a ping after 10 s without one; the end after ``inactivity`` s
    without data (then any unterminated last line)."""
    position = _redis_key(last_event_id or "0")
    if position is None:  # XREAD refuses the id: three tries (1 s, 2 s apart), then an error
        if request.stop_event.wait(3.0):
            return
        raise ConnectionAbortedError("ERR Invalid stream ID specified as stream command argument")
    store: RunOutputStreams = request.world.output_streams
    inactivity = _capped(request, inactivity)
    buffer, last_redis_id = "", "0"
    last_data = last_enqueue = time.monotonic()
    while True:
        now = time.monotonic()
        if now - last_enqueue >= V1_PING_S:
            yield b": ping\n\n"
            last_enqueue = now
        with request.world.lock:
            new = [r for r in store.records(run_id, stream_id) if _after(r, position)]
        if new:
            out = []
            for record in new:
                position = _redis_key(record.redis_id)
                buffer += record.data
                *lines, buffer = buffer.split("\n")
                out += [
                    f"id: {record.redis_id}\ndata: {line}\n\n" for line in lines if line.strip()
                ]
                last_redis_id = record.redis_id
            if out:
                yield "".join(out).encode()
            last_data = last_enqueue = time.monotonic()
            continue
        if now - last_data >= inactivity:
            break
        yield from _idle(request)
    if buffer.strip():
        yield f"id: {last_redis_id}\ndata: {buffer.strip()}\n\n".encode()


def _after(record: OutputRecord, position: tuple[int, int] | None) -> bool:
    key = _redis_key(record.redis_id)
    return key is not None and position is not None and key > position


def js_number(text: str) -> float | None:
    """``Number(text)`` for the strings an event id can be (``None`` for NaN)."""
    text = text.strip()
    if not text:
        return 0.0
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
            return float(int(text, 16))
        if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Infinity", text):
            return float(text.replace("Infinity", "inf"))
    except ValueError:
        return None
    return None


def s2_start_seq(last_event_id: str | None) -> int:
    """``parseLastEventId``: the number before any ``-``, plus one; else the start."""
    if not last_event_id:
        return 0
    number = js_number(last_event_id.split("-")[0])
    if number is None or number != number or number in (float("inf"), float("-inf")) or number < 0:
        return 0
    return int(number + 1)


def _v2_events(
    request: ApiRequest, run_id: str, stream_id: str, last_event_id: str | None, wait: float
) -> Iterator[bytes]:
    store: RunOutputStreams = request.world.output_streams

    def read(next_seq: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        records = store.records(run_id, stream_id)
        tail = {"seq_num": len(records), "timestamp": records[-1].timestamp if records else 0}
        return [
            {"seq_num": r.seq_num, "timestamp": r.timestamp, "headers": [], "body": r.body}
            for r in records[next_seq:]
        ], tail

    return s2_events(request, read, s2_start_seq(last_event_id), wait)


def s2_events(
    request: ApiRequest,
    read: Callable[[int], tuple[list[dict[str, Any]], dict[str, Any]]],
    start: int,
    wait: float,
) -> Iterator[bytes]:
    """An S2 read session as SSE (``seq_num`` = ``start``, ``clamp=true``, ``wait``), over
    the records ``read(next_seq)`` returns (under the world's lock: the records from
    ``next_seq`` on and the tail): each poll's new records as one ``event: batch``, an
    ``event: ping`` every 15 s while idle, the end after ``wait`` s without a record. Run
    streams (v2) and session channels share it."""
    next_seq = start
    sent = 0
    wait = _capped(request, wait)
    last_data = last_enqueue = time.monotonic()
    while True:
        now = time.monotonic()
        with request.world.lock:
            batch, tail = read(next_seq)
            now_ms = request.world.clock.now_ms()
        next_seq = min(next_seq, tail["seq_num"])  # clamp: past the tail reads from the tail
        if batch:
            next_seq = batch[-1]["seq_num"] + 1
            sent += len(batch)
            payload = json.dumps(
                {"records": batch, "tail": tail}, separators=(",", ":"), ensure_ascii=False
            )
            yield (
                f"event: batch\ndata: {payload}\nid: {next_seq - 1},{sent},{len(payload)}\n\n"
            ).encode()
            last_data = last_enqueue = time.monotonic()
            continue
        if now - last_data >= wait:
            return
        if now - last_enqueue >= V2_PING_S:
            ping = json.dumps({"tail": tail, "timestamp": now_ms}, separators=(",", ":"))
            yield f"event: ping\ndata: {ping}\n\n".encode()
            last_enqueue = now
        yield from _idle(request)


def append_part(request: ApiRequest) -> Reply:
    world, env = request.world, request.principal.environment
    target = request.params["target"]
    issues, _ = validation.one_of(TARGETS)(target, ["target"])
    if issues:
        raise errors.params_error(issues)
    with world.lock:
        run = world.runs.get(request.params["runId"], env)
        if run is None:
            return _text(404, "Run not found")
        target_id = {"self": run.friendly_id, "parent": run.parent_id, "root": run.root_id}[target]
        if not target_id:
            return _text(404, "Target not found")
        target_run = world.runs.get(target_id, env)
        if target_run is None:
            return _text(404, "Run not found")
        if target_run.completed_at is not None:
            return _text(400, "Cannot append to a realtime stream on a completed run")
        part = request.body.decode("utf-8", errors="replace")
        try:
            world.output_streams.append(
                target_run.friendly_id,
                request.params["streamId"],
                part,
                part_id=request.headers.get("X-Part-Id"),
            )
        except RecordTooLarge as exc:
            return json_reply({"ok": False, "error": str(exc)}, 413)
    return json_reply({"ok": True})
