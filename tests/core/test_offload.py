"""Large payloads and outputs: offloaded and downloaded the way @trigger.dev/sdk 4.8.3 does
(API-ADDENDUM: "Offloaded packets"), against the emulator's object store over real HTTP."""

from __future__ import annotations

import json
from urllib.parse import unquote

from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.resources._packets import OFFLOAD_THRESHOLD

from .base import ClientTestCase

ENVELOPE = len('{"data":""}')


def payload_of(size: int) -> dict[str, str]:
    """A payload whose compact JSON is ``size`` bytes."""
    return {"data": "x" * (size - ENVELOPE)}


class OffloadTests(ClientTestCase):
    def test_below_the_threshold_the_payload_goes_inline(self):
        self.journal.clear()
        result = self.trigger.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD - 1))
        self.assertEqual(self.journal.count(), 1)
        self.assertEqual(self.journal.last().body["payload"], payload_of(OFFLOAD_THRESHOLD - 1))
        self.assertEqual(self.trigger.runs.retrieve(result.id).payload["data"][:3], "xxx")

    def test_at_the_threshold_three_requests(self):
        payload = payload_of(OFFLOAD_THRESHOLD)
        self.journal.clear()
        result = self.trigger.tasks.trigger("emails/welcome", payload, tags=["big"])
        presign, upload, trigger = self.journal.entries
        self.assertEqual(presign.method, "PUT")
        self.assertTrue(presign.path.startswith("/api/v2/packets/trigger%2Fpacket_"))
        filename = unquote(presign.path.rsplit("/", 1)[-1])
        # SDK 4.8.3's path: a fresh friendly id, nothing from the task or the caller.
        self.assertRegex(filename, r"^trigger/packet_[1-9a-km-z]{21}/payload\.json$")
        self.assertTrue(presign.headers["authorization"].startswith("Bearer"))
        self.assertEqual(upload.method, "PUT")
        self.assertTrue(upload.path.startswith("/__objects__/"))
        self.assertNotIn("authorization", upload.headers)  # no credentials to the object store
        self.assertEqual(upload.headers["content-type"], "application/json")
        self.assertEqual(trigger.path, "/api/v1/tasks/emails%2Fwelcome/trigger")
        self.assertEqual(trigger.body["payload"], filename)
        self.assertEqual(
            trigger.body["options"],
            {"tags": ["big"], "payloadType": "application/store", "payloadSize": OFFLOAD_THRESHOLD},
        )

        plain = self.trigger.runs.retrieve(result.id)
        self.assertIsNone(plain.payload)
        self.assertIn("127.0.0.1", plain.payload_presigned_url)
        self.journal.clear()
        downloaded = self.trigger.runs.retrieve(result.id, download=True)
        self.assertEqual(downloaded.payload, payload)
        self.assertEqual([e.method for e in self.journal.entries], ["GET", "GET"])

    def test_batch_items_are_offloaded_before_the_batch_is_created(self):
        big = payload_of(OFFLOAD_THRESHOLD + 10)
        self.journal.clear()
        handle = self.trigger.tasks.batch_trigger(
            [{"task": "resize", "payload": {"n": 1}}, {"task": "resize", "payload": big}]
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
        run_id = self.trigger.batches.retrieve(handle.id).runs[1]
        self.assertEqual(self.trigger.runs.retrieve(run_id, download=True).payload, big)

    def test_large_output_is_downloaded(self):
        run_id = self.trigger.tasks.trigger("send-email", {}).id
        output = {"rows": list(range(40000))}
        state = self.emulator.state
        with state.lock:
            env = state.environment_for_key(self.emulator.secret_key)
            state.packets.put(env, f"{run_id}/output.json", json.dumps(output).encode())
            run = state.runs.complete(run_id)
            run.output, run.output_type = f"{run_id}/output.json", "application/store"
        plain = self.trigger.runs.retrieve(run_id)
        self.assertIsNone(plain.output)
        self.assertTrue(plain.output_presigned_url)
        self.assertEqual(self.trigger.runs.retrieve(run_id, download=True).output, output)

    def test_a_failed_upload_triggers_nothing(self):
        self.emulator.faults.fail_next(4, 403, path="/__objects__/*")  # not retried
        self.journal.clear()
        with self.assertRaisesMessage(ApiError, "nothing was triggered"):
            self.trigger.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD))
        self.assertNotIn("/api/v1/tasks/send-email/trigger", [e.path for e in self.journal.entries])
        self.emulator.faults.clear()

    def test_an_upload_answering_503_is_retried(self):
        self.emulator.faults.fail_next(1, 503, path="/__objects__/*")
        result = self.trigger.tasks.trigger("send-email", payload_of(OFFLOAD_THRESHOLD))
        self.assertEqual(
            self.trigger.runs.retrieve(result.id, download=True).payload,
            payload_of(OFFLOAD_THRESHOLD),
        )

    def test_bad_payloads_are_refused_before_sending(self):
        self.journal.clear()
        for payload in ({"n": float("nan")}, {"when": object()}):
            with self.subTest(payload=payload):
                with self.assertRaisesMessage(InvalidRequestError, "JSON-serialisable"):
                    self.trigger.tasks.trigger("send-email", payload)
                with self.assertRaisesMessage(InvalidRequestError, "JSON-serialisable"):
                    self.trigger.tasks.batch_trigger(
                        [
                            {"task": "a", "payload": payload_of(OFFLOAD_THRESHOLD)},
                            {"task": "b", "payload": payload},
                        ]
                    )
        self.assertEqual(self.journal.count(), 0)  # nor was the first item uploaded
        with self.assertRaisesMessage(InvalidRequestError, "with_raw_response"):
            self.trigger.runs.with_raw_response.retrieve("run_x", download=True)
