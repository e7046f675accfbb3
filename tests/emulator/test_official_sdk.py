"""The official TypeScript SDK against the emulator (opt-in: needs Node.js and an installed
``@trigger.dev/sdk``; set ``TRIGGER_SDK_DIR`` to a directory where
``npm install @trigger.dev/sdk`` ran). The SDK validates every response with its zod schemas,
so a call that succeeds here is a shape the SDK accepts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
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


def copy_into_sdk_dir(test: unittest.TestCase, script: Path) -> Path:
    """Node resolves "@trigger.dev/sdk" from the script's directory upwards: run a copy there,
    under a name of its own (suites running at the same time share ``TRIGGER_SDK_DIR``)."""
    fd, name = tempfile.mkstemp(prefix=f"django_trigger_{script.stem}_", suffix=".mjs", dir=SDK_DIR)
    os.close(fd)
    target = Path(name)
    test.addCleanup(target.unlink)
    shutil.copyfile(script, target)
    return target


@unittest.skipUnless(
    AVAILABLE,
    "set TRIGGER_SDK_DIR to a directory where "
    "`npm install @trigger.dev/sdk` ran (and have node on PATH)",
)
class OfficialSdkTests(EmulatorCase):
    emulator_kwargs = {"now": None, "realtime_hold": 1}

    def test_every_sdk_call_succeeds(self):
        target = copy_into_sdk_dir(self, SCRIPT)
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
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        alerts_file = Path(directory.name) / "alerts.json"
        alerts_file.write_text(json.dumps(alerts))
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
