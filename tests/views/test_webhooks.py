"""Alert webhooks end to end over real HTTP: the emulator delivers signed alerts (as the service
does, retrying non-2xx answers) to the receiver view on Django's live server, which verifies,
parses and sends signals."""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

import requests
from django.core import checks
from django.core.cache import cache
from django.test import LiveServerTestCase, SimpleTestCase, override_settings

from django_trigger.conf import trigger_settings
from django_trigger.exceptions import ConfigurationError
from django_trigger.testing import Emulator, EmulatorTestMixin
from django_trigger.testing.alerts import build_payload
from django_trigger.types import RunStatus
from django_trigger.types.alerts import (
    DeploymentFailedEvent,
    DeploymentSucceededEvent,
    ErrorGroupEvent,
    RunFailedEvent,
)
from django_trigger.webhooks import signals
from django_trigger.webhooks.verify import (
    InvalidPayloadError,
    InvalidSignatureError,
    construct_event,
    sign,
)

SECRET = "whsec_0123456789abcdef"
STAGING_SECRET = "staging-secret"


class Recorder:
    def __init__(self, case: Any, signal: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        signal.connect(self, weak=False)
        case.addCleanup(signal.disconnect, self)

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        self.calls.append({"sender": sender, **kwargs})


class AlertWebhookTests(EmulatorTestMixin, LiveServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        settings = override_settings(
            TRIGGER={
                "default": self.emulator.client_settings(WEBHOOK_SECRET=SECRET),
                "staging": self.emulator.client_settings(
                    ACCESS_TOKEN=self.emulator.secret_keys["staging"],
                    ENVIRONMENT="staging",
                    WEBHOOK_SECRET=STAGING_SECRET,
                ),
            }
        )
        settings.enable()
        self.addCleanup(settings.disable)
        cache.clear()
        self.url = self.live_server_url + "/trigger/webhooks/"
        self.received = Recorder(self, signals.alert_received)

    def deliver(self, event_type: str = "alert.run.failed", **options: Any):
        options.setdefault("secret", SECRET)
        # These tests check the receiver's answers, not its speed: the service's 5 s per
        # attempt was too short for the live server on a loaded machine ([400, 400, None]).
        options.setdefault("timeout", 60)
        return self.emulator.deliver_alert(options.pop("url", self.url), event_type, **options)

    def test_each_alert_type_sends_its_signal_then_the_generic_one(self):
        expected = {
            "alert.run.failed": (signals.run_failed, RunFailedEvent),
            "alert.deployment.success": (signals.deployment_succeeded, DeploymentSucceededEvent),
            "alert.deployment.failed": (signals.deployment_failed, DeploymentFailedEvent),
            "alert.error": (signals.error_alert, ErrorGroupEvent),
        }
        for event_type, (signal, event_class) in expected.items():
            with self.subTest(event_type):
                specific = Recorder(self, signal)
                delivery = self.deliver(event_type)
                self.assertEqual(delivery.statuses, [200])  # one request per delivery
                self.assertEqual((delivery.errors, delivery.error), ([None], None))
                self.assertEqual(json.loads(delivery.response_body), {"received": True})
                self.assertEqual(len(specific.calls), 1)
                call = specific.calls[0]
                self.assertIs(call["sender"], event_class)
                self.assertIsInstance(call["event"], event_class)
                self.assertEqual(call["event"].id, delivery.event_id)
                self.assertEqual(call["alias"], "default")
                self.assertEqual(self.received.calls[-1]["event"], call["event"])
        self.assertEqual(len(self.received.calls), 4)

    def test_run_failed_event_is_typed(self):
        run_id = self.emulator.state.runs.in_environment(
            self.emulator.state.environment_for_key(self.emulator.secret_key).id
        )[0].friendly_id
        with self.emulator.state.lock:
            self.emulator.state.runs.fail(run_id, "card declined", name="PaymentError")
        self.deliver(run_id=run_id)
        event = self.received.calls[0]["event"]
        self.assertEqual(event.object.run.id, run_id)
        self.assertIs(event.object.run.status, RunStatus.FAILED)
        self.assertEqual(event.object.run.error["message"], "card declined")
        self.assertEqual(event.object.project.ref, self.emulator.project_ref)
        self.assertEqual(event.object.environment.type, "DEVELOPMENT")
        self.assertEqual(event.webhook_version, "v1")

    def test_a_repeated_delivery_sends_no_signal_twice(self):
        with self.emulator.state.lock:
            payload = build_payload(self.emulator.state, "alert.deployment.success")
        first = self.deliver("alert.deployment.success", payload=payload)
        again = self.deliver("alert.deployment.success", payload=payload)
        self.assertEqual((first.statuses, again.statuses), ([200], [200]))
        self.assertEqual(json.loads(again.response_body), {"received": True, "duplicate": True})
        self.assertEqual(len(self.received.calls), 1)

    def test_a_receiver_that_raises_is_logged_and_the_answer_is_200_once(self):
        def broken(sender: Any, **kwargs: Any) -> None:
            raise RuntimeError("receiver bug")

        signals.run_failed.connect(broken, weak=False)
        self.addCleanup(signals.run_failed.disconnect, broken)
        with self.assertLogs("django_trigger.webhooks", logging.ERROR) as logs:
            delivery = self.deliver()
        self.assertEqual(delivery.statuses, [200])  # the sender does not retry
        self.assertEqual(len(self.received.calls), 1)  # the other receivers still ran
        self.assertIn(delivery.event_id, logs.output[0])
        self.assertIn("receiver bug", "\n".join(logs.output))

    def test_bad_signatures_are_400_and_send_nothing(self):
        with self.emulator.state.lock:
            payload = build_payload(self.emulator.state, "alert.run.failed")
        body = json.dumps(payload).encode()
        cases = {
            "wrong secret": {"secret": "not-the-secret"},
            "uppercase hex": {"signature": sign(body, SECRET).upper(), "body": body},
            "missing header": {"signature": "", "body": body},
            "other body": {"signature": sign(body, SECRET), "body": body + b" "},
        }
        for name, options in cases.items():
            with self.subTest(name):
                delivery = self.deliver(payload=payload, **options)
                self.assertEqual(delivery.statuses, [400, 400, 400])  # the service retries
                self.assertEqual(delivery.errors, [None, None, None])  # answered, each time
                self.assertEqual(json.loads(delivery.response_body), {"error": "Invalid signature"})
        self.assertEqual(self.received.calls, [])

    def test_bad_payloads_are_400_and_nothing_of_the_body_is_logged(self):
        marker = "SECRET-CUSTOMER-DATA"
        with self.emulator.state.lock:
            good = build_payload(self.emulator.state, "alert.run.failed")
        missing_run = {**good, "object": {**good["object"], "run": None}, "note": marker}
        bodies = {
            "not json": f"{{{marker}".encode(),
            "unknown type": json.dumps({**good, "type": "alert.other", "n": marker}).encode(),
            "missing field": json.dumps(missing_run).encode(),
            "wrong type": json.dumps({**good, "created": marker}).encode(),
            "array": json.dumps([marker]).encode(),
        }
        for name, body in bodies.items():
            with self.subTest(name), self.assertLogs("django_trigger.webhooks") as logs:
                delivery = self.deliver(body=body, payload=good, attempts=1)
                self.assertEqual(delivery.statuses, [400])
                self.assertEqual(json.loads(delivery.response_body), {"error": "Invalid payload"})
                self.assertNotIn(marker, "\n".join(logs.output))
        self.assertEqual(self.received.calls, [])

    def test_only_post(self):
        for method in ("GET", "PUT", "DELETE"):
            with self.subTest(method):
                response = requests.request(method, self.url, timeout=5)
                self.assertEqual(response.status_code, 405)
                self.assertEqual(response.headers["Allow"], "POST")

    def test_alias_from_the_path(self):
        delivery = self.deliver(url=self.url + "staging/", secret=STAGING_SECRET)
        self.assertEqual(delivery.statuses, [200])
        self.assertEqual(self.received.calls[0]["alias"], "staging")
        refused = self.deliver(url=self.url + "staging/", secret=SECRET, attempts=1)
        self.assertEqual(refused.statuses, [400])
        unknown = self.deliver(url=self.url + "nope/", attempts=1)
        self.assertEqual(unknown.statuses, [404])


class FailedDeliveryTests(SimpleTestCase):
    """An attempt without an answer is a None status, and the delivery says why (type and
    message, without the URL's query)."""

    def test_an_attempt_not_answered_in_time_is_none(self):
        # A listening socket that never accepts: the connection is made, no answer comes.
        with socket.create_server(("127.0.0.1", 0)) as silent, Emulator() as emu:
            url = f"http://127.0.0.1:{silent.getsockname()[1]}/trigger/webhooks/?token=hush"
            started = time.monotonic()
            delivery = emu.deliver_alert(url, "alert.run.failed", secret=SECRET, timeout=0.2)
            elapsed = time.monotonic() - started
        self.assertEqual(delivery.statuses, [None, None, None])
        self.assertLess(elapsed, 12)  # the given timeout, not the default 3 x 5 s
        self.assertFalse(delivery.delivered)
        self.assertEqual(len(delivery.errors), 3)
        self.assertRegex(delivery.error, r"^ReadTimeout: .*Read timed out\. \(read timeout=0\.2\)$")
        self.assertIn("Read timed out", repr(delivery))
        self.assertNotIn("hush", delivery.error)

    def test_a_refused_connection(self):
        # A bound socket that does not listen: every connection to its port is refused.
        with socket.socket() as closed, Emulator() as emu:
            closed.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{closed.getsockname()[1]}/trigger/webhooks/?token=hush"
            delivery = emu.deliver_alert(url, "alert.run.failed", secret=SECRET, attempts=2)
        self.assertEqual(delivery.statuses, [None, None])
        self.assertEqual(len(delivery.errors), 2)
        self.assertRegex(delivery.error, r"^ConnectionError: .*Connection refused")
        for secret in ("hush", SECRET):
            self.assertNotIn(secret, delivery.error)


class WebhookSettingsTests(SimpleTestCase):
    def test_a_missing_secret_is_a_clear_error(self):
        with Emulator() as emu, override_settings(TRIGGER={"default": emu.client_settings()}):
            with self.assertRaisesRegex(ConfigurationError, "WEBHOOK_SECRET"):
                self.client.post("/trigger/webhooks/", data=b"{}", content_type="application/json")

    def test_bad_secrets_are_reported_by_the_checks_without_the_value(self):
        for value in (" whsec_x ", 42, ["whsec"]):
            with (
                self.subTest(value),
                override_settings(
                    TRIGGER={
                        "default": {"ACCESS_TOKEN": "tr_dev_" + "a" * 20, "WEBHOOK_SECRET": value}
                    }
                ),
            ):
                trigger_settings.reload()
                found = [m for m in checks.run_checks() if m.id == "django_trigger.E019"]
                self.assertEqual(len(found), 1, found)
                self.assertIn("WEBHOOK_SECRET", found[0].msg)
                self.assertNotIn("whsec_x", found[0].msg)
        trigger_settings.reload()

    def test_the_secret_falls_back_to_the_environment(self):
        import environ

        environ.Env.ENVIRON["TRIGGER_WEBHOOK_SECRET"] = "from-env"
        self.addCleanup(environ.Env.ENVIRON.pop, "TRIGGER_WEBHOOK_SECRET")
        with override_settings(TRIGGER={"default": {"ACCESS_TOKEN": "tr_dev_" + "a" * 20}}):
            trigger_settings.reload()
            self.assertEqual(trigger_settings.get("default")["WEBHOOK_SECRET"], "from-env")
        trigger_settings.reload()


class ConstructEventTests(SimpleTestCase):
    def setUp(self) -> None:
        with Emulator() as emu, emu.state.lock:
            self.payload = build_payload(emu.state, "alert.error")
        self.body = json.dumps(self.payload).encode()

    def test_verifies_like_the_sdk(self):
        event = construct_event(self.body, sign(self.body, "s3cret"), "s3cret")
        self.assertIsInstance(event, ErrorGroupEvent)
        self.assertEqual(event.object.classification, "new_issue")
        self.assertEqual(event.webhook_version, "2025-01-01")
        for signature in (None, "", "00", sign(self.body, "s3cret").upper(), "é" * 64):
            with self.subTest(signature), self.assertRaises(InvalidSignatureError):
                construct_event(self.body, signature, "s3cret")
        with self.assertRaises(InvalidPayloadError):
            bad = b'{"type": "alert.error"}'
            construct_event(bad, sign(bad, "s3cret"), "s3cret")
