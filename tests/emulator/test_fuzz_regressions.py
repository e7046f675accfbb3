"""Emulator bugs found by tests/conformance/test_emulator_fuzz.py, one test each (raw requests:
these run whether or not the OpenAPI file and schemathesis are there)."""

from __future__ import annotations

from .base import EmulatorCase


class SessionStartTests(EmulatorCase):
    def start(self, config: dict) -> object:
        return self.post(
            "/api/v1/sessions",
            json={
                "type": "chat.agent",
                "taskIdentifier": "chat",
                "triggerConfig": {"basePayload": {}, **config},
            },
        )

    def test_trigger_config_is_checked_as_session_trigger_config(self):
        # A tag that is not a string crashed the run trigger (500); the service's zod schema
        # (SessionTriggerConfig) refuses every field of the wrong shape with a 400.
        for config, path in (
            ({"tags": [5]}, "tags[0]"),
            ({"tags": ["a"] * 6}, "tags"),
            ({"machine": "huge"}, "machine"),
            ({"queue": "q" * 129}, "queue"),
            ({"maxAttempts": 0}, "maxAttempts"),
            ({"maxAttempts": 11}, "maxAttempts"),
            ({"maxDuration": 1.5}, "maxDuration"),
            ({"idleTimeoutInSeconds": 3601}, "idleTimeoutInSeconds"),
            ({"lockToVersion": 3}, "lockToVersion"),
            ({"region": False}, "region"),
        ):
            with self.subTest(config):
                response = self.start(config)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(f'at "triggerConfig.{path}"', response.json()["error"])
        good = self.start({"tags": ["a"], "machine": "small-1x", "maxAttempts": 3, "queue": "q"})
        self.assertIn(good.status_code, (200, 201), good.text)
