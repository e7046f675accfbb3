"""Runs' output streams (API-ADDENDUM §13): the SSE read route in both stream versions, its
auth and errors, and the append route the SDK's ``streams.append`` uses."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests

from ..waiting import short_stream_waits
from .base import _DEFAULT
from .test_public_tokens import RBAC_403
from .test_realtime import RealtimeCase


def events(body: bytes) -> list[dict[str, str]]:
    """A complete SSE body as a list of {field: value} (comments dropped)."""
    out = []
    for block in body.decode().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            out.append(fields)
    return out


class OutputStreamCase(RealtimeCase):
    def start_run(self, tags: list[str] | None = None, version: str = "v1") -> str:
        body: dict[str, Any] = {"payload": {"n": 1}, "options": {"tags": tags or []}}
        response = self.post(
            "/api/v1/tasks/send-email/trigger",
            json=body,
            headers={"x-trigger-realtime-streams-version": version},
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["id"]

    def append(self, run_id: str, part: str, stream: str = "ai", **kwargs: Any) -> Any:
        return self.post(
            f"/realtime/v1/streams/{run_id}/self/{stream}/append", data=part.encode(), **kwargs
        )

    def read(
        self, run_id: str, stream: str = "ai", token: Any = _DEFAULT, **headers: str
    ) -> requests.Response:
        return self.get(
            f"/realtime/v1/streams/{run_id}/{stream}",
            headers={"Accept": "text/event-stream", "Timeout-Seconds": "1", **headers},
            stream=True,
            token=token,
        )


class V1Tests(OutputStreamCase):
    def test_lines_with_redis_ids_then_the_end_after_the_timeout(self):
        run_id = self.start_run()
        for part in ("Hello", "world", json.dumps({"n": 3})):
            self.assertEqual(self.append(run_id, part).json(), {"ok": True})
        started = time.monotonic()
        response = self.read(run_id)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "text/event-stream")
        self.assertNotIn("X-Stream-Version", response.headers)
        got = events(response.content)
        elapsed = time.monotonic() - started
        self.assertEqual([e["data"] for e in got], ['"Hello"', '"world"', '"{\\"n\\": 3}"'])
        ids = [e["id"] for e in got]
        ms = int(self.emu.clock.now().timestamp() * 1000)
        self.assertEqual(ids, [f"{ms}-0", f"{ms}-1", f"{ms}-2"])  # frozen clock: one ms
        self.assertGreaterEqual(elapsed, 0.9)  # Timeout-Seconds: 1 of inactivity
        self.assertLess(elapsed, 5)
        short_stream_waits(self, self.emu)  # the next answers' ends are not timed
        # Resuming after the second id gives the third only.
        again = self.read(run_id, **{"Last-Event-ID": ids[1]})
        self.assertEqual([e["id"] for e in events(again.content)], ids[2:])
        # The SDK's startIndex (Last-Event-ID: startIndex - 1) is a Redis id before them all.
        self.assertEqual(len(events(self.read(run_id, **{"Last-Event-ID": "1"}).content)), 3)

    def test_new_chunks_arrive_while_the_answer_is_open(self):
        run_id = self.start_run()
        response = self.read(run_id, **{"Timeout-Seconds": "3"})
        timer = threading.Timer(0.3, lambda: self.append(run_id, "late"))
        timer.start()
        self.addCleanup(timer.cancel)
        first = b""
        for chunk in response.iter_content(chunk_size=None):
            first += chunk
            if b"\n\n" in first:
                break
        self.assertIn(b'data: "late"', first)
        response.close()

    def test_the_stream_name_joins_the_runs_realtime_streams(self):
        run_id = self.start_run()
        self.append(run_id, "x", stream="progress")
        with self.emu.state.lock:
            run = self.emu.state.runs.get(run_id)
            self.assertEqual(run.realtime_streams, ["progress"])
            self.assertEqual(
                [r.data for r in self.emu.state.output_streams.records(run_id, "progress")],
                ['"x"\n'],
            )


class V2Tests(OutputStreamCase):
    def test_batches_of_records_and_resumption_by_seq_num(self):
        short_stream_waits(self, self.emu)  # each answer's end is not timed
        run_id = self.start_run(version="v2")
        self.append(run_id, "one", headers={"X-Part-Id": "p1"})
        self.append(run_id, "two", headers={"X-Part-Id": "p2"})
        response = self.read(run_id)
        self.assertEqual(response.headers["X-Stream-Version"], "v2")
        got = events(response.content)
        self.assertEqual([e["event"] for e in got], ["batch"])
        batch = json.loads(got[0]["data"])
        self.assertEqual(
            [(r["seq_num"], json.loads(r["body"])) for r in batch["records"]],
            [(0, {"data": "one", "id": "p1"}), (1, {"data": "two", "id": "p2"})],
        )
        self.assertEqual(batch["tail"]["seq_num"], 2)
        # Last-Event-ID: n resumes at n + 1 (the SDK sends startIndex - 1).
        resumed = events(self.read(run_id, **{"Last-Event-ID": "0"}).content)
        records = json.loads(resumed[0]["data"])["records"]
        self.assertEqual([r["seq_num"] for r in records], [1])
        # Past the tail: clamped, nothing to send, the answer ends after the wait (capped:
        # well before the 30 s asked for).
        started = time.monotonic()
        past = self.read(run_id, **{"Last-Event-ID": "9", "Timeout-Seconds": "30"})
        self.assertEqual(events(past.content), [])
        self.assertLess(time.monotonic() - started, 15)

    def test_a_record_over_the_s2_limit_is_refused(self):
        run_id = self.start_run(version="v2")
        # 200 KiB: within the route's 512 KiB, over 1 MiB once JSON-escaped (\u0001: 6 bytes).
        part = "\x01" * (200 * 1024)
        response = self.append(run_id, part)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(response.json()["ok"])
        self.assertIn("exceeds the S2 per-record limit of 1048576 bytes", response.json()["error"])


class ReadErrorTests(OutputStreamCase):
    def test_unknown_run_and_bad_timeouts(self):
        missing = self.read("run_nope")
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "false")
        run_id = self.start_run()
        for value, message in (
            ("-1", "Timeout seconds must be greater than 0"),
            ("601", "Timeout seconds must be less than 600"),
        ):
            response = self.read(run_id, **{"Timeout-Seconds": value})
            self.assertEqual((response.status_code, response.text), (400, message))
            self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))

    def test_who_may_read(self):
        run_id = self.start_run(tags=["order_1"])
        for scopes, status in (
            (["read:runs:" + run_id], 200),
            (["read:tasks:send-email"], 200),
            (["read:tags:order_1"], 200),
            (["read:runs"], 200),
            (["read:runs:run_other"], 403),
            (["write:inputStreams:" + run_id], 403),
        ):
            with self.subTest(scopes=scopes):
                response = self.read(run_id, token=self.token(scopes))
                self.assertEqual(response.status_code, status)
                if status == 403:
                    self.assertEqual(response.json(), RBAC_403)
                response.close()
        self.assertEqual(self.read(run_id, token=None).status_code, 401)

    def test_a_reader_going_away_frees_the_connection(self):
        run_id = self.start_run()
        self.http.close()  # the trigger's keep-alive connection
        connections = self.emu._server.connections
        deadline = time.monotonic() + 3
        while len(connections) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(len(connections), 0)
        response = self.read(run_id, **{"Timeout-Seconds": "30"})
        self.assertEqual(len(connections), 1)
        response.close()
        self.http.close()
        deadline = time.monotonic() + 2
        while len(connections) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(len(connections), 0)


class AppendTests(OutputStreamCase):
    def test_errors(self):
        run_id = self.start_run()
        self.assertEqual(
            (self.append("run_nope", "x").status_code, self.append("run_nope", "x").text),
            (404, "Run not found"),
        )
        parent = self.post(f"/realtime/v1/streams/{run_id}/parent/ai/append", data=b"x")
        self.assertEqual((parent.status_code, parent.text), (404, "Target not found"))
        bad = self.post(f"/realtime/v1/streams/{run_id}/sibling/ai/append", data=b"x")
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json()["error"], "Params Error")
        self.assertEqual(bad.json()["details"][0]["code"], "invalid_enum_value")
        big = self.append(run_id, "x" * (512 * 1024 + 1))
        self.assertError(big, 413, "Request body too large")
        public = self.append(run_id, "x", token=self.token(["write:runs:" + run_id]))
        self.assertEqual(public.status_code, 401)
        with self.emu.state.lock:
            self.emu.state.runs.complete(run_id, {"ok": True})
        done = self.append(run_id, "x")
        self.assertEqual(
            (done.status_code, done.text),
            (400, "Cannot append to a realtime stream on a completed run"),
        )
        self.assertEqual(self.emu.state.output_streams.records(run_id, "ai"), [])
