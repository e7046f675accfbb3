"""The realtime routes (Electric shape-stream wire, as the service's native realtime client
writes it) and the run lifecycle, with raw HTTP."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import requests

from django_trigger.testing import Emulator
from django_trigger.testing.lifecycle import Lifecycle

from .base import _DEFAULT, FROZEN_NOW, EmulatorCase
from .test_public_tokens import NOW, RBAC_403, jwt

MODERN = {"x-trigger-electric-version": "1.0.0-beta.1"}


class RealtimeCase(EmulatorCase):
    emulator_kwargs = {"realtime_hold": 0.3}

    def start_run(self, tags: list[str] | None = None) -> str:
        body: dict[str, Any] = {"payload": {"n": 1}}
        if tags:
            body["options"] = {"tags": tags}
        response = self.post("/api/v1/tasks/send-email/trigger", json=body)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["id"]

    def feed(self, path: str, token: Any = _DEFAULT, **params: str) -> Any:
        return self.get(path, params=params, headers=MODERN, token=token)

    def token(self, scopes: list[str]) -> str:
        return jwt(
            self.emu.secret_key,
            {
                "sub": self.dev_env.id,
                "pub": True,
                "scopes": scopes,
                "iss": "https://id.trigger.dev",
                "aud": "https://api.trigger.dev",
                "exp": NOW + 900,
                "iat": NOW,
            },
        )


class WireTests(RealtimeCase):
    def test_snapshot(self):
        run_id = self.start_run(tags=["a", 'b"c'])
        response = self.feed(f"/realtime/v1/runs/{run_id}", offset="-1")
        self.assertEqual(response.status_code, 200)
        headers = response.headers
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(headers["access-control-allow-origin"], "*")
        self.assertEqual(headers["electric-handle"], f"run-{run_id[4:]}")
        self.assertRegex(headers["electric-offset"], r"^\d+_\d+$")
        schema = json.loads(headers["electric-schema"])
        self.assertEqual(schema["runTags"], {"type": "text", "dims": 1})
        self.assertEqual(schema["isTest"], {"type": "bool"})
        insert, up_to_date = response.json()
        self.assertEqual(up_to_date, {"headers": {"control": "up-to-date"}})
        self.assertEqual(insert["key"], f'"public"."TaskRun"/"{run_id[4:]}"')
        self.assertEqual(insert["headers"], {"operation": "insert"})
        value = insert["value"]
        self.assertEqual(list(value), list(schema))
        self.assertEqual(
            (value["friendlyId"], value["status"], value["isTest"]), (run_id, "PENDING", "f")
        )
        self.assertEqual(value["createdAt"], "2026-03-18T12:00:00.000")  # no Z
        self.assertEqual(value["runTags"], '{"a","b\\"c"}')
        self.assertEqual(json.loads(value["payload"]), {"n": 1})
        self.assertIsNone(value["completedAt"])

    def test_legacy_header_names_and_skip_columns(self):
        run_id = self.start_run()
        response = self.get(
            f"/realtime/v1/runs/{run_id}", params={"offset": "-1", "skipColumns": "payload,id"}
        )
        self.assertIn("electric-shape-id", response.headers)
        self.assertIn("electric-chunk-last-offset", response.headers)
        self.assertNotIn("electric-handle", response.headers)
        value = response.json()[0]["value"]
        self.assertNotIn("payload", value)
        self.assertIn("id", value)  # reserved columns are never skipped

    def test_live_holds_then_answers_up_to_date(self):
        run_id = self.start_run()
        first = self.feed(f"/realtime/v1/runs/{run_id}", offset="-1")
        offset, handle = first.headers["electric-offset"], first.headers["electric-handle"]
        started = time.monotonic()
        held = self.feed(f"/realtime/v1/runs/{run_id}", offset=offset, handle=handle, live="true")
        self.assertGreaterEqual(time.monotonic() - started, 0.25)
        self.assertEqual(held.json(), [{"headers": {"control": "up-to-date"}}])
        self.assertEqual(held.headers["electric-offset"], offset)
        self.assertIn("electric-cursor", held.headers)
        self.assertNotIn("electric-schema", held.headers)

    def test_live_answers_the_change(self):
        run_id = self.start_run()
        first = self.feed(f"/realtime/v1/runs/{run_id}", offset="-1")
        offset, handle = first.headers["electric-offset"], first.headers["electric-handle"]
        timer = threading.Timer(0.1, self._dequeue, args=(run_id,))
        timer.start()
        self.addCleanup(timer.cancel)
        changed = self.feed(
            f"/realtime/v1/runs/{run_id}", offset=offset, handle=handle, live="true"
        )
        update, _ = changed.json()
        self.assertEqual(
            (update["headers"], update["value"]["status"]), ({"operation": "update"}, "DEQUEUED")
        )
        self.assertNotEqual(changed.headers["electric-offset"], offset)
        legacy = self.get(f"/realtime/v1/runs/{run_id}", params={"offset": "-1"}, v2=False)
        self.assertEqual(legacy.json()[0]["value"]["status"], "EXECUTING")

    def _dequeue(self, run_id: str) -> None:
        with self.emu.state.lock:
            self.emu.state.runs.set_status(run_id, "DEQUEUED")


class AuthorizationTests(RealtimeCase):
    def test_who_may_read_a_run(self):
        run_id = self.start_run(tags=["order_1"])
        path = f"/realtime/v1/runs/{run_id}"
        for scopes, status in (
            (["read:runs:" + run_id], 200),
            (["read:tasks:send-email"], 200),
            (["read:tags:order_1"], 200),
            (["read:runs:run_other"], 403),
            (["trigger:tasks:send-email"], 403),
        ):
            with self.subTest(scopes=scopes):
                response = self.feed(path, offset="-1", token=self.token(scopes))
                self.assertEqual(response.status_code, status, response.text)
                if status == 403:
                    self.assertEqual(response.json(), RBAC_403)

    def test_unknown_resources_and_bad_tags(self):
        missing = self.feed("/realtime/v1/runs/run_nope", offset="-1")
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "false")
        batch = self.feed("/realtime/v1/batches/batch_nope", offset="-1")
        self.assertError(batch, 404, "Not found")
        self.assertEqual(batch.headers["x-should-retry"], "true")
        for tags in ("a,,b", 'a"b'):
            with self.subTest(tags=tags):
                self.assertError(self.feed("/realtime/v1/runs", tags=tags), 400, "Query Error")
        self.assertError(
            self.feed("/realtime/v1/runs", token=None), 401, "Invalid or Missing API key"
        )

    def test_tag_and_batch_feeds(self):
        tagged = self.start_run(tags=["t1"])
        self.start_run(tags=["t2"])
        token = self.token(["read:tags:t1"])
        feed = self.feed("/realtime/v1/runs", tags="t1", offset="-1", token=token)
        self.assertEqual([m["value"]["friendlyId"] for m in feed.json()[:-1]], [tagged])
        self.assertTrue(feed.headers["electric-handle"].startswith("runs_"))
        self.assertEqual(self.feed("/realtime/v1/runs", tags="t2", token=token).status_code, 403)
        batch = self.post("/api/v2/tasks/batch", json={"items": [{"task": "send-email"}]})
        batch_id = batch.json()["id"]
        runs = self.feed(
            f"/realtime/v1/batches/{batch_id}",
            offset="-1",
            token=self.token([f"read:batch:{batch_id}"]),
        )
        self.assertEqual(len(runs.json()), 2)
        self.assertTrue(runs.headers["electric-handle"].startswith(f"batch_{batch_id}_"))

    def test_tag_feed_of_runs_put_in_the_past(self):
        def create(hours: float) -> str:
            with self.emu.state.lock:
                return self.emu.state.runs.create(
                    "send-email",
                    status="COMPLETED",
                    created_at=FROZEN_NOW - dt.timedelta(hours=hours),
                    tags=["t1"],
                ).friendly_id

        older, newer = create(20), create(2)
        create(30)  # before the feed's createdAt window (24 h by default)
        token = self.token(["read:tags:t1"])
        feed = self.feed("/realtime/v1/runs", tags="t1", offset="-1", token=token)
        self.assertEqual([m["value"]["friendlyId"] for m in feed.json()[:-1]], [older, newer])
        self.assertEqual(feed.json()[0]["value"]["createdAt"], "2026-03-17T16:00:00.000")
        between = create(10)  # then a live request has it as an insert
        live = self.feed(
            "/realtime/v1/runs",
            tags="t1",
            offset=feed.headers["electric-offset"],
            handle=feed.headers["electric-handle"],
            live="true",
            token=token,
        )
        insert, _ = live.json()
        self.assertEqual(
            (insert["headers"], insert["value"]["friendlyId"]), ({"operation": "insert"}, between)
        )


class LifecycleTests(RealtimeCase):
    emulator_kwargs = {
        "realtime_hold": 0.3,
        "lifecycle": Lifecycle(queued=2, executing=3, fail_tasks=("boom",), output={"ok": True}),
    }

    def status(self, run_id: str) -> str:
        return self.get(f"/api/v3/runs/{run_id}").json()["status"]

    def test_on_the_emulated_clock(self):
        run_id = self.start_run()
        self.assertEqual(self.status(run_id), "QUEUED")
        self.emu.clock.advance(2)
        self.assertEqual(self.status(run_id), "EXECUTING")
        self.emu.clock.advance(2.9)
        self.assertEqual(self.status(run_id), "EXECUTING")
        self.emu.clock.advance(10)
        body = self.get(f"/api/v3/runs/{run_id}").json()
        self.assertEqual((body["status"], body["output"]), ("COMPLETED", {"ok": True}))
        # the timestamps are those of the schedule, not of the moment it was asked
        self.assertEqual(body["startedAt"], "2026-03-18T12:00:02.000Z")
        self.assertEqual(body["finishedAt"], "2026-03-18T12:00:05.000Z")
        failing = self.post("/api/v1/tasks/boom/trigger", json={}).json()["id"]
        self.emu.clock.advance(5)
        self.assertEqual(self.status(failing), "FAILED")

    def test_off_by_default(self):
        with Emulator(seed=1, now=FROZEN_NOW, runs=0) as emu:
            key = emu.secret_key
            headers = {"Authorization": f"Bearer {key}"}
            run_id = requests.post(
                emu.url("/api/v1/tasks/send-email/trigger"), json={}, headers=headers, timeout=5
            ).json()["id"]
            emu.clock.advance(3600)
            status = requests.get(
                emu.url(f"/api/v3/runs/{run_id}"), headers=headers, timeout=5
            ).json()["status"]
        self.assertEqual(status, "QUEUED")

    def test_bad_options(self):
        with self.assertRaises(ValueError):
            Lifecycle(queued=-1)
        with self.assertRaises(TypeError):
            Emulator(lifecycle=(1, 2))  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            Emulator(realtime_hold=0)
        for cap in (0, -1, 601):
            with self.subTest(cap=cap), self.assertRaises(ValueError):
                Emulator(stream_wait_cap=cap)


class StopTests(EmulatorCase):
    def test_stopping_ends_held_requests(self):
        emu = Emulator(seed=1, now=FROZEN_NOW, runs=5, realtime_hold=60).start()
        headers = {"Authorization": f"Bearer {emu.secret_key}", **MODERN}
        run_id = requests.post(
            emu.url("/api/v1/tasks/send-email/trigger"), json={}, headers=headers, timeout=5
        ).json()["id"]
        first = requests.get(
            emu.url(f"/realtime/v1/runs/{run_id}"),
            params={"offset": "-1"},
            headers=headers,
            timeout=5,
        )
        result: list[Any] = []

        def hold() -> None:
            try:
                result.append(
                    requests.get(
                        emu.url(f"/realtime/v1/runs/{run_id}"),
                        params={
                            "offset": first.headers["electric-offset"],
                            "handle": first.headers["electric-handle"],
                            "live": "true",
                        },
                        headers=headers,
                        timeout=30,
                    )
                )
            except requests.RequestException as exc:
                result.append(exc)

        thread = threading.Thread(target=hold)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        emu.stop()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertLess(time.monotonic() - started, 6)
        self.assertTrue(result)
