"""Large payloads and outputs: offloaded and downloaded the way @trigger.dev/sdk 4.8.3 does
(API-ADDENDUM: "Offloaded packets"), against the emulator's object store over real HTTP.
Every scenario runs through both clients (``BothClients``): the object-store requests are
flow steps that each client's transport sends, with the same retries, timeouts and deadline."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import unquote

from django_trigger.async_client import AsyncTriggerClient
from django_trigger.client import TriggerClient
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    ApiResponseTooLargeError,
    ApiTimeoutError,
    InvalidRequestError,
)
from django_trigger.resources._packets import OFFLOAD_THRESHOLD

from .base import BothClients, scenarios_as_tests

ENVELOPE = len('{"data":""}')


def payload_of(size: int) -> dict[str, str]:
    """A payload whose compact JSON is ``size`` bytes."""
    return {"data": "x" * (size - ENVELOPE)}


class OffloadScenarios(BothClients):
    async def scenario_below_the_threshold_the_payload_goes_inline(self) -> None:
        self.journal.clear()
        result = await self.call(
            self.api.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD - 1))
        )
        self.assertEqual(self.journal.count(), 1)
        self.assertEqual(self.journal.last().body["payload"], payload_of(OFFLOAD_THRESHOLD - 1))
        run = await self.call(self.api.runs.retrieve(result.id))
        self.assertEqual(run.payload["data"][:3], "xxx")

    async def scenario_at_the_threshold_three_requests(self) -> None:
        payload = payload_of(OFFLOAD_THRESHOLD)
        self.journal.clear()
        result = await self.call(self.api.tasks.trigger("emails/welcome", payload, tags=["big"]))
        presign, upload, trigger = self.journal.entries
        self.assertEqual(presign.method, "PUT")
        self.assertTrue(presign.path.startswith("/api/v2/packets/trigger%2Fpacket_"))
        filename = unquote(presign.path.rsplit("/", 1)[-1])
        # SDK 4.8.3's path: a fresh friendly id, nothing from the task or the caller.
        self.assertRegex(filename, r"^trigger/packet_[1-9a-km-z]{21}/payload\.json$")
        self.assertTrue(presign.headers["authorization"].startswith("Bearer"))
        self.assertEqual(upload.method, "PUT")
        self.assertTrue(upload.path.startswith("/__objects__/"))
        # No credentials and none of the API's headers to the object store.
        self.assertNotIn("authorization", upload.headers)
        self.assertNotIn("x-trigger-api-version", upload.headers)
        self.assertNotIn("x-trigger-request-idempotency-key", upload.headers)
        self.assertEqual(upload.headers["content-type"], "application/json")
        self.assertEqual(
            json.loads(upload.body) if isinstance(upload.body, str) else upload.body, payload
        )
        self.assertEqual(trigger.path, "/api/v1/tasks/emails%2Fwelcome/trigger")
        self.assertEqual(trigger.body["payload"], filename)
        self.assertEqual(
            trigger.body["options"],
            {"tags": ["big"], "payloadType": "application/store", "payloadSize": OFFLOAD_THRESHOLD},
        )

        plain = await self.call(self.api.runs.retrieve(result.id))
        self.assertIsNone(plain.payload)
        self.assertIn("127.0.0.1", plain.payload_presigned_url)
        self.journal.clear()
        downloaded = await self.call(self.api.runs.retrieve(result.id, download=True))
        self.assertEqual(downloaded.payload, payload)
        self.assertEqual([e.method for e in self.journal.entries], ["GET", "GET"])
        self.assertNotIn("authorization", self.journal.last().headers)

    async def scenario_batch_items_are_offloaded_before_the_batch_is_created(self) -> None:
        big = payload_of(OFFLOAD_THRESHOLD + 10)
        self.journal.clear()
        handle = await self.call(
            self.api.tasks.batch_trigger(
                [{"task": "resize", "payload": {"n": 1}}, {"task": "resize", "payload": big}]
            )
        )
        paths = [e.path.split("/")[1:4] for e in self.journal.entries]
        self.assertEqual(
            [p[:3] if p[0] == "api" else p[:1] for p in paths],
            [
                ["api", "v2", "packets"],
                ["__objects__"],
                ["api", "v3", "batches"],
                ["api", "v3", "batches"],
            ],
        )
        lines = [json.loads(line) for line in self.journal.last().body.splitlines()]
        self.assertEqual(lines[0]["payload"], {"n": 1})
        self.assertNotIn("options", lines[0])
        self.assertEqual(lines[1]["options"]["payloadType"], "application/store")
        self.assertEqual(lines[1]["options"]["payloadSize"], OFFLOAD_THRESHOLD + 10)
        run_id = (await self.call(self.api.batches.retrieve(handle.id))).runs[1]
        run = await self.call(self.api.runs.retrieve(run_id, download=True))
        self.assertEqual(run.payload, big)

    async def scenario_large_output_is_downloaded(self) -> None:
        run_id = (await self.call(self.api.tasks.trigger("send-email", {}))).id
        output = {"rows": list(range(40000))}
        self._store_output(run_id, json.dumps(output).encode())
        plain = await self.call(self.api.runs.retrieve(run_id))
        self.assertIsNone(plain.output)
        self.assertTrue(plain.output_presigned_url)
        run = await self.call(self.api.runs.retrieve(run_id, download=True))
        self.assertEqual(run.output, output)
        self.assertEqual(run.payload, {})

    async def scenario_a_download_larger_than_max_response_size_is_refused(self) -> None:
        run_id = (await self.call(self.api.tasks.trigger("send-email", {}))).id
        self._store_output(run_id, json.dumps({"rows": list(range(40000))}).encode())
        small = self.make(max_response_size=64 * 1024)
        try:
            with self.assertRaisesMessage(ApiResponseTooLargeError, "max_response_size"):
                await self.call(small.runs.retrieve(run_id, download=True))
        finally:
            await self.close(small)

    async def scenario_a_failed_upload_triggers_nothing(self) -> None:
        self.emulator.faults.fail_next(4, 403, path="/__objects__/*")  # not retried
        self.journal.clear()
        with self.assertRaises(ApiError) as ctx:
            await self.call(self.api.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD)))
        self.assertEqual(ctx.exception.status, 403)
        self.assertEqual(
            str(ctx.exception),
            "403 uploading the payload to the object store failed (403); nothing was triggered "
            "(PUT <presigned upload URL>)",
        )
        self.assertEqual(self.journal.count(path_prefix="/__objects__/"), 1)
        self.assertEqual(self.journal.count(path="/api/v1/tasks/send-email/trigger"), 0)
        self.emulator.faults.clear()

    async def scenario_an_upload_answering_503_is_retried(self) -> None:
        self.emulator.faults.fail_next(1, 503, path="/__objects__/*")
        with self.assertLogs("django_trigger.http", logging.INFO) as logs:
            result = await self.call(
                self.api.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD))
            )
        self.assertEqual(self.journal.count(method="PUT", path_prefix="/__objects__/"), 2)
        self.assertIn("Retrying PUT", "\n".join(logs.output))
        # The presigned URL's query string (its signature) is never logged.
        self.assertNotIn("?", "\n".join(line for line in logs.output if "__objects__" in line))
        run = await self.call(self.api.runs.retrieve(result.id, download=True))
        self.assertEqual(run.payload, payload_of(OFFLOAD_THRESHOLD))

    async def scenario_a_dropped_upload_is_retried(self) -> None:
        self.emulator.faults.drop_next(1, after_processing=True, path="/__objects__/*")
        result = await self.call(
            self.api.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD))
        )
        self.assertEqual(self.journal.count(method="PUT", path_prefix="/__objects__/"), 2)
        self.assertEqual(self.journal.count(path="/api/v1/tasks/send-email/trigger"), 1)
        run = await self.call(self.api.runs.retrieve(result.id, download=True))
        self.assertEqual(run.payload, payload_of(OFFLOAD_THRESHOLD))

    async def scenario_a_stalled_object_store_stops_at_the_deadline(self) -> None:
        # A pooled connection and a deadline that a loaded machine's presign request fits in
        # (it once spent 0.5 s connecting): the deadline is reached in the stalled upload.
        await self.call(self.api.runs.list(limit=1))
        self.emulator.faults.stall_next(3, 3.0, path="/__objects__/*")
        self.journal.clear()
        started = time.monotonic()
        with self.assertRaises(ApiTimeoutError) as ctx:
            await self.call(
                self.api.tasks.trigger(
                    "send-email",
                    payload_of(OFFLOAD_THRESHOLD),
                    request_options={"timeout": 0.6, "deadline": 1.0},
                )
            )
        self.assertLess(time.monotonic() - started, 2.8)  # before the first stall ends
        self.assertIn("uploading the payload to the object store failed", str(ctx.exception))
        self.assertIn("nothing was triggered", str(ctx.exception))
        # The stalled uploads go on once the call gave up: wait for them (they must not land
        # in the next test's journal), and see that nothing was triggered after all.
        sent = 3 - self.emulator.faults.pending
        self.emulator.faults.clear()
        self.emulator.faults.release_stalls()
        while self.journal.count(path_prefix="/__objects__/") < sent:
            await asyncio.sleep(0.05)
        self.assertEqual(self.journal.count(path="/api/v1/tasks/send-email/trigger"), 0)

    async def scenario_an_unreachable_object_store(self) -> None:
        run_id = (await self.call(self.api.tasks.trigger("send-email", {}))).id
        self._store_output(run_id, json.dumps({"rows": list(range(40000))}).encode())
        self.emulator.faults.drop_next(10, path="/__objects__/*")
        with self.assertRaises(ApiConnectionError) as ctx:
            await self.call(self.api.runs.retrieve(run_id, download=True))
        self.assertNotIsInstance(ctx.exception, ApiTimeoutError)
        self.assertIn("downloading the packet from the object store failed", str(ctx.exception))
        self.assertIn("(GET <presigned download URL>)", str(ctx.exception))
        self.emulator.faults.clear()

    async def scenario_bad_payloads_are_refused_before_sending(self) -> None:
        self.journal.clear()
        for payload in ({"n": float("nan")}, {"when": object()}):
            with self.subTest(payload=payload):
                with self.assertRaisesMessage(InvalidRequestError, "JSON-serialisable"):
                    await self.call(self.api.tasks.trigger("send-email", payload))
                with self.assertRaisesMessage(InvalidRequestError, "JSON-serialisable"):
                    await self.call(
                        self.api.tasks.batch_trigger(
                            [
                                {"task": "a", "payload": payload_of(OFFLOAD_THRESHOLD)},
                                {"task": "b", "payload": payload},
                            ]
                        )
                    )
        self.assertEqual(self.journal.count(), 0)  # nor was the first item uploaded
        with self.assertRaisesMessage(InvalidRequestError, "with_raw_response"):
            await self.call(self.api.runs.with_raw_response.retrieve("run_x", download=True))

    def _store_output(self, run_id: str, data: bytes) -> None:
        """Complete the run with an offloaded output, as the platform does for a large one."""
        state = self.emulator.state
        with state.lock:
            env = state.environment_for_key(self.emulator.secret_key)
            state.packets.put(env, f"{run_id}/output.json", data)
            run = state.runs.complete(run_id)
            run.output, run.output_type = f"{run_id}/output.json", "application/store"


@scenarios_as_tests
class SyncOffloadTests(OffloadScenarios):
    api_class = TriggerClient


@scenarios_as_tests
class AsyncOffloadTests(OffloadScenarios):
    api_class = AsyncTriggerClient
