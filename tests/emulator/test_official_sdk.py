"""The official TypeScript SDK against the emulator (opt-in: needs Node.js and an installed
``@trigger.dev/sdk``; set ``TRIGGER_SDK_DIR`` to a directory where
``npm install @trigger.dev/sdk`` ran). The SDK validates every response with its zod schemas,
so a call that succeeds here is a shape the SDK accepts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unittest
from pathlib import Path

from django_trigger.testing.alerts import EVENT_TYPES, build_payload, sign

from .base import EmulatorCase

SDK_DIR = Path(os.environ.get("TRIGGER_SDK_DIR", "")).expanduser()
SCRIPT = Path(__file__).with_name("sdk") / "check.mjs"
AVAILABLE = (
    bool(os.environ.get("TRIGGER_SDK_DIR"))
    and shutil.which("node") is not None
    and (SDK_DIR / "node_modules" / "@trigger.dev" / "sdk").is_dir()
)


@unittest.skipUnless(
    AVAILABLE,
    "set TRIGGER_SDK_DIR to a directory where "
    "`npm install @trigger.dev/sdk` ran (and have node on PATH)",
)
class OfficialSdkTests(EmulatorCase):
    emulator_kwargs = {"now": None, "realtime_hold": 1}

    def test_every_sdk_call_succeeds(self):
        # Node resolves "@trigger.dev/sdk" from the script's directory upwards: run a copy there.
        target = SDK_DIR / "django_trigger_check.mjs"
        shutil.copyfile(SCRIPT, target)
        self.addCleanup(target.unlink)
        alerts = []
        for event_type in EVENT_TYPES:
            with self.emu.state.lock:
                body = json.dumps(build_payload(self.emu.state, event_type))
            alerts.append(
                {
                    "type": event_type,
                    "body": body,
                    "secret": "whsec_sdk",
                    "signature": sign(body.encode(), "whsec_sdk"),
                }
            )
        alerts_file = SDK_DIR / "django_trigger_alerts.json"
        alerts_file.write_text(json.dumps(alerts))
        self.addCleanup(alerts_file.unlink)
        proc = subprocess.run(
            ["node", str(target), self.emu.base_url, self.emu.secret_key, str(alerts_file)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=SDK_DIR,
        )
        lines = proc.stdout.splitlines()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(
            [line for line in lines if not line.startswith("ok ")], [], proc.stdout + proc.stderr
        )
        self.assertEqual(len(lines), 14 + 5 + len(EVENT_TYPES) + 9)  # + public tokens, realtime
